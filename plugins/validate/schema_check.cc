// Evaluation of a compiled schema on one value (CompiledSchema::validate and check).
#include <cstdlib>

#include "plugins/validate/schema_messages.h"
#include "plugins/validate/schema_node.h"

namespace agentlog::schema {

using namespace detail;

namespace {

// Deep equality of a document value and a schema literal; numbers compare by value.
bool equal_value(element value, const json::Value& lit) {
  using K = json::Value::Kind;
  switch (value.type()) {
    case element_type::NULL_VALUE: return lit.kind == K::Null;
    case element_type::BOOL: return lit.kind == K::Bool && lit.boolean == value.get_bool().value_unsafe();
    case element_type::STRING:
      return lit.kind == K::String && lit.text == std::string_view(value.get_string().value_unsafe());
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return lit.kind == K::Number && std::strtod(lit.text.c_str(), nullptr) == as_double(value);
    case element_type::ARRAY: {
      if (lit.kind != K::Array) return false;
      simdjson::dom::array list = value.get_array().value_unsafe();
      if (list.size() != lit.items.size()) return false;
      size_t i = 0;
      for (element item : list)
        if (!equal_value(item, lit.items[i++])) return false;
      return true;
    }
    case element_type::OBJECT: {
      if (lit.kind != K::Object) return false;
      simdjson::dom::object fields = value.get_object().value_unsafe();
      if (fields.size() != lit.members.size()) return false;
      for (auto field : fields) {
        const json::Value* expected = lit.find(field.key);
        if (expected == nullptr || !equal_value(field.value, *expected)) return false;
      }
      return true;
    }
  }
  return false;
}

}  // namespace

bool CompiledSchema::validate(element value, std::vector<ValidationError>* errors, size_t max_errors) const {
  Path root{nullptr, {}, 0, false};
  return check(0, value, &root, errors, max_errors);
}

bool CompiledSchema::check(int id, element value, const Path* path, std::vector<ValidationError>* errors,
                           size_t max_errors) const {
  const Node& node = *nodes_[id];
  bool ok = true;
  auto report = [&](std::string msg) {
    ok = false;
    if (errors && errors->size() < max_errors) errors->push_back({path->pointer(), std::move(msg)});
  };
  // Without an error list, the first failure decides.
#define AGENTLOG_STOP_IF_DECIDED() \
  if (!ok && (errors == nullptr || errors->size() >= max_errors)) return false

  if (node.reject_all) {
    report("no value is allowed here");
    return false;
  }
  if (node.types != 0 && (node.types & type_bits(value)) == 0) {
    std::string expected;
    for (size_t i = 0; i < std::size(kTypeNames); ++i) {
      if (!(node.types & (1u << i))) continue;
      if ((1u << i) == kInteger && (node.types & kNumber)) continue;
      if (!expected.empty()) expected += " or ";
      expected += kTypeNames[i];
    }
    report("expected " + expected + ", got " + std::string(type_name_of(value)));
    return false;  // the other keywords would only repeat the type error
  }

  if (node.has_enum) {
    bool found = false;
    if (node.enum_all_strings) {
      std::string_view text;
      if (value.get(text) == simdjson::SUCCESS)
        for (const auto& allowed : node.enum_strings)
          if (allowed == text) {
            found = true;
            break;
          }
    } else {
      for (const auto& allowed : node.enum_values)
        if (equal_value(value, allowed)) {
          found = true;
          break;
        }
    }
    if (!found) report(describe(value) + " is not one of " + node.enum_list);
    AGENTLOG_STOP_IF_DECIDED();
  }
  if (node.has_const && !equal_value(value, node.const_value)) {
    report(describe(value) + " is not the constant " + json::serialize(node.const_value));
    AGENTLOG_STOP_IF_DECIDED();
  }

  switch (value.type()) {
    case element_type::STRING: {
      if (!node.string_checks) break;
      std::string_view text = value.get_string().value_unsafe();
      if (node.min_length >= 0 || node.max_length >= 0) {
        // Bytes bound code points from above; count only when that is not enough.
        size_t bytes = text.size();
        if (node.min_length >= 0 && bytes < static_cast<size_t>(node.min_length)) {
          report(describe(value) + " is shorter than minLength " + std::to_string(node.min_length));
        } else if (node.min_length >= 0 && bytes / 4 < static_cast<size_t>(node.min_length) &&
                   code_points(text) < static_cast<size_t>(node.min_length)) {
          report(describe(value) + " is shorter than minLength " + std::to_string(node.min_length));
        }
        if (node.max_length >= 0 && bytes > static_cast<size_t>(node.max_length) &&
            code_points(text) > static_cast<size_t>(node.max_length))
          report(describe(value) + " is longer than maxLength " + std::to_string(node.max_length));
        AGENTLOG_STOP_IF_DECIDED();
      }
      if (node.format != Format::None) {
        bool good = node.format == Format::DateTime ? is_rfc3339_date_time(text)
                    : node.format == Format::Date   ? is_rfc3339_date(text)
                                                    : is_rfc3339_time(text);
        if (!good) {
          const char* name = node.format == Format::DateTime ? "date-time"
                             : node.format == Format::Date   ? "date"
                                                             : "time";
          report(describe(value) + " is not a valid RFC 3339 " + name);
          AGENTLOG_STOP_IF_DECIDED();
        }
      }
      if (node.pattern && !RE2::PartialMatch(text, *node.pattern)) {
        report(describe(value) + " does not match the pattern " + json::quoted(node.pattern_text));
        AGENTLOG_STOP_IF_DECIDED();
      }
      break;
    }
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: {
      if (node.number_checks) {
        double number = as_double(value);
        if (node.minimum && number < *node.minimum)
          report(describe(value) + " is less than the minimum " + number_text(*node.minimum));
        if (node.maximum && number > *node.maximum)
          report(describe(value) + " is more than the maximum " + number_text(*node.maximum));
        if (node.exclusive_minimum && number <= *node.exclusive_minimum)
          report(describe(value) + " is not more than the exclusive minimum " + number_text(*node.exclusive_minimum));
        if (node.exclusive_maximum && number >= *node.exclusive_maximum)
          report(describe(value) + " is not less than the exclusive maximum " + number_text(*node.exclusive_maximum));
        AGENTLOG_STOP_IF_DECIDED();
      }
      break;
    }
    case element_type::OBJECT: {
      if (!node.object_checks) break;
      simdjson::dom::object fields = value.get_object().value_unsafe();
      if (node.min_properties >= 0 && fields.size() < static_cast<size_t>(node.min_properties))
        report("has fewer than " + std::to_string(node.min_properties) + " properties");
      if (node.max_properties >= 0 && fields.size() > static_cast<size_t>(node.max_properties))
        report("has more than " + std::to_string(node.max_properties) + " properties");
      AGENTLOG_STOP_IF_DECIDED();
      uint64_t seen_small = 0;
      std::vector<bool> seen_large;
      if (node.required.size() > 64) seen_large.assign(node.required.size(), false);
      for (auto field : fields) {
        int slot = node.table.find(field.key);
        Path child{path, field.key, 0, false};
        if (slot >= 0) {
          int required_slot = node.name_required[slot];
          if (required_slot >= 0) {
            if (required_slot < 64 && seen_large.empty()) seen_small |= uint64_t{1} << required_slot;
            else seen_large[required_slot] = true;
          }
          int sch = node.name_schema[slot];
          if (sch >= 0 && !check(sch, field.value, &child, errors, max_errors)) {
            ok = false;
            AGENTLOG_STOP_IF_DECIDED();
          }
          if (sch >= 0 || node.additional < 0) continue;
          // A name that is only required (no `properties` entry) is an additional property.
        }
        if (node.additional < 0) continue;
        if (nodes_[node.additional]->reject_all) {
          ok = false;
          if (errors && errors->size() < max_errors)
            errors->push_back({child.pointer(), "additional property is not allowed"});
          AGENTLOG_STOP_IF_DECIDED();
        } else if (!check(node.additional, field.value, &child, errors, max_errors)) {
          ok = false;
          AGENTLOG_STOP_IF_DECIDED();
        }
      }
      for (size_t required_at = 0; required_at < node.required.size(); ++required_at) {
        bool seen = seen_large.empty() ? (seen_small >> required_at) & 1 : seen_large[required_at];
        if (seen) continue;
        Path child{path, node.required[required_at], 0, false};
        ok = false;
        if (errors && errors->size() < max_errors) errors->push_back({child.pointer(), "required property is missing"});
        AGENTLOG_STOP_IF_DECIDED();
      }
      break;
    }
    case element_type::ARRAY: {
      if (!node.array_checks) break;
      simdjson::dom::array list = value.get_array().value_unsafe();
      size_t size = list.size();
      if (node.min_items >= 0 && size < static_cast<size_t>(node.min_items))
        report("has fewer than " + std::to_string(node.min_items) + " items");
      if (node.max_items >= 0 && size > static_cast<size_t>(node.max_items))
        report("has more than " + std::to_string(node.max_items) + " items");
      AGENTLOG_STOP_IF_DECIDED();
      size_t i = 0;
      for (element item : list) {
        int sch = -1;
        if (node.tuple) sch = i < node.tuple_items.size() ? node.tuple_items[i] : node.additional_items;
        else sch = node.items;
        if (sch >= 0) {
          Path child{path, {}, i, true};
          if (node.tuple && i >= node.tuple_items.size() && nodes_[sch]->reject_all) {
            ok = false;
            if (errors && errors->size() < max_errors) errors->push_back({child.pointer(), "additional item is not allowed"});
            AGENTLOG_STOP_IF_DECIDED();
          } else if (!check(sch, item, &child, errors, max_errors)) {
            ok = false;
            AGENTLOG_STOP_IF_DECIDED();
          }
        }
        ++i;
      }
      break;
    }
    default: break;
  }
  if (!node.combinators) return ok;

  if (node.if_ >= 0) {
    bool cond = check(node.if_, value, path, nullptr, 0);
    int branch = cond ? node.then_ : node.else_;
    if (branch >= 0 && !check(branch, value, path, errors, max_errors)) {
      ok = false;
      AGENTLOG_STOP_IF_DECIDED();
    }
  }
  for (int sub : node.all_of) {
    if (!check(sub, value, path, errors, max_errors)) {
      ok = false;
      AGENTLOG_STOP_IF_DECIDED();
    }
  }
  if (!node.any_of.empty()) {
    bool any = false;
    for (int sub : node.any_of)
      if (check(sub, value, path, nullptr, 0)) {
        any = true;
        break;
      }
    if (!any) report("does not match any schema in anyOf");
    AGENTLOG_STOP_IF_DECIDED();
  }
  if (!node.one_of.empty()) {
    size_t matches = 0;
    for (int sub : node.one_of) matches += check(sub, value, path, nullptr, 0);
    if (matches != 1) report("matches " + std::to_string(matches) + " schemas in oneOf, expected exactly 1");
    AGENTLOG_STOP_IF_DECIDED();
  }
  if (node.not_ >= 0 && check(node.not_, value, path, nullptr, 0)) report("must not match the schema in not");
#undef AGENTLOG_STOP_IF_DECIDED
  return ok;
}

}  // namespace agentlog::schema

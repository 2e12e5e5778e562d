// Evaluation of a compiled schema on one value (CompiledSchema::validate and check).
#include <cstdlib>

#include "plugins/validate/schema_messages.h"
#include "plugins/validate/schema_node.h"

namespace agentlog::schema {

using namespace detail;

namespace {

// Deep equality of a document value and a schema literal; numbers compare by value.
bool equal_value(element v, const json::Value& lit) {
  using K = json::Value::Kind;
  switch (v.type()) {
    case element_type::NULL_VALUE: return lit.kind == K::Null;
    case element_type::BOOL: return lit.kind == K::Bool && lit.boolean == v.get_bool().value_unsafe();
    case element_type::STRING:
      return lit.kind == K::String && lit.text == std::string_view(v.get_string().value_unsafe());
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return lit.kind == K::Number && std::strtod(lit.text.c_str(), nullptr) == as_double(v);
    case element_type::ARRAY: {
      if (lit.kind != K::Array) return false;
      simdjson::dom::array a = v.get_array().value_unsafe();
      if (a.size() != lit.items.size()) return false;
      size_t i = 0;
      for (element e : a)
        if (!equal_value(e, lit.items[i++])) return false;
      return true;
    }
    case element_type::OBJECT: {
      if (lit.kind != K::Object) return false;
      simdjson::dom::object o = v.get_object().value_unsafe();
      if (o.size() != lit.members.size()) return false;
      for (auto field : o) {
        const json::Value* m = lit.find(field.key);
        if (m == nullptr || !equal_value(field.value, *m)) return false;
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

bool CompiledSchema::check(int id, element v, const Path* path, std::vector<ValidationError>* errors,
                           size_t max_errors) const {
  const Node& n = *nodes_[id];
  bool ok = true;
  auto report = [&](std::string msg) {
    ok = false;
    if (errors && errors->size() < max_errors) errors->push_back({path->pointer(), std::move(msg)});
  };
  // Without an error list, the first failure decides.
#define AGENTLOG_STOP_IF_DECIDED() \
  if (!ok && (errors == nullptr || errors->size() >= max_errors)) return false

  if (n.reject_all) {
    report("no value is allowed here");
    return false;
  }
  if (n.types != 0 && (n.types & type_bits(v)) == 0) {
    std::string expected;
    for (size_t i = 0; i < std::size(kTypeNames); ++i) {
      if (!(n.types & (1u << i))) continue;
      if ((1u << i) == kInteger && (n.types & kNumber)) continue;
      if (!expected.empty()) expected += " or ";
      expected += kTypeNames[i];
    }
    report("expected " + expected + ", got " + std::string(type_name_of(v)));
    return false;  // the other keywords would only repeat the type error
  }

  if (n.has_enum) {
    bool found = false;
    if (n.enum_all_strings) {
      std::string_view s;
      if (v.get(s) == simdjson::SUCCESS)
        for (const auto& e : n.enum_strings)
          if (e == s) {
            found = true;
            break;
          }
    } else {
      for (const auto& e : n.enum_values)
        if (equal_value(v, e)) {
          found = true;
          break;
        }
    }
    if (!found) report(describe(v) + " is not one of " + n.enum_list);
    AGENTLOG_STOP_IF_DECIDED();
  }
  if (n.has_const && !equal_value(v, n.const_value)) {
    report(describe(v) + " is not the constant " + json::serialize(n.const_value));
    AGENTLOG_STOP_IF_DECIDED();
  }

  switch (v.type()) {
    case element_type::STRING: {
      if (!n.string_checks) break;
      std::string_view s = v.get_string().value_unsafe();
      if (n.min_length >= 0 || n.max_length >= 0) {
        // Bytes bound code points from above; count only when that is not enough.
        size_t bytes = s.size();
        if (n.min_length >= 0 && bytes < static_cast<size_t>(n.min_length)) {
          report(describe(v) + " is shorter than minLength " + std::to_string(n.min_length));
        } else if (n.min_length >= 0 && bytes / 4 < static_cast<size_t>(n.min_length) &&
                   code_points(s) < static_cast<size_t>(n.min_length)) {
          report(describe(v) + " is shorter than minLength " + std::to_string(n.min_length));
        }
        if (n.max_length >= 0 && bytes > static_cast<size_t>(n.max_length) &&
            code_points(s) > static_cast<size_t>(n.max_length))
          report(describe(v) + " is longer than maxLength " + std::to_string(n.max_length));
        AGENTLOG_STOP_IF_DECIDED();
      }
      if (n.format != Format::None) {
        bool good = n.format == Format::DateTime ? is_rfc3339_date_time(s)
                    : n.format == Format::Date   ? is_rfc3339_date(s)
                                                 : is_rfc3339_time(s);
        if (!good) {
          const char* name = n.format == Format::DateTime ? "date-time" : n.format == Format::Date ? "date" : "time";
          report(describe(v) + " is not a valid RFC 3339 " + name);
          AGENTLOG_STOP_IF_DECIDED();
        }
      }
      if (n.pattern && !RE2::PartialMatch(s, *n.pattern)) {
        report(describe(v) + " does not match the pattern " + json::quoted(n.pattern_text));
        AGENTLOG_STOP_IF_DECIDED();
      }
      break;
    }
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: {
      if (n.number_checks) {
        double d = as_double(v);
        if (n.minimum && d < *n.minimum) report(describe(v) + " is less than the minimum " + number_text(*n.minimum));
        if (n.maximum && d > *n.maximum) report(describe(v) + " is more than the maximum " + number_text(*n.maximum));
        if (n.exclusive_minimum && d <= *n.exclusive_minimum)
          report(describe(v) + " is not more than the exclusive minimum " + number_text(*n.exclusive_minimum));
        if (n.exclusive_maximum && d >= *n.exclusive_maximum)
          report(describe(v) + " is not less than the exclusive maximum " + number_text(*n.exclusive_maximum));
        AGENTLOG_STOP_IF_DECIDED();
      }
      break;
    }
    case element_type::OBJECT: {
      if (!n.object_checks) break;
      simdjson::dom::object o = v.get_object().value_unsafe();
      if (n.min_properties >= 0 && o.size() < static_cast<size_t>(n.min_properties))
        report("has fewer than " + std::to_string(n.min_properties) + " properties");
      if (n.max_properties >= 0 && o.size() > static_cast<size_t>(n.max_properties))
        report("has more than " + std::to_string(n.max_properties) + " properties");
      AGENTLOG_STOP_IF_DECIDED();
      uint64_t seen_small = 0;
      std::vector<bool> seen_large;
      if (n.required.size() > 64) seen_large.assign(n.required.size(), false);
      for (auto field : o) {
        int k = n.table.find(field.key);
        Path child{path, field.key, 0, false};
        if (k >= 0) {
          int r = n.name_required[k];
          if (r >= 0) {
            if (r < 64 && seen_large.empty()) seen_small |= uint64_t{1} << r;
            else seen_large[r] = true;
          }
          int sch = n.name_schema[k];
          if (sch >= 0 && !check(sch, field.value, &child, errors, max_errors)) {
            ok = false;
            AGENTLOG_STOP_IF_DECIDED();
          }
          if (sch >= 0 || n.additional < 0) continue;
          // A name that is only required (no `properties` entry) is an additional property.
        }
        if (n.additional < 0) continue;
        if (nodes_[n.additional]->reject_all) {
          ok = false;
          if (errors && errors->size() < max_errors)
            errors->push_back({child.pointer(), "additional property is not allowed"});
          AGENTLOG_STOP_IF_DECIDED();
        } else if (!check(n.additional, field.value, &child, errors, max_errors)) {
          ok = false;
          AGENTLOG_STOP_IF_DECIDED();
        }
      }
      for (size_t r = 0; r < n.required.size(); ++r) {
        bool seen = seen_large.empty() ? (seen_small >> r) & 1 : seen_large[r];
        if (seen) continue;
        Path child{path, n.required[r], 0, false};
        ok = false;
        if (errors && errors->size() < max_errors) errors->push_back({child.pointer(), "required property is missing"});
        AGENTLOG_STOP_IF_DECIDED();
      }
      break;
    }
    case element_type::ARRAY: {
      if (!n.array_checks) break;
      simdjson::dom::array a = v.get_array().value_unsafe();
      size_t size = a.size();
      if (n.min_items >= 0 && size < static_cast<size_t>(n.min_items))
        report("has fewer than " + std::to_string(n.min_items) + " items");
      if (n.max_items >= 0 && size > static_cast<size_t>(n.max_items))
        report("has more than " + std::to_string(n.max_items) + " items");
      AGENTLOG_STOP_IF_DECIDED();
      size_t i = 0;
      for (element e : a) {
        int sch = -1;
        if (n.tuple) sch = i < n.tuple_items.size() ? n.tuple_items[i] : n.additional_items;
        else sch = n.items;
        if (sch >= 0) {
          Path child{path, {}, i, true};
          if (n.tuple && i >= n.tuple_items.size() && nodes_[sch]->reject_all) {
            ok = false;
            if (errors && errors->size() < max_errors) errors->push_back({child.pointer(), "additional item is not allowed"});
            AGENTLOG_STOP_IF_DECIDED();
          } else if (!check(sch, e, &child, errors, max_errors)) {
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
  if (!n.combinators) return ok;

  if (n.if_ >= 0) {
    bool cond = check(n.if_, v, path, nullptr, 0);
    int branch = cond ? n.then_ : n.else_;
    if (branch >= 0 && !check(branch, v, path, errors, max_errors)) {
      ok = false;
      AGENTLOG_STOP_IF_DECIDED();
    }
  }
  for (int sub : n.all_of) {
    if (!check(sub, v, path, errors, max_errors)) {
      ok = false;
      AGENTLOG_STOP_IF_DECIDED();
    }
  }
  if (!n.any_of.empty()) {
    bool any = false;
    for (int sub : n.any_of)
      if (check(sub, v, path, nullptr, 0)) {
        any = true;
        break;
      }
    if (!any) report("does not match any schema in anyOf");
    AGENTLOG_STOP_IF_DECIDED();
  }
  if (!n.one_of.empty()) {
    size_t matches = 0;
    for (int sub : n.one_of) matches += check(sub, v, path, nullptr, 0);
    if (matches != 1) report("matches " + std::to_string(matches) + " schemas in oneOf, expected exactly 1");
    AGENTLOG_STOP_IF_DECIDED();
  }
  if (n.not_ >= 0 && check(n.not_, v, path, nullptr, 0)) report("must not match the schema in not");
#undef AGENTLOG_STOP_IF_DECIDED
  return ok;
}

}  // namespace agentlog::schema

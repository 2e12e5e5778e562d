// Compilation of a JSON Schema into CompiledSchema's node table (evaluation: schema_check.cc).
#include "plugins/validate/compiled_schema.h"

#include <algorithm>

#include "plugins/validate/schema_node.h"

namespace agentlog::schema {

using namespace detail;

namespace {

// Keywords that only annotate; they never change validity.
constexpr std::string_view kAnnotations[] = {"$schema", "$id", "$comment", "title", "description", "default",
                                              "examples", "readOnly", "writeOnly", "definitions",
                                              "contentMediaType", "contentEncoding"};

}  // namespace

CompiledSchema::CompiledSchema() = default;
CompiledSchema::~CompiledSchema() = default;

Status CompiledSchema::compile(element schema, std::unique_ptr<CompiledSchema>& out) {
  std::unique_ptr<CompiledSchema> cs(new CompiledSchema());
  Status st;
  cs->compile_node(schema, st);
  if (!st.ok()) return st;
  out = std::move(cs);
  return {};
}

int CompiledSchema::compile_node(element s, Status& st) {
  int id = static_cast<int>(nodes_.size());
  nodes_.push_back(std::make_unique<Node>());
  if (!st.ok()) return id;
  if (s.type() == element_type::BOOL) {
    nodes_[id]->reject_all = !s.get_bool().value_unsafe();
    return id;
  }
  simdjson::dom::object obj;
  if (s.get(obj) != simdjson::SUCCESS) {
    st = Status::error("a schema must be an object or a boolean");
    return id;
  }
  auto fail = [&](std::string msg) {
    if (st.ok()) st = Status::error(std::move(msg));
    return id;
  };
  auto get_count = [&](element v, std::string_view kw, int64_t& out) {
    if (!is_integer_value(v) || as_double(v) < 0) return fail(std::string(kw) + " must be a non-negative integer");
    out = static_cast<int64_t>(as_double(v));
    return id;
  };
  auto get_number = [&](element v, std::string_view kw, std::optional<double>& out) {
    if (!(type_bits(v) & kNumber)) return fail(std::string(kw) + " must be a number");
    out = as_double(v);
    return id;
  };
  auto schema_list = [&](element v, std::string_view kw, std::vector<int>& out) {
    simdjson::dom::array a;
    if (v.get(a) != simdjson::SUCCESS || a.size() == 0) return fail(std::string(kw) + " must be a non-empty array");
    for (element e : a) {
      int child = compile_node(e, st);
      out.push_back(child);
    }
    return id;
  };

  // Children are compiled into nodes_, which may reallocate: always index, never hold Node&.
  std::optional<simdjson::dom::array> required_list;
  std::optional<simdjson::dom::object> properties;
  for (auto field : obj) {
    std::string_view kw = field.key;
    element v = field.value;
    if (!st.ok()) break;
    if (kw == "type") {
      auto add = [&](std::string_view t) {
        for (size_t i = 0; i < std::size(kTypeNames); ++i)
          if (kTypeNames[i] == t) {
            nodes_[id]->types |= static_cast<uint8_t>(1u << i);
            return true;
          }
        return false;
      };
      std::string_view t;
      simdjson::dom::array a;
      if (v.get(t) == simdjson::SUCCESS) {
        if (!add(t)) return fail("unknown type \"" + std::string(t) + "\"");
      } else if (v.get(a) == simdjson::SUCCESS) {
        for (element e : a)
          if (e.get(t) != simdjson::SUCCESS || !add(t)) return fail("type must list type names");
      } else {
        return fail("type must be a string or an array");
      }
      if (nodes_[id]->types & kNumber) nodes_[id]->types |= kInteger;  // integers are numbers
    } else if (kw == "enum" || kw == "const") {
      std::vector<json::Value> values;
      simdjson::dom::array a;
      if (kw == "enum") {
        if (v.get(a) != simdjson::SUCCESS) return fail("enum must be an array");
        for (element e : a) values.push_back(*json::parse(simdjson::minify(e)));
      } else {
        values.push_back(*json::parse(simdjson::minify(v)));
      }
      Node& n = *nodes_[id];
      if (kw == "const") {
        n.has_const = true;
        n.const_value = std::move(values[0]);
      } else {
        n.has_enum = true;
        n.enum_all_strings = true;
        for (auto& ev : values) {
          if (ev.kind != json::Value::Kind::String) n.enum_all_strings = false;
          if (!n.enum_list.empty()) n.enum_list += ", ";
          n.enum_list += ev.kind == json::Value::Kind::String ? ev.text : json::serialize(ev);
          if (ev.kind == json::Value::Kind::String) n.enum_strings.push_back(ev.text);
        }
        n.enum_values = std::move(values);
      }
    } else if (kw == "minLength") {
      get_count(v, kw, nodes_[id]->min_length);
    } else if (kw == "maxLength") {
      get_count(v, kw, nodes_[id]->max_length);
    } else if (kw == "minItems") {
      get_count(v, kw, nodes_[id]->min_items);
    } else if (kw == "maxItems") {
      get_count(v, kw, nodes_[id]->max_items);
    } else if (kw == "minProperties") {
      get_count(v, kw, nodes_[id]->min_properties);
    } else if (kw == "maxProperties") {
      get_count(v, kw, nodes_[id]->max_properties);
    } else if (kw == "minimum") {
      get_number(v, kw, nodes_[id]->minimum);
    } else if (kw == "maximum") {
      get_number(v, kw, nodes_[id]->maximum);
    } else if (kw == "exclusiveMinimum") {
      get_number(v, kw, nodes_[id]->exclusive_minimum);
    } else if (kw == "exclusiveMaximum") {
      get_number(v, kw, nodes_[id]->exclusive_maximum);
    } else if (kw == "pattern") {
      std::string_view p;
      if (v.get(p) != simdjson::SUCCESS) return fail("pattern must be a string");
      RE2::Options o;
      o.set_log_errors(false);
      auto re = std::make_unique<RE2>(p, o);
      if (!re->ok()) return fail("pattern \"" + std::string(p) + "\" is not supported by RE2: " + re->error());
      nodes_[id]->pattern = std::move(re);
      nodes_[id]->pattern_text = std::string(p);
    } else if (kw == "format") {
      std::string_view f;
      if (v.get(f) != simdjson::SUCCESS) return fail("format must be a string");
      // Other formats are annotations only, as in draft 7 by default.
      if (f == "date-time") nodes_[id]->format = Format::DateTime;
      else if (f == "date") nodes_[id]->format = Format::Date;
      else if (f == "time") nodes_[id]->format = Format::Time;
    } else if (kw == "required") {
      simdjson::dom::array a;
      if (v.get(a) != simdjson::SUCCESS) return fail("required must be an array");
      required_list = a;
    } else if (kw == "properties") {
      simdjson::dom::object o;
      if (v.get(o) != simdjson::SUCCESS) return fail("properties must be an object");
      properties = o;
    } else if (kw == "additionalProperties") {
      int child = compile_node(v, st);
      nodes_[id]->additional = child;
    } else if (kw == "items") {
      simdjson::dom::array a;
      if (v.get(a) == simdjson::SUCCESS) {
        nodes_[id]->tuple = true;
        for (element e : a) {
          int child = compile_node(e, st);
          nodes_[id]->tuple_items.push_back(child);
        }
      } else {
        int child = compile_node(v, st);
        nodes_[id]->items = child;
      }
    } else if (kw == "additionalItems") {
      int child = compile_node(v, st);
      nodes_[id]->additional_items = child;
    } else if (kw == "if") {
      int child = compile_node(v, st);
      nodes_[id]->if_ = child;
    } else if (kw == "then") {
      int child = compile_node(v, st);
      nodes_[id]->then_ = child;
    } else if (kw == "else") {
      int child = compile_node(v, st);
      nodes_[id]->else_ = child;
    } else if (kw == "not") {
      int child = compile_node(v, st);
      nodes_[id]->not_ = child;
    } else if (kw == "allOf") {
      std::vector<int> l;
      schema_list(v, kw, l);
      nodes_[id]->all_of = std::move(l);
    } else if (kw == "anyOf") {
      std::vector<int> l;
      schema_list(v, kw, l);
      nodes_[id]->any_of = std::move(l);
    } else if (kw == "oneOf") {
      std::vector<int> l;
      schema_list(v, kw, l);
      nodes_[id]->one_of = std::move(l);
    } else if (std::find(std::begin(kAnnotations), std::end(kAnnotations), kw) != std::end(kAnnotations)) {
      // annotation only
    } else if (kw == "$ref" || kw == "multipleOf" || kw == "uniqueItems" || kw == "contains" ||
               kw == "patternProperties" || kw == "dependencies" || kw == "propertyNames") {
      return fail("keyword \"" + std::string(kw) + "\" is not compiled");
    }
    // Any other key is not a draft-7 keyword and is ignored, as the specification says.
  }
  if (!st.ok()) return id;

  // Object checks: one table of every named property, each with its schema and required slot.
  std::vector<std::string> names;
  std::vector<int> schemas, req_slot;
  std::vector<std::string> required;
  if (properties) {
    for (auto field : *properties) {
      names.emplace_back(field.key);
      int child = compile_node(field.value, st);
      schemas.push_back(child);
      req_slot.push_back(-1);
    }
  }
  if (required_list) {
    for (element e : *required_list) {
      std::string_view r;
      if (e.get(r) != simdjson::SUCCESS) return fail("required must list strings");
      auto it = std::find(names.begin(), names.end(), r);
      if (it == names.end()) {
        names.emplace_back(r);
        schemas.push_back(-1);
        req_slot.push_back(-1);
        it = names.end() - 1;
      }
      size_t k = it - names.begin();
      if (req_slot[k] == -1) {
        req_slot[k] = static_cast<int>(required.size());
        required.emplace_back(r);
      }
    }
  }
  Node& n = *nodes_[id];
  n.string_checks = n.min_length >= 0 || n.max_length >= 0 || n.format != Format::None || n.pattern;
  n.number_checks = n.minimum || n.maximum || n.exclusive_minimum || n.exclusive_maximum;
  n.object_checks = !names.empty() || n.additional >= 0 || n.min_properties >= 0 || n.max_properties >= 0;
  n.array_checks = n.items >= 0 || n.tuple || n.min_items >= 0 || n.max_items >= 0;
  n.combinators = n.if_ >= 0 || n.not_ >= 0 || !n.all_of.empty() || !n.any_of.empty() || !n.one_of.empty();
  n.names = std::move(names);
  n.name_schema = std::move(schemas);
  n.name_required = std::move(req_slot);
  n.required = std::move(required);
  n.table.build(n.names);
  return id;
}

}  // namespace agentlog::schema

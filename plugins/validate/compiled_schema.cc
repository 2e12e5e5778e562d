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

int CompiledSchema::compile_node(element schema, Status& status) {
  int id = static_cast<int>(nodes_.size());
  nodes_.push_back(std::make_unique<Node>());
  if (!status.ok()) return id;
  if (schema.type() == element_type::BOOL) {
    nodes_[id]->reject_all = !schema.get_bool().value_unsafe();
    return id;
  }
  simdjson::dom::object obj;
  if (schema.get(obj) != simdjson::SUCCESS) {
    status = Status::error("a schema must be an object or a boolean");
    return id;
  }
  auto fail = [&](std::string msg) {
    if (status.ok()) status = Status::error(std::move(msg));
    return id;
  };
  auto get_count = [&](element value, std::string_view keyword, int64_t& out) {
    if (!is_integer_value(value) || as_double(value) < 0)
      return fail(std::string(keyword) + " must be a non-negative integer");
    out = static_cast<int64_t>(as_double(value));
    return id;
  };
  auto get_number = [&](element value, std::string_view keyword, std::optional<double>& out) {
    if (!(type_bits(value) & kNumber)) return fail(std::string(keyword) + " must be a number");
    out = as_double(value);
    return id;
  };
  auto schema_list = [&](element value, std::string_view keyword, std::vector<int>& out) {
    simdjson::dom::array list;
    if (value.get(list) != simdjson::SUCCESS || list.size() == 0)
      return fail(std::string(keyword) + " must be a non-empty array");
    for (element item : list) {
      int child = compile_node(item, status);
      out.push_back(child);
    }
    return id;
  };

  // Children are compiled into nodes_, which may reallocate: always index, never hold Node&.
  std::optional<simdjson::dom::array> required_list;
  std::optional<simdjson::dom::object> properties;
  for (auto field : obj) {
    std::string_view keyword = field.key;
    element value = field.value;
    if (!status.ok()) break;
    if (keyword == "type") {
      auto add = [&](std::string_view name) {
        for (size_t i = 0; i < std::size(kTypeNames); ++i)
          if (kTypeNames[i] == name) {
            nodes_[id]->types |= static_cast<uint8_t>(1u << i);
            return true;
          }
        return false;
      };
      std::string_view type_name;
      simdjson::dom::array list;
      if (value.get(type_name) == simdjson::SUCCESS) {
        if (!add(type_name)) return fail("unknown type \"" + std::string(type_name) + "\"");
      } else if (value.get(list) == simdjson::SUCCESS) {
        for (element item : list)
          if (item.get(type_name) != simdjson::SUCCESS || !add(type_name)) return fail("type must list type names");
      } else {
        return fail("type must be a string or an array");
      }
      if (nodes_[id]->types & kNumber) nodes_[id]->types |= kInteger;  // integers are numbers
    } else if (keyword == "enum" || keyword == "const") {
      std::vector<json::Value> values;
      simdjson::dom::array list;
      if (keyword == "enum") {
        if (value.get(list) != simdjson::SUCCESS) return fail("enum must be an array");
        for (element item : list) values.push_back(*json::parse(simdjson::minify(item)));
      } else {
        values.push_back(*json::parse(simdjson::minify(value)));
      }
      Node& node = *nodes_[id];
      if (keyword == "const") {
        node.has_const = true;
        node.const_value = std::move(values[0]);
      } else {
        node.has_enum = true;
        node.enum_all_strings = true;
        for (auto& literal : values) {
          if (literal.kind != json::Value::Kind::String) node.enum_all_strings = false;
          if (!node.enum_list.empty()) node.enum_list += ", ";
          node.enum_list += literal.kind == json::Value::Kind::String ? literal.text : json::serialize(literal);
          if (literal.kind == json::Value::Kind::String) node.enum_strings.push_back(literal.text);
        }
        node.enum_values = std::move(values);
      }
    } else if (keyword == "minLength") {
      get_count(value, keyword, nodes_[id]->min_length);
    } else if (keyword == "maxLength") {
      get_count(value, keyword, nodes_[id]->max_length);
    } else if (keyword == "minItems") {
      get_count(value, keyword, nodes_[id]->min_items);
    } else if (keyword == "maxItems") {
      get_count(value, keyword, nodes_[id]->max_items);
    } else if (keyword == "minProperties") {
      get_count(value, keyword, nodes_[id]->min_properties);
    } else if (keyword == "maxProperties") {
      get_count(value, keyword, nodes_[id]->max_properties);
    } else if (keyword == "minimum") {
      get_number(value, keyword, nodes_[id]->minimum);
    } else if (keyword == "maximum") {
      get_number(value, keyword, nodes_[id]->maximum);
    } else if (keyword == "exclusiveMinimum") {
      get_number(value, keyword, nodes_[id]->exclusive_minimum);
    } else if (keyword == "exclusiveMaximum") {
      get_number(value, keyword, nodes_[id]->exclusive_maximum);
    } else if (keyword == "pattern") {
      std::string_view pattern;
      if (value.get(pattern) != simdjson::SUCCESS) return fail("pattern must be a string");
      RE2::Options re_options;
      re_options.set_log_errors(false);
      auto regex = std::make_unique<RE2>(pattern, re_options);
      if (!regex->ok())
        return fail("pattern \"" + std::string(pattern) + "\" is not supported by RE2: " + regex->error());
      nodes_[id]->pattern = std::move(regex);
      nodes_[id]->pattern_text = std::string(pattern);
    } else if (keyword == "format") {
      std::string_view format_name;
      if (value.get(format_name) != simdjson::SUCCESS) return fail("format must be a string");
      // Other formats are annotations only, as in draft 7 by default.
      if (format_name == "date-time") nodes_[id]->format = Format::DateTime;
      else if (format_name == "date") nodes_[id]->format = Format::Date;
      else if (format_name == "time") nodes_[id]->format = Format::Time;
    } else if (keyword == "required") {
      simdjson::dom::array list;
      if (value.get(list) != simdjson::SUCCESS) return fail("required must be an array");
      required_list = list;
    } else if (keyword == "properties") {
      simdjson::dom::object fields;
      if (value.get(fields) != simdjson::SUCCESS) return fail("properties must be an object");
      properties = fields;
    } else if (keyword == "additionalProperties") {
      int child = compile_node(value, status);
      nodes_[id]->additional = child;
    } else if (keyword == "items") {
      simdjson::dom::array list;
      if (value.get(list) == simdjson::SUCCESS) {
        nodes_[id]->tuple = true;
        for (element item : list) {
          int child = compile_node(item, status);
          nodes_[id]->tuple_items.push_back(child);
        }
      } else {
        int child = compile_node(value, status);
        nodes_[id]->items = child;
      }
    } else if (keyword == "additionalItems") {
      int child = compile_node(value, status);
      nodes_[id]->additional_items = child;
    } else if (keyword == "if") {
      int child = compile_node(value, status);
      nodes_[id]->if_ = child;
    } else if (keyword == "then") {
      int child = compile_node(value, status);
      nodes_[id]->then_ = child;
    } else if (keyword == "else") {
      int child = compile_node(value, status);
      nodes_[id]->else_ = child;
    } else if (keyword == "not") {
      int child = compile_node(value, status);
      nodes_[id]->not_ = child;
    } else if (keyword == "allOf") {
      std::vector<int> children;
      schema_list(value, keyword, children);
      nodes_[id]->all_of = std::move(children);
    } else if (keyword == "anyOf") {
      std::vector<int> children;
      schema_list(value, keyword, children);
      nodes_[id]->any_of = std::move(children);
    } else if (keyword == "oneOf") {
      std::vector<int> children;
      schema_list(value, keyword, children);
      nodes_[id]->one_of = std::move(children);
    } else if (std::find(std::begin(kAnnotations), std::end(kAnnotations), keyword) != std::end(kAnnotations)) {
      // annotation only
    } else if (keyword == "$ref" || keyword == "multipleOf" || keyword == "uniqueItems" || keyword == "contains" ||
               keyword == "patternProperties" || keyword == "dependencies" || keyword == "propertyNames") {
      return fail("keyword \"" + std::string(keyword) + "\" is not compiled");
    }
    // Any other key is not a draft-7 keyword and is ignored, as the specification says.
  }
  if (!status.ok()) return id;

  // Object checks: one table of every named property, each with its schema and required slot.
  std::vector<std::string> names;
  std::vector<int> schemas, req_slot;
  std::vector<std::string> required;
  if (properties) {
    for (auto field : *properties) {
      names.emplace_back(field.key);
      int child = compile_node(field.value, status);
      schemas.push_back(child);
      req_slot.push_back(-1);
    }
  }
  if (required_list) {
    for (element item : *required_list) {
      std::string_view required_name;
      if (item.get(required_name) != simdjson::SUCCESS) return fail("required must list strings");
      auto it = std::find(names.begin(), names.end(), required_name);
      if (it == names.end()) {
        names.emplace_back(required_name);
        schemas.push_back(-1);
        req_slot.push_back(-1);
        it = names.end() - 1;
      }
      size_t slot = it - names.begin();
      if (req_slot[slot] == -1) {
        req_slot[slot] = static_cast<int>(required.size());
        required.emplace_back(required_name);
      }
    }
  }
  Node& node = *nodes_[id];
  node.string_checks = node.min_length >= 0 || node.max_length >= 0 || node.format != Format::None || node.pattern;
  node.number_checks = node.minimum || node.maximum || node.exclusive_minimum || node.exclusive_maximum;
  node.object_checks = !names.empty() || node.additional >= 0 || node.min_properties >= 0 || node.max_properties >= 0;
  node.array_checks = node.items >= 0 || node.tuple || node.min_items >= 0 || node.max_items >= 0;
  node.combinators =
      node.if_ >= 0 || node.not_ >= 0 || !node.all_of.empty() || !node.any_of.empty() || !node.one_of.empty();
  node.names = std::move(names);
  node.name_schema = std::move(schemas);
  node.name_required = std::move(req_slot);
  node.required = std::move(required);
  node.table.build(node.names);
  return id;
}

}  // namespace agentlog::schema

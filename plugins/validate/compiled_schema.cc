#include "plugins/validate/compiled_schema.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace agentlog::schema {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

enum TypeBit : uint8_t {
  kNull = 1,
  kBoolean = 2,
  kObject = 4,
  kArray = 8,
  kNumber = 16,
  kInteger = 32,
  kString = 64,
};

constexpr std::string_view kTypeNames[] = {"null", "boolean", "object", "array", "number", "integer", "string"};

// Keywords that only annotate; they never change validity.
constexpr std::string_view kAnnotations[] = {"$schema", "$id", "$comment", "title", "description", "default",
                                              "examples", "readOnly", "writeOnly", "definitions",
                                              "contentMediaType", "contentEncoding"};

bool is_integer_value(element v) {
  switch (v.type()) {
    case element_type::INT64:
    case element_type::UINT64: return true;
    case element_type::DOUBLE: {
      double d = v.get_double().value_unsafe();
      return std::isfinite(d) && d == std::floor(d);
    }
    default: return false;
  }
}

uint8_t type_bits(element v) {
  switch (v.type()) {
    case element_type::NULL_VALUE: return kNull;
    case element_type::BOOL: return kBoolean;
    case element_type::OBJECT: return kObject;
    case element_type::ARRAY: return kArray;
    case element_type::STRING: return kString;
    default: return is_integer_value(v) ? (kNumber | kInteger) : kNumber;
  }
}

std::string_view type_name_of(element v) {
  switch (v.type()) {
    case element_type::NULL_VALUE: return "null";
    case element_type::BOOL: return "boolean";
    case element_type::OBJECT: return "object";
    case element_type::ARRAY: return "array";
    case element_type::STRING: return "string";
    default: return is_integer_value(v) ? "integer" : "number";
  }
}

double as_double(element v) {
  switch (v.type()) {
    case element_type::INT64: return static_cast<double>(v.get_int64().value_unsafe());
    case element_type::UINT64: return static_cast<double>(v.get_uint64().value_unsafe());
    default: return v.get_double().value_unsafe();
  }
}

size_t code_points(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Short, bounded rendering of a value for messages. Messages reach dead letters and, with
// on_invalid: tag, the record itself, so string values are never quoted (a secret in a
// failing field would be copied past the redact stage); only a plain lowercase word, such
// as a misspelt event type, or a timestamp is shown, since no secret has those shapes.
std::string describe(element v) {
  std::string out;
  if (v.type() == element_type::STRING) {
    std::string_view s = v.get_string().value_unsafe();
    bool word = s.size() <= 32 &&
                std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_' || c == '-'; });
    // A timestamp-like text (digits and - : T Z . +, with a - or :) is shown too.
    bool time_like = s.size() <= 40 && s.find_first_of("-:") != std::string_view::npos &&
                     std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || std::strchr("-:TtZz.+ ", c); });
    if (word || time_like) json::append_quoted(out, s);
    else out = "a string of " + std::to_string(code_points(s)) + " characters";
    return out;
  }
  if (v.type() == element_type::OBJECT) return "an object";
  if (v.type() == element_type::ARRAY) return "an array";
  out = simdjson::minify(v);
  return out;
}

std::string number_text(double d) {
  char buf[64];
  if (d == std::floor(d) && std::fabs(d) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", d);
  else std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

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

bool digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

int num(std::string_view s, size_t pos, size_t n) {
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

// full-time = HH:MM:SS[.frac](Z|+HH:MM|-HH:MM), starting at `pos` and running to the end.
bool time_at(std::string_view s, size_t pos) {
  if (!digits(s, pos, 2) || s.size() <= pos + 2 || s[pos + 2] != ':' || !digits(s, pos + 3, 2) ||
      s.size() <= pos + 5 || s[pos + 5] != ':' || !digits(s, pos + 6, 2))
    return false;
  if (num(s, pos, 2) > 23 || num(s, pos + 3, 2) > 59 || num(s, pos + 6, 2) > 60) return false;
  size_t i = pos + 8;
  if (i < s.size() && s[i] == '.') {
    size_t b = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == b) return false;
  }
  if (i >= s.size()) return false;
  if (s[i] == 'Z' || s[i] == 'z') return i + 1 == s.size();
  if (s[i] != '+' && s[i] != '-') return false;
  if (s.size() != i + 6 || !digits(s, i + 1, 2) || s[i + 3] != ':' || !digits(s, i + 4, 2)) return false;
  return num(s, i + 1, 2) <= 23 && num(s, i + 4, 2) <= 59;
}

bool date_at(std::string_view s) {
  if (s.size() < 10 || !digits(s, 0, 4) || s[4] != '-' || !digits(s, 5, 2) || s[7] != '-' || !digits(s, 8, 2))
    return false;
  int y = num(s, 0, 4), m = num(s, 5, 2), d = num(s, 8, 2);
  if (m < 1 || m > 12 || d < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  int max = kDays[m - 1] + (m == 2 && leap ? 1 : 0);
  return d <= max;
}

// A tiny open-addressing table from property name to slot, FNV-1a hashed.
class NameTable {
 public:
  void build(const std::vector<std::string>& names) {
    size_t cap = 8;
    while (cap < names.size() * 2) cap <<= 1;
    slots_.assign(cap, -1);
    names_ = &names;
    for (size_t i = 0; i < names.size(); ++i) {
      size_t h = hash(names[i]) & (cap - 1);
      while (slots_[h] != -1) h = (h + 1) & (cap - 1);
      slots_[h] = static_cast<int>(i);
    }
  }
  int find(std::string_view key) const {
    if (slots_.empty()) return -1;
    size_t mask = slots_.size() - 1;
    for (size_t h = hash(key) & mask;; h = (h + 1) & mask) {
      int s = slots_[h];
      if (s == -1) return -1;
      if ((*names_)[s] == key) return s;
    }
  }

 private:
  // Length and the first and last bytes separate property names well enough; probing and
  // the full compare settle the rest.
  static size_t hash(std::string_view s) {
    if (s.empty()) return 0;
    uint64_t h = s.size() * 0x9E3779B97F4A7C15ull;
    h ^= static_cast<unsigned char>(s[0]) * 0xC2B2AE3D27D4EB4Full;
    h ^= static_cast<unsigned char>(s[s.size() - 1]) * 0x165667B19E3779F9ull;
    if (s.size() > 2) h ^= static_cast<unsigned char>(s[s.size() / 2]) * 0x27D4EB2F165667C5ull;
    return static_cast<size_t>(h ^ (h >> 31));
  }
  std::vector<int> slots_;
  const std::vector<std::string>* names_ = nullptr;
};

}  // namespace

bool is_rfc3339_date(std::string_view s) { return s.size() == 10 && date_at(s); }
bool is_rfc3339_time(std::string_view s) { return time_at(s, 0); }
bool is_rfc3339_date_time(std::string_view s) {
  return s.size() > 11 && date_at(s) && (s[10] == 'T' || s[10] == 't') && time_at(s, 11);
}

struct CompiledSchema::Node {
  bool reject_all = false;  // the `false` schema
  uint8_t types = 0;        // 0 = any type
  // strings
  int64_t min_length = -1, max_length = -1;
  std::unique_ptr<RE2> pattern;
  std::string pattern_text;
  Format format = Format::None;
  // numbers
  std::optional<double> minimum, maximum, exclusive_minimum, exclusive_maximum;
  // enum / const
  bool has_enum = false, has_const = false;
  std::vector<json::Value> enum_values;
  std::vector<std::string> enum_strings;  // fast path when every enum value is a string
  bool enum_all_strings = false;
  std::string enum_list;  // for messages
  json::Value const_value;
  // objects
  std::vector<std::string> names;  // properties, then required names without a schema
  std::vector<int> name_schema;    // node per name, -1 when only required
  std::vector<int> name_required;  // index into `required`, or -1
  std::vector<std::string> required;
  NameTable table;
  int additional = -1;  // node for additionalProperties, -1 = allowed
  int64_t min_properties = -1, max_properties = -1;
  // arrays
  int items = -1;
  std::vector<int> tuple_items;
  bool tuple = false;
  int additional_items = -1;
  int64_t min_items = -1, max_items = -1;
  // combinators
  int if_ = -1, then_ = -1, else_ = -1, not_ = -1;
  std::vector<int> all_of, any_of, one_of;
  // Which groups of keywords are present, so check() skips the absent ones cheaply.
  bool string_checks = false, number_checks = false, object_checks = false, array_checks = false;
  bool combinators = false;
};

// The JSON Pointer of the value being checked, built only when an error is reported.
struct CompiledSchema::Path {
  const Path* parent;
  std::string_view key;
  size_t index;
  bool is_index;

  std::string pointer() const {
    std::vector<const Path*> chain;
    for (const Path* p = this; p != nullptr && p->parent != nullptr; p = p->parent) chain.push_back(p);
    std::string out;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      out.push_back('/');
      if ((*it)->is_index) {
        out += std::to_string((*it)->index);
        continue;
      }
      for (char c : (*it)->key) {
        if (c == '~') out += "~0";
        else if (c == '/') out += "~1";
        else out.push_back(c);
      }
    }
    return out;
  }
};

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

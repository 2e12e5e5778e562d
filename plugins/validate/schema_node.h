// The compiled form of a schema, shared by compilation (compiled_schema.cc) and evaluation
// (schema_check.cc): one Node per (sub)schema, and the small value helpers both use. The
// helpers are inline here because evaluation calls them per value.
#pragma once
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/validate/compiled_schema.h"

namespace agentlog::schema {
namespace detail {

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

inline bool is_integer_value(element v) {
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

inline uint8_t type_bits(element v) {
  switch (v.type()) {
    case element_type::NULL_VALUE: return kNull;
    case element_type::BOOL: return kBoolean;
    case element_type::OBJECT: return kObject;
    case element_type::ARRAY: return kArray;
    case element_type::STRING: return kString;
    default: return is_integer_value(v) ? (kNumber | kInteger) : kNumber;
  }
}

inline double as_double(element v) {
  switch (v.type()) {
    case element_type::INT64: return static_cast<double>(v.get_int64().value_unsafe());
    case element_type::UINT64: return static_cast<double>(v.get_uint64().value_unsafe());
    default: return v.get_double().value_unsafe();
  }
}

inline size_t code_points(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
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

}  // namespace detail

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
  detail::NameTable table;
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

  std::string pointer() const;  // schema_messages.cc
};

}  // namespace agentlog::schema

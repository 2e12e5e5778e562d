// JSON text helpers that work on raw bytes: escaping, a key-order-preserving mutable tree
// (numbers keep their literal text), and top-level member lookup for byte splicing.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentlog::json {

// Appends `s` as a quoted JSON string. Invalid UTF-8 bytes become U+FFFD.
void append_quoted(std::string& out, std::string_view s);
// The same without the quotes.
void append_escaped(std::string& out, std::string_view s);
std::string quoted(std::string_view s);

// Returns the byte offset of the first invalid UTF-8 sequence, or npos if valid.
size_t find_invalid_utf8(std::string_view s);

// A mutable JSON value. Objects keep insertion order; numbers keep their source text.
struct Value {
  enum class Kind : uint8_t { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  std::string text;  // number literal or decoded string
  std::vector<Value> items;
  std::vector<std::pair<std::string, Value>> members;

  // Declared here, defined in json_text.cc: an implicit constructor or destructor makes
  // clang with libstdc++ instantiate pair<string, Value> while Value is still incomplete.
  Value();
  ~Value();
  Value(const Value&);
  Value(Value&&) noexcept;
  Value& operator=(const Value&);
  Value& operator=(Value&&) noexcept;

  static Value string(std::string s);
  static Value number(std::string literal);
  static Value object();

  Value* find(std::string_view key);
  const Value* find(std::string_view key) const;
  // Sets key (replacing in place, or appending). Returns the stored value.
  Value& set(std::string_view key, Value v);
  bool erase(std::string_view key);
};

inline Value Value::string(std::string s) {
  Value v;
  v.kind = Kind::String;
  v.text = std::move(s);
  return v;
}
inline Value Value::number(std::string literal) {
  Value v;
  v.kind = Kind::Number;
  v.text = std::move(literal);
  return v;
}
inline Value Value::object() {
  Value v;
  v.kind = Kind::Object;
  return v;
}

// Parses JSON text that is already known to be valid (checked by simdjson). Returns
// nullopt if the text is not valid after all.
std::optional<Value> parse(std::string_view text);
void serialize(const Value& v, std::string& out);
std::string serialize(const Value& v);

// Byte span [begin, end) of the value of a top-level member of an object, in valid JSON text.
struct Span {
  size_t key_begin = 0;  // the opening quote of the key
  size_t begin = 0;      // first byte of the value
  size_t end = 0;        // one past the value
};
std::optional<Span> find_top_level_member(std::string_view object_text, std::string_view key);

}  // namespace agentlog::json

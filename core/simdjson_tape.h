// Direct reads of simdjson's DOM tape (the format simdjson documents in doc/tape.md) for
// reads every record gets in a chain. GCC does not inline simdjson's element::get_string into
// large callers (a call per read, several per record in collision + lifecycle), and simdjson
// has no public way to make an element from a tape index. An element is exactly its tape
// reference (document, index): the static_asserts hold to that, and
// tests/unit/simdjson_tape_test.cc checks these reads against simdjson's own accessors.
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include <simdjson.h>

namespace agentlog::tape {

using simdjson::internal::tape_ref;
static_assert(sizeof(simdjson::dom::element) == sizeof(tape_ref));
static_assert(std::is_trivially_copyable_v<simdjson::dom::element> && std::is_trivially_copyable_v<tape_ref>);

// The element at tape word `index` of `doc`.
inline simdjson::dom::element element_at(const simdjson::dom::document& doc, size_t index) {
  return std::bit_cast<simdjson::dom::element>(tape_ref(&doc, index));
}

// The text of the string at tape word `index` of `doc`; false for any other type. The same
// as element_at(doc, index).get_string().
[[gnu::always_inline]] inline bool string_at(const simdjson::dom::document& doc, size_t index, std::string_view& out) {
  const uint64_t w = doc.tape[index];
  if ((w >> 56) != '"') return false;
  // A string word's payload is its offset in the string buffer: 32-bit length, then bytes.
  const uint8_t* p = doc.string_buf.get() + (w & simdjson::internal::JSON_VALUE_MASK);
  uint32_t len;
  std::memcpy(&len, p, sizeof len);
  out = std::string_view(reinterpret_cast<const char*>(p + sizeof len), len);
  return true;
}

}  // namespace agentlog::tape

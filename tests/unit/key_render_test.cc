#include <catch2/catch.hpp>

#include <string>

#include "core/json_text.h"
#include "core/key_render.h"

using namespace agentlog;

namespace {
std::string fast(std::string_view prefix, std::string_view key) {
  std::string out(prefix);
  append_shown_key(out, key);
  return out;
}
std::string reference(std::string_view prefix, std::string_view key) {
  std::string out(prefix);
  append_shown_key_reference(out, key);
  return out;
}
std::string letters(size_t len) {
  std::string s;
  for (size_t i = 0; i < len; ++i) s.push_back(static_cast<char>('a' + i % 26));
  return s;
}
}  // namespace

// Plain keys of every length around the 16-byte blocks, read from every alignment and appended
// after every prefix length (the SSE2 loads and stores are unaligned; the tail overlaps).
TEST_CASE("append_shown_key agrees with its reference on every length and alignment", "[key_render]") {
  char buf[96];
  for (size_t len = 0; len <= 48; ++len)
    for (size_t from = 0; from < 16; ++from) {
      std::string key = letters(len);
      if (len > 2) key[len / 2] = '\x1f';
      std::memcpy(buf + from, key.data(), len);
      const std::string_view at(buf + from, len);
      for (size_t pre = 0; pre < 16; ++pre) {
        const std::string prefix(pre, 'p');
        INFO("len " << len << " from " << from << " prefix " << pre);
        REQUIRE(fast(prefix, at) == reference(prefix, at));
      }
    }
}

// Each kind of byte the fast path must notice, at every position of every length.
TEST_CASE("append_shown_key agrees with its reference on every byte at every position", "[key_render]") {
  char buf[96];
  for (size_t len = 1; len <= 40; ++len)
    for (size_t at = 0; at < len; ++at)
      for (int b = 0; b < 256; ++b) {
        std::string key = letters(len);
        key[at] = static_cast<char>(b);
        const size_t from = (len + at) % 16;
        std::memcpy(buf + from, key.data(), len);
        const std::string_view k(buf + from, len);
        INFO("len " << len << " at " << at << " byte " << b);
        REQUIRE(fast("x", k) == reference("x", k));
      }
}

// Every length up to past the 64-byte inline limit, from and to every alignment: the same
// bytes as the byte-by-byte copy, the same end, nothing written outside [p, p + n).
TEST_CASE("put_piece agrees with its reference on every length and alignment", "[key_render]") {
  char src[160], got[160], want[160];
  for (size_t i = 0; i < sizeof src; ++i) src[i] = static_cast<char>(i * 7 + 1);
  for (size_t len = 0; len <= 80; ++len)
    for (size_t from = 0; from < 32; ++from)
      for (size_t to = 0; to < 32; ++to) {
        std::memset(got, '#', sizeof got);
        std::memset(want, '#', sizeof want);
        const std::string_view s(src + from, len);
        char* end = put_piece(got + to, s);
        char* want_end = put_piece_reference(want + to, s);
        INFO("len " << len << " from " << from << " to " << to);
        REQUIRE(end - got == want_end - want);
        REQUIRE(std::string_view(got, sizeof got) == std::string_view(want, sizeof want));
      }
}

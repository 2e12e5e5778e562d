// Byte-level helpers of the hot paths that render keys and annotations (stage `lifecycle`):
// each fast version beside a plain scalar reference that tests/unit/key_render_test.cc holds
// it to on every length and position.
#pragma once
#include <cstring>
#include <string>
#include <string_view>

namespace agentlog {

// Appends the display form of a key (parts joined by \x1f) to `out`: parts joined by '/',
// escaped for a JSON string. Plain keys are copied 16 bytes at a time (SSE2).
void append_shown_key(std::string& out, std::string_view key);
// The definition append_shown_key must agree with: each part escaped, '/' between them.
void append_shown_key_reference(std::string& out, std::string_view key);

// Copies `s` to `p` and returns the end; up to 64 bytes inline (two overlapping moves), not
// through a call to memcpy: a lifecycle annotation is four such pieces.
[[gnu::always_inline]] inline char* put_piece(char* p, std::string_view s) {
  const size_t n = s.size();
  if (n >= 16 && n <= 64) {
    if (n <= 32) {
      std::memcpy(p, s.data(), 16);
      std::memcpy(p + n - 16, s.data() + n - 16, 16);
    } else {
      std::memcpy(p, s.data(), 32);
      std::memcpy(p + n - 32, s.data() + n - 32, 32);
    }
  } else {
    std::memcpy(p, s.data(), n);
  }
  return p + n;
}
// What put_piece does, byte by byte.
inline char* put_piece_reference(char* p, std::string_view s) {
  for (char c : s) *p++ = c;
  return p;
}

}  // namespace agentlog

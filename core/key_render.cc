#include "core/key_render.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "core/json_text.h"

namespace agentlog {

void append_shown_key(std::string& out, std::string_view key) {
  // Plain keys (printable ASCII without '"' or '\\') are copied with \x1f turned to '/',
  // 16 bytes at a time; anything else takes the escaping path.
  const size_t at = out.size(), n = key.size();
  out.resize(at + n);
  char* d = out.data() + at;
  const char* k = key.data();
  bool plain = true;
  size_t i = 0;
#ifdef __SSE2__
  const __m128i sep = _mm_set1_epi8(0x1f), space = _mm_set1_epi8(0x20), slash = _mm_set1_epi8('/');
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  // One block of 16: false when a byte needs escaping.
  auto block = [&](const char* from, char* to) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(from));
    __m128i is_sep = _mm_cmpeq_epi8(v, sep);
    // Signed compare: bytes from 0x80 count as below the space too.
    __m128i bad = _mm_andnot_si128(is_sep, _mm_cmplt_epi8(v, space));
    bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(to), _mm_or_si128(_mm_andnot_si128(is_sep, v), _mm_and_si128(is_sep, slash)));
    return _mm_movemask_epi8(bad) == 0;
  };
  if (n >= 16) {
    for (; plain && i + 16 <= n; i += 16) plain = block(k + i, d + i);
    if (plain && i < n) plain = block(k + n - 16, d + n - 16);  // the tail, overlapping: same bytes, same result
  } else if (n > 0) {
    char in[16], res[16];
    std::memset(in, 'a', sizeof in);  // padding that needs no escaping
    std::memcpy(in, k, n);
    plain = block(in, res);
    std::memcpy(d, res, n);
  }
  i = n;
#endif
  for (; plain && i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(k[i]);
    plain = c >= 0x20 ? (c != '"' && c != '\\' && c < 0x80) : c == 0x1f;
    d[i] = c == 0x1f ? '/' : static_cast<char>(c);
  }
  if (plain) return;
  out.resize(at);
  append_shown_key_reference(out, key);
}

void append_shown_key_reference(std::string& out, std::string_view key) {
  for (size_t from = 0;;) {
    size_t sep_at = key.find('\x1f', from);
    json::append_escaped(out, key.substr(from, sep_at == std::string_view::npos ? std::string_view::npos : sep_at - from));
    if (sep_at == std::string_view::npos) break;
    out.push_back('/');
    from = sep_at + 1;
  }
}

}  // namespace agentlog

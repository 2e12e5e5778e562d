// Decoded views of a text, so rules see secrets hidden by an encoding: JSON string escapes
// (a JSON document quoted inside a string) and percent-encoding (URI paths, queries and
// fragments). Each decoded byte maps back to where it came from, so a secret found in the
// view is replaced in the original text.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentlog::redact {

struct DecodedView {
  std::string text;
  std::vector<uint32_t> from;  // from[i]: offset in the original of decoded byte i; from[size] = original size

  // The original span of decoded bytes [b, e).
  size_t orig_begin(size_t b) const { return from[b]; }
  size_t orig_end(size_t e) const { return from[e]; }
};

// Could `s` hold a %XX escape of a printable ASCII byte / a JSON backslash escape?
bool has_percent_escape(std::string_view s);
bool has_backslash_escape(std::string_view s);

// %XX of printable ASCII (0x20-0x7e) decoded; other bytes and '+' kept (so the view stays
// valid UTF-8 and base64 '+' survives); unencoded / ? # & become newlines, so each URI
// segment is decoded on its own. False when nothing was decoded.
bool percent_decode(std::string_view in, DecodedView& out);
// \n \r \t \b \f \" \\ \/ and \uXXXX below 0x80 decoded; other escapes kept. False when
// nothing was decoded.
bool unescape_json(std::string_view in, DecodedView& out);

}  // namespace agentlog::redact

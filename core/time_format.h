// RFC 3339 timestamps to and from milliseconds since the Unix epoch (UTC), without the
// C library's time zone state, so results never depend on the machine.
#pragma once
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace agentlog {

// Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)"; fractions beyond milliseconds are cut.
std::optional<int64_t> parse_rfc3339_ms(std::string_view s);

// parse_rfc3339_ms with its memory of the last second kept by the caller. Consecutive records
// mostly share their date and time to the second: those 19 bytes (validated once) are kept
// with their value, and the usual shape ("...:ss.mmmZ") in that second is settled inline
// from the milliseconds alone, with no thread-local lookups. parse_rfc3339_ms uses a
// thread-local one.
class Rfc3339Parser {
 public:
  std::optional<int64_t> parse(std::string_view s) {
    if (have_ && s.size() == 24 && s[19] == '.' && s[23] == 'Z' && sec_ != 60) {
      const unsigned d0 = static_cast<unsigned>(s[20] - '0'), d1 = static_cast<unsigned>(s[21] - '0'),
                     d2 = static_cast<unsigned>(s[22] - '0');
      if (d0 < 10 && d1 < 10 && d2 < 10 && prefix_of(s.data()) == prefix_)
        return minute_ms_ + sec_ * 1000 + d0 * 100 + d1 * 10 + d2;
    }
    return parse_slow(s);
  }

 private:
  // Bytes 0-7, 8-15 and 15-18 as words: compared with no library call.
  struct Prefix {
    uint64_t a = 0, b = 0;
    uint32_t c = 0;
    bool operator==(const Prefix&) const = default;
  };
  static Prefix prefix_of(const char* p) {
    Prefix x;
    std::memcpy(&x.a, p, 8);
    std::memcpy(&x.b, p + 8, 8);
    std::memcpy(&x.c, p + 15, 4);
    return x;
  }
  std::optional<int64_t> parse_slow(std::string_view s);

  bool have_ = false;
  Prefix prefix_;
  int64_t minute_ms_ = 0;  // the remembered minute (UTC), in ms since the epoch
  int sec_ = 0;            // and its second, 0-60
};
// Formats as "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string format_rfc3339_ms(int64_t epoch_ms);
// Appends the same 24 characters to `out` (no allocation when `out` has room).
void append_rfc3339_ms(std::string& out, int64_t epoch_ms);
// Writes the same 24 characters at `out`; returns the end.
char* write_rfc3339_ms(char* out, int64_t epoch_ms);
// True when `s`, which parse_rfc3339_ms accepted, is already what write_rfc3339_ms writes
// for it ("YYYY-MM-DDTHH:MM:SS.mmmZ", not a leap second), so a caller may copy it instead.
inline bool in_written_form_rfc3339_ms(std::string_view s) {
  return s.size() == 24 && s[10] == 'T' && s[19] == '.' && s[23] == 'Z' && !(s[17] == '6' && s[18] == '0');
}

}  // namespace agentlog

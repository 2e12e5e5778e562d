// RFC 3339 timestamps to and from milliseconds since the Unix epoch (UTC), without the
// C library's time zone state, so results never depend on the machine.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agentlog {

// Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)"; fractions beyond milliseconds are cut.
std::optional<int64_t> parse_rfc3339_ms(std::string_view s);
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

// RFC 3339 checks for JSON Schema's `format` (date-time, date, time).
#include <string_view>

#include "plugins/validate/compiled_schema.h"

namespace agentlog::schema {
namespace {

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

}  // namespace

bool is_rfc3339_date(std::string_view s) { return s.size() == 10 && date_at(s); }
bool is_rfc3339_time(std::string_view s) { return time_at(s, 0); }
bool is_rfc3339_date_time(std::string_view s) {
  return s.size() > 11 && date_at(s) && (s[10] == 'T' || s[10] == 't') && time_at(s, 11);
}

}  // namespace agentlog::schema

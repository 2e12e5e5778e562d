#include "core/time_format.h"

#include <climits>
#include <cstring>


namespace agentlog {
namespace {

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::optional<int64_t> parse_rfc3339_ms(std::string_view s) {
  thread_local Rfc3339Parser parser;
  return parser.parse(s);
}

std::optional<int64_t> Rfc3339Parser::parse_slow(std::string_view s) {
  int sec;
  int64_t minute_ms;
  if (have_ && s.size() >= 20 && prefix_of(s.data()) == prefix_) {
    minute_ms = minute_ms_;
    sec = sec_;
  } else {
    int y, mo, d, h, mi;
    if (!digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
        !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, h) || s[13] != ':' ||
        !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec))
      return std::nullopt;
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 || sec > 60)
      return std::nullopt;
    const int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    minute_ms = (days * 86400 + h * 3600 + mi * 60) * 1000;
    prefix_ = prefix_of(s.data());
    have_ = true;
    minute_ms_ = minute_ms;
    sec_ = sec;
  }
  size_t i = 19;
  int ms = 0;
  if (i < s.size() && s[i] == '.') {
    size_t b = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (i - b < 3) ms = ms * 10 + (s[i] - '0');
      ++i;
    }
    if (i == b) return std::nullopt;
    for (size_t k = i - b; k < 3; ++k) ms *= 10;
  }
  int64_t offset_min = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(s, i + 4, 2, om) || oh > 23 ||
        om > 59)
      return std::nullopt;
    offset_min = (oh * 60 + om) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  // A leap second (:60) is counted as the last millisecond of :59.
  if (sec == 60) {
    sec = 59;
    ms = 999;
  }
  return minute_ms + (sec - offset_min * 60) * 1000 + ms;
}

std::string format_rfc3339_ms(int64_t epoch_ms) {
  std::string out;
  append_rfc3339_ms(out, epoch_ms);
  return out;
}

void append_rfc3339_ms(std::string& out, int64_t epoch_ms) {
  char buf[24];
  out.append(buf, write_rfc3339_ms(buf, epoch_ms));
}

char* write_rfc3339_ms(char* buf, int64_t epoch_ms) {
  int64_t secs = epoch_ms >= 0 ? epoch_ms / 1000 : -((-epoch_ms + 999) / 1000);
  int ms = static_cast<int>(epoch_ms - secs * 1000);
  // The date and time of the last second written, reused while the second is the same.
  thread_local int64_t last_secs = INT64_MIN;
  thread_local char last[19];
  if (secs == last_secs) {
    std::memcpy(buf, last, 19);
    buf[19] = '.';
    buf[20] = static_cast<char>('0' + ms / 100);
    buf[21] = static_cast<char>('0' + ms / 10 % 10);
    buf[22] = static_cast<char>('0' + ms % 10);
    buf[23] = 'Z';
    return buf + 24;
  }
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t rem = secs - days * 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  // Hand-formatted: this runs for every annotated record.
  auto put = [&](size_t at, int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10) buf[at + i] = static_cast<char>('0' + v % 10);
  };
  if (y < 0 || y > 9999) y = 0;  // RFC 3339 has no other years
  put(0, y, 4);
  buf[4] = '-';
  put(5, m, 2);
  buf[7] = '-';
  put(8, d, 2);
  buf[10] = 'T';
  put(11, rem / 3600, 2);
  buf[13] = ':';
  put(14, rem % 3600 / 60, 2);
  buf[16] = ':';
  put(17, rem % 60, 2);
  last_secs = secs;
  std::memcpy(last, buf, 19);
  buf[19] = '.';
  put(20, ms, 3);
  buf[23] = 'Z';
  return buf + 24;
}

}  // namespace agentlog

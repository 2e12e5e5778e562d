// Stage `enrich`: the helpers shared with stage `map` (epoch and time values, YAML scalars
// as JSON, message quoting).
#include "plugins/enrich/enrich.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "core/field_path.h"
#include "core/hash_index.h"
#include "core/hashing.h"
#include "core/json_text.h"
#include "core/time_format.h"
#include "core/top_fields.h"
#include "core/worker_slots.h"
#include "plugins/enrich/lookup_table.h"

namespace agentlog::plugins {

// ---------------------------------------------------------------------------------------
// Shared helpers (also used by stage `map`).
// ---------------------------------------------------------------------------------------
namespace enrich {

bool is_json_number(std::string_view s) {
  size_t i = 0, n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i >= n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    size_t b = ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == b) return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    size_t b = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == b) return false;
  }
  return i == n;
}

std::string yaml_scalar_json(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "null";
  const std::string& s = node.Scalar();
  if (node.Tag() == "?") {  // plain (unquoted, untagged) scalar
    if (s == "true" || s == "false" || s == "null") return s;
    if (is_json_number(s)) return s;
  }
  return json::quoted(s);
}

std::string quoted_for_message(std::string_view s) {
  if (s.size() <= 64) return json::quoted(s);
  size_t cut = 64;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  return json::quoted(s.substr(0, cut)) + "...";
}

namespace {
constexpr int64_t kMaxMs = 253402300799999;  // 9999-12-31T23:59:59.999Z
}

namespace {
// `shown` is the value as a message shows it: quoted when it came from a string.
std::optional<int64_t> epoch_impl(std::string_view text, const std::string& shown, EpochUnit* unit, std::string* why) {
  auto fail = [&](std::string m) -> std::optional<int64_t> {
    if (why) *why = std::move(m);
    return std::nullopt;
  };
  if (!is_json_number(text)) return fail(shown + " is not a number");
  if (text[0] == '-') return fail(shown + " is a negative epoch time");
  // value = digits * 10^exp10, exactly.
  std::string digits;
  int64_t exp10 = 0;
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') digits.push_back(text[i++]);
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      digits.push_back(text[i++]);
      --exp10;
    }
  }
  if (i < text.size()) {  // exponent
    ++i;
    bool neg = text[i] == '-';
    if (text[i] == '+' || text[i] == '-') ++i;
    int64_t e = 0;
    for (; i < text.size(); ++i) {
      e = e * 10 + (text[i] - '0');
      if (e > 1000) return fail(shown + " is out of range for an epoch time");
    }
    exp10 += neg ? -e : e;
  }
  size_t lead = digits.find_first_not_of('0');
  if (lead == std::string::npos) {
    digits = "0";
    exp10 = 0;
  } else {
    digits.erase(0, lead);
  }
  // Digits of the integer part of the value: its magnitude.
  int64_t int_digits = static_cast<int64_t>(digits.size()) + exp10;
  EpochUnit u;
  int64_t shift;  // to milliseconds
  if (int_digits <= 11) u = EpochUnit::Seconds, shift = 3;
  else if (int_digits <= 14) u = EpochUnit::Milliseconds, shift = 0;
  else if (int_digits <= 17) u = EpochUnit::Microseconds, shift = -3;
  else if (int_digits <= 20) u = EpochUnit::Nanoseconds, shift = -6;
  else return fail(shown + " is too large for an epoch time (1e20 or more)");
  int64_t e = exp10 + shift;
  if (e < 0) {
    if (static_cast<int64_t>(digits.size()) <= -e) digits = "0";
    else digits.resize(digits.size() - static_cast<size_t>(-e));  // cut toward zero (floor)
  } else {
    digits.append(static_cast<size_t>(e), '0');
  }
  if (digits.size() > 16) return fail(shown + " is out of range for an epoch time");
  int64_t ms = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), ms);
  if (ms > kMaxMs) return fail(shown + " is after 9999-12-31 as an epoch time");
  if (unit) *unit = u;
  return ms;
}

}  // namespace

std::optional<int64_t> parse_epoch(std::string_view text, EpochUnit* unit, std::string* why) {
  std::string shown = text.size() <= 64 ? std::string(text) : std::string(text.substr(0, 64)) + "...";
  return epoch_impl(text, shown, unit, why);
}

std::optional<int64_t> parse_time_value(std::string_view text, bool is_string, std::string* why) {
  if (!is_string) return parse_epoch(text, nullptr, why);
  if (auto ms = parse_rfc3339_ms(text)) return ms;
  if (is_json_number(text)) return epoch_impl(text, quoted_for_message(text), nullptr, why);
  if (why) *why = quoted_for_message(text) + " is not an RFC 3339 date-time or an epoch number";
  return std::nullopt;
}

}  // namespace enrich

}  // namespace agentlog::plugins

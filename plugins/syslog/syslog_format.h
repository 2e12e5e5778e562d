// Syslog message formatting for the `syslog` output: RFC 5424 (header, STRUCTURED-DATA with
// §6.3.3 escaping) and RFC 3164, with severity mapped from record fields. No I/O here.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "core/condition.h"
#include "core/field_path.h"

namespace agentlog::plugins::syslog {

enum class Format : uint8_t { Rfc5424, Rfc3164 };  // in the order of syslog.cc's kFormats: SyslogConfig binds it

// Severity names (syslog(3) spelling) in code order 0..7, facility names in code order 0..23.
inline constexpr std::string_view kSeverities[] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};
inline constexpr std::string_view kFacilities[] = {
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
    "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"};
int code_of(std::span<const std::string_view> names, std::string_view name);

// Appends an SD PARAM-VALUE (without quotes): `"`, `\` and `]` are escaped with a backslash
// (RFC 5424 §6.3.3); control characters (U+0000-U+001F, U+007F) become spaces, so a value can
// never break newline framing. `value` must be valid UTF-8 (JSON strings from simdjson are).
void append_sd_value(std::string& out, std::string_view value);
// SD-NAME: 1 to 32 printable US-ASCII characters except `=`, space, `]` and `"`.
bool valid_sd_name(std::string_view name);
// 1 to `max` printable US-ASCII characters (33..126), as the header fields require.
bool printable_ascii(std::string_view s, size_t max);
// The longest prefix of `s` of at most `max` bytes that ends on a UTF-8 code point boundary.
size_t utf8_prefix(std::string_view s, size_t max);
// "Mmm dd hh:mm:ss" (RFC 3164 §4.1.2, day padded with a space), from epoch milliseconds, UTC.
void append_rfc3164_time(std::string& out, int64_t epoch_ms);

// How messages are delimited on the wire: RFC 6587 octet counting ("LEN SP MSG") or a
// newline after each (stream transports), or not at all (one datagram each).
enum class Framing : uint8_t { None, OctetCounting, Newline };
// Appends `msg` framed; returns the offset of the message within what was appended.
size_t append_framed(std::string& out, std::string_view msg, Framing framing);

struct SeverityRule {
  std::vector<Condition> when;  // all must hold
  int severity = 6;
};

struct FormatConfig {
  Format format = Format::Rfc5424;
  int facility = 1;
  int severity = 6;                  // when no rule matches
  std::vector<SeverityRule> rules;   // first match wins
  std::string hostname, app_name, procid, msgid;
  bool msgid_from_field = false;
  FieldPath msgid_field;
  std::string sd_id;                 // empty: no STRUCTURED-DATA ("-")
  std::vector<FieldPath> sd_fields;  // PARAM-NAME is the path text
  std::vector<FieldPath> timestamp_fields;  // first RFC 3339 string wins
  bool timestamp_now = false;        // fallback: the current time (else "-"; RFC 3164 always uses now)
};

class Formatter {
 public:
  explicit Formatter(FormatConfig cfg);
  // Appends the whole message for a record: header, STRUCTURED-DATA, a space and `body`.
  // `root` is the parsed record (nullptr for a line that is not a JSON object). Returns the
  // offset of the body within the appended text. `now_ms` is used only by the fallback.
  size_t format(const simdjson::dom::element* root, std::string_view body, std::string& out, int64_t now_ms);
  const FormatConfig& config() const { return cfg_; }

 private:
  int severity_of(simdjson::dom::element root) const;
  void append_sd(std::string& out);
  FormatConfig cfg_;
  FieldSet fields_;
  std::vector<size_t> sd_slots_, ts_slots_;
  size_t msgid_slot_ = 0;
  std::string scratch_;
};

}  // namespace agentlog::plugins::syslog

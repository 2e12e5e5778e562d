// The syslog output's message formatting: header fields, STRUCTURED-DATA escaping (RFC 5424
// §6.3.3), severity rules, timestamps and RFC 3164. Delivery is tested against rsyslogd in
// tests/syslog/run_syslog_tests.py.
#include <catch2/catch.hpp>

#include "plugins/syslog/syslog_format.h"

using namespace agentlog;
using namespace agentlog::plugins::syslog;

namespace {

FieldPath path(const char* p) {
  FieldPath f;
  REQUIRE(parse_field_path(p, f));
  return f;
}

FormatConfig base() {
  FormatConfig c;
  c.hostname = "host1";
  c.app_name = "agentlog";
  c.procid = "-";
  c.msgid = "-";
  c.sd_id = "agentlog@32473";
  for (const char* f : {"agent_id", "run_id", "event_type", "decision"}) c.sd_fields.push_back(path(f));
  c.timestamp_fields = {path("event_time"), path("timestamp")};
  return c;
}

std::string fmt(Formatter& f, const std::string& json, int64_t now = 0) {
  simdjson::dom::parser p;
  simdjson::dom::element root = p.parse(json).value();
  std::string out;
  size_t body = f.format(&root, json, out, now);
  CHECK(out.substr(body) == json);
  return out;
}

}  // namespace

TEST_CASE("SD PARAM-VALUE escaping", "[syslog]") {
  std::string out;
  append_sd_value(out, R"(a"b\c]d=e [f)");
  CHECK(out == R"(a\"b\\c\]d=e [f)");
  out.clear();
  append_sd_value(out, "tab\there\nnl\x7f");
  CHECK(out == "tab here nl ");
  out.clear();
  append_sd_value(out, "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x99\x82");  // UTF-8 passes unchanged
  CHECK(out == "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x99\x82");
}

TEST_CASE("SD names, header fields and UTF-8 cuts", "[syslog]") {
  CHECK(valid_sd_name("agentlog@32473"));
  CHECK(valid_sd_name("details.tool"));
  CHECK_FALSE(valid_sd_name(""));
  CHECK_FALSE(valid_sd_name("a=b"));
  CHECK_FALSE(valid_sd_name("a b"));
  CHECK_FALSE(valid_sd_name("a]"));
  CHECK_FALSE(valid_sd_name("a\""));
  CHECK_FALSE(valid_sd_name(std::string(33, 'a')));
  CHECK(printable_ascii("agentlog", 48));
  CHECK_FALSE(printable_ascii("agent log", 48));
  CHECK_FALSE(printable_ascii("caf\xc3\xa9", 48));
  CHECK_FALSE(printable_ascii(std::string(49, 'a'), 48));
  std::string s = "ab\xc3\xa9" "cd";  // é is 2 bytes at offsets 2-3
  CHECK(utf8_prefix(s, 3) == 2);
  CHECK(utf8_prefix(s, 4) == 4);
  CHECK(utf8_prefix(s, 100) == s.size());
  std::string t;
  append_rfc3164_time(t, 1768469400123);  // 2026-01-15T09:30:00.123Z
  CHECK(t == "Jan 15 09:30:00");
  t.clear();
  append_rfc3164_time(t, 1767312000000);  // 2026-01-02T00:00:00Z: day padded with a space
  CHECK(t == "Jan  2 00:00:00");
}

TEST_CASE("RFC 5424 header and structured data", "[syslog]") {
  Formatter f(base());
  CHECK(fmt(f, R"({"event_time":"2026-01-15T10:30:00.123456+01:00","agent_id":"a\"]\\","decision":"allow","run_id":7,"x":1})") ==
        R"(<14>1 2026-01-15T09:30:00.123Z host1 agentlog - - [agentlog@32473 agent_id="a\"\]\\" run_id="7" decision="allow"] )"
        R"({"event_time":"2026-01-15T10:30:00.123456+01:00","agent_id":"a\"]\\","decision":"allow","run_id":7,"x":1})");
  // No usable time and no SD fields: nil values.
  CHECK(fmt(f, R"({"event_time":"yesterday","other":null})") ==
        R"(<14>1 - host1 agentlog - - - {"event_time":"yesterday","other":null})");
  // `timestamp` is the second choice; null SD fields are left out.
  CHECK(fmt(f, R"({"timestamp":"2026-01-15T09:30:00Z","agent_id":null,"event_type":"tool_call"})") ==
        R"(<14>1 2026-01-15T09:30:00.000Z host1 agentlog - - [agentlog@32473 event_type="tool_call"] )"
        R"({"timestamp":"2026-01-15T09:30:00Z","agent_id":null,"event_type":"tool_call"})");
}

TEST_CASE("severity rules, facility, msgid from a field, fallback time", "[syslog]") {
  FormatConfig c = base();
  c.facility = 16;  // local0
  c.sd_id.clear();
  c.msgid_from_field = true;
  c.msgid_field = path("event_type");
  c.timestamp_now = true;
  YAML::Node n = YAML::Load("{field: decision, equals: block}");
  ConfigSource src{"test"};
  SeverityRule rule;
  rule.when.emplace_back();
  REQUIRE(Condition::build(OptionView(&src, n, kConditionOptions, ""), rule.when.back()).ok());
  rule.severity = 4;
  c.rules.push_back(std::move(rule));
  Formatter f(std::move(c));
  CHECK(fmt(f, R"({"decision":"block","event_type":"tool_call"})", 1768469400123) ==
        R"(<132>1 2026-01-15T09:30:00.123Z host1 agentlog - tool_call - {"decision":"block","event_type":"tool_call"})");
  // A MSGID field with a space is not usable: the configured msgid is kept.
  CHECK(fmt(f, R"({"decision":"allow","event_type":"tool call"})", 1768469400123) ==
        R"(<134>1 2026-01-15T09:30:00.123Z host1 agentlog - - - {"decision":"allow","event_type":"tool call"})");
}

TEST_CASE("RFC 3164", "[syslog]") {
  FormatConfig c = base();
  c.format = Format::Rfc3164;
  c.procid = "12";
  Formatter f(c);
  CHECK(fmt(f, R"({"event_time":"2026-01-05T09:30:00Z","a":1})") ==
        R"(<14>Jan  5 09:30:00 host1 agentlog[12]: {"event_time":"2026-01-05T09:30:00Z","a":1})");
  c.procid = "-";
  Formatter g(c);
  // RFC 3164 has no nil timestamp: the current time is used.
  CHECK(fmt(g, R"({"a":1})", 1768469400123) == R"(<14>Jan 15 09:30:00 host1 agentlog: {"a":1})");
}

// The JUnit XML report: one testsuite for the policy, one testcase per rule. A failed
// error-severity rule (or any failed rule with fail_on: warning) is a <failure>; a failed
// warning-severity rule passes, with the finding in <system-out>.
#include "check/report.h"

namespace agentlog::check {
namespace {

void escape(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 allows no control characters but tab, LF and CR.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') out += "\xEF\xBF\xBD";
        else out.push_back(c);
    }
  }
}

std::string attr(std::string_view s) {
  std::string out;
  escape(out, s);
  return out;
}

}  // namespace

std::string render_junit(const CheckReport& r) {
  size_t failures = 0;
  for (const auto& res : r.rules)
    if (!res.passed && res.rule->severity == Severity::Error) ++failures;
  // fail_on: warning turns failed warnings into failures too.
  bool warn_fails = r.warnings_fail;
  if (warn_fails) failures += r.failed_warnings;

  std::string o = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  std::string suite = "agentlog check: " + r.policy_name;
  o += "<testsuites name=\"" + attr(suite) + "\" tests=\"" + std::to_string(r.rules.size()) + "\" failures=\"" +
       std::to_string(failures) + "\" errors=\"0\">\n";
  o += "  <testsuite name=\"" + attr(suite) + "\" tests=\"" + std::to_string(r.rules.size()) + "\" failures=\"" +
       std::to_string(failures) + "\" errors=\"0\" skipped=\"0\">\n";
  o += "    <properties>\n";
  o += "      <property name=\"config\" value=\"" + attr(r.config) + "\"/>\n";
  o += "      <property name=\"pipeline\" value=\"" + attr(r.pipeline) + "\"/>\n";
  o += "      <property name=\"records_in\" value=\"" + std::to_string(r.records_in) + "\"/>\n";
  o += "    </properties>\n";
  for (const auto& res : r.rules) {
    const Rule& rule = *res.rule;
    std::string sev = rule.severity == Severity::Error ? "error" : "warning";
    o += "    <testcase classname=\"agentlog.policy." + attr(rule_type_name(rule.type)) + "\" name=\"" +
         attr(rule.id) + "\"";
    if (res.passed) {
      o += "/>\n";
      continue;
    }
    o += ">\n";
    std::string body = res.detail + " (limit " + res.limit + ")\n";
    for (const auto& e : res.examples) body += e.source + ":" + std::to_string(e.line) + ": " + e.note + "\n";
    bool failure = rule.severity == Severity::Error || warn_fails;
    if (failure) {
      o += "      <failure type=\"" + sev + "\" message=\"" + attr(rule.message + ": " + res.detail) + "\">";
      escape(o, body);
      o += "</failure>\n";
    } else {
      o += "      <system-out>WARNING: " + attr(rule.message + ": " + res.detail) + "\n";
      escape(o, body);
      o += "</system-out>\n";
    }
    o += "    </testcase>\n";
  }
  o += "  </testsuite>\n</testsuites>\n";
  return o;
}

}  // namespace agentlog::check

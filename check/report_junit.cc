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
  o += "      <property name=\"records_out\" value=\"" + std::to_string(r.records_out) + "\"/>\n";
  o += "      <property name=\"dead_lettered\" value=\"" + std::to_string(r.dead_lettered) + "\"/>\n";
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
    std::string body = res.detail + " " + limit_phrase(res) + "\n";
    for (const auto& e : res.examples) body += example_text(e) + "\n";
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
  // Where the dead letters came from: by reason, then per input (CI shows the suite's output).
  if (r.dead_lettered) {
    std::string out = "dead letters: " + std::to_string(r.dead_lettered) + "\n";
    for (const auto& [reason, c] : r.dead_letter_reasons) out += "  " + reason + ": " + std::to_string(c) + "\n";
    out += "by input:\n";
    for (const auto& [name, in] : r.inputs) {
      if (!in.dead_lettered) continue;
      out += "  " + name + ": " + std::to_string(in.dead_lettered) + " of " + std::to_string(in.lines) + " lines (";
      bool first = true;
      for (const auto& [reason, c] : in.dead_letter_reasons) {
        out += (first ? "" : ", ") + reason + " " + std::to_string(c);
        first = false;
      }
      out += ")\n";
    }
    o += "    <system-out>";
    escape(o, out);
    o += "</system-out>\n";
  }
  o += "  </testsuite>\n</testsuites>\n";
  return o;
}

}  // namespace agentlog::check

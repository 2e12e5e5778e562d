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

std::string render_junit(const CheckReport& report) {
  size_t failures = 0;
  for (const auto& res : report.rules)
    if (!res.passed && res.rule->severity == Severity::Error) ++failures;
  // fail_on: warning turns failed warnings into failures too.
  bool warn_fails = report.warnings_fail;
  if (warn_fails) failures += report.failed_warnings;

  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  std::string suite = "agentlog check: " + report.policy_name;
  xml += "<testsuites name=\"" + attr(suite) + "\" tests=\"" + std::to_string(report.rules.size()) + "\" failures=\"" +
         std::to_string(failures) + "\" errors=\"0\">\n";
  xml += "  <testsuite name=\"" + attr(suite) + "\" tests=\"" + std::to_string(report.rules.size()) + "\" failures=\"" +
         std::to_string(failures) + "\" errors=\"0\" skipped=\"0\">\n";
  xml += "    <properties>\n";
  xml += "      <property name=\"config\" value=\"" + attr(report.config) + "\"/>\n";
  xml += "      <property name=\"pipeline\" value=\"" + attr(report.pipeline) + "\"/>\n";
  xml += "      <property name=\"records_in\" value=\"" + std::to_string(report.records_in) + "\"/>\n";
  xml += "      <property name=\"records_out\" value=\"" + std::to_string(report.records_out) + "\"/>\n";
  xml += "      <property name=\"dead_lettered\" value=\"" + std::to_string(report.dead_lettered) + "\"/>\n";
  xml += "    </properties>\n";
  for (const auto& res : report.rules) {
    const Rule& rule = *res.rule;
    std::string sev = rule.severity == Severity::Error ? "error" : "warning";
    xml += "    <testcase classname=\"agentlog.policy." + attr(rule_type_name(rule.type)) + "\" name=\"" +
           attr(rule.id) + "\"";
    if (res.passed) {
      xml += "/>\n";
      continue;
    }
    xml += ">\n";
    std::string body = res.detail + " " + limit_phrase(res) + "\n";
    for (const auto& example : res.examples) body += example_text(example) + "\n";
    bool failure = rule.severity == Severity::Error || warn_fails;
    if (failure) {
      xml += "      <failure type=\"" + sev + "\" message=\"" + attr(rule.message + ": " + res.detail) + "\">";
      escape(xml, body);
      xml += "</failure>\n";
    } else {
      xml += "      <system-out>WARNING: " + attr(rule.message + ": " + res.detail) + "\n";
      escape(xml, body);
      xml += "</system-out>\n";
    }
    xml += "    </testcase>\n";
  }
  // Where the dead letters came from: by reason, then per input (CI shows the suite's output).
  if (report.dead_lettered) {
    std::string out = "dead letters: " + std::to_string(report.dead_lettered) + "\n";
    for (const auto& [reason, c] : report.dead_letter_reasons) out += "  " + reason + ": " + std::to_string(c) + "\n";
    out += "by input:\n";
    for (const auto& [name, in] : report.inputs) {
      if (!in.dead_lettered) continue;
      out += "  " + name + ": " + std::to_string(in.dead_lettered) + " of " + std::to_string(in.lines) + " lines (";
      bool first = true;
      for (const auto& [reason, c] : in.dead_letter_reasons) {
        out += (first ? "" : ", ") + reason + " " + std::to_string(c);
        first = false;
      }
      out += ")\n";
    }
    xml += "    <system-out>";
    escape(xml, out);
    xml += "</system-out>\n";
  }
  xml += "  </testsuite>\n</testsuites>\n";
  return xml;
}

}  // namespace agentlog::check

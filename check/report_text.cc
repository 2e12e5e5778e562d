// The terminal summary: verdict, rules with examples, then the figures. ANSI colour only
// when asked (the caller passes colour = the destination is a TTY and NO_COLOR is unset).
#include <algorithm>
#include <vector>

#include "check/report.h"

namespace agentlog::check {
namespace {

struct Style {
  bool on;
  std::string wrap(std::string_view code, std::string_view s) const {
    if (!on) return std::string(s);
    return "\x1b[" + std::string(code) + "m" + std::string(s) + "\x1b[0m";
  }
  std::string red(std::string_view s) const { return wrap("31;1", s); }
  std::string green(std::string_view s) const { return wrap("32;1", s); }
  std::string yellow(std::string_view s) const { return wrap("33;1", s); }
  std::string bold(std::string_view s) const { return wrap("1", s); }
  std::string dim(std::string_view s) const { return wrap("2", s); }
};

// "a 3, b 2, c 1" by count (highest first, then name), at most `n` entries.
std::string top(const std::map<std::string, uint64_t>& m, size_t n = 8) {
  std::vector<std::pair<std::string, uint64_t>> v(m.begin(), m.end());
  std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second > b.second; });
  std::string out;
  for (size_t i = 0; i < v.size() && i < n; ++i) out += (i ? ", " : "") + v[i].first + " " + std::to_string(v[i].second);
  if (v.size() > n) out += ", … (" + std::to_string(v.size() - n) + " more)";
  return out.empty() ? "-" : out;
}

}  // namespace

std::string render_report(const CheckReport& r, std::string_view format, bool colour) {
  return format == "json"    ? render_json(r)
         : format == "junit" ? render_junit(r)
         : format == "html"  ? render_html(r)
                             : render_text(r, colour);
}

std::string render_text(const CheckReport& report, bool colour) {
  Style style{colour};
  std::string text;
  text += style.bold("agentlog check") + ": policy " + report.policy_name + ", " + std::to_string(report.records_in) +
          " records from " + (report.config.empty() ? "-" : report.config) + "\n\n";
  for (const auto& res : report.rules) {
    const Rule& rule = *res.rule;
    std::string tag = res.passed                         ? style.green("PASS")
                      : rule.severity == Severity::Error ? style.red("FAIL")
                                                         : style.yellow("WARN");
    text += "  " + tag + "  " + rule.id + ": " + res.detail + " " + limit_phrase(res) + "\n";
    if (res.passed) continue;
    text += "        " + style.dim(rule.message) + "\n";
    for (const auto& example : res.examples) text += "        " + example_text(example) + "\n";
  }
  text += "\n";
  auto line = [&](std::string_view label, const std::string& value) {
    text += "  " + style.bold(std::string(label)) + std::string(label.size() < 16 ? 16 - label.size() : 1, ' ') +
            value + "\n";
  };
  line("records", std::to_string(report.records_in) + " in, " + std::to_string(report.records_out) + " out, " +
                      std::to_string(report.dropped) + " dropped, " + std::to_string(report.dead_lettered) +
                      " dead-lettered, " + std::to_string(report.generated) + " generated");
  line("dead letters",
       std::to_string(report.dead_lettered) + (report.dead_lettered ? ": " + top(report.dead_letter_reasons) : ""));
  // Inputs with dead letters first, then those with the fewest records: the ones to look at.
  std::vector<const std::pair<const std::string, InputSummary>*> inputs;
  for (const auto& in : report.inputs) inputs.push_back(&in);
  std::stable_sort(inputs.begin(), inputs.end(), [](auto* a, auto* b) {
    if (a->second.dead_lettered != b->second.dead_lettered) return a->second.dead_lettered > b->second.dead_lettered;
    return a->second.records < b->second.records;
  });
  line("inputs", std::to_string(report.inputs_total));
  for (size_t i = 0; i < inputs.size() && i < 8; ++i) {
    const auto& [name, in] = *inputs[i];
    text += "    " + name + std::string(name.size() < 22 ? 22 - name.size() : 2, ' ') + std::to_string(in.records) +
            (in.records == 1 ? " record, " : " records, ") + std::to_string(in.dead_lettered) + " dead-lettered" +
            (in.dead_lettered ? " (" + top(in.dead_letter_reasons, 4) + ")" : "") + "\n";
  }
  if (inputs.size() > 8) text += "    … (" + std::to_string(inputs.size() - 8) + " more)\n";
  line("event types", top(report.by_event_type));
  line("decisions", top(report.by_decision));
  line("agents", top(report.by_agent));
  line("tools", top(report.by_tool));
  line("runs", std::to_string(report.runs_total) + (report.other_runs ? " (more not listed)" : ""));
  line("schema", std::to_string(report.schema_violations) + " violations" +
                     (report.unclassified ? " (" + std::to_string(report.unclassified) + " unclassified)" : ""));
  line("redactions", std::to_string(report.records_redacted) + " records; " + top(report.redactions_by_rule));
  line("lifecycles", std::to_string(report.lifecycle.complete) + " complete, " +
                         std::to_string(report.lifecycle.failed) + " failed, " +
                         std::to_string(report.lifecycle.orphaned) + " orphaned, " +
                         std::to_string(report.lifecycle.open) + " open");
  line("collisions", std::to_string(report.collisions));
  line("escalations", std::to_string(report.escalations) + " records, " +
                          std::to_string(report.escalations_resolved + report.escalations_unresolved) +
                          " requests: " + std::to_string(report.escalations_resolved) + " resolved, " +
                          std::to_string(report.escalations_unresolved) + " unresolved");
  if (!report.durations_by_tool.empty()) {
    text += "  " + style.bold("durations (ms)") + "  p50 / p90 / p99 / max\n";
    for (const auto& [tool, d] : report.durations_by_tool)
      text += "    " + tool + std::string(tool.size() < 22 ? 22 - tool.size() : 1, ' ') + std::to_string(d.p50) +
              " / " + std::to_string(d.p90) + " / " + std::to_string(d.p99) + " / " + std::to_string(d.max) + "  (" +
              std::to_string(d.count) + ")\n";
  }
  text += "\n";
  std::string verdict = report.passed ? style.green("PASSED") : style.red("FAILED");
  text += verdict + ": " + std::to_string(report.rules.size()) + " rules, " + std::to_string(report.failed_errors) +
          " failed, " + std::to_string(report.failed_warnings) + " warnings\n";
  return text;
}

}  // namespace agentlog::check

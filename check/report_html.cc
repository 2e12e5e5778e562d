// The HTML report: one self-contained file (inline CSS, inline SVG charts, a few lines of
// inline script for paging; a Content-Security-Policy forbids any fetch). Readable at any
// size: the runs table lists at most limits.max_runs runs, 50 per page, and the timeline
// shows limits.timeline_runs runs (10 per page) of at most limits.timeline_events events.
#include <algorithm>
#include <vector>

#include "check/report.h"
#include "core/time_format.h"

namespace agentlog::check {
namespace {

std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string n(uint64_t v) { return std::to_string(v); }

const char* decision_colour(std::string_view d) {
  if (d == "allow") return "#2e7d32";
  if (d == "block") return "#c62828";
  if (d == "needs_review") return "#ef6c00";
  if (d == "unknown") return "#6a1b9a";
  return "#546e7a";
}

// A horizontal bar chart of the largest `max_bars` values.
std::string bar_chart(std::string_view title, const std::map<std::string, uint64_t>& counts, size_t max_bars = 12,
                      bool by_decision = false) {
  std::vector<std::pair<std::string, uint64_t>> bars(counts.begin(), counts.end());
  std::stable_sort(bars.begin(), bars.end(), [](auto& a, auto& b) { return a.second > b.second; });
  size_t more = bars.size() > max_bars ? bars.size() - max_bars : 0;
  if (more) bars.resize(max_bars);
  uint64_t top = bars.empty() ? 1 : std::max<uint64_t>(1, bars.front().second);
  const int width = 380, label = 170, bar_h = 16, gap = 5;
  int height = static_cast<int>(bars.size()) * (bar_h + gap) + 30;
  std::string html = "<figure class=\"chart\"><figcaption>" + esc(title) + "</figcaption>";
  html += "<svg class=\"chart\" role=\"img\" aria-label=\"" + esc(title) + "\" width=\"" + n(width) + "\" height=\"" +
          n(height) + "\" viewBox=\"0 0 " + n(width) + " " + n(height) + "\">";
  int y = 4;
  for (const auto& [name, count] : bars) {
    int bar_width = static_cast<int>((width - label - 50) * count / top);
    std::string shown = name.size() > 25 ? name.substr(0, 23) + "…" : name;
    const char* fill = by_decision ? decision_colour(name) : "#1565c0";
    html += "<text x=\"" + n(label - 6) + "\" y=\"" + n(y + 12) + "\" text-anchor=\"end\">" + esc(shown) + "</text>";
    html += "<rect x=\"" + n(label) + "\" y=\"" + n(y) + "\" width=\"" + n(std::max(bar_width, 1)) + "\" height=\"" +
            n(bar_h) + "\" fill=\"" + fill + "\"><title>" + esc(name) + ": " + n(count) + "</title></rect>";
    html += "<text x=\"" + n(label + bar_width + 4) + "\" y=\"" + n(y + 12) + "\">" + n(count) + "</text>";
    y += bar_h + gap;
  }
  if (bars.empty()) html += "<text x=\"10\" y=\"20\">none</text>";
  if (more) html += "<text x=\"10\" y=\"" + n(y + 14) + "\" class=\"muted\">and " + n(more) + " more</text>";
  return html + "</svg></figure>";
}

std::string outcome_chart(const LifecycleOutcomes& l) {
  std::map<std::string, uint64_t> m{{"complete", l.complete}, {"failed", l.failed}, {"orphaned", l.orphaned},
                                    {"open", l.open}};
  return bar_chart("Lifecycle outcomes", m);
}

std::string durations_chart(const std::map<std::string, Durations>& by_tool) {
  uint64_t top = 1;
  for (const auto& [t, x] : by_tool) top = std::max(top, x.p99);
  const int width = 520, label = 160, row = 26;
  int height = static_cast<int>(by_tool.size()) * row + 34;
  std::string html =
      "<figure class=\"chart\"><figcaption>Duration per tool, ms (bar: p50 to p90, tick: p99)</figcaption>";
  html += "<svg class=\"chart\" role=\"img\" aria-label=\"durations\" width=\"" + n(width) + "\" height=\"" +
          n(height) + "\" viewBox=\"0 0 " + n(width) + " " + n(height) + "\">";
  int y = 4;
  double scale = static_cast<double>(width - label - 150) / static_cast<double>(top);
  for (const auto& [tool, x] : by_tool) {
    int x50 = label + static_cast<int>(x.p50 * scale), x90 = label + static_cast<int>(x.p90 * scale);
    int x99 = label + static_cast<int>(x.p99 * scale);
    html += "<text x=\"" + n(label - 6) + "\" y=\"" + n(y + 14) + "\" text-anchor=\"end\">" + esc(tool) + "</text>";
    html += "<line x1=\"" + n(label) + "\" x2=\"" + n(x99) + "\" y1=\"" + n(y + 10) + "\" y2=\"" + n(y + 10) +
            "\" stroke=\"#90a4ae\"/>";
    html += "<rect x=\"" + n(x50) + "\" y=\"" + n(y + 3) + "\" width=\"" + n(std::max(x90 - x50, 2)) +
            "\" height=\"14\" fill=\"#00838f\"><title>" + esc(tool) + ": p50 " + n(x.p50) + ", p90 " + n(x.p90) +
            ", p99 " + n(x.p99) + ", max " + n(x.max) + " (" + n(x.count) + ")</title></rect>";
    html += "<line x1=\"" + n(x99) + "\" x2=\"" + n(x99) + "\" y1=\"" + n(y + 2) + "\" y2=\"" + n(y + 18) +
            "\" stroke=\"#37474f\" stroke-width=\"2\"/>";
    html += "<text x=\"" + n(width - 4) + "\" y=\"" + n(y + 14) + "\" text-anchor=\"end\">" + n(x.p50) + " / " +
            n(x.p90) + " / " + n(x.p99) + "</text>";
    y += row;
  }
  if (by_tool.empty()) html += "<text x=\"10\" y=\"20\">no durations</text>";
  return html + "</svg></figure>";
}

// One run: a strip of events placed by time, then the table of what happened.
std::string timeline_run(const RunSummary& run) {
  std::string html = "<section class=\"run\" data-run=\"" + esc(run.id) + "\"><h3>" + esc(run.id) + "</h3>";
  html += "<p class=\"muted\">" + n(run.records) + " records, " + esc(run.first_time) + " to " + esc(run.last_time) +
          ", agents: ";
  for (size_t i = 0; i < run.agents.size(); ++i) html += (i ? ", " : "") + esc(run.agents[i]);
  html += "</p>";
  int64_t first = INT64_MAX, last = INT64_MIN;
  std::vector<int64_t> times;
  for (const auto& event : run.timeline) {
    auto time = parse_rfc3339_ms(event.time);
    times.push_back(time ? *time : INT64_MIN);
    if (time) first = std::min(first, *time), last = std::max(last, *time);
  }
  const int width = 900, height = 44;
  html += "<svg class=\"strip\" width=\"" + n(width) + "\" height=\"" + n(height) + "\" viewBox=\"0 0 " + n(width) +
          " " + n(height) + "\">";
  html += "<line x1=\"10\" x2=\"" + n(width - 10) + "\" y1=\"22\" y2=\"22\" stroke=\"#b0bec5\"/>";
  for (size_t i = 0; i < run.timeline.size(); ++i) {
    const auto& event = run.timeline[i];
    double fraction = (times[i] == INT64_MIN || last == first)
                          ? static_cast<double>(i) / std::max<size_t>(1, run.timeline.size() - 1)
                          : static_cast<double>(times[i] - first) / static_cast<double>(last - first);
    int x = 10 + static_cast<int>(fraction * (width - 20));
    int y =
        event.event.find("result") != std::string::npos || event.event.find("complet") != std::string::npos ? 30 : 14;
    html += "<circle cx=\"" + n(x) + "\" cy=\"" + n(y) + "\" r=\"5\" fill=\"" + decision_colour(event.decision) +
            "\"><title>" +
            esc(event.time + " " + event.event + " " + event.agent + " " + event.tool + " " + event.decision) +
            "</title></circle>";
  }
  html += "</svg>";
  html +=
      "<table class=\"events\"><thead><tr><th>time</th><th>event</th><th>by</th><th>tool / action</th>"
      "<th>decision</th><th>lifecycle</th><th>target</th><th>line</th></tr></thead><tbody>";
  for (const auto& event : run.timeline) {
    html += "<tr><td>" + esc(event.time) + "</td><td>" + esc(event.event) + "</td><td>" + esc(event.agent) +
            "</td><td>" + esc(event.tool) + (event.action.empty() ? "" : " / " + esc(event.action)) +
            "</td><td><span class=\"dec\" style=\"color:" + decision_colour(event.decision) + "\">" +
            esc(event.decision) + "</span></td><td>" + esc(event.state) +
            (event.duration_ms >= 0 ? " (" + n(static_cast<uint64_t>(event.duration_ms)) + " ms)" : "") + "</td><td>" +
            esc(event.target) + "</td><td class=\"muted\">" + esc(event.source) + ":" + n(event.line) + "</td></tr>";
  }
  html += "</tbody></table>";
  if (run.timeline_dropped) html += "<p class=\"muted\">and " + n(run.timeline_dropped) + " more events not shown</p>";
  return html + "</section>";
}

// Per input file: lines, kept records and dead letters by reason; a chart of the inputs with
// the most dead letters.
std::string inputs_section(const CheckReport& r) {
  std::map<std::string, uint64_t> dead;
  for (const auto& [name, in] : r.inputs)
    if (in.dead_lettered) dead[name] = in.dead_lettered;
  std::string o = "<h2>Inputs</h2><div class=\"charts\">" + bar_chart("Dead letters, by input", dead) + "</div>";
  o += "<p class=\"muted\">" + n(r.inputs_total) + " inputs";
  if (r.inputs_total > r.limits.max_values)
    o += "; beyond the first " + n(r.limits.max_values) + ", summed as (other)";
  o += ".</p><table id=\"inputs\"><thead><tr><th>input</th><th>lines</th><th>records kept</th>"
       "<th>dead-lettered</th><th>dead letters by reason</th></tr></thead><tbody class=\"paged\" data-page=\"50\">";
  for (const auto& [name, in] : r.inputs) {
    bool bad = in.dead_lettered || !in.records;
    o += "<tr><td" + std::string(bad ? " class=\"fail\"" : "") + ">" + esc(name) + "</td><td>" + n(in.lines) +
         "</td><td>" + n(in.records) + "</td><td>" + n(in.dead_lettered) + "</td><td>";
    bool first = true;
    for (const auto& [reason, c] : in.dead_letter_reasons) {
      o += std::string(first ? "" : ", ") + esc(reason) + " " + n(c);
      first = false;
    }
    o += "</td></tr>";
  }
  return o + "</tbody></table>\n";
}

constexpr const char* kStyle = R"(
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1b1f23;background:#f6f8fa}
header{padding:18px 28px}header.pass{background:#2e7d32;color:#fff}header.fail{background:#c62828;color:#fff}
header h1{margin:0;font-size:22px}main{padding:8px 28px 40px}h2{margin-top:28px;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;background:#fff;margin:6px 0}td,th{border:1px solid #d0d7de;padding:3px 7px;
text-align:left;vertical-align:top}th{background:#eef1f4}.muted{color:#57606a}.pass{color:#2e7d32;font-weight:600}
.fail{color:#c62828;font-weight:600}.warn{color:#ef6c00;font-weight:600}.charts{display:flex;flex-wrap:wrap;gap:14px}
figure.chart{background:#fff;border:1px solid #d0d7de;margin:0;padding:8px}figcaption{font-weight:600;margin-bottom:4px}
svg text{font-size:11px;fill:#24292f}svg text.muted{fill:#57606a}.run{background:#fff;border:1px solid #d0d7de;
padding:6px 12px;margin:10px 0}.run h3{margin:4px 0}table.events td{font-size:12px}.pager button{margin:0 2px}
.kpi{display:inline-block;background:#fff;border:1px solid #d0d7de;padding:6px 12px;margin:4px 6px 4px 0}
.kpi b{display:block;font-size:18px}ul.ex{margin:2px 0;padding-left:18px;font-size:12px}
)";

// Pages every `.paged` container's children (rows or sections); sets body.dataset.ok when
// the charts and the timeline are present and no script error happened.
constexpr const char* kScript = R"(
window.agentlogErrors=[];window.addEventListener('error',function(e){window.agentlogErrors.push(String(e.message));});
function page(el,size){var items=Array.prototype.slice.call(el.children);if(items.length<=size)return;
var pager=document.createElement('div');pager.className='pager';el.parentNode.insertBefore(pager,el);
var pages=Math.ceil(items.length/size);function show(p){items.forEach(function(it,i){it.style.display=
(i>=p*size&&i<(p+1)*size)?'':'none';});pager.querySelector('span').textContent=' page '+(p+1)+' of '+pages+' ';}
var cur=0;var prev=document.createElement('button');prev.textContent='previous';var next=document.createElement('button');
next.textContent='next';pager.appendChild(prev);pager.appendChild(document.createElement('span'));pager.appendChild(next);
prev.onclick=function(){if(cur>0)show(--cur);};next.onclick=function(){if(cur<pages-1)show(++cur);};show(0);}
document.addEventListener('DOMContentLoaded',function(){
document.querySelectorAll('.paged').forEach(function(el){page(el,parseInt(el.dataset.page,10));});
var charts=document.querySelectorAll('svg.chart').length;var runs=document.querySelectorAll('#timeline .run').length;
document.body.dataset.charts=charts;document.body.dataset.timelineRuns=runs;
document.body.dataset.ok=(charts>0&&document.getElementById('timeline')&&window.agentlogErrors.length===0)?'1':'0';});
)";

}  // namespace

std::string render_html(const CheckReport& report) {
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  html +=
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
      "script-src 'unsafe-inline'; img-src data:\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<title>agentlog check: " + esc(report.policy_name) + (report.passed ? " passed" : " failed") + "</title>\n";
  html += "<style>" + std::string(kStyle) + "</style>\n<script>" + kScript + "</script></head>\n<body>\n";
  html += std::string("<header class=\"") + (report.passed ? "pass" : "fail") + "\"><h1>" +
          (report.passed ? "PASSED" : "FAILED") + ": policy " + esc(report.policy_name) + "</h1><div>" +
          n(report.rules.size()) + " rules, " + n(report.failed_errors) + " failed, " + n(report.failed_warnings) +
          " warnings &middot; config " + esc(report.config) + " &middot; pipeline " + esc(report.pipeline) +
          "</div></header>\n<main>\n";

  html += "<section id=\"summary\">";
  auto kpi = [&](std::string_view label, uint64_t value) {
    html += "<span class=\"kpi\"><b>" + n(value) + "</b>" + esc(label) + "</span>";
  };
  kpi("records in", report.records_in);
  kpi("records out", report.records_out);
  kpi("dead-lettered", report.dead_lettered);
  kpi("generated records", report.generated);  // warnings, and records expanded by normalize
  kpi("runs", report.runs_total);
  kpi("inputs", report.inputs_total);
  kpi("schema violations", report.schema_violations);
  kpi("unclassified records", report.unclassified);
  kpi("records redacted", report.records_redacted);
  kpi("collisions", report.collisions);
  kpi("escalations", report.escalations);
  kpi("unresolved escalations", report.escalations_unresolved);
  html += "</section>\n";

  html +=
      "<h2>Policy rules</h2><table id=\"rules\"><thead><tr><th>status</th><th>rule</th><th>severity</th>"
      "<th>result</th><th>examples</th></tr></thead><tbody>";
  for (const auto& res : report.rules) {
    const Rule& rule = *res.rule;
    std::string cls = res.passed ? "pass" : rule.severity == Severity::Error ? "fail" : "warn";
    std::string tag = res.passed ? "PASS" : rule.severity == Severity::Error ? "FAIL" : "WARN";
    html += "<tr><td class=\"" + cls + "\">" + tag + "</td><td><b>" + esc(rule.id) + "</b><br><span class=\"muted\">" +
            esc(rule_type_name(rule.type)) + ": " + esc(rule.message) + "</span></td><td>" +
            (rule.severity == Severity::Error ? "error" : "warning") + "</td><td>" + esc(res.detail) + " " +
            esc(limit_phrase(res)) + "</td><td><ul class=\"ex\">";
    for (const auto& example : res.examples) html += "<li>" + esc(example_text(example)) + "</li>";
    html += "</ul></td></tr>";
  }
  html += "</tbody></table>\n";

  html += "<h2>Activity</h2><div class=\"charts\">";
  html += bar_chart("Records by event type", report.by_event_type);
  html += bar_chart("Records by decision", report.by_decision, 12, true);
  html += bar_chart("Top agents", report.by_agent);
  html += bar_chart("Top tools", report.by_tool);
  html += "</div>\n<h2>Findings</h2><div class=\"charts\">";
  html += outcome_chart(report.lifecycle);
  html += bar_chart("Lifecycle violations", report.lifecycle_violations);
  html += bar_chart("Secrets redacted, by rule", report.redactions_by_rule);
  html += bar_chart("Dead letters, by reason", report.dead_letter_reasons);
  html += "</div>\n";
  html += "<p>Collisions: " + n(report.collisions) + ". Escalations: " + n(report.escalations) + " (" +
          n(report.escalations_resolved) + " resolved, " + n(report.escalations_unresolved) + " unresolved).</p>";
  if (!report.collision_examples.empty()) {
    html += "<ul class=\"ex\">";
    for (const auto& example : report.collision_examples)
      html += "<li>" + esc(example.source) + ":" + n(example.line) + ": " + esc(example.note) + "</li>";
    html += "</ul>";
  }
  html += inputs_section(report);
  html += "<h2>Durations</h2><div class=\"charts\">" + durations_chart(report.durations_by_tool) + "</div>\n";

  size_t shown = 0;
  for (const auto& run : report.runs) shown += run.has_timeline;
  html += "<h2>Timeline: what was planned, what ran, by whom, with what decision and when</h2>";
  html += "<p class=\"muted\">The first " + n(shown) + " of " + n(report.runs_total) + " runs (limit " +
          n(report.limits.timeline_runs) + " runs, " + n(report.limits.timeline_events) +
          " events each). Dots: calls above the line, results below; colour is the decision.</p>";
  html += "<div id=\"timeline\" class=\"paged\" data-page=\"10\">";
  for (const auto& run : report.runs)
    if (run.has_timeline) html += timeline_run(run);
  html += "</div>\n";
  html += "<h2>Runs</h2><p class=\"muted\">" + n(report.runs_total) + " runs";
  if (report.other_runs)
    html += "; " + n(report.other_runs) + " records of further runs are not listed (limit " +
            n(report.limits.max_runs) + ")";
  html +=
      ".</p><table id=\"runs\"><thead><tr><th>run</th><th>records</th><th>first</th><th>last</th><th>agents</th>"
      "<th>decisions</th><th>violations</th></tr></thead><tbody class=\"paged\" data-page=\"50\">";
  for (const auto& run : report.runs) {
    html += "<tr><td>" + esc(run.id) + "</td><td>" + n(run.records) + "</td><td>" + esc(run.first_time) + "</td><td>" +
            esc(run.last_time) + "</td><td>";
    for (size_t i = 0; i < run.agents.size(); ++i) html += (i ? ", " : "") + esc(run.agents[i]);
    html += "</td><td>";
    bool first = true;
    for (const auto& [d, c] : run.decisions) {
      html += std::string(first ? "" : ", ") + "<span style=\"color:" + decision_colour(d) + "\">" + esc(d) + " " +
              n(c) + "</span>";
      first = false;
    }
    html += "</td><td>" + n(run.violations) + "</td></tr>";
  }
  html += "</tbody></table>\n";

  html += "</main>\n</body></html>\n";
  return html;
}

}  // namespace agentlog::check

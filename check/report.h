// What `agentlog check` found: the figures every report format renders, already sorted so
// that the same input gives the same report. Holds counts, names and source lines, never
// record content beyond the timeline's short fields (taken after redaction).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "check/policy.h"
#include "check/rule_data.h"

namespace agentlog::check {

struct SourceLine {
  std::string source;
  uint64_t line = 0;
  std::string note;  // why it is an example (a dead-letter reason, a violation kind, ...)
};

struct RuleResult {
  const Rule* rule = nullptr;
  bool passed = true;
  std::string actual;  // "3", "0.042"
  std::string limit;   // "0", "0.05"
  std::string detail;  // one sentence with the figures
  std::vector<SourceLine> examples;
};

struct TimelineEntry {
  std::string time, event, agent, tool, action, decision, state, target;
  int64_t duration_ms = -1;
  std::string source;
  uint64_t line = 0;
};

struct RunSummary {
  std::string id;
  uint64_t records = 0;
  std::string first_time, last_time;
  std::vector<std::string> agents;         // sorted, at most 8
  std::map<std::string, uint64_t> decisions;
  uint64_t violations = 0;                 // lifecycle violations and collisions in this run
  std::vector<TimelineEntry> timeline;     // empty unless a timeline run
  uint64_t timeline_dropped = 0;           // events beyond the per-run cap
  bool has_timeline = false;
};

struct LifecycleOutcomes {
  uint64_t complete = 0, failed = 0, orphaned = 0, open = 0;
};

// One input file (a source as named on the command line or matched by a glob).
struct InputSummary {
  uint64_t lines = 0;          // lines read (blank lines included), as --stats-json's sources[].lines
  uint64_t records = 0;        // kept data records from it (warnings not counted; normalize's are)
  uint64_t dead_lettered = 0;  // its dead letters (input, stages; an output's are not attributed)
  std::map<std::string, uint64_t> dead_letter_reasons;  // by stats key
};

// "(limit 3)", or "(minimum 1)" for a rule that sets a floor.
inline std::string limit_phrase(const RuleResult& r) {
  return (r.rule->type == RuleType::MinRecords ? "(minimum " : "(limit ") + r.limit + ")";
}

// "source:line: note", or "source: note" for an example about a whole input (line 0).
inline std::string example_text(const SourceLine& e) {
  return e.source + (e.line ? ":" + std::to_string(e.line) : std::string()) + ": " + e.note;
}

struct CheckReport {
  std::string pipeline, config, policy_name, policy_origin;
  bool passed = true;
  bool warnings_fail = false;  // policy fail_on: warning
  uint64_t failed_errors = 0, failed_warnings = 0;
  std::vector<RuleResult> rules;

  // Pipeline totals.
  uint64_t records_in = 0, records_out = 0, dropped = 0, dead_lettered = 0, generated = 0, bytes_read = 0;
  uint64_t lines_read = 0, source_errors = 0;
  std::map<std::string, uint64_t> dead_letter_reasons;  // as --stats-json: "input.<kind>", stage name, ...

  // Per input file, by name; at most limits.max_values inputs, the rest summed as "(other)".
  std::map<std::string, InputSummary> inputs;
  uint64_t inputs_total = 0;

  // Counts over kept records that are not diagnostics (expanded records count).
  std::map<std::string, uint64_t> by_event_type, by_decision, by_agent, by_tool, by_run;
  uint64_t other_runs = 0;  // records of runs beyond limits.max_runs

  uint64_t schema_violations = 0;
  std::map<std::string, uint64_t> schema_violations_by_stage;
  uint64_t unclassified = 0;  // records of no known family a validate stage flagged
  uint64_t records_redacted = 0;
  std::map<std::string, uint64_t> redactions_by_rule;
  LifecycleOutcomes lifecycle;
  std::map<std::string, LifecycleOutcomes> lifecycle_by_track;
  std::map<std::string, uint64_t> lifecycle_violations;
  uint64_t collisions = 0;
  std::vector<SourceLine> collision_examples;
  uint64_t escalations = 0, escalations_resolved = 0, escalations_unresolved = 0;
  std::map<std::string, Durations> durations_by_tool;

  std::vector<RunSummary> runs;  // by first appearance, at most limits.max_runs
  uint64_t runs_total = 0;
  ReportLimits limits;

  std::string policy_fingerprint;  // policy_fingerprint() of the policy evaluated
  RuleData data;                   // what the rules read: the JSON report's `merge` section
};

// Fills `inputs` and `inputs_total` from r.data, then evaluates every rule of the policy over
// r.data and the totals (check/evaluate.cc): the same for `check` and `check --merge`.
void summarise_inputs(const Policy& policy, CheckReport& r);
void evaluate_rules(const Policy& policy, CheckReport& r);

// The JSON report's version: 2 added the policy fingerprint and the `merge` section.
constexpr uint64_t kReportVersion = 2;

// Renderers (report_*.cc). Each returns the whole document.
std::string render_json(const CheckReport& r);
std::string render_junit(const CheckReport& r);
std::string render_text(const CheckReport& r, bool colour);
std::string render_html(const CheckReport& r);
// The document of one report format (text | json | junit | html).
std::string render_report(const CheckReport& r, std::string_view format, bool colour);

}  // namespace agentlog::check

// The policy `agentlog check` evaluates: rules with ids, severities and messages, the reports
// to write, and the limits that keep the report bounded. Declared in YAML under `policy:` and
// `reports:`, in the pipeline config or in a file of its own; checked as strictly as the
// pipeline (file:line:col: path: message, with what is allowed).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/options.h"
#include "core/status.h"

namespace agentlog::check {

enum class RuleType : uint8_t {
  MaxSchemaViolations,
  MaxRedactedRecords,
  LifecyclesComplete,
  MaxCollisions,
  RequiredFields,
  Forbidden,
  MaxUnknownShare,
  EscalationsResolved,
  MaxDeadLetters,
  MinRecords,
};
std::string_view rule_type_name(RuleType t);

enum class Severity : uint8_t { Error, Warning };

struct Rule {
  std::string id;
  RuleType type = RuleType::MaxSchemaViolations;
  Severity severity = Severity::Error;
  std::string message;
  uint64_t max = 0;          // MaxSchemaViolations, MaxRedactedRecords, MaxCollisions, RequiredFields, ...
  double max_share = 0;      // MaxUnknownShare; MaxDeadLetters with use_share
  bool use_share = false;    // MaxDeadLetters: max_share was given (a share of lines read, not a count)
  uint64_t min = 1;          // MinRecords
  bool per_input = false;    // MaxDeadLetters, MinRecords: the limit holds for each input file
  std::vector<std::string> reasons;        // MaxDeadLetters: dead-letter reasons counted (empty: all)
  std::vector<std::string> reason_where;   // "file:line:col: path: " of each reason, for later errors
  std::vector<std::string> decisions;           // RequiredFields: decisions the fields are required for
  std::vector<std::string> fields;              // RequiredFields: top-level fields that must be non-empty
  std::vector<std::string> agents, tools;       // Forbidden
  std::vector<std::string> violations;          // LifecyclesComplete: violation kinds that fail it
  std::vector<std::string> tracks;              // LifecyclesComplete: tracks checked (empty: all)
  std::vector<std::string> terminal_events;     // EscalationsResolved
  std::vector<std::string> terminal_decisions;  // EscalationsResolved
};

struct ReportTarget {
  std::string format;  // text | json | junit | html
  std::string path;    // "-" is stdout
};

struct ReportLimits {
  uint64_t examples = 5;           // example source lines per rule
  uint64_t max_runs = 10000;       // runs listed; the rest are summed as "(other runs)"
  uint64_t timeline_runs = 50;     // runs whose events are kept for the timeline
  uint64_t timeline_events = 100;  // events kept per timeline run
  uint64_t max_values = 1000;      // distinct agents, tools, ... counted; the rest as "(other)"
};

struct Policy {
  std::string name = "default";
  Severity fail_on = Severity::Error;  // warning: warning-severity failures fail the check too
  std::vector<Rule> rules;
  std::vector<ReportTarget> reports;
  ReportLimits limits;
  std::string origin;  // file the policy came from ("" when none was declared)
};

// Loads `policy:` and `reports:` from a YAML file. A file without `policy:` gives the default
// policy (default_policy_rules()) when `required` is false.
Status load_policy_file(const std::string& path, bool required, Policy& out);
Status load_policy_text(const std::string& yaml, const std::string& display_name, bool required, Policy& out);
// Parses "FORMAT=PATH" from --report.
Status parse_report_arg(const std::string& arg, ReportTarget& out);
// The reports to write: the --report arguments, else the policy's `reports:`, else text on
// stdout. Errors are those of parse_report_arg.
Status report_targets(const std::vector<std::string>& args, const Policy& policy, std::vector<ReportTarget>& out);
std::span<const std::string_view> report_formats();
// The rules of the policy used when none is declared: no schema violation, no dead letter,
// at least one record kept.
std::vector<Rule> default_policy_rules();

// What a pipeline's dead letters can be matched by in `reasons` (stats key, stage type, ...).
struct DeadLetterVocabulary {
  std::vector<std::string> stage_names, stage_types;
};
// Checks each max_dead_letters rule's `reasons` against the pipeline's stages: a reason that
// can match no dead letter of this pipeline is an error (file:line:col, did you mean, allowed).
Status check_reasons(const Policy& policy, const DeadLetterVocabulary& vocabulary);
// A hash of everything in the policy that decides a verdict or shapes a report (name, fail_on,
// rules, limits; not `reports:` or the file it came from): reports merge only under one.
std::string policy_fingerprint(const Policy& policy);
// The kinds the input dead-letters a line for (`input.<kind>` in the stats).
std::span<const std::string_view> input_dead_letter_kinds();


}  // namespace agentlog::check

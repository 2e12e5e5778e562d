#include "check/policy.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/hashing.h"

namespace agentlog::check {
namespace {

constexpr std::string_view kRuleTypes[] = {"max_schema_violations", "max_redacted_records", "lifecycles_complete",
                                           "max_collisions",        "required_fields",      "forbidden",
                                           "max_unknown_share",     "escalations_resolved", "max_dead_letters",
                                           "min_records"};
constexpr std::string_view kSeverities[] = {"error", "warning"};
constexpr std::string_view kFormats[] = {"text", "json", "junit", "html"};
constexpr std::string_view kViolations[] = {"open_at_end", "timeout", "evicted", "orphan", "duplicate_terminal",
                                            "transition_after_terminal", "duplicate_event", "unexpected_transition",
                                            "duplicate_open", "out_of_order", "missing_key"};

#define COMMON_RULE_OPTIONS(type_desc)                                                                          \
  {.name = "type", .type = OptType::Enum, .description = type_desc, .required = true, .allowed = kRuleTypes},  \
      {.name = "id", .type = OptType::String, .description = "unique rule id, shown in every report (default: the type)"}, \
      {.name = "severity", .type = OptType::Enum, .default_value = "error",                                    \
       .description = "error fails the check (exit 1); warning is reported only", .allowed = kSeverities},     \
      {.name = "message", .type = OptType::String, .description = "what a failure means, shown in every report"}

constexpr OptionSpec kMaxCountRule[] = {
    COMMON_RULE_OPTIONS("the rule type"),
    {.name = "max", .type = OptType::Int, .default_value = "0", .description = "most allowed", .min = 0},
};
constexpr OptionSpec kLifecycleRule[] = {
    COMMON_RULE_OPTIONS("the rule type"),
    {.name = "violations", .type = OptType::StringList, .default_value = "[open_at_end, timeout, evicted, orphan]",
     .description = "lifecycle violations that count as incomplete"},
    {.name = "tracks", .type = OptType::StringList, .description = "tracks checked (default: all)"},
    {.name = "max", .type = OptType::Int, .default_value = "0", .description = "most incomplete lifecycles allowed",
     .min = 0},
};
constexpr OptionSpec kRequiredFieldsRule[] = {
    COMMON_RULE_OPTIONS("the rule type"),
    {.name = "decisions", .type = OptType::StringList, .description = "decisions the fields are required for",
     .required = true},
    {.name = "fields", .type = OptType::StringList, .default_value = "[evidence_ref]",
     .description = "top-level fields that must be present and non-empty"},
    {.name = "max", .type = OptType::Int, .default_value = "0", .description = "most records allowed without them",
     .min = 0},
};
constexpr OptionSpec kForbiddenRule[] = {
    COMMON_RULE_OPTIONS("the rule type"),
    {.name = "agents", .type = OptType::StringList, .description = "agent_id values that must not appear"},
    {.name = "tools", .type = OptType::StringList, .description = "tool_name values that must not appear"},
};
constexpr OptionSpec kUnknownShareRule[] = {
    COMMON_RULE_OPTIONS("the rule type"),
    {.name = "max", .type = OptType::Double, .default_value = "0",
     .description = "largest allowed share (0..1) of records with a decision that are `unknown`"},
};
constexpr OptionSpec kEscalationRule[] = {
    COMMON_RULE_OPTIONS("the rule type"),
    {.name = "terminal_events", .type = OptType::StringList, .default_value = "[tool_result]",
     .description = "event types that resolve an escalation with the same run_id and action_id"},
    {.name = "terminal_decisions", .type = OptType::StringList, .default_value = "[allow, block]",
     .description = "decisions of a later escalation (same run_id and escalation_id or action_id) that resolve it"},
    {.name = "max", .type = OptType::Int, .default_value = "0", .description = "most unresolved escalations allowed",
     .min = 0},
};
constexpr OptionSpec kDeadLetterRule[] = {
    COMMON_RULE_OPTIONS("the rule type"),
    {.name = "max", .type = OptType::Int, .default_value = "0",
     .description = "most dead letters allowed (not with max_share)", .min = 0},
    {.name = "max_share", .type = OptType::Double,
     .description = "largest allowed share (0..1) of dead letters in the lines read (not with max)"},
    {.name = "reasons", .type = OptType::StringList,
     .description = "dead letters counted (default: all): a stats key or its leading part (input, "
                    "input.malformed_json), a stage name or type (validate), or unclassified"},
    {.name = "per_input", .type = OptType::Bool, .default_value = "false",
     .description = "the limit holds for each input file on its own"},
};
constexpr OptionSpec kMinRecordsRule[] = {
    COMMON_RULE_OPTIONS("the rule type"),
    {.name = "min", .type = OptType::Int, .default_value = "1",
     .description = "fewest kept records (data records leaving the chain; not warnings)", .min = 0},
    {.name = "per_input", .type = OptType::Bool, .default_value = "false",
     .description = "every input file must yield at least min records"},
};
#undef COMMON_RULE_OPTIONS

constexpr std::string_view kInputKinds[] = {"malformed_json", "invalid_utf8", "not_an_object", "line_too_long"};
constexpr std::string_view kInputReasons[] = {"input.malformed_json", "input.invalid_utf8", "input.not_an_object",
                                              "input.line_too_long"};

constexpr OptionSpec kLimitOptions[] = {
    {.name = "examples", .type = OptType::Int, .default_value = "5",
     .description = "example source lines per rule", .min = 0, .max = 1000},
    {.name = "max_runs", .type = OptType::Int, .default_value = "10000",
     .description = "runs listed one by one; the rest are summed as (other runs)", .min = 1, .max = 1000000},
    {.name = "timeline_runs", .type = OptType::Int, .default_value = "50",
     .description = "runs (first seen) whose events are kept for the HTML timeline", .min = 0, .max = 100000},
    {.name = "timeline_events", .type = OptType::Int, .default_value = "100",
     .description = "events kept per timeline run", .min = 1, .max = 100000},
    {.name = "max_values", .type = OptType::Int, .default_value = "1000",
     .description = "distinct agents, tools, event types, decisions counted; the rest as (other)", .min = 1,
     .max = 1000000},
};
constexpr OptionSpec kPolicyOptions[] = {
    {.name = "name", .type = OptType::String, .default_value = "default", .description = "shown in the reports"},
    {.name = "fail_on", .type = OptType::Enum, .default_value = "error",
     .description = "lowest severity that fails the check", .allowed = kSeverities},
    {.name = "limits", .type = OptType::Object, .description = "report size limits", .children = kLimitOptions},
};
constexpr OptionSpec kReportOptions[] = {
    {.name = "format", .type = OptType::Enum, .description = "report format", .required = true, .allowed = kFormats},
    {.name = "path", .type = OptType::String, .description = "where to write it (- is stdout)", .required = true},
};
// `rules` entries are checked one by one against the table of their type.
constexpr std::string_view kPolicyExtraKeys[] = {"rules"};
constexpr std::string_view kRootPolicyKeys[] = {"pipeline", "policy", "reports"};

std::span<const OptionSpec> rule_options(RuleType t) {
  switch (t) {
    case RuleType::LifecyclesComplete: return kLifecycleRule;
    case RuleType::RequiredFields: return kRequiredFieldsRule;
    case RuleType::Forbidden: return kForbiddenRule;
    case RuleType::MaxUnknownShare: return kUnknownShareRule;
    case RuleType::EscalationsResolved: return kEscalationRule;
    case RuleType::MaxDeadLetters: return kDeadLetterRule;
    case RuleType::MinRecords: return kMinRecordsRule;
    default: return kMaxCountRule;
  }
}

std::string default_message(const Rule& rule) {
  switch (rule.type) {
    case RuleType::MaxSchemaViolations: return "records must match their schema";
    case RuleType::MaxRedactedRecords: return "records must not carry secrets that need redaction";
    case RuleType::LifecyclesComplete: return "every lifecycle must be complete at end of input";
    case RuleType::MaxCollisions: return "an action id must not be reused by another agent";
    case RuleType::RequiredFields:
      return "decisions " +
             [&] {
               std::string list;
               for (auto& decision : rule.decisions) list += (list.empty() ? "" : ", ") + decision;
               return list;
             }() +
             " need " + [&] {
               std::string list;
               for (auto& field : rule.fields) list += (list.empty() ? "" : " and ") + field;
               return list;
             }();
    case RuleType::Forbidden: return "forbidden agents and tools must not appear";
    case RuleType::MaxUnknownShare: return "the share of unknown decisions must stay low";
    case RuleType::EscalationsResolved: return "every escalation must be followed by a terminal event";
    case RuleType::MaxDeadLetters:
      return rule.per_input
                 ? "each input's dead letters (lines or records the pipeline could not use) must stay within the limit"
                 : "dead letters (lines or records the pipeline could not use) must stay within the limit";
    case RuleType::MinRecords:
      return rule.per_input ? "every input must yield records to check" : "the input must yield records to check";
  }
  return {};
}

Status parse_rule(const ConfigSource& src, const YAML::Node& node, const std::string& path, Rule& rule) {
  if (!node.IsMap()) return Status::error(format_error(src, node, path, "expected a mapping with a \"type\" key"));
  YAML::Node type = node["type"];
  if (!type)
    return Status::error(format_error(src, node, path + ".type",
                                      "required option is missing (the rule type). Allowed: " + join(kRuleTypes)));
  if (!type.IsScalar()) return Status::error(format_error(src, type, path + ".type", "expected a string"));
  auto it = std::find(std::begin(kRuleTypes), std::end(kRuleTypes), type.Scalar());
  if (it == std::end(kRuleTypes))
    return Status::error(format_error(src, type, path + ".type",
                                      "unknown rule type \"" + type.Scalar() + "\"" + suggestion(type.Scalar(), kRuleTypes)));
  rule.type = static_cast<RuleType>(it - std::begin(kRuleTypes));
  auto specs = rule_options(rule.type);
  if (Status status = check_options(src, node, path, specs); !status.ok()) return status;
  OptionView options(&src, node, specs, path);
  rule.id = options.has("id") ? options.str("id") : std::string(*it);
  if (rule.id.empty()) return Status::error(options.error("id", "must not be empty"));
  rule.severity = options.str("severity") == "warning" ? Severity::Warning : Severity::Error;
  switch (rule.type) {
    case RuleType::MaxUnknownShare:
      rule.max_share = options.number("max");
      if (rule.max_share < 0 || rule.max_share > 1)
        return Status::error(options.error("max", "must be a share between 0 and 1, got " + options.str("max")));
      break;
    case RuleType::Forbidden:
      rule.agents = options.strings("agents");
      rule.tools = options.strings("tools");
      if (rule.agents.empty() && rule.tools.empty())
        return Status::error(options.error("", "set agents, tools or both (a non-empty list)"));
      break;
    case RuleType::MinRecords:
      rule.min = static_cast<uint64_t>(options.integer("min"));
      rule.per_input = options.boolean("per_input");
      break;
    case RuleType::MaxDeadLetters:
      if (options.has("max") && options.has("max_share"))
        return Status::error(
            options.error("max_share", "set max (a count) or max_share (a share of lines read), not both"));
      rule.max = static_cast<uint64_t>(options.integer("max"));
      if (options.has("max_share")) {
        rule.use_share = true;
        rule.max_share = options.number("max_share");
        if (rule.max_share < 0 || rule.max_share > 1)
          return Status::error(
              options.error("max_share", "must be a share between 0 and 1, got " + options.str("max_share")));
      }
      rule.per_input = options.boolean("per_input");
      if (options.has("reasons")) {
        rule.reasons = options.strings("reasons");
        YAML::Node reasons = options.raw("reasons");
        if (rule.reasons.empty())
          return Status::error(options.error("reasons", "must not be empty (leave it out to count all)"));
        for (size_t i = 0; i < rule.reasons.size(); ++i) {
          std::string where = path + ".reasons[" + std::to_string(i) + "]";
          const std::string& reason = rule.reasons[i];
          if (reason.empty()) return Status::error(format_error(src, reasons[i], where, "must not be empty"));
          // The input's kinds are fixed: check them here; stage names need the pipeline (check_reasons).
          if (reason.starts_with("input.") &&
              std::find(std::begin(kInputReasons), std::end(kInputReasons), reason) == std::end(kInputReasons))
            return Status::error(format_error(
                src, reasons[i], where,
                "unknown input dead-letter reason \"" + reason + "\"" + suggestion(reason, kInputReasons)));
          rule.reason_where.push_back(format_error(src, reasons[i], where, ""));
        }
      }
      break;
    default: rule.max = static_cast<uint64_t>(options.integer("max")); break;
  }
  if (rule.type == RuleType::RequiredFields) {
    rule.decisions = options.strings("decisions");
    if (rule.decisions.empty()) return Status::error(options.error("decisions", "must not be empty"));
    rule.fields = options.has("fields") ? options.strings("fields") : std::vector<std::string>{"evidence_ref"};
    if (rule.fields.empty()) return Status::error(options.error("fields", "must not be empty"));
  }
  if (rule.type == RuleType::LifecyclesComplete) {
    rule.violations = options.has("violations")
                          ? options.strings("violations")
                          : std::vector<std::string>{"open_at_end", "timeout", "evicted", "orphan"};
    YAML::Node violations = options.raw("violations");
    for (size_t i = 0; i < rule.violations.size(); ++i)
      if (std::find(std::begin(kViolations), std::end(kViolations), rule.violations[i]) == std::end(kViolations))
        return Status::error(
            format_error(src, violations[i], path + ".violations[" + std::to_string(i) + "]",
                         "invalid value \"" + rule.violations[i] + "\"" + suggestion(rule.violations[i], kViolations)));
    rule.tracks = options.strings("tracks");
  }
  if (rule.type == RuleType::EscalationsResolved) {
    rule.terminal_events =
        options.has("terminal_events") ? options.strings("terminal_events") : std::vector<std::string>{"tool_result"};
    rule.terminal_decisions = options.has("terminal_decisions") ? options.strings("terminal_decisions")
                                                                : std::vector<std::string>{"allow", "block"};
  }
  rule.message = options.has("message") ? options.str("message") : default_message(rule);
  return {};
}

// The stage names and types of the `pipeline:` in the same file (the loader has checked it);
// an input's `format:` puts a `normalize` stage first.
Status check_reasons_in_file(const YAML::Node& root, const Policy& policy) {
  YAML::Node pipeline = root["pipeline"];
  if (!pipeline || !pipeline.IsMap()) return {};
  DeadLetterVocabulary v;
  if (YAML::Node inputs = pipeline["inputs"]; inputs && inputs.IsSequence())
    for (const auto& in : inputs)
      if (in.IsMap() && in["format"]) {
        v.stage_names.push_back("normalize");
        v.stage_types.push_back("normalize");
        break;
      }
  if (YAML::Node stages = pipeline["stages"]; stages && stages.IsSequence())
    for (const auto& st : stages) {
      if (!st.IsMap() || !st["type"] || !st["type"].IsScalar()) continue;
      v.stage_types.push_back(st["type"].Scalar());
      v.stage_names.push_back(st["name"] && st["name"].IsScalar() ? st["name"].Scalar() : st["type"].Scalar());
      // ${VAR} is replaced when the pipeline is loaded: leave such a pipeline to run_check.
      if (v.stage_names.back().find('$') != std::string::npos) return {};
    }
  return check_reasons(policy, v);
}

Status build(const ConfigSource& src, const YAML::Node& root, bool required, Policy& out) {
  if (!root.IsMap()) return Status::error(format_error(src, root, "", "expected a mapping with a \"policy\" key"));
  if (Status status = check_options(src, root, "", {}, kRootPolicyKeys); !status.ok()) return status;
  YAML::Node policy_node = root["policy"];
  if (!policy_node) {
    if (required) return Status::error(format_error(src, root, "policy", "required option is missing (the policy)"));
    out.rules = default_policy_rules();
  } else {
    out.origin = src.display_name;
    if (Status status = check_options(src, policy_node, "policy", kPolicyOptions, kPolicyExtraKeys); !status.ok())
      return status;
    OptionView options(&src, policy_node, kPolicyOptions, "policy");
    out.name = options.str("name");
    out.fail_on = options.str("fail_on") == "warning" ? Severity::Warning : Severity::Error;
    std::set<std::string> ids;
    YAML::Node rules = policy_node["rules"];
    if (rules && !rules.IsSequence() && !rules.IsNull())
      return Status::error(format_error(src, rules, "policy.rules", "expected a list of mappings, got " +
                                                                       std::string(node_kind(rules))));
    for (size_t i = 0; rules && rules.IsSequence() && i < rules.size(); ++i) {
      Rule rule;
      std::string path = "policy.rules[" + std::to_string(i) + "]";
      if (Status status = parse_rule(src, rules[i], path, rule); !status.ok()) return status;
      if (!ids.insert(rule.id).second) {
        YAML::Node where = rules[i]["id"] ? rules[i]["id"] : rules[i];
        return Status::error(format_error(src, where, path + ".id",
                                          "duplicate rule id \"" + rule.id + "\" (set a distinct id for each rule)"));
      }
      out.rules.push_back(std::move(rule));
    }
    if (options.has("limits")) {
      OptionView limits = options.object("limits");
      out.limits.examples = limits.integer("examples");
      out.limits.max_runs = limits.integer("max_runs");
      out.limits.timeline_runs = limits.integer("timeline_runs");
      out.limits.timeline_events = limits.integer("timeline_events");
      out.limits.max_values = limits.integer("max_values");
    }
  }
  // A policy beside its pipeline: its reasons are checked against that pipeline's stages here
  // already, so check-config reports them too (run_check checks them again against the
  // pipeline actually run, which --policy may pair with any config).
  if (Status status = check_reasons_in_file(root, out); !status.ok()) return status;
  if (YAML::Node reps = root["reports"]) {
    if (!reps.IsSequence())
      return Status::error(format_error(src, reps, "reports", "expected a list of mappings, got " +
                                                                  std::string(node_kind(reps))));
    for (size_t i = 0; i < reps.size(); ++i) {
      std::string path = "reports[" + std::to_string(i) + "]";
      if (Status status = check_options(src, reps[i], path, kReportOptions); !status.ok()) return status;
      OptionView report_options(&src, reps[i], kReportOptions, path);
      if (report_options.str("path").empty()) return Status::error(report_options.error("path", "must not be empty"));
      out.reports.push_back({report_options.str("format"), report_options.str("path")});
    }
  }
  return {};
}

}  // namespace

std::string_view rule_type_name(RuleType t) { return kRuleTypes[static_cast<size_t>(t)]; }
std::span<const std::string_view> input_dead_letter_kinds() { return kInputKinds; }

std::vector<Rule> default_policy_rules() {
  std::vector<Rule> rules(3);
  rules[0].type = RuleType::MaxSchemaViolations;
  rules[1].type = RuleType::MaxDeadLetters;
  rules[2].type = RuleType::MinRecords;
  for (Rule& r : rules) {
    r.id = std::string(rule_type_name(r.type));
    r.message = default_message(r);
  }
  return rules;
}

Status check_reasons(const Policy& policy, const DeadLetterVocabulary& vocabulary) {
  std::vector<std::string> allowed = {"input"};
  allowed.insert(allowed.end(), std::begin(kInputReasons), std::end(kInputReasons));
  allowed.push_back("unclassified");
  for (const auto* list : {&vocabulary.stage_names, &vocabulary.stage_types})
    for (const auto& s : *list)
      if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) allowed.push_back(s);
  allowed.push_back("output");
  allowed.push_back("output:<type>");
  std::vector<std::string_view> views(allowed.begin(), allowed.end());
  for (const Rule& r : policy.rules)
    for (size_t i = 0; i < r.reasons.size(); ++i) {
      const std::string& v = r.reasons[i];
      if (v.starts_with("output:") || std::find(allowed.begin(), allowed.end(), v) != allowed.end()) continue;
      return Status::error(r.reason_where[i] + "unknown dead-letter reason \"" + v + "\" for this pipeline" +
                           suggestion(v, views));
    }
  return {};
}
std::span<const std::string_view> report_formats() { return kFormats; }

std::string policy_fingerprint(const Policy& policy) {
  // Every field, length-prefixed, so no two policies share a text.
  std::string text;
  auto put = [&](std::string_view s) { text += std::to_string(s.size()) + ":" + std::string(s) + ";"; };
  auto num = [&](uint64_t v) { put(std::to_string(v)); };
  auto list = [&](const std::vector<std::string>& values) {
    num(values.size());
    for (const auto& value : values) put(value);
  };
  put(policy.name);
  num(static_cast<uint64_t>(policy.fail_on));
  const ReportLimits& limits = policy.limits;
  for (uint64_t limit :
       {limits.examples, limits.max_runs, limits.timeline_runs, limits.timeline_events, limits.max_values})
    num(limit);
  num(policy.rules.size());
  for (const Rule& rule : policy.rules) {
    put(rule.id);
    put(rule_type_name(rule.type));
    num(static_cast<uint64_t>(rule.severity));
    put(rule.message);
    num(rule.max);
    char share[40];
    std::snprintf(share, sizeof share, "%.17g", rule.max_share);
    put(share);
    num(rule.use_share);
    num(rule.min);
    num(rule.per_input);
    for (const auto* strings : {&rule.reasons, &rule.decisions, &rule.fields, &rule.agents, &rule.tools,
                                &rule.violations, &rule.tracks, &rule.terminal_events, &rule.terminal_decisions})
      list(*strings);
  }
  return sha256_hex(text);
}

Status load_policy_text(const std::string& yaml, const std::string& display_name, bool required, Policy& out) {
  ConfigSource src{display_name};
  try {
    YAML::Node root;
    if (Status st = parse_yaml(yaml, display_name, root); !st.ok()) return st;
    return build(src, root, required, out);
  } catch (const YAML::Exception& e) {
    return Status::error(display_name + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                         ": invalid YAML: " + e.msg);
  }
}

Status load_policy_file(const std::string& path, bool required, Policy& out) {
  std::error_code ec;  // an ifstream opens a directory and reads nothing
  if (std::filesystem::is_directory(path, ec))
    return Status::error(path + ": cannot read policy: it is a directory (a YAML file is expected)");
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::error(path + ": cannot read policy: " + std::strerror(errno));
  std::stringstream ss;
  ss << f.rdbuf();
  return load_policy_text(ss.str(), path, required, out);
}

Status parse_report_arg(const std::string& arg, ReportTarget& out) {
  size_t eq = arg.find('=');
  std::string fmt = arg.substr(0, eq);
  if (std::find(std::begin(kFormats), std::end(kFormats), fmt) == std::end(kFormats))
    return Status::error("--report " + arg + ": unknown format \"" + fmt + "\"" + suggestion(fmt, kFormats));
  if (eq == std::string::npos || eq + 1 == arg.size())
    return Status::error("--report " + arg + ": expected FORMAT=PATH, e.g. " + fmt + "=- or " + fmt + "=report." +
                         (fmt == "junit" ? "xml" : fmt == "text" ? "txt" : fmt));
  out = {fmt, arg.substr(eq + 1)};
  return {};
}

Status report_targets(const std::vector<std::string>& args, const Policy& policy, std::vector<ReportTarget>& out) {
  out.clear();
  for (const auto& arg : args) {
    ReportTarget t;
    if (Status s = parse_report_arg(arg, t); !s.ok()) return s;
    out.push_back(t);
  }
  if (out.empty()) out = policy.reports;
  if (out.empty()) out.push_back({"text", "-"});
  return {};
}

}  // namespace agentlog::check

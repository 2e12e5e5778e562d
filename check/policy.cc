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

std::string default_message(const Rule& r) {
  switch (r.type) {
    case RuleType::MaxSchemaViolations: return "records must match their schema";
    case RuleType::MaxRedactedRecords: return "records must not carry secrets that need redaction";
    case RuleType::LifecyclesComplete: return "every lifecycle must be complete at end of input";
    case RuleType::MaxCollisions: return "an action id must not be reused by another agent";
    case RuleType::RequiredFields:
      return "decisions " + [&] {
        std::string s;
        for (auto& d : r.decisions) s += (s.empty() ? "" : ", ") + d;
        return s;
      }() + " need " + [&] {
        std::string s;
        for (auto& f : r.fields) s += (s.empty() ? "" : " and ") + f;
        return s;
      }();
    case RuleType::Forbidden: return "forbidden agents and tools must not appear";
    case RuleType::MaxUnknownShare: return "the share of unknown decisions must stay low";
    case RuleType::EscalationsResolved: return "every escalation must be followed by a terminal event";
    case RuleType::MaxDeadLetters:
      return r.per_input ? "each input's dead letters (lines or records the pipeline could not use) must stay within the limit"
                         : "dead letters (lines or records the pipeline could not use) must stay within the limit";
    case RuleType::MinRecords:
      return r.per_input ? "every input must yield records to check" : "the input must yield records to check";
  }
  return {};
}

Status parse_rule(const ConfigSource& src, const YAML::Node& n, const std::string& path, Rule& r) {
  if (!n.IsMap()) return Status::error(format_error(src, n, path, "expected a mapping with a \"type\" key"));
  YAML::Node type = n["type"];
  if (!type)
    return Status::error(format_error(src, n, path + ".type",
                                      "required option is missing (the rule type). Allowed: " + join(kRuleTypes)));
  if (!type.IsScalar()) return Status::error(format_error(src, type, path + ".type", "expected a string"));
  auto it = std::find(std::begin(kRuleTypes), std::end(kRuleTypes), type.Scalar());
  if (it == std::end(kRuleTypes))
    return Status::error(format_error(src, type, path + ".type",
                                      "unknown rule type \"" + type.Scalar() + "\"" + suggestion(type.Scalar(), kRuleTypes)));
  r.type = static_cast<RuleType>(it - std::begin(kRuleTypes));
  auto specs = rule_options(r.type);
  if (Status st = check_options(src, n, path, specs); !st.ok()) return st;
  OptionView o(&src, n, specs, path);
  r.id = o.has("id") ? o.str("id") : std::string(*it);
  if (r.id.empty()) return Status::error(o.error("id", "must not be empty"));
  r.severity = o.str("severity") == "warning" ? Severity::Warning : Severity::Error;
  switch (r.type) {
    case RuleType::MaxUnknownShare:
      r.max_share = o.number("max");
      if (r.max_share < 0 || r.max_share > 1)
        return Status::error(o.error("max", "must be a share between 0 and 1, got " + o.str("max")));
      break;
    case RuleType::Forbidden:
      r.agents = o.strings("agents");
      r.tools = o.strings("tools");
      if (r.agents.empty() && r.tools.empty())
        return Status::error(o.error("", "set agents, tools or both (a non-empty list)"));
      break;
    case RuleType::MinRecords:
      r.min = static_cast<uint64_t>(o.integer("min"));
      r.per_input = o.boolean("per_input");
      break;
    case RuleType::MaxDeadLetters:
      if (o.has("max") && o.has("max_share"))
        return Status::error(o.error("max_share", "set max (a count) or max_share (a share of lines read), not both"));
      r.max = static_cast<uint64_t>(o.integer("max"));
      if (o.has("max_share")) {
        r.use_share = true;
        r.max_share = o.number("max_share");
        if (r.max_share < 0 || r.max_share > 1)
          return Status::error(o.error("max_share", "must be a share between 0 and 1, got " + o.str("max_share")));
      }
      r.per_input = o.boolean("per_input");
      if (o.has("reasons")) {
        r.reasons = o.strings("reasons");
        YAML::Node rs = o.raw("reasons");
        if (r.reasons.empty()) return Status::error(o.error("reasons", "must not be empty (leave it out to count all)"));
        for (size_t i = 0; i < r.reasons.size(); ++i) {
          std::string at = path + ".reasons[" + std::to_string(i) + "]";
          const std::string& v = r.reasons[i];
          if (v.empty()) return Status::error(format_error(src, rs[i], at, "must not be empty"));
          // The input's kinds are fixed: check them here; stage names need the pipeline (check_reasons).
          if (v.starts_with("input.") &&
              std::find(std::begin(kInputReasons), std::end(kInputReasons), v) == std::end(kInputReasons))
            return Status::error(format_error(src, rs[i], at, "unknown input dead-letter reason \"" + v + "\"" +
                                                                  suggestion(v, kInputReasons)));
          r.reason_where.push_back(format_error(src, rs[i], at, ""));
        }
      }
      break;
    default: r.max = static_cast<uint64_t>(o.integer("max")); break;
  }
  if (r.type == RuleType::RequiredFields) {
    r.decisions = o.strings("decisions");
    if (r.decisions.empty()) return Status::error(o.error("decisions", "must not be empty"));
    r.fields = o.has("fields") ? o.strings("fields") : std::vector<std::string>{"evidence_ref"};
    if (r.fields.empty()) return Status::error(o.error("fields", "must not be empty"));
  }
  if (r.type == RuleType::LifecyclesComplete) {
    r.violations = o.has("violations") ? o.strings("violations")
                                       : std::vector<std::string>{"open_at_end", "timeout", "evicted", "orphan"};
    YAML::Node vs = o.raw("violations");
    for (size_t i = 0; i < r.violations.size(); ++i)
      if (std::find(std::begin(kViolations), std::end(kViolations), r.violations[i]) == std::end(kViolations))
        return Status::error(format_error(src, vs[i], path + ".violations[" + std::to_string(i) + "]",
                                          "invalid value \"" + r.violations[i] + "\"" +
                                              suggestion(r.violations[i], kViolations)));
    r.tracks = o.strings("tracks");
  }
  if (r.type == RuleType::EscalationsResolved) {
    r.terminal_events = o.has("terminal_events") ? o.strings("terminal_events") : std::vector<std::string>{"tool_result"};
    r.terminal_decisions =
        o.has("terminal_decisions") ? o.strings("terminal_decisions") : std::vector<std::string>{"allow", "block"};
  }
  r.message = o.has("message") ? o.str("message") : default_message(r);
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
  if (Status st = check_options(src, root, "", {}, kRootPolicyKeys); !st.ok()) return st;
  YAML::Node p = root["policy"];
  if (!p) {
    if (required) return Status::error(format_error(src, root, "policy", "required option is missing (the policy)"));
    out.rules = default_policy_rules();
  } else {
    out.origin = src.display_name;
    if (Status st = check_options(src, p, "policy", kPolicyOptions, kPolicyExtraKeys); !st.ok()) return st;
    OptionView o(&src, p, kPolicyOptions, "policy");
    out.name = o.str("name");
    out.fail_on = o.str("fail_on") == "warning" ? Severity::Warning : Severity::Error;
    std::set<std::string> ids;
    YAML::Node rules = p["rules"];
    if (rules && !rules.IsSequence() && !rules.IsNull())
      return Status::error(format_error(src, rules, "policy.rules", "expected a list of mappings, got " +
                                                                       std::string(node_kind(rules))));
    for (size_t i = 0; rules && rules.IsSequence() && i < rules.size(); ++i) {
      Rule r;
      std::string path = "policy.rules[" + std::to_string(i) + "]";
      if (Status st = parse_rule(src, rules[i], path, r); !st.ok()) return st;
      if (!ids.insert(r.id).second) {
        YAML::Node at = rules[i]["id"] ? rules[i]["id"] : rules[i];
        return Status::error(format_error(src, at, path + ".id", "duplicate rule id \"" + r.id +
                                                                     "\" (set a distinct id for each rule)"));
      }
      out.rules.push_back(std::move(r));
    }
    if (o.has("limits")) {
      OptionView l = o.object("limits");
      out.limits.examples = l.integer("examples");
      out.limits.max_runs = l.integer("max_runs");
      out.limits.timeline_runs = l.integer("timeline_runs");
      out.limits.timeline_events = l.integer("timeline_events");
      out.limits.max_values = l.integer("max_values");
    }
  }
  // A policy beside its pipeline: its reasons are checked against that pipeline's stages here
  // already, so check-config reports them too (run_check checks them again against the
  // pipeline actually run, which --policy may pair with any config).
  if (Status st = check_reasons_in_file(root, out); !st.ok()) return st;
  if (YAML::Node reps = root["reports"]) {
    if (!reps.IsSequence())
      return Status::error(format_error(src, reps, "reports", "expected a list of mappings, got " +
                                                                  std::string(node_kind(reps))));
    for (size_t i = 0; i < reps.size(); ++i) {
      std::string path = "reports[" + std::to_string(i) + "]";
      if (Status st = check_options(src, reps[i], path, kReportOptions); !st.ok()) return st;
      OptionView o(&src, reps[i], kReportOptions, path);
      if (o.str("path").empty()) return Status::error(o.error("path", "must not be empty"));
      out.reports.push_back({o.str("format"), o.str("path")});
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

std::string policy_fingerprint(const Policy& p) {
  // Every field, length-prefixed, so no two policies share a text.
  std::string t;
  auto put = [&](std::string_view s) { t += std::to_string(s.size()) + ":" + std::string(s) + ";"; };
  auto num = [&](uint64_t v) { put(std::to_string(v)); };
  auto list = [&](const std::vector<std::string>& v) {
    num(v.size());
    for (const auto& s : v) put(s);
  };
  put(p.name);
  num(static_cast<uint64_t>(p.fail_on));
  const ReportLimits& l = p.limits;
  for (uint64_t v : {l.examples, l.max_runs, l.timeline_runs, l.timeline_events, l.max_values}) num(v);
  num(p.rules.size());
  for (const Rule& r : p.rules) {
    put(r.id);
    put(rule_type_name(r.type));
    num(static_cast<uint64_t>(r.severity));
    put(r.message);
    num(r.max);
    char share[40];
    std::snprintf(share, sizeof share, "%.17g", r.max_share);
    put(share);
    num(r.use_share);
    num(r.min);
    num(r.per_input);
    for (const auto* v : {&r.reasons, &r.decisions, &r.fields, &r.agents, &r.tools, &r.violations, &r.tracks,
                          &r.terminal_events, &r.terminal_decisions})
      list(*v);
  }
  return sha256_hex(t);
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

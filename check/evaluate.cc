// Turns what the collector saw, the run's counters and the stages' stats into the report, and
// evaluates each policy rule over the report's totals and its RuleData (the per-input ones,
// max_dead_letters and min_records, below). `check --merge` evaluates merged reports here too.
#include <algorithm>
#include <cstdio>

#include "check/report_collector.h"

namespace agentlog::check {
namespace {

std::string share_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  std::string s = buf;
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

std::string plural(uint64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

double share_of(uint64_t n, uint64_t lines) {
  if (lines == 0) return n ? 1.0 : 0.0;
  return static_cast<double>(n) / static_cast<double>(lines);
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

SourceLine source_line(const RuleData& d, const Example& e) {
  return {e.source < d.sources.size() ? d.sources[e.source] : std::string(), e.line, e.note};
}

// `entry` names the stats key or its leading part up to a `.` or `:` (input, output).
bool key_matches(const Rule& rule, std::string_view key) {
  if (rule.reasons.empty()) return true;
  for (const auto& e : rule.reasons) {
    if (key == e) return true;
    if (key.size() > e.size() && key.starts_with(e) && (key[e.size()] == '.' || key[e.size()] == ':')) return true;
  }
  return false;
}

bool class_matches(const Rule& rule, const DeadLetterClass& c) {
  if (key_matches(rule, c.key)) return true;
  for (const auto& e : rule.reasons) {
    if (!c.stage_type.empty() && c.stage_type == e) return true;
    if (c.unclassified && e == "unclassified") return true;
  }
  return false;
}

void evaluate_dead_letters(const Rule& rule, const CheckReport& out, RuleResult& res,
                           std::vector<Example>& ex);
void evaluate_min_records(const Rule& rule, const RuleData& d, RuleResult& res, std::vector<Example>& ex);

}  // namespace

CheckReport ReportCollector::finish(const RunStats& stats, const std::string& config_path) {
  CheckReport out;
  out.pipeline = spec_.name;
  out.config = config_path;
  out.policy_name = policy_.name;
  out.policy_origin = policy_.origin;
  out.limits = policy_.limits;
  out.warnings_fail = policy_.fail_on == Severity::Warning;
  out.records_in = stats.records_in;
  out.records_out = stats.records_out;
  out.dropped = stats.dropped;
  out.dead_lettered = stats.dead_lettered;
  out.generated = stats.records_generated;
  out.bytes_read = stats.bytes_read;
  out.lines_read = stats.lines_read;
  out.source_errors = stats.source_errors;
  out.dead_letter_reasons = stats.dead_letter_reasons;

  // Stage stats: schema violations, redactions, collisions.
  bool has_collision_stage = false;
  simdjson::dom::parser parser;
  for (size_t i = 0; i < spec_.stages.size(); ++i) {
    const auto& stage = spec_.stages[i];
    std::string text = "{" + stage.stage->stats_json() + "}";
    simdjson::dom::object stats_obj;
    if (parser.parse(text).get(stats_obj) != simdjson::SUCCESS) continue;
    uint64_t count = 0;
    if (stage.type == "validate") {
      // `invalid` counts every failed record whatever on_invalid does; the dead letters seen
      // are a floor, so a validate dead letter is never left out of the count.
      if (stats_obj.at_key("invalid").get(count) != simdjson::SUCCESS) count = 0;
      if (i < validate_dead_letters_.size()) count = std::max(count, validate_dead_letters_[i]);
      out.schema_violations += count;
      out.schema_violations_by_stage[stage.name] += count;
      uint64_t unclassified = 0;
      if (stats_obj.at_key("unclassified").get(unclassified) == simdjson::SUCCESS) out.unclassified += unclassified;
    } else if (stage.type == "redact") {
      if (stats_obj.at_key("records_redacted").get(count) == simdjson::SUCCESS) out.records_redacted += count;
      simdjson::dom::object by_rule;
      if (stats_obj.at_key("by_rule").get(by_rule) == simdjson::SUCCESS)
        for (auto entry : by_rule) {
          uint64_t redactions = 0;
          if (entry.value.get(redactions) == simdjson::SUCCESS)
            out.redactions_by_rule[std::string(entry.key)] += redactions;
        }
    } else if (stage.type == "collision" && stats_obj.at_key("collisions").get(count) == simdjson::SUCCESS) {
      has_collision_stage = true;
      out.collisions += count;
    }
  }
  out.unclassified = std::max(out.unclassified, unclassified_seen_);
  if (!has_collision_stage) out.collisions = collisions_seen_;

  out.by_event_type = event_types_.sorted();
  out.by_decision = decisions_.sorted();
  out.by_agent = agents_.sorted();
  out.by_tool = tools_.sorted();
  RuleData& data = out.data;
  for (uint32_t i = 0; i < durations_.size() && i < tools_.size(); ++i) {
    Durations summary = durations_[i].summary();
    if (summary.count) {
      out.durations_by_tool[tools_.name(i)] = summary;
      data.durations[tools_.name(i)] = durations_[i];
    }
  }

  for (const auto& [track, o] : outcomes_) {
    out.lifecycle_by_track[track] = o;
    out.lifecycle.complete += o.complete;
    out.lifecycle.failed += o.failed;
    out.lifecycle.orphaned += o.orphaned;
    out.lifecycle.open += o.open;
  }
  for (const auto& [k, t] : lifecycle_warnings_) out.lifecycle_violations[k.second] += t.count;
  data.lifecycle = lifecycle_warnings_;

  out.escalations = escalation_records_;
  for (const auto& escalation : escalations_) {
    ++(escalation.resolved ? out.escalations_resolved : out.escalations_unresolved);
    if (!escalation.resolved && data.unresolved_escalations.size() < policy_.limits.examples)
      data.unresolved_escalations.push_back({escalation.source, escalation.line, "unresolved escalation"});
  }

  static constexpr std::string_view kDecisionNames[] = {"allow", "block", "needs_review", "unknown", "other"};
  out.runs_total = runs_.size();
  out.other_runs = other_runs_;
  for (const auto& run : runs_) {
    out.by_run[run.id] = run.records;
    RunSummary summary;
    summary.id = run.id;
    summary.records = run.records;
    summary.first_time = run.first_time;
    summary.last_time = run.last_time;
    summary.agents = run.agents;
    std::sort(summary.agents.begin(), summary.agents.end());
    for (size_t i = 0; i < run.decisions.size(); ++i)
      if (run.decisions[i]) summary.decisions[std::string(kDecisionNames[i])] = run.decisions[i];
    summary.violations = run.violations;
    summary.has_timeline = run.timeline;
    summary.timeline = run.events;
    summary.timeline_dropped = run.events_dropped;
    out.runs.push_back(std::move(summary));
  }
  if (other_runs_) out.by_run["(other runs)"] = other_runs_;

  // What the rules read besides the totals.
  for (uint32_t i = 0; i < kept_by_source_.size(); ++i)
    if (kept_by_source_[i]) source_acc(i).records += kept_by_source_[i];
  kept_by_source_.clear();
  for (const auto& source : stats.sources) {
    SourceAcc& acc = source_acc(source_index(source.name));
    acc.input = true;
    acc.lines += source.lines;
  }
  for (uint32_t i = 0; i < source_accs_.size(); ++i) source_acc(i);  // every input sized to the classes
  data.sources = sources_;
  data.inputs = source_accs_;
  data.classes = dl_classes_;
  data.rule_tallies = rule_tallies_;
  data.schema = schema_;
  data.redacted = redacted_;
  data.collisions = collision_examples_;
  data.decided = decided_;
  data.unknown = unknown_;
  data.complete = stats.source_errors == 0 && !stats.interrupted;
  out.policy_fingerprint = policy_fingerprint(policy_);
  summarise_inputs(policy_, out);
  evaluate_rules(policy_, out);
  return out;
}

void evaluate_rules(const Policy& policy_, CheckReport& out) {
  const RuleData& data = out.data;
  for (const auto& example : data.collisions.examples) out.collision_examples.push_back(source_line(data, example));
  for (size_t i = 0; i < policy_.rules.size(); ++i) {
    const Rule& rule = policy_.rules[i];
    RuleResult res;
    res.rule = &rule;
    uint64_t count = 0;
    std::vector<Example> examples;
    switch (rule.type) {
      case RuleType::MaxSchemaViolations:
        count = out.schema_violations;
        examples = data.schema.examples;
        res.detail = plural(count, "record", "records") + " failed schema validation";
        break;
      case RuleType::MaxRedactedRecords:
        count = out.records_redacted;
        examples = data.redacted.examples;
        res.detail = plural(count, "record", "records") + " needed redaction";
        break;
      case RuleType::MaxCollisions:
        count = out.collisions;
        examples = data.collisions.examples;
        res.detail = plural(count, "action id collision", "action id collisions");
        break;
      case RuleType::LifecyclesComplete:
        for (const auto& [k, t] : data.lifecycle) {
          if (std::find(rule.violations.begin(), rule.violations.end(), k.second) == rule.violations.end()) continue;
          if (!rule.tracks.empty() && std::find(rule.tracks.begin(), rule.tracks.end(), k.first) == rule.tracks.end())
            continue;
          count += t.count;
          examples.insert(examples.end(), t.examples.begin(), t.examples.end());
        }
        res.detail = plural(count, "lifecycle", "lifecycles") + " not complete";
        break;
      case RuleType::RequiredFields:
        count = i < data.rule_tallies.size() ? data.rule_tallies[i].count : 0;
        if (i < data.rule_tallies.size()) examples = data.rule_tallies[i].examples;
        res.detail = plural(count, "record", "records") + " without the required fields";
        break;
      case RuleType::Forbidden:
        count = i < data.rule_tallies.size() ? data.rule_tallies[i].count : 0;
        if (i < data.rule_tallies.size()) examples = data.rule_tallies[i].examples;
        res.detail = plural(count, "record", "records") + " from forbidden agents or tools";
        break;
      case RuleType::MaxUnknownShare: {
        double share = data.decided ? static_cast<double>(data.unknown) / static_cast<double>(data.decided) : 0.0;
        res.passed = share <= rule.max_share;
        res.actual = share_text(share);
        res.limit = share_text(rule.max_share);
        res.detail = std::to_string(data.unknown) + " of " + plural(data.decided, "decision", "decisions") +
                     " unknown (share " + res.actual + ")";
        if (i < data.rule_tallies.size()) examples = data.rule_tallies[i].examples;
        break;
      }
      case RuleType::MaxDeadLetters: evaluate_dead_letters(rule, out, res, examples); break;
      case RuleType::MinRecords: evaluate_min_records(rule, data, res, examples); break;
      case RuleType::EscalationsResolved:
        count = out.escalations_unresolved;
        examples = data.unresolved_escalations;
        res.detail = plural(count, "escalation", "escalations") + " without a terminal event";
        break;
    }
    if (rule.type != RuleType::MaxUnknownShare && rule.type != RuleType::MaxDeadLetters &&
        rule.type != RuleType::MinRecords) {
      res.passed = count <= rule.max;
      res.actual = std::to_string(count);
      res.limit = std::to_string(rule.max);
    }
    std::sort(examples.begin(), examples.end(), [](const Example& a, const Example& b) {
      return a.source != b.source ? a.source < b.source : a.line < b.line;
    });
    if (examples.size() > policy_.limits.examples) examples.resize(policy_.limits.examples);
    if (!res.passed)
      for (const auto& example : examples) res.examples.push_back(source_line(data, example));
    if (!res.passed) {
      bool fails = rule.severity == Severity::Error || policy_.fail_on == Severity::Warning;
      ++(rule.severity == Severity::Error ? out.failed_errors : out.failed_warnings);
      if (fails) out.passed = false;
    }
    out.rules.push_back(std::move(res));
  }
}

void summarise_inputs(const Policy& policy, CheckReport& out) {
  const RuleData& d = out.data;
  out.inputs.clear();
  out.inputs_total = 0;
  for (uint32_t i = 0; i < d.inputs.size() && i < d.sources.size(); ++i) {
    const InputTally& a = d.inputs[i];
    if (!listed(a)) continue;
    out.inputs_total += a.inputs;
    InputSummary& s = out.inputs[out.inputs_total <= policy.limits.max_values ? d.sources[i] : "(other)"];
    s.lines += a.lines;
    s.records += a.records;
    s.dead_lettered += a.dead;
    for (size_t c = 0; c < a.by_class.size() && c < d.classes.size(); ++c)
      if (a.by_class[c]) s.dead_letter_reasons[d.classes[c].key] += a.by_class[c];
  }
}

namespace {

void evaluate_dead_letters(const Rule& rule, const CheckReport& out, RuleResult& res, std::vector<Example>& examples) {
  const RuleData& data = out.data;
  const auto& sources_ = data.sources;
  const auto& source_accs_ = data.inputs;
  std::vector<bool> match(data.classes.size());
  for (size_t c = 0; c < data.classes.size(); ++c) match[c] = class_matches(rule, data.classes[c]);
  auto count_of = [&](const InputTally& tally) {
    uint64_t count = 0;
    for (size_t c = 0; c < tally.by_class.size() && c < match.size(); ++c)
      if (match[c]) count += tally.by_class[c];
    return count;
  };
  auto examples_of = [&](const InputTally& tally) {
    for (size_t c = 0; c < tally.examples.size() && c < match.size(); ++c)
      if (match[c]) examples.insert(examples.end(), tally.examples[c].begin(), tally.examples[c].end());
  };
  std::string which = rule.reasons.empty() ? "" : " matching " + joined(rule.reasons);
  res.limit = rule.use_share ? share_text(rule.max_share) : std::to_string(rule.max);
  if (!rule.per_input) {
    uint64_t count = 0;
    for (const InputTally& tally : source_accs_) {
      count += count_of(tally);
      examples_of(tally);
    }
    // An output's dead letters (with --write-outputs) are known from the stats only.
    for (const auto& [key, v] : out.dead_letter_reasons)
      if (key.starts_with("output:") && key_matches(rule, key)) count += v;
    res.detail = plural(count, "dead letter", "dead letters") + which;
    if (rule.use_share) {
      double share = share_of(count, out.lines_read);
      res.passed = share <= rule.max_share;
      res.actual = share_text(share);
      res.detail += " in " + plural(out.lines_read, "line", "lines") + " read (share " + res.actual + ")";
    } else {
      res.passed = count <= rule.max;
      res.actual = std::to_string(count);
    }
    return;
  }
  // Per input: the worst input's figure is the rule's.
  uint64_t inputs = 0, failing = 0, worst_n = 0;
  double worst = -1;
  uint32_t worst_i = 0;
  for (uint32_t i = 0; i < source_accs_.size() && i < sources_.size(); ++i) {
    const InputTally& tally = source_accs_[i];
    if (!listed(tally)) continue;
    inputs += tally.inputs;
    uint64_t count = count_of(tally);
    double figure = rule.use_share ? share_of(count, tally.lines) : static_cast<double>(count);
    bool fails = rule.use_share ? figure > rule.max_share : count > rule.max;
    if (fails) {
      ++failing;
      examples_of(tally);
    }
    if (figure > worst) worst = figure, worst_n = count, worst_i = i;
  }
  res.passed = failing == 0;
  res.actual = rule.use_share ? share_text(std::max(worst, 0.0)) : std::to_string(worst_n);
  res.detail = std::to_string(failing) + " of " + plural(inputs, "input", "inputs") + " over the limit";
  if (inputs)
    res.detail += "; most: " + sources_[worst_i] + ", " + plural(worst_n, "dead letter", "dead letters") + which +
                  (rule.use_share ? " in " + plural(source_accs_[worst_i].lines, "line", "lines") + " (share " +
                                        res.actual + ")"
                                  : "");
}

void evaluate_min_records(const Rule& rule, const RuleData& data, RuleResult& res, std::vector<Example>& examples) {
  const auto& sources_ = data.sources;
  const auto& source_accs_ = data.inputs;
  auto about = [&](uint32_t i, const InputTally& tally) {
    return Example{i, 0,
                   plural(tally.records, "record", "records") + " kept from " + plural(tally.lines, "line", "lines") +
                       ", " + std::to_string(tally.dead) + " dead-lettered"};
  };
  res.limit = std::to_string(rule.min);
  uint64_t inputs = 0, failing = 0, total = 0, fewest = UINT64_MAX;
  uint32_t fewest_i = 0;
  for (uint32_t i = 0; i < source_accs_.size() && i < sources_.size(); ++i) {
    const InputTally& tally = source_accs_[i];
    if (!listed(tally)) continue;
    inputs += tally.inputs;
    total += tally.records;
    if (tally.records < fewest) fewest = tally.records, fewest_i = i;
    if (rule.per_input && tally.records < rule.min) {
      ++failing;
      examples.push_back(about(i, tally));
    }
  }
  if (!rule.per_input) {
    res.passed = total >= rule.min;
    res.actual = std::to_string(total);
    res.detail = plural(total, "record", "records") + " kept from " + plural(inputs, "input", "inputs");
    if (!res.passed)
      for (uint32_t i = 0; i < source_accs_.size() && i < sources_.size(); ++i)
        if (listed(source_accs_[i])) examples.push_back(about(i, source_accs_[i]));
    return;
  }
  res.passed = failing == 0;
  res.actual = std::to_string(inputs ? fewest : 0);
  res.detail = std::to_string(failing) + " of " + plural(inputs, "input", "inputs") + " yielded fewer than " +
               plural(rule.min, "record", "records");
  if (inputs) res.detail += "; fewest: " + sources_[fewest_i] + ", " + std::to_string(fewest);
}

}  // namespace

}  // namespace agentlog::check

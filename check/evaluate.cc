// Turns what the collector saw, the run's counters and the stages' stats into the report,
// and evaluates each policy rule.
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

}  // namespace

SourceLine ReportCollector::source_line(const Example& e) const {
  return {e.source < sources_.size() ? sources_[e.source] : std::string(), e.line, e.note};
}

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
  out.source_errors = stats.source_errors;
  out.dead_letter_reasons = stats.dead_letter_reasons;

  // Stage stats: schema violations, redactions, collisions.
  bool has_collision_stage = false;
  simdjson::dom::parser parser;
  for (const auto& s : spec_.stages) {
    std::string text = "{" + s.stage->stats_json() + "}";
    simdjson::dom::object o;
    if (parser.parse(text).get(o) != simdjson::SUCCESS) continue;
    uint64_t v = 0;
    if (s.type == "validate" && o.at_key("invalid").get(v) == simdjson::SUCCESS) {
      out.schema_violations += v;
      out.schema_violations_by_stage[s.name] += v;
    } else if (s.type == "redact") {
      if (o.at_key("records_redacted").get(v) == simdjson::SUCCESS) out.records_redacted += v;
      simdjson::dom::object by_rule;
      if (o.at_key("by_rule").get(by_rule) == simdjson::SUCCESS)
        for (auto m : by_rule) {
          uint64_t n = 0;
          if (m.value.get(n) == simdjson::SUCCESS) out.redactions_by_rule[std::string(m.key)] += n;
        }
    } else if (s.type == "collision" && o.at_key("collisions").get(v) == simdjson::SUCCESS) {
      has_collision_stage = true;
      out.collisions += v;
    }
  }
  if (!has_collision_stage) out.collisions = collisions_seen_;
  for (const auto& e : collision_examples_.examples) out.collision_examples.push_back(source_line(e));

  out.by_event_type = event_types_.sorted();
  out.by_decision = decisions_.sorted();
  out.by_agent = agents_.sorted();
  out.by_tool = tools_.sorted();
  for (uint32_t i = 0; i < durations_.size() && i < tools_.size(); ++i) {
    Durations d = durations_[i].summary();
    if (d.count) out.durations_by_tool[tools_.name(i)] = d;
  }

  for (const auto& [track, o] : outcomes_) {
    out.lifecycle_by_track[track] = o;
    out.lifecycle.complete += o.complete;
    out.lifecycle.failed += o.failed;
    out.lifecycle.orphaned += o.orphaned;
    out.lifecycle.open += o.open;
  }
  for (const auto& [k, t] : lifecycle_warnings_) out.lifecycle_violations[k.second] += t.count;

  out.escalations = escalation_records_;
  for (const auto& e : escalations_) ++(e.resolved ? out.escalations_resolved : out.escalations_unresolved);

  static constexpr std::string_view kDecisionNames[] = {"allow", "block", "needs_review", "unknown", "other"};
  out.runs_total = runs_.size();
  out.other_runs = other_runs_;
  for (const auto& r : runs_) {
    out.by_run[r.id] = r.records;
    RunSummary s;
    s.id = r.id;
    s.records = r.records;
    s.first_time = r.first_time;
    s.last_time = r.last_time;
    s.agents = r.agents;
    std::sort(s.agents.begin(), s.agents.end());
    for (size_t i = 0; i < r.decisions.size(); ++i)
      if (r.decisions[i]) s.decisions[std::string(kDecisionNames[i])] = r.decisions[i];
    s.violations = r.violations;
    s.has_timeline = r.timeline;
    s.timeline = r.events;
    s.timeline_dropped = r.events_dropped;
    out.runs.push_back(std::move(s));
  }
  if (other_runs_) out.by_run["(other runs)"] = other_runs_;

  evaluate(out);
  return out;
}

void ReportCollector::evaluate(CheckReport& out) {
  for (size_t i = 0; i < policy_.rules.size(); ++i) {
    const Rule& rule = policy_.rules[i];
    RuleResult res;
    res.rule = &rule;
    uint64_t count = 0;
    std::vector<Example> ex;
    switch (rule.type) {
      case RuleType::MaxSchemaViolations:
        count = out.schema_violations;
        ex = schema_.examples;
        res.detail = plural(count, "record", "records") + " failed schema validation";
        break;
      case RuleType::MaxRedactedRecords:
        count = out.records_redacted;
        ex = redacted_.examples;
        res.detail = plural(count, "record", "records") + " needed redaction";
        break;
      case RuleType::MaxCollisions:
        count = out.collisions;
        ex = collision_examples_.examples;
        res.detail = plural(count, "action id collision", "action id collisions");
        break;
      case RuleType::LifecyclesComplete:
        for (const auto& [k, t] : lifecycle_warnings_) {
          if (std::find(rule.violations.begin(), rule.violations.end(), k.second) == rule.violations.end()) continue;
          if (!rule.tracks.empty() && std::find(rule.tracks.begin(), rule.tracks.end(), k.first) == rule.tracks.end())
            continue;
          count += t.count;
          ex.insert(ex.end(), t.examples.begin(), t.examples.end());
        }
        res.detail = plural(count, "lifecycle", "lifecycles") + " not complete";
        break;
      case RuleType::RequiredFields:
        count = rule_tallies_[i].count;
        ex = rule_tallies_[i].examples;
        res.detail = plural(count, "record", "records") + " without the required fields";
        break;
      case RuleType::Forbidden:
        count = rule_tallies_[i].count;
        ex = rule_tallies_[i].examples;
        res.detail = plural(count, "record", "records") + " from forbidden agents or tools";
        break;
      case RuleType::MaxUnknownShare: {
        double share = decided_ ? static_cast<double>(unknown_) / static_cast<double>(decided_) : 0.0;
        res.passed = share <= rule.max_share;
        res.actual = share_text(share);
        res.limit = share_text(rule.max_share);
        res.detail = std::to_string(unknown_) + " of " + plural(decided_, "decision", "decisions") +
                     " unknown (share " + res.actual + ")";
        ex = rule_tallies_[i].examples;
        break;
      }
      case RuleType::EscalationsResolved:
        count = out.escalations_unresolved;
        for (const auto& e : escalations_)
          if (!e.resolved && ex.size() < policy_.limits.examples) ex.push_back({e.source, e.line, "unresolved escalation"});
        res.detail = plural(count, "escalation", "escalations") + " without a terminal event";
        break;
    }
    if (rule.type != RuleType::MaxUnknownShare) {
      res.passed = count <= rule.max;
      res.actual = std::to_string(count);
      res.limit = std::to_string(rule.max);
    }
    std::sort(ex.begin(), ex.end(), [](const Example& a, const Example& b) {
      return a.source != b.source ? a.source < b.source : a.line < b.line;
    });
    if (ex.size() > policy_.limits.examples) ex.resize(policy_.limits.examples);
    if (!res.passed)
      for (const auto& e : ex) res.examples.push_back(source_line(e));
    if (!res.passed) {
      bool fails = rule.severity == Severity::Error || policy_.fail_on == Severity::Warning;
      ++(rule.severity == Severity::Error ? out.failed_errors : out.failed_warnings);
      if (fails) out.passed = false;
    }
    out.rules.push_back(std::move(res));
  }
}

}  // namespace agentlog::check

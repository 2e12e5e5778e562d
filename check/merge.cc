// Merging reports: every figure a rule reads is a sum (counts, per-input figures, per-class
// dead letters, numerators and denominators of shares), so the merged verdict is the one a
// single check over all the records gives, as long as no run is split between reports.
#include "check/merge.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <simdjson.h>
#include <sstream>

#include "check/check_command.h"
#include "check/policy.h"
#include "check/report.h"

namespace agentlog::check {
namespace {

int error(const std::string& msg) {
  std::fprintf(stderr, "agentlog: %s\n", msg.c_str());
  return kExitError;
}

struct Bad {
  std::string what;
};

using Obj = simdjson::dom::object;

Obj obj(Obj o, std::string_view k) {
  Obj v;
  if (o.at_key(k).get(v) != simdjson::SUCCESS) throw Bad{std::string(k)};
  return v;
}
simdjson::dom::array arr(Obj o, std::string_view k) {
  simdjson::dom::array v;
  if (o.at_key(k).get(v) != simdjson::SUCCESS) throw Bad{std::string(k)};
  return v;
}
uint64_t num(Obj o, std::string_view k) {
  uint64_t v;
  if (o.at_key(k).get(v) != simdjson::SUCCESS) throw Bad{std::string(k)};
  return v;
}
std::string str(Obj o, std::string_view k) {
  std::string_view v;
  if (o.at_key(k).get(v) != simdjson::SUCCESS) throw Bad{std::string(k)};
  return std::string(v);
}
bool boolean(Obj o, std::string_view k) {
  bool v;
  if (o.at_key(k).get(v) != simdjson::SUCCESS) throw Bad{std::string(k)};
  return v;
}
// Sums of counts from several reports: a sum past 2^64 means a report that no check wrote.
struct Overflow {};
void add_to(uint64_t& to, uint64_t v) {
  if (__builtin_add_overflow(to, v, &to)) throw Overflow{};
}
void add_counts(std::map<std::string, uint64_t>& to, Obj o) {
  for (auto m : o) {
    uint64_t v;
    if (m.value.get(v) != simdjson::SUCCESS) throw Bad{std::string(m.key)};
    add_to(to[std::string(m.key)], v);
  }
}
void add_outcomes(LifecycleOutcomes& to, Obj o) {
  add_to(to.complete, num(o, "complete"));
  add_to(to.failed, num(o, "failed"));
  add_to(to.orphaned, num(o, "orphaned"));
  add_to(to.open, num(o, "open"));
}

// Histogram buckets cover every uint64 value below this index (check/report_collector.cc).
constexpr size_t kMaxBucket = 256 + 56 * 128;

// Sums the reports one by one into `out`, mapping each report's source indexes and
// dead-letter classes onto the merged ones.
class Merger {
 public:
  Merger(const Policy& policy, CheckReport& out) : policy_(policy), out_(out) {}

  void add(const std::string& path, Obj report) {
    Obj totals = obj(report, "totals");
    add_to(out_.records_in, num(totals, "records_in"));
    add_to(out_.records_out, num(totals, "records_out"));
    add_to(out_.dropped, num(totals, "dropped"));
    add_to(out_.dead_lettered, num(totals, "dead_lettered"));
    add_to(out_.generated, num(totals, "generated"));
    add_to(out_.bytes_read, num(totals, "bytes_read"));
    add_to(out_.lines_read, num(totals, "lines_read"));
    add_to(out_.source_errors, num(totals, "source_errors"));
    add_counts(out_.dead_letter_reasons, obj(report, "dead_letter_reasons"));
    Obj counts = obj(report, "counts");
    add_counts(out_.by_event_type, obj(counts, "event_type"));
    add_counts(out_.by_decision, obj(counts, "decision"));
    add_counts(out_.by_agent, obj(counts, "agent"));
    add_counts(out_.by_tool, obj(counts, "tool"));
    add_counts(out_.by_run, obj(counts, "run"));
    Obj schema = obj(report, "schema_violations");
    add_to(out_.schema_violations, num(schema, "total"));
    add_counts(out_.schema_violations_by_stage, obj(schema, "by_stage"));
    add_to(out_.unclassified, num(schema, "unclassified"));
    Obj red = obj(report, "redactions");
    add_to(out_.records_redacted, num(red, "records"));
    add_counts(out_.redactions_by_rule, obj(red, "by_rule"));
    Obj lifecycles = obj(report, "lifecycles");
    add_outcomes(out_.lifecycle, lifecycles);
    for (auto track : obj(lifecycles, "by_track")) {
      Obj outcomes;
      if (track.value.get(outcomes) != simdjson::SUCCESS) throw Bad{"lifecycles.by_track"};
      add_outcomes(out_.lifecycle_by_track[std::string(track.key)], outcomes);
    }
    add_counts(out_.lifecycle_violations, obj(lifecycles, "violations"));
    add_to(out_.collisions, num(obj(report, "collisions"), "total"));
    Obj esc = obj(report, "escalations");
    add_to(out_.escalations, num(esc, "total"));
    add_to(out_.escalations_resolved, num(esc, "resolved"));
    add_to(out_.escalations_unresolved, num(esc, "unresolved"));
    add_runs(path, obj(report, "runs"));
    add_data(obj(report, "merge"));
  }

  // A run listed in two reports: its lifecycles and escalations were judged in parts.
  std::string split_run, split_between;
  // A report with records of runs it does not list (past limits.max_runs), or of no run_id
  // (matched across sources by one check): whether those were split cannot be told.
  std::string unlisted_runs, no_run_id;

 private:
  void add_runs(const std::string& path, Obj runs) {
    uint64_t unlisted = num(runs, "records_in_other_runs");
    add_to(out_.other_runs, unlisted);
    if (unlisted && unlisted_runs.empty()) unlisted_runs = path;
    for (auto item : arr(runs, "list")) {
      Obj run_json;
      if (item.get(run_json) != simdjson::SUCCESS) throw Bad{"runs.list"};
      std::string id = str(run_json, "id");
      if (id.starts_with("(no run_id) ") && no_run_id.empty()) no_run_id = path;
      auto [it, fresh] = run_index_.emplace(id, out_.runs.size());
      if (fresh) {
        out_.runs.emplace_back();
        out_.runs.back().id = id;
        run_report_.push_back(path);
      } else if (run_report_[it->second] != path && split_run.empty() && !id.starts_with("(no run_id) ")) {
        split_run = id;
        split_between = run_report_[it->second] + " and " + path;
      }
      RunSummary& summary = out_.runs[it->second];
      add_to(summary.records, num(run_json, "records"));
      std::string first = str(run_json, "first_time"), last = str(run_json, "last_time");
      if (!first.empty() && (summary.first_time.empty() || first < summary.first_time)) summary.first_time = first;
      if (last > summary.last_time) summary.last_time = last;
      for (auto agent : arr(run_json, "agents")) {
        std::string_view agent_id;
        if (agent.get(agent_id) != simdjson::SUCCESS) throw Bad{"runs.list[].agents"};
        if (summary.agents.size() < 8 &&
            std::find(summary.agents.begin(), summary.agents.end(), agent_id) == summary.agents.end())
          summary.agents.emplace_back(agent_id);
      }
      std::sort(summary.agents.begin(), summary.agents.end());
      add_counts(summary.decisions, obj(run_json, "decisions"));
      add_to(summary.violations, num(run_json, "violations"));
    }
  }

  std::vector<Example> examples(Obj o, std::string_view key, const std::vector<uint32_t>& src) {
    std::vector<Example> v;
    for (auto e : arr(o, key)) {
      Obj x;
      if (e.get(x) != simdjson::SUCCESS) throw Bad{std::string(key)};
      uint64_t s = num(x, "source");
      if (s >= src.size()) throw Bad{std::string(key) + "[].source"};
      v.push_back({src[s], num(x, "line"), str(x, "note")});
    }
    return v;
  }
  void append(std::vector<Example>& to, std::vector<Example> from) {
    for (auto& e : from)
      if (to.size() < policy_.limits.examples) to.push_back(std::move(e));
  }

  void add_data(Obj merge) {
    RuleData& data = out_.data;
    data.complete = data.complete && boolean(merge, "complete");
    data.inputs_folded = data.inputs_folded || boolean(merge, "inputs_folded");
    std::vector<uint32_t> src;  // this report's source index -> merged
    for (auto item : arr(merge, "sources")) {
      std::string_view name;
      if (item.get(name) != simdjson::SUCCESS) throw Bad{"merge.sources"};
      auto it = std::find(data.sources.begin(), data.sources.end(), name);
      if (it == data.sources.end()) it = data.sources.insert(data.sources.end(), std::string(name));
      src.push_back(static_cast<uint32_t>(it - data.sources.begin()));
    }
    std::vector<size_t> cls;  // this report's class -> merged
    for (auto item : arr(merge, "dead_letter_classes")) {
      Obj class_json;
      if (item.get(class_json) != simdjson::SUCCESS) throw Bad{"merge.dead_letter_classes"};
      DeadLetterClass dead_class{str(class_json, "key"), str(class_json, "stage_type"),
                                 boolean(class_json, "unclassified")};
      size_t i = 0;
      while (i < data.classes.size() &&
             !(data.classes[i].key == dead_class.key && data.classes[i].stage_type == dead_class.stage_type &&
               data.classes[i].unclassified == dead_class.unclassified))
        ++i;
      if (i == data.classes.size()) data.classes.push_back(dead_class);
      cls.push_back(i);
    }
    for (auto& input : data.inputs) {
      input.by_class.resize(data.classes.size());
      input.examples.resize(data.classes.size());
    }
    for (auto item : arr(merge, "inputs")) {
      Obj input_json;
      if (item.get(input_json) != simdjson::SUCCESS) throw Bad{"merge.inputs"};
      uint64_t source = num(input_json, "source");
      if (source >= src.size()) throw Bad{"merge.inputs[].source"};
      if (data.inputs.size() <= src[source]) {
        data.inputs.resize(src[source] + 1);
        for (auto& input : data.inputs) {
          input.by_class.resize(data.classes.size());
          input.examples.resize(data.classes.size());
        }
      }
      InputTally& tally = data.inputs[src[source]];
      // One input read by several checks (a stream's partitions) is one input; "(other)"
      // stands for as many as each report summed there.
      if (!listed(tally) || data.sources[src[source]] == "(other)")
        tally.inputs = (listed(tally) ? tally.inputs : 0) + num(input_json, "inputs");
      tally.input = tally.input || boolean(input_json, "input");
      add_to(tally.lines, num(input_json, "lines"));
      add_to(tally.records, num(input_json, "records"));
      add_to(tally.dead, num(input_json, "dead_lettered"));
      size_t slot = 0;
      for (auto count_item : arr(input_json, "by_class")) {
        uint64_t count;
        if (count_item.get(count) != simdjson::SUCCESS || slot >= cls.size()) throw Bad{"merge.inputs[].by_class"};
        add_to(tally.by_class[cls[slot++]], count);
      }
      slot = 0;
      for (auto example_item : arr(input_json, "examples")) {
        Obj class_examples;
        if (example_item.get(class_examples) != simdjson::SUCCESS || slot >= cls.size())
          throw Bad{"merge.inputs[].examples"};
        append(tally.examples[cls[slot++]], examples(class_examples, "list", src));
      }
    }
    size_t i = 0;
    data.rule_tallies.resize(policy_.rules.size());
    for (auto item : arr(merge, "rule_tallies")) {
      Obj tally_json;
      if (item.get(tally_json) != simdjson::SUCCESS || i >= data.rule_tallies.size()) throw Bad{"merge.rule_tallies"};
      add_to(data.rule_tallies[i].count, num(tally_json, "count"));
      append(data.rule_tallies[i++].examples, examples(tally_json, "examples", src));
    }
    append(data.schema.examples, examples(merge, "schema_examples", src));
    append(data.redacted.examples, examples(merge, "redacted_examples", src));
    append(data.collisions.examples, examples(merge, "collision_examples", src));
    for (auto item : arr(merge, "lifecycle_violations")) {
      Obj violation;
      if (item.get(violation) != simdjson::SUCCESS) throw Bad{"merge.lifecycle_violations"};
      Tally& tally = data.lifecycle[{str(violation, "track"), str(violation, "violation")}];
      add_to(tally.count, num(violation, "count"));
      append(tally.examples, examples(violation, "examples", src));
    }
    add_to(data.decided, num(merge, "decided"));
    add_to(data.unknown, num(merge, "unknown"));
    append(data.unresolved_escalations, examples(merge, "unresolved_escalations", src));
    for (auto entry : obj(merge, "durations")) {
      Obj histogram_json;
      if (entry.value.get(histogram_json) != simdjson::SUCCESS) throw Bad{"merge.durations"};
      Histogram& histogram = data.durations[std::string(entry.key)];
      std::map<size_t, uint64_t> buckets;
      for (auto bucket : obj(histogram_json, "buckets")) {
        uint64_t count;
        if (bucket.value.get(count) != simdjson::SUCCESS) throw Bad{"merge.durations.buckets"};
        size_t i = std::strtoull(std::string(bucket.key).c_str(), nullptr, 10);
        if (i >= kMaxBucket) throw Bad{"merge.durations.buckets"};
        buckets[i] = count;
      }
      histogram.add_buckets(buckets, num(histogram_json, "min"), num(histogram_json, "max"));
      for (auto item : arr(histogram_json, "samples")) {
        uint64_t sample;
        if (item.get(sample) != simdjson::SUCCESS) throw Bad{"merge.durations.samples"};
        histogram.add(sample);
      }
    }
  }

  const Policy& policy_;
  CheckReport& out_;
  std::map<std::string, size_t> run_index_;
  std::vector<std::string> run_report_;  // by merged run: the report that listed it first
};

// More distinct values than limits.max_values (a dimension of the counts): the rest, by
// name, are summed as "(other)", as one check sums the values it saw last.
void cap(std::map<std::string, uint64_t>& m, uint64_t max_values) {
  uint64_t other = 0, kept = 0;
  for (auto it = m.begin(); it != m.end();) {
    if (it->first != "(other)" && ++kept > max_values) {
      other += it->second;
      it = m.erase(it);
    } else {
      ++it;
    }
  }
  if (other) m["(other)"] += other;
}

bool has_rule(const Policy& p, RuleType t) {
  return std::any_of(p.rules.begin(), p.rules.end(), [&](const Rule& r) { return r.type == t; });
}

}  // namespace

int run_merge(const MergeOptions& opts) {
  if (opts.files.empty()) return error("usage error: --merge needs the JSON reports to merge");
  Policy policy;
  if (!opts.policy.empty() || !opts.config.empty()) {
    Status loaded = opts.policy.empty() ? load_policy_file(opts.config, false, policy)
                                        : load_policy_file(opts.policy, true, policy);
    if (!loaded.ok()) return error("config error: " + loaded.message());
  } else {
    policy.rules = default_policy_rules();
  }
  std::vector<ReportTarget> targets;
  if (Status status = report_targets(opts.reports, policy, targets); !status.ok())
    return error("usage error: " + status.message());

  const std::string fingerprint = policy_fingerprint(policy);
  CheckReport out;
  out.policy_name = policy.name;
  out.policy_origin = policy.origin;
  out.policy_fingerprint = fingerprint;
  out.limits = policy.limits;
  out.warnings_fail = policy.fail_on == Severity::Warning;
  Merger merger(policy, out);
  std::string version, version_from;
  simdjson::dom::parser parser;
  // A report given twice (by any path to it) would count its records twice. Two files with
  // the same text are fine: two checks of equal parts write equal reports.
  std::map<std::string, std::string> seen;  // canonical path -> the path given
  for (const auto& path : opts.files) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return error("error: " + path + ": cannot read the report: " + std::strerror(errno));
    std::stringstream contents;
    contents << file.rdbuf();
    std::string text = contents.str();
    std::error_code canonical_error;
    std::string canonical = std::filesystem::weakly_canonical(path, canonical_error).string();
    if (auto [it, fresh] = seen.emplace(canonical_error ? path : canonical, path); !fresh)
      return error("error: " + path + ": the same report as " + it->second +
                   "; give each check's report once (its records would count twice)");
    Obj report;
    if (parser.parse(text).get(report) != simdjson::SUCCESS)
      return error("error: " + path + ": not a JSON report of agentlog check");
    try {
      uint64_t report_version = num(report, "report_version");
      if (report_version != kReportVersion)
        return error("error: " + path + ": report_version " + std::to_string(report_version) +
                     "; --merge reads version " + std::to_string(kReportVersion) +
                     " (check again with this agentlog, " AGENTLOG_VERSION ")");
      std::string version_of_report = str(report, "agentlog_version");
      if (version_from.empty()) version = version_of_report, version_from = path;
      if (version_of_report != version)
        return error("error: " + path + ": written by agentlog " + version_of_report + ", " + version_from +
                     " by agentlog " + version + "; merge reports of one version");
      Obj policy_json = obj(report, "policy");
      if (str(policy_json, "fingerprint") != fingerprint)
        return error("error: " + path + ": checked under another policy (\"" + str(policy_json, "name") + "\" from \"" +
                     str(policy_json, "origin") + "\") than the one given (\"" + policy.name + "\" from \"" +
                     policy.origin + "\"); give --merge the policy the checks used (--policy or -c)");
      if (out.pipeline.empty()) out.pipeline = str(report, "pipeline"), out.config = str(report, "config");
      merger.add(path, report);
    } catch (const Bad& b) {
      return error("error: " + path + ": not a JSON report of agentlog check (no valid \"" + b.what + "\")");
    } catch (const Overflow&) {
      return error("error: " + path + ": its counts and those before it add up past 2^64; not reports a check wrote");
    }
  }

  // Figures whose truth one report alone does not hold.
  for (const Rule& rule : policy.rules)
    if (rule.per_input && out.data.inputs_folded)
      return error("error: rule \"" + rule.id + "\" (" + std::string(rule_type_name(rule.type)) +
                   ", per_input) cannot be merged exactly: a report lists only limits.max_values (" +
                   std::to_string(policy.limits.max_values) + ") inputs and sums the rest; raise limits.max_values");
  for (RuleType type : {RuleType::LifecyclesComplete, RuleType::EscalationsResolved}) {
    if (!has_rule(policy, type)) continue;
    const std::string rule = std::string(rule_type_name(type));
    if (!merger.split_run.empty())
      return error("error: run \"" + merger.split_run + "\" is in " + merger.split_between + ": the " + rule +
                   " rule cannot be merged exactly when a run is split between reports; partition the "
                   "records by run_id");
    if (opts.files.size() < 2) continue;
    // Runs a report does not name could be split without this merge seeing it.
    if (!merger.unlisted_runs.empty())
      return error("error: " + merger.unlisted_runs + " counts records of runs it does not list (past limits.max_runs): the " +
                   rule + " rule cannot be merged exactly, as such a run may be split between reports; raise "
                   "limits.max_runs");
    if (!merger.no_run_id.empty())
      return error("error: " + merger.no_run_id + " has records without run_id: the " + rule +
                   " rule cannot be merged exactly, as their lifecycles and escalations may span reports; check "
                   "records without run_id in one process");
  }

  // Listed runs and counted values, capped as one check caps them.
  out.runs_total = out.runs.size();
  if (out.runs.size() > policy.limits.max_runs) {
    for (size_t i = policy.limits.max_runs; i < out.runs.size(); ++i) {
      out.other_runs += out.runs[i].records;
      out.by_run.erase(out.runs[i].id);
    }
    out.runs.resize(policy.limits.max_runs);
    out.runs_total = out.runs.size();
  }
  if (out.other_runs) out.by_run["(other runs)"] = out.other_runs;
  for (auto* counts : {&out.by_event_type, &out.by_decision, &out.by_agent, &out.by_tool})
    cap(*counts, policy.limits.max_values);
  for (const auto& [tool, h] : out.data.durations) out.durations_by_tool[tool] = h.summary();

  summarise_inputs(policy, out);
  evaluate_rules(policy, out);

  bool colour = isatty(1) && std::getenv("NO_COLOR") == nullptr;
  for (const auto& target : targets) {
    bool to_stdout = target.path == "-";
    std::string doc = render_report(out, target.format, to_stdout && colour);
    if (to_stdout) {
      if (std::fwrite(doc.data(), 1, doc.size(), stdout) != doc.size() || std::fflush(stdout) != 0)
        return error("error: stdout: cannot write the " + target.format + " report");
      continue;
    }
    std::ofstream file(target.path, std::ios::binary | std::ios::trunc);
    file << doc;
    file.flush();
    if (!file) return error("error: " + target.path + ": cannot write the " + target.format + " report");
  }
  if (!out.data.complete)
    return error("error: a merged check was incomplete (it could not read every input, or was interrupted); "
                 "the merged check is incomplete");
  return out.passed ? kExitPass : kExitFail;
}

}  // namespace agentlog::check

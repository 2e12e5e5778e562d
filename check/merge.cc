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

  void add(const std::string& path, Obj r) {
    Obj totals = obj(r, "totals");
    add_to(out_.records_in, num(totals, "records_in"));
    add_to(out_.records_out, num(totals, "records_out"));
    add_to(out_.dropped, num(totals, "dropped"));
    add_to(out_.dead_lettered, num(totals, "dead_lettered"));
    add_to(out_.generated, num(totals, "generated"));
    add_to(out_.bytes_read, num(totals, "bytes_read"));
    add_to(out_.lines_read, num(totals, "lines_read"));
    add_to(out_.source_errors, num(totals, "source_errors"));
    add_counts(out_.dead_letter_reasons, obj(r, "dead_letter_reasons"));
    Obj counts = obj(r, "counts");
    add_counts(out_.by_event_type, obj(counts, "event_type"));
    add_counts(out_.by_decision, obj(counts, "decision"));
    add_counts(out_.by_agent, obj(counts, "agent"));
    add_counts(out_.by_tool, obj(counts, "tool"));
    add_counts(out_.by_run, obj(counts, "run"));
    Obj schema = obj(r, "schema_violations");
    add_to(out_.schema_violations, num(schema, "total"));
    add_counts(out_.schema_violations_by_stage, obj(schema, "by_stage"));
    add_to(out_.unclassified, num(schema, "unclassified"));
    Obj red = obj(r, "redactions");
    add_to(out_.records_redacted, num(red, "records"));
    add_counts(out_.redactions_by_rule, obj(red, "by_rule"));
    Obj lc = obj(r, "lifecycles");
    add_outcomes(out_.lifecycle, lc);
    for (auto m : obj(lc, "by_track")) {
      Obj t;
      if (m.value.get(t) != simdjson::SUCCESS) throw Bad{"lifecycles.by_track"};
      add_outcomes(out_.lifecycle_by_track[std::string(m.key)], t);
    }
    add_counts(out_.lifecycle_violations, obj(lc, "violations"));
    add_to(out_.collisions, num(obj(r, "collisions"), "total"));
    Obj esc = obj(r, "escalations");
    add_to(out_.escalations, num(esc, "total"));
    add_to(out_.escalations_resolved, num(esc, "resolved"));
    add_to(out_.escalations_unresolved, num(esc, "unresolved"));
    add_runs(path, obj(r, "runs"));
    add_data(obj(r, "merge"));
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
    for (auto e : arr(runs, "list")) {
      Obj o;
      if (e.get(o) != simdjson::SUCCESS) throw Bad{"runs.list"};
      std::string id = str(o, "id");
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
      RunSummary& s = out_.runs[it->second];
      add_to(s.records, num(o, "records"));
      std::string first = str(o, "first_time"), last = str(o, "last_time");
      if (!first.empty() && (s.first_time.empty() || first < s.first_time)) s.first_time = first;
      if (last > s.last_time) s.last_time = last;
      for (auto a : arr(o, "agents")) {
        std::string_view v;
        if (a.get(v) != simdjson::SUCCESS) throw Bad{"runs.list[].agents"};
        if (s.agents.size() < 8 && std::find(s.agents.begin(), s.agents.end(), v) == s.agents.end())
          s.agents.emplace_back(v);
      }
      std::sort(s.agents.begin(), s.agents.end());
      add_counts(s.decisions, obj(o, "decisions"));
      add_to(s.violations, num(o, "violations"));
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

  void add_data(Obj m) {
    RuleData& d = out_.data;
    d.complete = d.complete && boolean(m, "complete");
    d.inputs_folded = d.inputs_folded || boolean(m, "inputs_folded");
    std::vector<uint32_t> src;  // this report's source index -> merged
    for (auto e : arr(m, "sources")) {
      std::string_view name;
      if (e.get(name) != simdjson::SUCCESS) throw Bad{"merge.sources"};
      auto it = std::find(d.sources.begin(), d.sources.end(), name);
      if (it == d.sources.end()) it = d.sources.insert(d.sources.end(), std::string(name));
      src.push_back(static_cast<uint32_t>(it - d.sources.begin()));
    }
    std::vector<size_t> cls;  // this report's class -> merged
    for (auto e : arr(m, "dead_letter_classes")) {
      Obj o;
      if (e.get(o) != simdjson::SUCCESS) throw Bad{"merge.dead_letter_classes"};
      DeadLetterClass c{str(o, "key"), str(o, "stage_type"), boolean(o, "unclassified")};
      size_t i = 0;
      while (i < d.classes.size() && !(d.classes[i].key == c.key && d.classes[i].stage_type == c.stage_type &&
                                       d.classes[i].unclassified == c.unclassified))
        ++i;
      if (i == d.classes.size()) d.classes.push_back(c);
      cls.push_back(i);
    }
    for (auto& in : d.inputs) {
      in.by_class.resize(d.classes.size());
      in.examples.resize(d.classes.size());
    }
    for (auto e : arr(m, "inputs")) {
      Obj o;
      if (e.get(o) != simdjson::SUCCESS) throw Bad{"merge.inputs"};
      uint64_t s = num(o, "source");
      if (s >= src.size()) throw Bad{"merge.inputs[].source"};
      if (d.inputs.size() <= src[s]) {
        d.inputs.resize(src[s] + 1);
        for (auto& in : d.inputs) {
          in.by_class.resize(d.classes.size());
          in.examples.resize(d.classes.size());
        }
      }
      InputTally& a = d.inputs[src[s]];
      // One input read by several checks (a stream's partitions) is one input; "(other)"
      // stands for as many as each report summed there.
      if (!listed(a) || d.sources[src[s]] == "(other)") a.inputs = (listed(a) ? a.inputs : 0) + num(o, "inputs");
      a.input = a.input || boolean(o, "input");
      add_to(a.lines, num(o, "lines"));
      add_to(a.records, num(o, "records"));
      add_to(a.dead, num(o, "dead_lettered"));
      size_t c = 0;
      for (auto v : arr(o, "by_class")) {
        uint64_t n;
        if (v.get(n) != simdjson::SUCCESS || c >= cls.size()) throw Bad{"merge.inputs[].by_class"};
        add_to(a.by_class[cls[c++]], n);
      }
      c = 0;
      for (auto v : arr(o, "examples")) {
        Obj x;
        if (v.get(x) != simdjson::SUCCESS || c >= cls.size()) throw Bad{"merge.inputs[].examples"};
        append(a.examples[cls[c++]], examples(x, "list", src));
      }
    }
    size_t i = 0;
    d.rule_tallies.resize(policy_.rules.size());
    for (auto e : arr(m, "rule_tallies")) {
      Obj o;
      if (e.get(o) != simdjson::SUCCESS || i >= d.rule_tallies.size()) throw Bad{"merge.rule_tallies"};
      add_to(d.rule_tallies[i].count, num(o, "count"));
      append(d.rule_tallies[i++].examples, examples(o, "examples", src));
    }
    append(d.schema.examples, examples(m, "schema_examples", src));
    append(d.redacted.examples, examples(m, "redacted_examples", src));
    append(d.collisions.examples, examples(m, "collision_examples", src));
    for (auto e : arr(m, "lifecycle_violations")) {
      Obj o;
      if (e.get(o) != simdjson::SUCCESS) throw Bad{"merge.lifecycle_violations"};
      Tally& t = d.lifecycle[{str(o, "track"), str(o, "violation")}];
      add_to(t.count, num(o, "count"));
      append(t.examples, examples(o, "examples", src));
    }
    add_to(d.decided, num(m, "decided"));
    add_to(d.unknown, num(m, "unknown"));
    append(d.unresolved_escalations, examples(m, "unresolved_escalations", src));
    for (auto e : obj(m, "durations")) {
      Obj o;
      if (e.value.get(o) != simdjson::SUCCESS) throw Bad{"merge.durations"};
      Histogram& h = d.durations[std::string(e.key)];
      std::map<size_t, uint64_t> buckets;
      for (auto b : obj(o, "buckets")) {
        uint64_t n;
        if (b.value.get(n) != simdjson::SUCCESS) throw Bad{"merge.durations.buckets"};
        size_t i = std::strtoull(std::string(b.key).c_str(), nullptr, 10);
        if (i >= kMaxBucket) throw Bad{"merge.durations.buckets"};
        buckets[i] = n;
      }
      h.add_buckets(buckets, num(o, "min"), num(o, "max"));
      for (auto v : arr(o, "samples")) {
        uint64_t n;
        if (v.get(n) != simdjson::SUCCESS) throw Bad{"merge.durations.samples"};
        h.add(n);
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
    Status st = opts.policy.empty() ? load_policy_file(opts.config, false, policy)
                                    : load_policy_file(opts.policy, true, policy);
    if (!st.ok()) return error("config error: " + st.message());
  } else {
    policy.rules = default_policy_rules();
  }
  std::vector<ReportTarget> targets;
  if (Status s = report_targets(opts.reports, policy, targets); !s.ok()) return error("usage error: " + s.message());

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
    std::ifstream f(path, std::ios::binary);
    if (!f) return error("error: " + path + ": cannot read the report: " + std::strerror(errno));
    std::stringstream ss;
    ss << f.rdbuf();
    std::string text = ss.str();
    std::error_code ec;
    std::string canonical = std::filesystem::weakly_canonical(path, ec).string();
    if (auto [it, fresh] = seen.emplace(ec ? path : canonical, path); !fresh)
      return error("error: " + path + ": the same report as " + it->second +
                   "; give each check's report once (its records would count twice)");
    Obj r;
    if (parser.parse(text).get(r) != simdjson::SUCCESS)
      return error("error: " + path + ": not a JSON report of agentlog check");
    try {
      uint64_t rv = num(r, "report_version");
      if (rv != kReportVersion)
        return error("error: " + path + ": report_version " + std::to_string(rv) + "; --merge reads version " +
                     std::to_string(kReportVersion) + " (check again with this agentlog, " AGENTLOG_VERSION ")");
      std::string v = str(r, "agentlog_version");
      if (version_from.empty()) version = v, version_from = path;
      if (v != version)
        return error("error: " + path + ": written by agentlog " + v + ", " + version_from + " by agentlog " +
                     version + "; merge reports of one version");
      Obj p = obj(r, "policy");
      if (str(p, "fingerprint") != fingerprint)
        return error("error: " + path + ": checked under another policy (\"" + str(p, "name") + "\" from \"" +
                     str(p, "origin") + "\") than the one given (\"" + policy.name + "\" from \"" + policy.origin +
                     "\"); give --merge the policy the checks used (--policy or -c)");
      if (out.pipeline.empty()) out.pipeline = str(r, "pipeline"), out.config = str(r, "config");
      merger.add(path, r);
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
  for (RuleType t : {RuleType::LifecyclesComplete, RuleType::EscalationsResolved}) {
    if (!has_rule(policy, t)) continue;
    const std::string rule = std::string(rule_type_name(t));
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
  for (auto* m : {&out.by_event_type, &out.by_decision, &out.by_agent, &out.by_tool})
    cap(*m, policy.limits.max_values);
  for (const auto& [tool, h] : out.data.durations) out.durations_by_tool[tool] = h.summary();

  summarise_inputs(policy, out);
  evaluate_rules(policy, out);

  bool colour = isatty(1) && std::getenv("NO_COLOR") == nullptr;
  for (const auto& t : targets) {
    bool to_stdout = t.path == "-";
    std::string doc = render_report(out, t.format, to_stdout && colour);
    if (to_stdout) {
      if (std::fwrite(doc.data(), 1, doc.size(), stdout) != doc.size() || std::fflush(stdout) != 0)
        return error("error: stdout: cannot write the " + t.format + " report");
      continue;
    }
    std::ofstream f(t.path, std::ios::binary | std::ios::trunc);
    f << doc;
    f.flush();
    if (!f) return error("error: " + t.path + ": cannot write the " + t.format + " report");
  }
  if (!out.data.complete)
    return error("error: a merged check was incomplete (it could not read every input, or was interrupted); "
                 "the merged check is incomplete");
  return out.passed ? kExitPass : kExitFail;
}

}  // namespace agentlog::check

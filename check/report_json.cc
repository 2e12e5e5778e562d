// The JSON report: fixed key order, maps sorted by key, two-space indentation, so the same
// input gives byte-identical output.
#include "check/report.h"
#include "core/json_text.h"

namespace agentlog::check {
namespace {

class Writer {
 public:
  std::string out;

  void open(char c) {
    value_prefix();
    out.push_back(c);
    ++depth_;
    first_ = true;
  }
  void close(char c) {
    --depth_;
    if (!first_) newline();
    out.push_back(c);
    first_ = false;
  }
  void key(std::string_view k) {
    if (!first_) out.push_back(',');
    newline();
    json::append_quoted(out, k);
    out += ": ";
    first_ = true;
    after_key_ = true;
  }
  void str(std::string_view v) {
    value_prefix();
    json::append_quoted(out, v);
    first_ = false;
  }
  void num(uint64_t v) {
    value_prefix();
    out += std::to_string(v);
    first_ = false;
  }
  void raw(std::string_view v) {
    value_prefix();
    out += v;
    first_ = false;
  }
  void boolean(bool b) { raw(b ? "true" : "false"); }

  void kv(std::string_view k, std::string_view v) { key(k), str(v); }
  void kn(std::string_view k, uint64_t v) { key(k), num(v); }
  void counts(std::string_view k, const std::map<std::string, uint64_t>& m) {
    key(k);
    open('{');
    for (const auto& [name, n] : m) kn(name, n);
    close('}');
  }

 private:
  void newline() {
    out.push_back('\n');
    out.append(2 * depth_, ' ');
  }
  void value_prefix() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (depth_ == 0) return;
    if (!first_) out.push_back(',');
    newline();
  }
  int depth_ = 0;
  bool first_ = true, after_key_ = false;
};

void examples(Writer& w, const std::vector<SourceLine>& ex) {
  w.key("examples");
  w.open('[');
  for (const auto& e : ex) {
    w.open('{');
    w.kv("source", e.source);
    w.kn("line", e.line);
    w.kv("note", e.note);
    w.close('}');
  }
  w.close(']');
}

void raw_examples(Writer& w, std::string_view key, const std::vector<Example>& ex) {
  w.key(key);
  w.open('[');
  for (const auto& e : ex) {
    w.open('{');
    w.kn("source", e.source);
    w.kn("line", e.line);
    w.kv("note", e.note);
    w.close('}');
  }
  w.close(']');
}

void raw_tally(Writer& w, const Tally& t) {
  w.open('{');
  w.kn("count", t.count);
  raw_examples(w, "examples", t.examples);
  w.close('}');
}

// The `merge` section: what the rules read besides the totals, for `check --merge`. Inputs
// past limits.max_values are summed in one "(other)" entry (inputs_folded).
void merge_section(Writer& w, const CheckReport& r) {
  const RuleData& d = r.data;
  std::vector<std::string> sources = d.sources;
  std::vector<std::pair<uint32_t, InputTally>> inputs;
  uint64_t n = 0;
  bool folded = d.inputs_folded;
  for (uint32_t i = 0; i < d.inputs.size() && i < d.sources.size(); ++i) {
    const InputTally& a = d.inputs[i];
    if (!listed(a)) continue;
    if (++n <= r.limits.max_values) {
      inputs.emplace_back(i, a);
      continue;
    }
    if (!folded || inputs.back().first != sources.size() - 1) {
      folded = true;
      sources.push_back("(other)");
      InputTally other;
      other.inputs = 0;
      other.by_class.resize(d.classes.size());
      other.examples.resize(d.classes.size());
      inputs.emplace_back(static_cast<uint32_t>(sources.size() - 1), other);
    }
    InputTally& o = inputs.back().second;
    o.inputs += a.inputs;
    o.input = o.input || a.input;
    o.lines += a.lines, o.records += a.records, o.dead += a.dead;
    for (size_t c = 0; c < a.by_class.size() && c < o.by_class.size(); ++c) o.by_class[c] += a.by_class[c];
  }
  w.key("merge");
  w.open('{');
  w.key("complete"), w.boolean(d.complete);
  w.key("sources");
  w.open('[');
  for (const auto& s : sources) w.str(s);
  w.close(']');
  w.key("inputs_folded"), w.boolean(folded);
  w.key("dead_letter_classes");
  w.open('[');
  for (const auto& c : d.classes) {
    w.open('{');
    w.kv("key", c.key);
    w.kv("stage_type", c.stage_type);
    w.key("unclassified"), w.boolean(c.unclassified);
    w.close('}');
  }
  w.close(']');
  w.key("inputs");
  w.open('[');
  for (const auto& [i, a] : inputs) {
    w.open('{');
    w.kn("source", i);
    w.kn("inputs", a.inputs);
    w.key("input"), w.boolean(a.input);
    w.kn("lines", a.lines);
    w.kn("records", a.records);
    w.kn("dead_lettered", a.dead);
    w.key("by_class");
    w.open('[');
    for (uint64_t v : a.by_class) w.num(v);
    w.close(']');
    w.key("examples");
    w.open('[');
    for (const auto& ex : a.examples) {
      w.open('{');
      raw_examples(w, "list", ex);
      w.close('}');
    }
    w.close(']');
    w.close('}');
  }
  w.close(']');
  w.key("rule_tallies");
  w.open('[');
  for (const auto& t : d.rule_tallies) raw_tally(w, t);
  w.close(']');
  raw_examples(w, "schema_examples", d.schema.examples);
  raw_examples(w, "redacted_examples", d.redacted.examples);
  raw_examples(w, "collision_examples", d.collisions.examples);
  w.key("lifecycle_violations");
  w.open('[');
  for (const auto& [k, t] : d.lifecycle) {
    w.open('{');
    w.kv("track", k.first);
    w.kv("violation", k.second);
    w.kn("count", t.count);
    raw_examples(w, "examples", t.examples);
    w.close('}');
  }
  w.close(']');
  w.kn("decided", d.decided);
  w.kn("unknown", d.unknown);
  raw_examples(w, "unresolved_escalations", d.unresolved_escalations);
  w.key("durations");
  w.open('{');
  for (const auto& [tool, h] : d.durations) {
    w.key(tool);
    w.open('{');
    w.kn("count", h.count());
    w.kn("min", h.count() ? h.min() : 0);
    w.kn("max", h.max());
    w.key("samples");
    w.open('[');
    for (uint64_t v : h.samples()) w.num(v);
    w.close(']');
    w.key("buckets");
    w.open('{');
    for (const auto& [b, c] : h.buckets()) w.kn(std::to_string(b), c);
    w.close('}');
    w.close('}');
  }
  w.close('}');
  w.close('}');
}

void outcomes(Writer& w, const LifecycleOutcomes& o) {
  w.kn("complete", o.complete);
  w.kn("failed", o.failed);
  w.kn("orphaned", o.orphaned);
  w.kn("open", o.open);
}

}  // namespace

std::string render_json(const CheckReport& r) {
  Writer w;
  w.open('{');
  w.kn("report_version", kReportVersion);
  w.kv("agentlog_version", AGENTLOG_VERSION);
  w.kv("verdict", r.passed ? "pass" : "fail");
  w.kv("pipeline", r.pipeline);
  w.kv("config", r.config);
  w.key("policy");
  w.open('{');
  w.kv("name", r.policy_name);
  w.kv("origin", r.policy_origin);
  w.kv("fingerprint", r.policy_fingerprint);
  w.kn("rules", r.rules.size());
  w.kn("failed_errors", r.failed_errors);
  w.kn("failed_warnings", r.failed_warnings);
  w.close('}');

  w.key("rules");
  w.open('[');
  for (const auto& res : r.rules) {
    w.open('{');
    w.kv("id", res.rule->id);
    w.kv("type", rule_type_name(res.rule->type));
    w.kv("severity", res.rule->severity == Severity::Error ? "error" : "warning");
    w.kv("status", res.passed ? "pass" : "fail");
    w.kv("message", res.rule->message);
    w.key("actual"), w.raw(res.actual);
    w.key("limit"), w.raw(res.limit);
    w.kv("detail", res.detail);
    examples(w, res.examples);
    w.close('}');
  }
  w.close(']');

  w.key("totals");
  w.open('{');
  w.kn("records_in", r.records_in);
  w.kn("records_out", r.records_out);
  w.kn("dropped", r.dropped);
  w.kn("dead_lettered", r.dead_lettered);
  w.kn("generated", r.generated);
  w.kn("bytes_read", r.bytes_read);
  w.kn("lines_read", r.lines_read);
  w.kn("source_errors", r.source_errors);
  w.close('}');
  w.counts("dead_letter_reasons", r.dead_letter_reasons);

  w.key("inputs");
  w.open('{');
  w.kn("total", r.inputs_total);
  w.key("capped"), w.boolean(r.inputs_total > r.limits.max_values);  // the rest summed as "(other)"
  w.key("by_input");
  w.open('{');
  for (const auto& [name, in] : r.inputs) {
    w.key(name);
    w.open('{');
    w.kn("lines", in.lines);
    w.kn("records", in.records);
    w.kn("dead_lettered", in.dead_lettered);
    w.counts("dead_letter_reasons", in.dead_letter_reasons);
    w.close('}');
  }
  w.close('}');
  w.close('}');

  w.key("counts");
  w.open('{');
  w.counts("event_type", r.by_event_type);
  w.counts("decision", r.by_decision);
  w.counts("agent", r.by_agent);
  w.counts("tool", r.by_tool);
  w.counts("run", r.by_run);
  w.close('}');

  w.key("schema_violations");
  w.open('{');
  w.kn("total", r.schema_violations);
  w.counts("by_stage", r.schema_violations_by_stage);
  w.kn("unclassified", r.unclassified);
  w.close('}');

  w.key("redactions");
  w.open('{');
  w.kn("records", r.records_redacted);
  w.counts("by_rule", r.redactions_by_rule);
  w.close('}');

  w.key("lifecycles");
  w.open('{');
  outcomes(w, r.lifecycle);
  w.key("by_track");
  w.open('{');
  for (const auto& [track, o] : r.lifecycle_by_track) {
    w.key(track);
    w.open('{');
    outcomes(w, o);
    w.close('}');
  }
  w.close('}');
  w.counts("violations", r.lifecycle_violations);
  w.close('}');

  w.key("collisions");
  w.open('{');
  w.kn("total", r.collisions);
  examples(w, r.collision_examples);
  w.close('}');

  w.key("escalations");
  w.open('{');
  w.kn("total", r.escalations);
  w.kn("resolved", r.escalations_resolved);
  w.kn("unresolved", r.escalations_unresolved);
  w.close('}');

  w.key("durations_ms");
  w.open('{');
  for (const auto& [tool, d] : r.durations_by_tool) {
    w.key(tool);
    w.open('{');
    w.kn("count", d.count);
    w.kn("min", d.min);
    w.kn("p50", d.p50);
    w.kn("p90", d.p90);
    w.kn("p99", d.p99);
    w.kn("max", d.max);
    w.close('}');
  }
  w.close('}');

  w.key("runs");
  w.open('{');
  w.kn("listed", r.runs.size());
  w.key("capped"), w.boolean(r.other_runs > 0);  // more runs than limits.max_runs
  w.kn("records_in_other_runs", r.other_runs);
  w.key("list");
  w.open('[');
  for (const auto& run : r.runs) {
    w.open('{');
    w.kv("id", run.id);
    w.kn("records", run.records);
    w.kv("first_time", run.first_time);
    w.kv("last_time", run.last_time);
    w.key("agents");
    w.open('[');
    for (const auto& a : run.agents) w.str(a);
    w.close(']');
    w.counts("decisions", run.decisions);
    w.kn("violations", run.violations);
    w.close('}');
  }
  w.close(']');
  w.close('}');
  merge_section(w, r);
  w.close('}');
  w.out.push_back('\n');
  return w.out;
}

}  // namespace agentlog::check

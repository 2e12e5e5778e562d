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
void merge_section(Writer& writer, const CheckReport& report) {
  const RuleData& data = report.data;
  std::vector<std::string> sources = data.sources;
  std::vector<std::pair<uint32_t, InputTally>> inputs;
  uint64_t listed_inputs = 0;
  bool folded = data.inputs_folded;
  for (uint32_t i = 0; i < data.inputs.size() && i < data.sources.size(); ++i) {
    const InputTally& tally = data.inputs[i];
    if (!listed(tally)) continue;
    if (++listed_inputs <= report.limits.max_values) {
      inputs.emplace_back(i, tally);
      continue;
    }
    if (!folded || inputs.back().first != sources.size() - 1) {
      folded = true;
      sources.push_back("(other)");
      InputTally other;
      other.inputs = 0;
      other.by_class.resize(data.classes.size());
      other.examples.resize(data.classes.size());
      inputs.emplace_back(static_cast<uint32_t>(sources.size() - 1), other);
    }
    InputTally& merged = inputs.back().second;
    merged.inputs += tally.inputs;
    merged.input = merged.input || tally.input;
    merged.lines += tally.lines, merged.records += tally.records, merged.dead += tally.dead;
    for (size_t c = 0; c < tally.by_class.size() && c < merged.by_class.size(); ++c)
      merged.by_class[c] += tally.by_class[c];
  }
  writer.key("merge");
  writer.open('{');
  writer.key("complete"), writer.boolean(data.complete);
  writer.key("sources");
  writer.open('[');
  for (const auto& source : sources) writer.str(source);
  writer.close(']');
  writer.key("inputs_folded"), writer.boolean(folded);
  writer.key("dead_letter_classes");
  writer.open('[');
  for (const auto& dead_class : data.classes) {
    writer.open('{');
    writer.kv("key", dead_class.key);
    writer.kv("stage_type", dead_class.stage_type);
    writer.key("unclassified"), writer.boolean(dead_class.unclassified);
    writer.close('}');
  }
  writer.close(']');
  writer.key("inputs");
  writer.open('[');
  for (const auto& [i, a] : inputs) {
    writer.open('{');
    writer.kn("source", i);
    writer.kn("inputs", a.inputs);
    writer.key("input"), writer.boolean(a.input);
    writer.kn("lines", a.lines);
    writer.kn("records", a.records);
    writer.kn("dead_lettered", a.dead);
    writer.key("by_class");
    writer.open('[');
    for (uint64_t count : a.by_class) writer.num(count);
    writer.close(']');
    writer.key("examples");
    writer.open('[');
    for (const auto& example : a.examples) {
      writer.open('{');
      raw_examples(writer, "list", example);
      writer.close('}');
    }
    writer.close(']');
    writer.close('}');
  }
  writer.close(']');
  writer.key("rule_tallies");
  writer.open('[');
  for (const auto& tally : data.rule_tallies) raw_tally(writer, tally);
  writer.close(']');
  raw_examples(writer, "schema_examples", data.schema.examples);
  raw_examples(writer, "redacted_examples", data.redacted.examples);
  raw_examples(writer, "collision_examples", data.collisions.examples);
  writer.key("lifecycle_violations");
  writer.open('[');
  for (const auto& [k, tally] : data.lifecycle) {
    writer.open('{');
    writer.kv("track", k.first);
    writer.kv("violation", k.second);
    writer.kn("count", tally.count);
    raw_examples(writer, "examples", tally.examples);
    writer.close('}');
  }
  writer.close(']');
  writer.kn("decided", data.decided);
  writer.kn("unknown", data.unknown);
  raw_examples(writer, "unresolved_escalations", data.unresolved_escalations);
  writer.key("durations");
  writer.open('{');
  for (const auto& [tool, h] : data.durations) {
    writer.key(tool);
    writer.open('{');
    writer.kn("count", h.count());
    writer.kn("min", h.count() ? h.min() : 0);
    writer.kn("max", h.max());
    writer.key("samples");
    writer.open('[');
    for (uint64_t sample : h.samples()) writer.num(sample);
    writer.close(']');
    writer.key("buckets");
    writer.open('{');
    for (const auto& [b, dead_class] : h.buckets()) writer.kn(std::to_string(b), dead_class);
    writer.close('}');
    writer.close('}');
  }
  writer.close('}');
  writer.close('}');
}

void outcomes(Writer& w, const LifecycleOutcomes& o) {
  w.kn("complete", o.complete);
  w.kn("failed", o.failed);
  w.kn("orphaned", o.orphaned);
  w.kn("open", o.open);
}

}  // namespace

std::string render_json(const CheckReport& report) {
  Writer writer;
  writer.open('{');
  writer.kn("report_version", kReportVersion);
  writer.kv("agentlog_version", AGENTLOG_VERSION);
  writer.kv("verdict", report.passed ? "pass" : "fail");
  writer.kv("pipeline", report.pipeline);
  writer.kv("config", report.config);
  writer.key("policy");
  writer.open('{');
  writer.kv("name", report.policy_name);
  writer.kv("origin", report.policy_origin);
  writer.kv("fingerprint", report.policy_fingerprint);
  writer.kn("rules", report.rules.size());
  writer.kn("failed_errors", report.failed_errors);
  writer.kn("failed_warnings", report.failed_warnings);
  writer.close('}');

  writer.key("rules");
  writer.open('[');
  for (const auto& res : report.rules) {
    writer.open('{');
    writer.kv("id", res.rule->id);
    writer.kv("type", rule_type_name(res.rule->type));
    writer.kv("severity", res.rule->severity == Severity::Error ? "error" : "warning");
    writer.kv("status", res.passed ? "pass" : "fail");
    writer.kv("message", res.rule->message);
    writer.key("actual"), writer.raw(res.actual);
    writer.key("limit"), writer.raw(res.limit);
    writer.kv("detail", res.detail);
    examples(writer, res.examples);
    writer.close('}');
  }
  writer.close(']');

  writer.key("totals");
  writer.open('{');
  writer.kn("records_in", report.records_in);
  writer.kn("records_out", report.records_out);
  writer.kn("dropped", report.dropped);
  writer.kn("dead_lettered", report.dead_lettered);
  writer.kn("generated", report.generated);
  writer.kn("bytes_read", report.bytes_read);
  writer.kn("lines_read", report.lines_read);
  writer.kn("source_errors", report.source_errors);
  writer.close('}');
  writer.counts("dead_letter_reasons", report.dead_letter_reasons);

  writer.key("inputs");
  writer.open('{');
  writer.kn("total", report.inputs_total);
  writer.key("capped"), writer.boolean(report.inputs_total > report.limits.max_values);  // the rest summed as "(other)"
  writer.key("by_input");
  writer.open('{');
  for (const auto& [name, in] : report.inputs) {
    writer.key(name);
    writer.open('{');
    writer.kn("lines", in.lines);
    writer.kn("records", in.records);
    writer.kn("dead_lettered", in.dead_lettered);
    writer.counts("dead_letter_reasons", in.dead_letter_reasons);
    writer.close('}');
  }
  writer.close('}');
  writer.close('}');

  writer.key("counts");
  writer.open('{');
  writer.counts("event_type", report.by_event_type);
  writer.counts("decision", report.by_decision);
  writer.counts("agent", report.by_agent);
  writer.counts("tool", report.by_tool);
  writer.counts("run", report.by_run);
  writer.close('}');

  writer.key("schema_violations");
  writer.open('{');
  writer.kn("total", report.schema_violations);
  writer.counts("by_stage", report.schema_violations_by_stage);
  writer.kn("unclassified", report.unclassified);
  writer.close('}');

  writer.key("redactions");
  writer.open('{');
  writer.kn("records", report.records_redacted);
  writer.counts("by_rule", report.redactions_by_rule);
  writer.close('}');

  writer.key("lifecycles");
  writer.open('{');
  outcomes(writer, report.lifecycle);
  writer.key("by_track");
  writer.open('{');
  for (const auto& [track, o] : report.lifecycle_by_track) {
    writer.key(track);
    writer.open('{');
    outcomes(writer, o);
    writer.close('}');
  }
  writer.close('}');
  writer.counts("violations", report.lifecycle_violations);
  writer.close('}');

  writer.key("collisions");
  writer.open('{');
  writer.kn("total", report.collisions);
  examples(writer, report.collision_examples);
  writer.close('}');

  writer.key("escalations");
  writer.open('{');
  writer.kn("total", report.escalations);
  writer.kn("resolved", report.escalations_resolved);
  writer.kn("unresolved", report.escalations_unresolved);
  writer.close('}');

  writer.key("durations_ms");
  writer.open('{');
  for (const auto& [tool, d] : report.durations_by_tool) {
    writer.key(tool);
    writer.open('{');
    writer.kn("count", d.count);
    writer.kn("min", d.min);
    writer.kn("p50", d.p50);
    writer.kn("p90", d.p90);
    writer.kn("p99", d.p99);
    writer.kn("max", d.max);
    writer.close('}');
  }
  writer.close('}');

  writer.key("runs");
  writer.open('{');
  writer.kn("listed", report.runs.size());
  writer.key("capped"), writer.boolean(report.other_runs > 0);  // more runs than limits.max_runs
  writer.kn("records_in_other_runs", report.other_runs);
  writer.key("list");
  writer.open('[');
  for (const auto& run : report.runs) {
    writer.open('{');
    writer.kv("id", run.id);
    writer.kn("records", run.records);
    writer.kv("first_time", run.first_time);
    writer.kv("last_time", run.last_time);
    writer.key("agents");
    writer.open('[');
    for (const auto& agent : run.agents) writer.str(agent);
    writer.close(']');
    writer.counts("decisions", run.decisions);
    writer.kn("violations", run.violations);
    writer.close('}');
  }
  writer.close(']');
  writer.close('}');
  merge_section(writer, report);
  writer.close('}');
  writer.out.push_back('\n');
  return writer.out;
}

}  // namespace agentlog::check

// A run's stats: the one-line summary and the JSON document (`--stats-json`).
#include "core/pipeline.h"

namespace agentlog {

std::string stats_summary(const RunStats& s) {
  std::string out = "agentlog: " + std::to_string(s.records_in) + " in, " + std::to_string(s.records_out) +
                    " out, " + std::to_string(s.dropped) + " dropped, " + std::to_string(s.dead_lettered) +
                    " dead-lettered, " + std::to_string(s.records_generated) + " generated, " +
                    std::to_string(s.blank_lines) + " blank lines skipped";
  if (s.source_errors) out += ", " + std::to_string(s.source_errors) + " unreadable sources";
  if (s.failed || s.generated_failed)
    out += ", " + std::to_string(s.failed) + " failed (not written: an output failed)" +
           (s.generated_failed ? ", " + std::to_string(s.generated_failed) + " generated failed" : "");
  if (s.output_dead_lettered) out += ", " + std::to_string(s.output_dead_lettered) + " undeliverable by outputs (dead-lettered)";
  if (s.interrupted) out += " (interrupted)";
  return out;
}

std::string stats_to_json(const PipelineSpec& spec, const RunStats& s) {
  std::string o = "{";
  auto num = [&](std::string_view k, uint64_t v, bool comma = true) {
    json::append_quoted(o, k);
    o += ":" + std::to_string(v);
    if (comma) o += ",";
  };
  o += "\"pipeline\":";
  json::append_quoted(o, spec.name);
  o += ",";
  num("records_in", s.records_in);
  num("records_out", s.records_out);
  num("dropped", s.dropped);
  num("dead_lettered", s.dead_lettered);
  num("records_generated", s.records_generated);
  num("generated_out", s.generated_out);
  num("generated_dropped", s.generated_dropped);
  num("generated_dead_lettered", s.generated_dead_lettered);
  num("warnings_out", s.warnings_out);
  num("blank_lines", s.blank_lines);
  num("lines_read", s.lines_read);
  num("bytes_read", s.bytes_read);
  num("source_errors", s.source_errors);
  num("output_dead_lettered", s.output_dead_lettered);
  num("failed", s.failed);
  num("generated_failed", s.generated_failed);
  o += "\"interrupted\":";
  o += s.interrupted ? "true," : "false,";
  o += "\"dead_letter_reasons\":{";
  bool first = true;
  for (auto& [k, v] : s.dead_letter_reasons) {
    if (!first) o += ",";
    first = false;
    num(k, v, false);
  }
  o += "},\"sources\":[";
  for (size_t i = 0; i < s.sources.size(); ++i) {
    if (i) o += ",";
    o += "{\"name\":";
    json::append_quoted(o, s.sources[i].name);
    o += ",";
    num("lines", s.sources[i].lines);
    num("bytes", s.sources[i].bytes);
    o += "\"error\":";
    if (s.sources[i].error.empty()) o += "null";
    else json::append_quoted(o, s.sources[i].error);
    o += "}";
  }
  o += "],\"stages\":[";
  for (size_t i = 0; i < s.stages.size() && i < spec.stages.size(); ++i) {
    if (i) o += ",";
    const StageCounters& c = s.stages[i];
    o += "{\"name\":";
    json::append_quoted(o, spec.stages[i].name);
    o += ",\"type\":";
    json::append_quoted(o, spec.stages[i].type);
    o += ",";
    num("in", c.in);
    num("dropped", c.dropped);
    num("dead_lettered", c.dead_lettered);
    num("generated", c.generated, false);
    std::string extra = spec.stages[i].stage->stats_json();
    if (!extra.empty()) o += "," + extra;
    o += "}";
  }
  // Outputs that keep their own counters (syslog: sent, retries, reconnects, ...).
  // Inputs that keep their own counters (nats: fetched, redelivered, acked, ...); the
  // member is there only when one does.
  std::string inputs;
  for (const auto& in : spec.inputs) {
    std::string extra = in->stats_json();
    if (!extra.empty()) inputs += (inputs.empty() ? "{" : ",{") + extra + "}";
  }
  if (!inputs.empty()) o += "],\"inputs\":[" + inputs;
  o += "],\"outputs\":[";
  for (size_t i = 0; i < spec.outputs.size(); ++i) {
    if (i) o += ",";
    o += "{\"output\":";
    json::append_quoted(o, spec.outputs[i]->describe());
    std::string extra = spec.outputs[i]->stats_json();
    if (!extra.empty()) o += "," + extra;
    o += "}";
  }
  // The `warnings:` outputs, in the same form.
  o += "],\"warnings_outputs\":[";
  for (size_t i = 0; i < spec.warnings.size(); ++i) {
    if (i) o += ",";
    o += "{\"output\":";
    json::append_quoted(o, spec.warnings[i]->describe());
    std::string extra = spec.warnings[i]->stats_json();
    if (!extra.empty()) o += "," + extra;
    o += "}";
  }
  o += "]";
  // The configured dead-letter output, in the same form (null: the default, stderr).
  o += ",\"dead_letter_output\":";
  if (spec.dead_letter) {
    o += "{\"output\":";
    json::append_quoted(o, spec.dead_letter->describe());
    std::string extra = spec.dead_letter->stats_json();
    if (!extra.empty()) o += "," + extra;
    o += "}";
  } else {
    o += "null";
  }
  o += "}";
  return o;
}

}  // namespace agentlog

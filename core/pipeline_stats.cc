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

std::string stats_to_json(const PipelineSpec& spec, const RunStats& stats) {
  std::string text = "{";
  auto num = [&](std::string_view key, uint64_t value, bool comma = true) {
    json::append_quoted(text, key);
    text += ":" + std::to_string(value);
    if (comma) text += ",";
  };
  text += "\"pipeline\":";
  json::append_quoted(text, spec.name);
  text += ",";
  num("records_in", stats.records_in);
  num("records_out", stats.records_out);
  num("dropped", stats.dropped);
  num("dead_lettered", stats.dead_lettered);
  num("records_generated", stats.records_generated);
  num("generated_out", stats.generated_out);
  num("generated_dropped", stats.generated_dropped);
  num("generated_dead_lettered", stats.generated_dead_lettered);
  num("warnings_out", stats.warnings_out);
  num("blank_lines", stats.blank_lines);
  num("lines_read", stats.lines_read);
  num("bytes_read", stats.bytes_read);
  num("source_errors", stats.source_errors);
  num("output_dead_lettered", stats.output_dead_lettered);
  num("failed", stats.failed);
  num("generated_failed", stats.generated_failed);
  text += "\"interrupted\":";
  text += stats.interrupted ? "true," : "false,";
  text += "\"dead_letter_reasons\":{";
  bool first = true;
  for (auto& [k, v] : stats.dead_letter_reasons) {
    if (!first) text += ",";
    first = false;
    num(k, v, false);
  }
  text += "},\"sources\":[";
  for (size_t i = 0; i < stats.sources.size(); ++i) {
    if (i) text += ",";
    text += "{\"name\":";
    json::append_quoted(text, stats.sources[i].name);
    text += ",";
    num("lines", stats.sources[i].lines);
    num("bytes", stats.sources[i].bytes);
    text += "\"error\":";
    if (stats.sources[i].error.empty()) text += "null";
    else json::append_quoted(text, stats.sources[i].error);
    text += "}";
  }
  text += "],\"stages\":[";
  for (size_t i = 0; i < stats.stages.size() && i < spec.stages.size(); ++i) {
    if (i) text += ",";
    const StageCounters& counters = stats.stages[i];
    text += "{\"name\":";
    json::append_quoted(text, spec.stages[i].name);
    text += ",\"type\":";
    json::append_quoted(text, spec.stages[i].type);
    text += ",";
    num("in", counters.in);
    num("dropped", counters.dropped);
    num("dead_lettered", counters.dead_lettered);
    num("generated", counters.generated, false);
    std::string extra = spec.stages[i].stage->stats_json();
    if (!extra.empty()) text += "," + extra;
    text += "}";
  }
  // Outputs that keep their own counters (syslog: sent, retries, reconnects, ...).
  // Inputs that keep their own counters (nats: fetched, redelivered, acked, ...); the
  // member is there only when one does.
  std::string inputs;
  for (const auto& input : spec.inputs) {
    std::string extra = input->stats_json();
    if (!extra.empty()) inputs += (inputs.empty() ? "{" : ",{") + extra + "}";
  }
  if (!inputs.empty()) text += "],\"inputs\":[" + inputs;
  text += "],\"outputs\":[";
  for (size_t i = 0; i < spec.outputs.size(); ++i) {
    if (i) text += ",";
    text += "{\"output\":";
    json::append_quoted(text, spec.outputs[i]->describe());
    std::string extra = spec.outputs[i]->stats_json();
    if (!extra.empty()) text += "," + extra;
    text += "}";
  }
  // The `warnings:` outputs, in the same form.
  text += "],\"warnings_outputs\":[";
  for (size_t i = 0; i < spec.warnings.size(); ++i) {
    if (i) text += ",";
    text += "{\"output\":";
    json::append_quoted(text, spec.warnings[i]->describe());
    std::string extra = spec.warnings[i]->stats_json();
    if (!extra.empty()) text += "," + extra;
    text += "}";
  }
  text += "]";
  // The configured dead-letter output, in the same form (null: the default, stderr).
  text += ",\"dead_letter_output\":";
  if (spec.dead_letter) {
    text += "{\"output\":";
    json::append_quoted(text, spec.dead_letter->describe());
    std::string extra = spec.dead_letter->stats_json();
    if (!extra.empty()) text += "," + extra;
    text += "}";
  } else {
    text += "null";
  }
  text += "}";
  return text;
}

}  // namespace agentlog

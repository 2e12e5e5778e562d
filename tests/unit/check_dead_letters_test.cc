// `agentlog check`: dead letters by class and input, the rules max_dead_letters and min_records,
// the default policy, and how validate stages' dead letters count as schema violations
// (including records of no family, reason `unclassified...`, whatever the stage's stats say).
#include <catch2/catch.hpp>

#include "check/report_collector.h"
#include "core/config.h"

using namespace agentlog;
using namespace agentlog::check;

namespace {

PipelineSpec pipeline(const std::string& yaml) {
  PipelineSpec spec;
  Status st = load_pipeline_text(yaml, "p.yaml", spec);
  REQUIRE(st.ok());
  return spec;
}

Policy policy(const std::string& yaml) {
  Policy p;
  Status st = load_policy_text(yaml, "policy.yaml", true, p);
  INFO(st.message());
  REQUIRE(st.ok());
  return p;
}

const RuleResult& rule(const CheckReport& r, std::string_view id) {
  for (const auto& res : r.rules)
    if (res.rule->id == id) return res;
  FAIL("no rule " << id);
  return r.rules.front();
}

void keep(ReportCollector& c, std::string_view source, uint64_t line, bool warning = false) {
  Record r;
  r.reset_owned(R"({"event_type":"tool_call","agent_id":"a","tool_name":"t","run_id":"r"})");
  REQUIRE(r.parse() == simdjson::SUCCESS);
  r.line = line;
  r.generated = warning;
  c.on_record(r, source);
}

void dead(ReportCollector& c, std::string_view source, uint64_t line, std::string_view stage, std::string_view reason) {
  Record r;
  r.line = line;
  c.on_dead_letter(r, source, stage, reason);
}

RunStats stats(std::vector<std::pair<std::string, uint64_t>> sources, std::map<std::string, uint64_t> reasons) {
  RunStats s;
  for (auto& [name, lines] : sources) {
    s.sources.push_back({name, lines, 0, {}});
    s.lines_read += lines;
  }
  s.dead_letter_reasons = std::move(reasons);
  for (auto& [k, v] : s.dead_letter_reasons) s.dead_lettered += v;
  return s;
}

}  // namespace

TEST_CASE("check: a validate stage's unclassified dead letters are schema violations and match their reasons",
          "[check]") {
  PipelineSpec spec = pipeline(
      "pipeline:\n  stages:\n    - {type: validate, name: catch-all, schema: agent-activity}\n"
      "    - {type: redact, replacement: mask}\n");
  Policy p = policy(
      "policy:\n  rules:\n"
      "    - {type: max_schema_violations}\n"
      "    - {id: unclassified, type: max_dead_letters, reasons: [unclassified]}\n"
      "    - {id: by-type, type: max_dead_letters, reasons: [validate]}\n"
      "    - {id: by-name, type: max_dead_letters, reasons: [catch-all]}\n"
      "    - {id: input, type: max_dead_letters, reasons: [input], max: 1}\n"
      "    - {id: utf8, type: max_dead_letters, reasons: [input.invalid_utf8]}\n"
      "    - {id: records, type: min_records, min: 3}\n");
  ReportCollector c(spec, p);
  keep(c, "a.jsonl", 1);
  dead(c, "a.jsonl", 2, "catch-all", "unclassified: event_type \"tool_cal\" is of no configured family");
  dead(c, "a.jsonl", 3, "catch-all", "/decision: \"approve\" is not one of allow, block, needs_review, unknown");
  keep(c, "a.jsonl", 4);
  keep(c, "a.jsonl", 4, /*warning=*/true);  // a warning is not a record of the input
  dead(c, "b.jsonl", 1, "input", "malformed JSON: The JSON document has an improper structure");
  CheckReport r = c.finish(stats({{"a.jsonl", 4}, {"b.jsonl", 1}}, {{"catch-all", 2}, {"input.malformed_json", 1}}),
                           "p.yaml");

  // The stage ran on no record here, so its `invalid` stat is 0: the dead letters seen count.
  CHECK(r.schema_violations == 2);
  CHECK(r.schema_violations_by_stage.at("catch-all") == 2);
  CHECK(r.unclassified == 1);
  CHECK_FALSE(rule(r, "max_schema_violations").passed);
  CHECK(rule(r, "unclassified").actual == "1");
  REQUIRE(rule(r, "unclassified").examples.size() == 1);
  CHECK(rule(r, "unclassified").examples[0].line == 2);
  CHECK(rule(r, "by-type").actual == "2");
  CHECK(rule(r, "by-name").actual == "2");
  CHECK(rule(r, "input").actual == "1");
  CHECK(rule(r, "input").passed);
  CHECK(rule(r, "utf8").actual == "0");
  CHECK(rule(r, "records").actual == "2");
  CHECK_FALSE(rule(r, "records").passed);

  REQUIRE(r.inputs.size() == 2);
  const InputSummary& a = r.inputs.at("a.jsonl");
  CHECK(a.lines == 4);
  CHECK(a.records == 2);
  CHECK(a.dead_lettered == 2);
  CHECK(a.dead_letter_reasons == std::map<std::string, uint64_t>{{"catch-all", 2}});
  const InputSummary& b = r.inputs.at("b.jsonl");
  CHECK(b.records == 0);
  CHECK(b.dead_letter_reasons == std::map<std::string, uint64_t>{{"input.malformed_json", 1}});
}

TEST_CASE("check: per-input limits and the listed inputs are bounded by max_values", "[check]") {
  PipelineSpec spec = pipeline("pipeline: {}\n");
  Policy p = policy(
      "policy:\n  limits: {max_values: 2}\n  rules:\n"
      "    - {id: each, type: max_dead_letters, max_share: 0.5, per_input: true}\n"
      "    - {id: all, type: max_dead_letters, max_share: 0.5}\n"
      "    - {id: each-yields, type: min_records, per_input: true}\n");
  ReportCollector c(spec, p);
  keep(c, "a", 1);
  dead(c, "b", 1, "input", "invalid UTF-8 at byte 3");
  keep(c, "c", 1);
  keep(c, "c", 2);
  CheckReport r = c.finish(stats({{"a", 1}, {"b", 1}, {"c", 2}}, {{"input.invalid_utf8", 1}}), "p.yaml");
  CHECK(rule(r, "each").actual == "1");  // b: 1 of 1 line
  CHECK_FALSE(rule(r, "each").passed);
  CHECK(rule(r, "all").actual == "0.25");
  CHECK(rule(r, "all").passed);
  CHECK_FALSE(rule(r, "each-yields").passed);
  CHECK(rule(r, "each-yields").examples.size() == 1);
  CHECK(rule(r, "each-yields").examples[0].source == "b");
  CHECK(rule(r, "each-yields").examples[0].line == 0);
  // Two inputs listed by first appearance, the third summed as (other).
  CHECK(r.inputs_total == 3);
  REQUIRE(r.inputs.size() == 3);
  CHECK(r.inputs.count("a") == 1);
  CHECK(r.inputs.count("b") == 1);
  CHECK(r.inputs.at("(other)").records == 2);
}

TEST_CASE("check: an output's dead letters count in the totals of max_dead_letters", "[check]") {
  PipelineSpec spec = pipeline("pipeline: {}\n");
  Policy p = policy(
      "policy:\n  rules:\n"
      "    - {id: outputs, type: max_dead_letters, reasons: [output]}\n"
      "    - {id: syslog, type: max_dead_letters, reasons: [output:syslog]}\n"
      "    - {id: input, type: max_dead_letters, reasons: [input]}\n");
  ReportCollector c(spec, p);
  keep(c, "a", 1);
  CheckReport r = c.finish(stats({{"a", 1}}, {{"output:syslog.too_long", 2}}), "p.yaml");
  CHECK(rule(r, "outputs").actual == "2");
  CHECK(rule(r, "syslog").actual == "2");
  CHECK(rule(r, "input").actual == "0");
}

TEST_CASE("check: the default policy has no schema violation, no dead letter and a record", "[check]") {
  Policy p;
  REQUIRE(load_policy_text("pipeline: {}\n", "c.yaml", false, p).ok());
  REQUIRE(p.rules.size() == 3);
  CHECK(p.rules[0].type == RuleType::MaxSchemaViolations);
  CHECK(p.rules[0].max == 0);
  CHECK(p.rules[1].type == RuleType::MaxDeadLetters);
  CHECK(p.rules[1].max == 0);
  CHECK_FALSE(p.rules[1].use_share);
  CHECK(p.rules[1].reasons.empty());
  CHECK_FALSE(p.rules[1].per_input);
  CHECK(p.rules[2].type == RuleType::MinRecords);
  CHECK(p.rules[2].min == 1);
  CHECK_FALSE(p.rules[2].per_input);
  for (const auto& r : p.rules) CHECK(r.severity == Severity::Error);

  // An empty input fails it; one record passes it.
  PipelineSpec spec = pipeline("pipeline: {}\n");
  {
    ReportCollector c(spec, p);
    CHECK_FALSE(c.finish(stats({{"empty.jsonl", 0}}, {}), "c.yaml").passed);
  }
  ReportCollector c(spec, p);
  keep(c, "one.jsonl", 1);
  CHECK(c.finish(stats({{"one.jsonl", 1}}, {}), "c.yaml").passed);
}

TEST_CASE("check: reasons are checked against the pipeline's stages", "[check]") {
  Policy p = policy(
      "policy:\n  rules:\n"
      "    - {type: max_dead_letters, reasons: [input, unclassified, output:syslog, normalise]}\n");
  DeadLetterVocabulary v{{"normalize", "schema"}, {"normalize", "validate"}};
  Status st = check_reasons(p, v);
  CHECK(st.message() ==
        "policy.yaml:3:78: policy.rules[0].reasons[3]: unknown dead-letter reason \"normalise\" for this pipeline; "
        "did you mean \"normalize\"? Allowed: input, input.malformed_json, input.invalid_utf8, input.not_an_object, "
        "input.line_too_long, unclassified, normalize, schema, validate, output, output:<type>");
  v.stage_names.push_back("normalise");
  CHECK(check_reasons(p, v).ok());
}

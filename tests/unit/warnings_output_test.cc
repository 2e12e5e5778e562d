// The `warnings:` output section: config checks, routing of generated warnings, and the
// same open/flush/reopen/close/undelivered handling as the records' outputs.
#include <csignal>
#include <cstdlib>

#include <catch2/catch.hpp>

#include "core/signals.h"
#include "tests/test_support.h"

using namespace agentlog;
using namespace agentlog::test;

namespace {

std::string load_error(const std::string& yaml) {
  PipelineSpec spec;
  Status st = load_pipeline_text(yaml, "w.yaml", spec);
  return st.ok() ? "" : st.message();
}

// Emits a warning after every input record with "warn":true.
class WarnStage : public BatchStage {
 public:
  void process_batch(Batch& batch) override {
    for (Record* r : batch.records) {
      bool w = false;
      if (!r->generated && r->root()["warn"].get(w) == simdjson::SUCCESS && w)
        batch.emit("{\"event_type\":\"lifecycle_violation\",\"line\":" + std::to_string(r->line) + "}", r);
    }
  }
};

// Counts the calls the runner makes; with `give_up`, hands every record back as undelivered.
struct OutputLog {
  int opens = 0, flushes = 0, reopens = 0, closes = 0;
  std::vector<std::string> lines;
};
class CountingOutput : public Output {
 public:
  CountingOutput(OutputLog& log, bool give_up) : log_(log), give_up_(give_up) {}
  Status open() override {
    ++log_.opens;
    return {};
  }
  Status write_line(std::string_view line) override {
    log_.lines.emplace_back(line);
    return {};
  }
  Status write_record(Record& r) override {
    if (give_up_) {
      lost_.push_back({std::string(r.bytes()), r.source, r.line, r.generated, "output:test", "gave up", "gave_up"});
      return {};
    }
    return write_line(r.bytes());
  }
  Status flush() override {
    ++log_.flushes;
    return {};
  }
  Status reopen() override {
    ++log_.reopens;
    return {};
  }
  Status close() override {
    ++log_.closes;
    return {};
  }
  void take_undelivered(std::vector<Undelivered>& out) override {
    for (auto& u : lost_) out.push_back(std::move(u));
    lost_.clear();
  }
  std::string describe() const override { return "counting"; }
  std::string stats_json() const override { return "\"calls\":" + std::to_string(log_.flushes > 0); }

 private:
  OutputLog& log_;
  bool give_up_;
  std::vector<Undelivered> lost_;
};

}  // namespace

TEST_CASE("warnings: one output or a list of outputs", "[warnings][config]") {
  PipelineSpec one;
  REQUIRE(load_pipeline_text("pipeline:\n  warnings: {type: stderr}\n", "w.yaml", one).ok());
  CHECK(one.warnings.size() == 1);
  CHECK(one.warnings[0]->describe() == "stderr");
  PipelineSpec two;
  REQUIRE(load_pipeline_text("pipeline:\n  warnings:\n    - {type: stderr}\n    - {type: file, path: w.jsonl}\n", "w.yaml", two).ok());
  REQUIRE(two.warnings.size() == 2);
  CHECK(two.warnings[1]->describe() == "w.jsonl");
  PipelineSpec none;
  REQUIRE(load_pipeline_text("pipeline: {}\n", "w.yaml", none).ok());
  CHECK(none.warnings.empty());
  // Streams may be shared; only files need their own path.
  PipelineSpec streams;
  CHECK(load_pipeline_text("pipeline:\n  outputs: [{type: stdout}]\n  warnings: {type: stdout}\n  dead_letter: {type: stdout}\n",
                           "w.yaml", streams)
            .ok());
}

TEST_CASE("warnings: config errors are exact", "[warnings][config]") {
  CHECK(load_error("pipeline:\n  warnings: ~\n") ==
        "w.yaml:2:13: pipeline.warnings: expected an output (a mapping with a \"type\" key) or a list of outputs");
  CHECK(load_error("pipeline:\n  warnings: []\n") ==
        "w.yaml:2:13: pipeline.warnings: must name at least one output; without `warnings:` warnings go to the outputs");
  CHECK(load_error("pipeline:\n  warnings: [stdout]\n") == "w.yaml:2:14: pipeline.warnings[0]: expected a mapping with a \"type\" key");
  CHECK(load_error("pipeline:\n  warnings: {path: w.jsonl}\n") ==
        "w.yaml:2:13: pipeline.warnings.type: required option is missing (the output type). Allowed: stdout, stderr, file, syslog, nats");
  CHECK(load_error("pipeline:\n  warnings: {type: file, path: \"\"}\n") ==
        "w.yaml:2:32: pipeline.warnings.path: must not be empty");
  CHECK(load_error("pipeline:\n  warnings: {type: stdout, path: w.jsonl}\n") ==
        "w.yaml:2:28: pipeline.warnings.path: unknown option \"path\". Allowed: type");
}

TEST_CASE("warnings: a file path used twice is a config error", "[warnings][config]") {
  ::setenv("AGENTLOG_T_WARN", "same.jsonl", 1);
  // Found after environment substitution, and across outputs, warnings and the dead letters.
  CHECK(load_error("pipeline:\n  warnings: {type: file, path: \"${AGENTLOG_T_WARN}\"}\n"
                   "  dead_letter: {type: file, path: same.jsonl}\n") ==
        "w.yaml:3:35: pipeline.dead_letter.path: \"same.jsonl\" is the same file as pipeline.warnings.path "
        "\"same.jsonl\" (line 2); every file output needs its own path");
  CHECK(load_error("pipeline:\n  outputs:\n    - {type: file, path: a.jsonl}\n    - {type: file, path: ./x/../a.jsonl}\n") ==
        "w.yaml:4:26: pipeline.outputs[1].path: \"./x/../a.jsonl\" is the same file as pipeline.outputs[0].path "
        "\"a.jsonl\" (line 3); every file output needs its own path");
  CHECK(load_error("pipeline:\n  outputs: [{type: file, path: a.jsonl}]\n  dead_letter: {type: file, path: a.jsonl}\n") ==
        "w.yaml:3:35: pipeline.dead_letter.path: \"a.jsonl\" is the same file as pipeline.outputs[0].path "
        "\"a.jsonl\" (line 2); every file output needs its own path");
}

TEST_CASE("warnings: generated warnings go to the warnings outputs, records to the outputs", "[warnings][pipeline]") {
  auto dir = temp_dir("warnings-routing");
  write_file(dir / "in.jsonl", "{\"n\":1,\"warn\":true}\n{\"n\":2}\nnot json\n{\"n\":4,\"warn\":true}\n");
  OutputLog records, warnings_a, warnings_b, dead;
  PipelineSpec spec;
  spec.stages.push_back({"warn", "warn", std::make_unique<WarnStage>()});
  spec.outputs.push_back(std::make_unique<CountingOutput>(records, false));
  spec.warnings.push_back(std::make_unique<CountingOutput>(warnings_a, false));
  spec.warnings.push_back(std::make_unique<CountingOutput>(warnings_b, false));
  spec.dead_letter = std::make_unique<CountingOutput>(dead, false);
  RunOptions opts;
  opts.inputs = {(dir / "in.jsonl").string()};
  opts.quiet = true;
  RunStats stats;
  std::string error;
  REQUIRE(run_pipeline(spec, opts, stats, error) == 0);
  CHECK(records.lines == std::vector<std::string>{"{\"n\":1,\"warn\":true}", "{\"n\":2}", "{\"n\":4,\"warn\":true}"});
  std::vector<std::string> expected_warnings{"{\"event_type\":\"lifecycle_violation\",\"line\":1}",
                                             "{\"event_type\":\"lifecycle_violation\",\"line\":4}"};
  CHECK(warnings_a.lines == expected_warnings);
  CHECK(warnings_b.lines == expected_warnings);
  CHECK(dead.lines.size() == 1);
  CHECK(stats.records_out == 3);
  CHECK(stats.generated_out == 2);
  CHECK(stats.warnings_out == 2);
  // Every output is opened, flushed and closed once per run, warnings outputs too.
  for (const OutputLog* l : {&records, &warnings_a, &warnings_b, &dead}) {
    CHECK(l->opens == 1);
    CHECK(l->flushes >= 1);
    CHECK(l->closes == 1);
  }
  std::string json = stats_to_json(spec, stats);
  CHECK(json.find("\"warnings_out\":2,") != std::string::npos);
  CHECK(json.find("\"warnings_outputs\":[{\"output\":\"counting\",\"calls\":1},{\"output\":\"counting\",\"calls\":1}]") !=
        std::string::npos);
}

TEST_CASE("warnings: without a warnings section they go to the outputs", "[warnings][pipeline]") {
  auto dir = temp_dir("warnings-default");
  write_file(dir / "in.jsonl", "{\"n\":1,\"warn\":true}\n{\"n\":2}\n");
  PipelineSpec spec;
  spec.stages.push_back({"warn", "warn", std::make_unique<WarnStage>()});
  RunResult r = run_captured(spec, {(dir / "in.jsonl").string()}, dir);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "{\"n\":1,\"warn\":true}\n{\"event_type\":\"lifecycle_violation\",\"line\":1}\n{\"n\":2}\n");
  CHECK(r.warnings.empty());
  CHECK(r.stats.warnings_out == 1);
  CHECK(stats_to_json(spec, r.stats).find("\"warnings_outputs\":[]") != std::string::npos);
}

TEST_CASE("warnings: what a warnings output gives up on is dead-lettered", "[warnings][pipeline]") {
  auto dir = temp_dir("warnings-undelivered");
  write_file(dir / "in.jsonl", "{\"n\":1,\"warn\":true}\n");
  OutputLog records, warnings, dead;
  PipelineSpec spec;
  spec.stages.push_back({"warn", "warn", std::make_unique<WarnStage>()});
  spec.outputs.push_back(std::make_unique<CountingOutput>(records, false));
  spec.warnings.push_back(std::make_unique<CountingOutput>(warnings, true));
  spec.dead_letter = std::make_unique<CountingOutput>(dead, false);
  RunOptions opts;
  opts.inputs = {(dir / "in.jsonl").string()};
  opts.quiet = true;
  RunStats stats;
  std::string error;
  REQUIRE(run_pipeline(spec, opts, stats, error) == 0);
  CHECK(warnings.lines.empty());
  REQUIRE(dead.lines.size() == 1);
  CHECK(dead.lines[0] == dead_letter_line((dir / "in.jsonl").string(), 1, "output:test", "gave up",
                                          "{\"event_type\":\"lifecycle_violation\",\"line\":1}", true));
  CHECK(stats.output_dead_lettered == 1);
  CHECK(stats.dead_letter_reasons["output:test.gave_up"] == 1);
}

TEST_CASE("warnings: SIGHUP reopens the warnings outputs", "[warnings][pipeline]") {
  auto dir = temp_dir("warnings-reopen");
  write_file(dir / "in.jsonl", "{\"n\":1,\"warn\":true}\n");
  OutputLog records, warnings, dead;
  PipelineSpec spec;
  spec.stages.push_back({"warn", "warn", std::make_unique<WarnStage>()});
  spec.outputs.push_back(std::make_unique<CountingOutput>(records, false));
  spec.warnings.push_back(std::make_unique<CountingOutput>(warnings, false));
  spec.dead_letter = std::make_unique<CountingOutput>(dead, false);
  install_signal_handlers();
  std::raise(SIGHUP);  // served at the run's first flush
  RunOptions opts;
  opts.inputs = {(dir / "in.jsonl").string()};
  opts.quiet = true;
  RunStats stats;
  std::string error;
  REQUIRE(run_pipeline(spec, opts, stats, error) == 0);
  CHECK(records.reopens == 1);
  CHECK(warnings.reopens == 1);
  CHECK(dead.reopens == 1);
}

TEST_CASE("warnings: schema `warning` rejects records that are not warnings", "[warnings][schema]") {
  auto dir = temp_dir("warnings-schema-negative");
  const std::string ok_violation =
      R"({"event_type":"lifecycle_violation","violation":"open_at_end","profile":"p","track":"t","key":"k","agent_id":"a","expected":[],"lines":[{"source":"s","line":1}],"event_time":"2026-02-03T14:00:00.000Z"})";
  const std::string ok_collision =
      R"({"event_type":"instrumentation_warning","warning":"action_id_collision","action_id":"x","run_id":"r","established_by":"a","reused_by":"b","frontier_item_id":"","established_frontier_item_id":"","lines":[{"source":"s","line":1},{"source":"s","line":2}]})";
  const std::vector<std::string> bad = {
      R"({"event_type":"tool_call"})",
      R"({"event_type":"lifecycle_violation","violation":"late","profile":"p","track":"t","key":"k","agent_id":"a","expected":[],"lines":[{"source":"s","line":1}]})",
      R"({"event_type":"lifecycle_violation","violation":"orphan","profile":"p","track":"t","key":"k","agent_id":"a","expected":[],"lines":[]})",
      R"({"event_type":"lifecycle_violation","violation":"orphan","profile":"p","track":"t","key":"k","agent_id":"a","expected":[],"lines":[{"source":"s","line":0}]})",
      R"({"event_type":"lifecycle_violation","violation":"orphan","profile":"p","track":"t","key":"k","agent_id":"a","expected":[],"lines":[{"source":"s","line":1}],"event_time":""})",
      R"({"event_type":"instrumentation_warning","warning":"something_else","action_id":"x","established_by":"a","reused_by":"b","frontier_item_id":"","established_frontier_item_id":"","lines":[{"source":"s","line":1}]})",
      R"({"event_type":"instrumentation_warning","warning":"action_id_collision","action_id":"x","established_by":"a","frontier_item_id":"","established_frontier_item_id":"","lines":[{"source":"s","line":1}]})",
  };
  std::string text = ok_violation + "\n" + ok_collision + "\n";
  for (const auto& b : bad) text += b + "\n";
  write_file(dir / "in.jsonl", text);
  PipelineSpec spec;
  REQUIRE(load_pipeline_text("pipeline:\n  stages:\n    - {type: validate, schema: warning}\n", "v.yaml", spec).ok());
  RunResult r = run_captured(spec, {(dir / "in.jsonl").string()}, dir / "run");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == ok_violation + "\n" + ok_collision + "\n");
  CHECK(r.stats.dead_lettered == bad.size());
}

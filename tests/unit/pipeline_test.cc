#include <catch2/catch.hpp>

#include "tests/test_support.h"

using namespace agentlog;
using namespace agentlog::test;

namespace {

// Drops records with "drop":true, dead-letters "bad":true, tags "tag":true with a spliced
// member, and emits a warning record after every record with "warn":true.
class ProbeStage : public BatchStage {
 public:
  void process_batch(Batch& batch) override {
    for (Record* r : batch.records) {
      if (r->verdict != Verdict::Keep) continue;
      bool b = false;
      if (r->root()["drop"].get(b) == simdjson::SUCCESS && b) {
        r->verdict = Verdict::Drop;
      } else if (r->root()["bad"].get(b) == simdjson::SUCCESS && b) {
        r->verdict = Verdict::DeadLetter;
        r->reason = "probe says bad";
      } else if (r->root()["tag"].get(b) == simdjson::SUCCESS && b) {
        r->set_member_string("tagged", "yes");
      }
    }
    for (Record* r : batch.records) {
      bool w = false;
      if (r->verdict == Verdict::Keep && !r->generated && r->root()["warn"].get(w) == simdjson::SUCCESS && w)
        batch.emit("{\"event_type\":\"probe_warning\",\"line\":" + std::to_string(r->line) + "}", r);
    }
  }
  bool finish(Batch& batch) override {
    batch.emit("{\"event_type\":\"probe_finished\"}");
    return false;
  }
};

// A later stage that drops generated records whose line is 3, to count generated drops.
class DropGeneratedLine3 : public RecordStage {
 public:
  StageVerdict process(Record& r) override {
    int64_t line = 0;
    if (r.generated && r.root()["line"].get(line) == simdjson::SUCCESS && line == 3) return StageVerdict::drop();
    return StageVerdict::keep();
  }
};

PipelineSpec probe_pipeline() {
  PipelineSpec spec;
  spec.name = "probe";
  spec.stages.push_back({"probe", "probe", std::make_unique<ProbeStage>()});
  spec.stages.push_back({"drop3", "drop3", std::make_unique<DropGeneratedLine3>()});
  return spec;
}

}  // namespace

TEST_CASE("verdicts, splices and generated records are routed and counted", "[pipeline]") {
  auto dir = temp_dir("probe");
  write_file(dir / "in.jsonl",
             "{\"n\":1,\"warn\":true}\n"
             "{\"n\":2,\"drop\":true}\n"
             "{\"n\":3,\"warn\":true,\"tag\":true}\n"
             "not json\n"
             "\n"
             "{\"n\":5,\"bad\":true}\n");
  PipelineSpec spec = probe_pipeline();
  RunResult r = run_captured(spec, {(dir / "in.jsonl").string()}, dir);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "{\"n\":1,\"warn\":true}\n"
        "{\"event_type\":\"probe_warning\",\"line\":1}\n"
        "{\"n\":3,\"warn\":true,\"tag\":true,\"tagged\":\"yes\"}\n"
        "{\"event_type\":\"probe_finished\"}\n");
  std::string src = (dir / "in.jsonl").string();
  CHECK(r.dead == "{\"source\":" + json::quoted(src) +
                      ",\"line\":4,\"stage\":\"input\",\"reason\":\"malformed JSON: Problem while parsing an atom "
                      "starting with the letter 'n'\",\"raw\":\"not json\"}\n"
                      "{\"source\":" + json::quoted(src) +
                      ",\"line\":6,\"stage\":\"probe\",\"reason\":\"probe says bad\",\"raw\":\"{\\\"n\\\":5,\\\"bad\\\":true}\"}\n");
  const RunStats& s = r.stats;
  CHECK(s.records_in == 5);
  CHECK(s.records_out == 2);
  CHECK(s.dropped == 1);
  CHECK(s.dead_lettered == 2);
  CHECK(s.blank_lines == 1);
  CHECK(s.lines_read == 6);
  CHECK(s.records_generated == 3);
  CHECK(s.generated_out == 2);
  CHECK(s.generated_dropped == 1);
  CHECK(s.records_in == s.records_out + s.dropped + s.dead_lettered);
  CHECK(s.records_generated == s.generated_out + s.generated_dropped + s.generated_dead_lettered);
  REQUIRE(s.stages.size() == 2);
  CHECK(s.stages[0].in == 4);
  CHECK(s.stages[0].dropped == 1);
  CHECK(s.stages[0].dead_lettered == 1);
  CHECK(s.stages[0].generated == 3);
  CHECK(s.stages[1].dropped == 1);
  CHECK(s.dead_letter_reasons.at("input.malformed_json") == 1);
  CHECK(s.dead_letter_reasons.at("probe") == 1);
}

TEST_CASE("accounting holds over many batches and bad lines, and runs are deterministic", "[pipeline]") {
  auto dir = temp_dir("many");
  std::string data;
  for (int i = 0; i < 20000; ++i) {
    if (i % 97 == 0) data += "{\"truncated\":\n";
    else if (i % 101 == 0) data += "\n";
    else if (i % 89 == 0) data += "{\"n\":" + std::to_string(i) + ",\"drop\":true}\n";
    else if (i % 83 == 0) data += "{\"n\":" + std::to_string(i) + ",\"bad\":true}\n";
    else data += "{\"n\":" + std::to_string(i) + ",\"warn\":" + (i % 10 == 0 ? "true" : "false") + "}\n";
  }
  write_file(dir / "in.jsonl", data);
  std::string first_out, first_dead;
  for (int run = 0; run < 2; ++run) {
    PipelineSpec spec = probe_pipeline();
    RunResult r = run_captured(spec, {(dir / "in.jsonl").string()}, dir / std::to_string(run));
    REQUIRE(r.exit_code == 0);
    const RunStats& s = r.stats;
    CHECK(s.lines_read == 20000);
    CHECK(s.records_in + s.blank_lines == 20000);
    CHECK(s.records_in == s.records_out + s.dropped + s.dead_lettered);
    CHECK(s.records_generated == s.generated_out + s.generated_dropped + s.generated_dead_lettered);
    CHECK(lines_of(r.out).size() == s.records_out + s.generated_out);
    CHECK(lines_of(r.dead).size() == s.dead_lettered + s.generated_dead_lettered);
    if (run == 0) {
      first_out = r.out;
      first_dead = r.dead;
    } else {
      CHECK(r.out == first_out);
      CHECK(r.dead == first_dead);
    }
  }
}

TEST_CASE("dead-letter lines carry source, line, stage, reason and raw", "[pipeline]") {
  CHECK(dead_letter_line("a.jsonl", 7, "filter", "why \"quoted\"", "{\"x\":\xff}", false) ==
        "{\"source\":\"a.jsonl\",\"line\":7,\"stage\":\"filter\",\"reason\":\"why \\\"quoted\\\"\","
        "\"raw\":\"{\\\"x\\\":\\ufffd}\"}");
  CHECK(dead_letter_line("-", 1, "s", "r", "{}", true) ==
        "{\"source\":\"-\",\"line\":1,\"stage\":\"s\",\"reason\":\"r\",\"generated\":true,\"raw\":\"{}\"}");
}

TEST_CASE("an unreadable source is reported and the others still run", "[pipeline]") {
  auto dir = temp_dir("missing");
  write_file(dir / "ok.jsonl", "{\"a\":1}\n");
  PipelineSpec spec;
  RunResult r = run_captured(spec, {(dir / "nope.jsonl").string(), (dir / "ok.jsonl").string()}, dir);
  CHECK(r.exit_code == 1);
  CHECK(r.error == (dir / "nope.jsonl").string() + ": cannot open: No such file or directory");
  CHECK(r.out == "{\"a\":1}\n");
  CHECK(r.stats.source_errors == 1);
}

namespace {

// An output that gives up on records with "big":true at once (like syslog's stream_max_bytes)
// and, at close, on the last record it holds (like an undelivered syslog buffer).
class RejectingOutput : public Output {
 public:
  std::vector<std::string> written;
  bool fail_close = false;
  Status open() override { return {}; }
  Status write_line(std::string_view) override { return {}; }
  Status write_record(Record& r) override {
    bool big = false;
    Undelivered u{std::string(r.bytes()), r.source, r.line, r.generated, "output:probe", "too big", "too_large"};
    if (r.root()["big"].get(big) == simdjson::SUCCESS && big) rejected_.push_back(std::move(u));
    else held_.push_back(std::move(u));
    return {};
  }
  Status flush() override { return {}; }
  void take_undelivered(std::vector<Undelivered>& out) override {
    for (auto& u : rejected_) out.push_back(std::move(u));
    rejected_.clear();
  }
  Status close() override {
    if (!fail_close || held_.empty()) return {};
    held_.back().reason = "not delivered";
    held_.back().kind = "undelivered";
    rejected_.push_back(std::move(held_.back()));
    held_.pop_back();
    return Status::error("probe: 1 record not delivered");
  }
  std::string describe() const override { return "probe"; }
  std::string stats_json() const override { return "\"held\":" + std::to_string(held_.size()); }

 private:
  std::vector<Undelivered> rejected_, held_;
};

}  // namespace

TEST_CASE("records an output gives up on are dead-lettered with their origin", "[pipeline]") {
  for (bool fail_close : {false, true}) {
    auto dir = temp_dir(fail_close ? "output-undelivered-close" : "output-undelivered");
    write_file(dir / "in.jsonl", "{\"a\":1}\n{\"big\":true}\n{\"a\":3}\n");
    PipelineSpec spec;
    REQUIRE(load_pipeline_text("pipeline: {}\n", "inline", spec).ok());
    auto out = std::make_unique<RejectingOutput>();
    out->fail_close = fail_close;
    spec.outputs.push_back(std::move(out));
    spec.dead_letter = std::make_unique<FdOutput>("dead", -1, (dir / "dead.jsonl").string(), false);
    RunOptions opts;
    opts.inputs = {(dir / "in.jsonl").string()};
    opts.quiet = true;
    RunStats stats;
    std::string error;
    int rc = run_pipeline(spec, opts, stats, error);
    std::string json = stats_to_json(spec, stats);
    spec.dead_letter.reset();
    std::string src = json::quoted((dir / "in.jsonl").string());
    std::string expected =
        "{\"source\":" + src + ",\"line\":2,\"stage\":\"output:probe\",\"reason\":\"too big\",\"raw\":\"{\\\"big\\\":true}\"}\n";
    if (fail_close)
      expected += "{\"source\":" + src +
                  ",\"line\":3,\"stage\":\"output:probe\",\"reason\":\"not delivered\",\"raw\":\"{\\\"a\\\":3}\"}\n";
    CHECK(compare_jsonl(expected, read_file(dir / "dead.jsonl")) == "");
    CHECK(rc == (fail_close ? 1 : 0));
    CHECK(error == (fail_close ? "probe: 1 record not delivered" : ""));
    CHECK(stats.records_out == 3);  // handed to the output
    CHECK(stats.output_dead_lettered == (fail_close ? 2u : 1u));
    CHECK(stats.dead_letter_reasons["output:probe.too_large"] == 1);
    CHECK(json.find("\"outputs\":[{\"output\":\"probe\",\"held\":" + std::string(fail_close ? "1" : "2") + "}]") !=
          std::string::npos);
  }
}

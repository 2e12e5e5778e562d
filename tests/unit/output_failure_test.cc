// Output failures: a file output never keeps a torn line, and the accounting
// identity holds when a run ends on a failed write (records not written count as failed).
#include <catch2/catch.hpp>

#include "tests/test_support.h"

using namespace agentlog;
using namespace agentlog::test;

namespace {

// Every line of `text` is one JSON object and the text ends with a newline (or is empty).
std::string whole_json_lines(const std::string& text) {
  if (!text.empty() && text.back() != '\n') return "does not end with a newline";
  size_t n = 0;
  for (const std::string& line : lines_of(text)) {
    ++n;
    auto v = json::parse(line);
    if (!v || v->kind != json::Value::Kind::Object) return "line " + std::to_string(n) + " is not a JSON object: " + line;
  }
  return {};
}

// `records` lines of about 60 bytes; every seventh is not JSON (dead-lettered).
std::string input_lines(size_t records) {
  std::string s;
  for (size_t i = 1; i <= records; ++i) {
    if (i % 7 == 0) s += "not json " + std::to_string(i) + "\n";
    else s += "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(40, 'x') + "\"}\n";
  }
  return s;
}

void check_identity(const RunStats& s) {
  CHECK(s.records_in == s.records_out + s.dropped + s.dead_lettered + s.failed);
  CHECK(s.records_generated == s.generated_out + s.generated_dropped + s.generated_dead_lettered + s.generated_failed);
}

}  // namespace

TEST_CASE("output failure: a full disk leaves whole lines and counts what was not written", "[output][faults]") {
  constexpr size_t kRecords = 500;
  // Fail at the start, inside the first line, mid-file, and with a batch size that makes
  // the failure land inside a batch (the rest of the batch is counted as failed too).
  for (uint64_t limit : {0ull, 10ull, 4000ull, 17001ull}) {
    for (size_t batch : {size_t{1}, size_t{64}}) {
      for (bool dead_letter_fails : {false, true}) {
        DYNAMIC_SECTION("limit " << limit << " batch " << batch << (dead_letter_fails ? " dead letters" : " records")) {
          auto dir = temp_dir("output-enospc");
          write_file(dir / "in.jsonl", input_lines(kRecords));
          PipelineSpec spec;
          REQUIRE(load_pipeline_text("pipeline: {}\n", "inline", spec).ok());
          auto out = std::make_unique<FdOutput>("out", -1, (dir / "out.jsonl").string(), false);
          auto dead = std::make_unique<FdOutput>("dead", -1, (dir / "dead.jsonl").string(), false);
          (dead_letter_fails ? dead : out)->inject_enospc_after(dead_letter_fails ? limit / 4 : limit);
          spec.outputs.push_back(std::move(out));
          spec.dead_letter = std::move(dead);
          RunOptions opts;
          opts.inputs = {(dir / "in.jsonl").string()};
          opts.quiet = true;
          opts.batch_records = batch;
          RunStats stats;
          std::string error;
          int rc = run_pipeline(spec, opts, stats, error);
          std::string stats_json = stats_to_json(spec, stats);
          spec.outputs.clear();
          spec.dead_letter.reset();
          const std::string written = read_file(dir / "out.jsonl"), dead_written = read_file(dir / "dead.jsonl");
          CHECK(rc == 1);
          CHECK(error == std::string(dead_letter_fails ? "dead" : "out") + ": write failed: No space left on device");
          CHECK(whole_json_lines(written) == "");
          CHECK(whole_json_lines(dead_written) == "");
          // Only what is in the files counts as written; the rest failed.
          CHECK(stats.records_out == lines_of(written).size());
          CHECK(stats.dead_lettered == lines_of(dead_written).size());
          CHECK(stats.failed > 0);
          check_identity(stats);
          // Every line read is reported, although the run ended on the output error.
          CHECK(stats.records_in == stats.sources.at(0).lines);
          CHECK(stats.lines_read == stats.sources.at(0).lines);
          CHECK(stats.bytes_read == stats.sources.at(0).bytes);
          CHECK(stats.bytes_read > 0);
          auto parsed = json::parse(stats_json);
          REQUIRE(parsed);
          CHECK(stats_json.find("\"failed\":" + std::to_string(stats.failed) + ",") != std::string::npos);
          CHECK(stats_summary(stats).find(", " + std::to_string(stats.failed) + " failed (not written: an output failed)") !=
                std::string::npos);
        }
      }
    }
  }
}

TEST_CASE("output failure: a line longer than the buffer that fails is cut", "[output][faults]") {
  auto dir = temp_dir("output-enospc-long");
  FdOutput out("out", -1, (dir / "out.jsonl").string(), false);
  REQUIRE(out.open().ok());
  REQUIRE(out.write_line("{\"a\":1}").ok());
  REQUIRE(out.flush().ok());
  out.inject_enospc_after(1000);
  const std::string huge = "{\"big\":\"" + std::string(3 << 20, 'y') + "\"}";
  Status st = out.write_line(huge);
  CHECK(st.message() == "out: write failed: No space left on device");
  CHECK(out.lines_lost() == 1);
  // Later lines fail too and are counted.
  CHECK_FALSE(out.write_line("{\"a\":2}").ok());
  CHECK_FALSE(out.flush().ok());
  CHECK(out.lines_lost() == 2);
  CHECK(read_file(dir / "out.jsonl") == "{\"a\":1}\n");
}

TEST_CASE("output failure: a file another program truncated is cut at its real end", "[output][faults]") {
  // copytruncate empties the file under us; a write that fails next must cut its torn line
  // from the file's real end, not extend the file with zeros up to the size we had written.
  auto dir = temp_dir("output-enospc-truncated");
  const auto path = dir / "out.jsonl";
  FdOutput out("out", -1, path.string(), true);
  REQUIRE(out.open().ok());
  for (int i = 0; i < 100; ++i) REQUIRE(out.write_line("{\"a\":" + std::to_string(i) + "}").ok());
  REQUIRE(out.flush().ok());
  std::filesystem::resize_file(path, 0);
  out.inject_enospc_after(12);
  REQUIRE(out.write_line("{\"b\":1}").ok());
  REQUIRE(out.write_line("{\"b\":2}").ok());
  CHECK_FALSE(out.flush().ok());
  CHECK(read_file(path) == "{\"b\":1}\n");
  CHECK(out.lines_lost() == 1);
}

TEST_CASE("output: a file ending in a partial line is cut back on open and on reopen", "[output][faults]") {
  auto dir = temp_dir("output-partial");
  const auto path = dir / "out.jsonl";
  SECTION("open, a fragment after whole lines") {
    write_file(path, "{\"a\":1}\n{\"b\":");
    FdOutput out("out", -1, path.string(), true);
    REQUIRE(out.open().ok());
    REQUIRE(out.write_line("{\"c\":3}").ok());
    REQUIRE(out.flush().ok());
    CHECK(read_file(path) == "{\"a\":1}\n{\"c\":3}\n");
    CHECK(out.stats_json() == "\"lines_failed\":0,\"partial_lines_cut\":1,\"partial_bytes_cut\":5");
  }
  SECTION("open, only a fragment, longer than one read chunk") {
    write_file(path, std::string(200000, 'z'));
    FdOutput out("out", -1, path.string(), true);
    REQUIRE(out.open().ok());
    REQUIRE(out.write_line("{\"c\":3}").ok());
    REQUIRE(out.flush().ok());
    CHECK(read_file(path) == "{\"c\":3}\n");
    CHECK(out.stats_json() == "\"lines_failed\":0,\"partial_lines_cut\":1,\"partial_bytes_cut\":200000");
  }
  SECTION("a whole file is left alone") {
    write_file(path, "{\"a\":1}\n");
    FdOutput out("out", -1, path.string(), true);
    REQUIRE(out.open().ok());
    REQUIRE(out.flush().ok());
    CHECK(read_file(path) == "{\"a\":1}\n");
    CHECK(out.stats_json() == "\"lines_failed\":0,\"partial_lines_cut\":0,\"partial_bytes_cut\":0");
  }
  SECTION("reopen (SIGHUP) of a file another writer left torn") {
    FdOutput out("out", -1, path.string(), true);
    REQUIRE(out.open().ok());
    REQUIRE(out.write_line("{\"a\":1}").ok());
    REQUIRE(out.flush().ok());
    std::filesystem::rename(path, dir / "out.jsonl.1");
    write_file(path, "{\"torn\":");
    REQUIRE(out.reopen().ok());
    REQUIRE(out.write_line("{\"b\":2}").ok());
    REQUIRE(out.flush().ok());
    CHECK(read_file(path) == "{\"b\":2}\n");
    CHECK(out.stats_json() == "\"lines_failed\":0,\"partial_lines_cut\":1,\"partial_bytes_cut\":8");
  }
}

TEST_CASE("output failure: follow mode keeps in = out + dropped + dead-lettered + failed", "[output][faults][follow]") {
  auto dir = temp_dir("output-enospc-follow");
  write_file(dir / "in.jsonl", input_lines(300));
  PipelineSpec spec;
  REQUIRE(load_pipeline_text("pipeline:\n  inputs:\n    - type: file\n      paths: [\"" + (dir / "in.jsonl").string() +
                                 "\"]\n      follow: true\n      checkpoint: \"" + (dir / "cp.json").string() + "\"\n",
                             "inline", spec)
              .ok());
  auto out = std::make_unique<FdOutput>("out", -1, (dir / "out.jsonl").string(), false);
  out->inject_enospc_after(5000);  // well before the 300 records: the run ends on it
  spec.outputs.push_back(std::move(out));
  spec.dead_letter = std::make_unique<FdOutput>("dead", -1, (dir / "dead.jsonl").string(), false);
  RunOptions opts;
  opts.quiet = true;
  opts.batch_records = 16;
  RunStats stats;
  std::string error;
  int rc = run_pipeline(spec, opts, stats, error);
  spec.outputs.clear();
  spec.dead_letter.reset();
  CHECK(rc == 1);
  CHECK(error == "out: write failed: No space left on device");
  const std::string written = read_file(dir / "out.jsonl");
  CHECK(whole_json_lines(written) == "");
  CHECK(stats.records_out == lines_of(written).size());
  CHECK(stats.failed > 0);
  check_identity(stats);
  CHECK(stats.sources.at(0).lines == stats.records_in);
  CHECK(stats.lines_read == stats.records_in);
  CHECK(stats.bytes_read > 0);
}

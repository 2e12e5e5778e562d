// Golden tests: every directory tests/golden/<plugin>/<case>/ holds config.yaml and either
// expected_error.txt (the exact config error) or input* with expected.jsonl and, when lines
// are dead-lettered, expected.dead.jsonl; a config with `warnings:` also has
// expected.warnings.jsonl (what its warnings outputs receive). Outputs are compared as parsed
// JSON, line by line. AGENTLOG_UPDATE_GOLDEN=1 rewrites the expected files (review the diff).
#include <unistd.h>

#include <cstdlib>
#include <set>

#include <catch2/catch.hpp>

#include "tests/test_paths.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace agentlog;
using namespace agentlog::test;

namespace {

std::string trim_trailing_newlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

struct CwdGuard {
  fs::path saved = fs::current_path();
  explicit CwdGuard(const fs::path& p) { fs::current_path(p); }
  ~CwdGuard() { fs::current_path(saved); }
};

std::vector<fs::path> golden_cases() {
  std::vector<fs::path> out;
  for (auto& plugin : fs::directory_iterator(fs::path(test::test_dir()) / "golden"))
    if (plugin.is_directory())
      for (auto& c : fs::directory_iterator(plugin.path()))
        if (c.is_directory() && fs::exists(c.path() / "config.yaml")) out.push_back(c.path());
  std::sort(out.begin(), out.end());
  return out;
}

bool update_golden() {
  const char* v = std::getenv("AGENTLOG_UPDATE_GOLDEN");
  return v != nullptr && std::string_view(v) == "1";
}

// Runs a case that is not a config error, in its directory. False when the config fails to load.
// `workers` 0: the config's; `stats_json` receives --stats-json's text when given.
bool run_case_pipeline(const fs::path& dir, RunResult& r, bool& has_warnings, unsigned workers = 0,
                       size_t batch_records = RunOptions().batch_records, std::string* stats_json = nullptr) {
  PipelineSpec spec;
  Status st = load_pipeline_file("config.yaml", spec);
  INFO(st.message());
  REQUIRE(st.ok());
  has_warnings = !spec.warnings.empty();
  std::vector<std::string> inputs;
  if (spec.inputs.empty()) {
    for (auto& e : fs::directory_iterator("."))
      if (e.path().filename().string().rfind("input", 0) == 0) inputs.push_back(e.path().filename().string());
    std::sort(inputs.begin(), inputs.end());
  }
  std::string name = dir.parent_path().filename().string() + "-" + dir.filename().string();
  r = run_captured(spec, inputs, temp_dir(name), batch_records, workers);
  if (stats_json) *stats_json = stats_to_json(spec, r.stats);
  return true;
}

void run_case(const fs::path& dir) {
  CwdGuard cwd(dir);
  if (fs::exists("expected_error.txt")) {
    PipelineSpec spec;
    Status st = load_pipeline_file("config.yaml", spec);
    INFO("config should fail to load");
    REQUIRE_FALSE(st.ok());
    CHECK(st.message() == trim_trailing_newlines(read_file("expected_error.txt")));
    return;
  }
  RunResult r;
  bool has_warnings = false;
  run_case_pipeline(dir, r, has_warnings);
  INFO(r.error);
  REQUIRE(r.exit_code == 0);
  if (update_golden()) {
    write_file("expected.jsonl", r.out);
    if (!r.dead.empty() || fs::exists("expected.dead.jsonl")) write_file("expected.dead.jsonl", r.dead);
    if (has_warnings) write_file("expected.warnings.jsonl", r.warnings);
  }
  std::string diff = compare_jsonl(read_file("expected.jsonl"), r.out);
  INFO("output: " << diff);
  CHECK(diff.empty());
  std::string expected_dead = fs::exists("expected.dead.jsonl") ? read_file("expected.dead.jsonl") : "";
  std::string dead_diff = compare_jsonl(expected_dead, r.dead);
  INFO("dead letters: " << dead_diff);
  CHECK(dead_diff.empty());
  // A case with expected warnings must route them to a `warnings:` output.
  if (fs::exists("expected.warnings.jsonl")) {
    INFO("expected.warnings.jsonl needs a config with `warnings:`");
    CHECK(has_warnings);
  }
  if (has_warnings) {
    std::string expected_warnings = fs::exists("expected.warnings.jsonl") ? read_file("expected.warnings.jsonl") : "";
    std::string warnings_diff = compare_jsonl(expected_warnings, r.warnings);
    INFO("warnings: " << warnings_diff);
    CHECK(warnings_diff.empty());
    CHECK(r.stats.warnings_out == lines_of(r.warnings).size());
  }
  CHECK(r.stats.warnings_out == r.diagnostics.size());
  // Nothing is lost: every input record is emitted, dropped or dead-lettered.
  CHECK(r.stats.records_in == r.stats.records_out + r.stats.dropped + r.stats.dead_lettered);
  CHECK(r.stats.records_generated ==
        r.stats.generated_out + r.stats.generated_dropped + r.stats.generated_dead_lettered);
}

}  // namespace

// Every warning any golden case writes is valid against schemas/warning.schema.json (through
// the validate stage's `schema: warning`) and carries an event_time when its case's input has one.
TEST_CASE("golden warnings match the warning schema", "[golden][warnings]") {
  size_t total = 0;
  for (const auto& c : golden_cases()) {
    CwdGuard cwd(c);
    if (fs::exists("expected_error.txt")) continue;
    std::string label = c.parent_path().filename().string() + "/" + c.filename().string();
    INFO(label);
    RunResult r;
    bool has_warnings = false;
    run_case_pipeline(c, r, has_warnings);
    if (r.diagnostics.empty()) continue;
    total += r.diagnostics.size();
    // Cases whose input records carry no time at all; every other warning must have one.
    static const std::set<std::string> kTimeless = {"lifecycle/custom-profile-file"};
    if (!kTimeless.count(label))
      for (const auto& w : r.diagnostics) {
        auto parsed = json::parse(w);
        REQUIRE(parsed);
        bool has_time = false;
        for (const auto& [k, v] : parsed->members) has_time = has_time || (k == "event_time" && v.kind == json::Value::Kind::String);
        INFO("warning without event_time: " << w);
        CHECK(has_time);
      }
    fs::path tmp = temp_dir("warning-schema-" + c.parent_path().filename().string() + "-" + c.filename().string());
    std::string all;
    for (const auto& w : r.diagnostics) all += w + "\n";
    write_file(tmp / "warnings.jsonl", all);
    PipelineSpec check;
    Status st = load_pipeline_text("pipeline:\n  stages:\n    - {type: validate, schema: warning}\n", "schema.yaml", check);
    REQUIRE(st.ok());
    RunResult v = run_captured(check, {(tmp / "warnings.jsonl").string()}, tmp / "validate");
    INFO("invalid warnings: " << v.dead);
    CHECK(v.dead.empty());
    CHECK(lines_of(v.out).size() == r.diagnostics.size());
  }
  // The golden cases generate warnings of every kind; a broken capture would pass vacuously.
  CHECK(total >= 50);
}

// The parallel runner changes nothing: records, dead letters, warnings and every counter are
// the same bytes with 2 and 8 workers as with one, also with batches of 2 records (many in
// flight at once).
TEST_CASE("golden cases give the same bytes with 1, 2 and 8 workers", "[golden][parallel]") {
  size_t compared = 0;
  for (const auto& c : golden_cases()) {
    CwdGuard cwd(c);
    if (fs::exists("expected_error.txt")) continue;
    std::string label = c.parent_path().filename().string() + "/" + c.filename().string();
    for (size_t batch : {size_t{64}, size_t{2}}) {
      RunResult one;
      std::string one_stats;
      bool has_warnings = false;
      run_case_pipeline(c, one, has_warnings, 1, batch, &one_stats);
      for (unsigned workers : {2u, 8u}) {
        INFO(label << " with " << workers << " workers, batches of " << batch);
        RunResult many;
        std::string many_stats;
        run_case_pipeline(c, many, has_warnings, workers, batch, &many_stats);
        CHECK(many.exit_code == one.exit_code);
        CHECK(many.error == one.error);
        CHECK(many.out == one.out);
        CHECK(many.dead == one.dead);
        CHECK(many.warnings == one.warnings);
        CHECK(many.diagnostics == one.diagnostics);
        CHECK(many_stats == one_stats);
        ++compared;
      }
    }
  }
  CHECK(compared >= 100);
}

TEST_CASE("golden cases", "[golden]") {
  auto cases = golden_cases();
  REQUIRE(cases.size() >= 10);
  for (const auto& c : cases) {
    std::string label = c.parent_path().filename().string() + "/" + c.filename().string();
    DYNAMIC_SECTION(label) { run_case(c); }
  }
}

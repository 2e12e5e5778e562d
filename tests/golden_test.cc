// Golden tests: every directory tests/golden/<plugin>/<case>/ holds config.yaml and either
// expected_error.txt (the exact config error) or input* with expected.jsonl and, when lines
// are dead-lettered, expected.dead.jsonl. Outputs are compared as parsed JSON, line by line.
#include <unistd.h>

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

void run_case(const fs::path& dir) {
  CwdGuard cwd(dir);
  PipelineSpec spec;
  Status st = load_pipeline_file("config.yaml", spec);
  if (fs::exists("expected_error.txt")) {
    INFO("config should fail to load");
    REQUIRE_FALSE(st.ok());
    CHECK(st.message() == trim_trailing_newlines(read_file("expected_error.txt")));
    return;
  }
  INFO(st.message());
  REQUIRE(st.ok());
  std::vector<std::string> inputs;
  if (spec.inputs.empty()) {
    for (auto& e : fs::directory_iterator("."))
      if (e.path().filename().string().rfind("input", 0) == 0) inputs.push_back(e.path().filename().string());
    std::sort(inputs.begin(), inputs.end());
  }
  std::string name = dir.parent_path().filename().string() + "-" + dir.filename().string();
  RunResult r = run_captured(spec, inputs, temp_dir(name));
  INFO(r.error);
  REQUIRE(r.exit_code == 0);
  std::string diff = compare_jsonl(read_file("expected.jsonl"), r.out);
  INFO("output: " << diff);
  CHECK(diff.empty());
  std::string expected_dead = fs::exists("expected.dead.jsonl") ? read_file("expected.dead.jsonl") : "";
  std::string dead_diff = compare_jsonl(expected_dead, r.dead);
  INFO("dead letters: " << dead_diff);
  CHECK(dead_diff.empty());
  // Nothing is lost: every input record is emitted, dropped or dead-lettered.
  CHECK(r.stats.records_in == r.stats.records_out + r.stats.dropped + r.stats.dead_lettered);
  CHECK(r.stats.records_generated ==
        r.stats.generated_out + r.stats.generated_dropped + r.stats.generated_dead_lettered);
}

}  // namespace

TEST_CASE("golden cases", "[golden]") {
  auto cases = golden_cases();
  REQUIRE(cases.size() >= 10);
  for (const auto& c : cases) {
    std::string label = c.parent_path().filename().string() + "/" + c.filename().string();
    DYNAMIC_SECTION(label) { run_case(c); }
  }
}

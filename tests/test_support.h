// Shared helpers for the tests: files, semantic JSON comparison, in-process runs.
#pragma once
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/json_text.h"
#include "core/output.h"
#include "core/pipeline.h"

namespace agentlog::test {

// splitmix64: a fixed generator, so generated test data is the same on every machine.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void write_file(const std::filesystem::path& p, std::string_view s) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << s;
}

inline std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur))
    if (!cur.empty()) out.push_back(cur);
  return out;
}

// Equal as JSON values: objects compare key sets (order-insensitive), numbers by value.
inline bool json_equal(const json::Value& a, const json::Value& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case json::Value::Kind::Null: return true;
    case json::Value::Kind::Bool: return a.boolean == b.boolean;
    case json::Value::Kind::Number: return std::stod(a.text) == std::stod(b.text);
    case json::Value::Kind::String: return a.text == b.text;
    case json::Value::Kind::Array:
      if (a.items.size() != b.items.size()) return false;
      for (size_t i = 0; i < a.items.size(); ++i)
        if (!json_equal(a.items[i], b.items[i])) return false;
      return true;
    case json::Value::Kind::Object:
      if (a.members.size() != b.members.size()) return false;
      // Member order does not matter; the n-th of a duplicated name matches the n-th.
      for (size_t i = 0; i < a.members.size(); ++i) {
        const std::string& k = a.members[i].first;
        size_t nth = 0;
        for (size_t j = 0; j < i; ++j) nth += a.members[j].first == k;
        const json::Value* o = nullptr;
        for (const auto& [bk, bv] : b.members)
          if (bk == k && nth-- == 0) {
            o = &bv;
            break;
          }
        if (!o || !json_equal(a.members[i].second, *o)) return false;
      }
      return true;
  }
  return false;
}

// Compares two JSONL texts line by line as parsed JSON. Returns "" or a description.
inline std::string compare_jsonl(const std::string& expected, const std::string& actual) {
  auto e = lines_of(expected), a = lines_of(actual);
  for (size_t i = 0; i < std::max(e.size(), a.size()); ++i) {
    if (i >= e.size()) return "unexpected extra line " + std::to_string(i + 1) + ": " + a[i];
    if (i >= a.size()) return "missing line " + std::to_string(i + 1) + ": " + e[i];
    auto ev = json::parse(e[i]);
    auto av = json::parse(a[i]);
    if (!ev) return "expected line " + std::to_string(i + 1) + " is not JSON: " + e[i];
    if (!av) return "actual line " + std::to_string(i + 1) + " is not JSON: " + a[i];
    if (!json_equal(*ev, *av))
      return "line " + std::to_string(i + 1) + " differs\n  expected: " + e[i] + "\n  actual:   " + a[i];
  }
  return {};
}

struct RunResult {
  int exit_code = 0;
  std::string error;
  std::string out, dead;
  // What the `warnings:` outputs received (empty when the config has none: then warnings
  // are in `out`).
  std::string warnings;
  // Every warning (diagnostic record) written, wherever it went, one JSON text each.
  std::vector<std::string> diagnostics;
  RunStats stats;
};

// Collects the text of every diagnostic record as it is written.
class DiagnosticCollector : public RecordObserver {
 public:
  explicit DiagnosticCollector(std::vector<std::string>& out) : out_(out) {}
  void on_record(Record& record, std::string_view) override {
    if (record.diagnostic()) out_.emplace_back(record.bytes());
  }
  void on_dead_letter(const Record&, std::string_view, std::string_view, std::string_view) override {}

 private:
  std::vector<std::string>& out_;
};

// Runs a loaded pipeline with its outputs replaced by files in `tmp` (the `warnings:`
// outputs, when the config has any, by one file of their own).
inline RunResult run_captured(PipelineSpec& spec, const std::vector<std::string>& inputs,
                              const std::filesystem::path& tmp, size_t batch_records = RunOptions().batch_records,
                              unsigned workers = 0) {
  std::filesystem::create_directories(tmp);
  auto out = tmp / "out.jsonl", dead = tmp / "dead.jsonl", warnings = tmp / "warnings.jsonl";
  spec.outputs.clear();
  spec.outputs.push_back(std::make_unique<FdOutput>("out", -1, out.string(), false));
  const bool has_warnings = !spec.warnings.empty();
  if (has_warnings) {
    spec.warnings.clear();
    spec.warnings.push_back(std::make_unique<FdOutput>("warnings", -1, warnings.string(), false));
  }
  spec.dead_letter = std::make_unique<FdOutput>("dead", -1, dead.string(), false);
  RunResult r;
  DiagnosticCollector collector(r.diagnostics);
  RunOptions opts;
  opts.inputs = inputs;
  opts.quiet = true;
  opts.batch_records = batch_records;
  opts.workers = workers;
  opts.observer = &collector;
  r.exit_code = run_pipeline(spec, opts, r.stats, r.error);
  spec.outputs.clear();
  spec.warnings.clear();
  spec.dead_letter.reset();  // closes the files
  r.out = read_file(out);
  r.dead = read_file(dead);
  if (has_warnings) r.warnings = read_file(warnings);
  return r;
}

inline std::filesystem::path temp_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("agentlog-test-" + std::to_string(::getpid())) / name;
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

}  // namespace agentlog::test

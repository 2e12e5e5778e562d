// Shared by the fuzz targets: in-memory outputs, running a loaded pipeline over one fuzz input,
// and the oracles (accounting identities, every written line is one JSON value).
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "core/config.h"
#include "core/pipeline.h"

namespace agentlog::fuzz {

// A failed oracle: print what broke (libFuzzer then saves the input) and abort.
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz oracle failed: %s\n", what.c_str());
  std::abort();
}

class MemoryOutput : public Output {
 public:
  std::vector<std::string> lines;
  Status open() override {
    lines.clear();
    return {};
  }
  Status write_line(std::string_view line) override {
    lines.emplace_back(line);
    return {};
  }
  Status flush() override { return {}; }
  std::string describe() const override { return "memory"; }
};

// The fuzz input as a file the pipeline can open: a memfd, rewritten for each input, named
// by its /proc path (no disk writes).
class InputFile {
 public:
  InputFile() {
    fd_ = ::memfd_create("agentlog-fuzz", 0);
    if (fd_ < 0) fail("memfd_create");
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  const std::string& write(std::string_view data) {
    if (::ftruncate(fd_, 0) != 0) fail("ftruncate");
    if (!data.empty() && ::pwrite(fd_, data.data(), data.size(), 0) != static_cast<ssize_t>(data.size()))
      fail("pwrite");
    return path_;
  }

 private:
  int fd_ = -1;
  std::string path_;
};

// Loads a config that must load (the harness's own); aborts with the message otherwise.
inline void load_or_die(const std::string& yaml, PipelineSpec& spec) {
  Status st = load_pipeline_text(yaml, "fuzz.yaml", spec);
  if (!st) fail("harness config: " + st.message());
}

struct Captured {
  MemoryOutput *out = nullptr, *warnings = nullptr, *dead = nullptr;
};

// Replaces the spec's outputs with memory outputs (warnings get their own when configured).
inline Captured capture_outputs(PipelineSpec& spec) {
  Captured c;
  spec.outputs.clear();
  auto out = std::make_unique<MemoryOutput>();
  c.out = out.get();
  spec.outputs.push_back(std::move(out));
  if (!spec.warnings.empty()) {
    spec.warnings.clear();
    auto w = std::make_unique<MemoryOutput>();
    c.warnings = w.get();
    spec.warnings.push_back(std::move(w));
  }
  auto dead = std::make_unique<MemoryOutput>();
  c.dead = dead.get();
  spec.dead_letter = std::move(dead);
  return c;
}

// Every line is one whole JSON value (an object for records and dead letters).
inline void check_json_lines(const std::vector<std::string>& lines, const char* what) {
  static simdjson::dom::parser parser;
  for (size_t i = 0; i < lines.size(); ++i) {
    simdjson::dom::element root;
    if (parser.parse(lines[i]).get(root) != simdjson::SUCCESS || !root.is_object())
      fail(std::string(what) + " line " + std::to_string(i + 1) + " is not a JSON object: " + lines[i]);
    if (lines[i].find('\n') != std::string::npos) fail(std::string(what) + " line holds a newline: " + lines[i]);
  }
}

// Runs the spec over `data` and checks the oracles: both accounting identities, the line
// counts of each output against the counters, and that every line written is JSON.
// `workers`: the runner's threads; 1 (the single-thread path) unless a harness asks for the
// parallel runner, whose start-up costs more than a small input's whole run.
inline RunStats run_and_check(PipelineSpec& spec, const Captured& c, InputFile& file, std::string_view data,
                              std::string framing = "", unsigned workers = 1) {
  RunOptions opts;
  opts.inputs = {file.write(data)};
  opts.framing = std::move(framing);
  opts.quiet = true;
  opts.workers = workers;
  RunStats st;
  std::string error;
  int rc = run_pipeline(spec, opts, st, error);
  // A corrupt gzip or zstd stream is an unreadable source (exit 1); what was read before
  // it is still accounted for.
  if (rc != 0 && !(rc == 1 && st.source_errors > 0)) fail("run failed (" + std::to_string(rc) + "): " + error);
  auto n = [](uint64_t v) { return std::to_string(v); };
  if (st.records_in != st.records_out + st.dropped + st.dead_lettered)
    fail("in " + n(st.records_in) + " != out " + n(st.records_out) + " + dropped " + n(st.dropped) +
         " + dead " + n(st.dead_lettered));
  if (st.records_generated != st.generated_out + st.generated_dropped + st.generated_dead_lettered)
    fail("generated " + n(st.records_generated) + " != out " + n(st.generated_out) + " + dropped " +
         n(st.generated_dropped) + " + dead " + n(st.generated_dead_lettered));
  const uint64_t written = c.out->lines.size() + (c.warnings ? c.warnings->lines.size() : 0);
  if (written != st.records_out + st.generated_out)
    fail("lines written " + n(written) + " != records_out " + n(st.records_out) + " + generated_out " +
         n(st.generated_out));
  if (c.dead->lines.size() != st.dead_lettered + st.generated_dead_lettered + st.output_dead_lettered)
    fail("dead-letter lines " + n(c.dead->lines.size()) + " != dead_lettered " + n(st.dead_lettered) +
         " + generated " + n(st.generated_dead_lettered) + " + by outputs " + n(st.output_dead_lettered));
  check_json_lines(c.out->lines, "output");
  if (c.warnings) check_json_lines(c.warnings->lines, "warnings");
  check_json_lines(c.dead->lines, "dead-letter");
  return st;
}

// Reads a source file of the checkout (AGENTLOG_SOURCE_DIR is set by tests/fuzz/CMakeLists.txt).
inline std::string source_file(const std::string& rel) {
  std::string path = std::string(AGENTLOG_SOURCE_DIR) + "/" + rel;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail("cannot read " + path);
  std::string s;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

}  // namespace agentlog::fuzz

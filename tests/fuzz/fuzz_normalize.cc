// Fuzz target: stage `normalize` in each format. The first byte picks the format, the rest is
// the log. Oracles: the accounting identities hold and every line written is a JSON object.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_support.h"

using namespace agentlog;

namespace {

constexpr const char* kFormats[] = {"claude-code", "claude-stream-json", "codex", "openhands", "swe-agent", "auto"};

struct Harness {
  fuzz::InputFile file;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* h = new Harness;
  if (size < 1) return -1;
  const char* format = kFormats[data[0] % std::size(kFormats)];
  // normalize holds state across lines (turns, held records): a fresh stage per input.
  PipelineSpec spec;
  fuzz::load_or_die(std::string("pipeline:\n  stages:\n    - type: normalize\n      format: ") + format + "\n", spec);
  fuzz::Captured captured = fuzz::capture_outputs(spec);
  fuzz::run_and_check(spec, captured, h->file, {reinterpret_cast<const char*>(data + 1), size - 1});
  return 0;
}

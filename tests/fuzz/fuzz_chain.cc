// Fuzz target: a buffer of input lines through the default chain (configs/default.yaml's
// stages). Oracles: both accounting identities hold, each output's line count matches its
// counters, and every output, warning and dead-letter line is a JSON object.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_support.h"

using namespace agentlog;

namespace {

// The stateful stages of configs/default.yaml, made afresh for each input so that one
// input's ids and open lifecycles do not leak into the next (a crash must reproduce alone).
constexpr const char* kStatefulStages = R"(pipeline:
  stages:
    - type: collision
    - type: lifecycle
      name: lifecycle-activity
      profile: agent-activity
    - type: lifecycle
      name: lifecycle-actions
      profile: action-event
)";
constexpr size_t kFirstStateful = 2;

struct Harness {
  PipelineSpec spec;
  fuzz::Captured captured;
  fuzz::InputFile file;
  Harness() {
    std::string path = std::string(AGENTLOG_SOURCE_DIR) + "/configs/default.yaml";
    if (Status st = load_pipeline_file(path, spec); !st) fuzz::fail(st.message());
    captured = fuzz::capture_outputs(spec);
  }
  void drop_state() {
    for (size_t i = kFirstStateful; i < spec.stages.size(); ++i) spec.stages[i].stage.reset();
  }
  void fresh_state() {
    PipelineSpec state;
    fuzz::load_or_die(kStatefulStages, state);
    if (spec.stages.size() != kFirstStateful + state.stages.size()) fuzz::fail("configs/default.yaml changed its stages");
    for (size_t i = 0; i < state.stages.size(); ++i) {
      StageSlot& slot = spec.stages[kFirstStateful + i];
      if (slot.name != state.stages[i].name) fuzz::fail("configs/default.yaml changed stage " + slot.name);
      slot.stage = std::move(state.stages[i].stage);
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* h = new Harness;
  h->fresh_state();
  // One input in eight (by its size, so that it reproduces alone) runs on the parallel
  // runner with 2 workers; the rest on the single-thread path, which starts faster.
  fuzz::run_and_check(h->spec, h->captured, h->file, {reinterpret_cast<const char*>(data), size}, "",
                      size % 8 == 0 ? 2 : 1);
  // Freed within the input that made them, so that libFuzzer's per-input leak check (run
  // when an input allocated more than it freed) sees only what the input really kept.
  h->drop_state();
  return 0;
}

// One batch's way through the stage chain, shared by the single-thread runner
// (core/pipeline.cc) and the parallel runner (core/parallel_runner.cc).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/input.h"

namespace agentlog {

struct StageCounters;

// Record::decided_by of a record the input stopped (a line that is no JSON object).
constexpr int kInputStage = -2;

// Points `r` at one input line (which must stay alive, padded) and parses it. A line that
// cannot be a record is dead-lettered by the input: returns its kind for the stats
// ("input.<kind>"), else an empty view.
std::string_view parse_input_record(Record& r, const LineEvent& ev, uint32_t source);

// Where run_stage_range counts: the run's own stats, or a batch's own in the parallel runner.
struct ChainCounts {
  std::vector<StageCounters>& stages;                      // by stage index
  std::map<std::string, uint64_t>& dead_letter_reasons;   // by stage name
  uint64_t& records_generated;
};

// Runs stages [first, last) over the batch: each decides on the live records, its verdicts
// are counted, and the records it emitted join the batch after their origins.
void run_stage_range(const std::vector<StageSlot>& stages, Batch& batch, size_t first, size_t last,
                     ChainCounts counts);

}  // namespace agentlog

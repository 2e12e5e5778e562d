// Follow mode: the stages' state saved in the checkpoint with the input offsets, and restored
// at the next start (docs/inputs.md#stage-state-across-restarts).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/follow.h"
#include "core/status.h"

namespace agentlog {

// The state of every stage that keeps one (Stage::state_config() not empty), by stage name.
std::map<std::string, SavedStageState> collect_stage_state(const std::vector<StageSlot>& stages,
                                                           std::vector<std::string>& source_names);

// Restores the state saved in `cp` into the stages, before any record. A state saved by a
// stage of another type or config, or by a stage no longer in the pipeline, is dropped with
// a warning on stderr (the stage starts empty); one that does not parse is an error.
Status restore_stage_state(const Checkpoint& cp, std::vector<StageSlot>& stages,
                           std::vector<std::string>& source_names);

}  // namespace agentlog

#include "core/stage_state.h"

#include <cstdio>

namespace agentlog {

std::map<std::string, SavedStageState> collect_stage_state(const std::vector<StageSlot>& stages,
                                                           std::vector<std::string>& source_names) {
  std::map<std::string, SavedStageState> out;
  StateSources sources(source_names);
  for (const StageSlot& slot : stages) {
    std::string config = slot.stage->state_config();
    if (config.empty()) continue;
    SavedStageState s{slot.type, std::move(config), {}};
    slot.stage->save_state(s.state, sources);
    out[slot.name] = std::move(s);
  }
  return out;
}

Status restore_stage_state(const Checkpoint& checkpoint, std::vector<StageSlot>& stages,
                           std::vector<std::string>& source_names) {
  std::map<std::string, SavedStageState> saved = checkpoint.stages();
  StateSources sources(source_names);
  for (StageSlot& slot : stages) {
    const std::string config = slot.stage->state_config();
    auto it = saved.find(slot.name);
    if (config.empty() || it == saved.end()) continue;
    const SavedStageState& saved_state = it->second;
    // Dropped, not fatal: a config change is deliberate, and refusing to start would leave
    // only removing the checkpoint, which reads every followed file again.
    if (saved_state.type != slot.type || saved_state.config != config) {
      std::string by =
          saved_state.type != slot.type ? "by a " + saved_state.type + " stage" : "under another config of the stage";
      std::fprintf(stderr,
                   "agentlog: warning: checkpoint %s: the state of stage \"%s\" was saved %s; it starts empty\n",
                   checkpoint.path().c_str(), slot.name.c_str(), by.c_str());
      saved.erase(it);
      continue;
    }
    std::string note;
    if (Status status = slot.stage->restore_state(saved_state.state, sources, note); !status.ok())
      return Status::error("checkpoint " + checkpoint.path() + ": the state of stage \"" + slot.name +
                           "\" is not valid (" + status.message() + "); remove \"" + slot.name +
                           "\" from the checkpoint's \"stages\" to start that stage empty");
    if (!note.empty())
      std::fprintf(stderr, "agentlog: warning: checkpoint %s: stage \"%s\": %s\n", checkpoint.path().c_str(),
                   slot.name.c_str(), note.c_str());
    saved.erase(it);
  }
  for (const auto& [name, s] : saved)
    std::fprintf(stderr,
                 "agentlog: warning: checkpoint %s: stage \"%s\" (%s) is not in the pipeline; its saved state is "
                 "dropped\n",
                 checkpoint.path().c_str(), name.c_str(), s.type.c_str());
  return {};
}

}  // namespace agentlog

// Loads a pipeline config (YAML) into constructed plugins. Every error is returned before
// any input is read, as "file:line:col: path: message".
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/plugin.h"

namespace agentlog {

struct StageSlot {
  std::string name;  // `name:` option, or the type
  std::string type;
  std::unique_ptr<Stage> stage;
};

struct PipelineSpec {
  ConfigSource source;
  std::string name;
  std::vector<std::unique_ptr<Input>> inputs;
  std::vector<StageSlot> stages;
  std::vector<std::unique_ptr<Output>> outputs;
  // `warnings:` (one output or a list): where generated warnings (diagnostic records) go.
  // Empty: they go to `outputs` with the records.
  std::vector<std::unique_ptr<Output>> warnings;
  std::unique_ptr<Output> dead_letter;
  // Streaming inputs (pipes, follow mode): longest time a written record may wait in an
  // output buffer while input keeps arriving. Outputs flush at once when input goes idle.
  int flush_interval_ms = 100;
  // Threads that run the chain (`workers:`); 0: auto, the cores this process may use.
  unsigned workers = 0;
};

// Command-line settings that change the config as it is loaded.
struct LoadOverrides {
  // --format: the format of the chain's normalize stage (the inputs' `format:` or the first
  // configured normalize stage); without one, a normalize stage with it is put first.
  std::string format;
};

Status load_pipeline_file(const std::string& path, PipelineSpec& out, const LoadOverrides& ov = {});
Status load_pipeline_text(const std::string& yaml, const std::string& display_name, PipelineSpec& out,
                          const LoadOverrides& ov = {});

// Expands ${VAR}, ${VAR:-default} and $$ in one scalar; ${CONFIG_DIR} is `config_dir`, the
// directory of the config file, when given. Returns false with `missing` set when a variable
// without default is unset.
bool expand_env(const std::string& in, std::string& out, std::string& missing, std::string_view config_dir = {});

}  // namespace agentlog

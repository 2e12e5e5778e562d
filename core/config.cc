#include "core/config.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <sys/stat.h>

#include "core/parallel_runner.h"

namespace agentlog {
namespace {

// `policy` and `reports` belong to `agentlog check` (check/policy.cc); `run` ignores them.
constexpr std::string_view kRootKeys[] = {"pipeline", "policy", "reports"};
constexpr std::string_view kPipelineKeys[] = {"name", "inputs", "stages", "outputs", "warnings", "dead_letter"};
// Typed pipeline-level options (the keys above are checked by hand below).
constexpr OptionSpec kPipelineOptions[] = {
    {.name = "flush_interval_ms", .type = OptType::Int, .default_value = "100",
     .description = "streaming inputs: longest wait of a record in an output buffer under load", .max = 60000},
    {.name = "workers", .type = OptType::String, .default_value = "auto",
     .description = "threads that run the chain: auto (the cores this process may use) or a number; 1: one thread"},
};

Status substitute_env(const ConfigSource& src, YAML::Node node, const std::string& path) {
  if (node.IsScalar()) {
    const std::string& text = node.Scalar();
    if (text.find('$') == std::string::npos) return {};
    std::string out, missing;
    if (!expand_env(text, out, missing, src.dir))
      return Status::error(format_error(src, node, path, "environment variable \"" + missing +
                                                             "\" is not set (use ${" + missing +
                                                             ":-default} to give a default)"));
    // A path built from ${CONFIG_DIR} ("configs/../samples/*.jsonl") reads as the user
    // would write it ("samples/*.jsonl"): the dot-dot is folded away.
    if (!src.dir.empty() && text.find("${CONFIG_DIR}") != std::string::npos && out.find("://") == std::string::npos)
      out = std::filesystem::path(out).lexically_normal().string();
    node = out;  // keeps the node's mark
    return {};
  }
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      Status status = substitute_env(src, node[i], path + "[" + std::to_string(i) + "]");
      if (!status.ok()) return status;
    }
  } else if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string key = it->first.Scalar();
      Status status = substitute_env(src, it->second, path.empty() ? key : path + "." + key);
      if (!status.ok()) return status;
    }
  }
  return {};
}

// Checks one list entry `{type: ..., options...}` and constructs its plugin.
template <typename T>
Status build_entry(const ConfigSource& src, const YAML::Node& entry, const std::string& path, PluginKind kind,
                   T& out, std::string* type_out, std::string* name_out) {
  if (!entry.IsMap())
    return Status::error(format_error(src, entry, path, "expected a mapping with a \"type\" key"));
  YAML::Node type_node = entry["type"];
  if (!type_node)
    return Status::error(format_error(src, entry, path + ".type",
                                      "required option is missing (the " + std::string(kind_name(kind)) +
                                          " type). Allowed: " + join(plugin_names(kind))));
  if (!type_node.IsScalar())
    return Status::error(format_error(src, type_node, path + ".type", "expected a string"));
  std::string type = type_node.Scalar();
  const PluginInfo* info = find_plugin(kind, type);
  if (info == nullptr) {
    auto names = plugin_names(kind);
    std::string msg = "unknown " + std::string(kind_name(kind)) + " \"" + type + "\"";
    msg += suggestion(type, names);
    return Status::error(format_error(src, type_node, path + ".type", msg));
  }
  static constexpr std::string_view kStageExtra[] = {"type", "name"};
  static constexpr std::string_view kOtherExtra[] = {"type"};
  std::span<const std::string_view> extra = kind == PluginKind::Stage ? std::span<const std::string_view>(kStageExtra)
                                                                       : std::span<const std::string_view>(kOtherExtra);
  Status status = check_options(src, entry, path, info->options, extra);
  if (!status.ok()) return status;
  if (name_out) {
    YAML::Node name = entry["name"];
    if (name && !name.IsScalar()) return Status::error(format_error(src, name, path + ".name", "expected a string"));
    *name_out = name ? name.Scalar() : type;
  }
  if (type_out) *type_out = type;
  OptionView view(&src, entry, info->options, path);
  return info->make(view, out);
}

Status check_list(const ConfigSource& src, const YAML::Node& n, const std::string& path) {
  if (n && !n.IsSequence() && !n.IsNull())
    return Status::error(format_error(src, n, path, std::string("expected a list, got ") +
                                                        (n.IsMap() ? "a mapping" : "a scalar")));
  return {};
}

// Two file outputs on one path would interleave their buffers and truncate each other:
// every `file` output (records, warnings, dead letters) needs its own path.
Status check_distinct_paths(const ConfigSource& src, const YAML::Node& pipeline) {
  struct Seen {
    std::string key, where;
    int line;
    dev_t dev;
    ino_t ino;  // 0: the file does not exist yet
  };
  std::vector<Seen> seen;
  auto visit = [&](const YAML::Node& entry, const std::string& where) -> Status {
    if (!entry.IsMap() || !entry["type"] || entry["type"].Scalar() != "file") return {};
    YAML::Node path = entry["path"];
    if (!path || !path.IsScalar()) return {};
    // Symbolic links are resolved (also one to a file not created yet) and an existing file
    // is known by its inode (hard links).
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path abs = fs::absolute(path.Scalar(), ec);
    for (int hops = 0; hops < 40 && fs::is_symlink(abs, ec); ++hops) {
      fs::path target = fs::read_symlink(abs, ec);
      abs = target.is_absolute() ? target : abs.parent_path() / target;
    }
    fs::path resolved = fs::weakly_canonical(abs, ec);
    std::string key = (ec ? abs : resolved).lexically_normal().string();
    struct stat st{};
    const bool exists = ::stat(path.Scalar().c_str(), &st) == 0;
    const ino_t ino = exists ? st.st_ino : 0;
    for (const Seen& other : seen)
      if (other.key == key || (ino != 0 && other.ino == ino && other.dev == st.st_dev))
        return Status::error(format_error(src, path, where + ".path",
                                          "\"" + path.Scalar() + "\" is the same file as " + other.where + " (line " +
                                              std::to_string(other.line) + "); every file output needs its own path"));
    seen.push_back({key, where + ".path \"" + path.Scalar() + "\"", path.Mark().line + 1, st.st_dev, ino});
    return {};
  };
  auto visit_list = [&](const YAML::Node& list, const std::string& where) -> Status {
    if (list && list.IsSequence()) {
      for (size_t i = 0; i < list.size(); ++i)
        if (Status status = visit(list[i], where + "[" + std::to_string(i) + "]"); !status.ok()) return status;
    } else if (list && list.IsMap()) {
      return visit(list, where);
    }
    return {};
  };
  if (Status status = visit_list(pipeline["outputs"], "pipeline.outputs"); !status.ok()) return status;
  if (Status status = visit_list(pipeline["warnings"], "pipeline.warnings"); !status.ok()) return status;
  return visit_list(pipeline["dead_letter"], "pipeline.dead_letter");
}

Status build(YAML::Node root, const LoadOverrides& overrides, PipelineSpec& out) {
  const ConfigSource& src = out.source;
  if (!root.IsMap())
    return Status::error(format_error(src, root, "", "expected a mapping with a \"pipeline\" key"));
  Status status = check_options(src, root, "", {}, kRootKeys);
  if (!status.ok()) return status;
  YAML::Node pipeline = root["pipeline"];
  if (!pipeline) return Status::error(format_error(src, root, "pipeline", "required option is missing"));
  status = substitute_env(src, pipeline, "pipeline");
  if (!status.ok()) return status;
  status = check_options(src, pipeline, "pipeline", kPipelineOptions, kPipelineKeys);
  if (!status.ok()) return status;
  out.flush_interval_ms =
      static_cast<int>(OptionView(&src, pipeline, kPipelineOptions, "pipeline").integer("flush_interval_ms"));
  if (YAML::Node workers = pipeline["workers"]; workers && !parse_workers(workers.Scalar(), out.workers))
    return Status::error(format_error(src, workers, "pipeline.workers", workers_error(workers.Scalar())));

  if (YAML::Node pipeline_name = pipeline["name"]) {
    if (!pipeline_name.IsScalar())
      return Status::error(format_error(src, pipeline_name, "pipeline.name", "expected a string"));
    out.name = pipeline_name.Scalar();
  }
  YAML::Node inputs = pipeline["inputs"], stages = pipeline["stages"], outputs = pipeline["outputs"];
  for (auto& [node, name] : {std::pair{inputs, "pipeline.inputs"}, {stages, "pipeline.stages"}, {outputs, "pipeline.outputs"}}) {
    status = check_list(src, node, name);
    if (!status.ok()) return status;
  }
  if (inputs && inputs.IsSequence()) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      std::unique_ptr<Input> input;
      status = build_entry(src, inputs[i], "pipeline.inputs[" + std::to_string(i) + "]", PluginKind::Input, input,
                           nullptr, nullptr);
      if (!status.ok()) return status;
      out.inputs.push_back(std::move(input));
    }
  }
  // `format:` on inputs puts a normalize stage with that format first (all inputs must agree).
  std::string format;
  YAML::Node format_node;
  if (inputs && inputs.IsSequence()) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      YAML::Node format_of = inputs[i]["format"];
      std::string here = format_of ? format_of.Scalar() : "";
      if (i > 0 && here != format)
        return Status::error(format_error(
            src, format_of ? format_of : inputs[i], "pipeline.inputs[" + std::to_string(i) + "].format",
            "every input must have the same format (inputs[0] has " +
                (format.empty() ? std::string("none") : "\"" + format + "\"") + "); use one pipeline per format"));
      if (i == 0) format = here, format_node = format_of;
    }
  }
  // --format: sets the format of the chain's normalize stage (the inputs' or the first
  // configured one), or puts one first when the chain has none.
  if (!overrides.format.empty()) {
    bool configured = false;
    if (format.empty() && stages && stages.IsSequence())
      for (size_t i = 0; i < stages.size() && !configured; ++i)
        if (stages[i].IsMap() && stages[i]["type"] && stages[i]["type"].IsScalar() &&
            stages[i]["type"].Scalar() == "normalize") {
          stages[i]["format"] = overrides.format;
          configured = true;
        }
    if (!configured) format = overrides.format;
  }
  if (!format.empty()) {
    YAML::Node entry;
    entry["type"] = "normalize";
    entry["format"] = format;
    const PluginInfo* info = find_plugin(PluginKind::Stage, "normalize");
    StageSlot slot{"normalize", "normalize", nullptr};
    OptionView view(&src, entry, info->options, "pipeline.inputs[0].format");
    status = info->make(view, slot.stage);
    if (!status.ok()) return status;
    out.stages.push_back(std::move(slot));
  }
  if (stages && stages.IsSequence()) {
    for (size_t i = 0; i < stages.size(); ++i) {
      StageSlot slot;
      const std::string path = "pipeline.stages[" + std::to_string(i) + "]";
      status = build_entry(src, stages[i], "pipeline.stages[" + std::to_string(i) + "]", PluginKind::Stage, slot.stage,
                           &slot.type, &slot.name);
      if (!status.ok()) return status;
      if (!format.empty() && slot.type == "normalize")
        return Status::error(format_error(src, stages[i]["type"], "pipeline.stages[" + std::to_string(i) + "].type",
                                          "the inputs' format already puts a normalize stage first; remove this "
                                          "stage or the inputs' format"));
      // Stats and dead-letter reasons are keyed by the stage's name: two stages of one name
      // would be told apart nowhere.
      for (size_t j = 0; j < out.stages.size(); ++j) {
        if (out.stages[j].name != slot.name) continue;
        auto name_node = [&](size_t k) { return stages[k]["name"] ? stages[k]["name"] : stages[k]; };
        std::string first;
        if (format.empty() || j > 0) {
          const size_t stage_index = format.empty() ? j : j - 1;  // the inputs' format put a normalize stage first
          first = "pipeline.stages[" + std::to_string(stage_index) + "] (" +
                  format_error(src, name_node(stage_index), "", "");
          first.resize(first.size() - 2);  // format_error's trailing ": "
          first += ")";
        } else {
          first = "the normalize stage the inputs' format puts first";
        }
        return Status::error(format_error(src, name_node(i), path + ".name",
                                          "stage name \"" + slot.name + "\" is already used by " + first +
                                              "; give each stage its own name"));
      }
      out.stages.push_back(std::move(slot));
    }
  }
  if (outputs && outputs.IsSequence()) {
    for (size_t i = 0; i < outputs.size(); ++i) {
      std::unique_ptr<Output> output;
      status = build_entry(src, outputs[i], "pipeline.outputs[" + std::to_string(i) + "]", PluginKind::Output, output,
                           nullptr, nullptr);
      if (!status.ok()) return status;
      out.outputs.push_back(std::move(output));
    }
  }
  if (YAML::Node warnings = pipeline["warnings"]) {
    // One output (a mapping) or a list of them, like `outputs:`.
    if (warnings.IsSequence() && warnings.size() == 0)
      return Status::error(
          format_error(src, warnings, "pipeline.warnings",
                       "must name at least one output; without `warnings:` warnings go to the outputs"));
    if (!warnings.IsSequence() && !warnings.IsMap())
      return Status::error(format_error(src, warnings, "pipeline.warnings",
                                        "expected an output (a mapping with a \"type\" key) or a list of outputs"));
    const bool one = warnings.IsMap();
    for (size_t i = 0; i < (one ? 1 : warnings.size()); ++i) {
      std::unique_ptr<Output> output;
      status = build_entry(src, one ? warnings : warnings[i],
                           one ? "pipeline.warnings" : "pipeline.warnings[" + std::to_string(i) + "]",
                           PluginKind::Output, output, nullptr, nullptr);
      if (!status.ok()) return status;
      out.warnings.push_back(std::move(output));
    }
  }
  if (YAML::Node dead_letter = pipeline["dead_letter"]) {
    status =
        build_entry(src, dead_letter, "pipeline.dead_letter", PluginKind::Output, out.dead_letter, nullptr, nullptr);
    if (!status.ok()) return status;
  }
  return check_distinct_paths(src, pipeline);
}

}  // namespace

bool expand_env(const std::string& in, std::string& out, std::string& missing, std::string_view config_dir) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '$' || i + 1 >= in.size()) {
      out.push_back(c);
      continue;
    }
    if (in[i + 1] == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    if (in[i + 1] != '{') {
      out.push_back(c);
      continue;
    }
    // The matching brace: a default may hold ${...} itself.
    size_t close = i + 2;
    for (int depth = 1; close < in.size(); ++close) {
      if (in[close] == '{' && in[close - 1] == '$') ++depth;
      else if (in[close] == '}' && --depth == 0) break;
    }
    if (close >= in.size()) {
      out.append(in, i, std::string::npos);
      break;
    }
    std::string body = in.substr(i + 2, close - i - 2);
    std::string name = body, def;
    bool has_def = false;
    if (size_t default_at = body.find(":-"); default_at != std::string::npos) {
      name = body.substr(0, default_at);
      def = body.substr(default_at + 2);
      has_def = true;
    }
    if (name == "CONFIG_DIR" && !config_dir.empty()) {
      out.append(config_dir);
      i = close;
      continue;
    }
    const char* value = std::getenv(name.c_str());
    if (value != nullptr && (*value != '\0' || !has_def)) out.append(value);
    else if (has_def) {
      std::string inner;
      if (!expand_env(def, inner, missing, config_dir)) return false;
      out.append(inner);
    }
    else {
      missing = name;
      return false;
    }
    i = close;
  }
  return true;
}

Status load_pipeline_text(const std::string& yaml, const std::string& display_name, PipelineSpec& out,
                          const LoadOverrides& ov) {
  out.source.display_name = display_name;
  YAML::Node root;
  if (Status st = parse_yaml(yaml, display_name, root); !st.ok()) return st;
  try {
    return build(root, ov, out);
  } catch (const YAML::Exception& e) {
    return Status::error(display_name + ":" + std::to_string(e.mark.line + 1) + ":" +
                         std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

Status load_pipeline_file(const std::string& path, PipelineSpec& out, const LoadOverrides& ov) {
  // An ifstream opens a directory and reads nothing, which would read as an empty config.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return Status::error(path + ": cannot read config: it is a directory (-c takes a YAML file)");
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::error(path + ": cannot read config: " + std::strerror(errno));
  std::stringstream ss;
  ss << f.rdbuf();
  // ${CONFIG_DIR}: the config's directory as the path names it (relative stays relative, so
  // the source names in dead letters stay short).
  std::string dir = std::filesystem::path(path).parent_path().string();
  out.source.dir = dir.empty() ? std::string(".") : dir;
  return load_pipeline_text(ss.str(), path, out, ov);
}

}  // namespace agentlog

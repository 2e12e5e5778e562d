// The built-in inputs (file, stdin) and outputs (stdout, stderr, file).
#include <glob.h>
#include <unistd.h>

#include <cstdlib>

#include "core/input.h"
#include "core/integrity_log.h"
#include "core/output.h"
#include "core/plugin.h"

namespace agentlog::plugins {
namespace {

constexpr std::string_view kCompression[] = {"auto", "none", "gzip", "zstd"};
constexpr std::string_view kFraming[] = {"lines", "json-array", "auto"};
constexpr std::string_view kFormats[] = {"auto", "claude-code", "claude-stream-json", "codex", "openhands", "swe-agent"};
constexpr std::string_view kFormatHelp =
    "the agent log format of this input: puts a `normalize` stage with this format first in the chain "
    "(auto: recognised per source from its first record)";
constexpr std::string_view kFramingHelp =
    "lines: one JSON object per line; json-array: the source is one JSON array (pretty-printed is fine), "
    "each element a record numbered from 1; auto: one array when the source starts with [ and parses "
    "whole as one, one record when it is one object spread over lines (an SWE-agent .traj), else lines; "
    "follow mode: lines";
constexpr std::string_view kStartAt[] = {"beginning", "end"};

constexpr OptionSpec kFileInputOptions[] = {
    {.name = "paths", .type = OptType::StringList, .description = "files or globs to read, in order", .required = true},
    {.name = "compression", .type = OptType::Enum, .default_value = "auto",
     .description = "auto detects gzip and zstd by magic number", .allowed = kCompression},
    {.name = "max_line_bytes", .type = OptType::Int, .default_value = "1048576",
     .description = "longer lines are dead-lettered (first max bytes kept)", .min = 16, .max = 1ll << 30},
    {.name = "framing", .type = OptType::Enum, .default_value = "auto", .description = kFramingHelp,
     .allowed = kFraming},
    {.name = "format", .type = OptType::Enum, .description = kFormatHelp, .allowed = kFormats},
    {.name = "follow", .type = OptType::Bool, .default_value = "false",
     .description = "keep reading like tail -F (rotation, truncation, files not there yet) until SIGTERM/SIGINT"},
    {.name = "checkpoint", .type = OptType::String,
     .description = "follow: file keeping the read offset per file, written after outputs flush"},
    {.name = "start_at", .type = OptType::Enum, .default_value = "beginning",
     .description = "follow: where a file not in the checkpoint starts at startup", .allowed = kStartAt},
    {.name = "poll_interval_ms", .type = OptType::Int, .default_value = "250",
     .description = "follow: how often idle files are checked for new data and rotation", .min = 10, .max = 60000},
};

constexpr OptionSpec kStdinInputOptions[] = {
    {.name = "compression", .type = OptType::Enum, .default_value = "auto",
     .description = "auto detects gzip and zstd by magic number", .allowed = kCompression},
    {.name = "max_line_bytes", .type = OptType::Int, .default_value = "1048576",
     .description = "longer lines are dead-lettered (first max bytes kept)", .min = 16, .max = 1ll << 30},
    {.name = "framing", .type = OptType::Enum, .default_value = "auto", .description = kFramingHelp,
     .allowed = kFraming},
    {.name = "format", .type = OptType::Enum, .description = kFormatHelp, .allowed = kFormats},
};

struct FollowSettings {
  bool follow = false;
  std::string checkpoint;
  bool start_at_end = false;
  int poll_interval_ms = 250;
};

class FileInput : public Input {
 public:
  FileInput(std::vector<std::string> paths, std::string compression, size_t max, std::string framing,
            FollowSettings follow)
      : paths_(std::move(paths)), compression_(std::move(compression)), max_(max), framing_(std::move(framing)),
        follow_(std::move(follow)) {}
  Status expand(std::vector<SourceSpec>& out) const override;

 private:
  void add(std::vector<SourceSpec>& out, SourceSpec s) const {
    s.framing = framing_;
    s.follow = follow_.follow;
    s.checkpoint = follow_.checkpoint;
    s.start_at_end = follow_.start_at_end;
    s.poll_interval_ms = follow_.poll_interval_ms;
    out.push_back(std::move(s));
  }
  std::vector<std::string> paths_;
  std::string compression_;
  size_t max_;
  std::string framing_;
  FollowSettings follow_;
};

class StdinInput : public Input {
 public:
  StdinInput(std::string compression, size_t max, std::string framing)
      : compression_(std::move(compression)), max_(max), framing_(std::move(framing)) {}
  Status expand(std::vector<SourceSpec>& out) const override {
    out.push_back({"-", "", compression_, max_, false, {}, framing_});
    return {};
  }

 private:
  std::string compression_;
  size_t max_;
  std::string framing_;
};

struct FileInputConfig {
  enum class StartAt : uint8_t { Beginning, End };  // in kStartAt's order
  std::vector<std::string> paths;
  std::string compression;  // kept as text: SourceSpec takes it so
  size_t max_line_bytes = 0;
  Tracked<std::string> framing;
  bool follow = false;
  Tracked<std::string> checkpoint;
  Tracked<StartAt> start_at;
  Tracked<int> poll_interval_ms;
  template <class B>
  static void bind(B& b) {
    b.field("paths", &FileInputConfig::paths);
    b.field("compression", &FileInputConfig::compression);
    b.field("max_line_bytes", &FileInputConfig::max_line_bytes);
    b.field("framing", &FileInputConfig::framing);
    b.by_hand("format");  // read by core/config.cc: a normalize stage goes first in the chain
    b.field("follow", &FileInputConfig::follow);
    b.field("checkpoint", &FileInputConfig::checkpoint);
    b.field("start_at", &FileInputConfig::start_at);
    b.field("poll_interval_ms", &FileInputConfig::poll_interval_ms);
  }
};

Status make_file_input(const FileInputConfig& cfg, const OptionView& options, std::unique_ptr<Input>& out) {
  if (cfg.paths.empty()) return Status::error(options.error("paths", "must list at least one path"));
  FollowSettings follow;
  follow.follow = cfg.follow;
  follow.checkpoint = cfg.checkpoint.value;
  follow.start_at_end = cfg.start_at.value == FileInputConfig::StartAt::End;
  follow.poll_interval_ms = cfg.poll_interval_ms.value;
  if (follow.follow) {
    if (cfg.compression == "gzip" || cfg.compression == "zstd")
      return Status::error(options.error("compression", "follow mode reads plain text only; use auto or none"));
    for (const auto& path : cfg.paths)
      if (path == "-")
        return Status::error(
            options.error("paths", "follow mode reads files; \"-\" (stdin) is not allowed, use the stdin input"));
    if (cfg.checkpoint.given && follow.checkpoint.empty())
      return Status::error(options.error("checkpoint", "must not be empty"));
    // json-array needs the whole source and auto may too; a followed file never ends.
    if (cfg.framing.given && cfg.framing.value != "lines")
      return Status::error(options.error("framing", "follow mode reads JSON lines; use framing: lines"));
  } else {
    if (cfg.checkpoint.given) return Status::error(options.error("checkpoint", "only applies with follow: true"));
    if (cfg.start_at.given) return Status::error(options.error("start_at", "only applies with follow: true"));
    if (cfg.poll_interval_ms.given)
      return Status::error(options.error("poll_interval_ms", "only applies with follow: true"));
  }
  out = std::make_unique<FileInput>(cfg.paths, cfg.compression, cfg.max_line_bytes,
                                    follow.follow ? std::string("lines") : cfg.framing.value, std::move(follow));
  return {};
}

struct StdinInputConfig {
  std::string compression;
  size_t max_line_bytes = 0;
  std::string framing;
  template <class B>
  static void bind(B& b) {
    b.field("compression", &StdinInputConfig::compression);
    b.field("max_line_bytes", &StdinInputConfig::max_line_bytes);
    b.field("framing", &StdinInputConfig::framing);
    b.by_hand("format");  // read by core/config.cc: a normalize stage goes first in the chain
  }
};

Status make_stdin_input(const StdinInputConfig& cfg, const OptionView&, std::unique_ptr<Input>& out) {
  out = std::make_unique<StdinInput>(cfg.compression, cfg.max_line_bytes, cfg.framing);
  return {};
}

constexpr OptionSpec kIntegrityOptions[] = {
    {.name = "key_file", .type = OptType::String,
     .description = "private key written by `agentlog keygen` (mode 0600; refused if group or others may read it)"},
    {.name = "key_env", .type = OptType::String,
     .description = "name of an environment variable holding the private key text instead of key_file"},
    {.name = "origin", .type = OptType::String,
     .description = "the log's name in its checkpoints (default: host name and absolute output path)"},
    {.name = "checkpoint_every_records", .type = OptType::Int, .default_value = "1000",
     .description = "sign a checkpoint at the first flush after this many new lines", .min = 1},
    {.name = "checkpoint_every_ms", .type = OptType::Int, .default_value = "1000",
     .description = "sign a checkpoint at the first flush this long after the last one (0: off); also at close, "
                    "SIGHUP and SIGTERM",
     .max = 86400000},
};

constexpr OptionSpec kFileOutputOptions[] = {
    {.name = "path", .type = OptType::String, .description = "file to write JSON lines to", .required = true},
    {.name = "append", .type = OptType::Bool, .default_value = "true",
     .description = "append (true) or truncate at start (false); reopened on SIGHUP either way"},
    {.name = "integrity", .type = OptType::Object,
     .description = "tamper-evident log: a Merkle tree over the lines, signed checkpoints in <path>.checkpoints "
                    "(docs/integrity.md)",
     .children = kIntegrityOptions},
};

struct IntegrityConfig {
  std::optional<std::string> key_file;
  std::optional<std::string> key_env;
  std::optional<std::string> origin;
  uint64_t checkpoint_every_records = 0;
  int64_t checkpoint_every_ms = 0;
  template <class B>
  static void bind(B& b) {
    b.field("key_file", &IntegrityConfig::key_file);
    b.field("key_env", &IntegrityConfig::key_env);
    b.field("origin", &IntegrityConfig::origin);
    b.field("checkpoint_every_records", &IntegrityConfig::checkpoint_every_records);
    b.field("checkpoint_every_ms", &IntegrityConfig::checkpoint_every_ms);
  }
};

Status make_integrity(const OptionView& options, const std::string& path, IntegritySettings& out) {
  IntegrityConfig cfg;
  if (Status status = bind_options(options, cfg); !status.ok()) return status;
  if (cfg.key_file.has_value() == cfg.key_env.has_value())
    return Status::error(options.error("", "needs exactly one of key_file and key_env"));
  auto signer = std::make_shared<note::Signer>();
  if (cfg.key_file) {
    if (Status status = note::Signer::from_file(*cfg.key_file, *signer); !status.ok())
      return Status::error(options.error("key_file", status.message()));
  } else {
    const std::string& var = *cfg.key_env;
    const char* text = std::getenv(var.c_str());
    if (text == nullptr || *text == '\0')
      return Status::error(options.error("key_env", "environment variable \"" + var + "\" is not set"));
    if (Status status = note::Signer::from_text(text, "$" + var, *signer); !status.ok())
      return Status::error(options.error("key_env", status.message()));
  }
  if (cfg.origin) {
    out.origin = *cfg.origin;
    if (out.origin.empty() || out.origin.find('\n') != std::string::npos)
      return Status::error(options.error("origin", "must be one non-empty line"));
  }
  out.every_records = cfg.checkpoint_every_records;
  out.every_ms = cfg.checkpoint_every_ms;
  out.signer = std::move(signer);
  return {};
}

Status make_stdout(const OptionView&, std::unique_ptr<Output>& out) {
  out = std::make_unique<FdOutput>("stdout", STDOUT_FILENO, "", true);
  return {};
}
Status make_stderr(const OptionView&, std::unique_ptr<Output>& out) {
  out = std::make_unique<FdOutput>("stderr", STDERR_FILENO, "", true);
  return {};
}
struct FileOutputConfig {
  std::string path;
  bool append = true;
  template <class B>
  static void bind(B& b) {
    b.field("path", &FileOutputConfig::path);
    b.field("append", &FileOutputConfig::append);
    b.nested("integrity", config_of<IntegrityConfig>);  // make_integrity binds it on the sub-view
  }
};

Status make_file_output(const FileOutputConfig& cfg, const OptionView& o, std::unique_ptr<Output>& out) {
  const std::string& path = cfg.path;
  if (path.empty()) return Status::error(o.error("path", "must not be empty"));
  auto file = std::make_unique<FdOutput>(path, -1, path, cfg.append);
  if (o.has("integrity")) {
    // Truncating would cut the log its checkpoints cover.
    if (!cfg.append)
      return Status::error(o.error("append", "must be true with integrity (a truncated file breaks its checkpoints)"));
    IntegritySettings settings;
    if (Status st = make_integrity(o.object("integrity"), path, settings); !st.ok()) return st;
    file->set_integrity(std::make_unique<IntegrityLog>(path, std::move(settings)));
  }
  out = std::move(file);
  return {};
}

}  // namespace

Status FileInput::expand(std::vector<SourceSpec>& out) const {
  for (const auto& p : paths_) {
    if (p == "-") {
      out.push_back({"-", "", compression_, max_, false, {}, framing_});
      continue;
    }
    std::vector<std::string> files;
    if (!expand_input_path(p, files)) {
      // Reported as an unreadable source; the other inputs are still read.
      add(out, {p, p, compression_, max_, true, p + ": no file matches this pattern"});
      continue;
    }
    bool pattern = files.size() != 1 || files[0] != p;
    for (auto& f : files) add(out, {f, f, compression_, max_, pattern});
  }
  return {};
}

const PluginInfo& file_input_plugin() {
  static const PluginInfo info = PluginInfo::input<make_file_input>(
      "file", "read JSON lines from files and globs (plain, gzip or zstd)", kFileInputOptions);
  return info;
}
const PluginInfo& stdin_input_plugin() {
  static const PluginInfo info =
      PluginInfo::input<make_stdin_input>("stdin", "read JSON lines from standard input", kStdinInputOptions);
  return info;
}
const PluginInfo& stdout_output_plugin() {
  static const PluginInfo info = PluginInfo::output("stdout", "write JSON lines to standard output", {}, make_stdout);
  return info;
}
const PluginInfo& stderr_output_plugin() {
  static const PluginInfo info = PluginInfo::output("stderr", "write JSON lines to standard error", {}, make_stderr);
  return info;
}
const PluginInfo& file_output_plugin() {
  static const PluginInfo info = PluginInfo::output<make_file_output>(
      "file", "append JSON lines to a file; reopened on SIGHUP (logrotate)", kFileOutputOptions);
  return info;
}

}  // namespace agentlog::plugins

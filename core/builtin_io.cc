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

Status make_file_input(const OptionView& o, std::unique_ptr<Input>& out) {
  auto paths = o.strings("paths");
  if (paths.empty()) return Status::error(o.error("paths", "must list at least one path"));
  FollowSettings f;
  f.follow = o.boolean("follow");
  f.checkpoint = o.str("checkpoint");
  f.start_at_end = o.str("start_at") == "end";
  f.poll_interval_ms = static_cast<int>(o.integer("poll_interval_ms"));
  if (f.follow) {
    std::string c = o.str("compression");
    if (c == "gzip" || c == "zstd")
      return Status::error(o.error("compression", "follow mode reads plain text only; use auto or none"));
    for (const auto& p : paths)
      if (p == "-") return Status::error(o.error("paths", "follow mode reads files; \"-\" (stdin) is not allowed, use the stdin input"));
    if (o.has("checkpoint") && f.checkpoint.empty())
      return Status::error(o.error("checkpoint", "must not be empty"));
    // json-array needs the whole source and auto may too; a followed file never ends.
    if (o.has("framing") && o.str("framing") != "lines")
      return Status::error(o.error("framing", "follow mode reads JSON lines; use framing: lines"));
  } else {
    for (std::string_view opt : {"checkpoint", "start_at", "poll_interval_ms"})
      if (o.has(opt)) return Status::error(o.error(opt, "only applies with follow: true"));
  }
  out = std::make_unique<FileInput>(std::move(paths), o.str("compression"),
                                    static_cast<size_t>(o.integer("max_line_bytes")),
                                    f.follow ? std::string("lines") : o.str("framing"),
                                    std::move(f));
  return {};
}

Status make_stdin_input(const OptionView& o, std::unique_ptr<Input>& out) {
  out = std::make_unique<StdinInput>(o.str("compression"), static_cast<size_t>(o.integer("max_line_bytes")),
                                     o.str("framing"));
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

Status make_integrity(const OptionView& o, const std::string& path, IntegritySettings& out) {
  const bool file = o.has("key_file"), env = o.has("key_env");
  if (file == env) return Status::error(o.error("", "needs exactly one of key_file and key_env"));
  auto signer = std::make_shared<note::Signer>();
  if (file) {
    const std::string key_path = o.str("key_file");
    if (Status st = note::Signer::from_file(key_path, *signer); !st.ok())
      return Status::error(o.error("key_file", st.message()));
  } else {
    const std::string var = o.str("key_env");
    const char* text = std::getenv(var.c_str());
    if (text == nullptr || *text == '\0')
      return Status::error(o.error("key_env", "environment variable \"" + var + "\" is not set"));
    if (Status st = note::Signer::from_text(text, "$" + var, *signer); !st.ok())
      return Status::error(o.error("key_env", st.message()));
  }
  if (o.has("origin")) {
    out.origin = o.str("origin");
    if (out.origin.empty() || out.origin.find('\n') != std::string::npos)
      return Status::error(o.error("origin", "must be one non-empty line"));
  }
  out.every_records = static_cast<uint64_t>(o.integer("checkpoint_every_records"));
  out.every_ms = o.integer("checkpoint_every_ms");
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
Status make_file_output(const OptionView& o, std::unique_ptr<Output>& out) {
  std::string path = o.str("path");
  if (path.empty()) return Status::error(o.error("path", "must not be empty"));
  auto file = std::make_unique<FdOutput>(path, -1, path, o.boolean("append"));
  if (o.has("integrity")) {
    // Truncating would cut the log its checkpoints cover.
    if (!o.boolean("append"))
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
  static const PluginInfo info = PluginInfo::input("file",
                               "read JSON lines from files and globs (plain, gzip or zstd)",
                               kFileInputOptions, make_file_input);
  return info;
}
const PluginInfo& stdin_input_plugin() {
  static const PluginInfo info = PluginInfo::input("stdin", "read JSON lines from standard input",
                               kStdinInputOptions, make_stdin_input);
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
  static const PluginInfo info = PluginInfo::output("file",
                               "append JSON lines to a file; reopened on SIGHUP (logrotate)",
                               kFileOutputOptions, make_file_output);
  return info;
}

}  // namespace agentlog::plugins

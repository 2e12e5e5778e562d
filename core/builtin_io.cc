// The built-in inputs (file, stdin) and outputs (stdout, stderr, file).
#include <glob.h>
#include <unistd.h>

#include "core/output.h"
#include "core/plugin.h"

namespace agentlog::plugins {
namespace {

constexpr std::string_view kCompression[] = {"auto", "none", "gzip", "zstd"};
constexpr std::string_view kFraming[] = {"lines", "json-array", "auto"};
constexpr std::string_view kFormats[] = {"claude-code", "codex", "openhands"};
constexpr std::string_view kFormatHelp =
    "the agent log format of this input: puts a `normalize` stage with this format first in the chain";
constexpr std::string_view kFramingHelp =
    "lines: one JSON object per line; json-array: the source is one JSON array (pretty-printed is fine), "
    "each element a record numbered from 1; auto: json-array when the source starts with [ and parses "
    "whole as an array, else lines";

constexpr OptionSpec kFileInputOptions[] = {
    {.name = "paths", .type = OptType::StringList, .description = "files or globs to read, in order", .required = true},
    {.name = "compression", .type = OptType::Enum, .default_value = "auto",
     .description = "auto detects gzip and zstd by magic number", .allowed = kCompression},
    {.name = "max_line_bytes", .type = OptType::Int, .default_value = "1048576",
     .description = "longer lines are dead-lettered (first max bytes kept)", .min = 16, .max = 1ll << 30},
    {.name = "framing", .type = OptType::Enum, .default_value = "lines", .description = kFramingHelp,
     .allowed = kFraming},
    {.name = "format", .type = OptType::Enum, .description = kFormatHelp, .allowed = kFormats},
};

constexpr OptionSpec kStdinInputOptions[] = {
    {.name = "compression", .type = OptType::Enum, .default_value = "auto",
     .description = "auto detects gzip and zstd by magic number", .allowed = kCompression},
    {.name = "max_line_bytes", .type = OptType::Int, .default_value = "1048576",
     .description = "longer lines are dead-lettered (first max bytes kept)", .min = 16, .max = 1ll << 30},
    {.name = "framing", .type = OptType::Enum, .default_value = "lines", .description = kFramingHelp,
     .allowed = kFraming},
    {.name = "format", .type = OptType::Enum, .description = kFormatHelp, .allowed = kFormats},
};

class FileInput : public Input {
 public:
  FileInput(std::vector<std::string> paths, std::string compression, size_t max, std::string framing)
      : paths_(std::move(paths)), compression_(std::move(compression)), max_(max), framing_(std::move(framing)) {}
  Status expand(std::vector<SourceSpec>& out) const override;

 private:
  std::vector<std::string> paths_;
  std::string compression_;
  size_t max_;
  std::string framing_;
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
  out = std::make_unique<FileInput>(std::move(paths), o.str("compression"),
                                    static_cast<size_t>(o.integer("max_line_bytes")), o.str("framing"));
  return {};
}

Status make_stdin_input(const OptionView& o, std::unique_ptr<Input>& out) {
  out = std::make_unique<StdinInput>(o.str("compression"), static_cast<size_t>(o.integer("max_line_bytes")),
                                     o.str("framing"));
  return {};
}

constexpr OptionSpec kFileOutputOptions[] = {
    {.name = "path", .type = OptType::String, .description = "file to write JSON lines to", .required = true},
    {.name = "append", .type = OptType::Bool, .default_value = "true",
     .description = "append (true) or truncate at start (false); reopened on SIGHUP either way"},
};

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
  out = std::make_unique<FdOutput>(path, -1, path, o.boolean("append"));
  return {};
}

}  // namespace

Status FileInput::expand(std::vector<SourceSpec>& out) const {
  for (const auto& p : paths_) {
    if (p == "-") {
      out.push_back({"-", "", compression_, max_, false, {}, framing_});
      continue;
    }
    if (p.find_first_of("*?[") == std::string::npos) {
      out.push_back({p, p, compression_, max_, false, {}, framing_});
      continue;
    }
    glob_t g{};
    int rc = ::glob(p.c_str(), 0, nullptr, &g);
    if (rc == GLOB_NOMATCH) {
      // Reported as an unreadable source; the other inputs are still read.
      globfree(&g);
      out.push_back({p, p, compression_, max_, true, p + ": no file matches this pattern", framing_});
      continue;
    }
    for (size_t i = 0; i < g.gl_pathc; ++i)
      out.push_back({g.gl_pathv[i], g.gl_pathv[i], compression_, max_, true, {}, framing_});
    globfree(&g);  // glob(3) sorts its matches, so the order is deterministic
  }
  return {};
}

const PluginInfo& file_input_plugin() {
  static const PluginInfo info{"file", PluginKind::Input,
                               "read JSON lines from files and globs (plain, gzip or zstd)",
                               kFileInputOptions, nullptr, make_file_input, nullptr};
  return info;
}
const PluginInfo& stdin_input_plugin() {
  static const PluginInfo info{"stdin", PluginKind::Input, "read JSON lines from standard input",
                               kStdinInputOptions, nullptr, make_stdin_input, nullptr};
  return info;
}
const PluginInfo& stdout_output_plugin() {
  static const PluginInfo info{"stdout", PluginKind::Output, "write JSON lines to standard output", {},
                               nullptr, nullptr, make_stdout};
  return info;
}
const PluginInfo& stderr_output_plugin() {
  static const PluginInfo info{"stderr", PluginKind::Output, "write JSON lines to standard error", {},
                               nullptr, nullptr, make_stderr};
  return info;
}
const PluginInfo& file_output_plugin() {
  static const PluginInfo info{"file", PluginKind::Output,
                               "append JSON lines to a file; reopened on SIGHUP (logrotate)",
                               kFileOutputOptions, nullptr, nullptr, make_file_output};
  return info;
}

}  // namespace agentlog::plugins

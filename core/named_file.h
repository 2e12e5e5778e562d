// A plugin option that names either a built-in data file (embedded as <dir>/<name><suffix>)
// or a file on disk (a name with a '/' or one of the path suffixes).
#pragma once
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/options.h"

namespace agentlog {

struct NamedFile {
  std::string text;
  std::string origin;  // the path, or "<dir>/<name><suffix>" for a built-in
  bool is_path = false;
};

// Errors name the option: `cannot read <what> file "x"` or `unknown <what> "x"; did you
// mean ...? Allowed: <built-ins>, or a path to a <path_suffixes[0]> file`.
Status load_named_file(const OptionView& o, std::string_view option, std::string_view what, std::string_view dir,
                       std::string_view suffix, std::span<const std::string_view> path_suffixes, NamedFile& out);

// The built-in names under `dir` with `suffix`, sorted.
std::vector<std::string_view> embedded_names(std::string_view dir, std::string_view suffix);

}  // namespace agentlog

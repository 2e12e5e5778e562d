#include "core/named_file.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/embedded_files.h"

namespace agentlog {

std::vector<std::string_view> embedded_names(std::string_view dir, std::string_view suffix) {
  std::vector<std::string_view> out;
  for (const auto& f : embedded_files()) {
    std::string_view p = f.path;
    if (p.size() > dir.size() + 1 + suffix.size() && p.starts_with(dir) && p[dir.size()] == '/' && p.ends_with(suffix))
      out.push_back(p.substr(dir.size() + 1, p.size() - dir.size() - 1 - suffix.size()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status load_named_file(const OptionView& o, std::string_view option, std::string_view what, std::string_view dir,
                       std::string_view suffix, std::span<const std::string_view> path_suffixes, NamedFile& out) {
  std::string name = o.str(option);
  out.is_path = name.find('/') != std::string::npos ||
                std::any_of(path_suffixes.begin(), path_suffixes.end(), [&](std::string_view s) { return name.ends_with(s); });
  if (out.is_path) {
    std::ifstream f(name, std::ios::binary);
    if (!f) return Status::error(o.error(option, "cannot read " + std::string(what) + " file \"" + name + "\""));
    std::stringstream ss;
    ss << f.rdbuf();
    out.text = ss.str();
    out.origin = name;
    return {};
  }
  out.origin = std::string(dir) + "/" + name + std::string(suffix);
  out.text = std::string(find_embedded(out.origin));
  if (out.text.empty()) {
    auto names = embedded_names(dir, suffix);
    return Status::error(o.error(option, "unknown " + std::string(what) + " \"" + name + "\"" + suggestion(name, names) +
                                             ", or a path to a " + std::string(path_suffixes[0]) + " file"));
  }
  return {};
}

}  // namespace agentlog

// Data files compiled into the binary (schemas/, and rule sets as they are added).
#pragma once
#include <span>
#include <string_view>

namespace agentlog {

struct EmbeddedFile {
  std::string_view path;  // relative to the source tree, e.g. "schemas/agent-activity.schema.json"
  std::string_view content;
};

std::span<const EmbeddedFile> embedded_files();

// The content of an embedded file, or an empty view when there is none.
inline std::string_view find_embedded(std::string_view path) {
  for (const auto& f : embedded_files())
    if (f.path == path) return f.content;
  return {};
}

}  // namespace agentlog

// Field paths used by stage options: dotted ("details.command", "target_node_ids.0") or a
// JSON Pointer ("/details/command").
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

namespace agentlog {

struct FieldPath {
  std::string text;
  std::vector<std::string> parts;
};

// Returns false for an empty path or an empty segment.
bool parse_field_path(std::string_view text, FieldPath& out);

// The element at `path`, or nullopt when any segment is missing.
std::optional<simdjson::dom::element> lookup(simdjson::dom::element root, const FieldPath& path);

}  // namespace agentlog

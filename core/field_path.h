// Field paths used by stage options: dotted ("details.command", "target_node_ids.0") or a
// JSON Pointer ("/details/command").
#pragma once
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "core/record.h"

namespace agentlog {

struct FieldPath {
  std::string text;
  std::vector<std::string> parts;
};

// Returns false for an empty path or an empty segment.
bool parse_field_path(std::string_view text, FieldPath& out);

// The element at `path`, or nullopt when any segment is missing.
std::optional<simdjson::dom::element> lookup(simdjson::dom::element root, const FieldPath& path);

// Looks up several paths at once: top-level names are found in one pass over the record's
// members instead of one scan per name (simdjson's at_key is a linear scan).
class FieldSet {
 public:
  // Returns the slot of `path` in the results.
  size_t add(const FieldPath& path);
  void extract(simdjson::dom::element root);
  // The same from the record's shared top-level member cache (Record::top_member): the
  // record is walked once for all the stages of a chain.
  void extract(Record& record);
  const std::optional<simdjson::dom::element>& operator[](size_t slot) const { return found_[slot]; }
  // The string at `slot`, if it is a string.
  std::optional<std::string_view> str(size_t slot) const;

 private:
  std::vector<FieldPath> paths_;
  std::vector<uint32_t> first_ids_;  // TopFieldRegistry id of each path's first segment
  std::vector<uint8_t> nested_;      // the path has more than one segment
  std::vector<std::optional<simdjson::dom::element>> found_;
  std::vector<std::pair<std::string_view, size_t>> top_;  // top-level names and their slots
  // top_ entries by name length (lengths >= 64 share the last bucket): a member's key is
  // compared only with names of its own length.
  std::array<std::vector<uint32_t>, 65> by_len_;
};

}  // namespace agentlog

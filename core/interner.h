// Interns short strings (agent ids and the like) as small integers, and keeps each one's
// JSON-quoted form so warnings and annotations copy it instead of escaping it again.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/hash_index.h"
#include "core/json_text.h"

namespace agentlog {

class Interner {
 public:
  uint32_t id(std::string_view s) {
    // Consecutive records usually come from the same agent.
    if (last_ != UINT32_MAX && strings_[last_] == s) return last_;
    uint64_t h = hash_key(s);
    uint32_t found = index_.find(h);
    if (found != HashIndex::kNone) {
      if (strings_[found] == s) return last_ = found;
      // Two strings with one 64-bit hash: the later ones live in a side map.
      auto it = collided_.find(std::string(s));
      if (it != collided_.end()) return last_ = it->second;
    }
    strings_.emplace_back(s);
    quoted_.push_back(json::quoted(s));
    uint32_t n = static_cast<uint32_t>(strings_.size() - 1);
    if (found == HashIndex::kNone) index_.insert(h, n);
    else collided_.emplace(std::string(s), n);
    return last_ = n;
  }
  const std::string& str(uint32_t id) const { return strings_[id]; }
  // The string as a JSON string literal, quotes included.
  const std::string& quoted(uint32_t id) const { return quoted_[id]; }

 private:
  HashIndex index_;
  std::unordered_map<std::string, uint32_t> collided_;
  std::vector<std::string> strings_, quoted_;
  uint32_t last_ = UINT32_MAX;
};

}  // namespace agentlog

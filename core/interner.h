// Interns short strings (agent ids and the like) as small integers.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace agentlog {

class Interner {
 public:
  uint32_t id(std::string_view s) {
    // Consecutive records usually come from the same agent.
    if (last_ != UINT32_MAX && strings_[last_] == s) return last_;
    auto it = ids_.find(s);
    if (it != ids_.end()) return last_ = it->second;
    strings_.emplace_back(s);
    uint32_t n = static_cast<uint32_t>(strings_.size() - 1);
    ids_.emplace(std::string(s), n);
    return last_ = n;
  }
  const std::string& str(uint32_t id) const { return strings_[id]; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> ids_;
  std::vector<std::string> strings_;
  uint32_t last_ = UINT32_MAX;
};

}  // namespace agentlog

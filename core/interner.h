// Interns short strings (agent ids and the like) as small integers, and keeps each one's
// JSON-quoted form so warnings and annotations copy it instead of escaping it again.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/hash_index.h"
#include "core/json_text.h"

namespace agentlog {

class Interner {
 public:
  uint32_t id(std::string_view s) {
    // A few agents usually write most records: a small direct-mapped memory of recent
    // strings, keyed by their length and first and last bytes, settles most calls.
    uint32_t& recent = recent_[recent_slot(s)];
    if (recent != UINT32_MAX && equal_text(strings_[recent], s)) return recent;
    return recent = id_slow(s);
  }
  const std::string& str(uint32_t id) const { return strings_[id]; }
  // The string as a JSON string literal, quotes included.
  const std::string& quoted(uint32_t id) const { return quoted_[id]; }

 private:
  static size_t recent_slot(std::string_view s) {
    const uint64_t mixed = (head_word(s) ^ (tail_word(s) * 31) ^ s.size()) * 0x9E3779B97F4A7C15ull;
    return static_cast<size_t>(mixed >> 58);  // 64 slots
  }
  // Out of line, so the fast path in id() saves no registers.
  [[gnu::noinline]] uint32_t id_slow(std::string_view s) {
    uint64_t h = hash_key(s);
    uint32_t found = index_.find(h, [&](uint32_t n) { return strings_[n] == s; });
    if (found != HashIndex::kNone) return found;
    strings_.emplace_back(s);
    quoted_.push_back(json::quoted(s));
    uint32_t n = static_cast<uint32_t>(strings_.size() - 1);
    index_.insert(h, n);
    return n;
  }

  std::array<uint32_t, 64> recent_ = filled();
  static std::array<uint32_t, 64> filled() {
    std::array<uint32_t, 64> a;
    a.fill(UINT32_MAX);
    return a;
  }
  HashIndex index_;
  std::vector<std::string> strings_, quoted_;
};

}  // namespace agentlog

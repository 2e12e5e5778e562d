// Process-wide ids for the top-level field names that stages read. Stages register names
// at config time; a Record then finds all of them in one pass over its members, and every
// stage of the chain reads the result (Record::top_member) instead of walking the record.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace agentlog {

class TopFieldRegistry {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  // The id of `name`, registering it when new. Config time only: not thread-safe.
  static uint32_t intern(std::string_view name);
  // The id of `name`, or kNone when no stage registered it. Safe while nothing registers.
  static uint32_t find(std::string_view name) { return find_in(data(), name.data(), name.size()); }
  // The same for a key that may be read up to 7 bytes past its end (simdjson's string
  // buffer is padded): one word compare settles most keys.
  static uint32_t find_padded(std::string_view key) { return find_padded_in(data(), key); }
  static uint32_t size() { return static_cast<uint32_t>(data().names.size()); }

  struct Entry {
    uint64_t head = 0;  // the first 8 bytes (zero-filled)
    const char* name = nullptr;
    uint32_t id = 0;
  };
  struct Data {
    std::deque<std::string> names;  // stable storage for Entry::name
    // Names by length (64 and longer share the last bucket): a key is compared only with
    // names of its own length.
    std::array<std::vector<Entry>, 65> by_len;
  };
  static Data& data() {
    static Data d;
    return d;
  }

  static uint64_t head_of(const char* p, size_t n) {
    uint64_t w = 0;
    std::memcpy(&w, p, n < 8 ? n : 8);
    return w;
  }
  static uint32_t find_in(const Data& d, const char* p, size_t n) {
    const auto& bucket = d.by_len[n < 64 ? n : 64];
    if (bucket.empty()) return kNone;
    uint64_t head = head_of(p, n);
    for (const auto& e : bucket)
      if (e.head == head && (n <= 8 || ((n < 64 || std::strlen(e.name) == n) && std::memcmp(e.name + 8, p + 8, n - 8) == 0)))
        return e.id;
    return kNone;
  }
  static uint32_t find_padded_in(const Data& d, std::string_view key) {
    size_t n = key.size();
    const auto& bucket = d.by_len[n < 64 ? n : 64];
    if (bucket.empty()) return kNone;
    uint64_t w;
    std::memcpy(&w, key.data(), 8);
    if (n < 8) w &= (uint64_t{1} << (8 * n)) - 1;
    for (const auto& e : bucket)
      if (e.head == w && (n <= 8 || ((n < 64 || std::strlen(e.name) == n) && std::memcmp(e.name + 8, key.data() + 8, n - 8) == 0)))
        return e.id;
    return kNone;
  }
};

}  // namespace agentlog

// Process-wide ids for the top-level field names that stages read. Stages register names
// at config time; a Record then finds all of them in one pass over its members, and every
// stage of the chain reads the result (Record::top_member) instead of walking the record.
#pragma once
#include <algorithm>
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
  static uint32_t find(std::string_view name) {
    char buf[16] = {};
    if (name.size() > 16) return lookup(data(), name.data(), name.size());
    std::memcpy(buf, name.data(), name.size());
    return lookup(data(), buf, name.size());
  }
  static uint32_t size() { return data().count; }

  // Open addressing on (length, first 8 bytes); most keys of a record are not registered
  // and stop at an empty slot after one probe.
  struct Slot {
    uint64_t w0 = 0, w1 = 0;  // bytes 0-7 and 8-15 of the name, zero-filled
    uint32_t len = 0;
    uint32_t id = kNone;      // kNone: empty
    const char* name = nullptr;
  };
  struct Data {
    // Bit min(length, 63) of first_len[c]: some name starts with byte c and has that length.
    // Most members of a record are not registered; this settles them in a few instructions.
    std::array<uint64_t, 256> first_len{};
    std::deque<std::string> names;  // stable storage for Slot::name
    uint32_t count = 0;             // names.size(), read per record
    std::vector<Slot> table = std::vector<Slot>(64);
    uint32_t shift = 58;  // 64 - log2(table size)
  };
  static Data& data() {
    static Data d;
    return d;
  }

  static uint64_t word(const char* p, size_t n, size_t at) {
    if (n <= at) return 0;
    uint64_t w;
    std::memcpy(&w, p + at, 8);
    if (n - at < 8) w &= (uint64_t{1} << (8 * (n - at))) - 1;
    return w;
  }
  static size_t home(const Data& d, uint64_t w0, size_t n) {
    return static_cast<size_t>(((w0 + n) * 0x9E3779B97F4A7C15ull) >> d.shift);
  }
  // False when no registered name has `p`'s first byte and length `n` (p[0] readable even
  // when n is 0, as in simdjson's string buffer).
  static bool maybe(const Data& d, const char* p, size_t n) {
    return (d.first_len[static_cast<unsigned char>(p[0])] >> std::min<size_t>(n, 63)) & 1;
  }
  // The same for a key at `p` readable for 16 bytes (or `n` when longer), as in simdjson's
  // padded string buffer: two word compares settle names of up to 16 bytes.
  static uint32_t lookup(const Data& d, const char* p, size_t n) {
    const uint64_t w0 = word(p, n, 0);
    const size_t mask = d.table.size() - 1;
    for (size_t i = home(d, w0, n);; i = (i + 1) & mask) {
      const Slot& s = d.table[i];
      if (s.id == kNone) return kNone;
      if (s.w0 != w0 || s.len != n) continue;
      if (n <= 8 || (s.w1 == word(p, n, 8) && (n <= 16 || std::memcmp(s.name + 16, p + 16, n - 16) == 0))) return s.id;
    }
  }
};

}  // namespace agentlog

// Process-wide ids for the top-level field names that stages read. Stages register names
// at config time; a Record then finds all of them in one pass over its members, and every
// stage of the chain reads the result (Record::top_member) instead of walking the record.
#pragma once
#include <algorithm>
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

  // Names are found by their first byte and length: a table of (byte, length % 64) gives
  // the first name with both, later ones are chained (and compared by their whole length).
  // Most members of a record are not registered and stop at an empty entry; a candidate is
  // confirmed by two masked word compares (names of up to 16 bytes) and a memcmp for the
  // rest of longer ones.
  struct Slot {
    uint64_t w0 = 0, w1 = 0;  // bytes 0-7 and 8-15 of the name, zero-filled
    uint64_t m0 = 0, m1 = 0;  // masks of those bytes that belong to the name
    uint32_t len = 0;
    uint32_t id = kNone;
    uint32_t next = 0;        // the next slot with the same first byte and length; 0: none
    const char* name = nullptr;
  };
  struct Data {
    std::vector<uint32_t> first = std::vector<uint32_t>(256 * 64);  // slot index; 0: none
    std::vector<Slot> slots = std::vector<Slot>(1);                 // slot 0 unused
    std::deque<std::string> names;  // stable storage for Slot::name
    uint32_t count = 0;             // names.size(), read per record
  };
  static Data& data() {
    static Data d;
    return d;
  }

  static size_t entry(const char* p, size_t n) {
    return static_cast<size_t>(static_cast<unsigned char>(p[0])) * 64 + (n & 63);
  }
  // The id of the key at `p` of length `n`, readable for 16 bytes (or `n` when longer) as in
  // simdjson's padded string buffer; p[0] is read even when n is 0.
  static uint32_t lookup(const Data& d, const char* p, size_t n) {
    for (uint32_t i = d.first[entry(p, n)]; i != 0;) {
      const Slot& s = d.slots[i];
      uint64_t a, b;
      std::memcpy(&a, p, 8);
      std::memcpy(&b, p + 8, 8);
      if (s.len == n && (a & s.m0) == s.w0 && (b & s.m1) == s.w1 &&
          (n <= 16 || std::memcmp(s.name + 16, p + 16, n - 16) == 0))
        return s.id;
      i = s.next;
    }
    return kNone;
  }
};

}  // namespace agentlog

// An open-addressing index from 64-bit key hashes to slot numbers, for stages that keep
// per-key state (lifecycle, collision, the interner, enrich's lookups): one probe sequence in
// one array, no allocation per key. A bucket is 8 bytes, the low 32 bits of the hash and the
// value; the caller, which keeps its entries elsewhere, confirms a candidate (`is_key`), so
// the index stays half the size (fresh memory is the cost of a large index on the benchmark
// VM). The interner and enrich confirm with the string itself, so their lookups are exact;
// collision and lifecycle confirm with their key's 64-bit hash, so two keys that hash alike
// (probability below 1e-7 over a million keys) would share an entry.
#pragma once
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "core/zeroed_array.h"

namespace agentlog {

inline uint64_t hash_key(std::string_view s) {
  // A word at a time (multiply and xor-shift per 8 bytes), then splitmix64's avalanche:
  // fast for the 20-60 byte keys of ids, and well mixed in every bit.
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (s.size() * 0xC2B2AE3D27D4EB4Full);
  const char* p = s.data();
  size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
  }
  if (n > 0) {
    // The last n bytes as a word: one overlapping load when the key has at least 8 bytes (a
    // memcpy of a variable size is a library call), else byte by byte.
    uint64_t w = 0;
    if (s.size() >= 8) {
      std::memcpy(&w, p + n - 8, 8);
      w >>= 8 * (8 - n);
    } else {
      for (size_t i = 0; i < n; ++i) w |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
    }
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
  }
  h ^= h >> 30;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 27;
  h *= 0x94D049BB133111EBull;
  h ^= h >> 31;
  return h == 0 ? 1 : h;  // 0 marks an empty bucket
}

// The first 8 bytes of `s` as a word, zero-filled: a cheap first comparison of short ids.
// A constant-size load when `s` is that long (a variable-size memcpy is a library call).
inline uint64_t head_word(std::string_view s) {
  uint64_t w = 0;
  if (s.size() >= 8) std::memcpy(&w, s.data(), 8);
  else
    for (size_t i = 0; i < s.size(); ++i) w |= uint64_t{static_cast<unsigned char>(s[i])} << (8 * i);
  return w;
}

class HashIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // The value whose entry `is_key(value)` confirms is `key`'s, or kNone. Only buckets that
  // carry `key`'s tag are confirmed, so a miss rarely calls `is_key`.
  template <class IsKey>
  uint32_t find(uint64_t key, IsKey&& is_key) const {
    if (slots_.empty()) return kNone;
    const uint32_t tag = tag_of(key);
    for (size_t i = tag & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].tag == tag && is_key(slots_[i].value)) return slots_[i].value;
      if (slots_[i].tag == 0) return kNone;
    }
  }
  // Brings `key`'s first bucket toward the cache: a stage that knows a batch's keys ahead
  // issues these first, so the random probes of a large index do not wait on memory one by one.
  void prefetch(uint64_t key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[tag_of(key) & mask_]);
  }

  // `key` must be absent.
  void insert(uint64_t key, uint32_t value) {
    if (over_full(size_ + 1, slots_.size())) grow();
    place(tag_of(key), value);
  }

  // Maps `key` to `value`, whether or not it was present (one probe sequence).
  template <class IsKey>
  void insert_or_assign(uint64_t key, uint32_t value, IsKey&& is_key) {
    if (over_full(size_ + 1, slots_.size())) grow();
    const uint32_t tag = tag_of(key);
    size_t i = tag & mask_;
    while (slots_[i].tag != 0 && !(slots_[i].tag == tag && is_key(slots_[i].value))) i = (i + 1) & mask_;
    if (slots_[i].tag == 0) ++size_;
    slots_[i] = {tag, value};
  }

  // Removes the entry mapping `key` to `value`, if there is one (values are unique: they
  // number the caller's entries).
  void erase(uint64_t key, uint32_t value) {
    if (slots_.empty()) return;
    const uint32_t tag = tag_of(key);
    size_t i = tag & mask_;
    while (slots_[i].tag != tag || slots_[i].value != value) {
      if (slots_[i].tag == 0) return;
      i = (i + 1) & mask_;
    }
    // Backward-shift deletion keeps every probe sequence unbroken without tombstones.
    size_t j = i;
    for (;;) {
      j = (j + 1) & mask_;
      if (slots_[j].tag == 0) break;
      size_t home = slots_[j].tag & mask_;
      bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
      if (movable) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i].tag = 0;
    --size_;
  }

  size_t size() const { return size_; }
  size_t bytes() const { return slots_.size() * sizeof(Slot); }

  // Room for `n` keys without growing. A table of 2 MiB or more is mapped untouched (see
  // ZeroedArray), so reserving costs address space, not memory, until keys arrive; it saves
  // the page faults of every smaller table the growth would otherwise pass through.
  void reserve(size_t n) {
    size_t cap = slots_.empty() ? 1024 : slots_.size();
    while (over_full(n + 1, cap)) cap *= 2;
    if (cap > slots_.size()) grow_to(cap);
  }

 private:
  // More than 3/4 full: linear probing stays short below that.
  static bool over_full(size_t keys, size_t cap) { return keys * 4 > cap * 3; }
  // The low half of the hash, never 0 (an empty bucket); its low bits pick the home bucket.
  static uint32_t tag_of(uint64_t key) {
    const auto t = static_cast<uint32_t>(key);
    return t ? t : 1;
  }
  // Puts a key known to be absent in the first free bucket from its home.
  void place(uint32_t tag, uint32_t value) {
    size_t i = tag & mask_;
    while (slots_[i].tag != 0) i = (i + 1) & mask_;
    slots_[i] = {tag, value};
    ++size_;
  }

  struct Slot {
    uint32_t tag = 0;
    uint32_t value = 0;
  };

  void grow() { grow_to(slots_.empty() ? 1024 : slots_.size() * 2); }
  void grow_to(size_t cap) {
    ZeroedArray<Slot> old = std::move(slots_);
    slots_ = ZeroedArray<Slot>(cap);
    mask_ = cap - 1;
    size_ = 0;
    for (const Slot& s : old)
      if (s.tag != 0) place(s.tag, s.value);
  }

  ZeroedArray<Slot> slots_;  // zero tag: an empty bucket
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace agentlog

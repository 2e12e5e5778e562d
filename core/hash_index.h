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
#include <utility>
#include <vector>

#include "core/zeroed_array.h"

namespace agentlog {

// The 128-bit product of a and b, folded to 64 bits: the mixing step of hash_key.
inline uint64_t fold_multiply(uint64_t a, uint64_t b) {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline uint64_t hash_key(std::string_view s) {
  // wyhash's scheme: 16 bytes per folded 64x64->128-bit multiply, the last 16 (or fewer)
  // read with overlapping loads, the length in the seed, one more fold to finish. About half
  // the instructions of a word-at-a-time multiply-xorshift for the 20-60 byte keys of ids
  // (two hashes per record in collision + lifecycle), and well mixed in every bit.
  constexpr uint64_t k0 = 0xA0761D6478BD642Full, k1 = 0xE7037ED1A0B428DBull, k2 = 0x8EBC6AF09C88C6E3ull;
  auto word = [](const char* p) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  };
  auto half = [](const char* p) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    return uint64_t{w};
  };
  const char* p = s.data();
  size_t n = s.size();
  uint64_t seed = k0 ^ fold_multiply(n ^ k1, k2);
  uint64_t a, b;
  if (n <= 16) {
    if (n >= 8) {
      a = word(p);
      b = word(p + n - 8);
    } else if (n >= 4) {
      a = half(p);
      b = half(p + n - 4);
    } else if (n > 0) {
      const auto byte = [&](size_t i) { return uint64_t{static_cast<unsigned char>(p[i])}; };
      a = byte(0) << 16 | byte(n >> 1) << 8 | byte(n - 1);
      b = 0;
    } else {
      a = b = 0;
    }
  } else {
    for (; n > 16; p += 16, n -= 16) seed = fold_multiply(word(p) ^ k1, word(p + 8) ^ seed);
    a = word(p + n - 16);
    b = word(p + n - 8);
  }
  const uint64_t h = fold_multiply(k1 ^ s.size(), fold_multiply(a ^ k1, b ^ seed));
  return h == 0 ? 1 : h;  // 0 marks an empty bucket
}

// String equality without a call to memcmp for 8 to 16 bytes (an agent id, say): two
// overlapping word loads from each side.
inline bool equal_text(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  if (n < 8 || n > 16) return a == b;
  uint64_t a0, a1, b0, b1;
  std::memcpy(&a0, a.data(), 8);
  std::memcpy(&b0, b.data(), 8);
  std::memcpy(&a1, a.data() + n - 8, 8);
  std::memcpy(&b1, b.data() + n - 8, 8);
  return ((a0 ^ b0) | (a1 ^ b1)) == 0;
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

// The last 8 bytes of `s` as a word (head_word when shorter): with head_word, all of a
// string of up to 16 bytes.
inline uint64_t tail_word(std::string_view s) {
  if (s.size() < 8) return head_word(s);
  uint64_t w;
  std::memcpy(&w, s.data() + s.size() - 8, 8);
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
  // reserve(n) once the first, smallest table is full: a run of a few keys stays in that
  // table, and a large one skips the tables between.
  void reserve_when_full(size_t n) { reserve_when_full_ = n; }

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

  void grow() {
    if (!slots_.empty() && reserve_when_full_ != 0) {
      reserve(std::exchange(reserve_when_full_, 0));
      if (!over_full(size_ + 1, slots_.size())) return;
    }
    grow_to(slots_.empty() ? 1024 : slots_.size() * 2);
  }
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
  size_t reserve_when_full_ = 0;
};

}  // namespace agentlog

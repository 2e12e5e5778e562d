// HashIndex over ZeroedArray: large enough to leave calloc for an mmap'd, huge-page table.
// The index keeps 32 bits of each hash; the full keys live here, as they do in the stages.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "core/hash_index.h"

using namespace agentlog;

namespace {
// Keys by value number, as a stage keeps its entries; `is(key)` confirms a candidate.
struct Keys {
  std::vector<uint64_t> of;
  auto is(uint64_t key) const {
    return [this, key](uint32_t v) { return of[v] == key; };
  }
};
uint64_t spread(uint64_t k) { return k * 0x9E3779B97F4A7C15ull | 1; }
}  // namespace

TEST_CASE("a hash index keeps every key across growth into a mapped table, erases and copies", "[hash_index]") {
  HashIndex index;
  Keys keys;
  constexpr uint32_t kKeys = 400000;  // 1M buckets of 8 bytes: past the 2 MiB mapping threshold
  for (uint32_t i = 0; i < kKeys; ++i) {
    keys.of.push_back(hash_key("key-" + std::to_string(i)));
    index.insert(keys.of[i], i);
  }
  REQUIRE(index.size() == kKeys);
  CHECK(index.bytes() >= (size_t{4} << 20));
  // 400,000 keys share their low 32 bits (the index's tag) about 19 times, so a find that
  // confirmed nothing would return another key's value for some.
  size_t shared_tag = 0;
  for (uint32_t i = 0; i < kKeys; ++i) shared_tag += index.find(keys.of[i], [](uint32_t) { return true; }) != i;
  for (uint32_t i = 0; i < kKeys; ++i) {
    index.prefetch(keys.of[i]);
    REQUIRE(index.find(keys.of[i], keys.is(keys.of[i])) == i);
  }
  CHECK(shared_tag > 0);  // so find's confirmation was needed above
  CHECK(index.find(hash_key("absent"), keys.is(hash_key("absent"))) == HashIndex::kNone);
  for (uint32_t i = 0; i < kKeys; i += 2) index.erase(keys.of[i], i);
  CHECK(index.size() == kKeys / 2);
  HashIndex copy = index;  // a deep copy: later edits of one do not show in the other
  index.erase(keys.of[1], 1);
  for (uint32_t i = 0; i < kKeys; ++i) {
    uint32_t want = i % 2 ? i : HashIndex::kNone;
    REQUIRE(copy.find(keys.of[i], keys.is(keys.of[i])) == want);
    REQUIRE(index.find(keys.of[i], keys.is(keys.of[i])) == (i == 1 ? HashIndex::kNone : want));
  }
}

TEST_CASE("HashIndex tells apart keys whose low 32 bits are equal", "[hash_index]") {
  HashIndex idx;
  Keys keys;
  // 300 keys with one tag (and so one home bucket) and 300 ordinary ones between them.
  for (uint64_t k = 0; k < 600; ++k) keys.of.push_back(k % 2 ? spread(k) : (k << 40) | 0x1234567u);
  for (uint32_t v = 0; v < keys.of.size(); ++v) idx.insert(keys.of[v], v);
  for (uint32_t v = 0; v < keys.of.size(); ++v) REQUIRE(idx.find(keys.of[v], keys.is(keys.of[v])) == v);
  uint64_t stranger = (uint64_t{999} << 40) | 0x1234567u;
  CHECK(idx.find(stranger, keys.is(stranger)) == HashIndex::kNone);
  // Erasing by key and value removes exactly that entry; the others of the tag stay found.
  for (uint32_t v = 0; v < keys.of.size(); v += 4) idx.erase(keys.of[v], v);
  for (uint32_t v = 0; v < keys.of.size(); ++v)
    REQUIRE(idx.find(keys.of[v], keys.is(keys.of[v])) == (v % 4 == 0 ? HashIndex::kNone : v));
  // insert_or_assign confirms through is_key: a same-tag key is added, not overwritten.
  keys.of.push_back(stranger);
  idx.insert_or_assign(stranger, 600, keys.is(stranger));
  CHECK(idx.find(keys.of[2], keys.is(keys.of[2])) == 2);
  CHECK(idx.find(stranger, keys.is(stranger)) == 600);
  CHECK(idx.size() == 600 - 150 + 1);
}

TEST_CASE("a key whose low 32 bits are zero is kept like any other", "[hash_index]") {
  HashIndex idx;
  Keys keys{{uint64_t{7} << 32, uint64_t{8} << 32, 1}};  // the first two map to tag 1, as does 1
  for (uint32_t v = 0; v < 3; ++v) idx.insert(keys.of[v], v);
  for (uint32_t v = 0; v < 3; ++v) REQUIRE(idx.find(keys.of[v], keys.is(keys.of[v])) == v);
  idx.erase(keys.of[1], 1);
  CHECK(idx.find(keys.of[1], keys.is(keys.of[1])) == HashIndex::kNone);
  CHECK(idx.find(keys.of[2], keys.is(keys.of[2])) == 2);
}

TEST_CASE("HashIndex erase removes a key only while it maps to the given value", "[hash_index]") {
  HashIndex idx;
  Keys keys{{0}};
  for (uint64_t k = 1; k <= 5000; ++k) {
    keys.of.push_back(spread(k));
    idx.insert(spread(k), static_cast<uint32_t>(k));
  }
  for (uint64_t k = 1; k <= 5000; ++k) {
    idx.erase(spread(k), static_cast<uint32_t>(k + 1));  // wrong value: kept
    REQUIRE(idx.find(spread(k), keys.is(spread(k))) == k);
    if (k % 2 == 0) idx.erase(spread(k), static_cast<uint32_t>(k));
  }
  CHECK(idx.size() == 2500);
  for (uint64_t k = 1; k <= 5000; ++k)
    REQUIRE(idx.find(spread(k), keys.is(spread(k))) == (k % 2 == 0 ? HashIndex::kNone : static_cast<uint32_t>(k)));
  idx.erase(12345, 0);  // absent: nothing happens
  CHECK(idx.size() == 2500);
}

TEST_CASE("HashIndex reserve keeps the keys and makes room without growing", "[hash_index]") {
  HashIndex idx;
  Keys keys{{0}};
  for (uint64_t k = 1; k <= 200000; ++k) keys.of.push_back(spread(k));
  for (uint64_t k = 1; k <= 100; ++k) idx.insert(spread(k), static_cast<uint32_t>(k));
  idx.reserve(200000);  // from the 1024-slot table to a mapped one
  size_t bytes = idx.bytes();
  CHECK(bytes >= size_t{200000} * 8 * 4 / 3);
  for (uint64_t k = 1; k <= 100; ++k) REQUIRE(idx.find(spread(k), keys.is(spread(k))) == k);
  for (uint64_t k = 101; k <= 200000; ++k) idx.insert(spread(k), static_cast<uint32_t>(k));
  CHECK(idx.bytes() == bytes);  // no growth
  CHECK(idx.size() == 200000);
  for (uint64_t k = 1; k <= 200000; k += 997) REQUIRE(idx.find(spread(k), keys.is(spread(k))) == k);
  idx.reserve(10);  // never shrinks
  CHECK(idx.bytes() == bytes);
}

TEST_CASE("HashIndex reserve_when_full keeps the first table until it fills, then skips to the reserved size", "[hash_index]") {
  HashIndex idx;
  idx.reserve_when_full(200000);
  CHECK(idx.bytes() == 0);
  Keys keys{{0}};
  for (uint64_t k = 1; k <= 200000; ++k) keys.of.push_back(spread(k));
  for (uint64_t k = 1; k <= 700; ++k) idx.insert(spread(k), static_cast<uint32_t>(k));
  CHECK(idx.bytes() == 1024 * 8);  // a few keys: the smallest table
  for (uint64_t k = 701; k <= 800; ++k) idx.insert(spread(k), static_cast<uint32_t>(k));
  const size_t bytes = idx.bytes();
  CHECK(bytes >= size_t{200000} * 8 * 4 / 3);  // straight to the reserved size
  for (uint64_t k = 801; k <= 200000; ++k) idx.insert(spread(k), static_cast<uint32_t>(k));
  CHECK(idx.bytes() == bytes);
  for (uint64_t k = 1; k <= 200000; k += 997) REQUIRE(idx.find(spread(k), keys.is(spread(k))) == k);
}

TEST_CASE("HashIndex insert_or_assign adds new keys and overwrites present ones", "[hash_index]") {
  HashIndex idx;
  // Value v stands for key spread(v % 4000): values 4001.. are second entries of old keys.
  Keys keys;
  for (uint64_t v = 0; v < 8000; ++v) keys.of.push_back(spread(v % 4000));
  for (uint32_t v = 1; v <= 3000; ++v) idx.insert_or_assign(spread(v), v, keys.is(spread(v)));
  for (uint32_t v = 1; v <= 3000; v += 2) idx.insert_or_assign(spread(v), v + 4000, keys.is(spread(v)));
  CHECK(idx.size() == 3000);
  for (uint32_t v = 1; v <= 3000; ++v) REQUIRE(idx.find(spread(v), keys.is(spread(v))) == (v % 2 ? v + 4000 : v));
}

// hash_key reads keys in 16-byte steps with overlapping loads at the end: every byte of
// every length must count, and the length itself (zero bytes are still bytes).
TEST_CASE("hash_key depends on every byte and on the length", "[hash_index]") {
  std::set<uint64_t> zeros, letters;
  for (size_t len = 0; len <= 80; ++len) {
    std::string base;
    for (size_t i = 0; i < len; ++i) base.push_back(static_cast<char>('a' + (i * 7) % 26));
    std::set<uint64_t> seen{hash_key(base)};
    for (size_t at = 0; at < len; ++at)
      for (int flip : {0x01, 0x20, 0x80}) {
        std::string t = base;
        t[at] = static_cast<char>(t[at] ^ flip);
        INFO("length " << len << ", byte " << at << ", flip " << flip);
        REQUIRE(seen.insert(hash_key(t)).second);
      }
    zeros.insert(hash_key(std::string(len, '\0')));
    letters.insert(hash_key(std::string(len, 'a')));
  }
  CHECK(zeros.size() == 81);
  CHECK(letters.size() == 81);
}

// Collision and lifecycle take equal 64-bit hashes for equal keys, and the index keeps the
// low 32 bits as its tag: a million ids shaped like theirs must not collide in 64 bits, and
// in 32 bits about as often as random values would (~116 expected pairs).
TEST_CASE("hash_key spreads a million id-shaped keys", "[hash_index]") {
  std::vector<uint64_t> h;
  h.reserve(1000000);
  for (uint32_t i = 0; i < 1000000; ++i)
    h.push_back(hash_key("run-" + std::to_string(i / 7 * 2654435761u % 100000) + "\x1f" + "call_" + std::to_string(i)));
  std::vector<uint64_t> low(h.size());
  for (size_t i = 0; i < h.size(); ++i) low[i] = h[i] & 0xFFFFFFFFu;
  std::sort(h.begin(), h.end());
  CHECK(std::adjacent_find(h.begin(), h.end()) == h.end());
  std::sort(low.begin(), low.end());
  size_t same_low = 0;
  for (size_t i = 1; i < low.size(); ++i) same_low += low[i] == low[i - 1];
  CHECK(same_low < 300);
}

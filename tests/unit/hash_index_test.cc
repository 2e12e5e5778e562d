// HashIndex over ZeroedArray: large enough to leave calloc for an mmap'd, huge-page table.
#include <catch2/catch.hpp>

#include <string>

#include "core/hash_index.h"

using namespace agentlog;

TEST_CASE("a hash index keeps every key across growth into a mapped table, erases and copies", "[hash_index]") {
  HashIndex index;
  constexpr uint32_t kKeys = 400000;  // 1M buckets of 16 bytes: past the 4 MiB mapping threshold
  for (uint32_t i = 0; i < kKeys; ++i) index.insert(hash_key("key-" + std::to_string(i)), i);
  REQUIRE(index.size() == kKeys);
  CHECK(index.bytes() >= (size_t{4} << 20));
  for (uint32_t i = 0; i < kKeys; ++i) {
    uint64_t h = hash_key("key-" + std::to_string(i));
    index.prefetch(h);
    REQUIRE(index.find(h) == i);
  }
  CHECK(index.find(hash_key("absent")) == HashIndex::kNone);
  for (uint32_t i = 0; i < kKeys; i += 2) index.erase(hash_key("key-" + std::to_string(i)));
  CHECK(index.size() == kKeys / 2);
  HashIndex copy = index;  // a deep copy: later edits of one do not show in the other
  index.erase(hash_key("key-1"));
  for (uint32_t i = 0; i < kKeys; ++i) {
    uint64_t h = hash_key("key-" + std::to_string(i));
    uint32_t want = i % 2 ? i : HashIndex::kNone;
    REQUIRE(copy.find(h) == want);
    REQUIRE(index.find(h) == (i == 1 ? HashIndex::kNone : want));
  }
}

TEST_CASE("HashIndex erase_if removes a key only while it maps to the given value", "[hash_index]") {
  HashIndex idx;
  for (uint64_t k = 1; k <= 5000; ++k) idx.insert(k * 0x9E3779B97F4A7C15ull | 1, static_cast<uint32_t>(k));
  for (uint64_t k = 1; k <= 5000; ++k) {
    uint64_t key = k * 0x9E3779B97F4A7C15ull | 1;
    idx.erase_if(key, static_cast<uint32_t>(k + 1));  // wrong value: kept
    REQUIRE(idx.find(key) == k);
    if (k % 2 == 0) idx.erase_if(key, static_cast<uint32_t>(k));
  }
  CHECK(idx.size() == 2500);
  for (uint64_t k = 1; k <= 5000; ++k)
    REQUIRE(idx.find(k * 0x9E3779B97F4A7C15ull | 1) == (k % 2 == 0 ? HashIndex::kNone : static_cast<uint32_t>(k)));
  idx.erase_if(12345, 0);  // absent: nothing happens
  CHECK(idx.size() == 2500);
}

TEST_CASE("HashIndex reserve keeps the keys and makes room without growing", "[hash_index]") {
  HashIndex idx;
  for (uint64_t k = 1; k <= 100; ++k) idx.insert(k * 0x9E3779B97F4A7C15ull | 1, static_cast<uint32_t>(k));
  idx.reserve(200000);  // from the 1024-slot table to a mapped one
  size_t bytes = idx.bytes();
  CHECK(bytes >= size_t{200000} * 16 * 4 / 3);
  for (uint64_t k = 1; k <= 100; ++k) REQUIRE(idx.find(k * 0x9E3779B97F4A7C15ull | 1) == k);
  for (uint64_t k = 101; k <= 200000; ++k) idx.insert(k * 0x9E3779B97F4A7C15ull | 1, static_cast<uint32_t>(k));
  CHECK(idx.bytes() == bytes);  // no growth
  CHECK(idx.size() == 200000);
  for (uint64_t k = 1; k <= 200000; k += 997) REQUIRE(idx.find(k * 0x9E3779B97F4A7C15ull | 1) == k);
  idx.reserve(10);  // never shrinks
  CHECK(idx.bytes() == bytes);
}

TEST_CASE("HashIndex insert_or_assign adds new keys and overwrites present ones", "[hash_index]") {
  HashIndex idx;
  for (uint64_t k = 1; k <= 3000; ++k) idx.insert_or_assign(k * 0x9E3779B97F4A7C15ull | 1, static_cast<uint32_t>(k));
  for (uint64_t k = 1; k <= 3000; k += 2) idx.insert_or_assign(k * 0x9E3779B97F4A7C15ull | 1, static_cast<uint32_t>(k + 7));
  CHECK(idx.size() == 3000);
  for (uint64_t k = 1; k <= 3000; ++k)
    REQUIRE(idx.find(k * 0x9E3779B97F4A7C15ull | 1) == (k % 2 ? k + 7 : k));
}

// ZeroedArray's large arrays are whole huge pages; freed ones are pooled (HugePagePool) and
// handed to the next large array, which must still start zeroed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/paged_array.h"
#include "core/zeroed_array.h"

using namespace agentlog;

namespace {
constexpr size_t kHuge = size_t{2} << 20;
bool all_zero(const ZeroedArray<uint64_t>& a) {
  for (uint64_t v : a)
    if (v != 0) return false;
  return true;
}
}  // namespace

TEST_CASE("a large array reuses freed huge pages and still starts zeroed", "[zeroed_array]") {
  HugePagePool::clear();  // other tests' tables may be pooled
  const size_t before = 0;
  const uint64_t* first = nullptr;
  {
    ZeroedArray<uint64_t> a(2 * kHuge / sizeof(uint64_t));  // 4 MiB
    REQUIRE(all_zero(a));
    for (auto& v : a) v = 0xFFFFFFFFFFFFFFFFull;
    first = a.begin();
    CHECK(reinterpret_cast<uintptr_t>(first) % kHuge == 0);
  }
  CHECK(HugePagePool::pooled_bytes() == before + 2 * kHuge);
  // Two 2 MiB arrays out of the freed 4 MiB (taken from the front of the pooled region),
  // both zero although the pages held ones.
  ZeroedArray<uint64_t> b(kHuge / sizeof(uint64_t)), c(kHuge / sizeof(uint64_t));
  CHECK(HugePagePool::pooled_bytes() == before);
  CHECK(all_zero(b));
  CHECK(all_zero(c));
  std::vector<const uint64_t*> starts{b.begin(), c.begin()};
  CHECK(std::find(starts.begin(), starts.end(), first) != starts.end());
  // A size that is not a whole number of huge pages takes whole ones and zeroes its part.
  {
    ZeroedArray<uint64_t> d(kHuge / sizeof(uint64_t) + 3);
    CHECK(all_zero(d));
    d[kHuge / sizeof(uint64_t) + 2] = 7;
  }
  CHECK(HugePagePool::pooled_bytes() == before + 2 * kHuge);
  ZeroedArray<uint64_t> e(kHuge / sizeof(uint64_t) + 3);
  CHECK(all_zero(e));
}

TEST_CASE("the pool keeps at most its limit and unmaps the rest", "[zeroed_array]") {
  HugePagePool::clear();
  {
    std::vector<ZeroedArray<uint64_t>> many;
    for (size_t i = 0; i < HugePagePool::kMaxBytes / kHuge + 4; ++i) many.emplace_back(kHuge / sizeof(uint64_t));
  }
  CHECK(HugePagePool::pooled_bytes() == HugePagePool::kMaxBytes);
  HugePagePool::clear();
  CHECK(HugePagePool::pooled_bytes() == 0);
}

TEST_CASE("a paged array keeps its elements where they are as it grows", "[zeroed_array]") {
  PagedArray<uint64_t> p;
  const size_t chunk = PagedArray<uint64_t>::kChunk;
  p.grow_to(1, 10 * chunk);
  p[0] = 42;
  const uint64_t* at0 = &p[0];
  p.grow_to(3 * chunk + 1, 10 * chunk);
  CHECK(p.size() == 4 * chunk);
  CHECK(&p[0] == at0);
  CHECK(p[0] == 42);
  CHECK(p[3 * chunk] == 0);
}

// Under ASan (-DAGENTLOG_SANITIZE=address), pooled pages and the slack past an array's end are
// poisoned, so a use of a freed table or an index past the end is reported.
TEST_CASE("pooled huge pages are poisoned under ASan", "[zeroed_array]") {
#ifdef AGENTLOG_ASAN
  HugePagePool::clear();
  const char* freed = nullptr;
  {
    ZeroedArray<uint64_t> a(2 * kHuge / sizeof(uint64_t));
    freed = reinterpret_cast<const char*>(a.begin());
    CHECK_FALSE(__asan_address_is_poisoned(freed));
  }
  CHECK(__asan_address_is_poisoned(freed));
  CHECK(__asan_address_is_poisoned(freed + 2 * kHuge - 1));
  // A smaller array takes the pooled pages: its elements are usable, the rest is not.
  ZeroedArray<uint64_t> b(1000 + kHuge / sizeof(uint64_t));
  REQUIRE(reinterpret_cast<const char*>(b.begin()) == freed);
  const char* end = reinterpret_cast<const char*>(b.end());
  CHECK(__asan_region_is_poisoned(const_cast<char*>(freed), static_cast<size_t>(end - freed)) == nullptr);
  CHECK(__asan_address_is_poisoned(end));
  HugePagePool::clear();
#else
  SUCCEED("not an ASan build");
#endif
}

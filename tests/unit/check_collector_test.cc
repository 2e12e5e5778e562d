// `agentlog check` building blocks: duration percentiles and capped value counts.
#include <catch2/catch.hpp>

#include "check/report_collector.h"

using namespace agentlog::check;

TEST_CASE("Histogram: exact nearest-rank percentiles for few samples", "[check]") {
  Histogram h;
  for (uint64_t v : {40, 10, 30, 20, 1000}) h.add(v);
  Durations d = h.summary();
  CHECK(d.count == 5);
  CHECK(d.min == 10);
  CHECK(d.p50 == 30);  // rank ceil(2.5) = 3
  CHECK(d.p90 == 1000);
  CHECK(d.p99 == 1000);
  CHECK(d.max == 1000);
}

TEST_CASE("Histogram: empty", "[check]") {
  Durations d = Histogram().summary();
  CHECK(d.count == 0);
  CHECK(d.p50 == 0);
}

TEST_CASE("Histogram: beyond the exact limit percentiles stay within 1%", "[check]") {
  Histogram h;
  const uint64_t n = 100000;  // values 1..n once each, in a scrambled order
  for (uint64_t i = 0; i < n; ++i) h.add((i * 7919) % n + 1);
  Durations d = h.summary();
  CHECK(d.count == n);
  CHECK(d.min == 1);
  CHECK(d.max == n);
  auto near = [](uint64_t got, uint64_t want) { return got <= want && got >= want - want / 100; };
  CHECK(near(d.p50, 50000));
  CHECK(near(d.p90, 90000));
  CHECK(near(d.p99, 99000));
}

TEST_CASE("Histogram: small values stay exact after folding", "[check]") {
  Histogram h;
  for (int i = 0; i < 5000; ++i) h.add(static_cast<uint64_t>(i % 100));
  Durations d = h.summary();
  CHECK(d.p50 == 49);
  CHECK(d.p90 == 89);
  CHECK(d.p99 == 98);
}

TEST_CASE("ValueCounter: counts values and sums those beyond the cap as (other)", "[check]") {
  ValueCounter c(2);
  for (const char* v : {"a", "b", "a", "c", "d", "a"}) c.add(v);
  auto m = c.sorted();
  REQUIRE(m.size() == 3);
  CHECK(m["a"] == 3);
  CHECK(m["b"] == 1);
  CHECK(m["(other)"] == 2);
}

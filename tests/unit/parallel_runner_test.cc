// Pieces of the parallel runner that the golden comparisons (1, 2 and 8 workers) do not show
// on their own: worker slots, a FieldSet copy per worker, the `workers` value.
#include <memory>
#include <thread>

#include <catch2/catch.hpp>

#include "core/field_path.h"
#include "core/parallel_runner.h"
#include "core/worker_slots.h"

using namespace agentlog;

namespace {
FieldPath path(std::string_view text) {
  FieldPath p;
  REQUIRE(parse_field_path(text, p));
  return p;
}
std::string padded(std::string s) {
  s.reserve(s.size() + simdjson::SIMDJSON_PADDING);
  return s;
}
}  // namespace

TEST_CASE("a FieldSet copy reads records on its own, after the original is gone", "[parallel]") {
  auto original = std::make_unique<FieldSet>();
  size_t a = original->add(path("pw_a")), added = original->add(path("pw_added_later"));
  FieldSet copy(*original);
  original.reset();
  std::string line = padded(R"({"pw_a":"x","other":1})");
  Record r;
  r.reset_borrowed(line);
  REQUIRE(r.parse() == simdjson::SUCCESS);
  // A member held aside since the parse: the copy finds names through its own name index.
  r.add_member_raw("pw_added_later", R"("late")");
  copy.extract(r);
  CHECK(copy.str(a) == "x");
  CHECK(copy.str(added) == "late");
}

TEST_CASE("copies of a FieldSet keep their own results", "[parallel]") {
  FieldSet first;
  size_t a = first.add(path("pw_own"));
  FieldSet second(first);
  std::string one = padded(R"({"pw_own":"one"})"), two = padded(R"({"pw_own":"two"})");
  Record r1, r2;
  r1.reset_borrowed(one);
  r2.reset_borrowed(two);
  REQUIRE(r1.parse() == simdjson::SUCCESS);
  REQUIRE(r2.parse() == simdjson::SUCCESS);
  first.extract(r1);
  second.extract(r2);
  CHECK(first.str(a) == "one");
  CHECK(second.str(a) == "two");
}

TEST_CASE("PerWorker gives each slot its own value and adds them up", "[parallel]") {
  struct Counts {
    uint64_t n = 0;
    uint64_t start = 0;
  };
  PerWorker<Counts> counts(Counts{0, 5});
  std::vector<std::thread> threads;
  for (uint32_t slot = 0; slot < 4; ++slot)
    threads.emplace_back([&, slot] {
      t_worker_slot = slot;
      for (int i = 0; i < 100000; ++i) ++counts.local().n;
      CHECK(counts.local().start == 5);  // each slot starts as a copy of the initial value
    });
  for (auto& t : threads) t.join();
  CHECK(counts.sum(&Counts::n) == 400000);
  CHECK(counts.sum(&Counts::start) == 20);
}

TEST_CASE("workers: auto or a number from 1 to 256", "[parallel]") {
  unsigned n = 99;
  CHECK(parse_workers("auto", n));
  CHECK(n == 0);
  CHECK(parse_workers("1", n));
  CHECK(n == 1);
  CHECK(parse_workers("256", n));
  CHECK(n == 256);
  for (const char* bad : {"0", "257", "-1", "2x", "", " 2", "two"}) {
    INFO(bad);
    CHECK_FALSE(parse_workers(bad, n));
  }
  CHECK(workers_error("0") == "expected auto or a number from 1 to 256, got \"0\"");
  CHECK(resolve_workers(3) == 3);
  CHECK(resolve_workers(0) == available_cores());
  CHECK(available_cores() >= 1);
}

// The nats output's partition hash and subject template. The hash decides where each run's
// records go, so these vectors must never change (FNV-1a 64: the published reference values).
#include <catch2/catch.hpp>

#include "plugins/nats/nats_common.h"

using namespace agentlog::plugins::nats;

TEST_CASE("nats partition hash is FNV-1a 64 (stable test vectors)") {
  STATIC_REQUIRE(fnv1a64("") == 0xcbf29ce484222325ull);
  STATIC_REQUIRE(fnv1a64("a") == 0xaf63dc4c8601ec8cull);
  STATIC_REQUIRE(fnv1a64("foobar") == 0x85944171f73967e8ull);
  CHECK(fnv1a64("run-3239e499a1") == 0xb1d73d0b03773b45ull);
  CHECK(partition_of("run-3239e499a1", 4) == 1);
  CHECK(partition_of("foobar", 4) == 0);
  CHECK(partition_of("", 4) == 1);
  CHECK(partition_of("anything", 1) == 0);
}

TEST_CASE("nats subject template") {
  CHECK(subject_for("agentlog.records.{partition}", 3) == "agentlog.records.3");
  CHECK(subject_for("agentlog.records", 3) == "agentlog.records");
  CHECK(check_subject_template("agentlog.records.{partition}", true).empty());
  CHECK(check_subject_template("agentlog.records", false).empty());
  CHECK(check_subject_template("agentlog.records", true) == "must hold {partition} when partitions is more than 1");
  CHECK(check_subject_template("a.{partition}.{partition}", true) == "may hold {partition} only once");
  CHECK(check_subject_template("a.*.{partition}", true) ==
        "must be a NATS subject without spaces, wildcards (* >) or braces other than {partition}");
  CHECK(check_subject_template("a..{partition}", true) ==
        "must not have an empty token (a leading, trailing or double dot)");
}

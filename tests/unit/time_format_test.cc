#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "core/time_format.h"

using namespace agentlog;

// parse_rfc3339_ms and write_rfc3339_ms remember the last second they saw; these checks
// mix repeated, neighbouring and unrelated timestamps so a stale memory would show.
TEST_CASE("RFC 3339 parsing gives the same result whatever came before", "[time]") {
  CHECK(parse_rfc3339_ms("2026-01-15T09:30:00.112Z") == 1768469400112);
  CHECK(parse_rfc3339_ms("2026-01-15T09:30:00.5Z") == 1768469400500);  // same second
  CHECK(parse_rfc3339_ms("2026-01-15T09:30:00Z") == 1768469400000);
  CHECK(parse_rfc3339_ms("2026-01-15T09:30:00+01:00") == 1768465800000);
  CHECK(parse_rfc3339_ms("2026-01-15T09:30:00-00:30") == 1768471200000);
  CHECK_FALSE(parse_rfc3339_ms("2026-01-15T09:30:00X"));       // valid prefix, bad rest
  CHECK_FALSE(parse_rfc3339_ms("2026-01-15T09:30:00.Z"));
  CHECK_FALSE(parse_rfc3339_ms("2026-01-15T09:30:00+25:00"));
  CHECK_FALSE(parse_rfc3339_ms("2026-01-15T09:30:00.112Zjunk"));
  CHECK_FALSE(parse_rfc3339_ms("2026-01-15T09:30:00"));        // no zone
  CHECK(parse_rfc3339_ms("2026-01-15T09:30:01.000Z") == 1768469401000);
  CHECK(parse_rfc3339_ms("2016-12-31T23:59:60Z") == 1483228799999);  // leap second
  CHECK(parse_rfc3339_ms("2016-12-31T23:59:60.250Z") == 1483228799999);
  CHECK(parse_rfc3339_ms("2016-12-31T23:59:60.250Z") == 1483228799999);  // remembered, still a leap second
  // The remembered second's usual shape (3 digits, Z) and its near misses.
  CHECK(parse_rfc3339_ms("2026-01-15T09:30:00.112Z") == 1768469400112);
  CHECK(parse_rfc3339_ms("2026-01-15T09:30:00.999Z") == 1768469400999);
  CHECK(parse_rfc3339_ms("2026-01-15T09:30:00.000Z") == 1768469400000);
  CHECK_FALSE(parse_rfc3339_ms("2026-01-15T09:30:00.1a2Z"));
  CHECK_FALSE(parse_rfc3339_ms("2026-01-15T09:30:00.11:Z"));
  CHECK_FALSE(parse_rfc3339_ms("2026-01-15T09:30:00,112Z"));
  CHECK(parse_rfc3339_ms("2026-01-15T09:30:00.112+00:00") == 1768469400112);
  CHECK(parse_rfc3339_ms("2026-01-15T09:30:09.112Z") == 1768469409112);  // one byte of the second differs
  CHECK_FALSE(parse_rfc3339_ms("2026-02-30T09:30:00Z"));
  CHECK_FALSE(parse_rfc3339_ms("2026-02-30T09:30:00Z"));  // twice: an invalid one is never remembered
  CHECK_FALSE(parse_rfc3339_ms(std::string(19, '\0') + "Z"));
  CHECK_FALSE(parse_rfc3339_ms(std::string(19, '\0') + "Z"));
  CHECK(parse_rfc3339_ms("2026-01-15t09:30:00.112z") == 1768469400112);
}

TEST_CASE("RFC 3339 formatting round-trips over runs of close and distant times", "[time]") {
  std::mt19937_64 rng(7);
  int64_t t = 1768469400000;
  char buf[24];
  for (int i = 0; i < 20000; ++i) {
    // Mostly small steps (same second), sometimes a jump anywhere in 1970-2200.
    t = rng() % 8 == 0 ? static_cast<int64_t>(rng() % 7258118400000ull) : t + static_cast<int64_t>(rng() % 700);
    std::string text(buf, write_rfc3339_ms(buf, t));
    REQUIRE(text.size() == 24);
    INFO(text);
    REQUIRE(parse_rfc3339_ms(text) == t);
    REQUIRE(format_rfc3339_ms(t) == text);
  }
  CHECK(format_rfc3339_ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_rfc3339_ms(999) == "1970-01-01T00:00:00.999Z");
  CHECK(format_rfc3339_ms(1000) == "1970-01-01T00:00:01.000Z");
  CHECK(format_rfc3339_ms(1768469400112) == "2026-01-15T09:30:00.112Z");
  CHECK(format_rfc3339_ms(1768469400999) == "2026-01-15T09:30:00.999Z");
  CHECK(format_rfc3339_ms(1768469401000) == "2026-01-15T09:30:01.000Z");
}

// Lifecycle copies a timestamp instead of writing it again when it is already in the written
// form; the check must never say so for text that writes differently.
TEST_CASE("in_written_form_rfc3339_ms says yes exactly when writing gives the same text", "[time]") {
  const std::vector<std::string> accepted = {
      "2026-01-15T09:30:00.112Z", "0001-02-03T04:05:06.007Z", "9999-12-31T23:59:59.999Z",
      "2026-01-15t09:30:00.112Z", "2026-01-15T09:30:00.112z", "2026-12-31T23:59:60.000Z",
      "2026-01-15T09:30:00.5Z",   "2026-01-15T09:30:00Z",     "2026-01-15T09:30:00.1129Z",
      "2026-01-15T09:30:00.112+00:00", "2026-01-15T09:30:00.112-01:30"};
  char buf[24];
  for (const std::string& s : accepted) {
    INFO(s);
    auto ms = parse_rfc3339_ms(s);
    REQUIRE(ms);
    std::string written(buf, write_rfc3339_ms(buf, *ms));
    CHECK(in_written_form_rfc3339_ms(s) == (written == s));
  }
  CHECK(in_written_form_rfc3339_ms("2026-01-15T09:30:00.112Z"));
  CHECK_FALSE(in_written_form_rfc3339_ms("2026-12-31T23:59:60.000Z"));  // a leap second is written as :59.999
}

// Each Rfc3339Parser remembers its own last second: two of them fed interleaved streams give
// what a parser that remembers nothing gives (a new parser per timestamp).
TEST_CASE("Rfc3339Parser instances keep their own last second", "[time]") {
  const std::vector<std::string> a = {"2026-01-15T09:30:00.112Z", "2026-01-15T09:30:00.999Z", "2026-01-15T09:30:01.000Z",
                                      "2026-01-15T09:30:01.5Z", "2026-12-31T23:59:60.123Z", "2026-12-31T23:59:60.124Z"};
  const std::vector<std::string> b = {"1999-07-01T00:00:00.001Z", "1999-07-01T00:00:00.002+01:00", "1999-07-01T00:00:00.00xZ",
                                      "1999-07-01T00:00:00.003Z", "1999-07-01T00:00:00.004z", "1999-07-01T00:00:00.005Z"};
  Rfc3339Parser pa, pb;
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i] << " / " << b[i]);
    CHECK(pa.parse(a[i]) == Rfc3339Parser().parse(a[i]));
    CHECK(pb.parse(b[i]) == Rfc3339Parser().parse(b[i]));
  }
  CHECK(pa.parse("2026-01-15T09:30:00.112Z") == 1768469400112);
  CHECK_FALSE(pb.parse("1999-07-01T00:00:00.00xZ"));
}

// Record::view_and_appended: the last parse plus the members appended since, used by
// `agentlog check` to read annotated records without parsing them again.
#include <catch2/catch.hpp>

#include "core/record.h"

using namespace agentlog;

namespace {
std::string padded(std::string s) {
  s.reserve(s.size() + simdjson::SIMDJSON_PADDING);
  return s;
}
std::string_view str(simdjson::dom::element e, const char* key) {
  std::string_view s;
  if (e[key].get(s) != simdjson::SUCCESS) return "(missing)";
  return s;
}
}  // namespace

TEST_CASE("view_and_appended: a parsed record has no tail", "[record]") {
  std::string line = padded(R"({"a":"x"})");
  Record r;
  r.reset_borrowed(line);
  REQUIRE(r.parse() == simdjson::SUCCESS);
  simdjson::dom::element base;
  std::string_view tail = "unset";
  REQUIRE(r.view_and_appended(base, tail));
  CHECK(tail.empty());
  CHECK(str(base, "a") == "x");
}

TEST_CASE("view_and_appended: appends after the parse are the tail", "[record]") {
  std::string line = padded(R"({"a":"x", "b":1 } )");
  Record r;
  r.reset_borrowed(line);
  REQUIRE(r.parse() == simdjson::SUCCESS);
  r.add_member_raw("lifecycle", R"({"state":"open"})");
  r.set_member_raw("collision", "true");  // absent: appended too
  simdjson::dom::element base;
  std::string_view tail;
  REQUIRE(r.view_and_appended(base, tail));
  CHECK(tail == R"(,"lifecycle":{"state":"open"},"collision":true)");
  CHECK(str(base, "a") == "x");
  CHECK(str(base, "lifecycle") == "(missing)");
  CHECK(r.bytes() == R"({"a":"x", "b":1 ,"lifecycle":{"state":"open"},"collision":true} )");
}

TEST_CASE("view_and_appended: an in-place edit or removal needs a full parse", "[record]") {
  std::string line = padded(R"({"a":"secret","b":1})");
  simdjson::dom::element base;
  std::string_view tail;
  {
    Record r;
    r.reset_borrowed(line);
    REQUIRE(r.parse() == simdjson::SUCCESS);
    r.add_member_raw("c", "2");
    r.set_member_string("a", "[REDACTED]");  // replaces: the old view would show the secret
    CHECK_FALSE(r.view_and_appended(base, tail));
    CHECK(str(r.root(), "a") == "[REDACTED]");
    REQUIRE(r.view_and_appended(base, tail));  // parsed again by root()
    CHECK(tail.empty());
  }
  {
    Record r;
    r.reset_borrowed(line);
    REQUIRE(r.parse() == simdjson::SUCCESS);
    r.remove_member("a");
    CHECK_FALSE(r.view_and_appended(base, tail));
  }
  {
    Record r;
    r.reset_owned(R"({"g":1})");  // generated, never parsed
    CHECK_FALSE(r.view_and_appended(base, tail));
  }
}

TEST_CASE("view_and_appended: an empty object's first append has no comma", "[record]") {
  std::string line = padded("{}");
  Record r;
  r.reset_borrowed(line);
  REQUIRE(r.parse() == simdjson::SUCCESS);
  r.add_member_raw("k", "1");
  simdjson::dom::element base;
  std::string_view tail;
  REQUIRE(r.view_and_appended(base, tail));
  CHECK(tail == R"("k":1)");
}

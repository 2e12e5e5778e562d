#include <catch2/catch.hpp>

#include "core/record.h"

using namespace agentlog;

namespace {
// Input bytes must stay readable SIMDJSON_PADDING past the end, as in the reader's buffer.
std::string padded(std::string s) {
  s.reserve(s.size() + simdjson::SIMDJSON_PADDING);
  return s;
}
}  // namespace

TEST_CASE("an unedited record keeps its original bytes", "[record]") {
  std::string line = padded(R"({ "b" : 1.50 , "a": "x" })");
  Record r;
  r.reset_borrowed(line);
  REQUIRE(r.parse() == simdjson::SUCCESS);
  CHECK_FALSE(r.edited());
  CHECK(r.bytes() == line);
  CHECK(r.bytes().data() == line.data());  // no copy
  std::string_view a;
  REQUIRE(r.root()["a"].get(a) == simdjson::SUCCESS);
  CHECK(a == "x");
}

TEST_CASE("top-level edits splice the bytes", "[record]") {
  std::string line = padded(R"({"b" : 1.50, "a":{"x":[1,2]}, "c":"keep"})");
  Record r;
  r.reset_borrowed(line);
  REQUIRE(r.parse() == simdjson::SUCCESS);
  r.set_member_string("a", "replaced");
  CHECK(r.bytes() == R"({"b" : 1.50, "a":"replaced", "c":"keep"})");
  r.set_member_raw("added", R"({"n":1})");
  CHECK(r.bytes() == R"({"b" : 1.50, "a":"replaced", "c":"keep","added":{"n":1}})");
  // The parsed view follows the edits.
  int64_t n = 0;
  REQUIRE(r.root()["added"]["n"].get(n) == simdjson::SUCCESS);
  CHECK(n == 1);
  CHECK(r.edited());
  CHECK(line == R"({"b" : 1.50, "a":{"x":[1,2]}, "c":"keep"})");  // the input is untouched
}

TEST_CASE("adding to an empty object needs no comma", "[record]") {
  std::string line = padded("{ }");
  Record r;
  r.reset_borrowed(line);
  r.set_member_string("k", "v\"q");
  CHECK(r.bytes() == R"({ "k":"v\"q"})");
  REQUIRE(r.parse() == simdjson::SUCCESS);
}

TEST_CASE("deep edits go through the tree and keep key order", "[record]") {
  std::string line = padded(R"({"z":1,"details":{"cmd":"ls","b":2},"a":3.0})");
  Record r;
  r.reset_borrowed(line);
  json::Value& t = r.tree();
  t.find("details")->set("cmd", json::Value::string("redacted"));
  CHECK(r.bytes() == R"({"z":1,"details":{"cmd":"redacted","b":2},"a":3.0})");
  CHECK(r.remove_member("z"));
  CHECK(r.bytes() == R"({"details":{"cmd":"redacted","b":2},"a":3.0})");
  std::string_view cmd;
  REQUIRE(r.root()["details"]["cmd"].get(cmd) == simdjson::SUCCESS);
  CHECK(cmd == "redacted");
}

TEST_CASE("reset clears verdicts and edits", "[record]") {
  std::string a = padded(R"({"a":1})"), b = padded(R"({"b":2})");
  Record r;
  r.reset_borrowed(a);
  r.set_member_raw("x", "1");
  r.verdict = Verdict::Drop;
  r.reason = "why";
  r.reset_borrowed(b);
  CHECK(r.bytes() == b);
  CHECK(r.verdict == Verdict::Keep);
  CHECK(r.reason.empty());
  CHECK_FALSE(r.edited());
}

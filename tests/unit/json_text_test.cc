#include <catch2/catch.hpp>

#include <cstdio>

#include "core/json_text.h"

using namespace agentlog;

TEST_CASE("append_quoted escapes controls, quotes and invalid UTF-8", "[json]") {
  CHECK(json::quoted("plain") == "\"plain\"");
  CHECK(json::quoted("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(json::quoted("t\tn\nr\r\x01") == "\"t\\tn\\nr\\r\\u0001\"");
  CHECK(json::quoted("caf\xc3\xa9") == "\"caf\xc3\xa9\"");           // valid UTF-8 kept
  CHECK(json::quoted("bad\xff!") == "\"bad\\ufffd!\"");              // invalid byte replaced
  CHECK(json::quoted("\xed\xa0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");  // encoded surrogate
}

TEST_CASE("find_invalid_utf8 reports the first bad byte", "[json]") {
  CHECK(json::find_invalid_utf8("ascii") == std::string_view::npos);
  CHECK(json::find_invalid_utf8("\xe2\x82\xac euro") == std::string_view::npos);
  CHECK(json::find_invalid_utf8("ab\xc0\xaf") == 2);  // overlong
  CHECK(json::find_invalid_utf8("abc\xe2\x82") == 3);  // truncated
  CHECK(json::find_invalid_utf8("\xf4\x90\x80\x80") == 0);  // above U+10FFFF
}

TEST_CASE("tree keeps key order and number text", "[json]") {
  auto v = json::parse(R"({"z":1.50,"a":[1,2e3,{"k":null}],"m":"\u00e9\ud83d\ude00","b":true})");
  REQUIRE(v);
  REQUIRE(v->members.size() == 4);
  CHECK(v->members[0].first == "z");
  CHECK(v->members[3].first == "b");
  CHECK(json::serialize(*v) == "{\"z\":1.50,\"a\":[1,2e3,{\"k\":null}],\"m\":\"\xc3\xa9\xf0\x9f\x98\x80\",\"b\":true}");
  v->set("a", json::Value::string("x"));
  v->set("new", json::Value::number("7"));
  CHECK(v->erase("z"));
  CHECK_FALSE(v->erase("missing"));
  CHECK(json::serialize(*v) == "{\"a\":\"x\",\"m\":\"\xc3\xa9\xf0\x9f\x98\x80\",\"b\":true,\"new\":7}");
}

TEST_CASE("parse rejects trailing content and bad text", "[json]") {
  CHECK_FALSE(json::parse("{\"a\":1} x"));
  CHECK_FALSE(json::parse("{\"a\":}"));
  CHECK_FALSE(json::parse("{\"a\":1"));
  CHECK(json::parse("  [ ]  "));
}

TEST_CASE("find_top_level_member finds only top-level keys", "[json]") {
  std::string t = R"({"nested":{"k":"inner"},"s":"a\"}","k" : [1,{"k":2}] ,"e\u0078":3})";
  auto k = json::find_top_level_member(t, "k");
  REQUIRE(k);
  CHECK(t.substr(k->begin, k->end - k->begin) == "[1,{\"k\":2}]");
  CHECK(t.substr(k->key_begin, 3) == "\"k\"");
  auto s = json::find_top_level_member(t, "s");
  REQUIRE(s);
  CHECK(t.substr(s->begin, s->end - s->begin) == "\"a\\\"}\"");
  auto ex = json::find_top_level_member(t, "ex");  // escaped key
  REQUIRE(ex);
  CHECK(t.substr(ex->begin, ex->end - ex->begin) == "3");
  CHECK_FALSE(json::find_top_level_member(t, "inner"));
  CHECK_FALSE(json::find_top_level_member("{}", "k"));
}

TEST_CASE("append_quoted escapes wherever the special byte sits relative to 8-byte words", "[json]") {
  // A reference escaper, byte by byte, for ASCII input.
  auto reference = [](std::string_view s) {
    std::string o = "\"";
    for (unsigned char c : s) {
      switch (c) {
        case '"': o += "\\\""; break;
        case '\\': o += "\\\\"; break;
        case '\n': o += "\\n"; break;
        case '\t': o += "\\t"; break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            o += buf;
          } else {
            o.push_back(static_cast<char>(c));
          }
      }
    }
    return o + "\"";
  };
  for (char special : {'"', '\\', '\n', '\t', '\x01', '\x1f'}) {
    for (size_t len = 0; len < 30; ++len) {
      for (size_t at = 0; at <= len; ++at) {
        std::string s(len, 'a');
        if (at < len) s[at] = special;
        CHECK(json::quoted(s) == reference(s));
      }
    }
  }
  // Non-ASCII: valid UTF-8 is kept, an invalid byte becomes U+FFFD, at any position.
  for (size_t at = 0; at < 20; ++at) {
    std::string s(20, 'b');
    s.insert(at, "\xc3\xa9");
    CHECK(json::quoted(s) == "\"" + s + "\"");
    std::string bad(20, 'c');
    bad[at] = '\xff';
    std::string want = "\"" + bad.substr(0, at) + "\\ufffd" + bad.substr(at + 1) + "\"";
    CHECK(json::quoted(bad) == want);
  }
}

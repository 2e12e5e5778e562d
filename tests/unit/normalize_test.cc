// Helpers of stage `normalize`: targets never carry arguments, user info or paths of URLs;
// the raw-text fast path of input hashing gives exactly the minified text.
#include <catch2/catch.hpp>

#include "plugins/normalize/normalize_format.h"
#include "tests/test_support.h"

using namespace agentlog::plugins::normalize;

TEST_CASE("program_name keeps the program, never arguments or assignments", "[normalize]") {
  CHECK(program_name("pytest tests/test_a.py -k cents") == "pytest");
  CHECK(program_name("STRIPE_KEY=sk_live_abc123 A=b /usr/bin/python3 -c 'print(1)'") == "python3");
  CHECK(program_name("cd /repo && make -j2 TOKEN=x") == "make");
  CHECK(program_name("cd /repo; npm test") == "npm");
  CHECK(program_name("  \"/opt/my tools/run\" --flag") == "run");  // a quoted path: its base name
  CHECK(program_name("'git' push") == "git");
  CHECK(program_name("echo $SECRET | base64") == "echo");
  CHECK(program_name("$(curl -s http://x) arg") == "unknown");
  CHECK(program_name("") == "unknown");
  CHECK(program_name("cd /tmp") == "cd");
}

TEST_CASE("type_word keeps token-like values out of the stats", "[normalize]") {
  CHECK(type_word("file-history-snapshot") == "file-history-snapshot");
  CHECK(type_word("x_telemetry.v2") == "x_telemetry.v2");
  CHECK(type_word("ghp_16C7e42F292c6912E7710c838347Ae178B4a") == "(other)");
  CHECK(type_word("queue-operation") == "queue-operation");
  CHECK(type_word("sk12345678") == "(other)");
  CHECK(type_word("AKIAIOSFODNN7EXAMPLE") == "(other)");
  CHECK(type_word("") == "(other)");
}

TEST_CASE("url_host keeps only the host", "[normalize]") {
  CHECK(url_host("https://deploy:hunter2@Docs.Example.com:8443/a/b?token=x#frag") == "docs.example.com");
  CHECK(url_host("http://[::1]:8080/x") == "[::1]");
  CHECK(url_host("docs.example.com/path") == "unknown");
  CHECK(url_host("https://") == "unknown");
  CHECK(url_host("https://exa mple.com/") == "unknown");
}

TEST_CASE("normalize_time reads offsets and naive times as UTC", "[normalize]") {
  CHECK(normalize_time("2026-03-02T09:14:05.332Z")->first == "2026-03-02T09:14:05.332Z");
  CHECK(normalize_time("2026-03-02T10:14:05+01:00")->first == "2026-03-02T09:14:05.000Z");
  CHECK(normalize_time("2026-03-05T10:20:05.551200")->first == "2026-03-05T10:20:05.551Z");
  CHECK_FALSE(normalize_time("yesterday"));
  CHECK_FALSE(normalize_time("2026-03-02 09:14:05"));
}

TEST_CASE("line_time names a missing or unreadable timestamp", "[normalize]") {
  std::string why;
  auto t = line_time(std::string_view("2026-03-02T09:14:05.332Z"), "RFC 3339", why);
  REQUIRE(t);
  CHECK(t->first == "2026-03-02T09:14:05.332Z");
  CHECK(t->second == 1772442845332);
  CHECK(why.empty());
  CHECK_FALSE(line_time(std::string_view("yesterday"), "ISO 8601", why));
  CHECK(why == "timestamp: not an ISO 8601 date-time");
  CHECK_FALSE(line_time(std::nullopt, "RFC 3339", why));
  CHECK(why == "timestamp: field is missing or not a string");
}

TEST_CASE("canonical_json_at accepts exactly what the minifier writes", "[normalize]") {
  simdjson::dom::parser parser;
  auto same = [&](const std::string& text) {
    auto raw = canonical_json_at(text, 0);
    simdjson::dom::element e;
    REQUIRE(parser.parse(text).get(e) == simdjson::SUCCESS);
    std::string mini = simdjson::minify(e);
    if (raw) CHECK(std::string(*raw) == mini);  // accepted: byte-identical to the minified form
    return raw.has_value();
  };
  CHECK(same(R"({"file_path":"/a/b.py","content":"x\n\t\"q\" \\ é → /"})"));
  CHECK(same(R"({"n":[1,-2,0,123456789012345678],"b":[true,false,null],"o":{}})"));
  CHECK(same(R"("just a string")"));
  CHECK_FALSE(same(R"({"a": 1})"));            // whitespace
  CHECK_FALSE(same(R"({"a":2.50})"));           // fractions are rewritten
  CHECK_FALSE(same(R"({"a":1e3})"));
  CHECK_FALSE(same(R"({"a":-0})"));
  CHECK_FALSE(same(R"({"a":"\u00e9"})"));       // \u escapes are rewritten
  CHECK_FALSE(same(R"({"a":"\/"})"));
  CHECK_FALSE(same(R"({"a":1234567890123456789})"));  // 19 digits: not taken raw
  // Random compact objects: whenever the fast path accepts, it equals the minified text.
  agentlog::test::Rng rng{77};
  const char* atoms[] = {"1", "-7", "0", "true", "null", "\"a\\nb\"", "\"q\\\"\"", "2.5", "\"\\u0001\"", "[]", "{}"};
  int accepted = 0;
  for (int i = 0; i < 500; ++i) {
    std::string t = "{";
    for (size_t k = 0, n = 1 + rng.below(5); k < n; ++k) {
      if (k) t += ",";
      t += "\"k" + std::to_string(k) + "\":";
      t += rng.below(4) == 0 ? std::string("[") + atoms[rng.below(11)] + "," + atoms[rng.below(11)] + "]"
                             : std::string(atoms[rng.below(11)]);
    }
    t += "}";
    accepted += same(t);
  }
  CHECK(accepted > 50);
}

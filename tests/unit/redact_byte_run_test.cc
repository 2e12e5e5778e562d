// The run gate: what a pattern's match is made of (a run of known bytes, at least so long),
// read from the pattern, and checked against every match the built-in rules find in the
// secret corpus, so a wrong reading (which would let a secret through) fails here.
#include <catch2/catch.hpp>

#include <functional>

#include <simdjson.h>

#include "core/embedded_files.h"
#include "plugins/redact/byte_run.h"
#include "plugins/redact/hs_scanner.h"
#include "plugins/redact/secret_rules.h"
#include "tests/test_paths.h"
#include "tests/test_support.h"

using namespace agentlog;
using namespace agentlog::redact;

namespace {

std::string bytes_of(const ByteRun& run) {
  std::string out;
  for (int c = 0; c < 256; ++c)
    if (run.bytes[c]) out += static_cast<char>(c);
  return out;
}

ByteRun read(std::string_view pattern) {
  ByteRun run;
  INFO(pattern);
  REQUIRE(byte_run_of(pattern, run));
  return run;
}

}  // namespace

TEST_CASE("byte_run_of: the bytes and the shortest length of a pattern's matches", "[redact][byte-run]") {
  ByteRun r = read("re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}");
  CHECK(r.min_length == 36);
  CHECK(bytes_of(r) == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz");
  CHECK(bytes_of(read("(?i)ab")) == "ABab");
  CHECK(bytes_of(read("a(?i:b)")) == "ABab");  // the folding is pattern-wide: a superset
  CHECK(read("x(?:ab|c)?y{2,5}").min_length == 3);
  CHECK(read("x(?:ab|c)y*?").min_length == 2);
  CHECK(read("(?:abc|d|)").min_length == 0);
  CHECK(read("\\d+\\.\\w*").min_length == 2);
  CHECK(bytes_of(read("\\d")) == "0123456789");
  CHECK(bytes_of(read("[\\s,;]")) == "\t\n\f\r ,;");
  CHECK(bytes_of(read("[a-]")) == "-a");
  CHECK(bytes_of(read("[-a]")) == "-a");
  CHECK(bytes_of(read("[\\w-.]")).find('-') != std::string::npos);
  CHECK(bytes_of(read("[]a]")) == "]a");
  CHECK(bytes_of(read("\\x41\\x{42}[\\x43-\\x44]")) == "ABCD");
  CHECK(bytes_of(read("[[:xdigit:]]")) == "0123456789ABCDEFabcdef");
  CHECK(read("[[:alnum:]]{4}").min_length == 4);
  CHECK(read("(?P<name>ab)c").min_length == 3);
  CHECK(read("^\\Aab\\b\\z$").min_length == 2);
  CHECK(bytes_of(read("\\.\\-\\/\\\\")) == "-./\\");
  // What the reader cannot vouch for is refused: any byte may then be in a match.
  for (const char* p : {".", "a.b", "[^a]", "\\S", "\\W", "\\D", "\\pL", "\\p{Greek}", "\\Qab\\E", "\xc3\xa9",
                        "(?x)a b", "\\1", "(ab", "ab)", "a{,3}", "a{x}", "a**", "\\C", "\\0", "[a", "[[:punct:]]",
                        "\\x{263a}", "[\\x{80}]", "\\"}) {
    ByteRun run;
    INFO(p);
    CHECK_FALSE(byte_run_of(p, run));
  }
}

TEST_CASE("RunGate: a text is cleared only when no run in it is long enough for a rule", "[redact][byte-run]") {
  ByteRun hex = read("[0-9a-f]{32}"), tok = read("tk_[A-Z]{8}");
  RunGate gate;
  REQUIRE(gate.build({hex, tok}).ok());
  CHECK_FALSE(gate.may_match(""));
  CHECK_FALSE(gate.may_match("a short message, nothing long"));
  CHECK(gate.may_match("id 0123456789abcdef0123456789abcdef end"));
  CHECK_FALSE(gate.may_match("id 0123456789abcdef0123456789abcde end"));  // 31
  // A run of the union's bytes that is long only for the union: tk_ABCD + hex is 39 bytes,
  // but no rule's own bytes run that long.
  CHECK_FALSE(gate.may_match("tk_ABCD0123456789abcdef0123456789abcde"));
  CHECK(gate.may_match("x tk_ABCDEFGH"));
  CHECK(gate.may_match("tk_ABCDEFGH"));
  CHECK_FALSE(gate.build({}).ok());
}

TEST_CASE("every match of every built-in rule in the corpus is the run its pattern says", "[redact][byte-run]") {
  RuleSet rs;
  REQUIRE(rs.add_yaml(find_embedded("rules/secrets.yaml"), "rules/secrets.yaml").ok());
  REQUIRE(rs.compile(64ll << 20).ok());
  // Every string of every corpus record (unescaped), and each record's line as it is.
  std::vector<std::string> texts;
  simdjson::dom::parser parser;
  std::function<void(simdjson::dom::element)> strings = [&](simdjson::dom::element e) {
    if (e.is_string()) texts.emplace_back(e.get_string().value());
    else if (e.is_array())
      for (auto item : e.get_array()) strings(item);
    else if (e.is_object())
      for (auto field : e.get_object()) strings(field.value);
  };
  for (const char* file : {"corpus.jsonl", "positives.jsonl", "negatives.jsonl"}) {
    std::string path = std::string(test::test_dir()) + "/redact_corpus/" + file;
    for (const auto& line : test::lines_of(test::read_file(path))) {
      simdjson::dom::element root;
      if (parser.parse(line).get(root) == simdjson::SUCCESS) strings(root);
      texts.push_back(line);
    }
  }
  REQUIRE(texts.size() > 20000);
  size_t readable = 0, unkeyed = 0, matches = 0;
  for (const auto& rule : rs.rules()) {
    std::string core = without_boundary_guards(rule.pattern);
    ByteRun run;
    if (!byte_run_of(core, run)) {
      CHECK_FALSE(rule.keywords.empty());  // every rule without keywords is readable: the gate is on
      continue;
    }
    ++readable;
    unkeyed += rule.keywords.empty();
    RE2 re(core, RE2::Quiet);
    REQUIRE(re.ok());
    for (const auto& text : texts) {
      if (has_non_ascii(text)) continue;  // the run gate leaves non-ASCII texts to Hyperscan
      re2::StringPiece in(text), m;
      size_t pos = 0;
      while (pos <= text.size() && re.Match(in, pos, text.size(), RE2::UNANCHORED, &m, 1)) {
        ++matches;
        INFO(rule.id << " matched '" << std::string(m) << "'");
        CHECK(m.size() >= run.min_length);
        for (unsigned char c : m) CHECK(run.bytes[c]);
        pos = static_cast<size_t>(m.data() - text.data()) + std::max<size_t>(m.size(), 1);
      }
    }
  }
  CHECK(unkeyed >= 7);
  CHECK(readable > 100);
  CHECK(matches > 2000);
}

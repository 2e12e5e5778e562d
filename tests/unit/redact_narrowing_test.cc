// What narrows the rules before RE2 decides: the keyword automaton (against a plain substring
// search), the choice between a Hyperscan scan and RE2 run directly (the same findings
// either way, over the whole secret corpus), and may_match_each naming every string of a
// record in which the rules find something.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <optional>
#include <random>

#include <simdjson.h>

#include "core/embedded_files.h"
#include "plugins/redact/keyword_matcher.h"
#include "plugins/redact/secret_rules.h"
#include "tests/test_paths.h"
#include "tests/test_support.h"

using namespace agentlog;
using namespace agentlog::redact;

namespace {

// Which rules' keywords occur in `text`, by plain search (ASCII case folded).
std::vector<uint64_t> naive_rules(const std::vector<std::pair<std::string, size_t>>& kw, std::string_view text,
                                  size_t words) {
  std::string low = lower_ascii(text);
  std::vector<uint64_t> bits(words, 0);
  for (const auto& [k, r] : kw)
    if (low.find(k) != std::string::npos) bits[r / 64] |= uint64_t{1} << (r % 64);
  return bits;
}

void compare_with_naive(const std::vector<std::pair<std::string, size_t>>& kw, size_t rules, uint32_t seed) {
  KeywordMatcher m;
  REQUIRE(m.build(kw).ok());
  const size_t words = (rules + 63) / 64;
  std::mt19937 rng(seed);
  // Texts made of pieces of the keywords (whole or cut) and a few other bytes, so keywords
  // occur, overlap and almost occur; some letters upper case.
  std::vector<std::string> texts;
  for (int i = 0; i < 3000; ++i) {
    std::string t;
    size_t pieces = rng() % 6;
    for (size_t j = 0; j < pieces; ++j) {
      const std::string& k = kw[rng() % kw.size()].first;
      size_t from = rng() % k.size(), len = 1 + rng() % (k.size() - from);
      if (rng() % 4 == 0) from = 0, len = k.size();
      t += k.substr(from, len);
      t += " xyZ.-"[rng() % 6];
    }
    for (char& c : t)
      if (rng() % 4 == 0 && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    texts.push_back(t);
  }
  std::vector<std::string_view> views(texts.begin(), texts.end());
  std::vector<uint8_t> hit;
  bool any = m.each(views.data(), views.size(), hit);
  REQUIRE(hit.size() == texts.size());
  bool naive_any = false;
  size_t hits = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    INFO(texts[i]);
    std::vector<uint64_t> expect = naive_rules(kw, texts[i], words);
    bool expect_hit = std::any_of(expect.begin(), expect.end(), [](uint64_t w) { return w != 0; });
    naive_any = naive_any || expect_hit;
    hits += expect_hit;
    CHECK(static_cast<bool>(hit[i]) == expect_hit);
    std::vector<uint64_t> got;
    CHECK(m.scan(texts[i], got) == expect_hit);
    if (expect_hit) CHECK(got == expect);
    CHECK(m.pair(texts[i], {}) == expect_hit);
  }
  CHECK(any == naive_any);
  CHECK(hits > 100);
  CHECK(hits < texts.size());
}

}  // namespace

TEST_CASE("the keyword automaton finds what a substring search finds", "[redact][narrowing]") {
  // Overlapping keywords, one a suffix or prefix of another, one byte long, shared by rules.
  compare_with_naive({{"key", 0}, {"ey", 1}, {"api-key", 2}, {"@", 3}, {"pass", 4}, {"password", 5}, {"sk", 6},
                      {"ask", 7}, {"key", 8}, {"aaaa", 70}},
                     71, 1);
  // Many long keywords: the table no longer fits 16 bits and the 32-bit one is used.
  std::vector<std::pair<std::string, size_t>> many;
  std::mt19937 rng(7);
  for (size_t i = 0; i < 400; ++i) {
    std::string k;
    for (int j = 0; j < 12; ++j) k += "abcdefghijklmnopqrstuvwxyz0123456789_-"[rng() % 38];
    many.emplace_back(k, i % 130);
  }
  many.emplace_back("zz", 129);
  compare_with_naive(many, 130, 2);
}

TEST_CASE("RE2 run directly and after a Hyperscan scan find the same secrets in the corpus", "[redact][narrowing]") {
  auto build = [](size_t direct) {
    RuleSet rs;
    REQUIRE(rs.add_yaml(find_embedded("rules/secrets.yaml"), "rules/secrets.yaml").ok());
    REQUIRE(rs.compile(64ll << 20).ok());
    rs.set_direct_limit(direct);
    return rs;
  };
  RuleSet scanned = build(0), few = build(4), all = build(1000);
  simdjson::dom::parser parser;
  size_t texts = 0, found = 0;
  std::vector<std::string_view> strings;
  std::function<void(simdjson::dom::element)> collect = [&](simdjson::dom::element e) {
    if (e.is_string()) strings.push_back(e.get_string().value());
    else if (e.is_array())
      for (auto item : e.get_array()) collect(item);
    else if (e.is_object())
      for (auto field : e.get_object()) {
        strings.push_back(field.key);
        collect(field.value);
      }
  };
  const std::string path = std::string(test::test_dir()) + "/redact_corpus/corpus.jsonl";
  for (const auto& line : test::lines_of(test::read_file(path))) {
    simdjson::dom::element root;
    REQUIRE(parser.parse(line).get(root) == simdjson::SUCCESS);
    strings.clear();
    collect(root);
    std::vector<uint8_t> may;
    few.may_match_each(strings.data(), strings.size(), may);
    for (size_t i = 0; i < strings.size(); ++i) {
      ++texts;
      std::vector<Finding> a, b, c;
      scanned.find(strings[i], a);
      few.find(strings[i], b);
      all.find(strings[i], c);
      INFO(strings[i]);
      auto spans = [](const std::vector<Finding>& f) {
        std::vector<std::pair<size_t, size_t>> out;
        for (const auto& x : f) out.emplace_back(x.begin, x.end);
        return out;
      };
      CHECK(spans(a) == spans(b));
      CHECK(spans(a) == spans(c));
      if (!a.empty()) {
        ++found;
        CHECK(may[i]);  // never less than the rules find
      }
    }
  }
  CHECK(texts > 40000);
  CHECK(found > 2000);
}

TEST_CASE("a rule set built where a freed one was does not read its Hyperscan hits", "[redact][narrowing]") {
  // may_match_each keeps the hits of a text it scanned alone for find_all on that text; a
  // rule set at the same address with other rules must scan for itself (with the old key,
  // its address, it read the freed set's rule numbers past its own rules).
  std::string many = "rules:\n";
  for (int i = 0; i < 40; ++i)
    many += "  - {id: r" + std::to_string(i) + ", regex: 'tok" + std::to_string(i) + "_[a-z]{6}', keywords: [tok" +
            std::to_string(i) + "_]}\n";
  const std::string one = "rules:\n  - {id: only, regex: 'tok3_[a-z]{6}', keywords: [tok3_]}\n";
  auto compiled = [](const std::string& yaml) {
    RuleSet rs;
    REQUIRE(rs.add_yaml(yaml, "t.yaml").ok());
    REQUIRE(rs.compile(64ll << 20).ok());
    rs.set_direct_limit(0);  // always the Hyperscan route, where the kept hits are used
    return rs;
  };
  const std::string_view text = "tok39_abcdef and tok3_ghijkl";
  std::optional<RuleSet> slot;
  slot.emplace(compiled(many));
  std::vector<uint8_t> may;
  slot->may_match_each(&text, 1, may);
  REQUIRE(may == std::vector<uint8_t>{1});
  const RuleSet* where = &*slot;
  slot.reset();
  slot.emplace(compiled(one));
  REQUIRE(&*slot == where);
  std::vector<Finding> got, want;
  slot->find(text, got);
  RuleSet fresh = compiled(one);
  fresh.find(text, want);
  REQUIRE(want.size() == 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].begin == want[0].begin);
  CHECK(got[0].end == want[0].end);
  CHECK(got[0].rule == 0);
}

// The redact stage's parts: the ref policy, URI redaction, and the rule set against its
// corpus of positive and negative examples.
#include <catch2/catch.hpp>

#include "tests/test_paths.h"
#include "core/embedded_files.h"
#include "core/json_text.h"
#include "core/plugin.h"
#include "plugins/redact/ref_policy.h"
#include "plugins/redact/secret_rules.h"
#include "tests/test_support.h"

using namespace agentlog;
using namespace agentlog::redact;

TEST_CASE("hash refs need a known algorithm and the right length", "[redact]") {
  std::string h64(64, 'a'), h40(40, 'b'), h32(32, 'c'), h96(96, 'd'), h128(128, 'e');
  CHECK(is_hash_ref("sha256:" + h64));
  CHECK(is_hash_ref("sha256:" + std::string(64, 'F')));
  CHECK(is_hash_ref("sha1:" + h40));
  CHECK(is_hash_ref("md5:" + h32));
  CHECK(is_hash_ref("sha384:" + h96));
  CHECK(is_hash_ref("sha512:" + h128));
  CHECK(is_hash_ref("blake2b:" + h128));
  CHECK(is_hash_ref("hmac-sha256:" + h64));
  CHECK_FALSE(is_hash_ref("sha256:" + h40));       // wrong length
  CHECK_FALSE(is_hash_ref("sha256:" + h64 + "0"));
  CHECK_FALSE(is_hash_ref("sha256:" + std::string(63, 'a') + "g"));  // not hex
  CHECK_FALSE(is_hash_ref("sha3:" + h64));          // unknown algorithm
  CHECK_FALSE(is_hash_ref(h64));
  CHECK_FALSE(is_hash_ref(""));
  CHECK_FALSE(is_hash_ref(":" + h64));
  CHECK_FALSE(is_hash_ref("blake2b-1024:" + h128));  // name longer than any known one
  CHECK_FALSE(is_hash_ref("sha256"));
}

TEST_CASE("hash refs: every byte of the hex part is checked, in the vector and the scalar tail", "[redact]") {
  // sha1 has 40 hex digits: two 16-byte blocks and an 8-byte tail.
  for (size_t len : {40, 64, 128}) {
    std::string alg = len == 40 ? "sha1:" : len == 64 ? "sha256:" : "sha512:";
    std::string hex;
    for (size_t i = 0; i < len; ++i) hex.push_back("0123456789abcdefABCDEF"[i % 22]);
    CHECK(is_hash_ref(alg + hex));
    for (size_t at = 0; at < len; ++at)
      for (char bad : {'g', 'G', '/', ':', '@', '`', '\x7f', ' ', '\x80', '\xff', '\0'}) {
        std::string h = hex;
        h[at] = bad;
        INFO("length " << len << ", byte " << at << " = " << static_cast<int>(static_cast<unsigned char>(bad)));
        CHECK_FALSE(is_hash_ref(alg + h));
      }
  }
}

TEST_CASE("refs are classified as hash, clean URI, URI with secrets, or raw content", "[redact]") {
  CHECK(classify_ref("sha256:" + std::string(64, '0')) == RefKind::HashRef);
  CHECK(classify_ref("s3://agent-artifacts/run-1/stdout.txt") == RefKind::CleanUri);
  CHECK(classify_ref("https://api.example.com/v1/items?page=2&sort=asc#top") == RefKind::CleanUri);
  CHECK(classify_ref("urn:evidence:run-1:42") == RefKind::CleanUri);
  CHECK(classify_ref("file:///var/log/agent.log") == RefKind::CleanUri);
  CHECK(classify_ref("https://user@example.com/x") == RefKind::CleanUri);  // a user name is no secret
  CHECK(classify_ref("https://user:hunter2@example.com/x") == RefKind::UriWithSecrets);
  CHECK(classify_ref("https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F&X-Amz-Signature=abc") ==
        RefKind::UriWithSecrets);
  CHECK(classify_ref("https://x.example/cb#access_token=abc&state=1") == RefKind::UriWithSecrets);
  CHECK(classify_ref("https://x.example/?API_KEY=abc") == RefKind::UriWithSecrets);
  CHECK(classify_ref("https://x.example/?token=") == RefKind::CleanUri);  // empty value
  CHECK(classify_ref("https://x.example/p?a=1#token=abc") == RefKind::UriWithSecrets);  // in the fragment
  CHECK(classify_ref("https://x.example/p?a=1&sig=abc#top") == RefKind::UriWithSecrets);
  CHECK(classify_ref("https://x.example/p#top?sig=abc") == RefKind::CleanUri);  // '?' inside the fragment
  CHECK(classify_ref("urn:x:y?token=abc") == RefKind::UriWithSecrets);
  CHECK(classify_ref("curl -H 'Authorization: Bearer abc' https://x") == RefKind::Raw);
  CHECK(classify_ref("C:\\Users\\me\\file.txt") == RefKind::Raw);
  CHECK(classify_ref("mailto:someone@example.com") == RefKind::Raw);
  CHECK(classify_ref("urn:") == RefKind::Raw);
  CHECK(classify_ref("") == RefKind::Raw);
  CHECK(classify_ref("plain text output") == RefKind::Raw);
}

TEST_CASE("URI redaction keeps everything but the secrets", "[redact]") {
  std::vector<std::string> what;
  auto tok = [](std::string_view s) { return "<" + std::to_string(s.size()) + ">"; };
  CHECK(redact_uri("postgres://app:s3cr3t@db.internal:5432/prod?sslmode=require", tok, what) ==
        "postgres://app:<6>@db.internal:5432/prod?sslmode=require");
  CHECK(redact_uri("https://h/p?a=1&Signature=xyz&b=2&sig=q#k", tok, what) == "https://h/p?a=1&Signature=<3>&b=2&sig=<1>#k");
  CHECK(what == std::vector<std::string>{"ref-uri-password", "ref-uri-query-secret", "ref-uri-query-secret"});
}

TEST_CASE("shannon entropy", "[redact]") {
  CHECK(shannon_entropy("") == 0);
  CHECK(shannon_entropy("aaaa") == 0);
  CHECK(shannon_entropy("abab") == Approx(1.0));
  CHECK(shannon_entropy("abcdefgh") == Approx(3.0));
}

TEST_CASE("rule files are checked with exact messages", "[redact]") {
  RuleSet rs;
  CHECK(rs.add_yaml("rules: [{id: a, regex: '('}]", "my.yaml").message() ==
        "my.yaml:1:24: rules[0].regex: invalid RE2 pattern: missing ): (");
  RuleSet rs2;
  CHECK(rs2.add_yaml("rules:\n  - {id: a, regex: x, colour: red}\n", "my.yaml").message() ==
        "my.yaml:2:23: rules[0].colour: unknown key. Allowed: id, description, regex, secret_group, keywords, min_entropy, min_length, stopwords, allow_regexes, allow_match_regexes, allow_line_regexes");
  RuleSet rs3;
  CHECK(rs3.add_yaml("rules:\n  - {id: a, regex: x}\n  - {id: a, regex: y}\n", "f").message() ==
        "f:3:10: rules[1].id: duplicate rule id \"a\"");
  RuleSet rs4;
  CHECK(rs4.add_yaml("rules:\n  - {id: a, regex: '(x)', secret_group: 2}\n", "f").message() ==
        "f:2:41: rules[0].secret_group: the regex has 1 capture groups");
  RuleSet rs5;
  CHECK(rs5.add_yaml("[]", "f").message() == "f:1:1: a rule file needs a \"rules\" list");
}

namespace {
RuleSet builtin_rules() {
  RuleSet rs;
  Status st = rs.add_yaml(find_embedded("rules/secrets.yaml"), "rules/secrets.yaml");
  INFO(st.message());
  REQUIRE(st.ok());
  REQUIRE(rs.compile(256ll << 20).ok());
  return rs;
}
std::string corpus(const char* name) {
  return test::read_file(std::string(test::test_dir()) + "/redact_corpus/" + name);
}
}  // namespace

// The stage loads its built-in rules uncompiled (built_in) and compiles each when first
// used, where a failure would silently disable the rule: here every one must compile, with
// its secret group in range, over UTF-8 and, where it has one, over bytes.
TEST_CASE("every built-in rule compiles when loaded as the stage loads it", "[redact]") {
  RuleSet rs;
  rs.set_regex_memory(256ll << 20);
  REQUIRE(rs.add_yaml(find_embedded("rules/secrets.yaml"), "rules/secrets.yaml", /*built_in=*/true).ok());
  REQUIRE(rs.compile(256ll << 20).ok());
  REQUIRE(rs.rules().size() >= 40);
  for (const auto& rule : rs.rules()) {
    INFO(rule.id);
    const RE2* utf8 = rule.re.get();
    REQUIRE(utf8 != nullptr);
    CHECK(utf8->options().max_mem() == (256ll << 20));
    CHECK(rule.group >= 0);
    CHECK(rule.group <= utf8->NumberOfCapturingGroups());
    if (!rule.re_bytes.empty()) {
      REQUIRE(rule.re_bytes.get() != nullptr);
      CHECK(rule.re_bytes.get()->NumberOfCapturingGroups() == utf8->NumberOfCapturingGroups());
    }
  }
  // And they find what the eagerly compiled ones find.
  RuleSet eager = builtin_rules();
  std::vector<Finding> lazy_found, eager_found;
  const std::string text = "export GITHUB_TOKEN=ghp_7ZZj55JrHHlzAxPmuSXGfD6R2EVXk7BQ4tWZ and AKIAQWERTYUIOPASDFGH";
  rs.find(text, lazy_found);
  eager.find(text, eager_found);
  REQUIRE(lazy_found.size() == eager_found.size());
  REQUIRE_FALSE(lazy_found.empty());
  for (size_t i = 0; i < lazy_found.size(); ++i) {
    CHECK(lazy_found[i].begin == eager_found[i].begin);
    CHECK(lazy_found[i].end == eager_found[i].end);
    CHECK(lazy_found[i].rule == eager_found[i].rule);
  }
}

// The stage's default budget is the one the lazy path is proved for: changing one without the
// other would make every default run compile the built-in rules at start again.
TEST_CASE("max_regex_memory's default is the budget the built-in rules are tested with", "[redact]") {
  const PluginInfo* redact = nullptr;
  for (const PluginInfo* p : all_plugins())
    if (p->name == "redact") redact = p;
  REQUIRE(redact != nullptr);
  const OptionSpec* budget = nullptr;
  for (const auto& o : redact->options)
    if (o.name == "max_regex_memory") budget = &o;
  REQUIRE(budget != nullptr);
  CHECK(budget->default_value == std::to_string(agentlog::redact::kTestedRegexMemory));
}

// Under a budget other than the tested one the built-in rules compile at load: a rule that
// does not fit is an error there, never a rule that silently finds nothing.
TEST_CASE("built-in rules under a small regex budget compile at load or fail", "[redact]") {
  for (int64_t budget : {int64_t{1} << 20, int64_t{64} << 20}) {
    INFO(budget);
    RuleSet rs;
    rs.set_regex_memory(budget);
    REQUIRE(rs.add_yaml(find_embedded("rules/secrets.yaml"), "rules/secrets.yaml", /*built_in=*/true).ok());
    Status st = rs.compile(budget);
    if (!st.ok()) {
      CHECK(st.message().find("does not compile within max_regex_memory") != std::string::npos);
      continue;
    }
    for (const auto& rule : rs.rules()) {
      INFO(rule.id);
      CHECK(rule.re.get() != nullptr);
    }
  }
}

TEST_CASE("the built-in rules find every corpus secret exactly", "[redact][corpus]") {
  RuleSet rs = builtin_rules();
  REQUIRE(rs.rules().size() >= 40);
  std::set<std::string> covered;
  std::vector<Finding> found;
  size_t n = 0;
  for (const auto& line : test::lines_of(corpus("positives.jsonl"))) {
    auto v = json::parse(line);
    REQUIRE(v);
    std::string rule = v->find("rule")->text, text = v->find("text")->text, secret = v->find("secret")->text;
    INFO(rule << ": " << text);
    CHECK(rs.may_match(text));
    rs.find(text, found);
    bool exact = false;
    for (const auto& f : found)
      if (text.substr(f.begin, f.end - f.begin).find(secret) != std::string::npos) exact = true;
    CHECK(exact);
    covered.insert(rule);
    ++n;
  }
  CHECK(n >= 80);
  // Rules that fire on a positive case of the labelled corpus count as covered too (the
  // hand-written positives predate most provider rules).
  std::vector<std::string> labels = test::lines_of(corpus("corpus.labels.jsonl"));
  std::vector<std::string> records = test::lines_of(corpus("corpus.jsonl"));
  REQUIRE(labels.size() == records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    auto label = json::parse(labels[i]);
    auto rec = json::parse(records[i]);
    REQUIRE(label);
    REQUIRE(rec);
    if (label->find("label")->text != "positive") continue;
    for (const char* field : {"input_ref"}) {
      if (const json::Value* v = rec->find(field); v && v->kind == json::Value::Kind::String) {
        rs.find_all(v->text, found);
        for (const auto& f : found) covered.insert(rs.rules()[f.rule].id);
      }
    }
    if (const json::Value* d = rec->find("details"))
      if (const json::Value* m = d->find("message"); m && m->kind == json::Value::Kind::String) {
        rs.find_all(m->text, found);
        for (const auto& f : found) covered.insert(rs.rules()[f.rule].id);
      }
  }
  // Synthetic examples (random values in the documented shape) for rules no corpus case has.
  const std::pair<const char*, std::string> extra[] = {
      {"azure-devops-pat-v2", "git clone https://pat:%s@dev.azure.com/org/repo"},
  };
  const std::string azdo = "U8JZpDE0iGXlD6gNCFbaEPFjbD0kH8Oool8DklZDOCj2ISaJiHkTJQQJ99j0rLAZDOGlko";
  for (const auto& [rule, text_fmt] : extra) {
    std::string text = text_fmt;
    text.replace(text.find("%s"), 2, azdo);
    rs.find_all(text, found);
    bool hit = false;
    for (const auto& f : found)
      if (rs.rules()[f.rule].id == rule && text.substr(f.begin, f.end - f.begin) == azdo) hit = true;
    INFO(rule);
    CHECK(hit);
    if (hit) covered.insert(rule);
  }
  // Every rule has at least one positive example.
  for (const auto& r : rs.rules()) {
    INFO(r.id);
    CHECK(covered.count(r.id) == 1);
  }
}

TEST_CASE("the built-in rules find nothing in the negative corpus", "[redact][corpus]") {
  RuleSet rs = builtin_rules();
  std::vector<Finding> found;
  size_t n = 0;
  for (const auto& line : test::lines_of(corpus("negatives.jsonl"))) {
    auto v = json::parse(line);
    REQUIRE(v);
    std::string text = v->find("text")->text;
    rs.find(text, found);
    INFO(text);
    if (!found.empty()) INFO("rule " << rs.rules()[found[0].rule].id);
    CHECK(found.empty());
    ++n;
  }
  CHECK(n >= 60);
}

TEST_CASE("two secrets one byte apart are both found", "[redact]") {
  RuleSet rs = builtin_rules();
  std::string text = "ghp_R8fK2mQ9xLp4Tz7Wb1Nc6Vd3Hs5Jg0Ya2Ek8,ghp_Q2wE4rT6yU8iO0pA1sD3fG5hJ7kL9zX2cV4b";
  std::vector<Finding> found;
  rs.find(text, found);
  REQUIRE(found.size() == 2);
  CHECK(text.substr(found[0].begin, found[0].end - found[0].begin) == "ghp_R8fK2mQ9xLp4Tz7Wb1Nc6Vd3Hs5Jg0Ya2Ek8");
  CHECK(text.substr(found[1].begin, found[1].end - found[1].begin) == "ghp_Q2wE4rT6yU8iO0pA1sD3fG5hJ7kL9zX2cV4b");
}

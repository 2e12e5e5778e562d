// gitleaks' config format: each supported key does what gitleaks' README says it does, and
// every unsupported key is a config error with file:line:col. Rule files: tests/redact_rules/.
#include <catch2/catch.hpp>

#include "plugins/redact/secret_rules.h"
#include "tests/test_paths.h"
#include "tests/test_support.h"

using namespace agentlog;
using namespace agentlog::redact;

namespace {

std::string rules_dir() { return std::string(test::test_dir()) + "/redact_rules/"; }

RuleSet load_file(const std::string& name) {
  RuleSet rs;
  std::string path = rules_dir() + name;
  Status st = rs.add_gitleaks_toml(test::read_file(path), path);
  INFO(st.message());
  REQUIRE(st.ok());
  REQUIRE(rs.compile(64ll << 20).ok());
  return rs;
}

std::string load_error(const std::string& toml) {
  RuleSet rs;
  return rs.add_gitleaks_toml(toml, "g.toml").message();
}

// "rule-id:secret" for each finding (overlaps kept), sorted.
std::vector<std::string> found(const RuleSet& rs, std::string_view text) {
  std::vector<Finding> f;
  rs.find_all(text, f);
  std::vector<std::string> out;
  for (const auto& x : f) out.push_back(rs.rules()[x.rule].id + ":" + std::string(text.substr(x.begin, x.end - x.begin)));
  std::sort(out.begin(), out.end());
  return out;
}

using V = std::vector<std::string>;

}  // namespace

TEST_CASE("gitleaks: secretGroup, entropy, keywords, tags", "[redact][gitleaks]") {
  RuleSet rs = load_file("all_keys.toml");
  // secretGroup = 1: only the group is the secret.
  CHECK(found(rs, "export ACME_TOKEN=\"tk_q8r2k5m9x3v7b1n4\"") == V{"acme-token:tk_q8r2k5m9x3v7b1n4"});
  // entropy = 3.0 on the secret group: a low-entropy value is no finding.
  CHECK(found(rs, "acme_token=tk_aaaaaaaaaaaaaaaa").empty());
  // keywords gate the rule (case-insensitively): the regex also takes corp_token, but
  // without the keyword "acme" the rule does not run.
  CHECK(found(rs, "ACME-TOKEN: tk_q8r2k5m9x3v7b1n4") == V{"acme-token:tk_q8r2k5m9x3v7b1n4"});
  CHECK(found(rs, "CORP_TOKEN=tk_q8r2k5m9x3v7b1n4").empty());
  CHECK(found(rs, "CORP_TOKEN=tk_q8r2k5m9x3v7b1n4 (acme)") == V{"acme-token:tk_q8r2k5m9x3v7b1n4"});
  const SecretRule* acme = nullptr;
  for (const auto& r : rs.rules())
    if (r.id == "acme-token") acme = &r;
  REQUIRE(acme != nullptr);
  CHECK(acme->tags == V{"test", "acme"});
  CHECK(acme->keywords == V{"acme"});
  CHECK(acme->description.starts_with("ACME service token"));
}

TEST_CASE("gitleaks: without secretGroup the first non-empty group is the secret, else the match", "[redact][gitleaks]") {
  RuleSet rs = load_file("all_keys.toml");
  CHECK(found(rs, "key1=AB12CD34EF56") == V{"first-group:AB12CD34EF56"});
  CHECK(found(rs, "key2=ZX98CV76BN54") == V{"first-group:ZX98CV76BN54"});
  CHECK(found(rs, "t=zzt_0123456789abcdef0123") == V{"whole-match:zzt_0123456789abcdef0123"});
}

TEST_CASE("gitleaks: path is ignored (a path-only rule never fires, a regex rule fires everywhere)", "[redact][gitleaks]") {
  RuleSet rs = load_file("all_keys.toml");
  for (const auto& r : rs.rules()) CHECK(r.id != "path-only");
  CHECK(found(rs, "cert.p12 and pr_Ab3De6Gh9Jk2Mn5Pq8") == V{"path-and-regex:pr_Ab3De6Gh9Jk2Mn5Pq8"});
}

TEST_CASE("gitleaks: per-rule allowlists", "[redact][gitleaks]") {
  RuleSet rs = load_file("all_keys.toml");
  // Not allowlisted.
  CHECK(found(rs, "svc_secret = R4nd0mV4lu3_xyz") == V{"allowlisted:R4nd0mV4lu3_xyz"});
  // stopwords: inside the secret, any case.
  CHECK(found(rs, "svc_secret = my_DUMMY_value_1").empty());
  // regexes, default target secret: ^TEST is tested on the secret, not the match.
  CHECK(found(rs, "svc_secret = TEST_value_123").empty());
  CHECK(found(rs, "svc_secret = value_TEST_123") == V{"allowlisted:value_TEST_123"});
  // regexTarget match: ^app_secret is tested on the whole match.
  CHECK(found(rs, "app_secret = R4nd0mV4lu3_xyz").empty());
  // regexTarget line: the line around the match, not other lines of the text.
  CHECK(found(rs, "svc_secret = R4nd0mV4lu3_xyz # not-a-secret").empty());
  CHECK(found(rs, "# not-a-secret\nsvc_secret = R4nd0mV4lu3_xyz") == V{"allowlisted:R4nd0mV4lu3_xyz"});
  // condition AND: the regex and the stopword must both match.
  CHECK(found(rs, "svc_secret = Zfake_value_12").empty());
  CHECK(found(rs, "svc_secret = Zreal_value_12") == V{"allowlisted:Zreal_value_12"});
  CHECK(found(rs, "svc_secret = Yfake_value_12") == V{"allowlisted:Yfake_value_12"});
}

TEST_CASE("gitleaks: AND with paths never matches; OR with commits still matches on its regex", "[redact][gitleaks]") {
  RuleSet rs = load_file("all_keys.toml");
  CHECK(found(rs, "svc_secret = Qvalue_abc_123") == V{"allowlisted:Qvalue_abc_123"});
  CHECK(found(rs, "svc_secret = K9value_abc_12").empty());
}

TEST_CASE("gitleaks: the older [rules.allowlist] table", "[redact][gitleaks]") {
  RuleSet rs = load_file("all_keys.toml");
  CHECK(found(rs, "oal_R8fK2mQ9xLp4Tz7W") == V{"old-allowlist:R8fK2mQ9xLp4Tz7W"});
  CHECK(found(rs, "oal_SampleK2mQ9xLp4T").empty());
}

TEST_CASE("gitleaks: the global [allowlist] applies to every rule", "[redact][gitleaks]") {
  RuleSet rs = load_file("all_keys.toml");
  CHECK(found(rs, "t=zzt_0123456789abcdef0123 pr_Ab3De6Gh9JkEXAMPLE") ==
        V{"whole-match:zzt_0123456789abcdef0123"});  // regexes: EXAMPLE$ on the secret
  CHECK(found(rs, "oal_PlaceHolderXp4Tz7W").empty());                               // stopwords
}

TEST_CASE("gitleaks: [[allowlists]] with and without targetRules", "[redact][gitleaks]") {
  RuleSet rs = load_file("global_allowlists.toml");
  CHECK(found(rs, "alpha_abcdefghi000 beta_abcdefghi000") == V{"alpha:alpha_abcdefghi000"});
  CHECK(found(rs, "beta_abcdefghi123") == V{"beta:beta_abcdefghi123"});
  CHECK(found(rs, "alpha_testabcdefgh beta_testabcdefgh") == V{"beta:beta_testabcdefgh"});
}

TEST_CASE("gitleaks: [extend] path and disabledRules; a rule with a base id extends it", "[redact][gitleaks]") {
  RuleSet rs = load_file("extend.toml");
  V ids;
  for (const auto& r : rs.rules()) ids.push_back(r.id);
  std::sort(ids.begin(), ids.end());
  CHECK(ids == V{"base-extended", "base-kept", "own"});
  CHECK(found(rs, "bk_abcdefgh1234 bd_abcdefgh1234 own_abcdefgh1234") ==
        V{"base-kept:bk_abcdefgh1234", "own:own_abcdefgh1234"});
  CHECK(found(rs, "be_abcdefgh1234") == V{"base-extended:abcdefgh1234"});
  CHECK(found(rs, "be_abczzzzh1234").empty());  // the allowlist added by extend.toml
}

TEST_CASE("gitleaks: a config's global allowlist and ids are its own; rules already in the set keep theirs",
          "[redact][gitleaks]") {
  // As with builtin_rules: true and rules_file: the built-in rules (here one YAML rule) are in
  // the set first. gitleaks' default config has a global [allowlist] taking any secret with
  // "false" or "null" in it, and 36 ids the built-in set also uses (github-pat, jwt, ...): the
  // loader applied that allowlist to the built-in rules too, and silently replaced each
  // built-in rule whose id the config reused, as if the built-in set were an [extend] base.
  const std::string yaml = "rules:\n  - id: zq-key\n    regex: 'zq_([A-Za-z0-9]{12})'\n    secret_group: 1\n";
  RuleSet rs;
  REQUIRE(rs.add_yaml(yaml, "own.yaml").ok());
  Status st = rs.add_gitleaks_toml(test::read_file(rules_dir() + "beside_other_rules.toml"), "beside_other_rules.toml");
  INFO(st.message());
  REQUIRE(st.ok());
  REQUIRE(rs.compile(64ll << 20).ok());
  REQUIRE(rs.rules().size() == 3);  // both zq-key rules, and wv-token
  // The YAML rule still runs, and the config's global allowlist (regex, stopword) leaves it alone.
  CHECK(found(rs, "zq_Ab3false9Xy1") == V{"zq-key:Ab3false9Xy1"});
  CHECK(found(rs, "zq_Ab3qqqq9Xy12") == V{"zq-key:Ab3qqqq9Xy12"});
  // The config's own rules: found, and quieted by its global allowlist.
  CHECK(found(rs, "zq-k3m7p9x2q4") == V{"zq-key:k3m7p9x2q4"});
  CHECK(found(rs, "zq-k3false9x2").empty());
  CHECK(found(rs, "wv_Ab3De6Gh9Jk2") == V{"wv-token:wv_Ab3De6Gh9Jk2"});
  CHECK(found(rs, "wv_Ab3qqqq9Xy12").empty());
  // Its ids, [extend] disabledRules and rule extensions refer to its own rules and its bases':
  // a rule without regex reusing another source's id does not extend that rule, and
  // disabledRules does not remove it.
  RuleSet other;
  REQUIRE(other.add_yaml(yaml, "own.yaml").ok());
  CHECK(other.add_gitleaks_toml("[[rules]]\nid = \"zq-key\"\nkeywords = [\"zz\"]\n", "g.toml").message() ==
        "g.toml:1:1: rules[0]: the rule has neither regex nor path, so it has no effect");
  RuleSet kept;
  REQUIRE(kept.add_yaml(yaml, "own.yaml").ok());
  REQUIRE(kept.add_gitleaks_toml("[extend]\ndisabledRules = [\"zq-key\"]\n", "g.toml").ok());
  REQUIRE(kept.rules().size() == 1);
  CHECK(kept.rules()[0].keywords.empty());
}

TEST_CASE("gitleaks: Go's (?<name>...) is read as RE2's (?P<name>...); Go syntax RE2 lacks otherwise is an error naming "
          "the rule",
          "[redact][gitleaks]") {
  // Go 1.22's regexp takes (?<name>...) as well as (?P<name>...); RE2 only the latter.
  const std::string toml = R"(
[[rules]]
id = "named-group"
regex = '''ngt_(?<body>[a-z0-9]{12})\b'''
[[rules.allowlists]]
regexes = ['''^(?<zeros>0+)$''']

[[rules]]
id = "not-in-classes"
regex = '''nq_[(?<a>]{3}_(?<tail>[0-9]{6})'''

[[rules]]
id = "not-in-quotes"
regex = '''lq_\Q(?<q>\E[0-9]{6}'''
)";
  RuleSet rs;
  Status st = rs.add_gitleaks_toml(toml, "g.toml");
  INFO(st.message());
  REQUIRE(st.ok());
  REQUIRE(rs.compile(64ll << 20).ok());
  CHECK(found(rs, "ngt_k3m7p9x2q4w8") == V{"named-group:k3m7p9x2q4w8"});
  CHECK(found(rs, "ngt_000000000000").empty());  // the allowlist's named group
  // Inside a class or \Q...\E the characters are literal and stay as they are.
  CHECK(found(rs, "nq_a<?_123456") == V{"not-in-classes:123456"});
  CHECK(found(rs, "nq_P??_123456").empty());
  CHECK(found(rs, "lq_(?<q>123456") == V{"not-in-quotes:lq_(?<q>123456"});
  CHECK(found(rs, "lq_(?P<q>123456").empty());
  // Lookarounds: neither Go nor RE2 has them. The error names the rule.
  CHECK(load_error("[[rules]]\nid = \"a\"\nregex = '''x(?=y)'''\n") ==
        "g.toml:3:9: rules[0].regex: rule \"a\": invalid RE2 pattern: invalid perl operator: (?=");
  CHECK(load_error("[[rules]]\nid = \"a\"\nregex = 'x'\n[[rules.allowlists]]\nregexes = ['''(?<=x)y''']\n") ==
        "g.toml:5:12: rules[0].allowlists[0].regexes[0]: rule \"a\": invalid RE2 pattern: invalid perl operator: (?<");
}

TEST_CASE("gitleaks: config errors name the key with file:line:col", "[redact][gitleaks]") {
  CHECK(load_error("[[rules]]\nid = \"a\"\nregex = 'x'\ncolour = \"red\"\n") ==
        "g.toml:4:1: rules[0].colour: unknown key. Allowed: id, description, regex, secretGroup, entropy, keywords, "
        "path, tags, allowlist, allowlists");
  CHECK(load_error("[[rules]]\nid = \"a\"\nregex = '''(x'''\n") ==
        "g.toml:3:9: rules[0].regex: rule \"a\": invalid RE2 pattern: missing ): (x");
  CHECK(load_error("[[rules]]\nid = \"a\"\nregex = '''(x)'''\nsecretGroup = 2\n") ==
        "g.toml:4:15: rules[0].secretGroup: the regex has 1 capture groups");
  CHECK(load_error("[[rules]]\nid = \"a\"\nregex = 'x'\n[[rules.allowlists]]\ncondition = \"XOR\"\n") ==
        "g.toml:5:13: rules[0].allowlists[0].condition: must be \"OR\" or \"AND\", got \"XOR\"");
  CHECK(load_error("[[rules]]\nid = \"a\"\nregex = 'x'\n[[rules.allowlists]]\nregexTarget = \"file\"\n") ==
        "g.toml:5:15: rules[0].allowlists[0].regexTarget: must be \"secret\", \"match\" or \"line\", got \"file\"");
  CHECK(load_error("[[rules]]\nid = \"a\"\nregex = 'x'\n[[rules.required]]\nid = \"b\"\n") ==
        "g.toml:4:9: rules[0].required: composite rules (required, skipReport) are not supported; remove the key or the rule");
  CHECK(load_error("[[rules]]\nid = \"a\"\ndescription = \"nothing\"\n") ==
        "g.toml:1:1: rules[0]: the rule has neither regex nor path, so it has no effect");
  CHECK(load_error("[extend]\nuseDefault = true\n") ==
        "g.toml:2:14: extend.useDefault: agentlog does not ship gitleaks' default rules; give the default config's file "
        "to rules_file (or use extend.path), or use agentlog's built-in rules (builtin_rules: true)");
  CHECK(load_error("[[rules]]\nid = \"a\"\nregex = 'x'\n[[rules.allowlists]]\ntargetRules = [\"a\"]\n") ==
        "g.toml:5:1: rules[0].allowlists[0].targetRules: unknown key. Allowed: description, condition, regexTarget, "
        "regexes, stopwords, paths, commits");
  CHECK(load_error("[[rules]]\nid = \"a\"\nregex = 'x'\n[[rules]]\nid = \"a\"\nregex = 'y'\n") ==
        "g.toml:4:1: rules[1].id: duplicate rule id \"a\"");
  CHECK(load_error("verbose = true\n") ==
        "g.toml:1:1: verbose: unknown key. Allowed: title, description, minVersion, extend, rules, allowlist, allowlists");
  CHECK(load_error("[[rules]\n").starts_with("g.toml:1:"));
}

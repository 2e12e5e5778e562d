// Secret-detection rules: loaded from agentlog's YAML rule files or gitleaks' TOML config
// format, narrowed in one pass by a Hyperscan database of all rules' patterns, decided by RE2.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>

#include "core/status.h"
#include "plugins/redact/byte_run.h"
#include "plugins/redact/hs_scanner.h"
#include "plugins/redact/keyword_matcher.h"

namespace agentlog::redact {

// A regex compiled on its first use, once, by whichever thread comes first: of a few hundred
// rules a run uses a few, and compiling every one up front cost more than a small file's
// whole run. Set only where the pattern is known to compile (a test compiles every built-in
// rule; a user's rules are compiled at load and adopted).
class LazyRegex {
 public:
  void set(const std::string& pattern, const RE2::Options& options);
  void adopt(std::unique_ptr<RE2> compiled);  // already compiled
  void clear() { state_.reset(); }
  bool empty() const { return state_ == nullptr; }
  // The options it is (or will be) compiled with; empty() must be false.
  const RE2::Options& options() const { return state_->options; }
  // Null when not set, or when the pattern does not compile with these options.
  const RE2* get() const;

 private:
  struct State {
    std::string pattern;
    RE2::Options options;
    std::once_flag once;
    std::unique_ptr<RE2> regex;
  };
  std::unique_ptr<State> state_;
};

// What allowlist regexes are matched against (gitleaks' regexTarget).
enum class AllowTarget { Secret, Match, Line };

// A gitleaks-style allowlist: a finding is dropped when the allowlist matches it.
struct Allowlist {
  AllowTarget target = AllowTarget::Secret;
  bool all = false;                          // condition AND (default OR)
  std::vector<std::unique_ptr<RE2>> regexes;
  // The regexes as one alternation (set by RuleSet::compile when there are several): one RE2
  // search per finding instead of one per regex. Empty, or not compiling: the list is used.
  LazyRegex any;
  std::vector<std::string> stopwords;        // lowercase; matched inside the secret
  // paths / commits: criteria about files and commits, which this stage never has. Under OR
  // they never match; under AND they make the whole allowlist never match.
  bool needs_path_or_commit = false;
  std::vector<std::string> target_rules;     // global allowlists only: the rules it applies to (empty: all)
  // Global allowlists only: the indices [scope_begin, scope_end) of the rules it applies to,
  // those of the gitleaks config that defined it (and of the configs that one extends), not
  // the built-in rules or another file's.
  size_t scope_begin = 0, scope_end = SIZE_MAX;

  bool matches(std::string_view secret, std::string_view match, std::string_view line) const;
};

// The RE2 budget per rule the built-in rules are proved to compile with (a unit test), and
// redact's max_regex_memory default: with it they compile when first used.
inline constexpr int64_t kTestedRegexMemory = int64_t{256} << 20;

struct SecretRule {
  std::string id;
  std::string description;
  std::string pattern;
  LazyRegex re;  // over UTF-8
  int group = 0;                      // capture group holding the secret; 0 = whole match; -1 = first non-empty group
  std::vector<std::string> keywords;  // lowercase; the rule fires only where one occurs
  double min_entropy = 0;             // bits per byte of the secret
  size_t min_length = 0;              // texts shorter than this are skipped
  std::vector<Allowlist> allowlists;
  std::vector<std::string> tags;      // reported by redact-test only
  // The same pattern over bytes (Latin-1), for ASCII texts, where it means what `re` means.
  // Over bytes RE2's programs are far smaller (a negated class is one byte range, not a UTF-8
  // automaton), so its DFA and captures cost less. Empty when the pattern is not ASCII.
  LazyRegex re_bytes;
  bool bytes_always = false;  // re_bytes on every text (see RuleSet::compile)
};

// Is `pattern` ASCII, with no Unicode class (\pL) or code point above 0xff (\x{263a})?
bool byte_pattern(std::string_view pattern);

// Shannon entropy of the bytes of `s`, in bits per byte.
double shannon_entropy(std::string_view s);

// A found secret: bytes [begin, end) of the scanned text, the whole match [match_begin,
// match_end), and the rule that found it.
struct Finding {
  size_t begin = 0, end = 0;
  size_t rule = 0;
  size_t match_begin = 0, match_end = 0;
};


class RuleSet {
 public:
  RuleSet();
  ~RuleSet();
  RuleSet(RuleSet&&) noexcept;
  RuleSet& operator=(RuleSet&&) noexcept;

  // Adds the rules of one agentlog YAML rule file; `origin` names it in error messages.
  // `built_in`: agentlog's own rules, whose patterns a unit test compiles; they are compiled
  // when first used instead of at load.
  Status add_yaml(std::string_view yaml_text, const std::string& origin, bool built_in = false);
  // Adds the rules and allowlists of one gitleaks TOML config (gitleaks_rules.cc).
  Status add_gitleaks_toml(std::string_view toml_text, const std::string& origin);
  // Builds the Hyperscan database; `max_mem` is each rule's RE2 memory budget.
  Status compile(int64_t max_mem);

  // Could any rule match somewhere in `text`? Hyperscan's answer (no RE2): false only when
  // no rule can match; true may still find nothing.
  bool may_match(std::string_view text) const;
  // may[i]: could a rule match in texts[i]? As may_match, for many texts at once (a superset
  // of may_match's answers: false only when no rule can match there). The keyword automaton
  // and the run gate clear most texts; one Hyperscan scan looks at the rest, except a text
  // where at most a few keyed rules may fire, which find() gives to RE2 directly.
  void may_match_each(const std::string_view* texts, size_t count, std::vector<uint8_t>& may) const;
  // Every secret in `text`, sorted and without overlaps.
  void find(std::string_view text, std::vector<Finding>& out) const;
  // Every secret in `text`, overlaps kept, unsorted (redact-test shows them all).
  void find_all(std::string_view text, std::vector<Finding>& out) const;

  const std::vector<SecretRule>& rules() const { return rules_; }
  // How many keyed rules RE2 runs on a text directly, without a Hyperscan scan (0: never).
  // A Hyperscan call over the whole rule set costs more than a few RE2 searches of a short
  // text. The findings are the same either way (tests compare them).
  void set_direct_limit(size_t rules) { direct_limit_ = rules; }
  // Rules Hyperscan takes exactly, as a prefilter, or not at all (RE2 runs on every text).
  size_t exact_rules() const;
  size_t prefilter_rules() const;
  size_t unfiltered_rules() const;

  // Each rule's RE2 memory budget; the loaders compile rules with it (set it first), so
  // compile() need not compile them again.
  void set_regex_memory(int64_t max_mem) { regex_memory_ = max_mem; }
  int64_t regex_memory() const { return regex_memory_; }
  // For the loaders: adds one rule, checking its id is new among the rules from index `from`
  // on (a gitleaks config's ids are unique within it; it may reuse a built-in rule's id).
  Status add_rule(SecretRule rule, const std::string& where, const std::string& path, size_t from = 0);
  std::vector<Allowlist>& global_allowlists() { return global_allowlists_; }
  // The rule with this id, or removes those with it, among the rules from index `from` on.
  SecretRule* rule_by_id(std::string_view id, size_t from = 0);
  void remove_rule(std::string_view id, size_t from = 0);

 private:
  // Runs rule idx's RE2 on `text`: only inside Hyperscan's match intervals [runs, runs_end)
  // when it has them (exact pattern; sorted here), else from first_end less the width.
  void run_rule(size_t idx, std::string_view text, bool ascii, uint32_t first_end, HsDatabase::Run* runs,
                HsDatabase::Run* runs_end, std::vector<Finding>& out) const;
  // One RE2 match at [mb, me) with its groups: applies secretGroup, entropy and allowlists.
  // Returns where the next search may start.
  size_t take_match(size_t idx, std::string_view text, const re2::StringPiece* groups, int ngroups,
                    std::vector<Finding>& out) const;
  // Could a rule without keywords fire in `text`? Its length, then the run gate; true
  // means "ask Hyperscan".
  bool unkeyed_may_fire(std::string_view text) const;
  // Are the rules that may fire in `text` so few (and all keyed) that RE2 runs them without
  // a Hyperscan scan? Then `cands` holds them.
  bool direct_candidates(std::string_view text, std::vector<size_t>& cands) const;
  // may_match_each's full scan over the texts it picked.
  void scan_each(const std::string_view* texts, size_t count, std::vector<uint8_t>& may) const;
  bool allowed(const SecretRule& r, std::string_view text, size_t mb, size_t me, size_t sb, size_t se) const;

  std::vector<SecretRule> rules_;
  std::vector<Allowlist> global_allowlists_;
  std::unique_ptr<HsDatabase> db_;
  KeywordMatcher keywords_;
  bool keyword_gate_ = false;       // keywords_ built (it has a state limit)
  bool any_unkeyed_ = false;        // some rule has no keywords
  size_t unkeyed_min_length_ = 0;   // the shortest text such a rule can match
  size_t direct_limit_ = 4;
  int64_t regex_memory_ = RE2::Options().max_mem();
  uint64_t serial_ = 0;             // this compilation's number, unique in the process
  bool run_gate_ = false;           // every such rule's match is a run of known bytes:
  RunGate runs_;                    // ... these
  std::vector<size_t> unfiltered_;  // rules Hyperscan cannot take: RE2 runs on every text
  std::vector<size_t> sensitive_;   // width-sensitive rules: RE2 runs on every non-ASCII text
};

// ASCII lower case (keywords and stopwords are matched case-insensitively), for the loaders.
inline std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace agentlog::redact

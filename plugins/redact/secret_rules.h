// Secret-detection rules (RE2) loaded from YAML rule files, matched together through one
// RE2::Set so the cost of a scan does not grow with the number of rules.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>
#include <re2/set.h>

#include "core/status.h"

namespace agentlog::redact {

struct SecretRule {
  std::string id;
  std::string description;
  std::string pattern;
  std::unique_ptr<RE2> re;
  int group = 0;                      // capture group holding the secret (0 = whole match)
  std::vector<std::string> keywords;  // lowercase; the rule runs only if one occurs
  double min_entropy = 0;             // bits per byte of the secret
  size_t min_length = 0;              // shortest text the regex can match; shorter texts are skipped
};

// Shannon entropy of the bytes of `s`, in bits per byte.
double shannon_entropy(std::string_view s);

// A found secret: bytes [begin, end) of the scanned text, and the rule that found it.
struct Finding {
  size_t begin = 0, end = 0;
  size_t rule = 0;
};

// Finds which rules' keywords occur in a text, in one pass (Aho-Corasick over lowercase
// bytes). The cost is per byte scanned, whatever the number of keywords.
class KeywordMatcher {
 public:
  // Fails when the keywords need more than 32767 automaton states.
  Status build(const std::vector<std::pair<std::string, size_t>>& keyword_rule);  // lowercase keyword, rule
  // ORs the rules whose keywords occur into `rules` (a bitset, one bit per rule).
  bool scan(std::string_view text, std::vector<uint64_t>& rules) const;
  // Does any keyword occur in any of the texts? Two texts are scanned side by side: each
  // byte's step waits on the previous one's table load, so two independent walks run in
  // the time of one.
  bool any(const std::string_view* texts, size_t n) const;
  size_t words() const { return words_; }

 private:
  std::array<uint8_t, 256> cls_{};       // byte -> symbol class (0: no keyword has it)
  size_t classes_ = 1;
  std::vector<int32_t> next_;            // state row + class -> next state's row (negated: has output)
  // The same table in 16 bits when it fits (it does for the built-in rules: 35 KB instead
  // of 70, so it stays in the L1 cache); empty otherwise.
  std::vector<int16_t> next16_;
  std::vector<int32_t> out_;             // state -> index into outputs_, or -1
  std::vector<std::vector<uint64_t>> outputs_;
  size_t words_ = 0, rule_words_ = 0;
};

class RuleSet {
 public:
  // Adds the rules of one YAML rule file; `origin` names it in error messages.
  Status add_yaml(std::string_view yaml_text, const std::string& origin);
  // Builds the RE2::Set; `max_mem` is RE2's memory budget for it.
  Status compile(int64_t max_mem);

  // Cheap test: could any rule match somewhere in `text`? (May say yes falsely, never no.)
  bool may_match(std::string_view text) const;
  // Cheaper still, for many texts at once: false only when no rule can match any of them
  // (no keyword occurs, and none is long enough for a rule without keywords).
  bool may_match_any(const std::string_view* texts, size_t n) const;
  // Every secret in `text`, sorted and without overlaps.
  void find(std::string_view text, std::vector<Finding>& out) const;

  const std::vector<SecretRule>& rules() const { return rules_; }

 private:
  // Rules run only where a keyword of theirs occurs; rules without keywords are matched
  // together through one RE2::Set. Either way the cost does not grow with the rule count.
  void candidates(std::string_view text, std::vector<size_t>& out) const;

  std::vector<SecretRule> rules_;
  KeywordMatcher keywords_;
  std::unique_ptr<RE2::Set> unkeyed_set_;
  std::vector<size_t> unkeyed_;  // set index -> rule
  size_t unkeyed_min_length_ = 0;
};

}  // namespace agentlog::redact

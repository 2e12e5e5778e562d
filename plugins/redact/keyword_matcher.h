// Which rules' keywords occur in a text, in one pass (Aho-Corasick over lowercase bytes): the
// gate in front of the Hyperscan scan, since most texts hold no keyword at all and a table
// walk that stays in the L1 cache beats a Hyperscan call on short strings.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace agentlog::redact {

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

}  // namespace agentlog::redact

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
  // Fails when the keywords need too many automaton states.
  Status build(const std::vector<std::pair<std::string, size_t>>& keyword_rule);  // lowercase keyword, rule
  // ORs the rules whose keywords occur into `rules` (a bitset, one bit per rule).
  bool scan(std::string_view text, std::vector<uint64_t>& rules) const;
  // hit[i]: does a keyword occur in texts[i]? Returns whether one occurs in any. Two texts
  // are scanned side by side: each byte's step waits on the previous one's table load, so
  // two independent walks run in the time of one.
  bool each(const std::string_view* texts, size_t n, std::vector<uint8_t>& hit) const;
  size_t words() const { return words_; }
  // Does a keyword occur in a or b (b may be empty)?
  bool pair(std::string_view a, std::string_view b) const;

 private:
  std::array<uint8_t, 256> cls_{};       // byte -> symbol class (0: no keyword has it)
  size_t classes_ = 1;
  std::vector<uint32_t> next_;           // state row + class -> next state's row
  // The same table in 16 bits when it fits (it does for the built-in rules: 118 KB instead of
  // 236, and the rows a text visits stay in the L1 cache); empty otherwise.
  std::vector<uint16_t> next16_;
  uint32_t hit_from_ = 0;                // rows from here on are states where a keyword ends
  std::vector<std::vector<uint64_t>> outputs_;  // per such state, in row order: its rules
  size_t words_ = 0, rule_words_ = 0;
};

}  // namespace agentlog::redact

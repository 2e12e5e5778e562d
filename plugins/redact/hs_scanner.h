// One Hyperscan database over every rule's pattern (and every rule's keywords), so each text
// is scanned once whatever the number of rules. Hyperscan only narrows: it says which rules
// may match and where the first match ends; RE2 decides.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace agentlog::redact {

class HsDatabase {
 public:
  enum class Mode : uint8_t {
    Exact,       // Hyperscan matches what RE2 matches (a superset at most)
    Prefilter,   // HS_FLAG_PREFILTER: a looser pattern Hyperscan can take
    Unfiltered,  // Hyperscan cannot take it at all: RE2 runs on every text
  };
  static constexpr uint32_t kUnbounded = UINT32_MAX;

  // patterns[i] is rule i's RE2 pattern; keywords are (lowercase literal, rule).
  // byte_rules[i] (may be empty): rule i's RE2 runs over bytes on every text, as Hyperscan
  // does, so it is never width-sensitive.
  Status build(const std::vector<std::string>& patterns, const std::vector<std::pair<std::string, size_t>>& keywords,
               const std::vector<uint8_t>& byte_rules = {});
  // The key a rule set's compiled databases are cached under (in memory and on disk).
  static std::string cache_key(const std::vector<std::string>& patterns,
                               const std::vector<std::pair<std::string, size_t>>& keywords,
                               const std::vector<uint8_t>& byte_rules = {});

  // Where an exactly compiled rule matched: match ends in [end_lo, end_hi], every such match
  // starting at `start` or later (the end less the rule's width; 0 when unbounded).
  // Overlapping intervals of a rule are merged as they are reported.
  struct Run {
    uint32_t rule, start, end_lo, end_hi;
  };
  // Per scanned text: which rules hit (first match end), which rules' keywords occur.
  struct Hits {
    std::vector<uint32_t> first_end;   // per rule; UINT32_MAX: no hit
    std::vector<uint8_t> keyword;      // per rule; 1: a keyword of the rule occurs
    std::vector<uint32_t> hit_rules;   // rules with a pattern hit, in report order
    // The exactly compiled rules' match intervals; RE2 runs only inside them. Capped: past
    // kMaxRuns `overflow` is set and RE2 scans whole texts.
    std::vector<Run> runs;
    std::vector<uint32_t> last_run;    // per rule: 1 + its latest run's index, 0: none
    bool overflow = false;
  };
  static constexpr size_t kMaxRuns = 1 << 16;
  void scan(std::string_view text, Hits& hits) const;
  // Could a rule without keywords fire in `text`? Scans the gate: the patterns of those rules.
  bool any(std::string_view text) const;

  Mode mode(size_t rule) const { return modes_[rule]; }
  // Hyperscan scans bytes, RE2 UTF-8 characters: a pattern with `.`, a negated class, \W,
  // \S, \D, \pX or a non-ASCII byte can match more in RE2 when the text is not ASCII, so
  // such a rule runs on every non-ASCII text.
  bool width_sensitive(size_t rule) const { return sensitive_[rule] != 0; }
  uint32_t max_width(size_t rule) const { return max_width_[rule]; }
  uint32_t min_width(size_t rule) const { return min_width_[rule]; }
  size_t rules() const { return modes_.size(); }

  HsDatabase();
  ~HsDatabase();

 private:
  struct Compiled;
  std::shared_ptr<Compiled> db_;
  std::vector<Mode> modes_;
  std::vector<uint32_t> max_width_, min_width_;
  std::vector<uint8_t> sensitive_;
  std::vector<uint32_t> keyword_rule_;  // keyword pattern id - rules -> rule
};

// The pattern Hyperscan compiles for an RE2 pattern: \A, \z become ^, $ (with
// HS_FLAG_MULTILINE a superset), so texts joined by newlines can be scanned at once.
std::string hs_pattern_of(std::string_view re2_pattern);
bool is_width_sensitive(std::string_view re2_pattern);
// `pattern` without a leading boundary guard `(?:^|[^...])` and a trailing one `(?:[^...]|$)`
// (a leading `(?i)` is kept): one character before and after the token.
std::string without_boundary_guards(std::string_view pattern);
// Does `text` hold a byte outside ASCII?
bool has_non_ascii(std::string_view text);

}  // namespace agentlog::redact

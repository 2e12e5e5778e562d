// What a rule's match is made of, read from its pattern: a run of bytes from one set, at
// least so long. A text with no such run cannot hold a match, which is far cheaper to check
// than a Hyperscan call for the rules without keywords (their patterns have no literal).
#pragma once
#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace agentlog::redact {

struct ByteRun {
  std::bitset<256> bytes;  // every byte a match can hold
  size_t min_length = 0;   // no match is shorter
};

// Reads `pattern` (RE2 syntax, boundary guards already stripped). False when the pattern uses
// anything whose bytes are not a small known set (`.`, negated classes, \S, \pL, non-ASCII,
// back-references, an unparsed construct): then nothing may be concluded from it. The
// bytes are for ASCII texts only ((?i) in RE2 also folds k and s to non-ASCII characters).
bool byte_run_of(std::string_view pattern, ByteRun& out);

// Several rules' runs at once: could any of them match in a text? False only when no text
// run is long enough for a rule whose bytes it is made of.
class RunGate {
 public:
  Status build(const std::vector<ByteRun>& runs);  // up to 64 rules
  bool may_match(std::string_view text) const;

 private:
  std::array<uint64_t, 256> table_{};  // byte -> the rules whose matches may hold it
  std::vector<size_t> mins_;           // per rule: the shortest match
  size_t min_ = 0;                     // the shortest of them
};

}  // namespace agentlog::redact

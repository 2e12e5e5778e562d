// The pieces a secret rule's decision is made of, apart from the rule set itself
// (secret_rules.cc): Shannon entropy, regexes compiled when first used, allowlists, and
// whether a pattern reads bytes (not Unicode).
#include <cmath>
#include <mutex>

#include "plugins/redact/secret_rules.h"

namespace agentlog::redact {

double shannon_entropy(std::string_view s) {
  if (s.empty()) return 0;
  // Only the bytes that occur, in byte order as a loop over all 256 counts would take them
  // (the same sum to the last bit): a secret holds a few dozen distinct bytes.
  uint32_t counts[256];
  uint64_t seen[4] = {};
  for (unsigned char c : s) {
    const uint64_t bit = uint64_t{1} << (c & 63);
    if (!(seen[c >> 6] & bit)) {
      seen[c >> 6] |= bit;
      counts[c] = 0;
    }
    ++counts[c];
  }
  double h = 0, n = static_cast<double>(s.size());
  for (size_t w = 0; w < 4; ++w)
    for (uint64_t b = seen[w]; b != 0; b &= b - 1) {
      double p = counts[w * 64 + static_cast<size_t>(__builtin_ctzll(b))] / n;
      h -= p * std::log2(p);
    }
  return h;
}

void LazyRegex::set(const std::string& pattern, const RE2::Options& options) {
  state_ = std::make_unique<State>();
  state_->pattern = pattern;
  state_->options = options;
}

void LazyRegex::adopt(std::unique_ptr<RE2> compiled) {
  state_ = std::make_unique<State>();
  state_->pattern = compiled->pattern();
  state_->options = compiled->options();
  state_->regex = std::move(compiled);
}

const RE2* LazyRegex::get() const {
  if (state_ == nullptr) return nullptr;
  std::call_once(state_->once, [s = state_.get()] {
    if (s->regex) return;  // adopted
    auto regex = std::make_unique<RE2>(s->pattern, s->options);
    if (regex->ok()) s->regex = std::move(regex);
  });
  return state_->regex.get();
}

bool Allowlist::matches(std::string_view secret, std::string_view match, std::string_view line) const {
  std::string_view target = this->target == AllowTarget::Secret ? secret : this->target == AllowTarget::Match ? match : line;
  re2::StringPiece t(target.data(), target.size());
  auto regex_hit = [&] {
    if (const RE2* one = any.empty() ? nullptr : any.get()) return RE2::PartialMatch(t, *one);
    for (const auto& re : regexes)
      if (RE2::PartialMatch(t, *re)) return true;
    return false;
  };
  auto stopword_hit = [&] {
    if (stopwords.empty()) return false;
    thread_local std::string low;
    low.assign(secret);
    for (char& c : low) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    for (const auto& w : stopwords)
      if (low.find(w) != std::string::npos) return true;
    return false;
  };
  if (all) {
    if (needs_path_or_commit) return false;
    if (regexes.empty() && stopwords.empty()) return false;
    return (regexes.empty() || regex_hit()) && (stopwords.empty() || stopword_hit());
  }
  return regex_hit() || stopword_hit();
}

bool byte_pattern(std::string_view pattern) {
  for (size_t i = 0; i < pattern.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(pattern[i]);
    if (c >= 0x80) return false;
    if (c == '\\' && i + 1 < pattern.size()) {
      char n = pattern[++i];
      // Unicode classes, any byte, and \x{...} (may be above 0xff).
      if (n == 'p' || n == 'P' || n == 'X' || n == 'C' || (n == 'x' && i + 1 < pattern.size() && pattern[i + 1] == '{'))
        return false;
    }
  }
  return true;
}

}  // namespace agentlog::redact

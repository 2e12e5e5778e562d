#include "plugins/redact/keyword_matcher.h"

#include <algorithm>

namespace agentlog::redact {

Status KeywordMatcher::build(const std::vector<std::pair<std::string, size_t>>& keyword_rule) {
  size_t rules = 0;
  for (const auto& [kw, r] : keyword_rule) rules = std::max(rules, r + 1);
  rule_words_ = (rules + 63) / 64;
  words_ = keyword_rule.size();
  // Symbol classes: one per distinct byte in the keywords (upper case folds to lower).
  cls_.fill(0);
  classes_ = 1;
  for (const auto& [kw, r] : keyword_rule)
    for (unsigned char c : kw)
      if (cls_[c] == 0) cls_[c] = static_cast<uint8_t>(classes_++);
  for (int c = 'A'; c <= 'Z'; ++c) cls_[c] = cls_[c - 'A' + 'a'];
  // The trie, then failure links breadth-first, folded into a full transition table.
  std::vector<std::vector<int32_t>> go(1, std::vector<int32_t>(classes_, -1));
  std::vector<std::vector<uint64_t>> out(1, std::vector<uint64_t>(rule_words_, 0));
  for (const auto& [kw, r] : keyword_rule) {
    int32_t s = 0;
    for (unsigned char c : kw) {
      int32_t& t = go[s][cls_[c]];
      if (t < 0) {
        t = static_cast<int32_t>(go.size());
        go.emplace_back(classes_, -1);
        out.emplace_back(rule_words_, 0);
      }
      s = go[s][cls_[c]];
    }
    out[s][r / 64] |= uint64_t{1} << (r % 64);
  }
  std::vector<int32_t> fail(go.size(), 0), queue;
  for (size_t c = 0; c < classes_; ++c) {
    if (go[0][c] < 0) go[0][c] = 0;
    else if (c != 0) queue.push_back(go[0][c]);
  }
  go[0][0] = 0;  // bytes outside every keyword restart the match
  for (size_t qi = 0; qi < queue.size(); ++qi) {
    int32_t s = queue[qi];
    for (size_t w = 0; w < rule_words_; ++w) out[s][w] |= out[fail[s]][w];
    for (size_t c = 0; c < classes_; ++c) {
      int32_t t = go[s][c];
      if (c == 0) {
        go[s][c] = 0;
      } else if (t < 0) {
        go[s][c] = go[fail[s]][c];
      } else {
        fail[t] = go[fail[s]][c];
        queue.push_back(t);
      }
    }
  }
  if (go.size() > 32767) return Status::error("the rule keywords are too many for the keyword matcher");
  next_.assign(go.size() * classes_, 0);
  out_.assign(go.size(), -1);
  outputs_.clear();
  for (size_t s = 0; s < go.size(); ++s) {
    bool any = false;
    for (uint64_t w : out[s]) any = any || w != 0;
    if (any) {
      out_[s] = static_cast<int32_t>(outputs_.size());
      outputs_.push_back(out[s]);
    }
  }
  for (size_t s = 0; s < go.size(); ++s)
    for (size_t c = 0; c < classes_; ++c) {
      int32_t t = go[s][c];
      // Premultiplied: the next row's offset, so the per-byte step is an add and a load.
      int32_t row = t * static_cast<int32_t>(classes_);
      next_[s * classes_ + c] = out_[t] >= 0 ? -row : row;  // the root (0) never has an output
    }
  next16_.clear();
  if (next_.size() <= 32767) next16_.assign(next_.begin(), next_.end());
  return {};
}

namespace {
// True when a keyword ends somewhere in a or b (see KeywordMatcher::any).
template <class T>
bool any_pair(const T* next, const uint8_t* cls, std::string_view a, std::string_view b) {
  if (a.size() < b.size()) std::swap(a, b);
  const auto* pa = reinterpret_cast<const unsigned char*>(a.data());
  const auto* pb = reinterpret_cast<const unsigned char*>(b.data());
  int64_t sa = 0, sb = 0;
  size_t i = 0;
  for (; i < b.size(); ++i) {
    int64_t ta = next[sa + cls[pa[i]]], tb = next[sb + cls[pb[i]]];
    if ((ta | tb) < 0) return true;
    sa = ta;
    sb = tb;
  }
  for (; i < a.size(); ++i) {
    int64_t ta = next[sa + cls[pa[i]]];
    if (ta < 0) return true;
    sa = ta;
  }
  return false;
}

template <class T>
bool any_of_texts(const T* next, const uint8_t* cls, const std::string_view* texts, size_t n) {
  size_t i = 0;
  for (; i + 1 < n; i += 2)
    if (any_pair(next, cls, texts[i], texts[i + 1])) return true;
  return i < n && any_pair(next, cls, texts[i], std::string_view());
}
}  // namespace

bool KeywordMatcher::any(const std::string_view* texts, size_t n) const {
  if (words_ == 0) return false;
  if (!next16_.empty()) return any_of_texts(next16_.data(), cls_.data(), texts, n);
  return any_of_texts(next_.data(), cls_.data(), texts, n);
}

bool KeywordMatcher::scan(std::string_view text, std::vector<uint64_t>& rules) const {
  if (words_ == 0) return false;
  bool hit = false;
  int32_t s = 0;
  const int32_t* next = next_.data();
  const size_t classes = classes_;
  // States with an output are stored negated in the table, so the hot loop reads one array.
  for (unsigned char c : text) {
    int32_t t = next[s + cls_[c]];
    if (t < 0) {
      t = -t;
      if (!hit) rules.assign(rule_words_, 0);
      const auto& o = outputs_[out_[t / classes]];
      for (size_t w = 0; w < rule_words_; ++w) rules[w] |= o[w];
      hit = true;
    }
    s = t;
  }
  return hit;
}

}  // namespace agentlog::redact

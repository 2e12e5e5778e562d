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
  // Past these the tables take tens of MB (or a class number would not fit its byte): the
  // caller then does without the keyword gate.
  size_t keyword_bytes = 0;
  for (const auto& [kw, r] : keyword_rule) keyword_bytes += kw.size();
  if (keyword_bytes > (size_t{1} << 18) || classes_ > 255)
    return Status::error("the rule keywords are too many for the keyword matcher");
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
  // Renumbered so that the states where a keyword ends come last: "a keyword ended" is then
  // "the next row's offset >= hit_from_", with no flag bit, and the offsets fit 16 bits for
  // more keywords.
  std::vector<uint32_t> order, id(go.size());
  for (int pass = 0; pass < 2; ++pass)
    for (size_t s = 0; s < go.size(); ++s) {
      bool any = false;
      for (uint64_t w : out[s]) any = any || w != 0;
      if (any == (pass == 1)) {
        id[s] = static_cast<uint32_t>(order.size());
        order.push_back(static_cast<uint32_t>(s));
      }
    }
  outputs_.clear();
  hit_from_ = 0;
  for (uint32_t s : order) {
    bool any = false;
    for (uint64_t w : out[s]) any = any || w != 0;
    if (any) outputs_.push_back(out[s]);
    else hit_from_ = (id[s] + 1) * classes_;
  }
  // Premultiplied: each entry is the next row's offset, so the per-byte step is an add and a
  // load. The root (0) never has an output, so it stays row 0.
  next_.assign(go.size() * classes_, 0);
  for (size_t s = 0; s < go.size(); ++s)
    for (size_t c = 0; c < classes_; ++c) next_[id[s] * classes_ + c] = id[go[s][c]] * static_cast<uint32_t>(classes_);
  next16_.clear();
  if (next_.size() <= 65536) next16_.assign(next_.begin(), next_.end());
  return {};
}

namespace {
// Does a keyword end somewhere in a or b? (Row offsets from `hit` on are states where one
// ends.) Two walks side by side: each byte's step waits on the previous one's table load,
// so two independent walks run in the time of one.
template <class T>
bool any_pair(const T* next, uint32_t hit, const uint8_t* cls, std::string_view a, std::string_view b) {
  if (a.size() < b.size()) std::swap(a, b);
  const auto* pa = reinterpret_cast<const unsigned char*>(a.data());
  const auto* pb = reinterpret_cast<const unsigned char*>(b.data());
  size_t sa = 0, sb = 0;
  size_t i = 0;
  for (; i < b.size(); ++i) {
    size_t ta = next[sa + cls[pa[i]]], tb = next[sb + cls[pb[i]]];
    if ((ta >= hit) | (tb >= hit)) return true;
    sa = ta;
    sb = tb;
  }
  for (; i < a.size(); ++i) {
    size_t ta = next[sa + cls[pa[i]]];
    if (ta >= hit) return true;
    sa = ta;
  }
  return false;
}
}  // namespace

bool KeywordMatcher::pair(std::string_view a, std::string_view b) const {
  return !next16_.empty() ? any_pair(next16_.data(), hit_from_, cls_.data(), a, b)
                          : any_pair(next_.data(), hit_from_, cls_.data(), a, b);
}

bool KeywordMatcher::each(const std::string_view* texts, size_t n, std::vector<uint8_t>& hit) const {
  hit.assign(n, 0);
  if (words_ == 0) return false;
  bool any_hit = false;
  // Two texts side by side (as any() does); only a pair with a hit is looked at one by one.
  size_t i = 0;
  for (; i + 1 < n; i += 2) {
    if (!pair(texts[i], texts[i + 1])) continue;
    any_hit = true;
    hit[i] = pair(texts[i], {});
    hit[i + 1] = pair(texts[i + 1], {});
  }
  if (i < n && pair(texts[i], {})) {
    hit[i] = 1;
    any_hit = true;
  }
  return any_hit;
}


bool KeywordMatcher::scan(std::string_view text, std::vector<uint64_t>& rules) const {
  if (words_ == 0) return false;
  bool hit = false;
  uint32_t s = 0;
  const uint32_t* next = next_.data();
  const size_t classes = classes_;
  for (unsigned char c : text) {
    uint32_t t = next[s + cls_[c]];
    if (t >= hit_from_) {
      if (!hit) rules.assign(rule_words_, 0);
      const auto& o = outputs_[(t - hit_from_) / classes];
      for (size_t w = 0; w < rule_words_; ++w) rules[w] |= o[w];
      hit = true;
    }
    s = t;
  }
  return hit;
}

}  // namespace agentlog::redact

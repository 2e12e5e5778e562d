#include "plugins/redact/secret_rules.h"

#include <algorithm>
#include <cmath>

#include <yaml-cpp/yaml.h>

namespace agentlog::redact {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string where(const std::string& origin, const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  if (m.line < 0) return origin;
  return origin + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

}  // namespace

double shannon_entropy(std::string_view s) {
  if (s.empty()) return 0;
  size_t counts[256] = {};
  for (unsigned char c : s) ++counts[c];
  double h = 0, n = static_cast<double>(s.size());
  for (size_t c : counts)
    if (c) {
      double p = c / n;
      h -= p * std::log2(p);
    }
  return h;
}

Status RuleSet::add_yaml(std::string_view yaml_text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return Status::error(origin + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                         ": invalid YAML: " + e.msg);
  }
  YAML::Node list = root.IsMap() ? root["rules"] : YAML::Node();
  if (!list || !list.IsSequence())
    return Status::error(where(origin, root) + ": a rule file needs a \"rules\" list");
  static const char* kKeys[] = {"id", "description", "regex", "secret_group", "keywords", "min_entropy", "min_length"};
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node r = list[i];
    std::string path = "rules[" + std::to_string(i) + "]";
    if (!r.IsMap()) return Status::error(where(origin, r) + ": " + path + ": expected a mapping");
    for (auto it = r.begin(); it != r.end(); ++it) {
      std::string k = it->first.Scalar();
      if (std::find_if(std::begin(kKeys), std::end(kKeys), [&](const char* x) { return k == x; }) == std::end(kKeys))
        return Status::error(where(origin, it->first) + ": " + path + "." + k +
                             ": unknown key. Allowed: id, description, regex, secret_group, keywords, min_entropy, min_length");
    }
    SecretRule rule;
    try {
      if (!r["id"] || !r["regex"])
        return Status::error(where(origin, r) + ": " + path + ": id and regex are required");
      rule.id = r["id"].as<std::string>();
      rule.description = r["description"] ? r["description"].as<std::string>() : "";
      rule.pattern = r["regex"].as<std::string>();
      rule.group = r["secret_group"] ? r["secret_group"].as<int>() : 0;
      rule.min_entropy = r["min_entropy"] ? r["min_entropy"].as<double>() : 0;
      rule.min_length = r["min_length"] ? r["min_length"].as<size_t>() : 0;
      if (r["keywords"])
        for (const auto& k : r["keywords"]) rule.keywords.push_back(lower(k.as<std::string>()));
    } catch (const YAML::Exception& e) {
      return Status::error(where(origin, r) + ": " + path + ": " + e.msg);
    }
    for (const auto& existing : rules_)
      if (existing.id == rule.id)
        return Status::error(where(origin, r["id"]) + ": " + path + ".id: duplicate rule id \"" + rule.id + "\"");
    RE2::Options o;
    o.set_log_errors(false);
    rule.re = std::make_unique<RE2>(rule.pattern, o);
    if (!rule.re->ok())
      return Status::error(where(origin, r["regex"]) + ": " + path + ".regex: invalid RE2 pattern: " + rule.re->error());
    if (rule.group < 0 || rule.group > rule.re->NumberOfCapturingGroups())
      return Status::error(where(origin, r["secret_group"]) + ": " + path + ".secret_group: the regex has " +
                           std::to_string(rule.re->NumberOfCapturingGroups()) + " capture groups");
    rules_.push_back(std::move(rule));
  }
  return {};
}

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

Status RuleSet::compile(int64_t max_mem) {
  std::vector<std::pair<std::string, size_t>> kws;
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(max_mem);
  unkeyed_set_ = std::make_unique<RE2::Set>(o, RE2::UNANCHORED);
  unkeyed_.clear();
  unkeyed_min_length_ = SIZE_MAX;
  for (size_t i = 0; i < rules_.size(); ++i) {
    const auto& r = rules_[i];
    if (!r.keywords.empty()) {
      for (const auto& k : r.keywords)
        if (!k.empty()) kws.emplace_back(k, i);
      continue;
    }
    std::string err;
    if (unkeyed_set_->Add(r.pattern, &err) < 0) return Status::error("rule \"" + r.id + "\": " + err);
    unkeyed_.push_back(i);
    unkeyed_min_length_ = std::min(unkeyed_min_length_, r.min_length);
  }
  if (!unkeyed_.empty() && !unkeyed_set_->Compile()) return Status::error("the rules do not fit in max_regex_memory; raise it");
  return keywords_.build(kws);
}

void RuleSet::candidates(std::string_view text, std::vector<size_t>& out) const {
  out.clear();
  thread_local std::vector<uint64_t> bits;
  if (keywords_.scan(text, bits))
    for (size_t w = 0; w < bits.size(); ++w)
      for (uint64_t b = bits[w]; b; b &= b - 1) out.push_back(w * 64 + static_cast<size_t>(__builtin_ctzll(b)));
  if (unkeyed_.empty() || text.size() < unkeyed_min_length_) return;
  std::vector<int> matched;
  RE2::Set::ErrorInfo info;
  if (unkeyed_set_->Match(re2::StringPiece(text.data(), text.size()), &matched, &info)) {
    for (int m : matched) out.push_back(unkeyed_[m]);
  } else if (info.kind != RE2::Set::kNoError) {
    out.insert(out.end(), unkeyed_.begin(), unkeyed_.end());  // out of memory: try them all
  }
  std::sort(out.begin(), out.end());
}

bool RuleSet::may_match(std::string_view text) const {
  thread_local std::vector<size_t> cands;
  candidates(text, cands);
  if (cands.empty()) return false;
  // Confirm with each candidate's own pattern; keywords alone say little.
  re2::StringPiece sp(text.data(), text.size());
  for (size_t i : cands)
    if (text.size() >= rules_[i].min_length && RE2::PartialMatch(sp, *rules_[i].re)) return true;
  return false;
}

bool RuleSet::may_match_any(const std::string_view* texts, size_t n) const {
  if (!unkeyed_.empty())
    for (size_t i = 0; i < n; ++i)
      if (texts[i].size() >= unkeyed_min_length_) return true;
  return keywords_.any(texts, n);
}

void RuleSet::find(std::string_view text, std::vector<Finding>& out) const {
  out.clear();
  std::vector<size_t> matched;
  candidates(text, matched);
  if (matched.empty()) return;
  re2::StringPiece sp(text.data(), text.size());
  re2::StringPiece groups[16];
  for (size_t idx : matched) {
    const SecretRule& r = rules_[idx];
    int n = std::min(r.group + 1, 16);
    size_t pos = 0;
    while (pos <= text.size() && r.re->Match(sp, pos, text.size(), RE2::UNANCHORED, groups, n)) {
      const re2::StringPiece& g = groups[r.group];
      size_t whole_end = static_cast<size_t>(groups[0].data() - text.data()) + groups[0].size();
      if (g.data() != nullptr && !g.empty()) {
        size_t b = static_cast<size_t>(g.data() - text.data());
        std::string_view secret(g.data(), g.size());
        if (shannon_entropy(secret) >= r.min_entropy) out.push_back({b, b + g.size(), idx});
      }
      // Resume after the secret, not after the whole match: most rules end with a one-byte
      // guard, and two secrets one byte apart must both be found.
      size_t whole_begin = static_cast<size_t>(groups[0].data() - text.data());
      size_t next = g.data() != nullptr && !g.empty() ? static_cast<size_t>(g.data() - text.data()) + g.size() : whole_end;
      if (next <= whole_begin) next = whole_begin + 1;
      pos = next > pos ? next : pos + 1;
    }
  }
  std::sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  // Merge overlaps: the earlier (or longer) finding absorbs the other.
  std::vector<Finding> merged;
  for (const auto& f : out) {
    if (!merged.empty() && f.begin < merged.back().end) {
      merged.back().end = std::max(merged.back().end, f.end);
      continue;
    }
    merged.push_back(f);
  }
  out.swap(merged);
}

}  // namespace agentlog::redact

#include "plugins/redact/secret_rules.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "plugins/redact/byte_run.h"
#include "plugins/redact/hs_scanner.h"

namespace agentlog::redact {

RuleSet::RuleSet() = default;
RuleSet::~RuleSet() = default;
RuleSet::RuleSet(RuleSet&&) noexcept = default;
RuleSet& RuleSet::operator=(RuleSet&&) noexcept = default;

SecretRule* RuleSet::rule_by_id(std::string_view id, size_t from) {
  for (size_t i = from; i < rules_.size(); ++i)
    if (rules_[i].id == id) return &rules_[i];
  return nullptr;
}

void RuleSet::remove_rule(std::string_view id, size_t from) {
  if (from >= rules_.size()) return;
  rules_.erase(std::remove_if(rules_.begin() + static_cast<std::ptrdiff_t>(from), rules_.end(),
                              [&](const SecretRule& r) { return r.id == id; }),
               rules_.end());
}

Status RuleSet::add_rule(SecretRule rule, const std::string& where, const std::string& path, size_t from) {
  if (rule_by_id(rule.id, from) != nullptr)
    return Status::error(where + ": " + path + ".id: duplicate rule id \"" + rule.id + "\"");
  rules_.push_back(std::move(rule));
  return {};
}

Status RuleSet::compile(int64_t max_mem) {
  static std::atomic<uint64_t> next_serial{1};
  serial_ = next_serial++;
  std::vector<std::string> patterns;
  std::vector<std::pair<std::string, size_t>> keywords;
  for (size_t i = 0; i < rules_.size(); ++i) {
    auto& rule = rules_[i];
    RE2::Options re_options;
    re_options.set_log_errors(false);
    re_options.set_max_mem(max_mem);
    // A loader compiled it already (or will when first used), with this budget when it was
    // set first; with another budget it is compiled again here, where a failure is an error.
    if (rule.re.empty() || rule.re.options().max_mem() != max_mem) {
      auto regex = std::make_unique<RE2>(rule.pattern, re_options);
      if (!regex->ok()) return Status::error("rule \"" + rule.id + "\": invalid RE2 pattern: " + regex->error());
      rule.re.adopt(std::move(regex));
    }
    // The built-in rules are left to compile when first used only with the budget a unit test
    // compiles them with; under any other a rule that does not fit would find nothing, so
    // they compile here, where that is an error.
    const bool eager = max_mem != kTestedRegexMemory;
    if (eager && rule.re.get() == nullptr)
      return Status::error("rule \"" + rule.id + "\": does not compile within max_regex_memory (" +
                           std::to_string(max_mem) + " bytes per rule)");
    // On an ASCII text an ASCII pattern means the same over bytes as over UTF-8, and over
    // bytes RE2's programs are far smaller: such texts use re_bytes (compiled when first
    // used; a Latin-1 program is never larger than the UTF-8 one that compiled).
    rule.re_bytes.clear();
    rule.bytes_always = false;
    if (byte_pattern(rule.pattern)) {
      re_options.set_encoding(RE2::Options::EncodingLatin1);
      rule.re_bytes.set(rule.pattern, re_options);
      if (eager && rule.re_bytes.get() == nullptr) rule.re_bytes.clear();
      // Width-sensitive only through its boundary guards (one character before and after a
      // token), a rule finds the same secret over bytes on any text: the guard then matches
      // one byte of a multi-byte character, which lies outside the secret's group.
      rule.bytes_always = !rule.re_bytes.empty() && rule.group > 0 && is_width_sensitive(rule.pattern) &&
                          !is_width_sensitive(without_boundary_guards(rule.pattern));
    }
    patterns.push_back(rule.pattern);
    for (const auto& keyword : rule.keywords)
      if (!keyword.empty()) keywords.emplace_back(keyword, i);
  }
  auto join_allowlist = [](Allowlist& a) {
    a.any.clear();
    if (a.regexes.size() < 2) return;
    // Each pattern in its own group, so its flags ((?i)) and anchors stay its own.
    // Only patterns read alike: the same options, none literal (a pattern that does not parse
    // inside the group, such as an unterminated \Q, fails to compile and the list is used).
    const RE2::Options& o = a.regexes[0]->options();
    std::string joined;
    for (const auto& re : a.regexes) {
      const RE2::Options& p = re->options();
      if (p.literal() || p.encoding() != o.encoding() || p.posix_syntax() != o.posix_syntax() ||
          p.longest_match() != o.longest_match() || p.never_nl() != o.never_nl() || p.dot_nl() != o.dot_nl() ||
          p.case_sensitive() != o.case_sensitive() || p.perl_classes() != o.perl_classes() ||
          p.word_boundary() != o.word_boundary() || p.one_line() != o.one_line())
        return;
      joined += (joined.empty() ? "(?:" : "|(?:") + re->pattern() + ")";
    }
    a.any.set(joined, a.regexes[0]->options());
  };
  for (auto& rule : rules_)
    for (auto& a : rule.allowlists) join_allowlist(a);
  for (auto& a : global_allowlists_) join_allowlist(a);
  db_ = std::make_unique<HsDatabase>();
  std::vector<uint8_t> byte_rules;
  for (const auto& rule : rules_) byte_rules.push_back(rule.bytes_always);
  Status status = db_->build(patterns, keywords, byte_rules);
  unfiltered_.clear();
  sensitive_.clear();
  for (size_t i = 0; status.ok() && i < rules_.size(); ++i) {
    if (db_->mode(i) == HsDatabase::Mode::Unfiltered) unfiltered_.push_back(i);
    else if (db_->width_sensitive(i)) sensitive_.push_back(i);
  }
  keyword_gate_ = keywords_.build(keywords).ok();
  any_unkeyed_ = false;
  unkeyed_min_length_ = SIZE_MAX;
  for (size_t i = 0; status.ok() && i < rules_.size(); ++i)
    if (rules_[i].keywords.empty()) {
      any_unkeyed_ = true;
      unkeyed_min_length_ = std::min<size_t>(unkeyed_min_length_, std::max<size_t>(rules_[i].min_length, db_->min_width(i)));
    }
  // The run gate: when every rule without keywords is a run of known bytes, a text without
  // such a run is cleared without the Hyperscan gate.
  std::vector<ByteRun> runs;
  run_gate_ = any_unkeyed_;
  for (size_t i = 0; run_gate_ && i < rules_.size(); ++i) {
    if (!rules_[i].keywords.empty()) continue;
    ByteRun run;
    run_gate_ = byte_run_of(without_boundary_guards(rules_[i].pattern), run) && run.min_length > 0;
    runs.push_back(run);
  }
  run_gate_ = run_gate_ && runs_.build(runs).ok();
  return status;
}

size_t RuleSet::exact_rules() const {
  size_t n = 0;
  for (size_t i = 0; db_ && i < db_->rules(); ++i) n += db_->mode(i) == HsDatabase::Mode::Exact;
  return n;
}
size_t RuleSet::prefilter_rules() const {
  size_t n = 0;
  for (size_t i = 0; db_ && i < db_->rules(); ++i) n += db_->mode(i) == HsDatabase::Mode::Prefilter;
  return n;
}
size_t RuleSet::unfiltered_rules() const {
  size_t n = 0;
  for (size_t i = 0; db_ && i < db_->rules(); ++i) n += db_->mode(i) == HsDatabase::Mode::Unfiltered;
  return n;
}

bool RuleSet::allowed(const SecretRule& r, std::string_view text, size_t mb, size_t me, size_t sb, size_t se) const {
  if (r.allowlists.empty() && global_allowlists_.empty()) return false;
  std::string_view secret = text.substr(sb, se - sb), match = text.substr(mb, me - mb);
  // The line around the match, at most kLineContext bytes on either side: a line target on a
  // 1 MiB line with many findings must not cost a scan of the whole line per finding.
  constexpr size_t kLineContext = 1024;
  size_t lo = mb > kLineContext ? mb - kLineContext : 0, hi = std::min(text.size(), me + kLineContext);
  size_t lb = mb == 0 ? 0 : text.substr(lo, mb - lo).rfind('\n');
  lb = lb == std::string_view::npos || mb == 0 ? lo : lo + lb + 1;
  size_t le = text.substr(me, hi - me).find('\n');
  std::string_view line = text.substr(lb, (le == std::string_view::npos ? hi : me + le) - lb);
  const size_t idx = static_cast<size_t>(&r - rules_.data());
  for (const auto& a : global_allowlists_) {
    if (idx < a.scope_begin || idx >= a.scope_end) continue;  // another config's allowlist
    if (!a.target_rules.empty() && std::find(a.target_rules.begin(), a.target_rules.end(), r.id) == a.target_rules.end())
      continue;
    if (a.matches(secret, match, line)) return true;
  }
  for (const auto& a : r.allowlists)
    if (a.matches(secret, match, line)) return true;
  return false;
}

size_t RuleSet::take_match(size_t idx, std::string_view text, const re2::StringPiece* groups, int ngroups,
                          std::vector<Finding>& out) const {
  const SecretRule& r = rules_[idx];
  size_t mb = static_cast<size_t>(groups[0].data() - text.data()), me = mb + groups[0].size();
  const re2::StringPiece* g = &groups[0];
  if (r.group > 0) {
    g = &groups[r.group];
  } else if (r.group < 0) {  // gitleaks: the first non-empty capture group, else the match
    for (int k = 1; k < ngroups; ++k)
      if (groups[k].data() != nullptr && !groups[k].empty()) {
        g = &groups[k];
        break;
      }
  }
  size_t next = me;
  if (g->data() != nullptr && !g->empty()) {
    size_t sb = static_cast<size_t>(g->data() - text.data()), se = sb + g->size();
    std::string_view secret(g->data(), g->size());
    if (shannon_entropy(secret) >= r.min_entropy && !allowed(r, text, mb, me, sb, se)) out.push_back({sb, se, idx, mb, me});
    // Resume after the secret, not after the whole match: most rules end with a one-byte
    // guard, and two secrets one byte apart must both be found.
    next = se;
  }
  return next <= mb ? mb + 1 : next;
}

void RuleSet::run_rule(size_t idx, std::string_view text, bool ascii, uint32_t first_end, HsDatabase::Run* runs,
                       HsDatabase::Run* runs_end, std::vector<Finding>& out) const {
  const SecretRule& rule = rules_[idx];
  if (text.size() < rule.min_length) return;
  const RE2* chosen = ascii || rule.bytes_always ? rule.re_bytes.get() : nullptr;
  if (chosen == nullptr) chosen = rule.re.get();
  if (chosen == nullptr) return;  // never for a loaded rule: each compiled at load or in a test
  const RE2& regex = *chosen;
  const int ngroups =
      rule.group < 0 ? std::min(regex.NumberOfCapturingGroups() + 1, 32) : std::min(rule.group + 1, 32);
  re2::StringPiece input(text.data(), text.size());
  re2::StringPiece groups[32];
  const uint32_t w = db_->max_width(idx);
  const size_t n = text.size();
  if (runs != nullptr && db_->mode(idx) == HsDatabase::Mode::Exact) {
    // Every RE2 match is a Hyperscan match, so it lies inside one of the intervals [start,
    // end_hi] (merged where they overlap): searching each interval alone finds the same
    // matches as searching the whole text, and RE2 reads only the matched regions.
    std::sort(runs, runs_end, [](const HsDatabase::Run& a, const HsDatabase::Run& b) { return a.start < b.start; });
    size_t pos = 0;
    for (HsDatabase::Run* r = runs; r != runs_end;) {
      size_t lo = r->start, hi = r->end_hi;
      for (++r; r != runs_end && r->start <= hi; ++r) hi = std::max<size_t>(hi, r->end_hi);
      hi = std::min(hi, n);
      // (No match is shorter than the rule's least width: a shorter rest is not searched.)
      const size_t least = std::max<size_t>(db_->min_width(idx), 1);
      for (size_t a = std::max(pos, lo); a + least <= hi && regex.Match(input, a, hi, RE2::UNANCHORED, groups, ngroups);)
        a = pos = take_match(idx, text, groups, ngroups, out);
    }
    return;
  }
  size_t pos = 0;
  // The first match ends at first_end or later and starts at most max_width before it.
  if (db_->mode(idx) == HsDatabase::Mode::Exact && first_end != UINT32_MAX && w != HsDatabase::kUnbounded && first_end > w)
    pos = first_end - w;
  while (pos <= n && regex.Match(input, pos, n, RE2::UNANCHORED, groups, ngroups)) {
    size_t next = take_match(idx, text, groups, ngroups, out);
    pos = next > pos ? next : pos + 1;
  }
}

bool RuleSet::unkeyed_may_fire(std::string_view text) const {
  if (!any_unkeyed_ || text.size() < unkeyed_min_length_) return false;
  return !run_gate_ || has_non_ascii(text) || runs_.may_match(text);
}

bool RuleSet::direct_candidates(std::string_view text, std::vector<size_t>& cands) const {
  // Only the keyword automaton's word counts here, so every rule that may fire must have
  // keywords: no rule without keywords long enough for the text, none Hyperscan cannot
  // take, none whose meaning differs on a non-ASCII text.
  if (!keyword_gate_ || !unfiltered_.empty()) return false;
  if (unkeyed_may_fire(text)) return false;
  if (!sensitive_.empty() && has_non_ascii(text)) return false;
  thread_local std::vector<uint64_t> bits;
  bits.clear();
  keywords_.scan(text, bits);
  cands.clear();
  for (size_t w = 0; w < bits.size(); ++w)
    for (uint64_t b = bits[w]; b != 0; b &= b - 1) {
      size_t idx = w * 64 + static_cast<size_t>(__builtin_ctzll(b));
      if (text.size() < rules_[idx].min_length) continue;
      if (cands.size() == direct_limit_) return false;
      cands.push_back(idx);
    }
  return true;
}

namespace {
// The Hyperscan hits of the last text may_match_each scanned alone, for find_all on the same
// text (pass 1 names a text, then runs the rules on it): one scan instead of two. Keyed by
// the compiled rule set's serial, not its address: a rule set built where a freed one was
// must not read the other's hits.
struct LastScan {
  uint64_t owner = 0;
  std::string text;
  HsDatabase::Hits hits;
};
thread_local LastScan t_last_scan;
}  // namespace

void RuleSet::find_all(std::string_view text, std::vector<Finding>& out) const {
  out.clear();
  if (!db_ || rules_.empty()) return;
  thread_local std::vector<size_t> cands;
  if (direct_candidates(text, cands)) {
    const bool ascii = !has_non_ascii(text);
    for (size_t idx : cands) run_rule(idx, text, ascii, UINT32_MAX, nullptr, nullptr, out);
    return;
  }
  thread_local HsDatabase::Hits scanned;
  const bool reuse = t_last_scan.owner == serial_ && t_last_scan.text == text;
  t_last_scan.owner = 0;  // one use: pass 1 asks once per text
  HsDatabase::Hits& hits = reuse ? t_last_scan.hits : scanned;
  if (!reuse) db_->scan(text, hits);
  cands.assign(hits.hit_rules.begin(), hits.hit_rules.end());
  const bool ascii = !has_non_ascii(text);
  const bool wide = !sensitive_.empty() && !ascii;
  for (size_t i : unfiltered_) cands.push_back(i);
  if (wide)
    for (size_t i : sensitive_) {
      hits.first_end[i] = UINT32_MAX;  // Hyperscan's offsets say nothing here: scan from the start
      cands.push_back(i);
    }
  std::sort(cands.begin(), cands.end());
  cands.erase(std::unique(cands.begin(), cands.end()), cands.end());
  // Each rule's match intervals together.
  thread_local std::vector<HsDatabase::Run> runs;
  thread_local std::vector<uint32_t> runs_at;
  runs_at.assign(rules_.size() + 1, 0);
  if (!hits.overflow) {
    for (const auto& run : hits.runs) ++runs_at[run.rule + 1];
    for (size_t i = 0; i < rules_.size(); ++i) runs_at[i + 1] += runs_at[i];
    runs.resize(hits.runs.size());
    thread_local std::vector<uint32_t> fill;
    fill.assign(runs_at.begin(), runs_at.end() - 1);
    for (const auto& run : hits.runs) runs[fill[run.rule]++] = run;
  }
  for (size_t idx : cands) {
    const SecretRule& candidate = rules_[idx];
    if (!candidate.keywords.empty() && !hits.keyword[idx]) continue;
    bool windowed = !hits.overflow && hits.first_end[idx] != UINT32_MAX && runs_at[idx + 1] > runs_at[idx];
    run_rule(idx, text, ascii, hits.first_end[idx], windowed ? runs.data() + runs_at[idx] : nullptr,
             windowed ? runs.data() + runs_at[idx + 1] : nullptr, out);
  }
}

void RuleSet::find(std::string_view text, std::vector<Finding>& out) const {
  find_all(text, out);
  if (out.size() < 2) return;
  std::sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end != b.end ? a.end > b.end : a.rule < b.rule;
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

bool RuleSet::may_match(std::string_view text) const {
  // Hyperscan's word only (no RE2): a rule whose pattern matched and whose keywords occur, or
  // a rule RE2 must run anyway. The caller looks closer (and runs RE2) only when this says yes.
  if (!db_ || rules_.empty()) return false;
  if (!unfiltered_.empty()) return true;
  // Kept for find_all, which find_secrets calls next on the same (decoded) text.
  HsDatabase::Hits& hits = t_last_scan.hits;
  db_->scan(text, hits);
  t_last_scan.owner = serial_;
  t_last_scan.text.assign(text);
  for (uint32_t i : hits.hit_rules)
    if (rules_[i].keywords.empty() || hits.keyword[i]) return true;
  if (!sensitive_.empty() && has_non_ascii(text))
    for (size_t i : sensitive_)
      if (rules_[i].keywords.empty() || hits.keyword[i]) return true;
  return false;
}

void RuleSet::may_match_each(const std::string_view* texts, size_t count, std::vector<uint8_t>& may) const {
  may.assign(count, 0);
  if (!db_ || rules_.empty()) return;
  if (!unfiltered_.empty()) {
    may.assign(count, 1);
    return;
  }
  // Narrow before the full scan: only a text that holds a keyword can fire a keyed rule, and
  // a rule without keywords only a text long enough for it, once the gate says one may.
  thread_local std::vector<uint8_t> pick;
  if (keyword_gate_) {
    keywords_.each(texts, count, pick);
    if (any_unkeyed_) {
      auto gated = [&](size_t i) { return !pick[i] && unkeyed_may_fire(texts[i]); };
      thread_local std::string gate_text;
      gate_text.clear();
      bool some = false;
      for (size_t i = 0; i < count; ++i)
        if (gated(i)) {
          if (some) gate_text += '\n';
          gate_text.append(texts[i]);
          some = true;
        }
      if (some && db_->any(gate_text))
        for (size_t i = 0; i < count; ++i)
          if (gated(i)) pick[i] = 1;
    }
  } else {
    pick.assign(count, 1);
  }
  thread_local std::vector<std::string_view> picked;
  thread_local std::vector<size_t> where, cands;
  picked.clear();
  where.clear();
  for (size_t i = 0; i < count; ++i) {
    if (!pick[i]) continue;
    if (direct_candidates(texts[i], cands)) {  // find_all runs these rules without Hyperscan
      may[i] = !cands.empty();
      continue;
    }
    picked.push_back(texts[i]);
    where.push_back(i);
  }
  if (picked.empty()) return;
  thread_local std::vector<uint8_t> picked_may;
  scan_each(picked.data(), picked.size(), picked_may);
  for (size_t k = 0; k < picked.size(); ++k) may[where[k]] = picked_may[k];
}

void RuleSet::scan_each(const std::string_view* texts, size_t count, std::vector<uint8_t>& may) const {
  may.assign(count, 0);
  // One scan over the texts joined by newlines (the database is compiled multi-line, so
  // anchors match at each text's ends); a match is put on the text its last byte is in.
  // Keywords and prefiltered patterns report their first match only: a keyword counts for
  // every text, and a prefiltered rule's hit makes every text a candidate.
  thread_local std::string joined;
  thread_local std::vector<size_t> starts;
  joined.clear();
  starts.assign(1, 0);
  for (size_t i = 0; count > 1 && i < count; ++i) {
    if (i > 0) starts.push_back(joined.size());
    joined.append(texts[i]);
    joined += '\n';
  }
  // One text alone is scanned as find_all scans it, and its hits are kept for find_all.
  t_last_scan.owner = count == 1 ? serial_ : 0;
  HsDatabase::Hits& hits = t_last_scan.hits;
  db_->scan(count == 1 ? texts[0] : std::string_view(joined), hits);
  if (count == 1) t_last_scan.text.assign(texts[0]);
  auto keyed = [&](size_t rule_index) { return rules_[rule_index].keywords.empty() || hits.keyword[rule_index]; };
  for (uint32_t rule_index : hits.hit_rules)
    if (keyed(rule_index) && (hits.overflow || db_->mode(rule_index) != HsDatabase::Mode::Exact)) {
      may.assign(count, 1);
      return;
    }
  auto text_of = [&](uint32_t end) {  // the text a match ending at `end` ends in
    return static_cast<size_t>(std::upper_bound(starts.begin(), starts.end(), size_t{end} - 1) - starts.begin()) - 1;
  };
  for (const auto& run : hits.runs) {
    if (!keyed(run.rule) || run.end_hi == 0) continue;
    for (size_t i = text_of(std::max<uint32_t>(run.end_lo, 1)), last = text_of(run.end_hi); i <= last; ++i) may[i] = 1;
  }
  if (sensitive_.empty() || std::none_of(sensitive_.begin(), sensitive_.end(), keyed)) return;
  for (size_t i = 0; i < count; ++i)
    if (!may[i] && has_non_ascii(texts[i])) may[i] = 1;
}

}  // namespace agentlog::redact

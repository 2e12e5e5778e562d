#include "plugins/redact/hs_scanner.h"

#include "plugins/redact/hs_disk_cache.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <cstring>
#include <map>
#include <mutex>

#include <hs/hs.h>

namespace agentlog::redact {

struct HsDatabase::Compiled {
  hs_database_t* db = nullptr;
  hs_database_t* gate = nullptr;
  bool gate_complete = false;       // no rule without keywords is left out of the gate
  std::vector<uint32_t> gate_wide;  // rules without keywords that are width-sensitive
  uint64_t id = 0, gate_id = 0;
  std::vector<Mode> modes;
  std::vector<uint32_t> max_width, min_width;
  std::vector<uint8_t> sensitive;
  ~Compiled() {
    hs_free_database(db);
    hs_free_database(gate);
  }
};

namespace {

std::atomic<uint64_t> g_next_id{1};

// Scratch space per thread, grown for every database the thread has scanned with.
struct ThreadScratch {
  hs_scratch_t* scratch = nullptr;
  std::vector<uint64_t> ready;  // databases the scratch was sized for
  ~ThreadScratch() { hs_free_scratch(scratch); }
  hs_scratch_t* get(const hs_database_t* db, uint64_t id) {
    for (uint64_t r : ready)
      if (r == id) return scratch;
    if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS) return nullptr;
    // A few ids: a database forgotten here only costs another hs_alloc_scratch (which keeps
    // a scratch that is large enough), and the search stays short.
    if (ready.size() == 16) ready.erase(ready.begin());
    ready.push_back(id);
    return scratch;
  }
};
thread_local ThreadScratch t_scratch;

std::string escape_literal(std::string_view lit) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : lit) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

constexpr unsigned kBaseFlags = HS_FLAG_MULTILINE;

bool info_of(const std::string& p, unsigned flags, hs_expr_info_t** info) {
  hs_compile_error_t* err = nullptr;
  *info = nullptr;
  if (hs_expression_info(p.c_str(), flags, info, &err) != HS_SUCCESS) {
    hs_free_compile_error(err);
    return false;
  }
  return true;
}

bool compile_db(const std::vector<const char*>& ptrs, const std::vector<unsigned>& flags,
                const std::vector<unsigned>& ids, hs_database_t** out, int& bad, std::string& msg) {
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(ptrs.data(), flags.data(), ids.data(), static_cast<unsigned>(ptrs.size()), HS_MODE_BLOCK, nullptr,
                       out, &err) == HS_SUCCESS)
    return true;
  bad = err->expression;
  msg = err->message;
  hs_free_compile_error(err);
  return false;
}

struct ScanCtx {
  HsDatabase::Hits* hits;
  const std::vector<uint32_t>* keyword_rule;
  const std::vector<uint32_t>* max_width;
  uint32_t rules;
};

int on_match(unsigned int id, unsigned long long, unsigned long long to, unsigned int, void* p) {
  auto* c = static_cast<ScanCtx*>(p);
  if (id < c->rules) {
    HsDatabase::Hits& h = *c->hits;
    const uint32_t end = static_cast<uint32_t>(to);
    uint32_t& e = h.first_end[id];
    if (e == UINT32_MAX) {
      e = end;
      h.hit_rules.push_back(id);
    }
    // Where a match ending here may start: the rule's width before, or anywhere. (Hyperscan's
    // HS_FLAG_SOM_LEFTMOST would say exactly, but made the scans of these rules 3 times dearer.)
    const uint32_t w = (*c->max_width)[id];
    const uint32_t start = w == HsDatabase::kUnbounded ? 0 : end > w ? end - w : 0;
    // A greedy tail reports an end at every byte: one interval for all of them.
    if (uint32_t last = h.last_run[id]; last != 0 && start <= h.runs[last - 1].end_hi) {
      HsDatabase::Run& run = h.runs[last - 1];
      run.start = std::min(run.start, start);
      run.end_lo = std::min(run.end_lo, end);
      run.end_hi = std::max(run.end_hi, end);
    } else if (h.runs.size() < HsDatabase::kMaxRuns) {
      h.runs.push_back({id, start, end, end});
      h.last_run[id] = static_cast<uint32_t>(h.runs.size());
    } else {
      h.overflow = true;
    }
  } else {
    c->hits->keyword[(*c->keyword_rule)[id - c->rules]] = 1;
  }
  return 0;
}

int on_any(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* p) {
  return id < *static_cast<uint32_t*>(p) ? 1 : 0;
}

}  // namespace

std::string hs_pattern_of(std::string_view re) {
  std::string out;
  out.reserve(re.size());
  bool in_class = false;
  for (size_t i = 0; i < re.size(); ++i) {
    char c = re[i];
    if (c == '\\' && i + 1 < re.size()) {
      char n = re[i + 1];
      if (!in_class && n == 'A') out += '^';
      else if (!in_class && (n == 'z' || n == 'Z')) out += '$';
      else {
        out += c;
        out += n;
      }
      ++i;
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal.
      if (i + 1 < re.size() && re[i + 1] == '^') out += re[++i];
      if (i + 1 < re.size() && re[i + 1] == ']') out += re[++i];
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

bool is_width_sensitive(std::string_view re) {
  bool in_class = false;
  for (size_t i = 0; i < re.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(re[i]);
    if (c >= 0x80) return true;
    if (c == '\\' && i + 1 < re.size()) {
      char n = re[++i];
      if (n == 'W' || n == 'S' || n == 'D' || n == 'p' || n == 'P' || n == 'C' || n == 'X') return true;
      continue;
    }
    if (!in_class && c == '.') return true;
    if (!in_class && c == '[') {
      in_class = true;
      if (i + 1 < re.size() && re[i + 1] == '^') return true;
      if (i + 1 < re.size() && re[i + 1] == ']') ++i;
      continue;
    }
    if (in_class && c == '[' && i + 2 < re.size() && re[i + 1] == ':' && re[i + 2] == '^') return true;
    if (in_class && c == ']') in_class = false;
  }
  return false;
}

bool has_non_ascii(std::string_view text) {
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, text.data() + i, 8);
    acc |= w;
  }
  for (; i < text.size(); ++i) acc |= static_cast<unsigned char>(text[i]);
  return (acc & 0x8080808080808080ull) != 0;
}

std::string HsDatabase::cache_key(const std::vector<std::string>& patterns,
                                  const std::vector<std::pair<std::string, size_t>>& keywords,
                                  const std::vector<uint8_t>& byte_rules) {
  std::string key;
  for (const auto& p : patterns) key += p + '\0';
  key += '\1';
  for (const auto& [kw, r] : keywords) key += kw + '\0' + std::to_string(r) + '\0';
  if (!byte_rules.empty()) {
    key += "\1bytes:";
    for (uint8_t b : byte_rules) key += b ? '1' : '0';
  }
  return key;
}

std::string without_boundary_guards(std::string_view p) {
  std::string prefix;
  if (p.starts_with("(?i)")) {
    prefix = "(?i)";
    p.remove_prefix(4);
  }
  // A guard's class holds no ']' and no nested group: find its end with a plain search.
  if (p.starts_with("(?:^|[^")) {
    size_t close = p.find("])", 7);
    if (close != std::string_view::npos && p.substr(7, close - 7).find('[') == std::string_view::npos)
      p.remove_prefix(close + 2);
  }
  if (p.ends_with("]|$)")) {
    size_t open = p.rfind("(?:[^");
    if (open != std::string_view::npos && p.substr(open + 5, p.size() - 4 - open - 5).find_first_of("[]") == std::string_view::npos)
      p.remove_suffix(p.size() - open);
  }
  return prefix + std::string(p);
}

HsDatabase::HsDatabase() = default;
HsDatabase::~HsDatabase() = default;

Status HsDatabase::build(const std::vector<std::string>& patterns,
                         const std::vector<std::pair<std::string, size_t>>& keywords,
                         const std::vector<uint8_t>& byte_rules) {
  const uint32_t pattern_count = static_cast<uint32_t>(patterns.size());
  keyword_rule_.clear();
  for (const auto& [kw, r] : keywords) keyword_rule_.push_back(static_cast<uint32_t>(r));

  // Compiling takes a while and stages are built often with the same rules: keep the last
  // few distinct rule sets' databases (stages hold theirs as long as they live). Bounded, so
  // a process that builds many rule sets (a config fuzzer) does not keep them all.
  const std::string key = cache_key(patterns, keywords, byte_rules);
  constexpr size_t kCachedRuleSets = 8;
  static std::mutex cache_mutex;
  static std::map<std::string, std::shared_ptr<Compiled>> cache;
  static std::deque<std::string> recent;  // the cache's keys, least recently used first
  auto touch = [&](const std::string& used_key) {
    recent.erase(std::remove(recent.begin(), recent.end(), used_key), recent.end());
    recent.push_back(used_key);
    while (recent.size() > kCachedRuleSets) {
      cache.erase(recent.front());
      recent.pop_front();
    }
  };
  {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto it = cache.find(key);
    if (it != cache.end()) {
      touch(key);
      db_ = it->second;
      modes_ = db_->modes;
      max_width_ = db_->max_width;
      min_width_ = db_->min_width;
      sensitive_ = db_->sensitive;
      return {};
    }
  }

  auto compiled = std::make_shared<Compiled>();
  compiled->id = g_next_id++;
  compiled->gate_id = g_next_id++;
  auto adopt = [&] {
    db_ = compiled;
    modes_ = compiled->modes;
    max_width_ = compiled->max_width;
    min_width_ = compiled->min_width;
    sensitive_ = compiled->sensitive;
    std::lock_guard<std::mutex> lock(cache_mutex);
    cache.emplace(key, compiled);
    touch(key);
  };
  // Compiled by an earlier run (same rules, same Hyperscan): a few milliseconds to load.
  CachedDatabases disk;
  bool loaded = load_cached_databases(key, disk);
  if (loaded && disk.modes.size() != pattern_count) {
    hs_free_database(disk.db);
    hs_free_database(disk.gate);
    loaded = false;
  }
  if (loaded) {
    compiled->db = disk.db;
    compiled->gate = disk.gate;
    compiled->gate_complete = disk.gate_complete;
    compiled->gate_wide = std::move(disk.gate_wide);
    for (uint32_t mode : disk.modes) compiled->modes.push_back(static_cast<Mode>(mode));
    compiled->max_width = std::move(disk.max_width);
    compiled->min_width = std::move(disk.min_width);
    compiled->sensitive = std::move(disk.sensitive);
    adopt();
    return {};
  }
  std::vector<std::string> exprs(pattern_count);
  compiled->modes.assign(pattern_count, Mode::Unfiltered);
  compiled->max_width.assign(pattern_count, kUnbounded);
  compiled->min_width.assign(pattern_count, 0);
  compiled->sensitive.assign(pattern_count, 0);
  for (uint32_t i = 0; i < pattern_count; ++i) {
    compiled->sensitive[i] = !(i < byte_rules.size() && byte_rules[i]) && is_width_sensitive(patterns[i]);
    exprs[i] = hs_pattern_of(patterns[i]);
    hs_expr_info_t* info = nullptr;
    if (info_of(exprs[i], kBaseFlags, &info)) {
      if (info->min_width > 0) {
        compiled->modes[i] = Mode::Exact;
        compiled->max_width[i] = info->max_width;
        compiled->min_width[i] = info->min_width;
      }
      free(info);
    }
    if (compiled->modes[i] == Mode::Unfiltered && info_of(exprs[i], kBaseFlags | HS_FLAG_PREFILTER, &info)) {
      if (info->min_width > 0) {
        compiled->modes[i] = Mode::Prefilter;
        compiled->min_width[i] = info->min_width;
      }
      free(info);
    }
  }
  // Some failures show only when compiling: lower the failing pattern's mode and try again.
  std::vector<std::string> lits;
  for (const auto& keyword : keywords) lits.push_back(escape_literal(keyword.first));
  for (;;) {
    std::vector<const char*> ptrs;
    std::vector<unsigned> flags, ids;
    for (uint32_t i = 0; i < pattern_count; ++i) {
      if (compiled->modes[i] == Mode::Unfiltered) continue;
      ptrs.push_back(exprs[i].c_str());
      // Exact patterns report every match end (RE2 then runs only in intervals around them).
      flags.push_back(kBaseFlags |
                      (compiled->modes[i] == Mode::Prefilter ? HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH : 0));
      ids.push_back(i);
    }
    for (size_t k = 0; k < lits.size(); ++k) {
      ptrs.push_back(lits[k].c_str());
      flags.push_back(HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH);
      ids.push_back(pattern_count + static_cast<unsigned>(k));
    }
    if (ptrs.empty()) break;
    int bad = -1;
    std::string msg;
    if (compile_db(ptrs, flags, ids, &compiled->db, bad, msg)) break;
    if (bad < 0 || ids[bad] >= pattern_count)
      return Status::error("the rules do not fit in one Hyperscan database: " + msg);
    uint32_t rule_index = ids[bad];
    compiled->modes[rule_index] = compiled->modes[rule_index] == Mode::Exact ? Mode::Prefilter : Mode::Unfiltered;
    compiled->max_width[rule_index] = kUnbounded;
  }
  // The gate: the patterns of the rules without keywords (the keyword automaton gates the
  // others), so texts without a keyword need not pay for the whole database.
  {
    std::vector<uint8_t> keyed(pattern_count, 0);
    for (const auto& keyword : keywords) keyed[keyword.second] = 1;
    std::vector<const char*> ptrs;
    std::vector<unsigned> flags, ids;
    compiled->gate_complete = true;
    for (uint32_t i = 0; i < pattern_count; ++i) {
      if (keyed[i]) continue;
      if (compiled->modes[i] == Mode::Unfiltered) compiled->gate_complete = false;
      if (compiled->sensitive[i]) compiled->gate_wide.push_back(i);
      if (compiled->modes[i] == Mode::Unfiltered) continue;
      ptrs.push_back(exprs[i].c_str());
      flags.push_back(kBaseFlags | HS_FLAG_SINGLEMATCH |
                      (compiled->modes[i] == Mode::Prefilter ? HS_FLAG_PREFILTER : 0));
      ids.push_back(i);
    }
    int bad = -1;
    std::string msg;
    if (!ptrs.empty() && !compile_db(ptrs, flags, ids, &compiled->gate, bad, msg)) compiled->gate_complete = false;
  }
  disk = CachedDatabases{};
  disk.db = compiled->db;
  disk.gate = compiled->gate;
  disk.gate_complete = compiled->gate_complete;
  disk.gate_wide = compiled->gate_wide;
  for (Mode mode : compiled->modes) disk.modes.push_back(static_cast<uint32_t>(mode));
  disk.max_width = compiled->max_width;
  disk.min_width = compiled->min_width;
  disk.sensitive = compiled->sensitive;
  store_cached_databases(key, disk);  // the databases stay owned by c
  adopt();
  return {};
}

void HsDatabase::scan(std::string_view text, Hits& hits) const {
  hits.first_end.assign(modes_.size(), UINT32_MAX);
  hits.keyword.assign(modes_.size(), 0);
  hits.hit_rules.clear();
  hits.runs.clear();
  hits.last_run.assign(modes_.size(), 0);
  hits.overflow = false;
  if (!db_ || !db_->db) return;
  hs_scratch_t* s = t_scratch.get(db_->db, db_->id);
  ScanCtx ctx{&hits, &keyword_rule_, &max_width_, static_cast<uint32_t>(modes_.size())};
  if (s == nullptr || hs_scan(db_->db, text.data(), static_cast<unsigned>(text.size()), 0, s, on_match, &ctx) != HS_SUCCESS) {
    // Cannot scan: every rule is a candidate from the start, every keyword present.
    hits.overflow = true;
    for (uint32_t i = 0; i < modes_.size(); ++i) {
      if (hits.first_end[i] == UINT32_MAX) hits.hit_rules.push_back(i);
      hits.first_end[i] = 0;
      hits.keyword[i] = 1;
    }
  }
}

bool HsDatabase::any(std::string_view text) const {
  if (!db_) return false;
  if (!db_->gate_complete) return true;
  if (!db_->gate_wide.empty() && has_non_ascii(text)) return true;
  if (!db_->gate) return false;
  hs_scratch_t* s = t_scratch.get(db_->gate, db_->gate_id);
  if (s == nullptr) return true;
  uint32_t n = static_cast<uint32_t>(modes_.size());
  hs_error_t e = hs_scan(db_->gate, text.data(), static_cast<unsigned>(text.size()), 0, s, on_any, &n);
  return e != HS_SUCCESS;  // HS_SCAN_TERMINATED: a keyword or a pattern matched (an error also says "look closer")
}

}  // namespace agentlog::redact

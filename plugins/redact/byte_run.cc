#include "plugins/redact/byte_run.h"

#include <algorithm>
#include <cctype>

namespace agentlog::redact {

namespace {

// A recursive-descent reader of the RE2 syntax the rule files use. Anything else stops it
// (ok = false): a wrong set of bytes would let a secret through, a refusal only costs time.
class RunReader {
 public:
  explicit RunReader(std::string_view p) : p_(p) {}

  bool read(ByteRun& out) {
    size_t len = alternation();
    if (!ok_ || i_ != p_.size()) return false;
    // (?i) anywhere folds every letter: a superset of the scoped folding RE2 does.
    if (fold_)
      for (int c = 'a'; c <= 'z'; ++c)
        if (bytes_[c] || bytes_[c - 32]) {
          bytes_.set(c);
          bytes_.set(c - 32);
        }
    out.bytes = bytes_;
    out.min_length = len;
    return true;
  }

 private:
  bool more() const { return ok_ && i_ < p_.size(); }
  char peek() const { return p_[i_]; }
  void fail() { ok_ = false; }

  void add(unsigned c) {
    if (c >= 0x80) fail();
    else bytes_.set(c);
  }
  void add_range(unsigned lo, unsigned hi) {
    if (lo > hi || hi >= 0x80) return fail();
    for (unsigned c = lo; c <= hi; ++c) bytes_.set(c);
  }

  size_t alternation() {
    size_t best = sequence();
    while (more() && peek() == '|') {
      ++i_;
      best = std::min(best, sequence());
    }
    return best;
  }

  size_t sequence() {
    size_t total = 0;
    while (more() && peek() != '|' && peek() != ')') {
      size_t len = atom();
      total += repeat_min() * len;
    }
    return total;
  }

  // A quantifier after an atom: how many times the atom must occur at least.
  size_t repeat_min() {
    if (!more()) return 1;
    size_t min = 1;
    char c = peek();
    if (c == '*' || c == '?') {
      min = 0;
      ++i_;
    } else if (c == '+') {
      ++i_;
    } else if (c == '{') {
      size_t j = i_ + 1, n = 0;
      bool digits = false;
      while (j < p_.size() && p_[j] >= '0' && p_[j] <= '9') {
        n = n * 10 + static_cast<size_t>(p_[j++] - '0');
        digits = true;
        if (n > 100000) return fail(), 0;
      }
      if (!digits) return fail(), 0;  // RE2 reads such a '{' as a literal: not worth the care
      if (j < p_.size() && p_[j] == ',') {
        ++j;
        while (j < p_.size() && p_[j] >= '0' && p_[j] <= '9') ++j;
      }
      if (j >= p_.size() || p_[j] != '}') return fail(), 0;
      i_ = j + 1;
      min = n;
    } else {
      return 1;
    }
    if (more() && peek() == '?') ++i_;  // non-greedy: same bytes, same length
    if (more() && (peek() == '*' || peek() == '+' || peek() == '?' || peek() == '{')) fail();
    return min;
  }

  size_t atom() {
    char c = p_[i_++];
    switch (c) {
      case '(': return group();
      case '[': return char_class();
      case '\\': return escape();
      case '^':
      case '$': return 0;
      case '.':
      case '*':
      case '+':
      case '?':
      case '{':
        return fail(), 0;
      default: add(static_cast<unsigned char>(c)); return 1;
    }
  }

  size_t group() {
    if (more() && peek() == '?') {
      ++i_;
      if (more() && (peek() == 'P' || peek() == '<')) {  // a named group: (?P<name>...) or (?<name>...)
        size_t close = p_.find('>', i_);
        if (close == std::string_view::npos) return fail(), 0;
        i_ = close + 1;
      } else {
        // Flags: (?i) (?-s) (?i:...) ...
        while (more() && peek() != ')' && peek() != ':') {
          char f = p_[i_++];
          if (f == 'i') fold_ = true;
          else if (f != 'm' && f != 's' && f != 'U' && f != '-') return fail(), 0;
        }
        if (!more()) return fail(), 0;
        if (peek() == ')') {  // flags for the rest of the pattern: no bytes
          ++i_;
          return 0;
        }
        ++i_;  // ':'
      }
    }
    size_t len = alternation();
    if (!more() || peek() != ')') return fail(), 0;
    ++i_;
    return len;
  }

  // An escape outside a class; returns its length in bytes (0 for an assertion).
  size_t escape() {
    if (!more()) return fail(), 0;
    char c = p_[i_++];
    switch (c) {
      case 'b':
      case 'B':
      case 'A':
      case 'z': return 0;
      default: break;
    }
    if (!class_escape(c)) fail();
    return 1;
  }

  // An escape that stands for one byte of a set (inside a class or out); false if unknown.
  bool class_escape(char c) {
    switch (c) {
      case 'd': add_range('0', '9'); return true;
      case 'w':
        add_range('0', '9');
        add_range('A', 'Z');
        add_range('a', 'z');
        add('_');
        return true;
      case 's':  // RE2: [\t\n\f\r ]
        add('\t');
        add('\n');
        add('\f');
        add('\r');
        add(' ');
        return true;
      case 'a': add(7); return true;
      case 'f': add('\f'); return true;
      case 'n': add('\n'); return true;
      case 'r': add('\r'); return true;
      case 't': add('\t'); return true;
      case 'v': add(11); return true;
      case 'x': {
        unsigned v = 0;
        if (!hex_value(v)) return false;
        add(v);
        return true;
      }
      default: break;
    }
    // Escaped punctuation is itself; letters and digits not above are classes, references
    // or octal codes this reader does not follow.
    auto u = static_cast<unsigned char>(c);
    if (u < 0x80 && !std::isalnum(u)) {
      add(u);
      return true;
    }
    return false;
  }

  bool hex_value(unsigned& v) {
    auto hex = [](char h) -> int {
      if (h >= '0' && h <= '9') return h - '0';
      if (h >= 'a' && h <= 'f') return h - 'a' + 10;
      if (h >= 'A' && h <= 'F') return h - 'A' + 10;
      return -1;
    };
    v = 0;
    if (more() && peek() == '{') {
      size_t close = p_.find('}', i_);
      if (close == std::string_view::npos || close == i_ + 1 || close - i_ > 7) return false;
      for (size_t j = i_ + 1; j < close; ++j) {
        int h = hex(p_[j]);
        if (h < 0) return false;
        v = v * 16 + static_cast<unsigned>(h);
      }
      i_ = close + 1;
      return true;
    }
    if (i_ + 2 > p_.size() || hex(p_[i_]) < 0 || hex(p_[i_ + 1]) < 0) return false;
    v = static_cast<unsigned>(hex(p_[i_]) * 16 + hex(p_[i_ + 1]));
    i_ += 2;
    return true;
  }

  // One byte of a class `[...]` (the '[' read); negated classes are refused.
  size_t char_class() {
    if (more() && peek() == '^') return fail(), 0;
    bool first = true;
    while (more() && (peek() != ']' || first)) {
      first = false;
      if (peek() == '[' && i_ + 1 < p_.size() && p_[i_ + 1] == ':') {
        if (!posix_class()) return fail(), 0;
        continue;
      }
      unsigned lo = 0;
      bool single = class_char(lo);
      if (!ok_) return 0;
      if (single && i_ + 1 < p_.size() && peek() == '-' && p_[i_ + 1] != ']') {
        ++i_;
        unsigned hi = 0;
        if (!class_char(hi)) return fail(), 0;
        add_range(lo, hi);
      } else if (single) {
        add(lo);
      }
    }
    if (!more()) return fail(), 0;
    ++i_;  // ']'
    return 1;
  }

  // A class member: true with `c` for one character (it may start a range), false after
  // adding a set (\d, \w, \s) to the bytes.
  bool class_char(unsigned& c) {
    char ch = p_[i_++];
    if (ch != '\\') {
      c = static_cast<unsigned char>(ch);
      if (c >= 0x80) fail();
      return true;
    }
    if (!more()) return fail(), false;
    char e = p_[i_++];
    switch (e) {
      case 'd':
      case 'w':
      case 's':
        class_escape(e);
        return false;
      case 'a': c = 7; return true;
      case 'f': c = '\f'; return true;
      case 'n': c = '\n'; return true;
      case 'r': c = '\r'; return true;
      case 't': c = '\t'; return true;
      case 'v': c = 11; return true;
      case 'x':
        if (!hex_value(c) || c >= 0x80) fail();
        return true;
      default: break;
    }
    auto u = static_cast<unsigned char>(e);
    if (u < 0x80 && !std::isalnum(u)) {
      c = u;
      return true;
    }
    fail();
    return false;
  }

  bool posix_class() {
    size_t close = p_.find(":]", i_ + 2);
    if (close == std::string_view::npos) return false;
    std::string_view name = p_.substr(i_ + 2, close - i_ - 2);
    i_ = close + 2;
    if (name == "alnum" || name == "alpha" || name == "upper" || name == "lower") {
      if (name != "lower") add_range('A', 'Z');
      if (name != "upper") add_range('a', 'z');
      if (name == "alnum") add_range('0', '9');
    } else if (name == "digit") {
      add_range('0', '9');
    } else if (name == "xdigit") {
      add_range('0', '9');
      add_range('A', 'F');
      add_range('a', 'f');
    } else {
      return false;
    }
    return true;
  }

  std::string_view p_;
  size_t i_ = 0;
  bool ok_ = true;
  bool fold_ = false;
  std::bitset<256> bytes_;
};

}  // namespace

bool byte_run_of(std::string_view pattern, ByteRun& out) {
  RunReader reader(pattern);
  return reader.read(out);
}

Status RunGate::build(const std::vector<ByteRun>& runs) {
  if (runs.empty() || runs.size() > 64) return Status::error("the run gate takes 1 to 64 rules");
  table_.fill(0);
  min_ = SIZE_MAX;
  mins_.clear();
  for (size_t r = 0; r < runs.size(); ++r) {
    for (size_t c = 0; c < 256; ++c)
      if (runs[r].bytes[c]) table_[c] |= uint64_t{1} << r;
    min_ = std::min(min_, runs[r].min_length);
    mins_.push_back(runs[r].min_length);
  }
  return {};
}

bool RunGate::may_match(std::string_view text) const {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // A maximal run of bytes any rule may hold; only a long one is looked at rule by rule.
    while (i < n && table_[p[i]] == 0) ++i;
    size_t start = i;
    while (i < n && table_[p[i]] != 0) ++i;
    if (i - start < min_) continue;
    for (size_t r = 0; r < mins_.size(); ++r) {
      if (i - start < mins_[r]) continue;
      size_t run = 0;
      for (size_t j = start; j < i; ++j) {
        run = (table_[p[j]] >> r) & 1 ? run + 1 : 0;
        if (run >= mins_[r]) return true;
      }
    }
  }
  return false;
}

}  // namespace agentlog::redact

#include "core/json_text.h"

#include <cstring>

namespace agentlog::json {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
size_t utf8_seq_len(const unsigned char* s, size_t n, size_t i) {
  unsigned char c = s[i];
  if (c < 0x80) return 1;
  auto cont = [&](size_t k) { return i + k < n && (s[i + k] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    unsigned char c1 = s[i + 1];
    if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
    if (c == 0xED && c1 > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    unsigned char c1 = s[i + 1];
    if (c == 0xF0 && c1 < 0x90) return 0;
    if (c == 0xF4 && c1 > 0x8F) return 0;
    return 4;
  }
  return 0;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool is_number_char(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

class Parser {
 public:
  explicit Parser(std::string_view t) : t_(t) {}

  bool value(Value& v) {
    ws();
    if (i_ >= t_.size()) return false;
    char c = t_[i_];
    if (c == '{') return object(v);
    if (c == '[') return array(v);
    if (c == '"') { v.kind = Value::Kind::String; return string(v.text); }
    if (c == 't' && t_.substr(i_, 4) == "true") { v.kind = Value::Kind::Bool; v.boolean = true; i_ += 4; return true; }
    if (c == 'f' && t_.substr(i_, 5) == "false") { v.kind = Value::Kind::Bool; i_ += 5; return true; }
    if (c == 'n' && t_.substr(i_, 4) == "null") { v.kind = Value::Kind::Null; i_ += 4; return true; }
    size_t b = i_;
    while (i_ < t_.size() && is_number_char(t_[i_])) ++i_;
    if (b == i_) return false;
    v.kind = Value::Kind::Number;
    v.text.assign(t_.substr(b, i_ - b));
    return true;
  }

  bool at_end() { ws(); return i_ == t_.size(); }

 private:
  void ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) ++i_;
  }
  bool hex4(uint32_t& out) {
    if (i_ + 4 > t_.size()) return false;
    out = 0;
    for (int k = 0; k < 4; ++k) {
      char c = t_[i_++];
      out <<= 4;
      if (c >= '0' && c <= '9') out |= c - '0';
      else if (c >= 'a' && c <= 'f') out |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') out |= c - 'A' + 10;
      else return false;
    }
    return true;
  }
  bool string(std::string& out) {
    ++i_;  // opening quote
    out.clear();
    while (i_ < t_.size()) {
      char c = t_[i_++];
      if (c == '"') return true;
      if (c != '\\') { out.push_back(c); continue; }
      if (i_ >= t_.size()) return false;
      char e = t_[i_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF && t_.substr(i_, 2) == "\\u") {
            size_t save = i_;
            i_ += 2;
            uint32_t lo;
            if (hex4(lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              i_ = save;
              cp = 0xFFFD;
            }
          } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = 0xFFFD;
          }
          append_utf8(out, cp);
          break;
        }
        default: return false;
      }
    }
    return false;
  }
  bool object(Value& v) {
    v.kind = Value::Kind::Object;
    ++i_;
    ws();
    if (i_ < t_.size() && t_[i_] == '}') { ++i_; return true; }
    while (true) {
      ws();
      if (i_ >= t_.size() || t_[i_] != '"') return false;
      std::string key;
      if (!string(key)) return false;
      ws();
      if (i_ >= t_.size() || t_[i_] != ':') return false;
      ++i_;
      v.members.emplace_back(std::move(key), Value{});
      if (!value(v.members.back().second)) return false;
      ws();
      if (i_ >= t_.size()) return false;
      if (t_[i_] == ',') { ++i_; continue; }
      if (t_[i_] == '}') { ++i_; return true; }
      return false;
    }
  }
  bool array(Value& v) {
    v.kind = Value::Kind::Array;
    ++i_;
    ws();
    if (i_ < t_.size() && t_[i_] == ']') { ++i_; return true; }
    while (true) {
      v.items.emplace_back();
      if (!value(v.items.back())) return false;
      ws();
      if (i_ >= t_.size()) return false;
      if (t_[i_] == ',') { ++i_; continue; }
      if (t_[i_] == ']') { ++i_; return true; }
      return false;
    }
  }

  std::string_view t_;
  size_t i_ = 0;
};

// Skips one JSON value starting at i (valid JSON assumed); returns the index after it.
size_t skip_value(std::string_view t, size_t i) {
  if (i >= t.size()) return t.size();
  char c = t[i];
  if (c == '"') {
    for (++i; i < t.size(); ++i) {
      if (t[i] == '\\') ++i;
      else if (t[i] == '"') return i + 1;
    }
    return t.size();
  }
  if (c == '{' || c == '[') {
    int depth = 0;
    while (i < t.size()) {
      char d = t[i];
      if (d == '"') { i = skip_value(t, i); continue; }
      if (d == '{' || d == '[') ++depth;
      else if (d == '}' || d == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return t.size();
  }
  while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' &&
         t[i] != '\t' && t[i] != '\r' && t[i] != '\n')
    ++i;
  return i;
}

size_t skip_ws(std::string_view t, size_t i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) ++i;
  return i;
}

}  // namespace

size_t find_invalid_utf8(std::string_view s) {
  auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_seq_len(p, s.size(), i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

namespace {
// True when the 8 bytes of `w` hold a byte that needs escaping or a UTF-8 check: a control
// byte, '"', '\\' or a byte of 0x80 and above.
inline bool word_needs_care(uint64_t w) {
  constexpr uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  auto has_zero = [](uint64_t v) { return (v - ones) & ~v & highs; };
  uint64_t control = (w - ones * 0x20) & ~w & highs;
  return ((w & highs) | control | has_zero(w ^ (ones * '"')) | has_zero(w ^ (ones * '\\'))) != 0;
}
}  // namespace

void append_escaped(std::string& out, std::string_view s) {
  // Fast path: plain ASCII with nothing to escape is copied in one go, a word at a time.
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if (word_needs_care(w)) break;
  }
  if (i + 8 > s.size()) {
    size_t j = i;
    while (j < s.size()) {
      unsigned char c = static_cast<unsigned char>(s[j]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      ++j;
    }
    if (j == s.size()) {
      out.append(s);
      return;
    }
  }
  auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t run = 0;  // start of the pending run of bytes that need no escaping (all before i)
  for (; i < s.size();) {
    unsigned char c = p[i];
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) { ++i; continue; }
    if (c >= 0x80) {
      size_t n = utf8_seq_len(p, s.size(), i);
      if (n != 0) { i += n; continue; }
    }
    out.append(s.data() + run, i - run);
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default:
        if (c < 0x20) {
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.append("\\ufffd");  // invalid UTF-8 byte
        }
    }
    ++i;
    run = i;
  }
  out.append(s.data() + run, s.size() - run);
}

void append_quoted(std::string& out, std::string_view s) {
  out.push_back('"');
  append_escaped(out, s);
  out.push_back('"');
}

std::string quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  append_quoted(out, s);
  return out;
}

Value::Value() = default;
Value::~Value() = default;
Value::Value(const Value&) = default;
Value::Value(Value&&) noexcept = default;
Value& Value::operator=(const Value&) = default;
Value& Value::operator=(Value&&) noexcept = default;

Value* Value::find(std::string_view key) {
  for (auto& [k, v] : members)
    if (k == key) return &v;
  return nullptr;
}
const Value* Value::find(std::string_view key) const {
  for (auto& [k, v] : members)
    if (k == key) return &v;
  return nullptr;
}
Value& Value::set(std::string_view key, Value v) {
  if (Value* existing = find(key)) {
    *existing = std::move(v);
    return *existing;
  }
  members.emplace_back(std::string(key), std::move(v));
  return members.back().second;
}
bool Value::erase(std::string_view key) {
  for (auto it = members.begin(); it != members.end(); ++it) {
    if (it->first == key) {
      members.erase(it);
      return true;
    }
  }
  return false;
}

std::optional<Value> parse(std::string_view text) {
  Parser p(text);
  Value v;
  if (!p.value(v) || !p.at_end()) return std::nullopt;
  return v;
}

void serialize(const Value& v, std::string& out) {
  switch (v.kind) {
    case Value::Kind::Null: out.append("null"); break;
    case Value::Kind::Bool: out.append(v.boolean ? "true" : "false"); break;
    case Value::Kind::Number: out.append(v.text); break;
    case Value::Kind::String: append_quoted(out, v.text); break;
    case Value::Kind::Array:
      out.push_back('[');
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i) out.push_back(',');
        serialize(v.items[i], out);
      }
      out.push_back(']');
      break;
    case Value::Kind::Object:
      out.push_back('{');
      for (size_t i = 0; i < v.members.size(); ++i) {
        if (i) out.push_back(',');
        append_quoted(out, v.members[i].first);
        out.push_back(':');
        serialize(v.members[i].second, out);
      }
      out.push_back('}');
      break;
  }
}

std::string serialize(const Value& v) {
  std::string out;
  serialize(v, out);
  return out;
}

std::optional<Span> find_top_level_member(std::string_view t, std::string_view key) {
  size_t i = skip_ws(t, 0);
  if (i >= t.size() || t[i] != '{') return std::nullopt;
  ++i;
  while (true) {
    i = skip_ws(t, i);
    if (i >= t.size() || t[i] != '"') return std::nullopt;
    size_t key_begin = i;
    size_t key_end = skip_value(t, i);
    std::string_view raw_key = t.substr(key_begin + 1, key_end - key_begin - 2);
    bool match;
    if (raw_key.find('\\') == std::string_view::npos) {
      match = raw_key == key;
    } else {
      Parser p(t.substr(key_begin, key_end - key_begin));
      Value k;
      match = p.value(k) && k.text == key;
    }
    i = skip_ws(t, key_end);
    if (i >= t.size() || t[i] != ':') return std::nullopt;
    i = skip_ws(t, i + 1);
    size_t vb = i;
    size_t ve = skip_value(t, i);
    if (match) return Span{key_begin, vb, ve};
    i = skip_ws(t, ve);
    if (i >= t.size() || t[i] != ',') return std::nullopt;
    ++i;
  }
}

}  // namespace agentlog::json

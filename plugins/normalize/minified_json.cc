// A minifier for hashing JSON values the way simdjson's minifier writes them (see
// minified_json.h).
#include "plugins/normalize/minified_json.h"

#include <cstring>

namespace agentlog::plugins::normalize {
namespace {

// Appends `s` escaped exactly as simdjson's minifier escapes it: `"`, `\\` and control
// characters (\b \t \n \f \r, else \u00xx); all other bytes as they are.
void append_minified_string(std::string& o, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  o.push_back('"');
  size_t run = 0, i = 0;
  const size_t n = s.size();
  while (i < n) {
    // Skip plain bytes 8 at a time (SWAR): only controls, quotes and backslashes matter.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      uint64_t q = w ^ 0x2222222222222222ull, b = w ^ 0x5C5C5C5C5C5C5C5Cull;
      uint64_t hit = ((q - 0x0101010101010101ull) & ~q) | ((b - 0x0101010101010101ull) & ~b) |
                     ((w - 0x2020202020202020ull) & ~w);
      if (hit & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    o.append(s.data() + run, i - run);
    switch (c) {
      case '"': o.append("\\\""); break;
      case '\\': o.append("\\\\"); break;
      case '\b': o.append("\\b"); break;
      case '\t': o.append("\\t"); break;
      case '\n': o.append("\\n"); break;
      case '\f': o.append("\\f"); break;
      case '\r': o.append("\\r"); break;
      default:
        o.append("\\u00");
        o.push_back(kHex[c >> 4]);
        o.push_back(kHex[c & 15]);
    }
    run = ++i;
  }
  o.append(s.data() + run, n - run);
  o.push_back('"');
}

// The minified JSON text of a value as simdjson writes it, for values without numbers (a
// message's content list); false when it holds a number (the caller uses json_ref).
bool append_minified(std::string& out, element value) {
  switch (value.type()) {
    case simdjson::dom::element_type::STRING: {
      std::string_view text;
      if (value.get(text) != simdjson::SUCCESS) return false;
      append_minified_string(out, text);
      return true;
    }
    case simdjson::dom::element_type::BOOL: {
      bool flag = false;
      if (value.get(flag) != simdjson::SUCCESS) return false;
      out.append(flag ? "true" : "false");
      return true;
    }
    case simdjson::dom::element_type::NULL_VALUE: out.append("null"); return true;
    case simdjson::dom::element_type::ARRAY: {
      out.push_back('[');
      bool first = true;
      simdjson::dom::array array;
      if (value.get(array) != simdjson::SUCCESS) return false;
      for (element item : array) {
        if (!first) out.push_back(',');
        first = false;
        if (!append_minified(out, item)) return false;
      }
      out.push_back(']');
      return true;
    }
    case simdjson::dom::element_type::OBJECT: {
      out.push_back('{');
      bool first = true;
      object obj;
      if (value.get(obj) != simdjson::SUCCESS) return false;
      for (auto field : obj) {
        if (!first) out.push_back(',');
        first = false;
        append_minified_string(out, field.key);
        out.push_back(':');
        if (!append_minified(out, field.value)) return false;
      }
      out.push_back('}');
      return true;
    }
    default: return false;  // numbers: simdjson's own formatting
  }
}

}  // namespace

std::string minified_content_ref(element v) {
  std::string_view text;
  if (v.get(text) == simdjson::SUCCESS) return sha256_ref(text);
  thread_local std::string buf;
  buf.clear();
  if (!append_minified(buf, v)) return json_ref(v);
  return sha256_ref(buf);
}

}  // namespace agentlog::plugins::normalize

#include "plugins/redact/decoded_view.h"

#include <cstring>

namespace agentlog::redact {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool has_percent_escape(std::string_view s) {
  for (size_t i = s.find('%'); i != std::string_view::npos && i + 2 < s.size(); i = s.find('%', i + 1)) {
    int h = hex_value(s[i + 1]), l = hex_value(s[i + 2]);
    if (h >= 0 && l >= 0 && h * 16 + l >= 0x20 && h * 16 + l < 0x7f) return true;
  }
  return false;
}

bool has_backslash_escape(std::string_view s) {
  return s.size() > 1 && std::memchr(s.data(), '\\', s.size() - 1) != nullptr;
}

bool percent_decode(std::string_view in, DecodedView& out) {
  out.text.clear();
  out.from.clear();
  out.text.reserve(in.size());
  out.from.reserve(in.size() + 1);
  bool any = false;
  for (size_t i = 0; i < in.size();) {
    if (in[i] == '%' && i + 2 < in.size()) {
      int h = hex_value(in[i + 1]), l = hex_value(in[i + 2]);
      if (h >= 0 && l >= 0 && h * 16 + l >= 0x20 && h * 16 + l < 0x7f) {
        out.text.push_back(static_cast<char>(h * 16 + l));
        out.from.push_back(static_cast<uint32_t>(i));
        i += 3;
        any = true;
        continue;
      }
    }
    // An unencoded / ? # & is structure, not content: a newline keeps a value decoded from
    // one segment from running into the next.
    char c = in[i];
    out.text.push_back(c == '/' || c == '?' || c == '#' || c == '&' ? '\n' : c);
    out.from.push_back(static_cast<uint32_t>(i));
    ++i;
  }
  out.from.push_back(static_cast<uint32_t>(in.size()));
  return any;
}

bool unescape_json(std::string_view in, DecodedView& out) {
  out.text.clear();
  out.from.clear();
  out.text.reserve(in.size());
  out.from.reserve(in.size() + 1);
  bool any = false;
  for (size_t i = 0; i < in.size();) {
    if (in[i] == '\\' && i + 1 < in.size()) {
      char c = in[i + 1], d = 0;
      size_t len = 2;
      switch (c) {
        case 'n': d = '\n'; break;
        case 'r': d = '\r'; break;
        case 't': d = '\t'; break;
        case 'b': d = '\b'; break;
        case 'f': d = '\f'; break;
        case '"': d = '"'; break;
        case '\\': d = '\\'; break;
        case '/': d = '/'; break;
        case 'u':
          if (i + 6 <= in.size()) {
            int v = 0;
            bool ok = true;
            for (size_t k = 2; k < 6; ++k) {
              int h = hex_value(in[i + k]);
              ok = ok && h >= 0;
              v = v * 16 + (h < 0 ? 0 : h);
            }
            if (ok && v > 0 && v < 0x80) {
              d = static_cast<char>(v);
              len = 6;
            }
          }
          break;
        default: break;
      }
      if (d != 0) {
        out.text.push_back(d);
        out.from.push_back(static_cast<uint32_t>(i));
        i += len;
        any = true;
        continue;
      }
    }
    out.text.push_back(in[i]);
    out.from.push_back(static_cast<uint32_t>(i));
    ++i;
  }
  out.from.push_back(static_cast<uint32_t>(in.size()));
  return any;
}

}  // namespace agentlog::redact

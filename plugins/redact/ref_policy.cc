#include "plugins/redact/ref_policy.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cstdint>
#include <cctype>

namespace agentlog::redact {
namespace {

struct HashAlg {
  std::string_view name;
  size_t hex_len;
};
constexpr HashAlg kAlgs[] = {{"md5", 32},     {"sha1", 40},         {"sha256", 64},       {"sha384", 96},
                             {"sha512", 128}, {"blake2b", 128},     {"blake2b-256", 64},  {"blake2b-512", 128},
                             {"hmac-sha256", 64}};

// Query and fragment parameters whose values are credentials (compared lowercase).
constexpr std::string_view kSecretParams[] = {
    "token", "access_token", "refresh_token", "id_token", "auth_token", "api_key", "apikey", "api-key", "key",
    "sig", "signature", "password", "passwd", "pwd", "secret", "client_secret", "code", "session", "sessionid",
    "x-amz-signature", "x-amz-credential", "x-amz-security-token", "x-goog-signature", "x-goog-credential",
    "awsaccesskeyid", "private_token", "auth"};

// 1 for the 22 hex digits, by byte value.
constexpr auto kHexTable = [] {
  std::array<uint8_t, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = 1;
  for (int c = 'a'; c <= 'f'; ++c) t[c] = 1;
  for (int c = 'A'; c <= 'F'; ++c) t[c] = 1;
  return t;
}();

bool is_hex(std::string_view s) {
  // 16 bytes at a time (SSE2 is in every x86-64): a digit, or a letter a-f once case is folded.
  size_t i = 0;
#ifdef __SSE2__
  const __m128i zero_1 = _mm_set1_epi8('0' - 1), nine_1 = _mm_set1_epi8('9' + 1);
  const __m128i a_1 = _mm_set1_epi8('a' - 1), f_1 = _mm_set1_epi8('f' + 1), fold = _mm_set1_epi8(0x20);
  for (; i + 16 <= s.size(); i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    __m128i low = _mm_or_si128(v, fold);  // bytes >= 0x80 stay negative and fail both ranges
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, zero_1), _mm_cmplt_epi8(v, nine_1));
    __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(low, a_1), _mm_cmplt_epi8(low, f_1));
    if (_mm_movemask_epi8(_mm_or_si128(digit, letter)) != 0xFFFF) return false;
  }
#endif
  uint8_t all = 1;
  for (; i < s.size(); ++i) all &= kHexTable[static_cast<unsigned char>(s[i])];
  return all != 0;
}


// Percent-decoded and lowercased, so `%74oken` and `TOKEN` are `token` too ('+' is a space).
std::string decode_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '%' && i + 2 < name.size() && hex(name[i + 1]) >= 0 && hex(name[i + 2]) >= 0) {
      c = static_cast<char>(hex(name[i + 1]) * 16 + hex(name[i + 2]));
      i += 2;
    } else if (c == '+') {
      c = ' ';
    }
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

bool is_secret_param(std::string_view name) {
  std::string n = decode_name(name);
  while (!n.empty() && n.back() == ' ') n.pop_back();  // "token " is still token
  return std::find(std::begin(kSecretParams), std::end(kSecretParams), n) != std::end(kSecretParams);
}

// Byte classes for URI parsing, one table lookup per byte (this runs on every ref).
enum : uint8_t { kBad = 1, kSchemeStart = 2, kScheme = 4, kAuthorityEnd = 8, kQueryOrFragment = 16 };
constexpr auto kUriClass = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c <= 0x20; ++c) t[c] = kBad;
  for (int c = 0x7f; c < 0x100; ++c) t[c] = c == 0x7f ? kBad : 0;
  for (unsigned char c : std::string_view("\"<>\\{}")) t[c] = kBad;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = t[c - 'a' + 'A'] = kSchemeStart | kScheme;
  for (int c = '0'; c <= '9'; ++c) t[c] = kScheme;
  for (unsigned char c : std::string_view("+-.")) t[c] = kScheme;
  for (unsigned char c : std::string_view("/?#")) t[c] = kAuthorityEnd;
  t['?'] |= kQueryOrFragment;
  t['#'] |= kQueryOrFragment;
  return t;
}();

// Length of a valid scheme followed by ':' at the start of v, or 0.
size_t scheme_len(std::string_view v) {
  if (v.empty() || !(kUriClass[static_cast<unsigned char>(v[0])] & kSchemeStart)) return 0;
  size_t i = 1;
  while (i < v.size() && (kUriClass[static_cast<unsigned char>(v[i])] & kScheme)) ++i;
  return i < v.size() && v[i] == ':' ? i : 0;
}

struct UriParts {
  size_t authority_begin = 0, authority_end = 0;  // empty for URNs
  size_t query_begin = std::string_view::npos, query_end = 0;
  size_t fragment_begin = std::string_view::npos;
};

bool parse_uri(std::string_view v, UriParts& p) {
  // One pass: no forbidden byte, and where the first '?' and '#' are (the scheme and "://"
  // before the authority cannot hold either, so these are the first after it too).
  uint8_t bad = 0;
  size_t q = std::string_view::npos, f = std::string_view::npos;
  for (size_t i = 0; i < v.size(); ++i) {
    uint8_t c = kUriClass[static_cast<unsigned char>(v[i])];
    bad |= c;
    if (c & kQueryOrFragment) {
      if (v[i] == '?' && q == std::string_view::npos) q = i;
      else if (v[i] == '#' && f == std::string_view::npos) f = i;
    }
  }
  if (bad & kBad) return false;
  size_t s = scheme_len(v);
  if (s == 0) return false;
  std::string_view rest = v.substr(s + 1);
  if (rest.substr(0, 2) == "//") {
    p.authority_begin = s + 3;
    size_t e = p.authority_begin;
    while (e < v.size() && !(kUriClass[static_cast<unsigned char>(v[e])] & kAuthorityEnd)) ++e;
    p.authority_end = e;
  } else if (s == 3 && (v[0] | 0x20) == 'u' && (v[1] | 0x20) == 'r' && (v[2] | 0x20) == 'n') {
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size()) return false;
    p.authority_begin = p.authority_end = s + 1;
  } else {
    return false;
  }
  if (q != std::string_view::npos && (f == std::string_view::npos || q < f)) {
    p.query_begin = q + 1;
    p.query_end = f == std::string_view::npos ? v.size() : f;
  }
  if (f != std::string_view::npos) p.fragment_begin = f + 1;
  return true;
}

// Calls fn(name_begin, value_begin, value_end) for each name=value of a query-like part.
template <typename Fn>
void for_each_param(std::string_view v, size_t begin, size_t end, Fn fn) {
  size_t i = begin;
  while (i < end) {
    size_t amp = v.find('&', i);
    if (amp == std::string_view::npos || amp > end) amp = end;
    size_t eq = v.find('=', i);
    if (eq != std::string_view::npos && eq < amp) fn(i, eq + 1, amp);
    i = amp + 1;
  }
}

bool has_password(std::string_view v, const UriParts& p, size_t& pw_begin, size_t& pw_end) {
  std::string_view auth = v.substr(p.authority_begin, p.authority_end - p.authority_begin);
  size_t at = auth.rfind('@');
  if (at == std::string_view::npos) return false;
  size_t colon = auth.find(':');
  if (colon == std::string_view::npos || colon > at || colon + 1 == at) return false;
  pw_begin = p.authority_begin + colon + 1;
  pw_end = p.authority_begin + at;
  return true;
}

// Webhook URLs whose path is the secret: anyone holding the URL can post. The host (or a
// subdomain of it) and the path prefix before the secret part.
struct Webhook {
  std::string_view host, path_prefix;
};
constexpr Webhook kWebhooks[] = {
    {"hooks.slack.com", "/services/"},   {"hooks.slack.com", "/workflows/"},  {"hooks.slack.com", "/triggers/"},
    {"webhook.office.com", "/webhookb2/"}, {"outlook.office.com", "/webhook/"}, {"outlook.office365.com", "/webhook/"},
    {"discord.com", "/api/webhooks/"},   {"discordapp.com", "/api/webhooks/"}, {"hooks.zapier.com", "/hooks/catch/"},
    {"maker.ifttt.com", "/trigger/"},    {"maker.ifttt.com", "/use/"},         {"api.telegram.org", "/bot"},
    {"open.feishu.cn", "/open-apis/bot/v2/hook/"}, {"open.larksuite.com", "/open-apis/bot/v2/hook/"},
    {"grafana.net", "/oncall/integrations/v1/"}, {"webexapis.com", "/v1/webhooks/incoming/"},
};

// Mattermost and others: a path segment "hooks" followed by a 26-char lowercase id.
bool mattermost_hook(std::string_view path, size_t& b, size_t& e) {
  for (size_t at = path.find("/hooks/"); at != std::string_view::npos; at = path.find("/hooks/", at + 1)) {
    size_t s = at + 7, i = s;
    while (i < path.size() && ((path[i] >= 'a' && path[i] <= 'z') || (path[i] >= '0' && path[i] <= '9'))) ++i;
    if (i - s == 26 && (i == path.size() || path[i] == '/')) {
      b = s;
      e = i;
      return true;
    }
  }
  return false;
}

// The secret part [b, e) of a webhook URL's path, if `v` is one.
bool webhook_secret(std::string_view v, const UriParts& p, size_t& b, size_t& e) {
  if (p.authority_end <= p.authority_begin) return false;
  std::string_view host = v.substr(p.authority_begin, p.authority_end - p.authority_begin);
  if (size_t at = host.rfind('@'); at != std::string_view::npos) host.remove_prefix(at + 1);
  if (size_t colon = host.rfind(':'); colon != std::string_view::npos && host.find(']') == std::string_view::npos)
    host = host.substr(0, colon);
  // Host names are at most 253 bytes; a longer one is no webhook host.
  if (host.size() > 253) return false;
  char buf[256];
  for (size_t i = 0; i < host.size(); ++i) buf[i] = static_cast<char>(host[i] >= 'A' && host[i] <= 'Z' ? host[i] + 32 : host[i]);
  std::string_view h(buf, host.size());
  size_t path_end = std::min({v.size(), p.query_begin == std::string_view::npos ? v.size() : p.query_begin - 1,
                              p.fragment_begin == std::string_view::npos ? v.size() : p.fragment_begin - 1});
  std::string_view path = v.substr(p.authority_end, path_end - p.authority_end);
  for (const auto& w : kWebhooks) {
    bool host_ok = h == w.host || (h.size() > w.host.size() && h.ends_with(w.host) && h[h.size() - w.host.size() - 1] == '.');
    if (!host_ok || !path.starts_with(w.path_prefix) || path.size() <= w.path_prefix.size()) continue;
    b = p.authority_end + w.path_prefix.size();
    e = path_end;
    return true;
  }
  size_t mb, me;
  if (mattermost_hook(path, mb, me)) {
    b = p.authority_end + mb;
    e = p.authority_end + me;
    return true;
  }
  return false;
}

}  // namespace

bool is_hash_ref(std::string_view v) {
  // Hex lengths of the known algorithms: 32, 40, 64, 96, 128. Check the cheap things first.
  size_t colon = 0;  // within the first 12 bytes (the longest name is hmac-sha256)
  while (colon < v.size() && colon <= 12 && v[colon] != ':') ++colon;
  if (colon == v.size() || colon > 12) return false;
  size_t hex_len = v.size() - colon - 1;
  if (hex_len != 32 && hex_len != 40 && hex_len != 64 && hex_len != 96 && hex_len != 128) return false;
  std::string_view alg = v.substr(0, colon);
  for (const auto& a : kAlgs)
    if (a.name == alg) return hex_len == a.hex_len && is_hex(v.substr(colon + 1));
  return false;
}

RefKind classify_ref(std::string_view v) {
  if (is_hash_ref(v)) return RefKind::HashRef;
  UriParts p;
  if (!parse_uri(v, p)) return RefKind::Raw;
  size_t b, e;
  if (has_password(v, p, b, e) || webhook_secret(v, p, b, e)) return RefKind::UriWithSecrets;
  bool secret = false;
  auto check = [&](size_t nb, size_t vb, size_t ve) {
    if (ve > vb && is_secret_param(v.substr(nb, vb - 1 - nb))) secret = true;
  };
  if (p.query_begin != std::string_view::npos) for_each_param(v, p.query_begin, p.query_end, check);
  if (p.fragment_begin != std::string_view::npos) for_each_param(v, p.fragment_begin, v.size(), check);
  return secret ? RefKind::UriWithSecrets : RefKind::CleanUri;
}

void uri_secret_spans(std::string_view v, std::vector<UriSecret>& cuts) {
  cuts.clear();
  UriParts p;
  if (!parse_uri(v, p)) return;
  size_t b, e;
  if (has_password(v, p, b, e)) cuts.push_back({b, e, "ref-uri-password"});
  if (webhook_secret(v, p, b, e)) cuts.push_back({b, e, "ref-webhook-url"});
  auto collect = [&](size_t nb, size_t vb, size_t ve) {
    if (ve > vb && is_secret_param(v.substr(nb, vb - 1 - nb))) cuts.push_back({vb, ve, "ref-uri-query-secret"});
  };
  if (p.query_begin != std::string_view::npos) for_each_param(v, p.query_begin, p.query_end, collect);
  if (p.fragment_begin != std::string_view::npos) for_each_param(v, p.fragment_begin, v.size(), collect);
}

std::string redact_uri(std::string_view v, const std::function<std::string(std::string_view)>& token,
                       std::vector<std::string>& what) {
  std::vector<UriSecret> cuts;
  uri_secret_spans(v, cuts);
  std::string out;
  size_t at = 0;
  for (const auto& c : cuts) {
    out.append(v.substr(at, c.begin - at));
    out.append(token(v.substr(c.begin, c.end - c.begin)));
    what.emplace_back(c.rule);
    at = c.end;
  }
  out.append(v.substr(at));
  return out;
}

}  // namespace agentlog::redact

#include "core/hashing.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace agentlog {
namespace {
std::string to_hex(const unsigned char* p, unsigned n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (unsigned i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 15];
  }
  return out;
}
}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
  return to_hex(md, n);
}

// EVP_Digest fetches the algorithm and allocates a context on every call (about a
// microsecond in OpenSSL 3); per-record hashing keeps one fetched digest and context per thread.
struct Sha256Context {
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Sha256Context() {
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
  }
};

void append_sha256_hex(std::string& out, std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  thread_local Sha256Context c;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (!c.md || !c.ctx || !EVP_DigestInit_ex(c.ctx, c.md, nullptr) || !EVP_DigestUpdate(c.ctx, data.data(), data.size()) ||
      !EVP_DigestFinal_ex(c.ctx, md, &n))
    EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
  size_t at = out.size();
  out.resize(at + 2 * n);
  for (unsigned i = 0; i < n; ++i) {
    out[at + 2 * i] = kHex[md[i] >> 4];
    out[at + 2 * i + 1] = kHex[md[i] & 15];
  }
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &n);
  return to_hex(md, n);
}

}  // namespace agentlog

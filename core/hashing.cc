#include "core/hashing.h"

#include <cstring>
#include <initializer_list>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

namespace agentlog {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_hex_bytes(std::string& out, const unsigned char* p, unsigned n) {
  size_t at = out.size();
  out.resize(at + 2 * n);
  for (unsigned i = 0; i < n; ++i) {
    out[at + 2 * i] = kHex[p[i] >> 4];
    out[at + 2 * i + 1] = kHex[p[i] & 15];
  }
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
  // SHA-256 of the concatenation of `parts` into md (32 bytes).
  void digest(std::initializer_list<std::string_view> parts, unsigned char* md_out) {
    unsigned n = 0;
    bool ok = md && ctx && EVP_DigestInit_ex(ctx, md, nullptr);
    for (std::string_view p : parts) ok = ok && EVP_DigestUpdate(ctx, p.data(), p.size());
    if (ok && EVP_DigestFinal_ex(ctx, md_out, &n) && n == 32) return;
    // Not expected; the slow path fetches everything again.
    EVP_MD_CTX* c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha256(), nullptr);
    for (std::string_view p : parts) EVP_DigestUpdate(c, p.data(), p.size());
    EVP_DigestFinal_ex(c, md_out, &n);
    EVP_MD_CTX_free(c);
  }
};

Sha256Context& thread_context() {
  thread_local Sha256Context c;
  return c;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  std::string out;
  append_sha256_hex(out, data);
  return out;
}

void append_sha256_hex(std::string& out, std::string_view data) {
  unsigned char md[32];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  // The low-level calls: EVP's per-call dispatch (and the one-shot SHA256(), which fetches
  // the algorithm each time) cost about as much as hashing a short record.
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, data.data(), data.size());
  SHA256_Final(md, &c);
#pragma GCC diagnostic pop
  append_hex_bytes(out, md, 32);
}

// The low-level SHA-256 calls are deprecated in OpenSSL 3 in favour of EVP, whose
// per-call dispatch costs several times the hashing of a short secret; they remain part of
// OpenSSL 3's API and use the same assembly (SHA-NI where present).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static_assert(sizeof(SHA256_CTX) == 112, "HmacSha256 keeps a SHA256_CTX in 112 bytes");

HmacSha256::HmacSha256(std::string_view key) {
  // RFC 2104: a key longer than the block is hashed first; the key is zero-padded to a block.
  unsigned char block[64] = {};
  if (key.size() > 64) thread_context().digest({key}, block);
  else std::memcpy(block, key.data(), key.size());
  unsigned char inner_pad[64], outer_pad[64];
  for (size_t i = 0; i < 64; ++i) {
    inner_pad[i] = block[i] ^ 0x36;
    outer_pad[i] = block[i] ^ 0x5c;
  }
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, inner_pad, 64);
  std::memcpy(inner_.data(), &c, sizeof c);
  SHA256_Init(&c);
  SHA256_Update(&c, outer_pad, 64);
  std::memcpy(outer_.data(), &c, sizeof c);
}

void HmacSha256::append_hex(std::string& out, std::string_view data) const {
  unsigned char inner[32], md[32];
  SHA256_CTX c;
  std::memcpy(&c, inner_.data(), sizeof c);
  SHA256_Update(&c, data.data(), data.size());
  SHA256_Final(inner, &c);
  std::memcpy(&c, outer_.data(), sizeof c);
  SHA256_Update(&c, inner, 32);
  SHA256_Final(md, &c);
  append_hex_bytes(out, md, 32);
}
#pragma GCC diagnostic pop

std::string hmac_sha256_hex(std::string_view key, std::string_view data) { return HmacSha256(key).hex(data); }

}  // namespace agentlog

#include "core/hashing.h"

#include <cstring>

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

}  // namespace

// The low-level SHA-256 calls are deprecated in OpenSSL 3 in favour of EVP, whose per-call
// dispatch (and the one-shot SHA256(), which fetches the algorithm each time) costs about as
// much as hashing a short record; they remain part of OpenSSL 3's API and use the same
// assembly (SHA-NI where present).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static_assert(sizeof(SHA256_CTX) == 112, "HmacSha256 keeps a SHA256_CTX in 112 bytes");

namespace {
void sha256(std::string_view data, unsigned char* md) {
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, data.data(), data.size());
  SHA256_Final(md, &c);
}
}  // namespace

std::string sha256_hex(std::string_view data) {
  std::string out;
  append_sha256_hex(out, data);
  return out;
}

void append_sha256_hex(std::string& out, std::string_view data) {
  unsigned char md[32];
  sha256(data, md);
  append_hex_bytes(out, md, 32);
}

void append_sha256_hex(std::string& out, std::initializer_list<std::string_view> pieces) {
  SHA256_CTX c;
  SHA256_Init(&c);
  for (std::string_view p : pieces) SHA256_Update(&c, p.data(), p.size());
  unsigned char md[32];
  SHA256_Final(md, &c);
  append_hex_bytes(out, md, 32);
}

HmacSha256::HmacSha256(std::string_view key) {
  // RFC 2104: a key longer than the block is hashed first; the key is zero-padded to a block.
  unsigned char block[64] = {};
  if (key.size() > 64) sha256(key, block);
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

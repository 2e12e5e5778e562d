// SHA-256 and HMAC-SHA256 (OpenSSL) as lowercase hex.
#pragma once
#include <array>
#include <initializer_list>
#include <string>
#include <string_view>

namespace agentlog {

std::string sha256_hex(std::string_view data);
// Appends the 64 hex digits to `out` (no temporary string).
void append_sha256_hex(std::string& out, std::string_view data);
// The same for data given in pieces (hashed as if joined, with no joined copy).
void append_sha256_hex(std::string& out, std::initializer_list<std::string_view> pieces);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// HMAC-SHA256 under one key, for hashing many messages: the SHA-256 states after the key's
// pad blocks are made once, and each message costs two short hashes (OpenSSL's one-shot
// HMAC() fetches the algorithm and allocates contexts on every call, which cost more than
// the hashing of a short secret). Safe to use from several threads at once.
class HmacSha256 {
 public:
  HmacSha256() = default;
  explicit HmacSha256(std::string_view key);
  // Appends the 64 hex digits of HMAC-SHA256(key, data) to `out`.
  void append_hex(std::string& out, std::string_view data) const;
  std::string hex(std::string_view data) const {
    std::string out;
    append_hex(out, data);
    return out;
  }

 private:
  // SHA-256 states after the key's inner and outer pad blocks (OpenSSL's SHA256_CTX, kept
  // as bytes so this header needs no OpenSSL include): each message costs two short hashes.
  alignas(8) std::array<unsigned char, 112> inner_{}, outer_{};
};

}  // namespace agentlog

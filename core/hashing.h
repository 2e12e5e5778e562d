// SHA-256 and HMAC-SHA256 (OpenSSL) as lowercase hex.
#pragma once
#include <string>
#include <string_view>

namespace agentlog {

std::string sha256_hex(std::string_view data);
// Appends the 64 hex digits to `out` (no temporary string).
void append_sha256_hex(std::string& out, std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

}  // namespace agentlog

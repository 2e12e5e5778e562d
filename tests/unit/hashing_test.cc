// SHA-256 and HMAC-SHA256 against published test vectors (FIPS 180-2 examples, RFC 4231).
#include <catch2/catch.hpp>

#include <string>
#include <thread>

#include "core/hashing.h"

using agentlog::append_sha256_hex;
using agentlog::hmac_sha256_hex;
using agentlog::HmacSha256;
using agentlog::sha256_hex;

namespace {
std::string from_hex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}
}  // namespace

TEST_CASE("sha256_hex matches the FIPS 180-2 examples", "[hashing]") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  std::string out = "sha256:";
  append_sha256_hex(out, "abc");
  CHECK(out == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("HMAC-SHA256 matches RFC 4231's test cases", "[hashing]") {
  // Test case 1: a 20-byte key.
  CHECK(hmac_sha256_hex(std::string(20, '\x0b'), "Hi There") ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: a key shorter than the output.
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 3: 50 bytes of 0xdd under a 20-byte key of 0xaa.
  CHECK(hmac_sha256_hex(std::string(20, '\xaa'), std::string(50, '\xdd')) ==
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  // Test case 4: a 25-byte key 0x01..0x19.
  CHECK(hmac_sha256_hex(from_hex("0102030405060708090a0b0c0d0e0f10111213141516171819"), std::string(50, '\xcd')) ==
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  // Test case 6: a 131-byte key, longer than the block (hashed first).
  CHECK(hmac_sha256_hex(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First") ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  // Test case 7: a long key and a long message.
  CHECK(hmac_sha256_hex(std::string(131, '\xaa'),
                        "This is a test using a larger than block-size key and a larger than block-size data. The key "
                        "needs to be hashed before being used by the HMAC algorithm.") ==
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST_CASE("a keyed HmacSha256 gives the same digests as one-shot HMAC, on several threads", "[hashing]") {
  const std::string key = "bench-only-key-0123456789abcdef";
  HmacSha256 h(key);
  std::string out = "hmac-sha256:";
  h.append_hex(out, "Jefe");
  CHECK(out == "hmac-sha256:" + hmac_sha256_hex(key, "Jefe"));
  // A 64-byte key is used as it is; 65 bytes are hashed first.
  CHECK(HmacSha256(std::string(64, 'k')).hex("m") != HmacSha256(std::string(65, 'k')).hex("m"));
  std::string expected[4];
  for (int t = 0; t < 4; ++t) expected[t] = hmac_sha256_hex(key, "message " + std::to_string(t));
  bool same[4] = {};
  std::thread threads[4];
  for (int t = 0; t < 4; ++t)
    threads[t] = std::thread([&, t] {
      bool ok = true;
      for (int i = 0; i < 200; ++i) ok = ok && h.hex("message " + std::to_string(t)) == expected[t];
      same[t] = ok;
    });
  for (auto& th : threads) th.join();
  for (bool s : same) CHECK(s);
}

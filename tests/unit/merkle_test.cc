// The RFC 6962 Merkle tree: published roots, the incremental frontier against a naive
// recompute, and inclusion and consistency proofs for every size 1..70.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/hashing.h"
#include "core/merkle.h"
#include "core/signed_note.h"

using namespace agentlog::merkle;

namespace {
std::string hex(const Hash& h) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (unsigned char c : h) s += d[c >> 4], s += d[c & 15];
  return s;
}
std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}
// Level by level, an odd last node carried up: a second construction of RFC 6962's tree.
Hash naive_root(std::vector<Hash> level) {
  if (level.empty()) return empty_root();
  while (level.size() > 1) {
    std::vector<Hash> up;
    for (size_t i = 0; i + 1 < level.size(); i += 2) up.push_back(node_hash(level[i], level[i + 1]));
    if (level.size() % 2) up.push_back(level.back());
    level = std::move(up);
  }
  return level[0];
}
std::vector<Hash> leaves_of(size_t n) {
  std::vector<Hash> v;
  for (size_t i = 0; i < n; ++i) v.push_back(leaf_hash("{\"n\":" + std::to_string(i) + "}"));
  return v;
}
}  // namespace

TEST_CASE("leaf and node hashes are SHA-256 with the 0x00 and 0x01 prefixes", "[merkle]") {
  CHECK(hex(leaf_hash("abc")) == agentlog::sha256_hex(std::string(1, '\0') + "abc"));
  Hash a = leaf_hash("a"), b = leaf_hash("b");
  std::string joined = "\x01" + std::string(a.begin(), a.end()) + std::string(b.begin(), b.end());
  CHECK(hex(node_hash(a, b)) == agentlog::sha256_hex(joined));
  CHECK(hex(empty_root()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // Hand-computed three-leaf tree: MTH = H(1 || H(1 || l0 || l1) || l2).
  Hash l0 = leaf_hash("x"), l1 = leaf_hash("y"), l2 = leaf_hash("z");
  Frontier f;
  for (const Hash& l : {l0, l1, l2}) f.append(l);
  CHECK(f.root() == node_hash(node_hash(l0, l1), l2));
  CHECK(f.hashes().size() == 2);
}

TEST_CASE("roots match the Certificate Transparency reference vectors", "[merkle]") {
  // The eight leaves and roots of certificate-transparency's merkle_tree_test (RFC 6962).
  const std::string inputs[] = {"", bytes({0x00}), bytes({0x10}), bytes({0x20, 0x21}), bytes({0x30, 0x31}),
                                bytes({0x40, 0x41, 0x42, 0x43}), bytes({0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57}),
                                bytes({0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c,
                                       0x6d, 0x6e, 0x6f})};
  const char* roots[] = {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                         "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
                         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                         "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
                         "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
                         "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
                         "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
  Frontier f;
  for (int i = 0; i < 8; ++i) {
    f.append(leaf_hash(inputs[i]));
    CHECK(hex(f.root()) == roots[i]);
  }
}

TEST_CASE("the frontier and proofs agree with a naive recompute for sizes 1..70", "[merkle]") {
  const std::vector<Hash> all = leaves_of(70);
  Frontier f;
  for (size_t n = 1; n <= all.size(); ++n) {
    f.append(all[n - 1]);
    std::span<const Hash> d(all.data(), n);
    const Hash root = naive_root(std::vector<Hash>(d.begin(), d.end()));
    REQUIRE(f.root() == root);
    REQUIRE(root_of(d) == root);
    Frontier copy;
    REQUIRE(Frontier::restore(f.size(), f.hashes(), copy));
    REQUIRE(copy.root() == root);
    for (uint64_t i = 0; i < n; ++i) {
      auto proof = inclusion_proof(d, i);
      REQUIRE(verify_inclusion(i, n, d[i], proof, root));
      REQUIRE_FALSE(verify_inclusion(i, n, leaf_hash("forged"), proof, root));
      if (n > 1) REQUIRE_FALSE(verify_inclusion((i + 1) % n, n, d[i], proof, root));
      // The size is bound by the signed checkpoint, not the path: only the root is checked here.
      if (n < all.size()) REQUIRE_FALSE(verify_inclusion(i, n + 1, d[i], proof, root_of({all.data(), n + 1})));
    }
    for (uint64_t m = 1; m <= n; ++m) {
      const Hash old_root = root_of(d.subspan(0, m));
      auto proof = consistency_proof(d, m);
      REQUIRE(verify_consistency(m, n, old_root, root, proof));
      REQUIRE_FALSE(verify_consistency(m, n, leaf_hash("other"), root, proof));
      if (m < n) {
        // A tree whose prefix was changed is not consistent with the old root.
        std::vector<Hash> changed(d.begin(), d.end());
        changed[m - 1] = leaf_hash("edited");
        REQUIRE_FALSE(verify_consistency(m, n, old_root, root_of(changed), consistency_proof(changed, m)));
      }
    }
  }
}

TEST_CASE("proofs have the shapes of RFC 6962's examples", "[merkle]") {
  // RFC 6962 2.1.3: in the 7-leaf tree, PROOF(3, D[7]) = [c, d, g, l] with g = H(a,b), l = H(H(e,f), j).
  const std::vector<Hash> d = leaves_of(7);
  const Hash g = node_hash(d[0], d[1]), l = node_hash(node_hash(d[4], d[5]), d[6]);
  CHECK(consistency_proof(d, 3) == std::vector<Hash>{d[2], d[3], g, l});
  CHECK(consistency_proof(d, 4) == std::vector<Hash>{l});
  // PATH(0, D[7]) = [b, h, l] with h = H(c,d).
  CHECK(inclusion_proof(d, 0) == std::vector<Hash>{d[1], node_hash(d[2], d[3]), l});
  // A leaf of a 1000-leaf tree at depth 10.
  CHECK(inclusion_proof(leaves_of(1000), 0).size() == 10);
}

TEST_CASE("base64 round trips and rejects bad text", "[merkle]") {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    std::string back;
    REQUIRE(from_base64(base64(s), back));
    CHECK(back == s);
  }
  CHECK(base64(std::string("foobar")) == "Zm9vYmFy");
  CHECK(base64(std::string("fo")) == "Zm8=");
  std::string out;
  CHECK_FALSE(from_base64("Zm8", out));
  CHECK_FALSE(from_base64("Zm=8", out));
  CHECK_FALSE(from_base64("Z!8=", out));
}

TEST_CASE("whole_notes_end stops after the last signature line", "[merkle]") {
  using agentlog::note::whole_notes_end;
  const std::string one = "o\n1\nroot=\n\n\xe2\x80\x94 k c2ln\n";
  CHECK(whole_notes_end("") == 0);
  CHECK(whole_notes_end(one) == one.size());
  CHECK(whole_notes_end(one + one) == 2 * one.size());
  // A torn second note, cut anywhere (also inside its signature line), ends at the first.
  for (size_t n = 1; n < one.size(); ++n) CHECK(whole_notes_end(one + one.substr(0, n)) == one.size());
  CHECK(whole_notes_end(one.substr(0, one.size() - 1)) == 0);
}

#include "core/merkle.h"

#include <bit>
#include <cstring>

#include <openssl/sha.h>

namespace agentlog::merkle {

// The low-level SHA-256 calls skip EVP's per-call dispatch, which costs more than hashing a
// 65-byte node (see core/hashing.cc).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
Hash leaf_hash(std::string_view line) {
  Hash h;
  SHA256_CTX c;
  SHA256_Init(&c);
  const unsigned char zero = 0;
  SHA256_Update(&c, &zero, 1);
  SHA256_Update(&c, line.data(), line.size());
  SHA256_Final(h.data(), &c);
  return h;
}

Hash leaf_hash_of_pieces(std::string_view a, std::string_view b, std::string_view c) {
  Hash h;
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  const unsigned char zero = 0;
  SHA256_Update(&ctx, &zero, 1);
  SHA256_Update(&ctx, a.data(), a.size());
  SHA256_Update(&ctx, b.data(), b.size());
  SHA256_Update(&ctx, c.data(), c.size());
  SHA256_Final(h.data(), &ctx);
  return h;
}

Hash node_hash(const Hash& left, const Hash& right) {
  unsigned char buf[65];
  buf[0] = 1;
  std::memcpy(buf + 1, left.data(), 32);
  std::memcpy(buf + 33, right.data(), 32);
  // SHA256() one-shot fetches the algorithm on every call in OpenSSL 3 (about 1 us).
  Hash h;
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, buf, sizeof buf);
  SHA256_Final(h.data(), &c);
  return h;
}

Hash empty_root() {
  Hash h;
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Final(h.data(), &c);
  return h;
}
#pragma GCC diagnostic pop

void Frontier::append(const Hash& leaf) {
  Hash h = leaf;
  // Each trailing one bit of the old size is a subtree of the new leaf's size: merge them.
  for (uint64_t s = size_; s & 1; s >>= 1) {
    h = node_hash(hashes_.back(), h);
    hashes_.pop_back();
  }
  hashes_.push_back(h);
  ++size_;
}

Hash Frontier::root() const {
  if (hashes_.empty()) return empty_root();
  Hash r = hashes_.back();
  for (size_t i = hashes_.size() - 1; i-- > 0;) r = node_hash(hashes_[i], r);
  return r;
}

bool Frontier::restore(uint64_t size, std::vector<Hash> hashes, Frontier& out) {
  if (static_cast<size_t>(std::popcount(size)) != hashes.size()) return false;
  out.size_ = size;
  out.hashes_ = std::move(hashes);
  return true;
}

namespace {
// The largest power of two smaller than n (n >= 2).
uint64_t split_point(uint64_t n) { return std::bit_floor(n - 1); }

void path(std::span<const Hash> d, uint64_t m, std::vector<Hash>& out) {
  if (d.size() <= 1) return;
  const uint64_t k = split_point(d.size());
  if (m < k) {
    path(d.subspan(0, k), m, out);
    out.push_back(root_of(d.subspan(k)));
  } else {
    path(d.subspan(k), m - k, out);
    out.push_back(root_of(d.subspan(0, k)));
  }
}

void subproof(std::span<const Hash> d, uint64_t m, bool whole, std::vector<Hash>& out) {
  if (m == d.size()) {
    if (!whole) out.push_back(root_of(d));
    return;
  }
  const uint64_t k = split_point(d.size());
  if (m <= k) {
    subproof(d.subspan(0, k), m, whole, out);
    out.push_back(root_of(d.subspan(k)));
  } else {
    subproof(d.subspan(k), m - k, false, out);
    out.push_back(root_of(d.subspan(0, k)));
  }
}
}  // namespace

Hash root_of(std::span<const Hash> leaves) {
  if (leaves.empty()) return empty_root();
  if (leaves.size() == 1) return leaves[0];
  const uint64_t k = split_point(leaves.size());
  return node_hash(root_of(leaves.subspan(0, k)), root_of(leaves.subspan(k)));
}

std::vector<Hash> inclusion_proof(std::span<const Hash> leaves, uint64_t index) {
  std::vector<Hash> out;
  if (index < leaves.size()) path(leaves, index, out);
  return out;
}

std::vector<Hash> consistency_proof(std::span<const Hash> leaves, uint64_t m) {
  std::vector<Hash> out;
  if (m > 0 && m <= leaves.size()) subproof(leaves, m, true, out);
  return out;
}

bool verify_inclusion(uint64_t index, uint64_t size, const Hash& leaf, std::span<const Hash> proof, const Hash& root) {
  if (index >= size) return false;
  uint64_t fn = index, sn = size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = node_hash(p, r);
      while (!(fn & 1) && fn != 0) fn >>= 1, sn >>= 1;
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1, sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool verify_consistency(uint64_t first, uint64_t second, const Hash& first_root, const Hash& second_root,
                        std::span<const Hash> proof) {
  if (first > second) return false;
  if (first == second) return proof.empty() && first_root == second_root;
  if (first == 0) return proof.empty() && first_root == empty_root();
  std::vector<Hash> p(proof.begin(), proof.end());
  // A first tree that is a perfect subtree is not in the proof: it is its own root.
  if (std::has_single_bit(first)) p.insert(p.begin(), first_root);
  if (p.empty()) return false;
  uint64_t fn = first - 1, sn = second - 1;
  while (fn & 1) fn >>= 1, sn >>= 1;
  Hash fr = p[0], sr = p[0];
  for (size_t i = 1; i < p.size(); ++i) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = node_hash(p[i], fr);
      sr = node_hash(p[i], sr);
      while (!(fn & 1) && fn != 0) fn >>= 1, sn >>= 1;
    } else {
      sr = node_hash(sr, p[i]);
    }
    fn >>= 1, sn >>= 1;
  }
  return fr == first_root && sr == second_root && sn == 0;
}

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

std::string base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    for (int s : {18, 12, 6, 0}) out.push_back(kB64[(v >> s) & 63]);
  }
  if (const size_t rest = bytes.size() - i; rest > 0) {
    const uint32_t v = (p[i] << 16) | (rest == 2 ? p[i + 1] << 8 : 0);
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kB64[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

bool from_base64(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 != 0) return false;
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=' && last && j >= 2) {
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0 || (v[j] = b64_value(c)) < 0) return false;
    }
    const uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<char>(n >> 16));
    if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 255));
    if (pad < 1) out.push_back(static_cast<char>(n & 255));
  }
  return true;
}

bool hash_from_base64(std::string_view text, Hash& out) {
  std::string bytes;
  if (!from_base64(text, bytes) || bytes.size() != 32) return false;
  std::memcpy(out.data(), bytes.data(), 32);
  return true;
}

}  // namespace agentlog::merkle

// RFC 6962 / RFC 9162 Merkle tree hashing: leaf and node hashes, an incremental tree that
// keeps only its right edge (the "frontier", one hash per set bit of the size), and
// inclusion and consistency proofs with their checks.
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace agentlog::merkle {

using Hash = std::array<unsigned char, 32>;

// SHA-256(0x00 || line): the line without its newline.
Hash leaf_hash(std::string_view line);
// The same for a line given in pieces (Record::byte_pieces), hashed as if joined.
Hash leaf_hash_of_pieces(std::string_view a, std::string_view b, std::string_view c);
// SHA-256(0x01 || left || right).
Hash node_hash(const Hash& left, const Hash& right);
// The root of the empty tree: SHA-256 of nothing.
Hash empty_root();

// An append-only tree in O(log n) memory.
class Frontier {
 public:
  void append(const Hash& leaf);
  uint64_t size() const { return size_; }
  Hash root() const;
  // The perfect subtrees of the right edge, largest (leftmost) first: one per set bit of size().
  const std::vector<Hash>& hashes() const { return hashes_; }
  // Rebuilds a frontier from size() and hashes(); false when their counts disagree.
  static bool restore(uint64_t size, std::vector<Hash> hashes, Frontier& out);

 private:
  uint64_t size_ = 0;
  std::vector<Hash> hashes_;
};

// MTH(D[n]) over stored leaf hashes (recursive, RFC 6962 2.1).
Hash root_of(std::span<const Hash> leaves);
// PATH(index, D[n]): the audit path of one leaf.
std::vector<Hash> inclusion_proof(std::span<const Hash> leaves, uint64_t index);
// PROOF(m, D[n]): shows the tree of the first m leaves is a prefix of this one (0 < m <= n).
std::vector<Hash> consistency_proof(std::span<const Hash> leaves, uint64_t m);
// RFC 9162 2.1.3.2.
bool verify_inclusion(uint64_t index, uint64_t size, const Hash& leaf, std::span<const Hash> proof, const Hash& root);
// RFC 9162 2.1.4.2 (first == second needs an empty proof and equal roots).
bool verify_consistency(uint64_t first, uint64_t second, const Hash& first_root, const Hash& second_root,
                        std::span<const Hash> proof);

std::string base64(std::string_view bytes);
inline std::string base64(const Hash& h) {
  return base64(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}
// Strict standard base64 with padding; false on anything else.
bool from_base64(std::string_view text, std::string& out);
bool hash_from_base64(std::string_view text, Hash& out);

}  // namespace agentlog::merkle

// Stage `collision`'s memory: the agent that established each id (by key hash), kept in a
// ring of at most max_keys owners (when full, the oldest id is forgotten), with a hash index,
// the target each id maps to and the reusing agents already warned about.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/hash_index.h"
#include "core/paged_array.h"

namespace agentlog::plugins::collision {

// 32 bytes and trivially copyable, in a PagedArray of huge pages (when the ring was a growing
// vector, its fresh 4 KiB pages cost ~100 ns per record in page faults on the benchmark VM).
// The target is kept beside it (touched only when the record names one), up to 32 bytes in
// `targets_`, longer in `long_targets_`; so is the rare list of agents already warned about.
struct Owner {
  uint64_t hash;
  uint64_t line;
  uint32_t source;
  uint32_t agent;  // interned by the stage
  uint32_t target_len;
  uint32_t unused;
};
static_assert(sizeof(Owner) == 32);

class OwnerTable {
 public:
  static constexpr uint32_t kNone = HashIndex::kNone;

  explicit OwnerTable(size_t max_keys = 1000000) : max_keys_(max_keys) {}
  void set_max_keys(size_t max_keys) {
    max_keys_ = max_keys;
    // From 2 MiB (131,072 keys of 8-byte buckets) on, index growth maps untouched huge pages;
    // skip the small tables before it, which fault in 4 KiB at a time. Not before the first
    // table fills: a run of a few ids needs no 2 MiB.
    index_.reserve_when_full(std::min<size_t>(max_keys, size_t{1} << 17));
  }

  void prefetch(uint64_t hash) const { index_.prefetch(hash); }
  // The slot of the id with this key hash, or kNone.
  uint32_t find(uint64_t hash) const {
    return index_.find(hash, [&](uint32_t s) { return ring_[s].hash == hash; });
  }
  // Remembers a new id's owner, forgetting the oldest id when the ring is full.
  void establish(uint64_t hash, uint32_t agent, uint32_t source, uint64_t line, std::string_view target) {
    uint32_t slot;
    if (used_ < max_keys_) {
      if (used_ == ring_.size()) ring_.grow_to(used_ + 1, max_keys_);
      slot = static_cast<uint32_t>(used_++);
    } else {
      slot = static_cast<uint32_t>(next_);
      index_.erase(ring_[slot].hash, slot);
      if (ring_[slot].target_len > TargetCell::kBytes) long_targets_.erase(slot);
      next_ = (next_ + 1) % max_keys_;
      ++forgotten_;
    }
    Owner& owner = ring_[slot];
    owner.hash = hash;
    owner.agent = agent;
    owner.source = source;
    owner.line = line;
    put_target(slot, owner, target);
    if (!warned_.empty()) warned_.erase(slot);
    index_.insert(hash, slot);
  }
  const Owner& owner(uint32_t slot) const { return ring_[slot]; }
  std::string_view target_of(uint32_t slot) const {
    const Owner& o = ring_[slot];
    if (o.target_len == 0) return {};
    if (o.target_len <= TargetCell::kBytes) return {targets_[slot].bytes, o.target_len};
    return long_targets_.at(slot);
  }
  // True the first time `agent` is reported for the id in `slot` (one warning per id and agent).
  bool first_warning(uint32_t slot, uint32_t agent);

  // Follow-mode state: the owners oldest first, each with its target and warned agents.
  template <class F>
  void for_each_oldest_first(F&& f) const {
    const size_t start = used_ < max_keys_ ? 0 : next_;
    for (size_t k = 0; k < used_; ++k) {
      const uint32_t slot = static_cast<uint32_t>((start + k) % used_);
      auto w = warned_.find(slot);
      f(ring_[slot], target_of(slot), w == warned_.end() ? kNoAgents : w->second);
    }
  }
  // Appends a restored owner (at most max_keys of them, oldest first, each hash once).
  void restore(uint64_t hash, uint32_t agent, uint32_t source, uint64_t line, std::string_view target,
               std::vector<uint32_t> warned);
  void count_forgotten(uint64_t n) { forgotten_ += n; }

  size_t size() const { return index_.size(); }
  size_t max_keys() const { return max_keys_; }
  uint64_t forgotten() const { return forgotten_; }

 private:
  struct TargetCell {
    static constexpr size_t kBytes = 32;
    char bytes[kBytes];
  };
  inline static const std::vector<uint32_t> kNoAgents;

  void put_target(uint32_t slot, Owner& owner, std::string_view target) {
    owner.target_len = static_cast<uint32_t>(target.size());
    if (target.size() > TargetCell::kBytes) {
      long_targets_[slot] = std::string(target);
    } else if (!target.empty()) {
      targets_.grow_to(slot + 1, max_keys_);
      std::memcpy(targets_[slot].bytes, target.data(), target.size());
    }
  }

  size_t max_keys_;
  PagedArray<Owner> ring_;
  PagedArray<TargetCell> targets_;  // ring slot -> target of up to 32 bytes
  size_t used_ = 0;                 // ring slots holding an owner
  std::unordered_map<uint32_t, std::string> long_targets_;      // ring slot -> target longer than 32 bytes
  std::unordered_map<uint32_t, std::vector<uint32_t>> warned_;  // ring slot -> reusing agents warned about
  size_t next_ = 0;  // the ring slot to reuse next once full
  HashIndex index_;
  uint64_t forgotten_ = 0;
};

}  // namespace agentlog::plugins::collision

#include "plugins/collision/owner_table.h"

#include <algorithm>

namespace agentlog::plugins::collision {

bool OwnerTable::first_warning(uint32_t slot, uint32_t agent) {
  std::vector<uint32_t>& warned = warned_[slot];  // bounded with the ring: cleared when the slot is reused
  if (std::find(warned.begin(), warned.end(), agent) != warned.end()) return false;
  warned.push_back(agent);
  return true;
}

void OwnerTable::restore(uint64_t hash, uint32_t agent, uint32_t source, uint64_t line, std::string_view target,
                         std::vector<uint32_t> warned) {
  if (used_ == ring_.size()) ring_.grow_to(used_ + 1, max_keys_);
  const uint32_t slot = static_cast<uint32_t>(used_++);
  Owner& o = ring_[slot];
  o = {hash, line, source, agent, 0, 0};
  put_target(slot, o, target);
  if (!warned.empty()) warned_[slot] = std::move(warned);
  index_.insert(hash, slot);
}

}  // namespace agentlog::plugins::collision

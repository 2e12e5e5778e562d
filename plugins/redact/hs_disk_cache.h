// On-disk cache of a rule set's compiled Hyperscan databases (see hs_disk_cache.cc).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

struct hs_database;

namespace agentlog::redact {

// What HsDatabase::build computes for a rule set. The databases are owned by the caller.
struct CachedDatabases {
  hs_database* db = nullptr;
  hs_database* gate = nullptr;
  bool gate_complete = false;
  std::vector<uint32_t> modes;  // HsDatabase::Mode values
  std::vector<uint32_t> max_width, min_width;
  std::vector<uint8_t> sensitive;
  std::vector<uint32_t> gate_wide;
};

// `key` names the rule set (its patterns and keywords). Load: false when there is no usable
// cached copy. Store: best effort, silent on failure.
bool load_cached_databases(const std::string& key, CachedDatabases& out);
void store_cached_databases(const std::string& key, const CachedDatabases& c);

}  // namespace agentlog::redact

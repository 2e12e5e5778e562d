#include "core/top_fields.h"

namespace agentlog {

uint32_t TopFieldRegistry::intern(std::string_view name) {
  if (uint32_t id = find(name); id != kNone) return id;
  Data& d = data();
  d.names.emplace_back(name);
  uint32_t id = static_cast<uint32_t>(d.names.size() - 1);
  const std::string& stored = d.names.back();
  d.by_len[stored.size() < 64 ? stored.size() : 64].push_back({head_of(stored.data(), stored.size()), stored.c_str(), id});
  return id;
}

}  // namespace agentlog

#include "core/top_fields.h"

#include <algorithm>

namespace agentlog {

uint32_t TopFieldRegistry::intern(std::string_view name) {
  if (uint32_t id = find(name); id != kNone) return id;
  Data& d = data();
  d.names.emplace_back(name);
  const std::string& stored = d.names.back();
  Slot s;
  s.len = static_cast<uint32_t>(stored.size());
  s.id = d.count++;
  s.name = stored.c_str();
  char buf[16] = {};
  std::memcpy(buf, stored.data(), std::min<size_t>(stored.size(), 16));
  std::memcpy(&s.w0, buf, 8);
  std::memcpy(&s.w1, buf + 8, 8);
  auto mask = [](size_t bytes) { return bytes >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * bytes)) - 1; };
  s.m0 = mask(std::min<size_t>(stored.size(), 8));
  s.m1 = mask(stored.size() > 8 ? std::min<size_t>(stored.size() - 8, 8) : 0);
  // Appended to the chain of its first byte and length (c_str: an empty name's byte is 0).
  uint32_t* link = &d.first[entry(stored.c_str(), stored.size())];
  while (*link != 0) link = &d.slots[*link].next;
  *link = static_cast<uint32_t>(d.slots.size());
  d.slots.push_back(s);
  return s.id;
}

}  // namespace agentlog

#include "core/top_fields.h"

#include <algorithm>

namespace agentlog {

namespace {
void place(TopFieldRegistry::Data& d, const TopFieldRegistry::Slot& s) {
  const size_t mask = d.table.size() - 1;
  size_t i = TopFieldRegistry::home(d, s.w0, s.len);
  while (d.table[i].id != TopFieldRegistry::kNone) i = (i + 1) & mask;
  d.table[i] = s;
}
}  // namespace

uint32_t TopFieldRegistry::intern(std::string_view name) {
  if (uint32_t id = find(name); id != kNone) return id;
  Data& d = data();
  d.names.emplace_back(name);
  uint32_t id = d.count++;
  const std::string& stored = d.names.back();
  const char* p = stored.c_str();
  d.first_len[static_cast<unsigned char>(p[0])] |= uint64_t{1} << std::min<size_t>(stored.size(), 63);
  char buf[16] = {};
  std::memcpy(buf, p, std::min<size_t>(stored.size(), 16));
  Slot s{word(buf, stored.size(), 0), word(buf, stored.size(), 8), static_cast<uint32_t>(stored.size()), id, p};
  // At most a quarter full, so a miss usually ends at the first probe.
  if ((d.names.size()) * 4 > d.table.size()) {
    std::vector<Slot> old(d.table.size() * 2);
    old.swap(d.table);
    --d.shift;
    for (const Slot& o : old)
      if (o.id != kNone) place(d, o);
  }
  place(d, s);
  return id;
}

}  // namespace agentlog

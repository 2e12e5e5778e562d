// The `nats` output's messages between publish and ack, by the library's message pointer
// (its ack callback names only the message), with what the output keeps of each: open
// addressing with linear probing and backward-shift deletion, so that a record costs no
// allocation (a std::unordered_map node per record cost the publish path measurably:
// malloc was 46% of the edge's time).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace agentlog::plugins::nats {

template <class Key, class Value>
class PendingTable {
 public:
  size_t size() const { return size_; }
  // `key` must not be in the table.
  void insert(Key* key, const Value& value) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    size_t i = home(key);
    while (slots_[i].key) i = (i + 1) & mask_;
    slots_[i] = {key, value};
    ++size_;
  }
  // Removes `key`, its value into `value`; false when it is not there.
  bool take(Key* key, Value& value) {
    if (slots_.empty() || !key) return false;
    size_t i = home(key);
    while (slots_[i].key != key) {
      if (!slots_[i].key) return false;
      i = (i + 1) & mask_;
    }
    value = slots_[i].value;
    // Backward shift: an entry further along the probe run moves into the hole unless its
    // home lies after the hole (it would then be unreachable from its home).
    for (size_t j = (i + 1) & mask_; slots_[j].key; j = (j + 1) & mask_) {
      if (((j - home(slots_[j].key)) & mask_) >= ((j - i) & mask_)) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = {};
    --size_;
    return true;
  }

 private:
  struct Slot {
    Key* key = nullptr;
    Value value{};
  };
  size_t home(Key* key) const {
    return static_cast<size_t>((reinterpret_cast<uintptr_t>(key) >> 4) * 0x9E3779B97F4A7C15ull >> 20) & mask_;
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(std::max<size_t>(64, old.size() * 2), Slot{});
    mask_ = slots_.size() - 1;
    size_ = 0;
    for (const Slot& slot : old)
      if (slot.key) insert(slot.key, slot.value);
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0, size_ = 0;
};

}  // namespace agentlog::plugins::nats

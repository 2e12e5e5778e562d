// PendingTable (plugins/nats/pending_table.h): the nats output's messages between publish and
// ack. Random inserts and removals, checked against std::unordered_map, including clustered
// keys (neighbouring heap addresses) and removals that shift probe runs across the wrap.
#include <catch2/catch.hpp>

#include <random>
#include <unordered_map>
#include <vector>

#include "plugins/nats/pending_table.h"

using agentlog::plugins::nats::PendingTable;

TEST_CASE("PendingTable keeps every entry through random inserts and removals", "[nats]") {
  std::vector<char> arena(1 << 20);
  for (uint32_t seed : {1u, 2u, 3u}) {
    std::mt19937 rng(seed);
    PendingTable<char, uint64_t> table;
    std::unordered_map<char*, uint64_t> model;
    std::vector<char*> keys;
    for (int step = 0; step < 200000; ++step) {
      // Up to about 5000 at once (a publish window), keys 16 bytes apart as heap messages are.
      const bool add = keys.empty() || (keys.size() < 5000 && rng() % 3 != 0);
      if (add) {
        char* key = &arena[(rng() % (arena.size() / 16)) * 16];
        if (model.count(key)) continue;
        table.insert(key, static_cast<uint64_t>(step));
        model[key] = static_cast<uint64_t>(step);
        keys.push_back(key);
      } else {
        size_t at = rng() % keys.size();
        char* key = keys[at];
        keys[at] = keys.back();
        keys.pop_back();
        uint64_t value = 0;
        REQUIRE(table.take(key, value));
        REQUIRE(value == model[key]);
        model.erase(key);
        REQUIRE_FALSE(table.take(key, value));  // once only
      }
      REQUIRE(table.size() == model.size());
    }
    for (char* key : keys) {
      uint64_t value = 0;
      REQUIRE(table.take(key, value));
      REQUIRE(value == model[key]);
    }
    REQUIRE(table.size() == 0);
  }
}

TEST_CASE("PendingTable answers false for keys it never held", "[nats]") {
  PendingTable<int, int> table;
  int a = 0, b = 0;
  int value = 7;
  REQUIRE_FALSE(table.take(&a, value));
  table.insert(&a, 1);
  REQUIRE_FALSE(table.take(&b, value));
  REQUIRE_FALSE(table.take(nullptr, value));
  REQUIRE(value == 7);
  REQUIRE(table.take(&a, value));
  REQUIRE(value == 1);
}

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/interner.h"

using namespace agentlog;

// Many more strings than the 64-slot memory of recent ones, in an order that keeps
// evicting it: every string keeps its first id, and ids are dense from 0.
TEST_CASE("Interner gives each string one stable id", "[interner]") {
  Interner in;
  std::vector<std::string> words;
  for (int i = 0; i < 1000; ++i) words.push_back("agent-" + std::to_string(i * 7919 % 1000));
  words.push_back("");
  words.push_back("a-much-longer-agent-name-that-spans-several-words");
  words.push_back("a-much-longer-agent-name-that-spans-several-wordz");  // same head, other tail
  for (size_t i = 0; i < words.size(); ++i) REQUIRE(in.id(words[i]) == i);
  for (int round = 0; round < 3; ++round)
    for (size_t k = 0; k < words.size(); ++k) {
      size_t i = (k * 37 + round) % words.size();
      REQUIRE(in.id(words[i]) == i);
      REQUIRE(in.str(static_cast<uint32_t>(i)) == words[i]);
    }
  CHECK(in.quoted(static_cast<uint32_t>(words.size() - 1)) == "\"a-much-longer-agent-name-that-spans-several-wordz\"");
}

// Strings of 8 to 16 bytes are compared as two overlapping words: a difference in any one
// byte must tell them apart, also when they share the slot of the recent-strings memory.
TEST_CASE("Interner tells apart short strings that differ in one byte", "[interner]") {
  Interner in;
  std::vector<std::string> words;
  for (size_t n = 8; n <= 16; ++n) {
    std::string base(n, 'a');
    words.push_back(base);
    for (size_t at = 0; at < n; ++at) {
      std::string w = base;
      w[at] = 'b';
      words.push_back(w);
    }
  }
  for (size_t i = 0; i < words.size(); ++i) REQUIRE(in.id(words[i]) == i);
  for (size_t i = 0; i < words.size(); ++i) REQUIRE(in.id(words[i]) == i);  // now from the recent memory
}

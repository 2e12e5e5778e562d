// What the agent-log generators (gen_claude_code, gen_agent_logs) share: a small
// deterministic PRNG (splitmix64) and the words their source-like texts are made of.
#pragma once
#include <cstddef>
#include <cstdint>

namespace gen {

struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
  size_t between(size_t lo, size_t hi) { return lo + below(hi - lo + 1); }
};

constexpr const char* kWords[] = {"def", "return", "self", "import", "class", "const", "let", "if", "else", "for",
                                  "while", "value", "amount", "refund", "cache", "request", "response", "error",
                                  "user_id", "config", "test", "assert", "None", "true", "async", "await",
                                  "module", "export", "struct", "impl", "fn", "pub", "café", "naïve", "→"};

}  // namespace gen

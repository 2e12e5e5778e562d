// What the policy's rules read besides the report's totals: per-rule tallies with example
// lines, lifecycle violations by track, decisions, dead letters per input and class, and the
// duration histograms. `check` fills it from the collector; `check --merge` sums it from the
// JSON reports' `merge` sections; evaluate_rules reads it the same way in both.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "check/policy.h"

namespace agentlog::check {

struct Durations {
  uint64_t count = 0, min = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};

// Durations: exact while a tool has at most kExact samples; beyond, a histogram that is exact
// below 256 and has 128 sub-buckets per power of two above (< 1% error). Bounded memory.
// Two histograms merged give what one histogram of all the samples gives.
class Histogram {
 public:
  static constexpr size_t kExact = 4096;
  void add(uint64_t v);
  Durations summary() const;
  // The raw state, for the JSON report's merge section and --merge.
  const std::vector<uint64_t>& samples() const { return exact_; }  // empty once folded
  std::map<size_t, uint64_t> buckets() const;                       // empty while exact
  uint64_t count() const { return n_; }
  uint64_t min() const { return min_; }
  uint64_t max() const { return max_; }
  void add_buckets(const std::map<size_t, uint64_t>& b, uint64_t min, uint64_t max);

 private:
  static size_t bucket(uint64_t v);
  static uint64_t lower_bound(size_t b);
  void fold();
  std::vector<uint64_t> exact_;  // while n_ <= kExact
  std::vector<uint64_t> counts_;
  uint64_t n_ = 0, min_ = UINT64_MAX, max_ = 0;
};

struct Example {
  uint32_t source = 0;  // index into RuleData::sources
  uint64_t line = 0;
  std::string note;
};
struct Tally {
  uint64_t count = 0;
  std::vector<Example> examples;
};
// A dead letter's class: its stats key, the type of the stage that wrote it (empty for the
// input) and whether a validate stage found it of no family.
struct DeadLetterClass {
  std::string key;
  std::string stage_type;
  bool unclassified = false;
};
struct InputTally {
  uint64_t records = 0, dead = 0, lines = 0;
  uint64_t inputs = 1;                          // inputs it stands for ("(other)": more than one)
  bool input = false;                           // named in the run's sources
  std::vector<uint64_t> by_class;               // dead letters by class
  std::vector<std::vector<Example>> examples;   // by class, at most limits.examples each
};

struct RuleData {
  std::vector<std::string> sources;   // names, by index
  std::vector<InputTally> inputs;     // by source index
  bool inputs_folded = false;         // inputs past limits.max_values summed in one entry
  std::vector<DeadLetterClass> classes;
  std::vector<Tally> rule_tallies;    // by policy rule (the record rules)
  Tally schema, redacted, collisions;  // examples only; the counts are the report's
  std::map<std::pair<std::string, std::string>, Tally> lifecycle;  // (track, violation)
  uint64_t decided = 0, unknown = 0;
  std::vector<Example> unresolved_escalations;  // at most limits.examples
  std::map<std::string, Histogram> durations;   // by tool
  bool complete = true;  // the check read every input and was not interrupted
};

// An input that was read, or that records or dead letters were attributed to.
inline bool listed(const InputTally& a) { return a.input || a.records || a.dead; }

}  // namespace agentlog::check

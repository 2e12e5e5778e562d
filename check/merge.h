// `agentlog check --merge`: reads JSON reports written by `check --report json=...` (one per
// worker or per part of the input), sums their counts, evaluates the policy over the sums and
// writes the same report formats. Exit codes as `check`.
#pragma once
#include <string>
#include <vector>

namespace agentlog::check {

struct MergeOptions {
  std::string config;                // -c: the policy comes from its `policy:` (optional)
  std::string policy;                // --policy FILE
  std::vector<std::string> files;    // the JSON reports
  std::vector<std::string> reports;  // FORMAT=PATH
};

int run_merge(const MergeOptions& opts);

}  // namespace agentlog::check

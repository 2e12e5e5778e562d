// `agentlog check`: runs the pipeline with a report collector attached, evaluates the policy
// and writes the reports. Exit codes: 0 pass, 1 a rule failed, 2 usage, config or I/O error.
#pragma once
#include <string>
#include <vector>

namespace agentlog::check {

constexpr int kExitPass = 0;
constexpr int kExitFail = 1;
constexpr int kExitError = 2;

struct CheckOptions {
  std::string config;
  std::string policy;                // --policy FILE; empty: the config's `policy:` section
  std::vector<std::string> inputs;   // replace the config's inputs
  std::vector<std::string> reports;  // FORMAT=PATH; empty: the policy file's `reports:`, else text=-
  bool write_outputs = false;        // also write the pipeline's outputs and dead letters
  bool quiet = false;                // no progress
  std::string format;                // --format: the normalize stage's format (see LoadOverrides)
  std::string framing;               // --framing: every non-followed source's framing
  unsigned workers = 0;              // --workers; 0: the config's `workers:`
};

int run_check(const CheckOptions& opts);

}  // namespace agentlog::check

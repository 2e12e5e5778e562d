// Fuzz target: the YAML loaders. The first byte picks one: a pipeline config, a `check`
// policy, a lifecycle profile, a redact rule file (agentlog YAML) or a gitleaks TOML config;
// the rest is the text. Oracle: a load returns a status (OK or an error message with the
// file name), never crashes, hangs or leaks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "check/policy.h"
#include "plugins/lifecycle/lifecycle_profile.h"
#include "plugins/redact/secret_rules.h"
#include "tests/fuzz/fuzz_support.h"

using namespace agentlog;

namespace {

void expect_named(const Status& st, const char* name) {
  if (!st.ok() && st.message().find(name) == std::string::npos)
    fuzz::fail("error message does not name " + std::string(name) + ": " + st.message());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // No on-disk Hyperscan cache: each fuzzed rule set would leave a file behind.
  ::setenv("AGENTLOG_CACHE_DIR", "off", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return -1;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 5) {
    case 0: {
      PipelineSpec spec;
      expect_named(load_pipeline_text(text, "fuzz.yaml", spec), "fuzz.yaml");
      break;
    }
    case 1: {
      check::Policy policy;
      expect_named(check::load_policy_text(text, "fuzz.yaml", true, policy), "fuzz.yaml");
      break;
    }
    case 2: {
      lifecycle::Profile profile;
      expect_named(lifecycle::load_profile(text, "fuzz.yaml", profile), "fuzz.yaml");
      break;
    }
    case 3: {
      redact::RuleSet rules;
      Status st = rules.add_yaml(text, "fuzz.yaml");
      expect_named(st, "fuzz.yaml");
      if (st.ok()) rules.compile(8 << 20);
      break;
    }
    default: {
      redact::RuleSet rules;
      Status st = rules.add_gitleaks_toml(text, "fuzz.toml");
      expect_named(st, "fuzz.toml");
      if (st.ok()) rules.compile(8 << 20);
      break;
    }
  }
  return 0;
}

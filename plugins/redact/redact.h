// Stage `redact`: the ref policy for input_ref/output_ref, and secret rules (agentlog YAML or
// gitleaks TOML; Hyperscan narrows, RE2 decides) with keyed hashes, plain hashes or masks as
// replacements.
#pragma once
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "core/plugin.h"

namespace agentlog::plugins {
const PluginInfo& redact_stage_plugin();

// What the stage would replace: a field path, byte offsets within the field's string value
// (or of the member name, for a path ending in " (name)"), and the rule. Never the value.
struct RedactFinding {
  std::string field;
  size_t begin = 0, end = 0;
  std::string rule;
};

// Implemented by the redact stage, for `agentlog redact-test`.
class RedactExplainer {
 public:
  virtual ~RedactExplainer() = default;
  // Every finding in one input line, overlaps kept (the stage merges them when replacing).
  virtual void explain(std::string_view line, std::vector<RedactFinding>& out) const = 0;
};

// `agentlog redact-test -c CONFIG FILE...`: for each line of the files, where each redact
// stage of the config finds a secret (line, field path, offsets, rule id), then counts by
// rule. Returns the exit code (0, or 2 for a config or file error).
int run_redact_test(const std::string& config, const std::vector<std::string>& files, std::FILE* out, std::FILE* err);
}  // namespace agentlog::plugins

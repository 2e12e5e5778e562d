// Stage `redact`: the ref policy for input_ref/output_ref, and RE2 secret rules with keyed
// hashes, plain hashes or masks as replacements.
#pragma once
#include "core/plugin.h"

namespace agentlog::plugins {
const PluginInfo& redact_stage_plugin();
}

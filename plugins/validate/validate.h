// Stage `validate`: JSON Schema (draft 7) validation with compiled checks and valijson.
#pragma once
#include "core/plugin.h"

namespace agentlog::plugins {
const PluginInfo& validate_stage_plugin();
}

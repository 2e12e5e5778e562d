// Stage `lifecycle`: correlates lifecycles declared in YAML profiles and emits
// lifecycle_violation records; never drops a record.
#pragma once
#include "core/plugin.h"

namespace agentlog::plugins {
const PluginInfo& lifecycle_stage_plugin();
}

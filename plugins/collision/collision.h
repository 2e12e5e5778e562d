// Stage `collision`: spec 000's collision guard. The first agent to use an id owns it; a
// different agent reusing it is marked (so `lifecycle` does not thread it) and reported.
#pragma once
#include "core/plugin.h"

namespace agentlog::plugins {
const PluginInfo& collision_stage_plugin();
}

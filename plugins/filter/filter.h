// Stage `filter`: keeps or drops records by field conditions (equals, in, exists, regex).
#pragma once
#include "core/plugin.h"

namespace agentlog::plugins {
const PluginInfo& filter_stage_plugin();
}

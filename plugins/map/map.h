// Stage `map`: field operations declared in YAML (rename, copy, move, delete, default, set,
// coerce, hash) on dotted paths, and built-in profiles that turn spec 000 action events and
// spec 001 action-log records into Agent Activity Log records (spec 002).
#pragma once
#include "core/plugin.h"

namespace agentlog::plugins {
const PluginInfo& map_stage_plugin();
}

// Stage `normalize`: turns agent logs as their tools write them (Claude Code transcripts, Codex
// CLI rollouts, OpenHands event streams) into canonical Agent Activity Log records (spec 002).
// Each source line is consumed (dropped, counted by its type) and its actions are emitted as
// expanded records placed right after it; content is never copied, only hashed.
#pragma once
#include "core/plugin.h"

namespace agentlog::plugins {
const PluginInfo& normalize_stage_plugin();
}

// `format: auto`: which agent log format a source is, told from its first record. The
// shapes come from the formats' own converters (see docs/formats/*.md); each test looks at
// top-level member names and a few string values only, never at content.
#include <algorithm>

#include "plugins/normalize/normalize_format.h"

namespace agentlog::plugins::normalize {
namespace {

bool one_of(std::string_view v, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), v) != names.end();
}

}  // namespace

std::string_view detect_format(object line) {
  std::optional<std::string_view> type, event_type;
  bool session_id = false, session_id_camel = false, payload = false, int_id = false, action_or_observation = false;
  bool trajectory = false, history = false, info = false, action_rid = false, uuid = false, agent_type = false;
  bool string_id = false, timestamp = false, rollout_header = false, instance_id = false;
  for (auto [key, value] : line) {
    std::string_view text;
    if (key == "type") {
      if (value.get(text) == simdjson::SUCCESS) type = text;
    } else if (key == "event_type") {
      if (value.get(text) == simdjson::SUCCESS) event_type = text;
    } else if (key == "session_id") {
      session_id = value.is_string();
    } else if (key == "sessionId") {
      session_id_camel = value.is_string();
    } else if (key == "payload") {
      payload = value.is_object();
    } else if (key == "id") {
      int_id = value.is_int64() || value.is_uint64();
      string_id = value.is_string();
    } else if (key == "timestamp") {
      timestamp = value.is_string();
    } else if (key == "instructions" || key == "git" || key == "cli_version" || key == "originator") {
      rollout_header = true;
    } else if (key == "action" || key == "observation") {
      action_or_observation = action_or_observation || value.is_string();
    } else if (key == "trajectory") {
      trajectory = value.is_array();
    } else if (key == "history") {
      history = value.is_array();
    } else if (key == "info") {
      info = value.is_object();
    } else if (key == "action_rid") {
      action_rid = true;
    } else if (key == "uuid" || key == "parentUuid") {
      uuid = true;
    } else if (key == "instance_id") {
      instance_id = true;
    } else if (key == "agentType") {
      agent_type = value.is_string();
    }
  }
  if (event_type) {
    if (one_of(*event_type, {"agent_run", "tool_call", "tool_result", "escalation"})) return kAgentActivity;
    if (event_type->substr(0, 7) == "action_") return kActionEvent;
  }
  if (action_rid) return kActionLog;
  if (type && payload && one_of(*type, {"session_meta", "response_item", "event_msg", "turn_context", "compacted"}))
    return "codex";
  if (!type && !payload && string_id && timestamp && rollout_header) return "codex";  // a pre-RolloutLine header
  // Transcripts of some 2.1.x versions carry `session_id` too; stream-json never has `sessionId`.
  if (type && session_id && !session_id_camel && one_of(*type, {"system", "assistant", "user", "result", "stream_event"}))
    return "claude-stream-json";
  if (type && (session_id_camel || uuid || one_of(*type, {"summary", "file-history-snapshot", "queue-operation"})))
    return "claude-code";
  if (!type && agent_type) return "claude-code";  // a subagent's agent-<id>.meta.json beside its transcript
  if (int_id && action_or_observation) return "openhands";
  if (trajectory || (history && info)) return "swe-agent";
  if (!type && is_swe_agent_prediction(line)) return "swe-agent";  // preds.json, all_preds.jsonl
  if (history && instance_id) return "openhands";  // a line of an OpenHands evaluation's output.jsonl
  return {};
}

}  // namespace agentlog::plugins::normalize

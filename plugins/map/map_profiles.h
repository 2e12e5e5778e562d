// Built-in profiles of stage `map`: spec 000 action lifecycle events (`action-event`) and
// spec 001 action-log records (`action-log`) to canonical Agent Activity Log records
// (spec 002). The mapping tables are in docs/stages/map.md.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_text.h"

namespace agentlog::plugins::map {

enum class Profile : uint8_t { None, ActionEvent, ActionLog };

// The 14 required fields of spec 002, in schema order; profiles write them first.
inline constexpr std::string_view kRequiredFields[] = {
    "event_time", "agent_id",     "agent_version", "run_id",    "event_type", "actor_id",   "tool_name",
    "tool_action", "tool_target", "auth_context",  "input_ref", "output_ref", "decision",   "evidence_ref"};

// Placeholder of a required field the source does not give. Refs are always a hash or a
// URI: `urn:agentlog:unknown` when the source does not say, `urn:agentlog:none` for the
// output_ref of a call (no output yet); normalize writes the same URNs.
inline constexpr std::string_view kUnknown = "unknown";
inline constexpr std::string_view kUnknownRef = "urn:agentlog:unknown";
inline constexpr std::string_view kNoRef = "urn:agentlog:none";

// Where a profile finds the event time, in order, unless the stage sets `time_fields`.
inline constexpr std::string_view kActionEventTimeFields[] = {"event_time", "timestamp", "@timestamp", "time", "ts"};
inline constexpr std::string_view kActionLogTimeFields[] = {"timestamp", "event_time"};

struct ProfileOptions {
  std::vector<std::string> time_fields;  // empty: the profile's default list
  bool pass_other_events = true;          // action-event: records of other event types pass unchanged
};

enum class Outcome : uint8_t { Mapped, Unchanged, Failed };

// Most items listed in a tool_target before the rest are counted as ",+N more".
inline constexpr size_t kMaxTargets = 10;

// "sha256:<hex>" of a value: of the raw bytes of a string, else of its compact JSON text as
// agentlog writes it (keys in record order, numbers as written).
std::string content_hash(const json::Value& v);
// "null", "a boolean", "a number", "a string", "an array" or "an object", for messages.
const char* kind_word(const json::Value& v);

// Rewrites `record` (an object) per the profile. `bytes` is the record's text as the stage
// received it (its hash is the fallback evidence_ref). Returns false with `why` (the
// dead-letter reason) when the record cannot be mapped; `record` may then be half-written.
// Unchanged: a record the profile leaves as it is (action-event: another event type).
Outcome apply_profile(Profile p, const ProfileOptions& opts, json::Value& record, std::string_view bytes,
                      std::string& why);

}  // namespace agentlog::plugins::map

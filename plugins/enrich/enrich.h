// Stage `enrich`: adds static fields, the host name, pipeline name/version, an opt-in ingest
// time, a deterministic event id and columns from lookup tables (CSV or YAML), and
// normalises a timestamp field to RFC 3339 UTC with milliseconds. Top-level edits only.
//
// The time and YAML-scalar helpers below are shared with stage `map` (its profiles
// normalise event_time the same way).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "core/plugin.h"

namespace agentlog::plugins {
const PluginInfo& enrich_stage_plugin();
}

namespace agentlog::plugins::enrich {

// The unit an epoch number is read in, chosen by the magnitude of its integer part:
// below 1e11 seconds, below 1e14 milliseconds, below 1e17 microseconds, below 1e20
// nanoseconds; larger values are refused.
enum class EpochUnit : uint8_t { Seconds, Milliseconds, Microseconds, Nanoseconds };

// Parses a non-negative JSON number text (an integer, a fraction or an exponent form) as an
// epoch time; returns milliseconds since 1970-01-01T00:00:00Z (fractions of a millisecond
// are cut) and the unit it chose. On failure returns nullopt and sets `why`.
std::optional<int64_t> parse_epoch(std::string_view number_text, EpochUnit* unit, std::string* why);

// A time value as found in a record: an RFC 3339 string with any offset, or an epoch number
// (a JSON number, or a string holding one). `is_string` tells which JSON type `text` came
// from (for strings, `text` is the decoded content). Returns epoch milliseconds, or nullopt
// with a message that names no field (e.g. `"yesterday" is not an RFC 3339 date-time or an
// epoch number`).
std::optional<int64_t> parse_time_value(std::string_view text, bool is_string, std::string* why);

// The JSON text of a YAML scalar from a config or table: plain `true`/`false`/`null` and plain
// scalars that are JSON numbers keep their type; everything else (and every quoted or
// `!!str` scalar) is a JSON string. A YAML null node is JSON null.
std::string yaml_scalar_json(const YAML::Node& node);

// True when `s` is a number by the JSON grammar (no sign but '-', no leading zeros, no NaN).
bool is_json_number(std::string_view s);

// `s` cut to at most 64 bytes (on a UTF-8 boundary) and JSON-quoted, for messages.
std::string quoted_for_message(std::string_view s);

}  // namespace agentlog::plugins::enrich

// Lifecycle profiles, declared in YAML (lifecycles/*.yaml): which events open, advance,
// close or attach to a lifecycle, what must precede them, and how records are keyed.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/field_path.h"
#include "core/status.h"

namespace agentlog::lifecycle {

enum class Role { Open, Advance, Close, Attach, Toggle };

struct EventSpec {
  std::string name;
  int id = 0;                       // bit index within its track
  Role role = Role::Open;
  std::vector<int> after;           // event ids that may precede (empty: any)
  std::vector<std::string> after_names;
  FieldPath phase_field;            // optional: the value picks the role
  std::map<std::string, Role> phases;
  bool toggle = false;              // without a phase: open if none is open, else close
};

struct GenerateKey {
  std::string event;  // empty: never
  std::string field;
  std::string prefix;
};

struct Track {
  std::string name;
  std::vector<FieldPath> key;
  std::vector<std::vector<FieldPath>> fallbacks;  // per key field: alternatives in order
  std::vector<FieldPath> optional_key;            // appended to the key when present (turn ids)
  std::vector<EventSpec> events;
  GenerateKey generate;
  const EventSpec* find(std::string_view event) const;
};

struct Profile {
  std::string name;
  FieldPath type_field, agent_field;
  std::vector<FieldPath> time_fields;  // the first present one holds the event time
  std::vector<Track> tracks;
};

// Parses a profile; `origin` names the file in messages ("origin:line:col: path: message").
Status load_profile(const std::string& yaml_text, const std::string& origin, Profile& out);

}  // namespace agentlog::lifecycle

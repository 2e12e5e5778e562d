#include "plugins/lifecycle/lifecycle_profile.h"

#include <algorithm>

#include <yaml-cpp/yaml.h>

#include "core/options.h"

namespace agentlog::lifecycle {
namespace {

std::string at(const std::string& origin, const YAML::Node& n, const std::string& path) {
  YAML::Mark m = n.Mark();
  std::string out = origin;
  if (m.line >= 0) out += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  return out + ": " + path + ": ";
}

bool role_of(const std::string& s, Role& r) {
  if (s == "open") r = Role::Open;
  else if (s == "advance") r = Role::Advance;
  else if (s == "close") r = Role::Close;
  else if (s == "attach") r = Role::Attach;
  else return false;
  return true;
}

Status path_of(const std::string& origin, const YAML::Node& n, const std::string& where, FieldPath& out) {
  if (!n.IsScalar() || !parse_field_path(n.Scalar(), out))
    return Status::error(at(origin, n, where) + "expected a field path");
  return {};
}

Status check_keys(const std::string& origin, const YAML::Node& n, const std::string& path,
                  std::initializer_list<const char*> allowed) {
  if (!n.IsMap()) return Status::error(at(origin, n, path) + "expected a mapping");
  for (auto it = n.begin(); it != n.end(); ++it) {
    std::string k = it->first.Scalar();
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return k == a; })) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return Status::error(at(origin, it->first, path + "." + k) + "unknown key. Allowed: " + list);
    }
  }
  return {};
}

}  // namespace

const EventSpec* Track::find(std::string_view event) const {
  for (const auto& e : events)
    if (e.name == event) return &e;
  return nullptr;
}

Status load_profile(const std::string& text, const std::string& origin, Profile& out) {
  YAML::Node root;
  if (Status status = parse_yaml(text, origin, root); !status.ok()) return status;
  try {
    if (Status status =
            check_keys(origin, root, "profile", {"name", "type_field", "agent_field", "time_field", "tracks"});
        !status.ok())
      return status;
    out.name = root["name"] ? root["name"].as<std::string>() : origin;
    for (auto [key, dflt, dst] : {std::tuple{"type_field", "event_type", &out.type_field},
                                  std::tuple{"agent_field", "agent_id", &out.agent_field}}) {
      if (root[key]) {
        if (Status status = path_of(origin, root[key], key, *dst); !status.ok()) return status;
      } else {
        parse_field_path(dflt, *dst);
      }
    }
    // time_field: one field path or a list of them (producers name the time differently).
    out.time_fields.clear();
    if (YAML::Node time_fields = root["time_field"]; time_fields && time_fields.IsSequence()) {
      if (time_fields.size() == 0)
        return Status::error(at(origin, time_fields, "time_field") +
                             "expected a field path or a non-empty list of them");
      for (size_t i = 0; i < time_fields.size(); ++i) {
        FieldPath path;
        if (Status status = path_of(origin, time_fields[i], "time_field[" + std::to_string(i) + "]", path);
            !status.ok())
          return status;
        out.time_fields.push_back(std::move(path));
      }
    } else if (time_fields) {
      FieldPath path;
      if (!time_fields.IsScalar() || !parse_field_path(time_fields.Scalar(), path))
        return Status::error(at(origin, time_fields, "time_field") +
                             "expected a field path or a non-empty list of them");
      out.time_fields.push_back(std::move(path));
    } else {
      FieldPath path;
      parse_field_path("event_time", path);
      out.time_fields.push_back(std::move(path));
    }
    YAML::Node tracks = root["tracks"];
    if (!tracks || !tracks.IsSequence() || tracks.size() == 0)
      return Status::error(at(origin, root, "tracks") + "a profile needs a non-empty list of tracks");
    for (size_t t = 0; t < tracks.size(); ++t) {
      const YAML::Node track_node = tracks[t];
      std::string track_path = "tracks[" + std::to_string(t) + "]";
      if (Status status = check_keys(origin, track_node, track_path,
                                     {"name", "key", "optional_key", "fallbacks", "generate_key", "events"});
          !status.ok())
        return status;
      Track track;
      track.name = track_node["name"] ? track_node["name"].as<std::string>() : "track" + std::to_string(t);
      if (!track_node["key"] || !track_node["key"].IsSequence() || track_node["key"].size() == 0)
        return Status::error(at(origin, track_node, track_path + ".key") + "expected a non-empty list of field paths");
      for (size_t k = 0; k < track_node["key"].size(); ++k) {
        FieldPath path;
        if (Status status = path_of(origin, track_node["key"][k], track_path + ".key", path); !status.ok())
          return status;
        track.key.push_back(path);
        std::vector<FieldPath> alts;
        if (YAML::Node fallbacks = track_node["fallbacks"]; fallbacks && fallbacks[path.text]) {
          for (const auto& fallback : fallbacks[path.text]) {
            FieldPath fallback_path;
            if (Status status = path_of(origin, fallback, track_path + ".fallbacks." + path.text, fallback_path);
                !status.ok())
              return status;
            alts.push_back(fallback_path);
          }
        }
        track.fallbacks.push_back(std::move(alts));
      }
      if (YAML::Node ok = track_node["optional_key"]) {
        if (!ok.IsSequence())
          return Status::error(at(origin, ok, track_path + ".optional_key") + "expected a list of field paths");
        for (const auto& key_name : ok) {
          FieldPath path;
          if (Status status = path_of(origin, key_name, track_path + ".optional_key", path); !status.ok())
            return status;
          track.optional_key.push_back(path);
        }
      }
      if (YAML::Node generate = track_node["generate_key"]) {
        if (Status status = check_keys(origin, generate, track_path + ".generate_key", {"event", "field", "prefix"});
            !status.ok())
          return status;
        track.generate.event = generate["event"].as<std::string>("");
        track.generate.field = generate["field"].as<std::string>("");
        track.generate.prefix = generate["prefix"].as<std::string>("");
      }
      YAML::Node evs = track_node["events"];
      if (!evs || !evs.IsMap() || evs.size() == 0)
        return Status::error(at(origin, track_node, track_path + ".events") + "expected a mapping of event names");
      for (auto it = evs.begin(); it != evs.end(); ++it) {
        EventSpec event;
        event.name = it->first.Scalar();
        event.id = static_cast<int>(track.events.size());
        std::string event_path = track_path + ".events." + event.name;
        const YAML::Node event_node = it->second;
        if (Status status =
                check_keys(origin, event_node, event_path, {"role", "after", "phase_field", "phases", "toggle"});
            !status.ok())
          return status;
        if (event_node["role"] && !role_of(event_node["role"].as<std::string>(), event.role))
          return Status::error(at(origin, event_node["role"], event_path + ".role") + "invalid value \"" +
                               event_node["role"].as<std::string>() + "\". Allowed: open, advance, close, attach");
        if (event_node["after"])
          for (const auto& after : event_node["after"]) event.after_names.push_back(after.as<std::string>());
        if (event_node["phase_field"]) {
          if (Status status =
                  path_of(origin, event_node["phase_field"], event_path + ".phase_field", event.phase_field);
              !status.ok())
            return status;
          for (auto ph = event_node["phases"].begin(); event_node["phases"] && ph != event_node["phases"].end(); ++ph) {
            Role role;
            if (!role_of(ph->second.as<std::string>(), role) || role == Role::Attach)
              return Status::error(at(origin, ph->second, event_path + ".phases." + ph->first.Scalar()) +
                                   "invalid value. Allowed: open, advance, close");
            event.phases[ph->first.Scalar()] = role;
          }
        }
        event.toggle = event_node["toggle"].as<bool>(false);
        if (!event_node["role"] && (event.toggle || !event.phases.empty())) event.role = Role::Toggle;
        track.events.push_back(std::move(event));
      }
      if (track.events.size() > 64)
        return Status::error(at(origin, evs, track_path + ".events") + "at most 64 events per track");
      for (auto& event : track.events)
        for (const auto& name : event.after_names) {
          const EventSpec* after = track.find(name);
          if (!after)
            return Status::error(at(origin, evs, track_path + ".events." + event.name + ".after") + "unknown event \"" +
                                 name + "\"");
          event.after.push_back(after->id);
        }
      out.tracks.push_back(std::move(track));
    }
  } catch (const YAML::Exception& e) {
    return Status::error(origin + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " +
                         e.msg);
  }
  return {};
}

}  // namespace agentlog::lifecycle

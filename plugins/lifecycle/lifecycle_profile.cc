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
  if (Status st = parse_yaml(text, origin, root); !st.ok()) return st;
  try {
    if (Status st = check_keys(origin, root, "profile", {"name", "type_field", "agent_field", "time_field", "tracks"});
        !st.ok())
      return st;
    out.name = root["name"] ? root["name"].as<std::string>() : origin;
    for (auto [key, dflt, dst] : {std::tuple{"type_field", "event_type", &out.type_field},
                                  std::tuple{"agent_field", "agent_id", &out.agent_field}}) {
      if (root[key]) {
        if (Status st = path_of(origin, root[key], key, *dst); !st.ok()) return st;
      } else {
        parse_field_path(dflt, *dst);
      }
    }
    // time_field: one field path or a list of them (producers name the time differently).
    out.time_fields.clear();
    if (YAML::Node tf = root["time_field"]; tf && tf.IsSequence()) {
      if (tf.size() == 0) return Status::error(at(origin, tf, "time_field") + "expected a field path or a non-empty list of them");
      for (size_t i = 0; i < tf.size(); ++i) {
        FieldPath p;
        if (Status st = path_of(origin, tf[i], "time_field[" + std::to_string(i) + "]", p); !st.ok()) return st;
        out.time_fields.push_back(std::move(p));
      }
    } else if (tf) {
      FieldPath p;
      if (!tf.IsScalar() || !parse_field_path(tf.Scalar(), p))
        return Status::error(at(origin, tf, "time_field") + "expected a field path or a non-empty list of them");
      out.time_fields.push_back(std::move(p));
    } else {
      FieldPath p;
      parse_field_path("event_time", p);
      out.time_fields.push_back(std::move(p));
    }
    YAML::Node tracks = root["tracks"];
    if (!tracks || !tracks.IsSequence() || tracks.size() == 0)
      return Status::error(at(origin, root, "tracks") + "a profile needs a non-empty list of tracks");
    for (size_t t = 0; t < tracks.size(); ++t) {
      const YAML::Node tn = tracks[t];
      std::string tp = "tracks[" + std::to_string(t) + "]";
      if (Status st = check_keys(origin, tn, tp, {"name", "key", "optional_key", "fallbacks", "generate_key", "events"}); !st.ok())
        return st;
      Track tr;
      tr.name = tn["name"] ? tn["name"].as<std::string>() : "track" + std::to_string(t);
      if (!tn["key"] || !tn["key"].IsSequence() || tn["key"].size() == 0)
        return Status::error(at(origin, tn, tp + ".key") + "expected a non-empty list of field paths");
      for (size_t k = 0; k < tn["key"].size(); ++k) {
        FieldPath p;
        if (Status st = path_of(origin, tn["key"][k], tp + ".key", p); !st.ok()) return st;
        tr.key.push_back(p);
        std::vector<FieldPath> alts;
        if (YAML::Node fb = tn["fallbacks"]; fb && fb[p.text]) {
          for (const auto& a : fb[p.text]) {
            FieldPath ap;
            if (Status st = path_of(origin, a, tp + ".fallbacks." + p.text, ap); !st.ok()) return st;
            alts.push_back(ap);
          }
        }
        tr.fallbacks.push_back(std::move(alts));
      }
      if (YAML::Node ok = tn["optional_key"]) {
        if (!ok.IsSequence()) return Status::error(at(origin, ok, tp + ".optional_key") + "expected a list of field paths");
        for (const auto& n : ok) {
          FieldPath p;
          if (Status st = path_of(origin, n, tp + ".optional_key", p); !st.ok()) return st;
          tr.optional_key.push_back(p);
        }
      }
      if (YAML::Node g = tn["generate_key"]) {
        if (Status st = check_keys(origin, g, tp + ".generate_key", {"event", "field", "prefix"}); !st.ok()) return st;
        tr.generate.event = g["event"].as<std::string>("");
        tr.generate.field = g["field"].as<std::string>("");
        tr.generate.prefix = g["prefix"].as<std::string>("");
      }
      YAML::Node evs = tn["events"];
      if (!evs || !evs.IsMap() || evs.size() == 0)
        return Status::error(at(origin, tn, tp + ".events") + "expected a mapping of event names");
      for (auto it = evs.begin(); it != evs.end(); ++it) {
        EventSpec e;
        e.name = it->first.Scalar();
        e.id = static_cast<int>(tr.events.size());
        std::string ep = tp + ".events." + e.name;
        const YAML::Node en = it->second;
        if (Status st = check_keys(origin, en, ep, {"role", "after", "phase_field", "phases", "toggle"}); !st.ok())
          return st;
        if (en["role"] && !role_of(en["role"].as<std::string>(), e.role))
          return Status::error(at(origin, en["role"], ep + ".role") + "invalid value \"" + en["role"].as<std::string>() +
                               "\". Allowed: open, advance, close, attach");
        if (en["after"])
          for (const auto& a : en["after"]) e.after_names.push_back(a.as<std::string>());
        if (en["phase_field"]) {
          if (Status st = path_of(origin, en["phase_field"], ep + ".phase_field", e.phase_field); !st.ok()) return st;
          for (auto ph = en["phases"].begin(); en["phases"] && ph != en["phases"].end(); ++ph) {
            Role r;
            if (!role_of(ph->second.as<std::string>(), r) || r == Role::Attach)
              return Status::error(at(origin, ph->second, ep + ".phases." + ph->first.Scalar()) +
                                   "invalid value. Allowed: open, advance, close");
            e.phases[ph->first.Scalar()] = r;
          }
        }
        e.toggle = en["toggle"].as<bool>(false);
        if (!en["role"] && (e.toggle || !e.phases.empty())) e.role = Role::Toggle;
        tr.events.push_back(std::move(e));
      }
      if (tr.events.size() > 64)
        return Status::error(at(origin, evs, tp + ".events") + "at most 64 events per track");
      for (auto& e : tr.events)
        for (const auto& name : e.after_names) {
          const EventSpec* a = tr.find(name);
          if (!a) return Status::error(at(origin, evs, tp + ".events." + e.name + ".after") + "unknown event \"" + name + "\"");
          e.after.push_back(a->id);
        }
      out.tracks.push_back(std::move(tr));
    }
  } catch (const YAML::Exception& e) {
    return Status::error(origin + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " +
                         e.msg);
  }
  return {};
}

}  // namespace agentlog::lifecycle

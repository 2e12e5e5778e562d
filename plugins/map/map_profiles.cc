#include "plugins/map/map_profiles.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "core/hashing.h"
#include "core/time_format.h"
#include "plugins/enrich/enrich.h"

namespace agentlog::plugins::map {
namespace {

using V = json::Value;

// A value usable as a required field: a non-empty string, or a number or boolean as its
// JSON text. Missing, null, "", arrays and objects are not.
std::optional<std::string> usable(const V* v) {
  if (!v) return std::nullopt;
  switch (v->kind) {
    case V::Kind::String:
      if (v->text.empty()) return std::nullopt;
      return v->text;
    case V::Kind::Number: return v->text;
    case V::Kind::Bool: return std::string(v->boolean ? "true" : "false");
    default: return std::nullopt;
  }
}

// The first usable value among `names`; records which name was used in `used`.
std::optional<std::string> first_usable(const V& rec, std::initializer_list<std::string_view> names,
                                        std::vector<std::string>& used) {
  for (auto n : names)
    if (auto t = usable(rec.find(n))) {
      used.emplace_back(n);
      return t;
    }
  return std::nullopt;
}

// The event time from the first present field of `names`, as RFC 3339 UTC with ms and Z.
bool event_time(const V& rec, const std::vector<std::string>& names, std::string_view hint, std::string& out,
                std::vector<std::string>& used, std::string& why) {
  for (const auto& n : names) {
    const V* v = rec.find(n);
    if (!v) continue;
    std::string msg;
    std::optional<int64_t> ms;
    if (v->kind == V::Kind::String) ms = enrich::parse_time_value(v->text, true, &msg);
    else if (v->kind == V::Kind::Number) ms = enrich::parse_time_value(v->text, false, &msg);
    else msg = std::string("expected a string or a number, got ") + kind_word(*v);
    if (!ms) {
      why = std::string(n) + ": " + msg;
      return false;
    }
    out = format_rfc3339_ms(*ms);
    used.emplace_back(n);
    return true;
  }
  why = names.size() == 1 ? names[0] + ": field is missing" : "no event time: none of ";
  for (size_t i = 0; names.size() > 1 && i < names.size(); ++i) why += (i ? ", " : "") + names[i];
  if (names.size() > 1) why += " is present";
  why += hint;
  return false;
}

template <size_t N>
std::vector<std::string> names_or(const std::vector<std::string>& given, const std::string_view (&dflt)[N]) {
  if (!given.empty()) return given;
  return std::vector<std::string>(std::begin(dflt), std::end(dflt));
}

// Joins up to kMaxTargets parts with ","; the rest are counted as ",+N more".
std::string join_targets(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size() && i < kMaxTargets; ++i) {
    if (i) out += ",";
    out += parts[i];
  }
  if (parts.size() > kMaxTargets) out += ",+" + std::to_string(parts.size() - kMaxTargets) + " more";
  return out;
}

std::string text_or_json(const V& v) {
  if (v.kind == V::Kind::String) return v.text.empty() ? std::string(kUnknown) : v.text;
  return json::serialize(v);
}

// A canonical object of the members of `rec` named in `names` that are present (in that
// order), hashed; nullopt when none is present.
std::optional<std::string> canonical_hash(const V& rec, std::initializer_list<std::string_view> names) {
  V obj = V::object();
  for (auto n : names)
    if (const V* v = rec.find(n)) obj.members.emplace_back(std::string(n), *v);
  if (obj.members.empty()) return std::nullopt;
  return "sha256:" + sha256_hex(json::serialize(obj));
}

std::string evidence_hash(std::string_view bytes) { return "sha256:" + sha256_hex(bytes); }

// Builds the output record: the 14 required fields in order, then the source's other
// members in source order (minus `consumed`; `renames` give a member a new name).
V assemble(V& rec, const std::vector<std::string>& values, const std::vector<std::string>& consumed,
           const std::vector<std::pair<std::string, std::string>>& renames) {
  V out = V::object();
  out.members.reserve(rec.members.size() + 14);
  for (size_t i = 0; i < std::size(kRequiredFields); ++i)
    out.members.emplace_back(std::string(kRequiredFields[i]), V::string(values[i]));
  for (auto& [k, v] : rec.members) {
    bool required = std::find(std::begin(kRequiredFields), std::end(kRequiredFields), k) != std::end(kRequiredFields);
    if (required || std::find(consumed.begin(), consumed.end(), k) != consumed.end()) continue;
    if (out.find(k)) continue;  // a duplicate key in the source: the first wins
    // An init-capture: clang 14 cannot capture a structured binding.
    auto r = std::find_if(renames.begin(), renames.end(), [&key = k](auto& p) { return p.first == key; });
    out.members.emplace_back(r == renames.end() ? k : r->second, std::move(v));
  }
  return out;
}

// Adds `key: value` to the output's details object, creating it at the end when absent. A
// details value that is not an object is kept under details.value.
void add_detail(V& out, std::string_view key, V value) {
  V* d = out.find("details");
  if (!d) d = &out.set("details", V::object());
  if (d->kind != V::Kind::Object) {
    V wrapped = V::object();
    wrapped.set("value", std::move(*d));
    *d = std::move(wrapped);
  }
  d->set(key, std::move(value));
}

std::string or_unknown(std::optional<std::string> v) { return v ? std::move(*v) : std::string(kUnknown); }

Outcome action_event(const ProfileOptions& opts, V& rec, std::string_view bytes, std::string& why) {
  const V* et = rec.find("event_type");
  if (!et) {
    why = "event_type: field is missing";
    return Outcome::Failed;
  }
  if (et->kind != V::Kind::String) {
    why = std::string("event_type: expected a string, got ") + kind_word(*et);
    return Outcome::Failed;
  }
  std::string source_type = et->text;
  bool call;
  std::string default_action = "execute";
  if (source_type == "action_planned") call = true, default_action = "plan";
  else if (source_type == "action_validated") call = true, default_action = "validate";
  else if (source_type == "action_started") call = true;
  else if (source_type == "action_completed" || source_type == "action_failed") call = false;
  else if (opts.pass_other_events) return Outcome::Unchanged;  // a producer's warning, a non-action event
  else {
    why = "event_type: " + enrich::quoted_for_message(source_type) +
          " is not a spec 000 action event type (action_planned, action_validated, action_started, "
          "action_completed, action_failed)";
    return Outcome::Failed;
  }
  std::vector<std::string> used;
  std::string time;
  if (!event_time(rec, names_or(opts.time_fields, kActionEventTimeFields),
                  " (log_action_event's parameters carry no time; servers stamp it when they persist the event)",
                  time, used, why))
    return Outcome::Failed;

  std::vector<std::string> values(14);
  values[0] = time;
  values[1] = or_unknown(first_usable(rec, {"agent_id"}, used));
  values[2] = or_unknown(first_usable(rec, {"agent_version"}, used));
  values[3] = or_unknown(first_usable(rec, {"run_id", "linked_agent_task_id"}, used));
  values[4] = call ? "tool_call" : "tool_result";
  values[5] = or_unknown(first_usable(rec, {"actor_id"}, used));
  values[6] = or_unknown(first_usable(rec, {"tool_name"}, used));
  values[7] = first_usable(rec, {"tool_action"}, used).value_or(default_action);
  if (auto t = first_usable(rec, {"tool_target"}, used)) {
    values[8] = *t;
  } else if (const V* ids = rec.find("target_node_ids"); ids && ids->kind == V::Kind::Array && !ids->items.empty()) {
    std::vector<std::string> parts;
    for (const V& item : ids->items) parts.push_back(text_or_json(item));
    values[8] = join_targets(parts);
  } else {
    values[8] = or_unknown(usable(ids));
  }
  values[9] = or_unknown(first_usable(rec, {"auth_context"}, used));
  if (auto t = first_usable(rec, {"input_ref"}, used)) values[10] = *t;
  else if (call) values[10] = canonical_hash(rec, {"description", "target_node_ids", "details"}).value_or(std::string(kUnknownRef));
  else values[10] = kUnknownRef;
  if (auto t = first_usable(rec, {"output_ref"}, used)) values[11] = *t;
  else if (call) values[11] = kNoRef;
  else values[11] = canonical_hash(rec, {"description", "result_classification", "target_node_ids", "details"})
                        .value_or(std::string(kUnknownRef));
  values[12] = or_unknown(first_usable(rec, {"decision"}, used));
  values[13] = first_usable(rec, {"evidence_ref"}, used).value_or(evidence_hash(bytes));

  // linked_agent_task_id and target_node_ids are copied, not consumed: they stay as they are.
  // The time field read (unless event_time) is consumed: its value is now event_time.
  std::vector<std::string> consumed;
  if (used[0] != "event_time") consumed.push_back(used[0]);
  V out = assemble(rec, values, consumed, {});
  add_detail(out, "source_event_type", V::string(source_type));
  rec = std::move(out);
  return Outcome::Mapped;
}

Outcome action_log(const ProfileOptions& opts, V& rec, std::string_view bytes, std::string& why) {
  std::vector<std::string> used;
  std::string time;
  if (!event_time(rec, names_or(opts.time_fields, kActionLogTimeFields), "", time, used, why)) return Outcome::Failed;

  std::vector<std::string> values(14);
  values[0] = time;
  values[1] = or_unknown(first_usable(rec, {"agent_id"}, used));
  values[2] = or_unknown(first_usable(rec, {"agent_version"}, used));
  values[3] = or_unknown(first_usable(rec, {"run_id", "action_rid"}, used));
  values[4] = "tool_call";
  values[5] = or_unknown(first_usable(rec, {"actor_id", "user_id"}, used));
  values[6] = or_unknown(first_usable(rec, {"tool_name", "action_type_rid"}, used));
  values[7] = first_usable(rec, {"tool_action"}, used).value_or("update");
  const V* edited = rec.find("edited_objects");
  if (auto t = first_usable(rec, {"tool_target"}, used)) {
    values[8] = *t;
  } else if (edited && edited->kind == V::Kind::Array && !edited->items.empty()) {
    std::vector<std::string> parts;
    for (const V& o : edited->items) {
      auto type = o.kind == V::Kind::Object ? usable(o.find("object_type")) : std::nullopt;
      auto key = o.kind == V::Kind::Object ? usable(o.find("primary_key")) : std::nullopt;
      parts.push_back(or_unknown(type) + ":" + or_unknown(key));
    }
    values[8] = join_targets(parts);
  } else {
    values[8] = kUnknown;
  }
  values[9] = or_unknown(first_usable(rec, {"auth_context"}, used));
  const V* params = rec.find("parameters");
  if (auto t = first_usable(rec, {"input_ref"}, used)) values[10] = *t;
  else values[10] = params ? content_hash(*params) : std::string(kUnknownRef);
  if (auto t = first_usable(rec, {"output_ref"}, used)) values[11] = *t;
  else values[11] = edited ? content_hash(*edited) : std::string(kUnknownRef);
  values[12] = or_unknown(first_usable(rec, {"decision"}, used));
  if (auto t = first_usable(rec, {"evidence_ref"}, used)) values[13] = *t;
  else values[13] = usable(rec.find("action_rid")).value_or(evidence_hash(bytes));

  // Consumed: the spec 001 fields whose values now live in a required field.
  std::vector<std::string> consumed;
  for (const auto& u : used)
    if (u == "user_id" || u == "action_type_rid" || (&u == &used[0] && u != "event_time")) consumed.push_back(u);
  std::vector<std::pair<std::string, std::string>> renames;
  if (!rec.find("action_id")) renames.emplace_back("action_rid", "action_id");
  std::optional<V> edited_copy;
  if (edited) {
    consumed.push_back("edited_objects");
    edited_copy = *edited;
  }
  V out = assemble(rec, values, consumed, renames);
  if (edited_copy) add_detail(out, "edited_objects", std::move(*edited_copy));
  rec = std::move(out);
  return Outcome::Mapped;
}

}  // namespace

const char* kind_word(const json::Value& v) {
  switch (v.kind) {
    case json::Value::Kind::Null: return "null";
    case json::Value::Kind::Bool: return "a boolean";
    case json::Value::Kind::Number: return "a number";
    case json::Value::Kind::String: return "a string";
    case json::Value::Kind::Array: return "an array";
    case json::Value::Kind::Object: return "an object";
  }
  return "?";
}

std::string content_hash(const json::Value& v) {
  if (v.kind == json::Value::Kind::String) return "sha256:" + sha256_hex(v.text);
  return "sha256:" + sha256_hex(json::serialize(v));
}

Outcome apply_profile(Profile p, const ProfileOptions& opts, json::Value& record, std::string_view bytes,
                      std::string& why) {
  switch (p) {
    case Profile::ActionEvent: return action_event(opts, record, bytes, why);
    case Profile::ActionLog: return action_log(opts, record, bytes, why);
    case Profile::None: return Outcome::Unchanged;
  }
  return Outcome::Unchanged;
}

}  // namespace agentlog::plugins::map

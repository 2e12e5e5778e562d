#include "plugins/map/map.h"

#include <algorithm>
#include <charconv>

#include "core/field_path.h"
#include "core/json_text.h"
#include "core/worker_slots.h"
#include "plugins/enrich/enrich.h"
#include "plugins/map/map_profiles.h"

namespace agentlog::plugins {
namespace {

using V = json::Value;
using map::Profile;

constexpr std::string_view kProfiles[] = {"action-event", "action-log"};
constexpr std::string_view kCoerceTo[] = {"string", "integer", "number", "boolean"};
constexpr std::string_view kOtherEvents[] = {"pass", "dead_letter"};
constexpr std::string_view kOpNames[] = {"rename", "copy", "move", "delete", "default", "set", "coerce", "hash"};

constexpr OptionSpec kRenameOptions[] = {
    {.name = "from", .type = OptType::String, .description = "path of the field to rename", .required = true},
    {.name = "to", .type = OptType::String, .description = "new key name, in the same object (not a path)",
     .required = true},
    {.name = "overwrite", .type = OptType::Bool, .default_value = "true",
     .description = "replace an existing field of that name (false: leave both as they are)"},
    {.name = "required", .type = OptType::Bool, .default_value = "false",
     .description = "dead-letter records without the field (false: skip them)"},
};

constexpr OptionSpec kFromToOptions[] = {
    {.name = "from", .type = OptType::String, .description = "path of the source field", .required = true},
    {.name = "to", .type = OptType::String, .description = "path of the target; missing parents are created",
     .required = true},
    {.name = "overwrite", .type = OptType::Bool, .default_value = "true",
     .description = "replace an existing target (false: skip, leaving the source as it is)"},
    {.name = "required", .type = OptType::Bool, .default_value = "false",
     .description = "dead-letter records without the source field (false: skip them)"},
};

constexpr OptionSpec kFieldValueOptions[] = {
    {.name = "field", .type = OptType::String, .description = "path of the field; missing parents are created",
     .required = true},
    {.name = "value", .type = OptType::Scalar,
     .description = "scalar to write (plain numbers/true/false/null keep their type, quoted text is a string)",
     .required = true},
};

constexpr OptionSpec kCoerceOptions[] = {
    {.name = "field", .type = OptType::String, .description = "path of the field", .required = true},
    {.name = "to", .type = OptType::Enum, .description = "target JSON type", .required = true, .allowed = kCoerceTo},
    {.name = "required", .type = OptType::Bool, .default_value = "false",
     .description = "dead-letter records without the field (false: skip them)"},
};

constexpr OptionSpec kHashOptions[] = {
    {.name = "field", .type = OptType::String, .description = "path of the field to hash", .required = true},
    {.name = "to", .type = OptType::String, .description = "path for sha256:<hex> (default: replace the field)"},
    {.name = "required", .type = OptType::Bool, .default_value = "false",
     .description = "dead-letter records without the field (false: skip them)"},
};

constexpr OptionSpec kOperationOptions[] = {
    {.name = "rename", .type = OptType::Object, .description = "give a field a new key, keeping its position",
     .children = kRenameOptions},
    {.name = "copy", .type = OptType::Object, .description = "copy a field to another path", .children = kFromToOptions},
    {.name = "move", .type = OptType::Object, .description = "move a field to another path", .children = kFromToOptions},
    {.name = "delete", .type = OptType::String, .description = "path of a field to remove (absent: nothing happens)"},
    {.name = "default", .type = OptType::Object, .description = "set a field that is missing, null or \"\"",
     .children = kFieldValueOptions},
    {.name = "set", .type = OptType::Object, .description = "set a field, replacing any value",
     .children = kFieldValueOptions},
    {.name = "coerce", .type = OptType::Object,
     .description = "convert a field to string, integer, number or boolean; failures dead-letter",
     .children = kCoerceOptions},
    {.name = "hash", .type = OptType::Object,
     .description = "replace a field (or write `to`) with sha256:<hex> of its content", .children = kHashOptions},
};

constexpr OptionSpec kMapOptions[] = {
    {.name = "profile", .type = OptType::Enum,
     .description = "built-in mapping to the Agent Activity Log Format (spec 002), applied before operations",
     .allowed = kProfiles},
    {.name = "time_fields", .type = OptType::StringList,
     .description = "top-level fields holding the event time, first present wins (default action-event: event_time, "
                    "timestamp, @timestamp, time, ts; action-log: timestamp, event_time)"},
    {.name = "other_events", .type = OptType::Enum, .default_value = "pass",
     .description = "action-event: records of other event types (a producer's instrumentation_warning, non-action "
                    "events) pass unchanged, or are dead-lettered",
     .allowed = kOtherEvents},
    {.name = "operations", .type = OptType::ObjectList,
     .description = "field operations applied in order; each sets exactly one of the operation keys",
     .children = kOperationOptions},
};

enum class OpKind { Rename, Copy, Move, Delete, Default, Set, Coerce, Hash };
enum class CoerceTo { String, Integer, Number, Boolean };

struct Op {
  OpKind kind;
  std::string label;  // "operations[2] (coerce)"
  FieldPath from, to;
  bool overwrite = true, required = false;
  V value;
  CoerceTo coerce = CoerceTo::String;
};

// ---- paths over the owned tree ------------------------------------------------------

V* child(V& v, const std::string& part) {
  if (v.kind == V::Kind::Object) return v.find(part);
  if (v.kind == V::Kind::Array) {
    size_t idx = 0;
    auto r = std::from_chars(part.data(), part.data() + part.size(), idx);
    if (r.ec != std::errc() || r.ptr != part.data() + part.size() || idx >= v.items.size()) return nullptr;
    return &v.items[idx];
  }
  return nullptr;
}

V* find_path(V& root, const FieldPath& p) {
  V* cur = &root;
  for (const auto& part : p.parts)
    if (!(cur = child(*cur, part))) return nullptr;
  return cur;
}

std::string prefix_text(const FieldPath& p, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ".";
    out += p.parts[i];
  }
  return out;
}

using map::kind_word;

// Writes `v` at `p`, creating missing parent objects. Array items can be replaced, not added.
bool set_path(V& root, const FieldPath& p, V v, std::string& why) {
  V* cur = &root;
  for (size_t i = 0; i + 1 < p.parts.size(); ++i) {
    V* next = child(*cur, p.parts[i]);
    if (!next) {
      if (cur->kind != V::Kind::Object) {
        why = "cannot write " + p.text + ": no item " + p.parts[i] + " in array " + prefix_text(p, i);
        return false;
      }
      next = &cur->set(p.parts[i], V::object());
    } else if (next->kind != V::Kind::Object && next->kind != V::Kind::Array) {
      why = "cannot write " + p.text + ": " + prefix_text(p, i + 1) + " is " + kind_word(*next) + ", not an object";
      return false;
    }
    cur = next;
  }
  const std::string& last = p.parts.back();
  if (cur->kind == V::Kind::Object) {
    cur->set(last, std::move(v));
    return true;
  }
  if (V* slot = child(*cur, last)) {
    *slot = std::move(v);
    return true;
  }
  why = "cannot write " + p.text + ": no item " + last + " in array " + prefix_text(p, p.parts.size() - 1);
  return false;
}

bool remove_path(V& root, const FieldPath& p) {
  V* parent = &root;
  for (size_t i = 0; i + 1 < p.parts.size(); ++i)
    if (!(parent = child(*parent, p.parts[i]))) return false;
  const std::string& last = p.parts.back();
  if (parent->kind == V::Kind::Object) return parent->erase(last);
  if (V* item = child(*parent, last)) {
    parent->items.erase(parent->items.begin() + (item - parent->items.data()));
    return true;
  }
  return false;
}

// ---- coercion ---------------------------------------------------------------------------

// The canonical integer text of a JSON number literal that is an integer (2.0 and 2e3 are),
// within int64; nullopt otherwise (`out_of_range` tells an integer too large).
std::optional<std::string> integral_text(std::string_view lit, bool* out_of_range) {
  *out_of_range = false;
  if (!enrich::is_json_number(lit)) return std::nullopt;
  bool neg = lit[0] == '-';
  if (neg) lit.remove_prefix(1);
  std::string digits;
  int64_t exp10 = 0;
  size_t i = 0;
  while (i < lit.size() && lit[i] >= '0' && lit[i] <= '9') digits.push_back(lit[i++]);
  if (i < lit.size() && lit[i] == '.')
    for (++i; i < lit.size() && lit[i] >= '0' && lit[i] <= '9'; ++i, --exp10) digits.push_back(lit[i]);
  if (i < lit.size()) {
    ++i;
    bool eneg = lit[i] == '-';
    if (lit[i] == '+' || lit[i] == '-') ++i;
    int64_t e = 0;
    for (; i < lit.size(); ++i)
      if ((e = e * 10 + (lit[i] - '0')) > 100) return *out_of_range = !eneg, std::nullopt;
    exp10 += eneg ? -e : e;
  }
  while (exp10 < 0) {
    if (digits.empty() || digits.back() != '0') {
      if (digits.find_first_not_of('0') == std::string::npos) break;  // zero
      return std::nullopt;
    }
    digits.pop_back();
    ++exp10;
  }
  if (exp10 > 0) digits.append(static_cast<size_t>(exp10), '0');
  size_t lead = digits.find_first_not_of('0');
  digits = lead == std::string::npos ? "0" : digits.substr(lead);
  if (digits != "0" && neg) digits.insert(0, "-");
  int64_t check;
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), check);
  if (r.ec != std::errc() || r.ptr != digits.data() + digits.size()) return *out_of_range = true, std::nullopt;
  return digits;
}

std::string shown(const V& v) {
  if (v.kind == V::Kind::String) return enrich::quoted_for_message(v.text);
  if (v.kind == V::Kind::Number) return v.text.size() <= 64 ? v.text : v.text.substr(0, 64) + "...";
  return kind_word(v);
}

bool coerce(V& v, CoerceTo to, std::string& why) {
  switch (to) {
    case CoerceTo::String:
      if (v.kind == V::Kind::String) return true;
      if (v.kind == V::Kind::Number) return v = V::string(v.text), true;
      if (v.kind == V::Kind::Bool) return v = V::string(v.boolean ? "true" : "false"), true;
      why = std::string("cannot convert ") + kind_word(v) + " to a string";
      return false;
    case CoerceTo::Integer:
      if (v.kind == V::Kind::Bool) return v = V::number(v.boolean ? "1" : "0"), true;
      if (v.kind == V::Kind::Number || v.kind == V::Kind::String) {
        bool range = false;
        if (auto t = integral_text(v.text, &range)) return v = V::number(*t), true;
        if (range) return why = shown(v) + " is out of range for a 64-bit integer", false;
      }
      why = shown(v) + " is not an integer";
      return false;
    case CoerceTo::Number:
      if (v.kind == V::Kind::Number) return true;
      if (v.kind == V::Kind::Bool) return v = V::number(v.boolean ? "1" : "0"), true;
      if (v.kind == V::Kind::String && enrich::is_json_number(v.text)) return v = V::number(v.text), true;
      why = shown(v) + " is not a number";
      return false;
    case CoerceTo::Boolean: {
      if (v.kind == V::Kind::Bool) return true;
      std::string_view t = v.text;
      if ((v.kind == V::Kind::String && t == "true") || (v.kind == V::Kind::Number && t == "1")) {
        V b;
        b.kind = V::Kind::Bool;
        b.boolean = true;
        return v = b, true;
      }
      if ((v.kind == V::Kind::String && t == "false") || (v.kind == V::Kind::Number && t == "0")) {
        V b;
        b.kind = V::Kind::Bool;
        return v = b, true;
      }
      why = shown(v) + " is not a boolean (true, false, 1 or 0)";
      return false;
    }
  }
  return false;
}

// ---- the stage ----------------------------------------------------------------------

class MapStage : public Stage {
 public:
  Profile profile = Profile::None;
  map::ProfileOptions profile_options;
  std::vector<Op> ops;
  // One worker's counts (the parallel runner maps on several threads).
  struct Counts {
    uint64_t mapped = 0, unchanged = 0, skipped_missing = 0, failed = 0, other_events = 0;
  };
  PerWorker<Counts> counts;

  StageVerdict process(Record& record) override {
    // Kept to restore on failure: a dead letter shows the record as this stage received it.
    Counts& n = counts.local();
    std::string before(record.bytes());
    std::string why;
    V& root = record.tree();
    bool ok = true, changed = false;
    if (profile != Profile::None) {
      map::Outcome outcome = map::apply_profile(profile, profile_options, root, before, why);
      ok = outcome != map::Outcome::Failed;
      changed = outcome == map::Outcome::Mapped;
      if (outcome == map::Outcome::Unchanged) ++n.other_events;
      if (!ok) why = "profile " + std::string(kProfiles[profile == Profile::ActionEvent ? 0 : 1]) + ": " + why;
    }
    for (size_t i = 0; ok && i < ops.size(); ++i) {
      std::string w;
      ok = apply(ops[i], root, w, changed);
      if (!ok) why = ops[i].label + ": " + w;
    }
    if (ok && changed) {
      ++n.mapped;
      return StageVerdict::keep();
    }
    // Failed, or nothing to change: the record goes on as this stage received it (a dead
    // letter shows it so; an untouched record keeps its bytes).
    bool generated = record.generated, expanded = record.expanded;
    record.reset_owned(std::move(before));
    record.generated = generated;
    record.expanded = expanded;
    if (ok) {
      ++n.unchanged;
      return StageVerdict::keep();
    }
    ++n.failed;
    return StageVerdict::dead_letter(std::move(why));
  }

  std::string stats_json() const override {
    return "\"mapped\":" + std::to_string(counts.sum(&Counts::mapped)) +
           ",\"unchanged\":" + std::to_string(counts.sum(&Counts::unchanged)) +
           ",\"failed\":" + std::to_string(counts.sum(&Counts::failed)) +
           ",\"skipped_missing\":" + std::to_string(counts.sum(&Counts::skipped_missing)) +
           (profile == Profile::ActionEvent ? ",\"other_events\":" + std::to_string(counts.sum(&Counts::other_events))
                                            : std::string());
  }

 private:
  bool missing(const Op& op, const FieldPath& p, std::string& why) {
    if (op.required) {
      why = p.text + ": field is missing";
      return false;
    }
    ++counts.local().skipped_missing;
    return true;
  }

  // Applies one operation; sets `changed` when it edits the record.
  bool apply(const Op& op, V& root, std::string& why, bool& changed) {
    switch (op.kind) {
      case OpKind::Rename: {
        V* parent = &root;
        for (size_t i = 0; parent && i + 1 < op.from.parts.size(); ++i) parent = child(*parent, op.from.parts[i]);
        const std::string& key = op.from.parts.back();
        if (!parent || parent->kind != V::Kind::Object || !parent->find(key)) {
          if (parent && parent->kind == V::Kind::Array && child(*parent, key)) {
            why = op.from.text + ": cannot rename an array item";
            return false;
          }
          return missing(op, op.from, why);
        }
        const std::string& to = op.to.parts[0];
        if (parent->find(to)) {
          if (!op.overwrite) return true;
          parent->erase(to);
        }
        changed = true;
        for (auto& m : parent->members)
          if (m.first == key) {
            m.first = to;
            break;
          }
        return true;
      }
      case OpKind::Copy:
      case OpKind::Move: {
        V* src = find_path(root, op.from);
        if (!src) return missing(op, op.from, why);
        if (!op.overwrite && find_path(root, op.to)) return true;
        changed = true;
        V value;
        if (op.kind == OpKind::Copy) {
          value = *src;
        } else {
          value = std::move(*src);
          remove_path(root, op.from);
        }
        if (!set_path(root, op.to, std::move(value), why)) return false;
        return true;
      }
      case OpKind::Delete:
        changed |= remove_path(root, op.from);
        return true;
      case OpKind::Default: {
        V* cur = find_path(root, op.from);
        if (cur && cur->kind != V::Kind::Null && !(cur->kind == V::Kind::String && cur->text.empty())) return true;
        changed = true;
        if (cur) return *cur = op.value, true;
        return set_path(root, op.from, op.value, why);
      }
      case OpKind::Set:
        changed = true;
        return set_path(root, op.from, op.value, why);
      case OpKind::Coerce: {
        V* cur = find_path(root, op.from);
        if (!cur) return missing(op, op.from, why);
        std::string w;
        V::Kind kind = cur->kind;
        std::string text = cur->text;
        if (!coerce(*cur, op.coerce, w)) {
          why = op.from.text + ": " + w;
          return false;
        }
        changed |= cur->kind != kind || cur->text != text;
        return true;
      }
      case OpKind::Hash: {
        V* cur = find_path(root, op.from);
        if (!cur) return missing(op, op.from, why);
        changed = true;
        V h = V::string(map::content_hash(*cur));
        if (op.to.parts.empty()) return *cur = std::move(h), true;
        return set_path(root, op.to, std::move(h), why);
      }
    }
    return true;
  }
};

Status parse_path(const OptionView& o, std::string_view name, FieldPath& out) {
  std::string text = o.str(name);
  if (!parse_field_path(text, out)) return Status::error(o.error(name, "invalid field path \"" + text + "\""));
  return {};
}

Status build_op(const OptionView& entry, size_t index, Op& op) {
  std::vector<std::string_view> set;
  for (auto n : kOpNames)
    if (entry.has(n)) set.push_back(n);
  if (set.size() != 1)
    return Status::error(entry.error("", "exactly one of " + join(kOpNames) + " must be set, found " +
                                             std::to_string(set.size())));
  std::string_view name = set[0];
  op.label = "operations[" + std::to_string(index) + "] (" + std::string(name) + ")";
  op.kind = static_cast<OpKind>(std::find(std::begin(kOpNames), std::end(kOpNames), name) - std::begin(kOpNames));
  if (op.kind == OpKind::Delete) return parse_path(entry, "delete", op.from);
  OptionView o = entry.object(name);
  switch (op.kind) {
    case OpKind::Rename:
    case OpKind::Copy:
    case OpKind::Move: {
      if (Status s = parse_path(o, "from", op.from); !s.ok()) return s;
      op.overwrite = o.boolean("overwrite");
      op.required = o.boolean("required");
      std::string to = o.str("to");
      if (op.kind == OpKind::Rename) {
        if (to.empty()) return Status::error(o.error("to", "must not be empty"));
        if (to.find('.') != std::string::npos || to[0] == '/')
          return Status::error(o.error("to", "is a key name, not a path; use move to change a field's parent"));
        op.to.text = to;
        op.to.parts = {to};
        if (to == op.from.parts.back()) return Status::error(o.error("to", "is the field's current name"));
        return {};
      }
      if (Status s = parse_path(o, "to", op.to); !s.ok()) return s;
      if (op.to.parts == op.from.parts) return Status::error(o.error("to", "is the same path as from"));
      return {};
    }
    case OpKind::Default:
    case OpKind::Set: {
      if (Status s = parse_path(o, "field", op.from); !s.ok()) return s;
      op.value = *json::parse(enrich::yaml_scalar_json(o.raw("value")));
      return {};
    }
    case OpKind::Coerce: {
      if (Status s = parse_path(o, "field", op.from); !s.ok()) return s;
      std::string to = o.str("to");
      op.coerce = to == "integer" ? CoerceTo::Integer : to == "number" ? CoerceTo::Number
                                                       : to == "boolean" ? CoerceTo::Boolean : CoerceTo::String;
      op.required = o.boolean("required");
      return {};
    }
    case OpKind::Hash: {
      if (Status s = parse_path(o, "field", op.from); !s.ok()) return s;
      if (o.has("to"))
        if (Status s = parse_path(o, "to", op.to); !s.ok()) return s;
      op.required = o.boolean("required");
      return {};
    }
    case OpKind::Delete: break;
  }
  return {};
}

Status make_map(const OptionView& o, std::unique_ptr<Stage>& out) {
  auto st = std::make_unique<MapStage>();
  if (o.has("profile")) st->profile = o.str("profile") == "action-event" ? Profile::ActionEvent : Profile::ActionLog;
  if (o.has("time_fields")) {
    if (st->profile == Profile::None) return Status::error(o.error("time_fields", "applies only with a profile"));
    st->profile_options.time_fields = o.strings("time_fields");
    if (st->profile_options.time_fields.empty())
      return Status::error(o.error("time_fields", "must list at least one field"));
    for (const auto& f : st->profile_options.time_fields)
      if (f.empty()) return Status::error(o.error("time_fields", "field names must not be empty"));
  }
  if (o.has("other_events") && st->profile != Profile::ActionEvent)
    return Status::error(o.error("other_events", "applies only with profile: action-event"));
  st->profile_options.pass_other_events = o.str("other_events") == "pass";
  auto entries = o.objects("operations");
  if (o.has("operations") && entries.empty())
    return Status::error(o.error("operations", "must list at least one operation"));
  for (size_t i = 0; i < entries.size(); ++i) {
    Op op;
    if (Status s = build_op(entries[i], i, op); !s.ok()) return s;
    st->ops.push_back(std::move(op));
  }
  if (st->profile == Profile::None && st->ops.empty())
    return Status::error(o.error("", "nothing to do: set profile, operations, or both"));
  out = std::move(st);
  return {};
}

}  // namespace

const PluginInfo& map_stage_plugin() {
  static const PluginInfo info{"map", PluginKind::Stage,
                               "field operations (rename, copy, move, delete, default, set, coerce, hash) and "
                               "profiles mapping spec 000/001 records to the Agent Activity Log Format",
                               kMapOptions, make_map, nullptr, nullptr};
  return info;
}

}  // namespace agentlog::plugins

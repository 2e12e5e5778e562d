#include "plugins/map/map.h"

#include <algorithm>

#include "core/field_path.h"
#include "core/json_text.h"
#include "core/worker_slots.h"
#include "plugins/enrich/enrich.h"
#include "plugins/map/map_ops.h"
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

using map::CoerceTo;
using map::Op;
using map::OpKind;

// ---- the stage ----------------------------------------------------------------------

class MapStage : public RecordStage {
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
    Counts& local_counts = counts.local();
    std::string before(record.bytes());
    std::string why;
    V& root = record.tree();
    bool ok = true, changed = false;
    if (profile != Profile::None) {
      map::Outcome outcome = map::apply_profile(profile, profile_options, root, before, why);
      ok = outcome != map::Outcome::Failed;
      changed = outcome == map::Outcome::Mapped;
      if (outcome == map::Outcome::Unchanged) ++local_counts.other_events;
      if (!ok) why = "profile " + std::string(kProfiles[profile == Profile::ActionEvent ? 0 : 1]) + ": " + why;
    }
    for (size_t i = 0; ok && i < ops.size(); ++i) {
      std::string op_why;
      ok = map::apply_op(ops[i], root, op_why, changed, local_counts.skipped_missing);
      if (!ok) why = ops[i].label + ": " + op_why;
    }
    if (ok && changed) {
      ++local_counts.mapped;
      return StageVerdict::keep();
    }
    // Failed, or nothing to change: the record goes on as this stage received it (a dead
    // letter shows it so; an untouched record keeps its bytes).
    bool generated = record.generated, expanded = record.expanded;
    record.reset_owned(std::move(before));
    record.generated = generated;
    record.expanded = expanded;
    if (ok) {
      ++local_counts.unchanged;
      return StageVerdict::keep();
    }
    ++local_counts.failed;
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
  OptionView options = entry.object(name);
  switch (op.kind) {
    case OpKind::Rename:
    case OpKind::Copy:
    case OpKind::Move: {
      if (Status status = parse_path(options, "from", op.from); !status.ok()) return status;
      op.overwrite = options.boolean("overwrite");
      op.required = options.boolean("required");
      std::string target = options.str("to");
      if (op.kind == OpKind::Rename) {
        if (target.empty()) return Status::error(options.error("to", "must not be empty"));
        if (target.find('.') != std::string::npos || target[0] == '/')
          return Status::error(options.error("to", "is a key name, not a path; use move to change a field's parent"));
        op.to.text = target;
        op.to.parts = {target};
        if (target == op.from.parts.back()) return Status::error(options.error("to", "is the field's current name"));
        return {};
      }
      if (Status status = parse_path(options, "to", op.to); !status.ok()) return status;
      if (op.to.parts == op.from.parts) return Status::error(options.error("to", "is the same path as from"));
      return {};
    }
    case OpKind::Default:
    case OpKind::Set: {
      if (Status status = parse_path(options, "field", op.from); !status.ok()) return status;
      op.value = *json::parse(enrich::yaml_scalar_json(options.raw("value")));
      return {};
    }
    case OpKind::Coerce: {
      if (Status status = parse_path(options, "field", op.from); !status.ok()) return status;
      std::string target = options.str("to");
      op.coerce = target == "integer"   ? CoerceTo::Integer
                  : target == "number"  ? CoerceTo::Number
                  : target == "boolean" ? CoerceTo::Boolean
                                        : CoerceTo::String;
      op.required = options.boolean("required");
      return {};
    }
    case OpKind::Hash: {
      if (Status status = parse_path(options, "field", op.from); !status.ok()) return status;
      if (options.has("to"))
        if (Status status = parse_path(options, "to", op.to); !status.ok()) return status;
      op.required = options.boolean("required");
      return {};
    }
    case OpKind::Delete: break;
  }
  return {};
}

struct MapConfig {
  enum class ProfileName : uint8_t { ActionEvent, ActionLog };  // in kProfiles' order
  enum class OtherEvents : uint8_t { Pass, DeadLetter };         // in kOtherEvents' order
  std::optional<ProfileName> profile;
  std::optional<std::vector<std::string>> time_fields;
  Tracked<OtherEvents> other_events;
  template <class B>
  static void bind(B& b) {
    b.field("profile", &MapConfig::profile);
    b.field("time_fields", &MapConfig::time_fields);
    b.field("other_events", &MapConfig::other_events);
    // A list of mappings, each setting one operation key: build_op reads them through
    // OptionView, which also positions their errors.
    b.by_hand("operations");
  }
};

Status make_map(const MapConfig& cfg, const OptionView& options, std::unique_ptr<Stage>& out) {
  auto stage = std::make_unique<MapStage>();
  if (cfg.profile)
    stage->profile = *cfg.profile == MapConfig::ProfileName::ActionEvent ? Profile::ActionEvent : Profile::ActionLog;
  if (cfg.time_fields) {
    if (stage->profile == Profile::None)
      return Status::error(options.error("time_fields", "applies only with a profile"));
    stage->profile_options.time_fields = *cfg.time_fields;
    if (stage->profile_options.time_fields.empty())
      return Status::error(options.error("time_fields", "must list at least one field"));
    for (const auto& field : stage->profile_options.time_fields)
      if (field.empty()) return Status::error(options.error("time_fields", "field names must not be empty"));
  }
  if (cfg.other_events.given && stage->profile != Profile::ActionEvent)
    return Status::error(options.error("other_events", "applies only with profile: action-event"));
  stage->profile_options.pass_other_events = cfg.other_events.value == MapConfig::OtherEvents::Pass;
  auto entries = options.objects("operations");
  if (options.has("operations") && entries.empty())
    return Status::error(options.error("operations", "must list at least one operation"));
  for (size_t i = 0; i < entries.size(); ++i) {
    Op op;
    if (Status status = build_op(entries[i], i, op); !status.ok()) return status;
    stage->ops.push_back(std::move(op));
  }
  if (stage->profile == Profile::None && stage->ops.empty())
    return Status::error(options.error("", "nothing to do: set profile, operations, or both"));
  out = std::move(stage);
  return {};
}

}  // namespace

const PluginInfo& map_stage_plugin() {
  static const PluginInfo info = PluginInfo::stage<make_map>(
      "map",
      "field operations (rename, copy, move, delete, default, set, coerce, hash) and profiles mapping spec 000/001 "
      "records to the Agent Activity Log Format",
      kMapOptions);
  return info;
}

}  // namespace agentlog::plugins
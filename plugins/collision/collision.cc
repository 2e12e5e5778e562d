#include "plugins/collision/collision.h"

#include "core/field_path.h"
#include "core/hashing.h"
#include "core/interner.h"
#include "core/state_text.h"
#include "plugins/collision/owner_table.h"

namespace agentlog::plugins {
namespace {

using collision::Owner;
using collision::OwnerTable;

constexpr OptionSpec kCollisionOptions[] = {
    {.name = "key_field", .type = OptType::String, .default_value = "action_id",
     .description = "the id whose owner is guarded"},
    {.name = "scope_fields", .type = OptType::StringList, .default_value = "[]",
     .description = "fields the id is unique within, e.g. [run_id] for spec 002"},
    {.name = "agent_field", .type = OptType::String, .default_value = "agent_id",
     .description = "the agent that establishes or reuses an id"},
    {.name = "target_field", .type = OptType::String, .default_value = "frontier_item_id",
     .description = "what the id maps to (spec 000: the frontier item); may be absent"},
    {.name = "mark_field", .type = OptType::String, .default_value = "collision",
     .description = "top-level field set on a colliding record; `lifecycle` does not thread such records"},
    {.name = "max_keys", .type = OptType::Int, .default_value = "1000000",
     .description = "most ids remembered; beyond it the oldest established id is forgotten", .min = 1, .max = 1ll << 32},
    {.name = "time_fields", .type = OptType::StringList, .default_value = "[event_time, timestamp, \"@timestamp\", time, ts]",
     .description = "the warning's event_time: the first of these fields the colliding record has as a string"},
};
// Where producers put the event time (spec 002: event_time; servers persisting spec 000 events: timestamp, ...).
constexpr std::string_view kDefaultTimeFields[] = {"event_time", "timestamp", "@timestamp", "time", "ts"};

struct Line {
  uint32_t source = 0;
  uint64_t line = 0;
};

class CollisionStage : public BatchStage {
 public:
  FieldPath key_field, agent_field, target_field;
  std::vector<FieldPath> scope, time_fields;
  std::string mark_field;
  size_t max_keys = 1000000;
  // key_field and target_field when not the defaults: the warning and the mark name them
  // beside their fixed members (action_id, frontier_item_id).
  std::string key_field_note, target_field_note;


  void init() {
    for (const auto& s : scope) scope_slots_.push_back(fields_.add(s));
    key_slot_ = fields_.add(key_field);
    agent_slot_ = fields_.add(agent_field);
    target_slot_ = fields_.add(target_field);
    owners_.set_max_keys(max_keys);
    if (key_field.text != "action_id") key_field_note = ",\"key_field\":" + json::quoted(key_field.text);
    if (target_field.text != "frontier_item_id") target_field_note = ",\"target_field\":" + json::quoted(target_field.text);
  }

  void process_batch(Batch& batch) override {
    const auto& recs = batch.records;
    window_.run(
        recs, fields_, [this](Record&, Prepared& p) { prepare(p); },
        // Only the index bucket is prefetched (in prepare): an owner is read when its id comes
        // back, mostly soon after it was written (a call's result), and the ring fills in order.
        // Prefetching those too measured no faster.
        [&](size_t i, const Prepared& p) {
          if (p.keyed) handle(batch, *recs[i], p);
        });
  }

  // Follow-mode state (docs/stages/collision.md#state-across-restarts): the owners, oldest
  // first, as key hash, agent, the line that established the id, target and the agents
  // already warned about. The key itself is not kept (only its hash), here as in memory.
  std::string state_fingerprint;  // the fields the key, agent and target come from
  std::string state_config() const override { return state_fingerprint; }
  void save_state(std::string& out, const StateSources& sources) const override {
    state::StringTable agents, names;
    out += "{\"format\":1,\"owners\":[";
    bool first = true;
    owners_.for_each_oldest_first([&](const Owner& o, std::string_view target, const std::vector<uint32_t>& warned) {
      out += first ? "[" : ",[";
      first = false;
      out += std::to_string(o.hash) + "," + std::to_string(agents.id(agents_.str(o.agent))) + "," +
             std::to_string(names.id(sources.name(o.source))) + "," + std::to_string(o.line) + ",";
      json::append_quoted(out, target);
      if (!warned.empty()) {
        out += ",[";
        for (size_t i = 0; i < warned.size(); ++i) out += (i ? "," : "") + std::to_string(agents.id(agents_.str(warned[i])));
        out += "]";
      }
      out += "]";
    });
    out += "],\"agents\":";
    agents.write(out);
    out += ",\"sources\":";
    names.write(out);
    out += "}";
  }

  Status restore_state(std::string_view json, StateSources& sources, std::string& note) override {
    simdjson::dom::parser parser;
    simdjson::dom::element root, agents_json, sources_json;
    simdjson::dom::object obj;
    if (parser.parse(json.data(), json.size()).get(root) || root.get(obj)) return Status::error("the state must be an object");
    int64_t format = 0;
    if (root["format"].get(format) || format != 1) return Status::error("\"format\" must be 1");
    std::vector<std::string> agents, names;
    if (root["agents"].get(agents_json) || root["sources"].get(sources_json) ||
        !state::read_strings(agents_json, agents) || !state::read_strings(sources_json, names))
      return Status::error("\"agents\" and \"sources\" must be lists of strings");
    simdjson::dom::array owners;
    if (root["owners"].get(owners)) return Status::error("\"owners\" must be a list");
    std::vector<uint32_t> source_of;
    for (const std::string& name : names) source_of.push_back(sources.index(name));
    // Within this run's max_keys: the newest ids.
    const size_t total = owners.size(), skip = total > max_keys ? total - max_keys : 0;
    size_t slot = 0;
    for (simdjson::dom::element owner_json : owners) {
      if (slot++ < skip) continue;
      state::Row row(owner_json, "an owner");
      const uint64_t hash = row.u64();
      const uint32_t agent = row.index(agents.size()), src = row.index(names.size());
      const uint64_t line = row.u64();
      const std::string_view target = row.str();
      std::vector<uint32_t> warned;
      if (row.error().empty() && !row.at_end()) {
        simdjson::dom::array list;
        if (row.element().get(list)) row.fail("has a warned list that is not a list");
        else
          for (simdjson::dom::element target_json : list) {
            uint64_t i = 0;
            if (target_json.get(i) || i >= agents.size()) row.fail("has a warned agent that does not exist");
            else warned.push_back(agents_.id(agents[i]));
          }
        if (row.error().empty() && !row.at_end()) row.fail("is too long");
      }
      if (row.error().empty() && owners_.find(hash) != OwnerTable::kNone) row.fail("appears twice");
      if (!row.error().empty()) return Status::error(row.error());
      owners_.restore(hash, agents_.id(agents[agent]), source_of[src], line, target, std::move(warned));
    }
    if (skip) {
      owners_.count_forgotten(skip);
      note = std::to_string(skip) + " of " + std::to_string(total) + " ids not restored (max_keys is " +
             std::to_string(max_keys) + "; the oldest)";
    }
    return {};
  }

  std::string stats_json() const override {
    return "\"ids\":" + std::to_string(owners_.size()) + ",\"collisions\":" + std::to_string(collisions_) +
           ",\"colliding_records\":" + std::to_string(colliding_records_) +
           ",\"forgotten\":" + std::to_string(owners_.forgotten());
  }

 private:
  std::string text(size_t slot) const {
    std::string out;
    fields_.append_text(slot, out);
    return out;
  }

  // A record's key hash, before it is handled: scope fields and the id joined by \x1f.
  struct Prepared {
    bool keyed = false;
    uint64_t hash = 0;
  };

  // Runs ahead of handle(), with the record's fields extracted.
  void prepare(Prepared& p) {
    p.keyed = join_key(buffer_);
    if (!p.keyed) return;
    if (buffer_.fits()) {
      p.hash = hash_key(buffer_.view());
    } else {  // a key past the buffer (256 bytes)
      join_key(key_);
      p.hash = hash_key(key_);
    }
    owners_.prefetch(p.hash);
  }
  template <class Out>
  bool join_key(Out& key) const {
    key.clear();
    for (size_t s : scope_slots_) {
      fields_.append_text(s, key);
      key.push_back('\x1f');
    }
    return fields_.append_text(key_slot_, key);
  }

  void handle(Batch& batch, Record& record, const Prepared& prepared) {
    const uint64_t hash = prepared.hash;
    std::string_view agent = fields_.str(agent_slot_).value_or("");
    Line here{record.source, record.line};
    const uint32_t slot = owners_.find(hash);
    if (slot == OwnerTable::kNone) {
      owners_.establish(hash, agents_.id(agent), here.source, here.line, fields_.text(target_slot_, scratch_).value_or(""));
      return;
    }
    const Owner& owner = owners_.owner(slot);
    if (equal_text(agents_.str(owner.agent), agent)) return;  // the owner re-sending its own id is no collision
    const uint32_t agent_id = agents_.id(agent);
    const Line first{owner.source, owner.line};
    ++colliding_records_;
    std::string id = text(key_slot_);
    std::string mark = "{\"action_id\":" + json::quoted(id) + key_field_note +
                       ",\"established_by\":" + json::quoted(agents_.str(owner.agent)) +
                       ",\"reused_by\":" + json::quoted(agent) + ",\"threaded\":false}";
    record.set_member_raw(mark_field, mark);
    // One warning per id and reusing agent.
    if (!owners_.first_warning(slot, agent_id)) return;
    ++collisions_;
    std::string warning =
        "{\"event_type\":\"instrumentation_warning\",\"warning\":\"action_id_collision\",\"action_id\":" +
        json::quoted(id) + key_field_note;
    for (size_t i = 0; i < scope.size(); ++i)
      warning += "," + json::quoted(scope[i].text) + ":" + json::quoted(text(scope_slots_[i]));
    warning += ",\"established_by\":" + json::quoted(agents_.str(owner.agent)) +
               ",\"reused_by\":" + json::quoted(agent) + ",\"frontier_item_id\":" + json::quoted(text(target_slot_)) +
               ",\"established_frontier_item_id\":" + json::quoted(owners_.target_of(slot)) + target_field_note +
               ",\"lines\":[{\"source\":" + json::quoted(batch.source_name(first.source)) +
               ",\"line\":" + std::to_string(first.line) +
               "},{\"source\":" + json::quoted(batch.source_name(here.source)) +
               ",\"line\":" + std::to_string(here.line) + "}]";
    // Read from the record's view only here, for a warning: registering the time fields in
    // fields_ would cost every record a lookup per field.
    simdjson::dom::element root = record.root();
    for (const FieldPath& field : time_fields) {
      std::string_view time;
      if (auto found = lookup(root, field); found && found->get(time) == simdjson::SUCCESS) {
        warning += ",\"event_time\":" + json::quoted(time);
        break;
      }
    }
    batch.emit(warning + "}", &record);
  }

  FieldSet fields_;
  std::string scratch_;  // a number field's text
  KeyBuffer buffer_;     // prepare()'s key, usually
  std::string key_;      // prepare()'s key when longer
  PrepareAhead<Prepared> window_;
  std::vector<size_t> scope_slots_;
  size_t key_slot_ = 0, agent_slot_ = 0, target_slot_ = 0;
  OwnerTable owners_;
  Interner agents_;
  uint64_t collisions_ = 0, colliding_records_ = 0;
};

struct CollisionConfig {
  std::string key_field, agent_field, target_field, mark_field;
  std::vector<std::string> scope_fields;
  std::optional<std::vector<std::string>> time_fields;  // unset: kDefaultTimeFields
  size_t max_keys = 0;
  template <class B>
  static void bind(B& b) {
    b.field("key_field", &CollisionConfig::key_field);
    b.field("scope_fields", &CollisionConfig::scope_fields);
    b.field("agent_field", &CollisionConfig::agent_field);
    b.field("target_field", &CollisionConfig::target_field);
    b.field("mark_field", &CollisionConfig::mark_field);
    b.field("max_keys", &CollisionConfig::max_keys);
    b.field("time_fields", &CollisionConfig::time_fields);
  }
};

Status make_collision(const CollisionConfig& cfg, const OptionView& options, std::unique_ptr<Stage>& out) {
  auto stage = std::make_unique<CollisionStage>();
  for (auto [name, text, dst] : {std::tuple{"key_field", &cfg.key_field, &stage->key_field},
                                 {"agent_field", &cfg.agent_field, &stage->agent_field},
                                 {"target_field", &cfg.target_field, &stage->target_field}})
    if (!parse_field_path(*text, *dst))
      return Status::error(options.error(name, "invalid field path \"" + *text + "\""));
  for (const auto& scope_field : cfg.scope_fields) {
    FieldPath path;
    if (!parse_field_path(scope_field, path))
      return Status::error(options.error("scope_fields", "invalid field path \"" + scope_field + "\""));
    stage->scope.push_back(path);
  }
  std::vector<std::string> times(std::begin(kDefaultTimeFields), std::end(kDefaultTimeFields));
  if (cfg.time_fields) times = *cfg.time_fields;
  for (const auto& time_field : times) {
    FieldPath path;
    if (!parse_field_path(time_field, path))
      return Status::error(options.error("time_fields", "invalid field path \"" + time_field + "\""));
    stage->time_fields.push_back(path);
  }
  stage->mark_field = cfg.mark_field;
  if (stage->mark_field.empty()) return Status::error(options.error("mark_field", "must not be empty"));
  stage->max_keys = cfg.max_keys;
  // Saved state holds key hashes: a probe of hash_key makes a changed hash a changed config.
  std::string fingerprint = "collision state 1\n" + std::to_string(hash_key("agentlog"));
  for (const FieldPath* field : {&stage->key_field, &stage->agent_field, &stage->target_field})
    fingerprint += "\n" + field->text;
  for (const FieldPath& field : stage->scope) fingerprint += "\nscope " + field.text;
  stage->state_fingerprint = sha256_hex(fingerprint);
  stage->init();
  out = std::move(stage);
  return {};
}

}  // namespace

const PluginInfo& collision_stage_plugin() {
  static const PluginInfo info = PluginInfo::stage<make_collision>(
      "collision", "guard against an id reused by a different agent (spec 000's collision guard)", kCollisionOptions);
  return info;
}

}  // namespace agentlog::plugins

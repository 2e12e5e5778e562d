#include "plugins/collision/collision.h"

#include <list>
#include <unordered_map>

#include "core/field_path.h"

namespace agentlog::plugins {
namespace {

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
     .description = "most ids remembered; the least recently used is forgotten beyond it", .min = 1, .max = 1ll << 32},
};

struct Line {
  uint32_t source = 0;
  uint64_t line = 0;
};

struct Owner {
  std::string agent, target;
  Line line;
  std::vector<std::string> warned;  // reusing agents already reported for this id
  std::list<const std::string*>::iterator lru;
};

struct Hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
struct Eq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

class CollisionStage : public Stage {
 public:
  FieldPath key_field, agent_field, target_field;
  std::vector<FieldPath> scope;
  std::string mark_field;
  size_t max_keys = 1000000;

  StageVerdict process(Record&) override { return StageVerdict::keep(); }
  bool stateless() const override { return false; }

  void process_batch(Batch& batch) override {
    for (Record* r : batch.records)
      if (r->verdict == Verdict::Keep && !r->generated) handle(batch, *r);
  }

  std::string stats_json() const override {
    return "\"ids\":" + std::to_string(owners_.size()) + ",\"collisions\":" + std::to_string(collisions_) +
           ",\"colliding_records\":" + std::to_string(colliding_records_) +
           ",\"forgotten\":" + std::to_string(forgotten_);
  }

 private:
  static std::optional<std::string> text(simdjson::dom::element root, const FieldPath& p) {
    auto v = lookup(root, p);
    if (!v) return std::nullopt;
    std::string_view s;
    if (v->get(s) == simdjson::SUCCESS) return std::string(s);
    if (v->is_number()) return simdjson::minify(*v);
    return std::nullopt;
  }

  void handle(Batch& batch, Record& r) {
    simdjson::dom::element root = r.root();
    auto id = text(root, key_field);
    if (!id) return;
    std::string key;
    for (const auto& s : scope) {
      key += text(root, s).value_or("");
      key.push_back('\x1f');
    }
    key += *id;
    std::string agent = text(root, agent_field).value_or("");
    std::string target = text(root, target_field).value_or("");
    Line here{r.source, r.line};
    auto it = owners_.find(key);
    if (it == owners_.end()) {
      while (owners_.size() >= max_keys) {
        owners_.erase(*lru_.front());
        lru_.pop_front();
        ++forgotten_;
      }
      auto [nit, ok] = owners_.emplace(key, Owner{agent, target, here, {}, {}});
      nit->second.lru = lru_.insert(lru_.end(), &nit->first);
      return;
    }
    Owner& o = it->second;
    lru_.splice(lru_.end(), lru_, o.lru);
    if (o.agent == agent) return;  // the owner re-sending its own id is no collision
    ++colliding_records_;
    std::string mark = "{\"action_id\":" + json::quoted(*id) + ",\"established_by\":" + json::quoted(o.agent) +
                       ",\"reused_by\":" + json::quoted(agent) + ",\"threaded\":false}";
    r.set_member_raw(mark_field, mark);
    if (std::find(o.warned.begin(), o.warned.end(), agent) != o.warned.end()) return;
    o.warned.push_back(agent);
    ++collisions_;
    std::string w = "{\"event_type\":\"instrumentation_warning\",\"warning\":\"action_id_collision\",\"action_id\":" +
                    json::quoted(*id);
    for (const auto& s : scope) w += "," + json::quoted(s.text) + ":" + json::quoted(text(root, s).value_or(""));
    w += ",\"established_by\":" + json::quoted(o.agent) + ",\"reused_by\":" + json::quoted(agent) +
         ",\"frontier_item_id\":" + json::quoted(target) + ",\"established_frontier_item_id\":" + json::quoted(o.target) +
         ",\"lines\":[{\"source\":" + json::quoted(batch.source_name(o.line.source)) +
         ",\"line\":" + std::to_string(o.line.line) + "},{\"source\":" + json::quoted(batch.source_name(here.source)) +
         ",\"line\":" + std::to_string(here.line) + "}]";
    if (auto t = text(root, FieldPath{"event_time", {"event_time"}})) w += ",\"event_time\":" + json::quoted(*t);
    batch.emit(w + "}", &r);
  }

  std::unordered_map<std::string, Owner, Hash, Eq> owners_;
  std::list<const std::string*> lru_;  // least recently used first
  uint64_t collisions_ = 0, colliding_records_ = 0, forgotten_ = 0;
};

Status make_collision(const OptionView& o, std::unique_ptr<Stage>& out) {
  auto st = std::make_unique<CollisionStage>();
  for (auto [name, dst] : {std::pair{"key_field", &st->key_field}, {"agent_field", &st->agent_field},
                           {"target_field", &st->target_field}})
    if (!parse_field_path(o.str(name), *dst))
      return Status::error(o.error(name, "invalid field path \"" + o.str(name) + "\""));
  for (const auto& s : o.strings("scope_fields")) {
    FieldPath p;
    if (!parse_field_path(s, p)) return Status::error(o.error("scope_fields", "invalid field path \"" + s + "\""));
    st->scope.push_back(p);
  }
  st->mark_field = o.str("mark_field");
  if (st->mark_field.empty()) return Status::error(o.error("mark_field", "must not be empty"));
  st->max_keys = static_cast<size_t>(o.integer("max_keys"));
  out = std::move(st);
  return {};
}

}  // namespace

const PluginInfo& collision_stage_plugin() {
  static const PluginInfo info{"collision", PluginKind::Stage,
                               "guard against an id reused by a different agent (spec 000's collision guard)",
                               kCollisionOptions, make_collision, nullptr, nullptr};
  return info;
}

}  // namespace agentlog::plugins

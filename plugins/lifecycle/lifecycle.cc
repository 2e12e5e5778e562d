#include "plugins/lifecycle/lifecycle.h"

#include <map>
#include <mutex>

#include "core/named_file.h"
#include "plugins/lifecycle/lifecycle_stage.h"

namespace agentlog::plugins {
namespace lifecycle_stage {

// Registers every field the stage reads, so one pass over a record finds them all.
void LifecycleStage::init() {
  auto top = [](const std::string& name) {
    FieldPath path;
    path.text = name;
    path.parts = {name};
    return path;
  };
  if (!skip_field.empty()) skip_slot_ = fields_.add(top(skip_field));
  // Looked up only when annotating: an earlier stage's annotation is parsed only if needed.
  if (!annotation_field.empty()) annotation_.emplace(annotation_field);
  type_slot_ = fields_.add(profile.type_field);
  agent_slot_ = fields_.add(profile.agent_field);
  // Only the first time field is extracted with the others: each registered field costs
  // every record (also records of other profiles); the rest are looked up when it is absent.
  time_slot_ = fields_.add(profile.time_fields[0]);
  time_fallbacks_.assign(profile.time_fields.begin() + 1, profile.time_fields.end());
  for (const auto& track : profile.tracks) {
    std::vector<std::vector<size_t>> slots;
    for (size_t part = 0; part < track.key.size(); ++part) {
      std::vector<size_t> alts{fields_.add(track.key[part])};
      for (const auto& fallback : track.fallbacks[part]) alts.push_back(fields_.add(fallback));
      slots.push_back(std::move(alts));
    }
    key_slots_.push_back(std::move(slots));
    std::vector<size_t> optional;
    for (const auto& field : track.optional_key) optional.push_back(fields_.add(field));
    optional_slots_.push_back(std::move(optional));
    std::vector<size_t> phase;
    for (const auto& event : track.events)
      phase.push_back(event.phase_field.parts.empty() ? SIZE_MAX : fields_.add(event.phase_field));
    phase_slots_.push_back(std::move(phase));
    for (const auto& event : track.events)
      events_.push_back({head_word(event.name), tail_word(event.name), event.name.size(),
                         static_cast<size_t>(&track - profile.tracks.data()), &event});
  }
  init_annotation_pieces();
}

// The closed-lifecycle index at its full size once its first table fills: growing through
// every smaller table cost about 1,000 page faults per 100,000 remembered, and a run of a
// few lifecycles needs no 2 MiB. Capped at 131,072 keys (2 MiB of 8-byte buckets), since
// random inserts soon touch every huge page of the index; a larger closed_memory grows from
// there as it fills. The ring grows by whole huge pages.
void LifecycleStage::presize_closed_index() {
  closed_index_.reserve_when_full(std::min<size_t>(closed_memory, size_t{1} << 17));
}

bool LifecycleStage::finish(Batch& batch) {
  batch_ = &batch;
  for (size_t n = 0; head_ != kNil && n < 1024; ++n) {  // a bounded batch per call
    if (report_open_at_end) warn_about(head_, "open_at_end", nullptr);
    release(head_);
  }
  return head_ != kNil;
}

std::string LifecycleStage::stats_json() const {
  std::string o = "\"profile\":" + json::quoted(profile.name) + ",\"open\":" + std::to_string(index_.size()) +
                  ",\"max_open_seen\":" + std::to_string(max_open_seen_) +
                  ",\"generated_ids\":" + std::to_string(generated_ids_) + ",\"violations\":{";
  bool first = true;
  for (const auto& [k, v] : violations_) {
    o += (first ? "" : ",") + json::quoted(k) + ":" + std::to_string(v);
    first = false;
  }
  return o + "}";
}

}  // namespace lifecycle_stage

namespace {

using lifecycle_stage::LifecycleStage;

constexpr OptionSpec kLifecycleOptions[] = {
    {.name = "profile", .type = OptType::String, .default_value = "agent-activity",
     .description = "built-in profile (agent-activity, action-event) or a path to a YAML profile"},
    {.name = "annotation_field", .type = OptType::String, .default_value = "lifecycle",
     .description = "top-level field for {track, key, state, event, seq, started_at, duration_ms, opened_by}; empty: off"},
    {.name = "skip_field", .type = OptType::String, .default_value = "collision",
     .description = "records carrying this top-level field (set by `collision`) are not threaded"},
    {.name = "max_open", .type = OptType::Int, .default_value = "1000000",
     .description = "most open lifecycles; beyond it the least recently active is evicted with a warning",
     .min = 1, .max = 1ll << 32},
    {.name = "closed_memory", .type = OptType::Int, .default_value = "100000",
     .description = "closed lifecycles remembered to spot duplicate terminal events", .min = 0, .max = 1ll << 32},
    {.name = "timeout_ms", .type = OptType::Int, .default_value = "0",
     .description = "close lifecycles idle this long in event time, with a warning (0: off)", .min = 0},
    {.name = "report_open_at_end", .type = OptType::Bool, .default_value = "true",
     .description = "warn about every lifecycle still open at end of input"},
};

struct LifecycleConfig {
  std::string profile;  // loaded through load_named_file, which positions its errors
  std::string annotation_field, skip_field;
  size_t max_open = 0, closed_memory = 0;
  int64_t timeout_ms = 0;
  bool report_open_at_end = true;
  template <class B>
  static void bind(B& b) {
    b.field("profile", &LifecycleConfig::profile);
    b.field("annotation_field", &LifecycleConfig::annotation_field);
    b.field("skip_field", &LifecycleConfig::skip_field);
    b.field("max_open", &LifecycleConfig::max_open);
    b.field("closed_memory", &LifecycleConfig::closed_memory);
    b.field("timeout_ms", &LifecycleConfig::timeout_ms);
    b.field("report_open_at_end", &LifecycleConfig::report_open_at_end);
  }
};

// A profile parsed once per text and origin, then copied: a config with several lifecycle
// stages on one profile (and the fuzz harness, which builds stages per input) need not parse
// its YAML again. A profile is plain values, so a copy is independent.
Status load_profile_cached(const NamedFile& file, lifecycle::Profile& out) {
  static std::mutex mu;
  static std::map<std::pair<std::string, std::string>, lifecycle::Profile> parsed;
  std::lock_guard lock(mu);
  auto key = std::make_pair(file.origin, file.text);
  if (auto it = parsed.find(key); it != parsed.end()) {
    out = it->second;
    return {};
  }
  lifecycle::Profile profile;
  if (Status s = lifecycle::load_profile(file.text, file.origin, profile); !s.ok()) return s;
  out = profile;
  if (parsed.size() < 64) parsed.emplace(std::move(key), std::move(profile));  // bounded: a few profiles per process
  return {};
}

Status make_lifecycle(const LifecycleConfig& cfg, const OptionView& o, std::unique_ptr<Stage>& out) {
  auto st = std::make_unique<LifecycleStage>();
  static constexpr std::string_view kYaml[] = {".yaml", ".yml"};
  NamedFile file;
  if (Status s = load_named_file(o, "profile", "profile", "lifecycles", ".yaml", kYaml, file); !s.ok()) return s;
  if (Status s = load_profile_cached(file, st->profile); !s.ok()) return Status::error(o.error("profile", s.message()));
  st->annotation_field = cfg.annotation_field;
  st->skip_field = cfg.skip_field;
  st->max_open = cfg.max_open;
  st->closed_memory = cfg.closed_memory;
  st->timeout_ms = cfg.timeout_ms;
  st->report_open_at_end = cfg.report_open_at_end;
  // Saved state holds key hashes: a probe of hash_key makes a changed hash a changed config.
  st->state_fingerprint =
      sha256_hex("lifecycle state 1\n" + std::to_string(hash_key("agentlog")) + "\n" + file.text);
  st->init();
  out = std::move(st);
  return {};
}

}  // namespace

const PluginInfo& lifecycle_stage_plugin() {
  static const PluginInfo info = PluginInfo::stage<make_lifecycle>(
      "lifecycle",
      "correlate lifecycles (planned/started/completed, tool_call/tool_result, runs) and report violations as "
      "generated records",
      kLifecycleOptions);
  return info;
}

}  // namespace agentlog::plugins

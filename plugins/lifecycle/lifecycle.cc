#include "plugins/lifecycle/lifecycle.h"

#include <climits>
#include <fstream>
#include <list>
#include <map>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/embedded_files.h"
#include "core/hashing.h"
#include "core/time_format.h"
#include "plugins/lifecycle/lifecycle_profile.h"

namespace agentlog::plugins {
namespace {

using lifecycle::EventSpec;
using lifecycle::Profile;
using lifecycle::Role;
using lifecycle::Track;

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

constexpr int64_t kNoTime = INT64_MIN;

struct Line {
  uint32_t source = 0;
  uint64_t line = 0;
};

struct Life {
  int state = -1;       // id of the last event
  uint64_t seen = 0;    // bit per event id seen
  uint32_t seq = 0;
  int64_t open_ms = kNoTime, last_ms = kNoTime;
  const std::string* opened_by = nullptr;  // interned agent id
  Line first, last;
  std::list<std::pair<size_t, const std::string*>>::iterator lru;  // (track, key)
  bool linked = false;  // `lru` is valid
};

struct Closed {
  int state = -1;
  Line line;
};

struct Hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
struct Eq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

struct TrackState {
  std::unordered_map<std::string, Life, Hash, Eq> open;
  std::unordered_map<std::string, Closed, Hash, Eq> closed;
  std::list<std::string> closed_order;  // oldest first, to bound `closed`
};

std::string display_key(std::string_view k) {
  std::string out(k);
  for (char& c : out)
    if (c == '\x1f') c = '/';
  return out;
}

class LifecycleStage : public Stage {
 public:
  Profile profile;
  std::string annotation_field, skip_field;
  size_t max_open = 1000000, closed_memory = 100000;
  int64_t timeout_ms = 0;
  bool report_open_at_end = true;

  void init() { tracks_.resize(profile.tracks.size()); }

  StageVerdict process(Record&) override { return StageVerdict::keep(); }
  bool stateless() const override { return false; }

  void process_batch(Batch& batch) override {
    batch_ = &batch;
    for (Record* r : batch.records) {
      if (r->verdict != Verdict::Keep || r->generated) continue;
      handle(*r);
    }
    if (timeout_ms > 0 && watermark_ != kNoTime) expire(batch);
  }

  void finish(Batch& batch) override {
    batch_ = &batch;
    if (report_open_at_end) {
      for (const auto& [t, key] : lru_) {
        const Life& l = tracks_[t].open.at(*key);
        warn("open_at_end", t, *key, l.opened_by ? *l.opened_by : "", "", expected_after(t, l.state),
             {l.first, l.last}, "", nullptr);
      }
    }
    for (auto& ts : tracks_) ts.open.clear();
    lru_.clear();
  }

  std::string stats_json() const override {
    std::string o = "\"profile\":" + json::quoted(profile.name) + ",\"open\":" + std::to_string(lru_.size()) +
                    ",\"max_open_seen\":" + std::to_string(max_open_seen_) +
                    ",\"generated_ids\":" + std::to_string(generated_ids_) + ",\"violations\":{";
    bool first = true;
    for (const auto& [k, v] : violations_) {
      o += (first ? "" : ",") + json::quoted(k) + ":" + std::to_string(v);
      first = false;
    }
    return o + "}";
  }

 private:
  std::optional<std::string> text_at(simdjson::dom::element root, const FieldPath& p) {
    auto v = lookup(root, p);
    if (!v) return std::nullopt;
    std::string_view s;
    if (v->get(s) == simdjson::SUCCESS) return std::string(s);
    if (v->is_number()) return simdjson::minify(*v);
    return std::nullopt;
  }

  void annotate(Record& r, std::string_view json_object) {
    if (!annotation_field.empty()) r.set_member_raw(annotation_field, json_object);
  }

  std::vector<std::string> expected_after(size_t t, int state) const {
    std::vector<std::string> out;
    for (const auto& e : profile.tracks[t].events) {
      if (e.role == Role::Open || e.role == Role::Attach) continue;
      if (e.after.empty() || std::find(e.after.begin(), e.after.end(), state) != e.after.end()) out.push_back(e.name);
    }
    return out;
  }

  void warn(std::string_view violation, size_t t, std::string_view key, std::string_view agent, std::string_view event,
            const std::vector<std::string>& expected, std::vector<Line> lines, std::string_view event_time,
            const Record* after) {
    ++violations_[std::string(violation)];
    std::string o = "{\"event_type\":\"lifecycle_violation\",\"violation\":" + json::quoted(violation) +
                    ",\"profile\":" + json::quoted(profile.name) + ",\"track\":" +
                    json::quoted(profile.tracks[t].name) + ",\"key\":" + json::quoted(display_key(key)) +
                    ",\"agent_id\":" + json::quoted(agent);
    if (!event.empty()) o += ",\"event\":" + json::quoted(event);
    o += ",\"expected\":[";
    for (size_t i = 0; i < expected.size(); ++i) o += (i ? "," : "") + json::quoted(expected[i]);
    o += "],\"lines\":[";
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i && lines[i].line == lines[i - 1].line && lines[i].source == lines[i - 1].source) continue;
      if (o.back() == '}') o += ",";
      o += "{\"source\":" + json::quoted(batch_->source_name(lines[i].source)) +
           ",\"line\":" + std::to_string(lines[i].line) + "}";
    }
    o += "]";
    if (!event_time.empty()) o += ",\"event_time\":" + json::quoted(event_time);
    batch_->emit(o + "}", after);
  }

  std::string annotation(size_t t, std::string_view key, const Life* l, std::string_view state,
                         std::string_view event, int64_t now_ms) {
    std::string o = "{\"track\":" + json::quoted(profile.tracks[t].name) + ",\"key\":" + json::quoted(display_key(key)) +
                    ",\"state\":" + json::quoted(state) + ",\"event\":" + json::quoted(event);
    if (l) {
      o += ",\"seq\":" + std::to_string(l->seq);
      if (l->open_ms != kNoTime) {
        o += ",\"started_at\":" + json::quoted(format_rfc3339_ms(l->open_ms));
        if (now_ms != kNoTime) o += ",\"duration_ms\":" + std::to_string(now_ms - l->open_ms);
      }
      if (l->opened_by) o += ",\"opened_by\":" + json::quoted(*l->opened_by);
    }
    return o + "}";
  }

  const std::string* intern(const std::string& s) { return &*agents_.insert(s).first; }

  void touch(Life& l, size_t t, const std::string* key) {
    if (l.linked) lru_.erase(l.lru);
    l.lru = lru_.insert(lru_.end(), {t, key});
    l.linked = true;
  }

  void close(size_t t, const std::string& key, int state, Line line) {
    TrackState& ts = tracks_[t];
    auto it = ts.open.find(key);
    if (it != ts.open.end()) {
      lru_.erase(it->second.lru);
      ts.open.erase(it);
    }
    if (closed_memory == 0) return;
    if (ts.closed.emplace(key, Closed{state, line}).second) ts.closed_order.push_back(key);
    while (ts.closed.size() > closed_memory) {
      ts.closed.erase(ts.closed_order.front());
      ts.closed_order.pop_front();
    }
  }

  void evict_if_full(const Record* after) {
    while (lru_.size() >= max_open) {
      auto [t, key] = lru_.front();
      const Life& l = tracks_[t].open.at(*key);
      warn("evicted", t, *key, l.opened_by ? *l.opened_by : "", "", expected_after(t, l.state), {l.first, l.last},
           "", after);
      std::string k = *key;
      lru_.pop_front();
      tracks_[t].open.erase(k);
    }
  }

  void expire(Batch&) {
    while (!lru_.empty()) {
      auto [t, key] = lru_.front();
      const Life& l = tracks_[t].open.at(*key);
      if (l.last_ms == kNoTime || l.last_ms >= watermark_ - timeout_ms) break;
      warn("timeout", t, *key, l.opened_by ? *l.opened_by : "", "", expected_after(t, l.state), {l.first, l.last}, "",
           nullptr);
      std::string k = *key;
      lru_.pop_front();
      tracks_[t].open.erase(k);
    }
  }

  void handle(Record& r) {
    simdjson::dom::element root = r.root();
    if (!skip_field.empty()) {
      simdjson::dom::object obj;
      if (root.get(obj) == simdjson::SUCCESS && obj.at_key(skip_field).error() == simdjson::SUCCESS) {
        annotate(r, "{\"state\":\"suppressed\",\"reason\":" + json::quoted(skip_field) + "}");
        return;
      }
    }
    auto type = text_at(root, profile.type_field);
    if (!type) return;
    size_t t = 0;
    const EventSpec* ev = nullptr;
    for (; t < profile.tracks.size(); ++t)
      if ((ev = profile.tracks[t].find(*type))) break;
    if (!ev) return;
    const Track& tr = profile.tracks[t];
    std::string agent = text_at(root, profile.agent_field).value_or("");
    std::string time_text = text_at(root, profile.time_field).value_or("");
    int64_t now = kNoTime;
    if (auto ms = parse_rfc3339_ms(time_text)) {
      now = *ms;
      if (watermark_ == kNoTime || now > watermark_) watermark_ = now;
    }
    Role role = ev->role;
    if (role == Role::Toggle) {
      auto phase = ev->phase_field.parts.empty() ? std::nullopt : text_at(root, ev->phase_field);
      auto p = phase ? ev->phases.find(*phase) : ev->phases.end();
      role = p != ev->phases.end() ? p->second : Role::Toggle;
    }
    // The key: each field, or its first present fallback, or a generated id.
    std::string key;
    for (size_t k = 0; k < tr.key.size(); ++k) {
      auto v = text_at(root, tr.key[k]);
      for (size_t f = 0; !v && f < tr.fallbacks[k].size(); ++f) v = text_at(root, tr.fallbacks[k][f]);
      if (!v && tr.generate.event == *type && tr.key[k].text == tr.generate.field) {
        v = tr.generate.prefix +
            sha256_hex(std::string(batch_->source_name(r.source)) + ":" + std::to_string(r.line) + ":" +
                       std::string(r.bytes()))
                .substr(0, 16);
        r.set_member_string(tr.generate.field, *v);
        ++generated_ids_;
      }
      if (!v) {
        warn("missing_key", t, key, agent, *type, {}, {{r.source, r.line}}, time_text, &r);
        annotate(r, "{\"track\":" + json::quoted(tr.name) + ",\"state\":\"unkeyed\",\"event\":" + json::quoted(*type) + "}");
        return;
      }
      if (k) key.push_back('\x1f');
      key += *v;
    }
    TrackState& ts = tracks_[t];
    auto it = ts.open.find(key);
    Life* life = it == ts.open.end() ? nullptr : &it->second;
    Line here{r.source, r.line};
    if (role == Role::Toggle) role = life ? Role::Close : Role::Open;
    // What should have come first: the listed predecessors, or else whatever opens the track.
    std::vector<std::string> after_names = ev->after_names;
    if (after_names.empty())
      for (const auto& e : tr.events)
        if (e.role == Role::Open || e.role == Role::Toggle) after_names.push_back(e.name);

    if (role == Role::Attach) {
      if (life) annotate(r, annotation(t, key, life, "attached", *type, now));
      else annotate(r, annotation(t, key, nullptr, "unattached", *type, now));
      return;
    }
    if (life && life->last_ms != kNoTime && now != kNoTime && now < life->last_ms)
      warn("out_of_order", t, key, agent, *type, {}, {life->last, here}, time_text, &r);

    if (role == Role::Open) {
      if (life) {
        warn("duplicate_open", t, key, agent, *type, expected_after(t, life->state), {life->first, here}, time_text, &r);
      } else {
        if (auto c = ts.closed.find(key); c != ts.closed.end())
          warn("transition_after_terminal", t, key, agent, *type, {}, {c->second.line, here}, time_text, &r);
        evict_if_full(&r);
        auto [nit, ok] = ts.open.emplace(key, Life{});
        life = &nit->second;
        life->open_ms = now;
        life->opened_by = intern(agent);
        life->first = here;
        touch(*life, t, &nit->first);
        max_open_seen_ = std::max(max_open_seen_, lru_.size());
      }
    } else if (!life) {
      auto c = ts.closed.find(key);
      if (c != ts.closed.end()) {
        bool dup = role == Role::Close && c->second.state == ev->id;
        warn(dup ? "duplicate_terminal" : "transition_after_terminal", t, key, agent, *type, {}, {c->second.line, here},
             time_text, &r);
        annotate(r, annotation(t, key, nullptr, "after_terminal", *type, now));
        return;
      }
      warn("orphan", t, key, agent, *type, after_names, {here}, time_text, &r);
      if (role == Role::Close) {
        annotate(r, annotation(t, key, nullptr, "orphan", *type, now));
        return;
      }
      // An orphan that advances starts tracking here, so its own close is not an orphan too.
      evict_if_full(&r);
      auto [nit, ok] = ts.open.emplace(key, Life{});
      life = &nit->second;
      life->open_ms = now;
      life->opened_by = intern(agent);
      life->first = here;
      touch(*life, t, &nit->first);
      max_open_seen_ = std::max(max_open_seen_, lru_.size());
    } else if (!ev->after.empty() && std::find(ev->after.begin(), ev->after.end(), life->state) == ev->after.end()) {
      bool seen_before = (life->seen >> ev->id) & 1;
      bool any_pred = false;
      for (int a : ev->after) any_pred = any_pred || ((life->seen >> a) & 1);
      const char* v = seen_before ? "duplicate_event" : !any_pred ? "orphan" : "unexpected_transition";
      warn(v, t, key, agent, *type, after_names, {life->first, here}, time_text, &r);
    }
    life->state = ev->id;
    life->seen |= uint64_t{1} << ev->id;
    ++life->seq;
    life->last = here;
    if (now != kNoTime) life->last_ms = now;
    if (role == Role::Close) {
      annotate(r, annotation(t, key, life, "closed", *type, now));
      close(t, key, ev->id, here);
    } else {
      annotate(r, annotation(t, key, life, "open", *type, now));
      auto lit = ts.open.find(key);
      touch(*life, t, &lit->first);
    }
  }

  std::vector<TrackState> tracks_;
  std::list<std::pair<size_t, const std::string*>> lru_;  // least recently active first
  std::unordered_set<std::string> agents_;
  std::map<std::string, uint64_t> violations_;
  size_t max_open_seen_ = 0;
  uint64_t generated_ids_ = 0;
  int64_t watermark_ = kNoTime;
  Batch* batch_ = nullptr;
};

Status make_lifecycle(const OptionView& o, std::unique_ptr<Stage>& out) {
  auto st = std::make_unique<LifecycleStage>();
  std::string name = o.str("profile");
  std::string text;
  bool is_path = name.find('/') != std::string::npos || name.ends_with(".yaml") || name.ends_with(".yml");
  if (is_path) {
    std::ifstream f(name, std::ios::binary);
    if (!f) return Status::error(o.error("profile", "cannot read profile file \"" + name + "\""));
    std::stringstream ss;
    ss << f.rdbuf();
    text = ss.str();
  } else {
    text = std::string(find_embedded("lifecycles/" + name + ".yaml"));
    if (text.empty()) {
      static constexpr std::string_view kBuiltins[] = {"action-event", "agent-activity"};
      return Status::error(o.error("profile", "unknown profile \"" + name + "\"" + suggestion(name, kBuiltins) +
                                                  ", or a path to a .yaml file"));
    }
  }
  if (Status s = lifecycle::load_profile(text, is_path ? name : "lifecycles/" + name + ".yaml", st->profile); !s.ok())
    return Status::error(o.error("profile", s.message()));
  st->annotation_field = o.str("annotation_field");
  st->skip_field = o.str("skip_field");
  st->max_open = static_cast<size_t>(o.integer("max_open"));
  st->closed_memory = static_cast<size_t>(o.integer("closed_memory"));
  st->timeout_ms = o.integer("timeout_ms");
  st->report_open_at_end = o.boolean("report_open_at_end");
  st->init();
  out = std::move(st);
  return {};
}

}  // namespace

const PluginInfo& lifecycle_stage_plugin() {
  static const PluginInfo info{"lifecycle", PluginKind::Stage,
                               "correlate lifecycles (planned/started/completed, tool_call/tool_result, runs) and "
                               "report violations as generated records",
                               kLifecycleOptions, make_lifecycle, nullptr, nullptr};
  return info;
}

}  // namespace agentlog::plugins

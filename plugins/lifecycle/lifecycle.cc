#include "plugins/lifecycle/lifecycle.h"

#include <charconv>
#include <climits>
#include <cstring>
#include <map>

#include "core/named_file.h"
#include "core/state_text.h"
#include "core/hash_index.h"
#include "core/hashing.h"
#include "core/interner.h"
#include "core/key_render.h"
#include "core/time_format.h"
#include "core/top_fields.h"
#include "core/paged_array.h"
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
constexpr uint32_t kNil = HashIndex::kNone;

struct Line {
  uint32_t source = 0;
  uint64_t line = 0;
};

// One open lifecycle, in a slab slot; prev/next link the slots from least to most recently active.
struct Life {
  uint64_t hash = 0;
  std::string shown;    // the key as annotations and warnings show it: parts joined by '/', JSON-escaped
  int state = -1;       // id of the last event
  uint64_t seen = 0;    // bit per event id seen
  uint32_t seq = 0;
  uint32_t track = 0;
  uint32_t opened_by = 0;  // interned agent
  int64_t open_ms = kNoTime, last_ms = kNoTime;
  char started_at[24];  // open_ms as RFC 3339, written once: every annotation repeats it
  Line first, last;
  uint32_t prev = kNil, next = kNil;
};

// A closed lifecycle, remembered in a ring to spot events after its terminal event.
struct Closed {
  uint64_t hash = 0;
  int state = -1;
  Line line;
};
static_assert(sizeof(Closed) == 32);  // a power of two, for PagedArray

class LifecycleStage : public Stage {
 public:
  Profile profile;
  std::string annotation_field, skip_field;
  size_t max_open = 1000000, closed_memory = 100000;
  int64_t timeout_ms = 0;
  bool report_open_at_end = true;

  StageVerdict process(Record&) override { return StageVerdict::keep(); }
  bool stateless() const override { return false; }

  // Registers every field the stage reads, so one pass over a record finds them all.
  void init() {
    auto top = [](const std::string& name) {
      FieldPath p;
      p.text = name;
      p.parts = {name};
      return p;
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
    for (const auto& tr : profile.tracks) {
      const std::string member = annotation_ ? annotation_->member_prefix : "";
      ann_head_.push_back(member + "{\"track\":" + json::quoted(tr.name) + ",\"key\":\"");
      std::vector<std::string> mids;
      for (const auto& e : tr.events) {
        if (mids.size() < (static_cast<size_t>(e.id) + 1) * kAnnStates) mids.resize((e.id + 1) * kAnnStates);
        for (size_t st = 0; st < kAnnStates; ++st)
          mids[e.id * kAnnStates + st] =
              std::string(R"(","state":")") + kAnnStateNames[st] + R"(","event":)" + json::quoted(e.name);
      }
      ann_mid_.push_back(std::move(mids));
      std::vector<std::vector<size_t>> slots;
      for (size_t k = 0; k < tr.key.size(); ++k) {
        std::vector<size_t> alts{fields_.add(tr.key[k])};
        for (const auto& f : tr.fallbacks[k]) alts.push_back(fields_.add(f));
        slots.push_back(std::move(alts));
      }
      key_slots_.push_back(std::move(slots));
      std::vector<size_t> optional;
      for (const auto& f : tr.optional_key) optional.push_back(fields_.add(f));
      optional_slots_.push_back(std::move(optional));
      std::vector<size_t> phase;
      for (const auto& e : tr.events) phase.push_back(e.phase_field.parts.empty() ? SIZE_MAX : fields_.add(e.phase_field));
      phase_slots_.push_back(std::move(phase));
      for (const auto& e : tr.events)
        events_.push_back({head_word(e.name), tail_word(e.name), e.name.size(), static_cast<size_t>(&tr - profile.tracks.data()), &e});
    }
  }

  // The closed-lifecycle index at its full size once the first lifecycle closes: growing
  // through every smaller table cost about 1,000 page faults per 100,000 remembered. Capped
  // at 131,072 keys (2 MiB of 8-byte buckets), since random inserts soon touch every huge
  // page of the index; a larger closed_memory grows from there as it fills. The ring grows
  // by whole huge pages.
  void presize_closed_index() { closed_index_.reserve(std::min<size_t>(closed_memory, size_t{1} << 17)); }

  // Records are prepared ahead of handling (see PrepareAhead): the key's buckets in both
  // indexes are prefetched, the closed-lifecycle index being large.
  void process_batch(Batch& batch) override {
    batch_ = &batch;
    const auto& recs = batch.records;
    window_.run(
        recs, fields_, [this](Record&, Prep& p) { prepare(p); },
        [&](size_t i, const Prep& p) {
          handle(*recs[i], p);
          // Checked after every record, not every batch, so the warnings do not depend on how
          // the input was cut into batches; each follows the record that moved time past it.
          if (timeout_ms > 0 && watermark_ != kNoTime) expire_idle(recs[i]);
        });
  }

  void expire_idle(const Record* after) {
    while (head_ != kNil) {
      Life& l = slab_[head_];
      if (l.last_ms == kNoTime || l.last_ms >= watermark_ - timeout_ms) break;
      warn_about(head_, "timeout", after);
      release(head_);
    }
  }

  bool finish(Batch& batch) override {
    batch_ = &batch;
    for (size_t n = 0; head_ != kNil && n < 1024; ++n) {  // a bounded batch per call
      if (report_open_at_end) warn_about(head_, "open_at_end", nullptr);
      release(head_);
    }
    return head_ != kNil;
  }

  // Follow-mode state (docs/stages/lifecycle.md#state-across-restarts): the open lifecycles
  // from least to most recently active, the closed ones remembered, oldest first, and the
  // event-time watermark. Keys as the stage shows them, agents and sources by name.
  std::string state_fingerprint;  // the profile's text: track and event ids depend on it
  std::string state_config() const override { return state_fingerprint; }
  void save_state(std::string& out, const StateSources& sources) const override {
    state::StringTable agents, names;
    auto time = [&](int64_t ms) { ms == kNoTime ? void(out += "null") : append_int(out, ms); };
    out += "{\"format\":1,\"watermark_ms\":";
    time(watermark_);
    out += ",\"open\":[";
    for (uint32_t s = head_; s != kNil; s = slab_[s].next) {
      const Life& l = slab_[s];
      out += s == head_ ? "[" : ",[";
      out += std::to_string(l.hash) + ",";
      json::append_quoted(out, l.shown);
      out += "," + std::to_string(l.track) + "," + std::to_string(l.state) + "," + std::to_string(l.seen) + "," +
             std::to_string(l.seq) + "," + std::to_string(agents.id(agents_.str(l.opened_by))) + ",";
      time(l.open_ms);
      out += ",";
      time(l.last_ms);
      for (const Line& x : {l.first, l.last})
        out += "," + std::to_string(names.id(sources.name(x.source))) + "," + std::to_string(x.line);
      out += "]";
    }
    out += "],\"closed\":[";
    const size_t start = closed_used_ < closed_memory ? 0 : closed_next_;
    for (size_t k = 0; k < closed_used_; ++k) {
      const Closed& c = closed_ring_[(start + k) % closed_used_];
      out += k ? ",[" : "[";
      out += std::to_string(c.hash) + "," + std::to_string(c.state) + "," + std::to_string(names.id(sources.name(c.line.source))) +
             "," + std::to_string(c.line.line) + "]";
    }
    out += "],\"agents\":";
    agents.write(out);
    out += ",\"sources\":";
    names.write(out);
    out += "}";
  }

  Status restore_state(std::string_view json, StateSources& sources, std::string& note) override {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::dom::object obj;
    if (parser.parse(json.data(), json.size()).get(root) || root.get(obj)) return Status::error("the state must be an object");
    int64_t format = 0;
    if (root["format"].get(format) || format != 1) return Status::error("\"format\" must be 1");
    std::vector<std::string> agents, names;
    simdjson::dom::array open, closed;
    simdjson::dom::element a, n;
    if (root["agents"].get(a) || root["sources"].get(n) || !state::read_strings(a, agents) || !state::read_strings(n, names))
      return Status::error("\"agents\" and \"sources\" must be lists of strings");
    if (root["open"].get(open) || root["closed"].get(closed)) return Status::error("\"open\" and \"closed\" must be lists");
    simdjson::dom::element wm;
    if (root["watermark_ms"].get(wm) || !(wm.is_null() || wm.get(watermark_) == simdjson::SUCCESS))
      return Status::error("\"watermark_ms\" must be an integer or null");
    if (wm.is_null()) watermark_ = kNoTime;
    std::vector<uint32_t> source_of;
    for (const std::string& n : names) source_of.push_back(sources.index(n));
    // Within this run's limits: the most recently active lifecycles, the newest closed ones.
    const size_t n_open = open.size(), n_closed = closed.size();
    const size_t skip_open = n_open > max_open ? n_open - max_open : 0;
    const size_t skip_closed = n_closed > closed_memory ? n_closed - closed_memory : 0;
    size_t k = 0;
    for (simdjson::dom::element e : open) {
      if (k++ < skip_open) continue;
      state::Row row(e, "an open lifecycle");
      const uint64_t hash = row.u64();
      const std::string_view shown = row.str();
      const uint32_t t = row.index(profile.tracks.size());
      const int64_t st = row.i64();
      const uint64_t seen = row.u64(), seq = row.u64();
      const uint32_t agent = row.index(agents.size());
      const int64_t open_ms = row.i64_or(kNoTime), last_ms = row.i64_or(kNoTime);
      Line first, last;
      for (Line* x : {&first, &last}) {
        x->source = row.index(names.size());
        x->line = row.u64();
      }
      if (row.error().empty() && !row.at_end()) row.fail("is too long");
      if (row.error().empty() && (st < -1 || st >= static_cast<int64_t>(profile.tracks[t].events.size()) || seq > UINT32_MAX))
        row.fail("has a state or seq out of range");
      if (row.error().empty() && index_.find(hash, [&](uint32_t s) { return slab_[s].hash == hash; }) != kNil)
        row.fail("appears twice");
      if (!row.error().empty()) return Status::error(row.error());
      const uint32_t s = static_cast<uint32_t>(slab_.size());
      Life& l = slab_.emplace_back();
      l.hash = hash;
      l.shown = shown;
      l.track = t;
      l.state = static_cast<int>(st);
      l.seen = seen;
      l.seq = static_cast<uint32_t>(seq);
      l.opened_by = agents_.id(agents[agent]);
      l.open_ms = open_ms;
      l.last_ms = last_ms;
      if (open_ms != kNoTime) write_rfc3339_ms(l.started_at, open_ms);
      l.first = {source_of[first.source], first.line};
      l.last = {source_of[last.source], last.line};
      index_.insert(hash, s);
      link_tail(s);
    }
    max_open_seen_ = std::max(max_open_seen_, index_.size());
    k = 0;
    for (simdjson::dom::element e : closed) {
      if (k++ < skip_closed) continue;
      state::Row row(e, "a closed lifecycle");
      const uint64_t hash = row.u64();
      const int64_t st = row.i64();
      const uint32_t src = row.index(names.size());
      const uint64_t line = row.u64();
      if (row.error().empty() && !row.at_end()) row.fail("is too long");
      if (row.error().empty() && (st < 0 || st >= 64)) row.fail("has a state out of range");
      if (!row.error().empty()) return Status::error(row.error());
      remember_closed(hash, static_cast<int>(st), {source_of[src], line});
    }
    if (skip_open)
      note = std::to_string(skip_open) + " of " + std::to_string(n_open) +
             " open lifecycles not restored (max_open is " + std::to_string(max_open) + "; the least recently active)";
    if (skip_closed)
      note += (note.empty() ? "" : "; ") + std::to_string(skip_closed) + " of " + std::to_string(n_closed) +
              " closed lifecycles not remembered (closed_memory is " + std::to_string(closed_memory) + "; the oldest)";
    return {};
  }

  std::string stats_json() const override {
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

 private:

  // Sets the annotation; `member` is annotation_->member_prefix followed by the value. A
  // record that already has the member (an earlier stage's) gets it replaced.
  void put_annotation(Record& r, std::string_view member) {
    if (r.top_member(annotation_->id)) r.set_member_raw(annotation_field, member.substr(annotation_->member_prefix.size()));
    else r.add_member_text(*annotation_, member);
  }
  // The rare annotations (suppressed, unkeyed) built as strings.
  void annotate(Record& r, std::string_view json_object) {
    if (annotation_) put_annotation(r, annotation_->member_prefix + std::string(json_object));
  }

  std::vector<std::string> expected_after(size_t t, int state) const {
    std::vector<std::string> out;
    for (const auto& e : profile.tracks[t].events) {
      if (e.role == Role::Open || e.role == Role::Attach) continue;
      if (e.after.empty() || std::find(e.after.begin(), e.after.end(), state) != e.after.end()) out.push_back(e.name);
    }
    return out;
  }

  // `shown` is the key's display form (append_shown_key).
  void warn(std::string_view violation, size_t t, std::string_view shown, std::string_view agent, std::string_view event,
            const std::vector<std::string>& expected, std::vector<Line> lines, std::string_view event_time,
            const Record* after) {
    ++violations_[std::string(violation)];
    std::string o = "{\"event_type\":\"lifecycle_violation\",\"violation\":" + json::quoted(violation) +
                    ",\"profile\":" + json::quoted(profile.name) + ",\"track\":" +
                    json::quoted(profile.tracks[t].name) + ",\"key\":\"" + std::string(shown) + "\"" +
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
    Record& g = batch_->emit(o + "}", after);
    if (!after && !lines.empty()) {  // end of input: the warning belongs to the lifecycle's last line
      g.source = lines.back().source;
      g.line = lines.back().line;
    }
  }

  // open_at_end, timeout and evicted: the warning carries the time of the lifecycle's last
  // record that had one, as RFC 3339 UTC with milliseconds (its instant, not its text: only
  // the parsed time is kept per lifecycle).
  void warn_about(uint32_t slot, std::string_view violation, const Record* after) {
    const Life& l = slab_[slot];
    char last_at[24];
    std::string_view event_time;
    if (l.last_ms != kNoTime) event_time = {last_at, static_cast<size_t>(write_rfc3339_ms(last_at, l.last_ms) - last_at)};
    warn(violation, l.track, l.shown, agents_.str(l.opened_by), "", expected_after(l.track, l.state), {l.first, l.last},
         event_time, after);
  }

  static void append_int(std::string& o, int64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    o.append(buf, r.ptr);
  }

  // The annotation {track, key, state, event, seq, started_at, duration_ms, opened_by},
  // written straight into the record (Record::member_text_room). This runs for every
  // correlated record, so everything but the key, the numbers and the time is prepared:
  // `,"<annotation>":{"track":...,"key":"` per track, `","state":...,"event":...` per track,
  // event and state, `,"opened_by":...}` per agent.
  enum AnnState : uint8_t { kOpen, kClosed, kAttached, kUnattached, kAfterTerminal, kOrphan, kAnnStates };
  static constexpr const char* kAnnStateNames[kAnnStates] = {"open", "closed", "attached", "unattached", "after_terminal", "orphan"};
  const std::string& opened_by(uint32_t agent) {
    while (ann_opened_by_.size() <= agent)
      ann_opened_by_.push_back(",\"opened_by\":" + agents_.quoted(static_cast<uint32_t>(ann_opened_by_.size())) + "}");
    return ann_opened_by_[agent];
  }
  void annotate_state(Record& r, size_t t, std::string_view shown, const Life* l, AnnState state, const EventSpec& ev,
                      int64_t now_ms) {
    if (!annotation_) return;
    const std::string& head = ann_head_[t];
    const std::string& mid = ann_mid_[t][ev.id * kAnnStates + state];
    const std::string* tail = l ? &opened_by(l->opened_by) : nullptr;
    // Besides the pieces: seq, started_at, duration_ms and their names take at most 102 bytes.
    const size_t max = head.size() + shown.size() + mid.size() + (tail ? tail->size() : 0) + 128;
    // Written straight into the record when it can hold the member aside and has none of that
    // name yet (the usual case), else into a buffer for put_annotation.
    char* const room = r.top_member(annotation_->id) ? nullptr : r.member_text_room(max);
    char stack[512];
    thread_local std::string big;  // for a long key or agent
    if (!room && max > sizeof stack) big.resize(max);
    char* const begin = room ? room : max > sizeof stack ? big.data() : stack;
    char* p = begin;
    auto put = [&p](std::string_view s) {
      std::memcpy(p, s.data(), s.size());
      p += s.size();
    };
    p = put_piece(p, head);
    p = put_piece(p, shown);
    p = put_piece(p, mid);
    if (l) {
      put(R"(,"seq":)");
      p = std::to_chars(p, p + 24, l->seq).ptr;
      if (l->open_ms != kNoTime) {
        put(R"(,"started_at":")");
        std::memcpy(p, l->started_at, sizeof l->started_at);
        p += sizeof l->started_at;
        *p++ = '"';
        if (now_ms != kNoTime) {
          put(R"(,"duration_ms":)");
          p = std::to_chars(p, p + 24, now_ms - l->open_ms).ptr;
        }
      }
      p = put_piece(p, *tail);
    } else {
      *p++ = '}';
    }
    if (room) r.commit_member_text(*annotation_, static_cast<size_t>(p - begin));
    else put_annotation(r, std::string_view(begin, static_cast<size_t>(p - begin)));
  }

  // LRU list of slots.
  void unlink(uint32_t s) {
    Life& l = slab_[s];
    (l.prev == kNil ? head_ : slab_[l.prev].next) = l.next;
    (l.next == kNil ? tail_ : slab_[l.next].prev) = l.prev;
    l.prev = l.next = kNil;
  }
  void link_tail(uint32_t s) {
    Life& l = slab_[s];
    l.prev = tail_;
    l.next = kNil;
    (tail_ == kNil ? head_ : slab_[tail_].next) = s;
    tail_ = s;
  }
  void release(uint32_t s) {
    unlink(s);
    index_.erase(slab_[s].hash, s);
    slab_[s].shown.clear();
    free_.push_back(s);
  }
  // `now` is `time_text` parsed (kNoTime when it did not parse).
  uint32_t open_new(uint64_t hash, std::string_view key, size_t t, uint32_t agent, int64_t now,
                    std::string_view time_text, Line here, const Record* r) {
    while (index_.size() >= max_open && head_ != kNil) {
      warn_about(head_, "evicted", r);
      release(head_);
    }
    uint32_t s;
    if (!free_.empty()) {
      s = free_.back();
      free_.pop_back();
    } else {
      s = static_cast<uint32_t>(slab_.size());
      slab_.emplace_back();
    }
    Life& l = slab_[s];
    // Field by field: the slot's key buffer is reused.
    l.shown.clear();
    append_shown_key(l.shown, key);
    l.state = -1;
    l.seen = 0;
    l.seq = 0;
    l.last_ms = kNoTime;
    l.last = {};
    l.prev = l.next = kNil;
    l.hash = hash;
    l.track = static_cast<uint32_t>(t);
    l.opened_by = agent;
    l.open_ms = now;
    if (now != kNoTime) {
      if (in_written_form_rfc3339_ms(time_text)) std::memcpy(l.started_at, time_text.data(), sizeof l.started_at);
      else write_rfc3339_ms(l.started_at, now);
    }
    l.first = here;
    index_.insert(hash, s);
    link_tail(s);
    max_open_seen_ = std::max(max_open_seen_, index_.size());
    return s;
  }
  // Confirms a closed-index candidate (HashIndex keeps 32 bits of the hash).
  auto closed_is(uint64_t hash) const {
    return [this, hash](uint32_t c) { return closed_ring_[c].hash == hash; };
  }
  void remember_closed(uint64_t hash, int state, Line line) {
    if (closed_memory == 0) return;
    if (closed_ring_.empty()) presize_closed_index();
    // A key closed again points at its newest ring entry; the older one, when the ring
    // forgets it, no longer matches (erase by key and slot) and leaves the key alone.
    if (closed_used_ < closed_memory) {
      if (closed_used_ == closed_ring_.size()) closed_ring_.grow_to(closed_used_ + 1, closed_memory);
      closed_ring_[closed_used_] = {hash, state, line};
      closed_index_.insert_or_assign(hash, static_cast<uint32_t>(closed_used_++), closed_is(hash));
      return;
    }
    // The ring forgets in order, so the bucket of a later victim can be fetched early.
    // (Wrapped by subtraction, not a 64-bit division per close.)
    size_t ahead = closed_next_ + 8;
    while (ahead >= closed_memory) ahead -= closed_memory;
    closed_index_.prefetch(closed_ring_[ahead].hash);
    Closed& c = closed_ring_[closed_next_];
    closed_index_.erase(c.hash, static_cast<uint32_t>(closed_next_));
    c = {hash, state, line};
    closed_index_.insert_or_assign(hash, static_cast<uint32_t>(closed_next_), closed_is(hash));
    if (++closed_next_ == closed_memory) closed_next_ = 0;
  }

  // What prepare() found ahead of handling: whether the record is suppressed, its track and
  // event, and its key with the key's hash when every key part is present (else the parts
  // before the first absent one, `missing`, which handle() generates or reports; or, for a
  // key past the KeyBuffer's 256 bytes, nothing: handle() builds it again in a string).
  struct Prep {
    bool suppressed = false;
    const EventSpec* ev = nullptr;  // null: no tracked event
    size_t t = 0;
    bool keyed = false;
    bool long_key = false;  // past the KeyBuffer: handle() builds it in a string
    size_t missing = 0;
    uint64_t hash = 0;
    KeyBuffer key;
  };
  const EventSpec* event_of(std::string_view type, size_t& t) const {
    // Length and first and last 8 bytes settle names of up to 16 bytes without a memcmp.
    const uint64_t head = head_word(type), tail = tail_word(type);
    for (const EventEntry& e : events_)
      if (e.len == type.size() && e.head == head && e.tail == tail && (e.len <= 16 || e.spec->name == type)) {
        t = e.track;
        return e.spec;
      }
    return nullptr;
  }
  // Every tracked event, in track order (the first track naming an event takes it).
  struct EventEntry {
    uint64_t head, tail;
    size_t len, track;
    const EventSpec* spec;
  };
  std::vector<EventEntry> events_;
  // Appends the key parts from `k` on, each field or its first present fallback; returns
  // the first part that is absent, or the number of parts.
  template <class Out>
  size_t append_key_parts(size_t t, size_t k, Out& key) const {
    for (; k < profile.tracks[t].key.size(); ++k) {
      if (k) key.push_back('\x1f');
      bool ok = false;
      for (size_t slot : key_slots_[t][k])
        if ((ok = fields_.append_text(slot, key))) break;
      if (!ok) return k;
    }
    return k;
  }
  // Optional key fields join the key when present (e.g. turn_id within a run).
  template <class Out>
  void append_optional_parts(size_t t, Out& key) const {
    for (size_t slot : optional_slots_[t]) {
      size_t at = key.size();
      key.push_back('\x1f');
      if (!fields_.append_text(slot, key)) key.resize(at);
    }
  }
  static uint64_t track_hash(std::string_view key, size_t t) {
    return hash_key(key) ^ (0x9E3779B97F4A7C15ull * (t + 1));
  }

  // Runs ahead of handle(), with the record's fields extracted.
  void prepare(Prep& p) {
    p.keyed = false;
    p.ev = nullptr;
    p.suppressed = !skip_field.empty() && fields_[skip_slot_];
    auto type_v = fields_.str(type_slot_);
    if (p.suppressed || !type_v || !(p.ev = event_of(*type_v, p.t))) return;
    p.key.clear();
    p.missing = append_key_parts(p.t, 0, p.key);
    if ((p.long_key = !p.key.fits())) return;
    if (p.missing < profile.tracks[p.t].key.size()) return;
    append_optional_parts(p.t, p.key);
    if ((p.long_key = !p.key.fits())) return;
    p.keyed = true;
    p.hash = track_hash(p.key.view(), p.t);
    index_.prefetch(p.hash);
    closed_index_.prefetch(p.hash);
  }

  void handle(Record& r, const Prep& p) {
    if (p.suppressed) {
      annotate(r, "{\"state\":\"suppressed\",\"reason\":" + json::quoted(skip_field) + "}");
      return;
    }
    if (!p.ev) return;
    const EventSpec* ev = p.ev;
    const size_t t = p.t;
    const Track& tr = profile.tracks[t];
    std::string_view type = *fields_.str(type_slot_);  // views stay valid: edits below do not re-parse the record
    std::string_view agent = fields_.str(agent_slot_).value_or("");
    std::string_view time_text = fields_.str(time_slot_).value_or("");
    if (time_text.empty() && !time_fallbacks_.empty()) time_text = fallback_time(r);
    int64_t now = kNoTime;
    if (auto ms = time_parser_.parse(time_text)) {
      now = *ms;
      if (watermark_ == kNoTime || now > watermark_) watermark_ = now;
    }
    Role role = ev->role;
    if (role == Role::Toggle) {
      size_t ps = phase_slots_[t][ev->id];
      auto phase = ps == SIZE_MAX ? std::nullopt : fields_.str(ps);
      auto ph = phase ? ev->phases.find(std::string(*phase)) : ev->phases.end();
      role = ph != ev->phases.end() ? ph->second : Role::Toggle;
    }
    // The key: each field, or its first present fallback, or a generated id. prepare()
    // built it up to the first absent part.
    thread_local std::string slow_key;
    std::string_view key_view = p.key.view();
    uint64_t hash = p.hash;
    if (!p.keyed) {
      std::string& key = slow_key;
      size_t missing = p.missing;
      if (p.long_key) {
        key.clear();
        missing = append_key_parts(t, 0, key);
      } else {
        key.assign(p.key.view());
      }
      for (size_t k = missing; k < tr.key.size(); k = append_key_parts(t, k + 1, key)) {
        if (tr.generate.event == type && tr.key[k].text == tr.generate.field) {
          std::string id = tr.generate.prefix + sha256_hex(std::string(batch_->source_name(r.source)) + ":" +
                                                           std::to_string(r.line) + ":" + std::string(r.bytes()))
                                                    .substr(0, 16);
          key += id;
          r.set_member_string(tr.generate.field, id);
          ++generated_ids_;
          continue;
        }
        if (!key.empty() && key.back() == '\x1f') key.pop_back();
        std::string shown;
        append_shown_key(shown, key);
        warn("missing_key", t, shown, agent, type, {}, {{r.source, r.line}}, time_text, &r);
        annotate(r, "{\"track\":" + json::quoted(tr.name) + ",\"state\":\"unkeyed\",\"event\":" + json::quoted(type) + "}");
        return;
      }
      append_optional_parts(t, key);
      hash = track_hash(key, t);
      key_view = key;
    }
    const std::string_view key = key_view;
    // The display form, rendered on first need: an open lifecycle keeps its own.
    thread_local std::string shown_buf;
    bool rendered = false;
    auto shown = [&]() -> std::string_view {
      if (!rendered) {
        shown_buf.clear();
        append_shown_key(shown_buf, key);
        rendered = true;
      }
      return shown_buf;
    };
    uint32_t slot = index_.find(hash, [&](uint32_t s) { return slab_[s].hash == hash; });
    Line here{r.source, r.line};
    if (role == Role::Toggle) role = slot != kNil ? Role::Close : Role::Open;

    if (role == Role::Attach) {
      annotate_state(r, t, slot != kNil ? std::string_view(slab_[slot].shown) : shown(), slot != kNil ? &slab_[slot] : nullptr,
                     slot != kNil ? kAttached : kUnattached, *ev, now);
      return;
    }
    if (slot != kNil && slab_[slot].last_ms != kNoTime && now != kNoTime && now < slab_[slot].last_ms)
      warn("out_of_order", t, shown(), agent, type, {}, {slab_[slot].last, here}, time_text, &r);

    if (role == Role::Open) {
      if (slot != kNil) {
        warn("duplicate_open", t, shown(), agent, type, expected_after(t, slab_[slot].state), {slab_[slot].first, here},
             time_text, &r);
      } else {
        uint32_t c = closed_index_.find(hash, closed_is(hash));
        if (c != kNil) warn("transition_after_terminal", t, shown(), agent, type, {}, {closed_ring_[c].line, here}, time_text, &r);
        slot = open_new(hash, key, t, agents_.id(agent), now, time_text, here, &r);
      }
    } else if (slot == kNil) {
      uint32_t c = closed_index_.find(hash, closed_is(hash));
      if (c != kNil) {
        bool dup = role == Role::Close && closed_ring_[c].state == ev->id;
        warn(dup ? "duplicate_terminal" : "transition_after_terminal", t, shown(), agent, type, {}, {closed_ring_[c].line, here},
             time_text, &r);
        annotate_state(r, t, shown(), nullptr, kAfterTerminal, *ev, now);
        return;
      }
      // What should have come first: the listed predecessors, or else whatever opens the track.
      std::vector<std::string> expected = ev->after_names;
      if (expected.empty())
        for (const auto& e : tr.events)
          if (e.role == Role::Open || e.role == Role::Toggle) expected.push_back(e.name);
      warn("orphan", t, shown(), agent, type, expected, {here}, time_text, &r);
      if (role == Role::Close) {
        annotate_state(r, t, shown(), nullptr, kOrphan, *ev, now);
        return;
      }
      // An orphan that advances starts tracking here, so its own close is not an orphan too.
      slot = open_new(hash, key, t, agents_.id(agent), now, time_text, here, &r);
    } else if (!ev->after.empty() &&
               std::find(ev->after.begin(), ev->after.end(), slab_[slot].state) == ev->after.end()) {
      const Life& l = slab_[slot];
      bool seen_before = (l.seen >> ev->id) & 1;
      bool any_pred = false;
      for (int a : ev->after) any_pred = any_pred || ((l.seen >> a) & 1);
      const char* v = seen_before ? "duplicate_event" : !any_pred ? "orphan" : "unexpected_transition";
      warn(v, t, shown(), agent, type, ev->after_names, {l.first, here}, time_text, &r);
    }
    Life& l = slab_[slot];
    l.state = ev->id;
    l.seen |= uint64_t{1} << ev->id;
    ++l.seq;
    l.last = here;
    if (now != kNoTime) l.last_ms = now;
    if (role == Role::Close) {
      annotate_state(r, t, l.shown, &l, kClosed, *ev, now);
      remember_closed(hash, ev->id, here);
      release(slot);
    } else {
      annotate_state(r, t, l.shown, &l, kOpen, *ev, now);
      unlink(slot);
      link_tail(slot);
    }
  }

  FieldSet fields_;
  PrepareAhead<Prep> window_;
  size_t skip_slot_ = 0, type_slot_ = 0, agent_slot_ = 0, time_slot_ = 0;
  // profile.time_fields after the first: not registered with the shared member pass (each
  // name there costs every record), looked up in the record only when the first is absent.
  std::vector<FieldPath> time_fallbacks_;

  // The first of the other time fields that holds a string ("" when none does).
  std::string_view fallback_time(Record& r) {
    std::string_view s;
    for (const auto& f : time_fallbacks_)
      if (auto e = lookup(r.root(), f); e && e->get_string().get(s) == simdjson::SUCCESS) return s;
    return {};
  }
  std::optional<PreparedName> annotation_;  // the annotation member, unless annotation_field is empty
  std::vector<std::string> ann_head_;               // per track (see annotate_state)
  std::vector<std::vector<std::string>> ann_mid_;    // per track, event id * kAnnStates + state
  std::vector<std::string> ann_opened_by_;           // per agent id
  std::vector<std::vector<std::vector<size_t>>> key_slots_;  // track, key field, alternatives
  std::vector<std::vector<size_t>> phase_slots_;             // track, event id (SIZE_MAX: none)
  std::vector<std::vector<size_t>> optional_slots_;          // track, optional key fields
  std::vector<Life> slab_;
  std::vector<uint32_t> free_;
  HashIndex index_;
  uint32_t head_ = kNil, tail_ = kNil;  // least and most recently active
  PagedArray<Closed> closed_ring_;  // whole huge pages as it grows, as in `collision`
  size_t closed_used_ = 0;
  HashIndex closed_index_;
  size_t closed_next_ = 0;
  Interner agents_;
  Rfc3339Parser time_parser_;  // remembers the last second (most records share it)
  std::map<std::string, uint64_t> violations_;
  size_t max_open_seen_ = 0;
  uint64_t generated_ids_ = 0;
  int64_t watermark_ = kNoTime;
  Batch* batch_ = nullptr;
};

Status make_lifecycle(const OptionView& o, std::unique_ptr<Stage>& out) {
  auto st = std::make_unique<LifecycleStage>();
  static constexpr std::string_view kYaml[] = {".yaml", ".yml"};
  NamedFile file;
  if (Status s = load_named_file(o, "profile", "profile", "lifecycles", ".yaml", kYaml, file); !s.ok()) return s;
  if (Status s = lifecycle::load_profile(file.text, file.origin, st->profile); !s.ok())
    return Status::error(o.error("profile", s.message()));
  st->annotation_field = o.str("annotation_field");
  st->skip_field = o.str("skip_field");
  st->max_open = static_cast<size_t>(o.integer("max_open"));
  st->closed_memory = static_cast<size_t>(o.integer("closed_memory"));
  st->timeout_ms = o.integer("timeout_ms");
  st->report_open_at_end = o.boolean("report_open_at_end");
  // Saved state holds key hashes: a probe of hash_key makes a changed hash a changed config.
  st->state_fingerprint =
      sha256_hex("lifecycle state 1\n" + std::to_string(hash_key("agentlog")) + "\n" + file.text);
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

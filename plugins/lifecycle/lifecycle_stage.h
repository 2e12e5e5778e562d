// Stage `lifecycle`'s stage class, shared by the files that implement it: lifecycle.cc
// (options, config binding, end of input, stats), lifecycle_machine.cc (the per-record state
// machine: prepare, handle and its steps, opening and closing lifecycles), lifecycle_render.cc
// (annotations and warnings) and lifecycle_state.cc (follow-mode save and restore). The LRU
// list, key building and event lookup stay inline here: the state machine calls them per record.
#pragma once
#include <climits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/field_path.h"
#include "core/hash_index.h"
#include "core/hashing.h"
#include "core/interner.h"
#include "core/paged_array.h"
#include "core/plugin.h"
#include "core/time_format.h"
#include "core/top_fields.h"
#include "plugins/lifecycle/lifecycle_profile.h"

namespace agentlog::plugins::lifecycle_stage {

using lifecycle::EventSpec;
using lifecycle::Profile;
using lifecycle::Role;
using lifecycle::Track;

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

// The annotation's `state`.
enum AnnState : uint8_t { kOpen, kClosed, kAttached, kUnattached, kAfterTerminal, kOrphan, kAnnStates };
inline constexpr const char* kAnnStateNames[kAnnStates] = {"open", "closed", "attached", "unattached", "after_terminal", "orphan"};

class LifecycleStage : public BatchStage {
 public:
  Profile profile;
  std::string annotation_field, skip_field;
  size_t max_open = 1000000, closed_memory = 100000;
  int64_t timeout_ms = 0;
  bool report_open_at_end = true;
  std::string state_fingerprint;  // the profile's text: track and event ids depend on it

  void init();
  void process_batch(Batch& batch) override;
  bool finish(Batch& batch) override;
  std::string state_config() const override { return state_fingerprint; }
  void save_state(std::string& out, const StateSources& sources) const override;
  Status restore_state(std::string_view json, StateSources& sources, std::string& note) override;
  std::string stats_json() const override;

 private:
  // What prepare() found ahead of handling: whether the record is suppressed, its track and
  // event, and its key with the key's hash when every key part is present (else the parts
  // before the first absent one, `missing`, which handle() generates or reports; or, for a
  // key past the KeyBuffer's 256 bytes, nothing: handle() builds it again in a string).
  struct Prepared {
    bool suppressed = false;
    const EventSpec* ev = nullptr;  // null: no tracked event
    size_t t = 0;
    bool keyed = false;
    bool long_key = false;  // past the KeyBuffer: handle() builds it in a string
    size_t missing = 0;
    uint64_t hash = 0;
    KeyBuffer key;
  };
  // One tracked record while handle() runs its steps: its event, time and key.
  struct Event {
    Record& r;
    const EventSpec& ev;
    size_t t;
    std::string_view type, agent, time_text;
    int64_t now = kNoTime;  // time_text parsed (kNoTime when it did not parse)
    Line here;
    std::string_view key;
    uint64_t hash = 0;
    bool rendered = false;
    std::string& shown_buf;
    // The key's display form, rendered on first need: an open lifecycle keeps its own.
    std::string_view shown();
  };

  // lifecycle.cc
  void presize_closed_index();
  void expire_idle(const Record* after);

  // lifecycle_machine.cc: the state machine, step by step.
  void prepare(Prepared& p);
  void handle(Record& r, const Prepared& p);
  void read_time(Event& e);
  Role role_of(const EventSpec& ev, size_t t) const;
  bool resolve_key(const Prepared& p, Event& e);
  void on_attach(Event& e, uint32_t slot);
  uint32_t on_open(Event& e, uint32_t slot);
  uint32_t on_untracked(Event& e, Role role);
  void check_transition(Event& e, uint32_t slot);
  void advance(Event& e, uint32_t slot, Role role);
  uint32_t open_new(uint64_t hash, std::string_view key, size_t t, uint32_t agent, int64_t now,
                    std::string_view time_text, Line here, const Record* r);
  void remember_closed(uint64_t hash, int state, Line line);
  std::string_view fallback_time(Record& r);

  // lifecycle_render.cc: annotations and warnings.
  void init_annotation_pieces();
  void put_annotation(Record& r, std::string_view member);
  void annotate(Record& r, std::string_view json_object);
  void annotate_state(Record& r, size_t t, std::string_view shown, const Life* l, AnnState state, const EventSpec& ev,
                      int64_t now_ms);
  const std::string& opened_by(uint32_t agent);
  std::vector<std::string> expected_after(size_t t, int state) const;
  void warn(std::string_view violation, size_t t, std::string_view shown, std::string_view agent, std::string_view event,
            const std::vector<std::string>& expected, std::vector<Line> lines, std::string_view event_time,
            const Record* after);
  void warn_about(uint32_t slot, std::string_view violation, const Record* after);

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
  // Confirms a closed-index candidate (HashIndex keeps 32 bits of the hash).
  auto closed_is(uint64_t hash) const {
    return [this, hash](uint32_t c) { return closed_ring_[c].hash == hash; };
  }
  auto open_is(uint64_t hash) const {
    return [this, hash](uint32_t s) { return slab_[s].hash == hash; };
  }

  // Every tracked event, in track order (the first track naming an event takes it).
  struct EventEntry {
    uint64_t head, tail;
    size_t len, track;
    const EventSpec* spec;
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

  FieldSet fields_;
  PrepareAhead<Prepared> window_;
  size_t skip_slot_ = 0, type_slot_ = 0, agent_slot_ = 0, time_slot_ = 0;
  // profile.time_fields after the first: not registered with the shared member pass (each
  // name there costs every record), looked up in the record only when the first is absent.
  std::vector<FieldPath> time_fallbacks_;
  std::vector<EventEntry> events_;
  // The annotation {track, key, state, event, seq, started_at, duration_ms, opened_by} is
  // written from pieces prepared at config time (see annotate_state).
  std::optional<PreparedName> annotation_;  // the annotation member, unless annotation_field is empty
  std::vector<std::string> ann_head_;               // per track
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

}  // namespace agentlog::plugins::lifecycle_stage

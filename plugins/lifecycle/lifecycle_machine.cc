// Stage `lifecycle`: the per-record state machine. prepare() runs ahead (fields, event, key,
// prefetches); handle() reads the time, role and key, then opens, checks, advances or closes
// the record's lifecycle in named steps; open lifecycles and the closed ones remembered.
#include <algorithm>
#include <cstring>

#include "core/key_render.h"
#include "plugins/lifecycle/lifecycle_stage.h"

namespace agentlog::plugins::lifecycle_stage {

// Runs ahead of handle(), with the record's fields extracted.
void LifecycleStage::prepare(Prepared& p) {
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

std::string_view LifecycleStage::Event::shown() {
  if (!rendered) {
    shown_buf.clear();
    append_shown_key(shown_buf, key);
    rendered = true;
  }
  return shown_buf;
}

// The event time: the first time field, or the first fallback holding a string; a time that
// parses moves the watermark.
inline void LifecycleStage::read_time(Event& e) {
  e.time_text = fields_.str(time_slot_).value_or("");
  if (e.time_text.empty() && !time_fallbacks_.empty()) e.time_text = fallback_time(e.r);
  if (auto ms = time_parser_.parse(e.time_text)) {
    e.now = *ms;
    if (watermark_ == kNoTime || e.now > watermark_) watermark_ = e.now;
  }
}

// A toggling event's role comes from its phase field when that names one.
inline Role LifecycleStage::role_of(const EventSpec& ev, size_t t) const {
  if (ev.role != Role::Toggle) return ev.role;
  size_t ps = phase_slots_[t][ev.id];
  auto phase = ps == SIZE_MAX ? std::nullopt : fields_.str(ps);
  auto ph = phase ? ev.phases.find(std::string(*phase)) : ev.phases.end();
  return ph != ev.phases.end() ? ph->second : Role::Toggle;
}

// The key: each field, or its first present fallback, or a generated id; prepare() built it
// up to the first absent part. False when a part is missing (reported, annotated unkeyed).
inline bool LifecycleStage::resolve_key(const Prepared& prepared, Event& event) {
  event.key = prepared.key.view();
  event.hash = prepared.hash;
  if (prepared.keyed) return true;
  const Track& track = profile.tracks[event.t];
  thread_local std::string slow_key;
  std::string& key = slow_key;
  size_t missing = prepared.missing;
  if (prepared.long_key) {
    key.clear();
    missing = append_key_parts(event.t, 0, key);
  } else {
    key.assign(prepared.key.view());
  }
  for (size_t k = missing; k < track.key.size(); k = append_key_parts(event.t, k + 1, key)) {
    if (track.generate.event == event.type && track.key[k].text == track.generate.field) {
      Record& record = event.r;
      std::string id =
          track.generate.prefix + sha256_hex(std::string(batch_->source_name(record.source)) + ":" +
                                             std::to_string(record.line) + ":" + std::string(record.bytes()))
                                      .substr(0, 16);
      key += id;
      record.set_member_string(track.generate.field, id);
      ++generated_ids_;
      continue;
    }
    if (!key.empty() && key.back() == '\x1f') key.pop_back();
    std::string shown;
    append_shown_key(shown, key);
    warn("missing_key", event.t, shown, event.agent, event.type, {}, {event.here}, event.time_text, &event.r);
    annotate(event.r, "{\"track\":" + json::quoted(track.name) +
                          ",\"state\":\"unkeyed\",\"event\":" + json::quoted(event.type) + "}");
    return false;
  }
  append_optional_parts(event.t, key);
  event.hash = track_hash(key, event.t);
  event.key = key;
  return true;
}

// An attaching event annotates and changes nothing.
inline void LifecycleStage::on_attach(Event& e, uint32_t slot) {
  annotate_state(e.r, e.t, slot != kNil ? std::string_view(slab_[slot].shown) : e.shown(),
                 slot != kNil ? &slab_[slot] : nullptr, slot != kNil ? kAttached : kUnattached, e.ev, e.now);
}

// An opening event: a duplicate when open, else a new lifecycle (after a warning when the key
// was closed before). Returns its slot.
inline uint32_t LifecycleStage::on_open(Event& e, uint32_t slot) {
  if (slot != kNil) {
    warn("duplicate_open", e.t, e.shown(), e.agent, e.type, expected_after(e.t, slab_[slot].state), {slab_[slot].first, e.here},
         e.time_text, &e.r);
    return slot;
  }
  uint32_t c = closed_index_.find(e.hash, closed_is(e.hash));
  if (c != kNil) warn("transition_after_terminal", e.t, e.shown(), e.agent, e.type, {}, {closed_ring_[c].line, e.here}, e.time_text, &e.r);
  return open_new(e.hash, e.key, e.t, agents_.id(e.agent), e.now, e.time_text, e.here, &e.r);
}

// A closing or advancing event of no open lifecycle: after its terminal event, or an orphan.
// Returns the slot an advancing orphan opens, or kNil when the record is done with.
inline uint32_t LifecycleStage::on_untracked(Event& e, Role role) {
  uint32_t c = closed_index_.find(e.hash, closed_is(e.hash));
  if (c != kNil) {
    bool dup = role == Role::Close && closed_ring_[c].state == e.ev.id;
    warn(dup ? "duplicate_terminal" : "transition_after_terminal", e.t, e.shown(), e.agent, e.type, {},
         {closed_ring_[c].line, e.here}, e.time_text, &e.r);
    annotate_state(e.r, e.t, e.shown(), nullptr, kAfterTerminal, e.ev, e.now);
    return kNil;
  }
  // What should have come first: the listed predecessors, or else whatever opens the track.
  std::vector<std::string> expected = e.ev.after_names;
  if (expected.empty())
    for (const auto& x : profile.tracks[e.t].events)
      if (x.role == Role::Open || x.role == Role::Toggle) expected.push_back(x.name);
  warn("orphan", e.t, e.shown(), e.agent, e.type, expected, {e.here}, e.time_text, &e.r);
  if (role == Role::Close) {
    annotate_state(e.r, e.t, e.shown(), nullptr, kOrphan, e.ev, e.now);
    return kNil;
  }
  // An orphan that advances starts tracking here, so its own close is not an orphan too.
  return open_new(e.hash, e.key, e.t, agents_.id(e.agent), e.now, e.time_text, e.here, &e.r);
}

// An event of an open lifecycle whose last event is not among its listed predecessors.
inline void LifecycleStage::check_transition(Event& e, uint32_t slot) {
  const EventSpec& ev = e.ev;
  const Life& l = slab_[slot];
  if (ev.after.empty() || std::find(ev.after.begin(), ev.after.end(), l.state) != ev.after.end()) return;
  bool seen_before = (l.seen >> ev.id) & 1;
  bool any_pred = false;
  for (int a : ev.after) any_pred = any_pred || ((l.seen >> a) & 1);
  const char* v = seen_before ? "duplicate_event" : !any_pred ? "orphan" : "unexpected_transition";
  warn(v, e.t, e.shown(), e.agent, e.type, ev.after_names, {l.first, e.here}, e.time_text, &e.r);
}

// Records the event in its lifecycle and annotates the record; a close remembers and frees
// the lifecycle, anything else makes it the most recently active.
inline void LifecycleStage::advance(Event& e, uint32_t slot, Role role) {
  Life& l = slab_[slot];
  l.state = e.ev.id;
  l.seen |= uint64_t{1} << e.ev.id;
  ++l.seq;
  l.last = e.here;
  if (e.now != kNoTime) l.last_ms = e.now;
  if (role == Role::Close) {
    annotate_state(e.r, e.t, l.shown, &l, kClosed, e.ev, e.now);
    remember_closed(e.hash, e.ev.id, e.here);
    release(slot);
  } else {
    annotate_state(e.r, e.t, l.shown, &l, kOpen, e.ev, e.now);
    unlink(slot);
    link_tail(slot);
  }
}

void LifecycleStage::handle(Record& r, const Prepared& p) {
  if (p.suppressed) {
    annotate(r, "{\"state\":\"suppressed\",\"reason\":" + json::quoted(skip_field) + "}");
    return;
  }
  if (!p.ev) return;
  thread_local std::string shown_buf;
  // Views stay valid: edits below do not re-parse the record.
  Event e{.r = r, .ev = *p.ev, .t = p.t, .type = *fields_.str(type_slot_), .agent = fields_.str(agent_slot_).value_or(""),
          .here = {r.source, r.line}, .shown_buf = shown_buf};
  read_time(e);
  Role role = role_of(e.ev, e.t);
  if (!resolve_key(p, e)) return;
  uint32_t slot = index_.find(e.hash, open_is(e.hash));
  if (role == Role::Toggle) role = slot != kNil ? Role::Close : Role::Open;
  if (role == Role::Attach) return on_attach(e, slot);
  if (slot != kNil && slab_[slot].last_ms != kNoTime && e.now != kNoTime && e.now < slab_[slot].last_ms)
    warn("out_of_order", e.t, e.shown(), e.agent, e.type, {}, {slab_[slot].last, e.here}, e.time_text, &r);
  if (role == Role::Open) slot = on_open(e, slot);
  else if (slot == kNil) slot = on_untracked(e, role);
  else check_transition(e, slot);
  if (slot != kNil) advance(e, slot, role);
}

// Records are prepared ahead of handling (see PrepareAhead): the key's buckets in both
// indexes are prefetched, the closed-lifecycle index being large.
void LifecycleStage::process_batch(Batch& batch) {
  batch_ = &batch;
  const auto& recs = batch.records;
  window_.run(
      recs, fields_, [this](Record&, Prepared& p) { prepare(p); },
      [&](size_t i, const Prepared& p) {
        handle(*recs[i], p);
        // Checked after every record, not every batch, so the warnings do not depend on how
        // the input was cut into batches; each follows the record that moved time past it.
        if (timeout_ms > 0 && watermark_ != kNoTime) expire_idle(recs[i]);
      });
}

void LifecycleStage::expire_idle(const Record* after) {
  while (head_ != kNil) {
    Life& l = slab_[head_];
    if (l.last_ms == kNoTime || l.last_ms >= watermark_ - timeout_ms) break;
    warn_about(head_, "timeout", after);
    release(head_);
  }
}

// `now` is `time_text` parsed (kNoTime when it did not parse).
uint32_t LifecycleStage::open_new(uint64_t hash, std::string_view key, size_t track, uint32_t agent, int64_t now,
                                  std::string_view time_text, Line here, const Record* record) {
  while (index_.size() >= max_open && head_ != kNil) {
    warn_about(head_, "evicted", record);
    release(head_);
  }
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slab_.size());
    slab_.emplace_back();
  }
  Life& life = slab_[slot];
  // Field by field: the slot's key buffer is reused.
  life.shown.clear();
  append_shown_key(life.shown, key);
  life.state = -1;
  life.seen = 0;
  life.seq = 0;
  life.last_ms = kNoTime;
  life.last = {};
  life.prev = life.next = kNil;
  life.hash = hash;
  life.track = static_cast<uint32_t>(track);
  life.opened_by = agent;
  life.open_ms = now;
  if (now != kNoTime) {
    if (in_written_form_rfc3339_ms(time_text)) std::memcpy(life.started_at, time_text.data(), sizeof life.started_at);
    else write_rfc3339_ms(life.started_at, now);
  }
  life.first = here;
  index_.insert(hash, slot);
  link_tail(slot);
  max_open_seen_ = std::max(max_open_seen_, index_.size());
  return slot;
}

void LifecycleStage::remember_closed(uint64_t hash, int state, Line line) {
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

// The first of the other time fields that holds a string ("" when none does).
std::string_view LifecycleStage::fallback_time(Record& r) {
  std::string_view s;
  for (const auto& f : time_fallbacks_)
    if (auto e = lookup(r.root(), f); e && e->get_string().get(s) == simdjson::SUCCESS) return s;
  return {};
}

}  // namespace agentlog::plugins::lifecycle_stage

// Stage `lifecycle`: its state across follow-mode restarts (save_state, restore_state).
#include <charconv>

#include "core/state_text.h"
#include "plugins/lifecycle/lifecycle_stage.h"

namespace agentlog::plugins::lifecycle_stage {
namespace {
void append_int(std::string& o, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  o.append(buf, r.ptr);
}
}  // namespace

// Follow-mode state (docs/stages/lifecycle.md#state-across-restarts): the open lifecycles
// from least to most recently active, the closed ones remembered, oldest first, and the
// event-time watermark. Keys as the stage shows them, agents and sources by name.
void LifecycleStage::save_state(std::string& out, const StateSources& sources) const {
  state::StringTable agents, names;
  auto time = [&](int64_t ms) { ms == kNoTime ? void(out += "null") : append_int(out, ms); };
  out += "{\"format\":1,\"watermark_ms\":";
  time(watermark_);
  out += ",\"open\":[";
  for (uint32_t s = head_; s != kNil; s = slab_[s].next) {
    const Life& life = slab_[s];
    out += s == head_ ? "[" : ",[";
    out += std::to_string(life.hash) + ",";
    json::append_quoted(out, life.shown);
    out += "," + std::to_string(life.track) + "," + std::to_string(life.state) + "," + std::to_string(life.seen) + "," +
           std::to_string(life.seq) + "," + std::to_string(agents.id(agents_.str(life.opened_by))) + ",";
    time(life.open_ms);
    out += ",";
    time(life.last_ms);
    for (const Line& x : {life.first, life.last})
      out += "," + std::to_string(names.id(sources.name(x.source))) + "," + std::to_string(x.line);
    out += "]";
  }
  out += "],\"closed\":[";
  const size_t start = closed_used_ < closed_memory ? 0 : closed_next_;
  for (size_t k = 0; k < closed_used_; ++k) {
    const Closed& closed = closed_ring_[(start + k) % closed_used_];
    out += k ? ",[" : "[";
    out += std::to_string(closed.hash) + "," + std::to_string(closed.state) + "," +
           std::to_string(names.id(sources.name(closed.line.source))) + "," + std::to_string(closed.line.line) + "]";
  }
  out += "],\"agents\":";
  agents.write(out);
  out += ",\"sources\":";
  names.write(out);
  out += "}";
}

Status LifecycleStage::restore_state(std::string_view json, StateSources& sources, std::string& note) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object obj;
  if (parser.parse(json.data(), json.size()).get(root) || root.get(obj)) return Status::error("the state must be an object");
  int64_t format = 0;
  if (root["format"].get(format) || format != 1) return Status::error("\"format\" must be 1");
  std::vector<std::string> agents, names;
  simdjson::dom::array open, closed;
  simdjson::dom::element agents_json, sources_json;
  if (root["agents"].get(agents_json) || root["sources"].get(sources_json) ||
      !state::read_strings(agents_json, agents) || !state::read_strings(sources_json, names))
    return Status::error("\"agents\" and \"sources\" must be lists of strings");
  if (root["open"].get(open) || root["closed"].get(closed)) return Status::error("\"open\" and \"closed\" must be lists");
  simdjson::dom::element wm;
  if (root["watermark_ms"].get(wm) || !(wm.is_null() || wm.get(watermark_) == simdjson::SUCCESS))
    return Status::error("\"watermark_ms\" must be an integer or null");
  if (wm.is_null()) watermark_ = kNoTime;
  else if (watermark_ < -62167219200000 || watermark_ > 253402300799999)
    return Status::error("\"watermark_ms\" is out of range");
  std::vector<uint32_t> source_of;
  for (const std::string& n : names) source_of.push_back(sources.index(n));
  // Within this run's limits: the most recently active lifecycles, the newest closed ones.
  const size_t n_open = open.size(), n_closed = closed.size();
  const size_t skip_open = n_open > max_open ? n_open - max_open : 0;
  const size_t skip_closed = n_closed > closed_memory ? n_closed - closed_memory : 0;
  size_t read_count = 0;
  for (simdjson::dom::element item : open) {
    if (read_count++ < skip_open) continue;
    state::Row row(item, "an open lifecycle");
    const uint64_t hash = row.u64();
    const std::string_view shown = row.str();
    const uint32_t track = row.index(profile.tracks.size());
    const int64_t state_code = row.i64();
    const uint64_t seen = row.u64(), seq = row.u64();
    const uint32_t agent = row.index(agents.size());
    const int64_t open_ms = row.i64_or(kNoTime), last_ms = row.i64_or(kNoTime);
    Line first, last;
    for (Line* x : {&first, &last}) {
      x->source = row.index(names.size());
      x->line = row.u64();
    }
    if (row.error().empty() && !row.at_end()) row.fail("is too long");
    if (row.error().empty() &&
        (state_code < -1 || state_code >= static_cast<int64_t>(profile.tracks[track].events.size()) ||
         seq > UINT32_MAX))
      row.fail("has a state or seq out of range");
    // Times the stage itself could have read: years 0000-9999 in milliseconds.
    auto time_ok = [](int64_t ms) { return ms == kNoTime || (ms >= -62167219200000 && ms <= 253402300799999); };
    if (row.error().empty() && (!time_ok(open_ms) || !time_ok(last_ms))) row.fail("has a time out of range");
    if (row.error().empty() && index_.find(hash, open_is(hash)) != kNil)
      row.fail("appears twice");
    if (!row.error().empty()) return Status::error(row.error());
    const uint32_t slot = static_cast<uint32_t>(slab_.size());
    Life& life = slab_.emplace_back();
    life.hash = hash;
    life.shown = shown;
    life.track = track;
    life.state = static_cast<int>(state_code);
    life.seen = seen;
    life.seq = static_cast<uint32_t>(seq);
    life.opened_by = agents_.id(agents[agent]);
    life.open_ms = open_ms;
    life.last_ms = last_ms;
    if (open_ms != kNoTime) write_rfc3339_ms(life.started_at, open_ms);
    life.first = {source_of[first.source], first.line};
    life.last = {source_of[last.source], last.line};
    index_.insert(hash, slot);
    link_tail(slot);
  }
  max_open_seen_ = std::max(max_open_seen_, index_.size());
  read_count = 0;
  for (simdjson::dom::element item : closed) {
    if (read_count++ < skip_closed) continue;
    state::Row row(item, "a closed lifecycle");
    const uint64_t hash = row.u64();
    const int64_t state_code = row.i64();
    const uint32_t src = row.index(names.size());
    const uint64_t line = row.u64();
    if (row.error().empty() && !row.at_end()) row.fail("is too long");
    if (row.error().empty() && (state_code < 0 || state_code >= 64)) row.fail("has a state out of range");
    if (!row.error().empty()) return Status::error(row.error());
    remember_closed(hash, static_cast<int>(state_code), {source_of[src], line});
  }
  if (skip_open)
    note = std::to_string(skip_open) + " of " + std::to_string(n_open) +
           " open lifecycles not restored (max_open is " + std::to_string(max_open) + "; the least recently active)";
  if (skip_closed)
    note += (note.empty() ? "" : "; ") + std::to_string(skip_closed) + " of " + std::to_string(n_closed) +
            " closed lifecycles not remembered (closed_memory is " + std::to_string(closed_memory) + "; the oldest)";
  return {};
}

}  // namespace agentlog::plugins::lifecycle_stage

// Stage `lifecycle`: what it writes, the annotation on each correlated record and the
// lifecycle_violation warnings.
#include <algorithm>
#include <charconv>
#include <cstring>

#include "core/key_render.h"
#include "plugins/lifecycle/lifecycle_stage.h"

namespace agentlog::plugins::lifecycle_stage {

// The annotation's pieces: `,"<annotation>":{"track":...,"key":"` per track,
// `","state":...,"event":...` per track, event and state.
void LifecycleStage::init_annotation_pieces() {
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
  }
}

// Sets the annotation; `member` is annotation_->member_prefix followed by the value. A
// record that already has the member (an earlier stage's) gets it replaced.
void LifecycleStage::put_annotation(Record& r, std::string_view member) {
  if (r.top_member(annotation_->id)) r.set_member_raw(annotation_field, member.substr(annotation_->member_prefix.size()));
  else r.add_member_text(*annotation_, member);
}
// The rare annotations (suppressed, unkeyed) built as strings.
void LifecycleStage::annotate(Record& r, std::string_view json_object) {
  if (annotation_) put_annotation(r, annotation_->member_prefix + std::string(json_object));
}

std::vector<std::string> LifecycleStage::expected_after(size_t t, int state) const {
  std::vector<std::string> out;
  for (const auto& e : profile.tracks[t].events) {
    if (e.role == Role::Open || e.role == Role::Attach) continue;
    if (e.after.empty() || std::find(e.after.begin(), e.after.end(), state) != e.after.end()) out.push_back(e.name);
  }
  return out;
}

// `shown` is the key's display form (append_shown_key).
void LifecycleStage::warn(std::string_view violation, size_t track, std::string_view shown, std::string_view agent,
                          std::string_view event, const std::vector<std::string>& expected, std::vector<Line> lines,
                          std::string_view event_time, const Record* after) {
  ++violations_[std::string(violation)];
  std::string warning = "{\"event_type\":\"lifecycle_violation\",\"violation\":" + json::quoted(violation) +
                        ",\"profile\":" + json::quoted(profile.name) +
                        ",\"track\":" + json::quoted(profile.tracks[track].name) + ",\"key\":\"" + std::string(shown) +
                        "\"" + ",\"agent_id\":" + json::quoted(agent);
  if (!event.empty()) warning += ",\"event\":" + json::quoted(event);
  warning += ",\"expected\":[";
  for (size_t i = 0; i < expected.size(); ++i) warning += (i ? "," : "") + json::quoted(expected[i]);
  warning += "],\"lines\":[";
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i && lines[i].line == lines[i - 1].line && lines[i].source == lines[i - 1].source) continue;
    if (warning.back() == '}') warning += ",";
    warning += "{\"source\":" + json::quoted(batch_->source_name(lines[i].source)) +
               ",\"line\":" + std::to_string(lines[i].line) + "}";
  }
  warning += "]";
  if (!event_time.empty()) warning += ",\"event_time\":" + json::quoted(event_time);
  Record& generated = batch_->emit(warning + "}", after);
  if (!after && !lines.empty()) {  // end of input: the warning belongs to the lifecycle's last line
    generated.source = lines.back().source;
    generated.line = lines.back().line;
  }
}

// open_at_end, timeout and evicted: the warning carries the time of the lifecycle's last
// record that had one, as RFC 3339 UTC with milliseconds (its instant, not its text: only
// the parsed time is kept per lifecycle).
void LifecycleStage::warn_about(uint32_t slot, std::string_view violation, const Record* after) {
  const Life& l = slab_[slot];
  char last_at[24];
  std::string_view event_time;
  if (l.last_ms != kNoTime) event_time = {last_at, static_cast<size_t>(write_rfc3339_ms(last_at, l.last_ms) - last_at)};
  warn(violation, l.track, l.shown, agents_.str(l.opened_by), "", expected_after(l.track, l.state), {l.first, l.last},
       event_time, after);
}

const std::string& LifecycleStage::opened_by(uint32_t agent) {
  while (ann_opened_by_.size() <= agent)
    ann_opened_by_.push_back(",\"opened_by\":" + agents_.quoted(static_cast<uint32_t>(ann_opened_by_.size())) + "}");
  return ann_opened_by_[agent];
}
// The annotation {track, key, state, event, seq, started_at, duration_ms, opened_by},
// written straight into the record (Record::member_text_room). This runs for every
// correlated record, so everything but the key, the numbers and the time is prepared:
// `,"<annotation>":{"track":...,"key":"` per track, `","state":...,"event":...` per track,
// event and state, `,"opened_by":...}` per agent.
void LifecycleStage::annotate_state(Record& record, size_t track, std::string_view shown, const Life* life,
                                    AnnState state, const EventSpec& event, int64_t now_ms) {
  if (!annotation_) return;
  const std::string& head = ann_head_[track];
  const std::string& mid = ann_mid_[track][event.id * kAnnStates + state];
  const std::string* tail = life ? &opened_by(life->opened_by) : nullptr;
  // Besides the pieces: seq, started_at, duration_ms and their names take at most 102 bytes.
  const size_t max = head.size() + shown.size() + mid.size() + (tail ? tail->size() : 0) + 128;
  // Written straight into the record when it can hold the member aside and has none of that
  // name yet (the usual case), else into a buffer for put_annotation.
  char* const room = record.top_member(annotation_->id) ? nullptr : record.member_text_room(max);
  char stack[512];
  thread_local std::string big;  // for a long key or agent
  if (!room && max > sizeof stack) big.resize(max);
  char* const begin = room ? room : max > sizeof stack ? big.data() : stack;
  char* cursor = begin;
  auto put = [&cursor](std::string_view text) {
    std::memcpy(cursor, text.data(), text.size());
    cursor += text.size();
  };
  cursor = put_piece(cursor, head);
  cursor = put_piece(cursor, shown);
  cursor = put_piece(cursor, mid);
  if (life) {
    put(R"(,"seq":)");
    cursor = std::to_chars(cursor, cursor + 24, life->seq).ptr;
    if (life->open_ms != kNoTime) {
      put(R"(,"started_at":")");
      std::memcpy(cursor, life->started_at, sizeof life->started_at);
      cursor += sizeof life->started_at;
      *cursor++ = '"';
      if (now_ms != kNoTime) {
        put(R"(,"duration_ms":)");
        cursor = std::to_chars(cursor, cursor + 24, now_ms - life->open_ms).ptr;
      }
    }
    cursor = put_piece(cursor, *tail);
  } else {
    *cursor++ = '}';
  }
  if (room) record.commit_member_text(*annotation_, static_cast<size_t>(cursor - begin));
  else put_annotation(record, std::string_view(begin, static_cast<size_t>(cursor - begin)));
}

}  // namespace agentlog::plugins::lifecycle_stage

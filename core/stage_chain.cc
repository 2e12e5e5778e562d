#include "core/stage_chain.h"

#include "core/pipeline.h"

namespace agentlog {
namespace {

std::string_view element_kind(simdjson::dom::element_type t) {
  using T = simdjson::dom::element_type;
  switch (t) {
    case T::ARRAY: return "an array";
    case T::STRING: return "a string";
    case T::INT64:
    case T::UINT64:
    case T::DOUBLE: return "a number";
    case T::BOOL: return "a boolean";
    case T::NULL_VALUE: return "null";
    default: return "an object";
  }
}

std::string_view stop_at_input(Record& r, std::string reason, std::string_view kind) {
  r.verdict = Verdict::DeadLetter;
  r.decided_by = kInputStage;
  r.reason = std::move(reason);
  return kind;
}

}  // namespace

std::string_view parse_input_record(Record& r, const LineEvent& ev, uint32_t source) {
  r.reset_borrowed(ev.text);
  r.source = source;
  r.line = ev.line_no;
  if (ev.kind == LineEvent::Kind::TooLong)
    return stop_at_input(r,
                         "line is longer than max_line_bytes (" + std::to_string(ev.text.size()) +
                             "); raw holds its first " + std::to_string(ev.text.size()) + " bytes",
                         "line_too_long");
  simdjson::error_code err = r.parse();
  if (err == simdjson::UTF8_ERROR) {
    size_t at = json::find_invalid_utf8(ev.text);
    return stop_at_input(r, "invalid UTF-8 at byte " + std::to_string(at == std::string_view::npos ? 0 : at + 1),
                         "invalid_utf8");
  }
  if (err != simdjson::SUCCESS)
    return stop_at_input(r, std::string("malformed JSON: ") + simdjson::error_message(err), "malformed_json");
  if (r.root().type() != simdjson::dom::element_type::OBJECT)
    return stop_at_input(r, "not a JSON object (the line is " + std::string(element_kind(r.root().type())) + ")",
                         "not_an_object");
  return {};
}

void run_stage_range(const std::vector<StageSlot>& stages, Batch& batch, size_t first, size_t last,
                     ChainCounts counts) {
  for (size_t i = first; i < last; ++i) {
    StageCounters& c = counts.stages[i];
    for (Record* r : batch.records)
      if (r->verdict == Verdict::Keep) ++c.in;
    stages[i].stage->process_batch(batch);
    for (Record* r : batch.records) {
      if (r->verdict == Verdict::Keep || r->decided_by != -1) continue;
      r->decided_by = static_cast<int>(i);
      if (r->verdict == Verdict::Drop) ++c.dropped;
      else {
        ++c.dead_lettered;
        ++counts.dead_letter_reasons[stages[i].name];
      }
    }
    if (!batch.pending.empty()) {
      c.generated += batch.pending.size();
      counts.records_generated += batch.pending.size();
      batch.merge_pending();
    }
  }
}

void Batch::merge_pending() {
  // Generated records go after their origin (or at the end), keeping emit order.
  std::vector<Record*> merged;
  merged.reserve(records.size() + pending.size());
  std::vector<std::vector<Record*>> after(records.size());
  std::vector<Record*> at_end;
  // Emits mostly come in record order: search from the last origin found, then wrap.
  size_t hint = 0;
  const size_t count = records.size();
  for (auto& generated : pending) {
    size_t slot = count;
    if (generated.after) {
      for (size_t k = hint; k < count && slot == count; ++k)
        if (records[k] == generated.after) slot = k;
      for (size_t k = 0; k < hint && slot == count; ++k)
        if (records[k] == generated.after) slot = k;
    }
    if (slot == count) at_end.push_back(generated.record);
    else after[hint = slot].push_back(generated.record);
  }
  for (size_t k = 0; k < records.size(); ++k) {
    merged.push_back(records[k]);
    for (Record* record : after[k]) merged.push_back(record);
  }
  for (Record* record : at_end) merged.push_back(record);
  records.swap(merged);
  pending.clear();
}

}  // namespace agentlog

// The runner reading one source: lines (and the parallel runner's tail), a JSON array or
// document, and a streaming source's waits.
#include <cstring>

#include "core/pipeline_runner.h"
#include "core/signals.h"
#include "core/stage_chain.h"

namespace agentlog::runner {
namespace {

// Streaming: a quiet input is waited on in slices this long, so that a signal that lands
// just before the wait is still served promptly.
constexpr int kIdleWaitMs = 250;

}  // namespace

void Runner::dead_letter_input(Record* r, std::string reason, std::string_view kind) {
  r->verdict = Verdict::DeadLetter;
  r->decided_by = kInputStage;
  r->reason = std::move(reason);
  ++stats_.dead_letter_reasons["input." + std::string(kind)];
}

// Streaming, after each refill: with nothing to read now, write out what is buffered and
// wait for input or a signal (SIGHUP reopens at once, SIGTERM drains). While input keeps
// coming, records are batched and flushed at least every flush_interval_ms.
inline Status Runner::after_refill(bool idle, int poll_fd) {
  if (!idle) return maybe_timed_flush();
  if (Status st = flush_outputs(); !st.ok()) return st;
  wait_readable(poll_fd, kIdleWaitMs);
  return flush_outputs();  // serves a SIGHUP that arrived during the wait
}

Status Runner::run_source(const SourceSpec& src, uint32_t index) {
  SourceCounters& counters = stats_.sources.back();
  if (!src.error.empty()) return Status::error(src.error);
  std::unique_ptr<ByteSource> bytes;
  Status status = open_byte_source(src, bytes);
  if (!status.ok()) return status;
  if (src.framing != "lines") {
    std::string head;
    SniffedFraming found;
    status = read_for_framing(*bytes, src.framing == "json-array", kMaxDocumentBytes, src.max_line_bytes, head, found);
    if (!status.ok()) return Status::error(src.name + ": " + status.message());
    if (found == SniffedFraming::Document) {
      bool handled = false;
      status = run_array(src, index, head, src.framing == "json-array", handled);
      if (handled || !status.ok()) return status;
    }
    bytes = prefixed_source(std::move(head), std::move(bytes));
  }
  // A pipe or terminal streams: its reads never block, and outputs flush when it is idle
  // (see after_refill). Regular files keep the flush-per-batch fast path.
  const bool streaming = bytes->poll_fd >= 0;
  LineReader reader(std::move(bytes), src.max_line_bytes);
  if (streaming) streaming_reader_ = &reader;
  // The parallel runner reads ahead: it reports what the batches it wrote had read.
  if (parallel_ && !streaming) return run_source_parallel(src, index, reader);
  // Every exit, an output failure included, reports what was read.
  struct CountRead {
    SourceCounters& counters;
    const LineReader& reader;
    LineReader*& streaming;
    ~CountRead() {
      counters.lines = reader.lines();
      counters.bytes = reader.bytes_read();
      streaming = nullptr;
    }
  } count_read{counters, reader, streaming_reader_};
  LineEvent event;
  for (;;) {
    LineReader::Next next = reader.next(event);
    if (next == LineReader::Next::Line) {
      if (event.kind == LineEvent::Kind::Blank) {
        ++stats_.blank_lines;
        continue;
      }
      add_line(event, index);
      if (batch_.records.size() >= opts_.batch_records) {
        status = process_batch(0);
        if (status.ok() && streaming) status = maybe_timed_flush();
        if (!status.ok()) return status;
      }
      continue;
    }
    // The views into the reader's buffer end at refill: finish the batch first.
    status = process_batch(0);
    if (status.ok() && !streaming && unflushed_) status = flush_outputs();
    if (!status.ok()) return status;
    counters.lines = reader.lines();
    counters.bytes = reader.bytes_read();
    if (next == LineReader::Next::End) break;
    if (next == LineReader::Next::Error) return Status::error(src.name + ": " + reader.error());
    // A streaming source ends itself on a stop request (after its partial last line).
    if (!streaming && stop_requested()) {
      stats_.interrupted = true;
      break;
    }
    status = reader.refill();
    if (!status.ok()) return Status::error(src.name + ": " + status.message());
    if (streaming) {
      status = after_refill(reader.starved(), reader.poll_fd());
      if (!status.ok()) return status;
    }
  }
  counters.lines = reader.lines();
  counters.bytes = reader.bytes_read();
  if (streaming) return flush_outputs();
  return {};
}

// The same as the loop above for a regular file, with the batches parsed and run through
// the stages before the tail on several threads; the tail does here what the loop does
// per batch, in input order.
Status Runner::run_source_parallel(const SourceSpec& src, uint32_t index, LineReader& reader) {
  SourceCounters& counters = stats_.sources.back();
  Status tail_status;
  bool interrupted = false;
  Status st = parallel_->run(
      reader, index, [&](LineBatch& b) { return take_parallel_batch(b, counters, tail_status); }, interrupted);
  if (!tail_status.ok()) return tail_status;
  if (interrupted) stats_.interrupted = true;
  if (!st.ok()) return Status::error(src.name + ": " + st.message());
  return {};
}

inline bool Runner::take_parallel_batch(LineBatch& b, SourceCounters& counters, Status& st) {
  stats_.records_in += b.lines.size();
  stats_.blank_lines += b.blank_lines;
  for (size_t i = 0; i < b.stage_counts.size(); ++i) {
    const StageCounters& from = b.stage_counts[i];
    StageCounters& to = stats_.stages[i];
    to.in += from.in;
    to.dropped += from.dropped;
    to.dead_lettered += from.dead_lettered;
    to.generated += from.generated;
  }
  for (const auto& [reason, n] : b.dead_letter_reasons) stats_.dead_letter_reasons[reason] += n;
  stats_.records_generated += b.records_generated;
  batch_.records.swap(b.batch.records);
  st = process_batch(parallel_->tail_first_stage());
  if (st.ok() && b.at_refill && unflushed_) st = flush_outputs();
  counters.lines = b.reader_lines;
  counters.bytes = b.reader_bytes;
  return st.ok();
}

// `framing: json-array` (or auto on a source that is one JSON array or one object): each
// element is a record, numbered from 1, as its minified text; a source that is one value is
// one record, bounded by kMaxDocumentBytes rather than max_line_bytes (an SWE-agent .traj is
// one object of many megabytes). `handled` stays false when auto finds neither.
Status Runner::run_array(const SourceSpec& src, uint32_t index, std::string& text, bool forced, bool& handled) {
  SourceCounters& counters = stats_.sources.back();
  text.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  size_t skip = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  std::string_view body(text.data() + skip, text.size() - skip);
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    handled = forced;  // an empty source holds no records
    return {};
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::error_code err = parser.parse(body.data(), body.size(), false).get(root);
  if (!forced && (err != simdjson::SUCCESS || (root.type() != simdjson::dom::element_type::ARRAY &&
                                                root.type() != simdjson::dom::element_type::OBJECT)))
    return {};
  handled = true;
  counters.bytes = text.size();
  std::deque<std::string> held;  // element texts of the batch in flight (records borrow them)
  Status status;
  auto flush = [&](bool outputs) {
    // After an output failure the batch is still processed, to count its records as failed.
    Status now = outputs && status.ok() ? flush_batch(0) : process_batch(0);
    if (status.ok()) status = now;
    held.clear();
  };
  auto add = [&](simdjson::dom::element element, uint64_t line_no, size_t max_bytes) {
    held.emplace_back(simdjson::minify(element));
    held.back().reserve(held.back().size() + simdjson::SIMDJSON_PADDING);
    std::string_view held_text = held.back();
    LineEvent event;
    event.line_no = line_no;
    event.kind = held_text.size() > max_bytes ? LineEvent::Kind::TooLong : LineEvent::Kind::Line;
    event.text = event.kind == LineEvent::Kind::TooLong ? held_text.substr(0, max_bytes) : held_text;
    add_line(event, index);
    counters.lines = line_no;
    if (batch_.records.size() >= opts_.batch_records) flush(false);
  };
  if (err != simdjson::SUCCESS) {
    // One dead letter for the whole source, holding its first max_line_bytes bytes.
    std::string_view prefix = body.substr(0, std::min(body.size(), src.max_line_bytes));
    Record* record = pool_.acquire();
    record->reset_borrowed(prefix);
    record->source = index;
    record->line = 1;
    ++stats_.records_in;
    batch_.records.push_back(record);
    dead_letter_input(record,
                      std::string("malformed JSON array (framing json-array): ") + simdjson::error_message(err) +
                          "; raw holds the first " + std::to_string(prefix.size()) + " bytes of the source",
                      "malformed_json");
    counters.lines = 1;
  } else if (root.type() != simdjson::dom::element_type::ARRAY) {
    add(root, 1, kMaxDocumentBytes);  // a single value (one object): it is one record
  } else {
    uint64_t count = 0;
    for (simdjson::dom::element element : simdjson::dom::array(root)) {
      add(element, ++count, src.max_line_bytes);
      if (!status.ok()) break;
      if (stop_requested()) {
        stats_.interrupted = true;
        break;
      }
    }
  }
  flush(true);
  return status;
}

}  // namespace agentlog::runner

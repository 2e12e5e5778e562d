#include "core/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <fstream>

#include "core/follow.h"
#include "core/input.h"
#include "core/output.h"
#include "core/parallel_runner.h"
#include "core/signals.h"
#include "core/stage_state.h"
#include "core/stage_chain.h"

namespace agentlog {
namespace {

constexpr size_t kKeepCapacity = 256 * 1024;  // per-record buffers above this are freed
// Streaming: a quiet input is waited on in slices this long, so that a signal that lands
// just before the wait is still served promptly.
constexpr int kIdleWaitMs = 250;
// Follow mode: refills of one file before the next file gets its turn.
constexpr int kFollowRefillsPerTurn = 16;
using Clock = std::chrono::steady_clock;

// Which lines each output still holds unwritten. When an output fails, the lines it lost
// are the last ones it was given: their records are moved from out (or dead-lettered) to
// failed, each once however many outputs lost it.
class WriteLedger {
 public:
  enum Kind : uint8_t { Out, GeneratedOut, Warning, DeadLetter, GeneratedDeadLetter, Undelivered, GeneratedUndelivered };
  void wrote(const Output* o, uint64_t record, Kind k) { lines(o).push_back({record, k}); }
  // After a flush that lost nothing: every line given so far is written.
  void written(const Output* o) { lines(o).clear(); }
  // At the end of the run: moves the records of every line lost into the failed counts.
  void settle(RunStats& s) {
    std::vector<Line> lost;
    for (auto& [o, ls] : pending_) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(o->lines_lost(), ls.size()));
      lost.insert(lost.end(), ls.end() - static_cast<std::ptrdiff_t>(n), ls.end());
    }
    std::sort(lost.begin(), lost.end(), [](const Line& a, const Line& b) { return a.record < b.record; });
    for (size_t i = 0; i < lost.size(); ++i) {
      if (i > 0 && lost[i].record == lost[i - 1].record) continue;
      switch (lost[i].kind) {
        case Out: --s.records_out, ++s.failed; break;
        case GeneratedOut: --s.generated_out, ++s.generated_failed; break;
        case Warning: --s.generated_out, --s.warnings_out, ++s.generated_failed; break;
        case DeadLetter: --s.dead_lettered, ++s.failed; break;
        case GeneratedDeadLetter: --s.generated_dead_lettered, ++s.generated_failed; break;
        case Undelivered: --s.output_dead_lettered, --s.records_out, ++s.failed; break;
        case GeneratedUndelivered: --s.output_dead_lettered, --s.generated_out, ++s.generated_failed; break;
      }
    }
  }

 private:
  struct Line {
    uint64_t record;  // the runner's number for the record (one per record, whatever the outputs)
    Kind kind;
  };
  std::vector<Line>& lines(const Output* o) {
    for (auto& [out, ls] : pending_)
      if (out == o) return ls;
    return pending_.emplace_back(o, std::vector<Line>{}).second;
  }
  std::vector<std::pair<const Output*, std::vector<Line>>> pending_;
};

class Runner {
 public:
  Runner(PipelineSpec& spec, const RunOptions& opts, RunStats& stats)
      : spec_(spec), opts_(opts), stats_(stats), batch_(pool_) {
    stats_.stages.resize(spec_.stages.size());
    batch_.source_names = &source_names_;
  }

  int run(std::string& error);
  // After run(): closes every output (syslog waits its grace period), dead-letters what they
  // could not deliver, then closes the dead-letter output. Returns the final exit code.
  int close_outputs(int rc, std::string& error);
  // `final`: at close, not held back by the state's save interval.
  Status save_checkpoints(bool final = false);

 private:
  Status write_undelivered(Output& from);
  Status run_source(const SourceSpec& src, uint32_t index);
  // A regular file's lines with workers > 1 (core/parallel_runner.h).
  Status run_source_parallel(const SourceSpec& src, uint32_t index, LineReader& reader);
  bool take_parallel_batch(LineBatch& b, SourceCounters& counters, Status& st);
  Status run_array(const SourceSpec& src, uint32_t index, std::string& text, bool forced, bool& handled);
  void add_line(const LineEvent& ev, uint32_t source);
  void dead_letter_input(Record* r, std::string reason, std::string_view kind);
  // flush_batch = process_batch + flush_outputs. Every input processes per batch (records
  // are parsed, run through the chain and written while still in cache) and outputs buffer
  // up to 1 MiB; regular files flush at each refill, streaming inputs when idle or on the timer.
  Status flush_batch(size_t first_stage);
  Status process_batch(size_t first_stage);
  Status flush_outputs();
  // Streaming and follow mode (docs/inputs.md#streaming-and-follow-mode).
  Status after_refill(bool idle, int poll_fd);
  Status maybe_timed_flush();
  Status run_follow(const std::vector<SourceSpec>& sources, const std::vector<uint32_t>& indices);
  // Loads (and writes back) the followed inputs' checkpoints and restores the stages' state
  // from the first one, before anything is read.
  Status open_checkpoints(const std::vector<SourceSpec>& sources);
  Status pump_follow(FollowedFile& f, uint32_t index, bool& progressed);
  int failure_exit_code() const;
  void run_stages(size_t first_stage);
  Status write_batch();
  Status finish_stages();
  Output& dead_letter_output() { return spec_.dead_letter ? *spec_.dead_letter : *default_dead_letter_; }

  PipelineSpec& spec_;
  const RunOptions& opts_;
  RunStats& stats_;
  RecordPool pool_;
  Batch batch_;
  std::vector<std::string> source_names_;
  std::unique_ptr<Output> default_output_, default_dead_letter_;
  std::vector<Output*> outputs_;
  // Where diagnostic records (warnings) go: the `warnings:` outputs, or else outputs_.
  std::vector<Output*> warning_outputs_;
  // outputs_ and the `warnings:` outputs: every output that is flushed, reopened and closed
  // like the records' (the dead-letter output is handled after them).
  std::vector<Output*> all_outputs_;
  bool output_failed_ = false;  // a write or reopen failed: the run cannot go on
  Status output_failure_;  // the first output failure: later batches are not written
  WriteLedger ledger_;
  uint64_t next_record_ = 0;  // numbers the records handed to outputs, for ledger_
  // Records written into output buffers since the last flush, and when the first was.
  bool unflushed_ = false;
  Clock::time_point pending_since_;
  // Set when the run has more than one worker.
  std::unique_ptr<ParallelLineRunner> parallel_;
  // Follow mode: the followed files and their checkpoints (by checkpoint path).
  std::vector<std::unique_ptr<FollowedFile>> followed_;
  std::map<std::string, std::unique_ptr<Checkpoint>> checkpoints_;
  // The checkpoint that holds the stages' state (the first followed input's), or null; it is
  // saved before the others, so a kill between two saves repeats lines, never loses state.
  Checkpoint* state_checkpoint_ = nullptr;
  bool state_dirty_ = false;  // records ran through the stages since the state was saved
  Clock::time_point next_state_save_{};
  // The streaming source being read, told after each delivered flush how far its lines got.
  LineReader* streaming_reader_ = nullptr;
};

void Runner::dead_letter_input(Record* r, std::string reason, std::string_view kind) {
  r->verdict = Verdict::DeadLetter;
  r->decided_by = kInputStage;
  r->reason = std::move(reason);
  ++stats_.dead_letter_reasons["input." + std::string(kind)];
}

void Runner::add_line(const LineEvent& ev, uint32_t source) {
  Record* r = pool_.acquire();
  ++stats_.records_in;
  batch_.records.push_back(r);
  std::string_view kind = parse_input_record(*r, ev, source);
  if (!kind.empty()) ++stats_.dead_letter_reasons["input." + std::string(kind)];
}

void Runner::run_stages(size_t first_stage) {
  state_dirty_ = true;
  run_stage_range(spec_.stages, batch_, first_stage, spec_.stages.size(),
                  {stats_.stages, stats_.dead_letter_reasons, stats_.records_generated});
}

// After an output failed, the rest of the batch is not written: its kept and dead-lettered
// records count as failed (the ledger moves those the failed output lost), so the accounting
// identity holds on this exit path too.
Status Runner::write_batch() {
  Status failure = output_failure_;
  for (Record* r : batch_.records) {
    if (!failure.ok() && r->verdict != Verdict::Drop) {
      ++(r->generated ? stats_.generated_failed : stats_.failed);
      continue;
    }
    switch (r->verdict) {
      case Verdict::Keep: {
        const bool warning = r->diagnostic();
        const uint64_t id = next_record_++;
        for (Output* o : warning ? warning_outputs_ : outputs_) {
          ledger_.wrote(o, id, warning ? WriteLedger::Warning : r->generated ? WriteLedger::GeneratedOut : WriteLedger::Out);
          Status st = o->write_record(*r);
          if (!st.ok()) {
            failure = st;
            break;
          }
        }
        ++(r->generated ? stats_.generated_out : stats_.records_out);
        if (warning) ++stats_.warnings_out;
        if (opts_.observer && failure.ok())
          opts_.observer->on_record(*r, r->source < source_names_.size() ? std::string_view(source_names_[r->source]) : "");
        break;
      }
      case Verdict::Drop:
        ++(r->generated ? stats_.generated_dropped : stats_.dropped);
        break;
      case Verdict::DeadLetter: {
        std::string_view stage = r->decided_by >= 0 ? std::string_view(spec_.stages[r->decided_by].name) : "input";
        std::string_view src = r->source < source_names_.size() ? std::string_view(source_names_[r->source]) : "";
        std::string raw(r->bytes());
        // Every stage may scrub secrets from dead letters, wherever the line was stopped.
        for (auto& s : spec_.stages) {
          s.stage->scrub(raw);
          s.stage->scrub(r->reason);
        }
        ledger_.wrote(&dead_letter_output(), next_record_++,
                      r->generated ? WriteLedger::GeneratedDeadLetter : WriteLedger::DeadLetter);
        Status st = dead_letter_output().write_line(
            dead_letter_line(src, r->line, stage, r->reason, raw, r->generated));
        if (!st.ok()) failure = st;
        ++(r->generated ? stats_.generated_dead_lettered : stats_.dead_lettered);
        if (opts_.observer && st.ok()) opts_.observer->on_dead_letter(*r, src, stage, r->reason);
        break;
      }
    }
  }
  return failure;
}

Status Runner::flush_batch(size_t first_stage) {
  if (batch_.records.empty()) return {};
  Status st = process_batch(first_stage);
  if (!st.ok()) return st;
  return flush_outputs();
}

// Runs the stages over the batch and writes it into the output buffers (no flush).
Status Runner::process_batch(size_t first_stage) {
  if (batch_.records.empty()) return {};
  run_stages(first_stage);
  Status st = write_batch();
  batch_.records.clear();
  pool_.release_all();
  if (!st.ok()) {
    output_failed_ = true;
    if (output_failure_.ok()) output_failure_ = st;
    return st;
  }
  if (opts_.observer) opts_.observer->on_batch(stats_);
  if (!unflushed_) {
    unflushed_ = true;
    pending_since_ = Clock::now();
  }
  return {};
}

// Flushes every output, reopens them after a SIGHUP, then (follow mode) saves the
// checkpoints: only now is every record read so far in the outputs.
Status Runner::flush_outputs() {
  auto fail = [&](Status st) {
    output_failed_ = true;
    if (output_failure_.ok()) output_failure_ = st;
    return st;
  };
  for (Output* o : all_outputs_) {
    if (Status st = o->flush(); !st.ok()) return fail(st);
    if (o->lines_lost() == 0) ledger_.written(o);
    // e.g. syslog messages over the TCP size limit
    if (Status st = write_undelivered(*o); !st.ok()) return fail(st);
  }
  if (Status st = dead_letter_output().flush(); !st.ok()) return fail(st);
  if (dead_letter_output().lines_lost() == 0) ledger_.written(&dead_letter_output());
  unflushed_ = false;
  if (take_reopen_request()) {
    for (Output* o : all_outputs_) {
      if (Status st = o->reopen(); !st.ok()) return fail(st);
    }
    if (Status st = dead_letter_output().reopen(); !st.ok()) return fail(st);
  }
  // Checkpoints move only past records that have left the process (a syslog buffer may
  // still hold some); they are saved on a later flush, or at close.
  for (Output* o : all_outputs_)
    if (!o->delivered()) return {};
  if (!dead_letter_output().delivered()) return {};
  if (streaming_reader_) streaming_reader_->confirm_delivered();
  if (Status st = save_checkpoints(); !st.ok()) return fail(st);
  return {};
}

Status Runner::save_checkpoints(bool final) {
  if (followed_.empty()) return {};
  // The state is written whole, so a large one costs each save: saves wait until nine times
  // the last one's duration has passed (at most a tenth of the time). The offsets wait with
  // it, so the two still agree; a kill meanwhile repeats more lines, nothing is lost.
  const bool with_state = state_checkpoint_ && state_dirty_;
  const Clock::time_point began = Clock::now();
  if (with_state && !final && began < next_state_save_) return {};
  std::vector<Checkpoint*> dirty;
  if (with_state) {
    state_dirty_ = false;
    auto now = collect_stage_state(spec_.stages, source_names_);
    if (now != state_checkpoint_->stages()) {
      state_checkpoint_->set_stages(std::move(now));
      dirty.push_back(state_checkpoint_);
    }
  }
  for (auto& f : followed_) {
    if (f->store_checkpoint()) {
      Checkpoint* cp = checkpoints_[f->spec().checkpoint].get();
      if (std::find(dirty.begin(), dirty.end(), cp) == dirty.end()) dirty.push_back(cp);
    }
  }
  for (Checkpoint* cp : dirty) {
    if (Status st = cp->save(); !st.ok()) return st;
  }
  if (with_state) next_state_save_ = Clock::now() + 9 * (Clock::now() - began);
  return {};
}

// Streaming, after each refill: with nothing to read now, write out what is buffered and
// wait for input or a signal (SIGHUP reopens at once, SIGTERM drains). While input keeps
// coming, records are batched and flushed at least every flush_interval_ms.
Status Runner::after_refill(bool idle, int poll_fd) {
  if (!idle) return maybe_timed_flush();
  if (Status st = flush_outputs(); !st.ok()) return st;
  wait_readable(poll_fd, kIdleWaitMs);
  return flush_outputs();  // serves a SIGHUP that arrived during the wait
}

Status Runner::maybe_timed_flush() {
  if (!unflushed_) return {};
  if (Clock::now() - pending_since_ < std::chrono::milliseconds(spec_.flush_interval_ms)) return {};
  return flush_outputs();
}

int Runner::failure_exit_code() const {
  auto closed = [](const Output* o) {
    auto* fd = dynamic_cast<const FdOutput*>(o);
    return fd != nullptr && fd->pipe_closed();
  };
  for (const Output* o : all_outputs_)
    if (closed(o)) return kExitPipeClosed;
  if (closed(spec_.dead_letter ? spec_.dead_letter.get() : default_dead_letter_.get())) return kExitPipeClosed;
  return 1;
}

Status Runner::finish_stages() {
  for (size_t i = 0; i < spec_.stages.size(); ++i) {
    // Its state is in the checkpoint: what it holds continues after the restart.
    if (state_checkpoint_ && !spec_.stages[i].stage->state_config().empty()) continue;
    for (bool more = true; more;) {
      more = spec_.stages[i].stage->finish(batch_);
      if (batch_.pending.empty()) continue;
      stats_.stages[i].generated += batch_.pending.size();
      stats_.records_generated += batch_.pending.size();
      for (auto& p : batch_.pending) batch_.records.push_back(p.record);
      batch_.pending.clear();
      Status st = flush_batch(i + 1);
      if (!st.ok()) return st;
    }
  }
  return {};
}

Status Runner::run_source(const SourceSpec& src, uint32_t index) {
  SourceCounters& counters = stats_.sources.back();
  if (!src.error.empty()) return Status::error(src.error);
  std::unique_ptr<ByteSource> bytes;
  Status st = open_byte_source(src, bytes);
  if (!st.ok()) return st;
  if (src.framing != "lines") {
    std::string head;
    SniffedFraming found;
    st = read_for_framing(*bytes, src.framing == "json-array", kMaxDocumentBytes, src.max_line_bytes, head, found);
    if (!st.ok()) return Status::error(src.name + ": " + st.message());
    if (found == SniffedFraming::Document) {
      bool handled = false;
      st = run_array(src, index, head, src.framing == "json-array", handled);
      if (handled || !st.ok()) return st;
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
  LineEvent ev;
  for (;;) {
    LineReader::Next n = reader.next(ev);
    if (n == LineReader::Next::Line) {
      if (ev.kind == LineEvent::Kind::Blank) {
        ++stats_.blank_lines;
        continue;
      }
      add_line(ev, index);
      if (batch_.records.size() >= opts_.batch_records) {
        st = process_batch(0);
        if (st.ok() && streaming) st = maybe_timed_flush();
        if (!st.ok()) return st;
      }
      continue;
    }
    // The views into the reader's buffer end at refill: finish the batch first.
    st = process_batch(0);
    if (st.ok() && !streaming && unflushed_) st = flush_outputs();
    if (!st.ok()) return st;
    counters.lines = reader.lines();
    counters.bytes = reader.bytes_read();
    if (n == LineReader::Next::End) break;
    if (n == LineReader::Next::Error) return Status::error(src.name + ": " + reader.error());
    // A streaming source ends itself on a stop request (after its partial last line).
    if (!streaming && stop_requested()) {
      stats_.interrupted = true;
      break;
    }
    st = reader.refill();
    if (!st.ok()) return Status::error(src.name + ": " + st.message());
    if (streaming) {
      st = after_refill(reader.starved(), reader.poll_fd());
      if (!st.ok()) return st;
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

bool Runner::take_parallel_batch(LineBatch& b, SourceCounters& counters, Status& st) {
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
  Status st;
  auto flush = [&](bool outputs) {
    // After an output failure the batch is still processed, to count its records as failed.
    Status now = outputs && st.ok() ? flush_batch(0) : process_batch(0);
    if (st.ok()) st = now;
    held.clear();
  };
  auto add = [&](simdjson::dom::element e, uint64_t line_no, size_t max_bytes) {
    held.emplace_back(simdjson::minify(e));
    held.back().reserve(held.back().size() + simdjson::SIMDJSON_PADDING);
    std::string_view t = held.back();
    LineEvent ev;
    ev.line_no = line_no;
    ev.kind = t.size() > max_bytes ? LineEvent::Kind::TooLong : LineEvent::Kind::Line;
    ev.text = ev.kind == LineEvent::Kind::TooLong ? t.substr(0, max_bytes) : t;
    add_line(ev, index);
    counters.lines = line_no;
    if (batch_.records.size() >= opts_.batch_records) flush(false);
  };
  if (err != simdjson::SUCCESS) {
    // One dead letter for the whole source, holding its first max_line_bytes bytes.
    std::string_view prefix = body.substr(0, std::min(body.size(), src.max_line_bytes));
    Record* r = pool_.acquire();
    r->reset_borrowed(prefix);
    r->source = index;
    r->line = 1;
    ++stats_.records_in;
    batch_.records.push_back(r);
    dead_letter_input(r, std::string("malformed JSON array (framing json-array): ") + simdjson::error_message(err) +
                             "; raw holds the first " + std::to_string(prefix.size()) + " bytes of the source",
                      "malformed_json");
    counters.lines = 1;
  } else if (root.type() != simdjson::dom::element_type::ARRAY) {
    add(root, 1, kMaxDocumentBytes);  // a single value (one object): it is one record
  } else {
    uint64_t n = 0;
    for (simdjson::dom::element e : simdjson::dom::array(root)) {
      add(e, ++n, src.max_line_bytes);
      if (!st.ok()) break;
      if (stop_requested()) {
        stats_.interrupted = true;
        break;
      }
    }
  }
  flush(true);
  return st;
}

Status Runner::open_checkpoints(const std::vector<SourceSpec>& sources) {
  for (const SourceSpec& spec : sources) {
    if (!spec.follow || !spec.error.empty() || spec.checkpoint.empty()) continue;
    auto& slot = checkpoints_[spec.checkpoint];
    if (slot) continue;
    slot = std::make_unique<Checkpoint>(spec.checkpoint);
    // Fatal, before anything is read: an unreadable checkpoint (reading from the start
    // would repeat everything) or one that cannot be written (no progress could be kept).
    Status st = slot->load();
    if (st.ok()) st = slot->save();
    if (!st.ok()) return st;
    if (!state_checkpoint_) state_checkpoint_ = slot.get();
  }
  if (!state_checkpoint_) return {};
  state_dirty_ = true;  // the first save writes what the stages hold after the restore
  return restore_stage_state(*state_checkpoint_, spec_.stages, source_names_);
}

// Follow mode: the followed files are read in turn, each until it has nothing more for
// now, until SIGTERM or SIGINT. When every file is idle, outputs flush (and checkpoints
// are saved) and the run sleeps poll_interval_ms. Errors of one file are reported in
// its counters and the others go on.
Status Runner::run_follow(const std::vector<SourceSpec>& sources, const std::vector<uint32_t>& indices) {
  int poll_ms = 60000;
  for (uint32_t i : indices) {
    const SourceSpec& spec = sources[i];
    Checkpoint* cp = nullptr;
    if (!spec.checkpoint.empty()) cp = checkpoints_[spec.checkpoint].get();  // open_checkpoints
    followed_.push_back(std::make_unique<FollowedFile>(spec, cp));
    poll_ms = std::min(poll_ms, spec.poll_interval_ms);
  }
  std::vector<bool> failed(indices.size(), false);
  Status result;
  auto fail_source = [&](size_t k, const Status& st) {
    failed[k] = true;
    SourceCounters& c = stats_.sources[indices[k]];
    c.error = st.message();
    ++stats_.source_errors;
    result = Status::error(result.ok() ? st.message() : result.message() + "\n" + st.message());
  };
  // Every exit, an output failure included, reports what was read.
  struct CountRead {
    Runner& runner;
    const std::vector<uint32_t>& indices;
    ~CountRead() {
      for (size_t k = 0; k < runner.followed_.size(); ++k) {
        SourceCounters& c = runner.stats_.sources[indices[k]];
        c.lines = runner.followed_[k]->lines_read();
        c.bytes = runner.followed_[k]->bytes_read();
      }
    }
  } count_read{*this, indices};
  for (bool first = true; !stop_requested(); first = false) {
    bool progressed = false;
    for (size_t k = 0; k < followed_.size() && !stop_requested(); ++k) {
      if (failed[k]) continue;
      FollowedFile& f = *followed_[k];
      if (!f.reader()) {
        if (Status st = f.try_open(first); !st.ok()) {
          fail_source(k, st);
          continue;
        }
        if (!f.reader()) continue;  // not there yet
      }
      if (Status st = pump_follow(f, indices[k], progressed); !st.ok()) {
        if (output_failed_) return st;
        fail_source(k, st);
      }
    }
    if (std::all_of(failed.begin(), failed.end(), [](bool b) { return b; })) break;
    if (progressed) {
      if (Status st = maybe_timed_flush(); !st.ok()) return st;
      continue;
    }
    if (Status st = flush_outputs(); !st.ok()) return st;
    wait_readable(-1, poll_ms);
  }
  if (stop_requested()) stats_.interrupted = true;
  if (Status st = flush_outputs(); !st.ok()) return st;  // also saves the final checkpoints
  return result;
}

// Reads one followed file until it has nothing more for now (or its turn is over).
Status Runner::pump_follow(FollowedFile& f, uint32_t index, bool& progressed) {
  // A file that was idle may have been rotated or truncated meanwhile: look before
  // reading, so that a truncated file that grew again is not read from the old offset.
  if (f.idle) {
    f.idle = false;
    FollowedFile::Change c = f.check();
    if (c == FollowedFile::Change::Truncated) f.cut();
    else if (c == FollowedFile::Change::Rotated) f.drain();
  }
  LineReader* reader = f.reader();
  LineEvent ev;
  for (int refills = 0;;) {
    LineReader::Next n = reader->next(ev);
    if (n == LineReader::Next::Line) {
      if (ev.kind == LineEvent::Kind::Blank) {
        ++stats_.blank_lines;
        continue;
      }
      add_line(ev, index);
      if (batch_.records.size() >= opts_.batch_records) {
        Status st = process_batch(0);
        if (st.ok()) st = maybe_timed_flush();
        if (!st.ok()) return st;
      }
      continue;
    }
    if (Status st = process_batch(0); !st.ok()) return st;  // views end at refill
    if (n == LineReader::Next::Error) {
      Status st = Status::error(f.spec().name + ": " + reader->error());
      f.reader_ended(FollowedFile::Change::Rotated);  // closes it
      return st;
    }
    if (n == LineReader::Next::End) {
      // Only a drain (rotation) or a cut (truncation) ends a followed file's reader.
      f.reader_ended(f.pending_change());
      progressed = true;
      return {};
    }
    if (stop_requested() || ++refills > kFollowRefillsPerTurn) return {};
    if (Status st = reader->refill(); !st.ok()) return Status::error(f.spec().name + ": " + st.message());
    if (reader->starved()) {
      f.idle = true;  // checked for rotation at its next turn
      return {};
    }
    progressed = true;
  }
}

int Runner::run(std::string& error) {
  std::vector<SourceSpec> sources;
  if (!opts_.inputs.empty()) {
    for (const auto& p : opts_.inputs) {
      // A directory is read recursively (its log files); a quoted glob is expanded here.
      std::vector<std::string> files;
      if (!expand_input_path(p, files)) {
        sources.push_back({p, p, "auto", 1 << 20, true, p + ": no file matches this pattern"});
        continue;
      }
      for (const auto& f : files) {
        sources.push_back({f, f == "-" ? "" : f, "auto", 1 << 20, files.size() != 1 || f != p});
        sources.back().framing = "auto";  // a JSON array or one document works however it is named
      }
    }
  } else if (spec_.inputs.empty()) {
    sources.push_back({"-", "", "auto", 1 << 20, false});
    sources.back().framing = "auto";
  } else {
    for (auto& in : spec_.inputs) {
      Status st = in->expand(sources);
      if (!st.ok()) {
        error = st.message();
        return 1;
      }
    }
  }
  if (!opts_.framing.empty())
    for (auto& src : sources)
      if (!src.follow && !src.open) src.framing = opts_.framing;
  if (unsigned workers = resolve_workers(opts_.workers ? opts_.workers : spec_.workers); workers > 1) {
    parallel_ = std::make_unique<ParallelLineRunner>(spec_.stages, workers, opts_.batch_records, &source_names_);
    parallel_->measure_steps(opts_.measure_steps);
  }
  if (spec_.outputs.empty()) default_output_ = std::make_unique<FdOutput>("stdout", 1, "", true);
  if (!spec_.dead_letter) default_dead_letter_ = std::make_unique<FdOutput>("stderr", 2, "", true);
  for (auto& o : spec_.outputs) outputs_.push_back(o.get());
  if (default_output_) outputs_.push_back(default_output_.get());
  all_outputs_ = outputs_;
  for (Output* o : outputs_) o->bind_source_names(&source_names_);
  for (auto& o : spec_.warnings) {
    warning_outputs_.push_back(o.get());
    all_outputs_.push_back(o.get());
  }
  if (warning_outputs_.empty()) warning_outputs_ = outputs_;
  for (Output* o : all_outputs_) {
    Status st = o->open();
    if (!st.ok()) {
      error = st.message();
      return 1;
    }
  }
  if (Status st = dead_letter_output().open(); !st.ok()) {
    error = st.message();
    return 1;
  }

  for (const SourceSpec& src : sources) source_names_.push_back(src.name);
  if (Status st = open_checkpoints(sources); !st.ok()) {
    output_failed_ = true;
    error = st.message();
    return failure_exit_code();
  }
  int rc = 0;
  std::vector<uint32_t> follow;  // follow-mode sources run together after the others
  for (uint32_t i = 0; i < sources.size() && !stop_requested(); ++i) {
    stats_.sources.push_back({sources[i].name, 0, 0, {}});
    if (sources[i].follow && sources[i].error.empty()) {
      follow.push_back(i);
      continue;
    }
    Status st = run_source(sources[i], i);
    stats_.lines_read += stats_.sources.back().lines;
    stats_.bytes_read += stats_.sources.back().bytes;
    if (!st.ok()) {
      // An unreadable source is reported and the run goes on with the next one.
      if (output_failed_) {
        error += (error.empty() ? "" : "\n") + st.message();
        return failure_exit_code();
      }
      stats_.sources.back().error = st.message();
      ++stats_.source_errors;
      error += (error.empty() ? "" : "\n") + st.message();
      rc = 1;
    }
  }
  if (!follow.empty() && !stop_requested()) {
    Status st = run_follow(sources, follow);
    for (uint32_t i : follow) {
      stats_.lines_read += stats_.sources[i].lines;
      stats_.bytes_read += stats_.sources[i].bytes;
    }
    if (!st.ok()) {
      error += (error.empty() ? "" : "\n") + st.message();
      if (output_failed_) return failure_exit_code();
      rc = 1;
    }
  }
  if (stop_requested()) stats_.interrupted = true;
  if (parallel_ && opts_.measure_steps) stats_.step_times = parallel_->step_times();
  if (Status st = finish_stages(); !st.ok()) {
    error = st.message();
    return failure_exit_code();
  }
  return rc;
}

// Records an output gave up on become dead letters, scrubbed like any other. Each is handed
// to the dead-letter output even after it failed, so that its ledger counts them as failed.
Status Runner::write_undelivered(Output& from) {
  std::vector<Undelivered> lost;
  from.take_undelivered(lost);
  Status failure;
  for (Undelivered& u : lost) {
    std::string src = u.source < source_names_.size() ? source_names_[u.source] : from.describe();
    for (auto& s : spec_.stages) {
      s.stage->scrub(u.raw);
      s.stage->scrub(u.reason);
    }
    ledger_.wrote(&dead_letter_output(), next_record_++,
                  u.generated ? WriteLedger::GeneratedUndelivered : WriteLedger::Undelivered);
    Status st = dead_letter_output().write_line(dead_letter_line(src, u.line, u.stage, u.reason, u.raw, u.generated));
    ++stats_.output_dead_lettered;
    ++stats_.dead_letter_reasons[u.stage + "." + u.kind];
    if (!st.ok() && failure.ok()) failure = st;
  }
  return failure;
}

int Runner::close_outputs(int rc, std::string& error) {
  auto fail = [&](const Status& st) {
    // An output that already failed during the run may fail again here: report it once.
    if (error.find(st.message()) == std::string::npos) error += (error.empty() ? "" : "\n") + st.message();
    if (rc != kExitPipeClosed) rc = failure_exit_code();  // 3 if it was a closed pipe, else 1
  };
  for (Output* o : all_outputs_) {
    if (Status st = o->close(); !st.ok()) fail(st);
    if (Status st = write_undelivered(*o); !st.ok()) fail(st);
  }
  Output& dl = dead_letter_output();
  if (Status st = dl.close(); !st.ok()) fail(st);
  // Dead letters the dead-letter output itself could not deliver have nowhere left to go.
  std::vector<Undelivered> lost;
  dl.take_undelivered(lost);
  if (!lost.empty())
    fail(Status::error(dl.describe() + ": " + std::to_string(lost.size()) + " dead letters could not be delivered"));
  // Every output has delivered or dead-lettered what it held: the checkpoints a busy output
  // held back can be saved now. After any failure they stay behind (at-least-once).
  if (error.empty())
    if (Status st = save_checkpoints(true); !st.ok()) fail(st);
  ledger_.settle(stats_);
  return rc;
}

}  // namespace

void Stage::process_batch(Batch& batch) {
  const auto& recs = batch.records;
  for (size_t i = 0; i < recs.size(); ++i) {
    Record* r = recs[i];
    if (r->verdict != Verdict::Keep) continue;
    StageVerdict v = process(*r);
    if (v.kind != Verdict::Keep) {
      r->verdict = v.kind;
      r->reason = std::move(v.reason);
    }
  }
}

Record& Batch::emit(std::string json_object, const Record* after) {
  Record* r = pool_->acquire();
  r->reset_owned(std::move(json_object));
  r->generated = true;
  if (after) {
    r->source = after->source;
    r->line = after->line;
  }
  pending.push_back({r, after});
  return *r;
}

Record& Batch::emit_expanded(std::string json_object, const Record& origin) {
  Record& r = emit(std::move(json_object), &origin);
  r.expanded = true;
  return r;
}

Record* RecordPool::acquire() {
  if (used_ == slots_.size()) slots_.push_back(std::make_unique<Record>());
  return slots_[used_++].get();
}

void RecordPool::release_all() {
  for (size_t i = 0; i < used_; ++i) slots_[i]->trim_memory(kKeepCapacity);
  used_ = 0;
}

std::string dead_letter_line(std::string_view source, uint64_t line, std::string_view stage,
                             std::string_view reason, std::string_view raw, bool generated) {
  std::string out;
  out.reserve(raw.size() + reason.size() + source.size() + 64);
  out.append("{\"source\":");
  json::append_quoted(out, source);
  out.append(",\"line\":");
  out.append(std::to_string(line));
  out.append(",\"stage\":");
  json::append_quoted(out, stage);
  out.append(",\"reason\":");
  json::append_quoted(out, reason);
  if (generated) out.append(",\"generated\":true");
  out.append(",\"raw\":");
  json::append_quoted(out, raw);
  out.push_back('}');
  return out;
}

int run_pipeline(PipelineSpec& spec, const RunOptions& opts, RunStats& stats, std::string& error) {
  Runner runner(spec, opts, stats);
  int rc = runner.run(error);
  return runner.close_outputs(rc, error);
}

std::string stats_summary(const RunStats& s) {
  std::string out = "agentlog: " + std::to_string(s.records_in) + " in, " + std::to_string(s.records_out) +
                    " out, " + std::to_string(s.dropped) + " dropped, " + std::to_string(s.dead_lettered) +
                    " dead-lettered, " + std::to_string(s.records_generated) + " generated, " +
                    std::to_string(s.blank_lines) + " blank lines skipped";
  if (s.source_errors) out += ", " + std::to_string(s.source_errors) + " unreadable sources";
  if (s.failed || s.generated_failed)
    out += ", " + std::to_string(s.failed) + " failed (not written: an output failed)" +
           (s.generated_failed ? ", " + std::to_string(s.generated_failed) + " generated failed" : "");
  if (s.output_dead_lettered) out += ", " + std::to_string(s.output_dead_lettered) + " undeliverable by outputs (dead-lettered)";
  if (s.interrupted) out += " (interrupted)";
  return out;
}

std::string stats_to_json(const PipelineSpec& spec, const RunStats& s) {
  std::string o = "{";
  auto num = [&](std::string_view k, uint64_t v, bool comma = true) {
    json::append_quoted(o, k);
    o += ":" + std::to_string(v);
    if (comma) o += ",";
  };
  o += "\"pipeline\":";
  json::append_quoted(o, spec.name);
  o += ",";
  num("records_in", s.records_in);
  num("records_out", s.records_out);
  num("dropped", s.dropped);
  num("dead_lettered", s.dead_lettered);
  num("records_generated", s.records_generated);
  num("generated_out", s.generated_out);
  num("generated_dropped", s.generated_dropped);
  num("generated_dead_lettered", s.generated_dead_lettered);
  num("warnings_out", s.warnings_out);
  num("blank_lines", s.blank_lines);
  num("lines_read", s.lines_read);
  num("bytes_read", s.bytes_read);
  num("source_errors", s.source_errors);
  num("output_dead_lettered", s.output_dead_lettered);
  num("failed", s.failed);
  num("generated_failed", s.generated_failed);
  o += "\"interrupted\":";
  o += s.interrupted ? "true," : "false,";
  o += "\"dead_letter_reasons\":{";
  bool first = true;
  for (auto& [k, v] : s.dead_letter_reasons) {
    if (!first) o += ",";
    first = false;
    num(k, v, false);
  }
  o += "},\"sources\":[";
  for (size_t i = 0; i < s.sources.size(); ++i) {
    if (i) o += ",";
    o += "{\"name\":";
    json::append_quoted(o, s.sources[i].name);
    o += ",";
    num("lines", s.sources[i].lines);
    num("bytes", s.sources[i].bytes);
    o += "\"error\":";
    if (s.sources[i].error.empty()) o += "null";
    else json::append_quoted(o, s.sources[i].error);
    o += "}";
  }
  o += "],\"stages\":[";
  for (size_t i = 0; i < s.stages.size() && i < spec.stages.size(); ++i) {
    if (i) o += ",";
    const StageCounters& c = s.stages[i];
    o += "{\"name\":";
    json::append_quoted(o, spec.stages[i].name);
    o += ",\"type\":";
    json::append_quoted(o, spec.stages[i].type);
    o += ",";
    num("in", c.in);
    num("dropped", c.dropped);
    num("dead_lettered", c.dead_lettered);
    num("generated", c.generated, false);
    std::string extra = spec.stages[i].stage->stats_json();
    if (!extra.empty()) o += "," + extra;
    o += "}";
  }
  // Outputs that keep their own counters (syslog: sent, retries, reconnects, ...).
  // Inputs that keep their own counters (nats: fetched, redelivered, acked, ...); the
  // member is there only when one does.
  std::string inputs;
  for (const auto& in : spec.inputs) {
    std::string extra = in->stats_json();
    if (!extra.empty()) inputs += (inputs.empty() ? "{" : ",{") + extra + "}";
  }
  if (!inputs.empty()) o += "],\"inputs\":[" + inputs;
  o += "],\"outputs\":[";
  for (size_t i = 0; i < spec.outputs.size(); ++i) {
    if (i) o += ",";
    o += "{\"output\":";
    json::append_quoted(o, spec.outputs[i]->describe());
    std::string extra = spec.outputs[i]->stats_json();
    if (!extra.empty()) o += "," + extra;
    o += "}";
  }
  // The `warnings:` outputs, in the same form.
  o += "],\"warnings_outputs\":[";
  for (size_t i = 0; i < spec.warnings.size(); ++i) {
    if (i) o += ",";
    o += "{\"output\":";
    json::append_quoted(o, spec.warnings[i]->describe());
    std::string extra = spec.warnings[i]->stats_json();
    if (!extra.empty()) o += "," + extra;
    o += "}";
  }
  o += "]";
  // The configured dead-letter output, in the same form (null: the default, stderr).
  o += ",\"dead_letter_output\":";
  if (spec.dead_letter) {
    o += "{\"output\":";
    json::append_quoted(o, spec.dead_letter->describe());
    std::string extra = spec.dead_letter->stats_json();
    if (!extra.empty()) o += "," + extra;
    o += "}";
  } else {
    o += "null";
  }
  o += "}";
  return o;
}

}  // namespace agentlog

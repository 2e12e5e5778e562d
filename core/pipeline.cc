// run_pipeline: the runner's batches, stage runs and outputs, the run and its end; and the
// Batch, RecordPool and Stage::process_batch basics. Reading sources: pipeline_read.cc;
// follow mode: pipeline_follow.cc; the run's stats as text and JSON: pipeline_stats.cc.
#include "core/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <fstream>

#include "core/pipeline_runner.h"
#include "core/signals.h"
#include "core/stage_chain.h"

namespace agentlog {
namespace {

constexpr size_t kKeepCapacity = 256 * 1024;  // per-record buffers above this are freed

}  // namespace

namespace runner {

void Runner::add_line(const LineEvent& ev, uint32_t source) {
  Record* r = pool_.acquire();
  ++stats_.records_in;
  batch_.records.push_back(r);
  std::string_view kind = parse_input_record(*r, ev, source);
  if (!kind.empty()) ++stats_.dead_letter_reasons["input." + std::string(kind)];
}

inline void Runner::run_stages(size_t first_stage) {
  state_dirty_ = true;
  run_stage_range(spec_.stages, batch_, first_stage, spec_.stages.size(),
                  {stats_.stages, stats_.dead_letter_reasons, stats_.records_generated});
}

// After an output failed, the rest of the batch is not written: its kept and dead-lettered
// records count as failed (the ledger moves those the failed output lost), so the accounting
// identity holds on this exit path too.
Status Runner::write_batch() {
  Status failure = output_failure_;
  for (Record* record : batch_.records) {
    if (!failure.ok() && record->verdict != Verdict::Drop) {
      ++(record->generated ? stats_.generated_failed : stats_.failed);
      continue;
    }
    switch (record->verdict) {
      case Verdict::Keep: {
        const bool warning = record->diagnostic();
        const uint64_t id = next_record_++;
        for (Output* output : warning ? warning_outputs_ : outputs_) {
          ledger_.wrote(output, id,
                        warning             ? WriteLedger::Warning
                        : record->generated ? WriteLedger::GeneratedOut
                                            : WriteLedger::Out);
          Status status = output->write_record(*record);
          if (!status.ok()) {
            failure = status;
            break;
          }
        }
        ++(record->generated ? stats_.generated_out : stats_.records_out);
        if (warning) ++stats_.warnings_out;
        if (opts_.observer && failure.ok())
          opts_.observer->on_record(
              *record, record->source < source_names_.size() ? std::string_view(source_names_[record->source]) : "");
        break;
      }
      case Verdict::Drop: ++(record->generated ? stats_.generated_dropped : stats_.dropped); break;
      case Verdict::DeadLetter: {
        std::string_view stage =
            record->decided_by >= 0 ? std::string_view(spec_.stages[record->decided_by].name) : "input";
        std::string_view src =
            record->source < source_names_.size() ? std::string_view(source_names_[record->source]) : "";
        std::string raw(record->bytes());
        // Every stage may scrub secrets from dead letters, wherever the line was stopped.
        for (auto& stage_spec : spec_.stages) {
          stage_spec.stage->scrub(raw);
          stage_spec.stage->scrub(record->reason);
        }
        ledger_.wrote(&dead_letter_output(), next_record_++,
                      record->generated ? WriteLedger::GeneratedDeadLetter : WriteLedger::DeadLetter);
        Status status = dead_letter_output().write_line(
            dead_letter_line(src, record->line, stage, record->reason, raw, record->generated));
        if (!status.ok()) failure = status;
        ++(record->generated ? stats_.generated_dead_lettered : stats_.dead_lettered);
        if (opts_.observer && status.ok()) opts_.observer->on_dead_letter(*record, src, stage, record->reason);
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
  auto fail = [&](Status status) {
    output_failed_ = true;
    if (output_failure_.ok()) output_failure_ = status;
    return status;
  };
  for (Output* output : all_outputs_) {
    if (Status status = output->flush(); !status.ok()) return fail(status);
    if (output->lines_lost() == 0) ledger_.written(output);
    // e.g. syslog messages over the TCP size limit
    if (Status status = write_undelivered(*output); !status.ok()) return fail(status);
  }
  if (Status status = dead_letter_output().flush(); !status.ok()) return fail(status);
  if (dead_letter_output().lines_lost() == 0) ledger_.written(&dead_letter_output());
  unflushed_ = false;
  if (take_reopen_request()) {
    for (Output* output : all_outputs_) {
      if (Status status = output->reopen(); !status.ok()) return fail(status);
    }
    if (Status status = dead_letter_output().reopen(); !status.ok()) return fail(status);
  }
  // Checkpoints move only past records that have left the process (a syslog buffer may
  // still hold some); they are saved on a later flush, or at close.
  for (Output* output : all_outputs_)
    if (!output->delivered()) return {};
  if (!dead_letter_output().delivered()) return {};
  if (streaming_reader_) streaming_reader_->confirm_delivered();
  if (Status status = save_checkpoints(); !status.ok()) return fail(status);
  return {};
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
    // Its state goes into the checkpoint (saved at close once follow mode ran): what it holds
    // continues after the restart. A stop before the followed inputs saves no state.
    if (state_checkpoint_ && !followed_.empty() && !spec_.stages[i].stage->state_config().empty()) continue;
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

int Runner::run(std::string& error) {
  std::vector<SourceSpec> sources;
  if (!opts_.inputs.empty()) {
    for (const auto& path : opts_.inputs) {
      // A directory is read recursively (its log files); a quoted glob is expanded here.
      std::vector<std::string> files;
      if (!expand_input_path(path, files)) {
        sources.push_back({path, path, "auto", 1 << 20, true, path + ": no file matches this pattern"});
        continue;
      }
      for (const auto& file : files) {
        sources.push_back({file, file == "-" ? "" : file, "auto", 1 << 20, files.size() != 1 || file != path});
        sources.back().framing = "auto";  // a JSON array or one document works however it is named
      }
    }
  } else if (spec_.inputs.empty()) {
    sources.push_back({"-", "", "auto", 1 << 20, false});
    sources.back().framing = "auto";
  } else {
    for (auto& input : spec_.inputs) {
      Status status = input->expand(sources);
      if (!status.ok()) {
        error = status.message();
        return 1;
      }
    }
  }
  if (!opts_.framing.empty())
    for (auto& src : sources)
      if (!src.follow && !src.open) src.framing = opts_.framing;
  if (unsigned workers = resolve_workers(opts_.workers ? opts_.workers : spec_.workers); workers > 1) {
    bool leaf_hashes = false;
    for (auto* list : {&spec_.outputs, &spec_.warnings})
      for (auto& output : *list) leaf_hashes |= output->wants_leaf_hashes();
    parallel_ = std::make_unique<ParallelLineRunner>(spec_.stages, workers, opts_.batch_records, &source_names_,
                                                     leaf_hashes);
    parallel_->measure_steps(opts_.measure_steps);
  }
  if (spec_.outputs.empty()) default_output_ = std::make_unique<FdOutput>("stdout", 1, "", true);
  if (!spec_.dead_letter) default_dead_letter_ = std::make_unique<FdOutput>("stderr", 2, "", true);
  for (auto& output : spec_.outputs) outputs_.push_back(output.get());
  if (default_output_) outputs_.push_back(default_output_.get());
  all_outputs_ = outputs_;
  for (Output* output : outputs_) output->bind_source_names(&source_names_);
  for (auto& output : spec_.warnings) {
    warning_outputs_.push_back(output.get());
    all_outputs_.push_back(output.get());
  }
  if (warning_outputs_.empty()) warning_outputs_ = outputs_;
  for (Output* output : all_outputs_) {
    Status status = output->open();
    if (!status.ok()) {
      error = status.message();
      return 1;
    }
  }
  if (Status status = dead_letter_output().open(); !status.ok()) {
    error = status.message();
    return 1;
  }

  for (const SourceSpec& src : sources) source_names_.push_back(src.name);
  if (Status status = open_checkpoints(sources); !status.ok()) {
    output_failed_ = true;
    error = status.message();
    return failure_exit_code();
  }
  int exit_code = 0;
  std::vector<uint32_t> follow;  // follow-mode sources run together after the others
  for (uint32_t i = 0; i < sources.size() && !stop_requested(); ++i) {
    stats_.sources.push_back({sources[i].name, 0, 0, {}});
    if (sources[i].follow && sources[i].error.empty()) {
      follow.push_back(i);
      continue;
    }
    Status status = run_source(sources[i], i);
    stats_.lines_read += stats_.sources.back().lines;
    stats_.bytes_read += stats_.sources.back().bytes;
    if (!status.ok()) {
      // An unreadable source is reported and the run goes on with the next one.
      if (output_failed_) {
        error += (error.empty() ? "" : "\n") + status.message();
        return failure_exit_code();
      }
      stats_.sources.back().error = status.message();
      ++stats_.source_errors;
      error += (error.empty() ? "" : "\n") + status.message();
      exit_code = 1;
    }
  }
  if (!follow.empty() && !stop_requested()) {
    Status status = run_follow(sources, follow);
    for (uint32_t i : follow) {
      stats_.lines_read += stats_.sources[i].lines;
      stats_.bytes_read += stats_.sources[i].bytes;
    }
    if (!status.ok()) {
      error += (error.empty() ? "" : "\n") + status.message();
      if (output_failed_) return failure_exit_code();
      exit_code = 1;
    }
  }
  if (stop_requested()) stats_.interrupted = true;
  if (parallel_ && opts_.measure_steps) stats_.step_times = parallel_->step_times();
  if (Status status = finish_stages(); !status.ok()) {
    error = status.message();
    return failure_exit_code();
  }
  return exit_code;
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

}  // namespace runner

void RecordStage::process_batch(Batch& batch) {
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
  runner::Runner runner(spec, opts, stats);
  int rc = runner.run(error);
  return runner.close_outputs(rc, error);
}

}  // namespace agentlog

// The pipeline runner (run_pipeline), shared by the files that implement it: pipeline.cc
// (batches, stages, outputs, the run and its end), pipeline_read.cc (reading a source:
// lines, JSON arrays, the parallel runner's tail, streaming) and pipeline_follow.cc (follow
// mode and checkpoints).
#pragma once
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/follow.h"
#include "core/input.h"
#include "core/output.h"
#include "core/parallel_runner.h"
#include "core/pipeline.h"

namespace agentlog::runner {

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
  // The `inline` helpers below have one caller each, in the file that defines them, and are
  // inlined into it there (as when the runner was one file).
  Status write_undelivered(Output& from);
  Status run_source(const SourceSpec& src, uint32_t index);
  // A regular file's lines with workers > 1 (core/parallel_runner.h).
  Status run_source_parallel(const SourceSpec& src, uint32_t index, LineReader& reader);
  inline bool take_parallel_batch(LineBatch& b, SourceCounters& counters, Status& st);
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
  inline Status after_refill(bool idle, int poll_fd);
  Status maybe_timed_flush();
  Status run_follow(const std::vector<SourceSpec>& sources, const std::vector<uint32_t>& indices);
  // Loads (and writes back) the followed inputs' checkpoints and restores the stages' state
  // from the first one, before anything is read.
  Status open_checkpoints(const std::vector<SourceSpec>& sources);
  Status pump_follow(FollowedFile& f, uint32_t index, bool& progressed);
  int failure_exit_code() const;
  inline void run_stages(size_t first_stage);
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

}  // namespace agentlog::runner

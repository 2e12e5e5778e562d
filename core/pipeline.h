// The pipeline runner: reads sources line by line into batches, runs the stage chain,
// writes kept records to every output and the rest to the dead-letter output, and keeps
// the accounting identity records_in = records_out + dropped + dead_lettered.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"

namespace agentlog {

class RecordPool {
 public:
  Record* acquire();
  void release_all();

 private:
  std::vector<std::unique_ptr<Record>> slots_;
  size_t used_ = 0;
};

struct RunStats;

// Sees every record as it leaves the chain (used by `check` to build its report). Called on
// the pipeline's thread, after the record was written; dead letters come already scrubbed.
class RecordObserver {
 public:
  virtual ~RecordObserver() = default;
  virtual void on_record(Record& record, std::string_view source) = 0;
  virtual void on_dead_letter(const Record& record, std::string_view source, std::string_view stage,
                              std::string_view reason) = 0;
  // After each batch was written (progress reports).
  virtual void on_batch(const RunStats& stats) {}
};

struct RunOptions {
  std::vector<std::string> inputs;  // replace the config's inputs; "-" is stdin
  // --framing: lines | json-array | auto for every source that is not followed; empty: the
  // inputs' own (command-line inputs: auto).
  std::string framing;
  std::string stats_json_path;
  bool quiet = false;               // no summary on stderr
  // Records parsed and run through the chain together. Small, so a batch's parsed records
  // are still in the CPU's cache when each stage reaches them (64: about 100 KB parsed).
  size_t batch_records = 64;
  // Threads that run the chain (--workers); 0: the config's `workers:`.
  unsigned workers = 0;
  bool measure_steps = false;  // fill RunStats::step_times
  RecordObserver* observer = nullptr;
};

// CPU time spent in one step of the parallel runner, over all its threads (--step-times).
struct StepTime {
  std::string step;  // "read", "parse + schema,redact", "collision,lifecycle + write", ...
  bool parallel = false;
  uint64_t cpu_ns = 0;
};

struct StageCounters {
  uint64_t in = 0, dropped = 0, dead_lettered = 0, generated = 0;
};

struct SourceCounters {
  std::string name;
  uint64_t lines = 0, bytes = 0;
  std::string error;
};

struct RunStats {
  uint64_t records_in = 0, records_out = 0, dropped = 0, dead_lettered = 0;
  uint64_t records_generated = 0, generated_out = 0, generated_dropped = 0, generated_dead_lettered = 0;
  // Of generated_out: the warnings (diagnostic records), written to the `warnings:` outputs
  // when the config has them, else to the outputs.
  uint64_t warnings_out = 0;
  uint64_t blank_lines = 0, lines_read = 0, bytes_read = 0, source_errors = 0;
  // Records handed to an output (counted in records_out) that it later gave up on and
  // dead-lettered: over its size limit, or undelivered at shutdown.
  uint64_t output_dead_lettered = 0;
  // Records that were never written in full because an output failed (a full disk, a
  // closed pipe): records_in = records_out + dropped + dead_lettered + failed, and
  // records_generated likewise with generated_failed. Nonzero only when the run failed.
  uint64_t failed = 0, generated_failed = 0;
  std::vector<SourceCounters> sources;
  std::vector<StageCounters> stages;
  std::map<std::string, uint64_t> dead_letter_reasons;  // "stage.kind" -> count; never content
  bool interrupted = false;
  // With RunOptions::measure_steps and more than one worker; timings, so not in the stats JSON.
  std::vector<StepTime> step_times;
};

// Exit code when an output's reader closed its pipe (EPIPE), e.g. `agentlog run | head`.
constexpr int kExitPipeClosed = 3;

// Runs the pipeline. Returns the process exit code (0 ok, 1 runtime failure,
// kExitPipeClosed); `error` receives the message of a runtime failure.
int run_pipeline(PipelineSpec& spec, const RunOptions& opts, RunStats& stats, std::string& error);

std::string stats_to_json(const PipelineSpec& spec, const RunStats& stats);
std::string stats_summary(const RunStats& stats);

// The dead-letter line for a record: source, line, stage, reason and the text as a string.
std::string dead_letter_line(std::string_view source, uint64_t line, std::string_view stage,
                             std::string_view reason, std::string_view raw, bool generated);

}  // namespace agentlog

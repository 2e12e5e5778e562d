// The parallel runner (`workers:` above 1) for line-framed regular files, on oneTBB's
// parallel_pipeline: a serial step reads and cuts lines into batches exactly where the
// single-thread runner does; batches are parsed and run through the chain's stateless stages
// on any worker; each stateful stage (stateless() false) is a serial step in input order; the
// caller's tail runs the trailing stateful stages and writes, in input order. So records,
// warnings, dead letters and counters are the same as with one thread. Streams (stdin,
// pipes), followed files and JSON-array documents keep the single-thread path.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/input.h"
#include "core/pipeline.h"

namespace agentlog {

// `workers:` or --workers text: "auto" (0) or a number from 1 to kMaxWorkers.
bool parse_workers(std::string_view text, unsigned& out);
std::string workers_error(std::string_view text);
// The cores this process may run on (sched_getaffinity), at least 1.
unsigned available_cores();
// 0 (auto) becomes available_cores().
unsigned resolve_workers(unsigned configured);

// A batch of input lines on its way through the parallel runner.
struct LineBatch {
  struct Line {
    const char* data;  // in `held`
    size_t size;
    uint64_t line_no;
    bool too_long;
  };
  // The reader's buffer the lines are viewed in (LineReader::hold_buffer): a batch is cut
  // at each refill, so all its lines are in one buffer, and none is copied.
  std::shared_ptr<const char[]> held;
  std::vector<Line> lines;
  uint64_t blank_lines = 0;
  // The reader refilled its buffer after this batch: the single-thread runner flushes the
  // outputs there.
  bool at_refill = false;
  // The reader's counters when the batch was cut: what the source had read when one thread
  // would have written it (the reader itself is ahead).
  uint64_t reader_lines = 0, reader_bytes = 0;
  RecordPool pool;
  Batch batch{pool};
  // What the steps before the tail counted: stages by index, dead letters by reason key.
  std::vector<StageCounters> stage_counts;
  std::map<std::string, uint64_t> dead_letter_reasons;
  uint64_t records_generated = 0;
};

class ParallelLineRunner {
 public:
  // `leaf_hashes`: an output keeps a Merkle log (`integrity:`), so the kept records' leaf
  // hashes are worked out on the workers (Record::leaf_hash) after the last stage; every
  // stage then runs before the tail, which only writes.
  ParallelLineRunner(const std::vector<StageSlot>& stages, unsigned workers, size_t batch_records,
                     const std::vector<std::string>* source_names, bool leaf_hashes = false);
  ~ParallelLineRunner();
  // The stages from this index on are left to the tail (the trailing stateful ones).
  size_t tail_first_stage() const { return tail_first_; }

  // Called serially, in input order, with each batch after the steps before the tail; the
  // batch's records are in batch.records. Returns false to stop reading (an output failed).
  using Tail = std::function<bool(LineBatch&)>;
  // Reads `reader` to its end, a read error or a stop request (`interrupted` set). Returns
  // the read error (the reader's message), after every batch read was through the tail.
  Status run(LineReader& reader, uint32_t source, const Tail& tail, bool& interrupted);

  // Measures each step's CPU time (two clock reads per batch and step; off by default).
  void measure_steps(bool on) { measure_ = on; }
  // Each step with its CPU time so far, in pipeline order (read, parallel and serial
  // segments, tail). The step with the most time in a serial step caps the speed-up.
  std::vector<StepTime> step_times() const;

 private:
  struct Segment {
    size_t first, last;
    bool parallel;
  };
  struct Impl;
  const std::vector<StageSlot>& stages_;
  unsigned workers_;
  size_t batch_records_;
  const std::vector<std::string>* source_names_;
  std::vector<Segment> segments_;  // the stages before the tail
  size_t tail_first_;
  bool leaf_hashes_;
  bool measure_ = false;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentlog

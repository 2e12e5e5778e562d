#include "core/parallel_runner.h"

#include <sched.h>

#include <time.h>

#include <atomic>
#include <charconv>

#include <oneapi/tbb/concurrent_queue.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/task_arena.h>

#include "core/merkle.h"
#include "core/signals.h"
#include "core/stage_chain.h"
#include "core/worker_slots.h"

namespace agentlog {
namespace {

// Batches in flight per worker: enough to keep every worker busy while the serial steps
// run, few enough that memory stays flat. Fewer is cheaper: a batch (64 parsed records,
// about 300 KB) waiting for a serial step falls out of the cache; with 8 in flight on 2
// workers the run took 10-15% more CPU than with 2-4 (and one thread).
constexpr size_t kBatchesPerWorker = 2;

// Each step tells the stages which per-worker slot the thread works in (core/worker_slots.h).
void enter_slot() {
  int i = tbb::this_task_arena::current_thread_index();
  t_worker_slot = i >= 0 ? static_cast<uint32_t>(i) : 0;
}

uint64_t thread_cpu_ns() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000000000u + static_cast<uint64_t>(t.tv_nsec);
}

// Adds the calling thread's CPU time between construction and destruction to `total`.
class StepClock {
 public:
  StepClock(bool on, std::atomic<uint64_t>& total) : total_(on ? &total : nullptr), start_(on ? thread_cpu_ns() : 0) {}
  ~StepClock() {
    if (total_) total_->fetch_add(thread_cpu_ns() - start_, std::memory_order_relaxed);
  }

 private:
  std::atomic<uint64_t>* total_;
  uint64_t start_;
};

}  // namespace

bool parse_workers(std::string_view text, unsigned& out) {
  if (text == "auto") {
    out = 0;
    return true;
  }
  unsigned n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 1 || n > kMaxWorkers) return false;
  out = n;
  return true;
}

std::string workers_error(std::string_view text) {
  return "expected auto or a number from 1 to " + std::to_string(kMaxWorkers) + ", got \"" + std::string(text) + "\"";
}

unsigned available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  int n = CPU_COUNT(&set);
  return n < 1 ? 1u : static_cast<unsigned>(n);
}

unsigned resolve_workers(unsigned configured) {
  unsigned n = configured ? configured : available_cores();
  return n > kMaxWorkers ? kMaxWorkers : n;
}

struct ParallelLineRunner::Impl {
  // Lets the arena have `workers` threads even beyond the cores (tests run 8 on 2 cores).
  tbb::global_control threads;
  tbb::task_arena arena;
  std::vector<std::unique_ptr<LineBatch>> batches;  // all, owned here
  tbb::concurrent_queue<LineBatch*> free;           // those not in flight
  // CPU time by step: read, then one per segment, then the tail.
  std::vector<std::string> step_names;
  std::vector<bool> step_parallel;
  std::unique_ptr<std::atomic<uint64_t>[]> step_ns;
  explicit Impl(unsigned workers)
      : threads(tbb::global_control::max_allowed_parallelism, workers), arena(static_cast<int>(workers)) {}
};

ParallelLineRunner::ParallelLineRunner(const std::vector<StageSlot>& stages, unsigned workers, size_t batch_records,
                                       const std::vector<std::string>* source_names, bool leaf_hashes)
    : stages_(stages), workers_(workers), batch_records_(batch_records), source_names_(source_names),
      leaf_hashes_(leaf_hashes), impl_(std::make_unique<Impl>(workers)) {
  // The trailing stateful stages run in the tail, with the writing; before them, runs of
  // stateless stages run in parallel and the stateful ones between them serially.
  tail_first_ = stages.size();
  if (!leaf_hashes_)
    while (tail_first_ > 0 && !stages[tail_first_ - 1].stage->stateless()) --tail_first_;
  // Each stateful stage is a serial step of its own: steps run side by side on different
  // batches, so the busiest one, not their sum, caps the speed-up.
  for (size_t i = 0; i < tail_first_;) {
    bool parallel = stages[i].stage->stateless();
    size_t j = i + 1;
    while (parallel && j < tail_first_ && stages[j].stage->stateless()) ++j;
    segments_.push_back({i, j, parallel});
    i = j;
  }
  auto stage_names = [&](size_t first, size_t last) {
    std::string names;
    for (size_t k = first; k < last; ++k) names += (k > first ? "," : "") + stages[k].name;
    return names;
  };
  auto add_step = [&](std::string name, bool parallel) {
    impl_->step_names.push_back(std::move(name));
    impl_->step_parallel.push_back(parallel);
  };
  add_step("read", false);
  size_t stage = 0;
  if (!segments_.empty() && segments_[0].parallel)
    add_step("parse + " + stage_names(segments_[0].first, segments_[0].last), true), stage = 1;
  else
    add_step("parse", true);
  for (; stage < segments_.size(); ++stage)
    add_step(stage_names(segments_[stage].first, segments_[stage].last), segments_[stage].parallel);
  if (leaf_hashes_) add_step("leaf hashes", true);
  add_step(tail_first_ < stages.size() ? stage_names(tail_first_, stages.size()) + " + write" : "write", false);
  impl_->step_ns = std::make_unique<std::atomic<uint64_t>[]>(impl_->step_names.size());
}

std::vector<StepTime> ParallelLineRunner::step_times() const {
  std::vector<StepTime> out;
  for (size_t i = 0; i < impl_->step_names.size(); ++i)
    out.push_back({impl_->step_names[i], impl_->step_parallel[i], impl_->step_ns[i].load()});
  return out;
}

ParallelLineRunner::~ParallelLineRunner() = default;

Status ParallelLineRunner::run(LineReader& reader, uint32_t source, const Tail& tail, bool& interrupted) {
  std::atomic<bool> abandoned{false};  // the tail failed: read no more, skip the work
  bool done = false;
  std::string read_error;

  auto take_batch = [&]() {
    LineBatch* line_batch = nullptr;
    if (!impl_->free.try_pop(line_batch)) {
      impl_->batches.push_back(std::make_unique<LineBatch>());
      line_batch = impl_->batches.back().get();
      line_batch->batch.source_names = source_names_;
    }
    line_batch->held = reader.hold_buffer();
    line_batch->lines.clear();
    line_batch->blank_lines = 0;
    line_batch->at_refill = false;
    line_batch->stage_counts.assign(stages_.size(), StageCounters{});
    line_batch->dead_letter_reasons.clear();
    line_batch->records_generated = 0;
    return line_batch;
  };
  auto seal = [&](LineBatch* line_batch) {
    line_batch->reader_lines = reader.lines();
    line_batch->reader_bytes = reader.bytes_read();
    return line_batch;
  };

  // Cuts batches where the single-thread runner does: after batch_records records, and
  // at each refill (its views end there; here the batch holds the buffer, so that stateful
  // stages see the same batches and every batch's lines are in one buffer).
  std::atomic<uint64_t>* step_ns = impl_->step_ns.get();
  const size_t last_step = impl_->step_names.size() - 1;
  auto read = [&](tbb::flow_control& fc) -> LineBatch* {
    enter_slot();
    StepClock clock(measure_, step_ns[0]);
    if (done || abandoned.load(std::memory_order_relaxed)) {
      fc.stop();
      return nullptr;
    }
    LineBatch* line_batch = take_batch();
    LineEvent event;
    for (;;) {
      LineReader::Next next = reader.next(event);
      if (next == LineReader::Next::Line) {
        if (event.kind == LineEvent::Kind::Blank) {
          ++line_batch->blank_lines;
          continue;
        }
        line_batch->lines.push_back(
            {event.text.data(), event.text.size(), event.line_no, event.kind == LineEvent::Kind::TooLong});
        if (line_batch->lines.size() >= batch_records_) return seal(line_batch);
        continue;
      }
      line_batch->at_refill = true;
      seal(line_batch);  // before the refill moves the reader on
      if (next == LineReader::Next::End) {
        done = true;
      } else if (next == LineReader::Next::Error) {
        done = true;
        read_error = reader.error();
      } else if (stop_requested()) {
        done = true;
        interrupted = true;
      } else if (Status status = reader.refill(); !status.ok()) {
        done = true;
        read_error = status.message();
      }
      return line_batch;
    }
  };

  auto parse = [&, source](LineBatch* line_batch) -> LineBatch* {
    enter_slot();
    if (abandoned.load(std::memory_order_relaxed)) return line_batch;
    for (const LineBatch::Line& line : line_batch->lines) {
      Record* record = line_batch->pool.acquire();
      line_batch->batch.records.push_back(record);
      LineEvent event;
      event.kind = line.too_long ? LineEvent::Kind::TooLong : LineEvent::Kind::Line;
      event.text = std::string_view(line.data, line.size);
      event.line_no = line.line_no;
      std::string_view kind = parse_input_record(*record, event, source);
      if (!kind.empty()) ++line_batch->dead_letter_reasons["input." + std::string(kind)];
    }
    return line_batch;
  };

  auto run_segment = [&](LineBatch* line_batch, const Segment& seg) {
    run_stage_range(stages_, line_batch->batch, seg.first, seg.last,
                    {line_batch->stage_counts, line_batch->dead_letter_reasons, line_batch->records_generated});
  };

  auto write = [&](LineBatch* line_batch) {
    enter_slot();
    StepClock clock(measure_, step_ns[last_step]);
    if (!abandoned.load(std::memory_order_relaxed) && !tail(*line_batch))
      abandoned.store(true, std::memory_order_relaxed);
    line_batch->batch.records.clear();
    line_batch->batch.pending.clear();
    line_batch->pool.release_all();
    line_batch->held.reset();  // the reader may reuse the buffer
    impl_->free.push(line_batch);
  };

  using tbb::filter_mode;
  size_t first_segment = 0;
  tbb::filter<void, LineBatch*> chain =
      tbb::make_filter<void, LineBatch*>(filter_mode::serial_in_order, read);
  if (!segments_.empty() && segments_[0].parallel) {
    // Parsing and the leading stateless stages in one step: the records are still in cache.
    const Segment seg = segments_[0];
    chain = chain & tbb::make_filter<LineBatch*, LineBatch*>(filter_mode::parallel, [&, seg](LineBatch* line_batch) {
              StepClock clock(measure_, step_ns[1]);
              parse(line_batch);
              if (!abandoned.load(std::memory_order_relaxed)) run_segment(line_batch, seg);
              return line_batch;
            });
    first_segment = 1;
  } else {
    chain = chain & tbb::make_filter<LineBatch*, LineBatch*>(filter_mode::parallel, [&](LineBatch* line_batch) {
              StepClock clock(measure_, step_ns[1]);
              return parse(line_batch);
            });
  }
  for (size_t i = first_segment; i < segments_.size(); ++i) {
    const Segment seg = segments_[i];
    std::atomic<uint64_t>* step_time = &step_ns[i + 2 - first_segment];
    chain = chain & tbb::make_filter<LineBatch*, LineBatch*>(
                        seg.parallel ? filter_mode::parallel : filter_mode::serial_in_order,
                        [&, seg, step_time](LineBatch* line_batch) {
                          enter_slot();
                          StepClock clock(measure_, *step_time);
                          if (!abandoned.load(std::memory_order_relaxed)) run_segment(line_batch, seg);
                          return line_batch;
                        });
  }
  if (leaf_hashes_) {
    std::atomic<uint64_t>* step_time = &step_ns[last_step - 1];
    chain =
        chain & tbb::make_filter<LineBatch*, LineBatch*>(filter_mode::parallel, [&, step_time](LineBatch* line_batch) {
          enter_slot();
          StepClock clock(measure_, *step_time);
          if (abandoned.load(std::memory_order_relaxed)) return line_batch;
          for (Record* record : line_batch->batch.records) {
            if (record->verdict != Verdict::Keep) continue;
            Record::BytePieces pieces = record->byte_pieces();
            record->set_leaf_hash(merkle::leaf_hash_of_pieces(pieces.head, pieces.held, pieces.tail));
          }
          return line_batch;
        });
  }
  impl_->arena.execute([&] {
    tbb::parallel_pipeline(workers_ * kBatchesPerWorker,
                           chain & tbb::make_filter<LineBatch*, void>(filter_mode::serial_in_order, write));
  });
  t_worker_slot = 0;
  if (!read_error.empty()) return Status::error(read_error);
  return {};
}

}  // namespace agentlog

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
// A batch's text buffer above this is freed after use (an unusually long line).
constexpr size_t kKeepTextCapacity = 4 << 20;

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
  for (size_t i = 0; i < tail_first_;) {
    bool parallel = stages[i].stage->stateless();
    size_t j = i;
    while (j < tail_first_ && stages[j].stage->stateless() == parallel) ++j;
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
  size_t k = 0;
  if (!segments_.empty() && segments_[0].parallel)
    add_step("parse + " + stage_names(segments_[0].first, segments_[0].last), true), k = 1;
  else
    add_step("parse", true);
  for (; k < segments_.size(); ++k) add_step(stage_names(segments_[k].first, segments_[k].last), segments_[k].parallel);
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
    LineBatch* b = nullptr;
    if (!impl_->free.try_pop(b)) {
      impl_->batches.push_back(std::make_unique<LineBatch>());
      b = impl_->batches.back().get();
      b->batch.source_names = source_names_;
    }
    if (b->text.capacity() > kKeepTextCapacity) std::string().swap(b->text);
    b->text.clear();
    b->lines.clear();
    b->blank_lines = 0;
    b->at_refill = false;
    b->stage_counts.assign(stages_.size(), StageCounters{});
    b->dead_letter_reasons.clear();
    b->records_generated = 0;
    return b;
  };
  auto seal = [&](LineBatch* b) {
    b->text.append(simdjson::SIMDJSON_PADDING, '\0');  // the last line's padding
    b->reader_lines = reader.lines();
    b->reader_bytes = reader.bytes_read();
    return b;
  };

  // Cuts batches where the single-thread runner does: after batch_records records, and
  // at each refill (its views end there; here the lines are copied, but the cut is kept so
  // that stateful stages see the same batches).
  std::atomic<uint64_t>* step_ns = impl_->step_ns.get();
  const size_t last_step = impl_->step_names.size() - 1;
  auto read = [&](tbb::flow_control& fc) -> LineBatch* {
    enter_slot();
    StepClock clock(measure_, step_ns[0]);
    if (done || abandoned.load(std::memory_order_relaxed)) {
      fc.stop();
      return nullptr;
    }
    LineBatch* b = take_batch();
    LineEvent ev;
    for (;;) {
      LineReader::Next n = reader.next(ev);
      if (n == LineReader::Next::Line) {
        if (ev.kind == LineEvent::Kind::Blank) {
          ++b->blank_lines;
          continue;
        }
        b->lines.push_back({b->text.size(), ev.text.size(), ev.line_no, ev.kind == LineEvent::Kind::TooLong});
        b->text.append(ev.text);
        if (b->lines.size() >= batch_records_) return seal(b);
        continue;
      }
      b->at_refill = true;
      seal(b);  // before the refill moves the reader on
      if (n == LineReader::Next::End) {
        done = true;
      } else if (n == LineReader::Next::Error) {
        done = true;
        read_error = reader.error();
      } else if (stop_requested()) {
        done = true;
        interrupted = true;
      } else if (Status st = reader.refill(); !st.ok()) {
        done = true;
        read_error = st.message();
      }
      return b;
    }
  };

  auto parse = [&, source](LineBatch* b) -> LineBatch* {
    enter_slot();
    if (abandoned.load(std::memory_order_relaxed)) return b;
    for (const LineBatch::Line& line : b->lines) {
      Record* r = b->pool.acquire();
      b->batch.records.push_back(r);
      LineEvent ev;
      ev.kind = line.too_long ? LineEvent::Kind::TooLong : LineEvent::Kind::Line;
      ev.text = std::string_view(b->text).substr(line.offset, line.size);
      ev.line_no = line.line_no;
      std::string_view kind = parse_input_record(*r, ev, source);
      if (!kind.empty()) ++b->dead_letter_reasons["input." + std::string(kind)];
    }
    return b;
  };

  auto run_segment = [&](LineBatch* b, const Segment& seg) {
    run_stage_range(stages_, b->batch, seg.first, seg.last,
                    {b->stage_counts, b->dead_letter_reasons, b->records_generated});
  };

  auto write = [&](LineBatch* b) {
    enter_slot();
    StepClock clock(measure_, step_ns[last_step]);
    if (!abandoned.load(std::memory_order_relaxed) && !tail(*b)) abandoned.store(true, std::memory_order_relaxed);
    b->batch.records.clear();
    b->batch.pending.clear();
    b->pool.release_all();
    impl_->free.push(b);
  };

  using tbb::filter_mode;
  size_t first_segment = 0;
  tbb::filter<void, LineBatch*> chain =
      tbb::make_filter<void, LineBatch*>(filter_mode::serial_in_order, read);
  if (!segments_.empty() && segments_[0].parallel) {
    // Parsing and the leading stateless stages in one step: the records are still in cache.
    const Segment seg = segments_[0];
    chain = chain & tbb::make_filter<LineBatch*, LineBatch*>(filter_mode::parallel, [&, seg](LineBatch* b) {
              StepClock clock(measure_, step_ns[1]);
              parse(b);
              if (!abandoned.load(std::memory_order_relaxed)) run_segment(b, seg);
              return b;
            });
    first_segment = 1;
  } else {
    chain = chain & tbb::make_filter<LineBatch*, LineBatch*>(filter_mode::parallel, [&](LineBatch* b) {
              StepClock clock(measure_, step_ns[1]);
              return parse(b);
            });
  }
  for (size_t i = first_segment; i < segments_.size(); ++i) {
    const Segment seg = segments_[i];
    std::atomic<uint64_t>* ns = &step_ns[i + 2 - first_segment];
    chain = chain & tbb::make_filter<LineBatch*, LineBatch*>(
                        seg.parallel ? filter_mode::parallel : filter_mode::serial_in_order, [&, seg, ns](LineBatch* b) {
                          enter_slot();
                          StepClock clock(measure_, *ns);
                          if (!abandoned.load(std::memory_order_relaxed)) run_segment(b, seg);
                          return b;
                        });
  }
  if (leaf_hashes_) {
    std::atomic<uint64_t>* ns = &step_ns[last_step - 1];
    chain = chain & tbb::make_filter<LineBatch*, LineBatch*>(filter_mode::parallel, [&, ns](LineBatch* b) {
              enter_slot();
              StepClock clock(measure_, *ns);
              if (abandoned.load(std::memory_order_relaxed)) return b;
              for (Record* r : b->batch.records) {
                if (r->verdict != Verdict::Keep) continue;
                Record::BytePieces p = r->byte_pieces();
                r->set_leaf_hash(merkle::leaf_hash_of_pieces(p.head, p.held, p.tail));
              }
              return b;
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

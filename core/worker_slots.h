// Per-worker state for stages that the parallel runner (core/parallel_runner.h) calls from
// several threads at once: each thread works in its own slot, and the stage adds the slots
// up when it reports (sums do not depend on which worker saw which record).
#pragma once
#include <array>
#include <cstdint>
#include <memory>

namespace agentlog {

// Most workers a pipeline may run (config `workers:`, --workers).
constexpr uint32_t kMaxWorkers = 256;

// The calling thread's slot: 0 outside the parallel runner, its worker index inside it. Set
// by the runner each time a thread enters a pipeline step; never two threads at once in one slot.
inline thread_local uint32_t t_worker_slot = 0;

template <class T>
class PerWorker {
 public:
  PerWorker() = default;
  // Every slot starts as a copy of `initial` (a configured scratch object, say).
  explicit PerWorker(const T& initial) : initial_(std::make_unique<T>(initial)) {}
  PerWorker(PerWorker&&) = default;
  PerWorker& operator=(PerWorker&&) = default;

  T& local() {
    std::unique_ptr<Slot>& s = slots_[t_worker_slot];
    if (!s) [[unlikely]] s = initial_ ? std::make_unique<Slot>(Slot{*initial_}) : std::make_unique<Slot>();
    return s->value;
  }
  // Calls f(const T&) for each slot in use, in slot order. Only between runs.
  template <class F>
  void each(F&& f) const {
    for (const auto& s : slots_)
      if (s) f(s->value);
  }
  // The total of one counter over the slots.
  template <class V>
  V sum(V T::*counter) const {
    V total{};
    each([&](const T& t) { total += t.*counter; });
    return total;
  }

 private:
  // A cache line of its own, so two workers' counters never share one.
  struct alignas(64) Slot {
    T value;
  };
  std::unique_ptr<T> initial_;
  std::array<std::unique_ptr<Slot>, kMaxWorkers> slots_{};
};

}  // namespace agentlog

// A fixed-size array of trivially copyable values that starts zeroed, for large state tables
// (the id indexes and rings of `collision` and `lifecycle`). Arrays of 2 MiB and more come
// straight from mmap, untouched until used, and ask for transparent huge pages: a table of
// a million keys then faults in 2 MiB at a time instead of 4 KiB (a 4 KiB fault cost ~13 µs
// on the benchmark VM), and a fresh one needs no memset. Freed ones go to HugePagePool, and
// an array that takes pooled pages zeroes its part of them.
#pragma once
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

// Under ASan, pooled memory is poisoned, so a use of a freed table is reported like a
// use-after-free of heap memory (mmap'd memory is otherwise always addressable).
#if defined(__SANITIZE_ADDRESS__)
#define AGENTLOG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AGENTLOG_ASAN 1
#endif
#endif
#ifdef AGENTLOG_ASAN
#include <sanitizer/asan_interface.h>
#define AGENTLOG_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define AGENTLOG_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define AGENTLOG_POISON(p, n) ((void)(p), (void)(n))
#define AGENTLOG_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace agentlog {

// Huge-page-aligned memory freed by a ZeroedArray, kept (up to kMaxBytes) for the next one
// instead of returned to the kernel: supplying a fresh 2 MiB huge page took the kernel
// 0.2-2.7 ms on the benchmark VM (zeroing it, often compacting memory first), zeroing a
// reused one ~0.1 ms. An index that doubles frees its old table while a ring grows: the ring
// then takes the old table's pages. A request takes the front of the first region that is
// large enough; the rest of the region stays pooled.
class HugePagePool {
 public:
  static constexpr size_t kMaxBytes = size_t{32} << 20;
  // `bytes` of pooled memory (2 MiB aligned), not zeroed; null when no region is that large.
  static void* take(size_t bytes) {
    State& st = state();
    std::lock_guard<std::mutex> lock(st.mu);
    for (size_t i = 0; i < st.regions.size(); ++i) {
      Region& r = st.regions[i];
      if (r.bytes < bytes) continue;
      char* p = r.p;
      r.p += bytes;
      r.bytes -= bytes;
      if (r.bytes == 0) st.regions.erase(st.regions.begin() + static_cast<std::ptrdiff_t>(i));
      st.pooled -= bytes;
      AGENTLOG_UNPOISON(p, bytes);
      return p;
    }
    return nullptr;
  }
  // Takes back `bytes` at `p` (2 MiB aligned, a whole number of huge pages), or unmaps them
  // when the pool is full.
  static void give(void* p, size_t bytes) {
    State& st = state();
    {
      std::lock_guard<std::mutex> lock(st.mu);
      if (st.pooled + bytes <= kMaxBytes) {
        AGENTLOG_POISON(p, bytes);
        st.regions.push_back({static_cast<char*>(p), bytes});
        st.pooled += bytes;
        return;
      }
    }
    ::munmap(p, bytes);
  }
  // Returns every pooled region to the kernel.
  static void clear() {
    State& st = state();
    std::lock_guard<std::mutex> lock(st.mu);
    for (const Region& r : st.regions) {
      AGENTLOG_UNPOISON(r.p, r.bytes);  // the shadow outlives munmap; a later mmap may reuse it
      ::munmap(r.p, r.bytes);
    }
    st.regions.clear();
    st.pooled = 0;
  }
  static size_t pooled_bytes() {
    State& st = state();
    std::lock_guard<std::mutex> lock(st.mu);
    return st.pooled;
  }

 private:
  struct Region {
    char* p;
    size_t bytes;
  };
  struct State {
    std::mutex mu;
    std::vector<Region> regions;
    size_t pooled = 0;
  };
  static State& state() {
    static State& st = *new State;  // never destroyed: arrays may be freed during exit
    return st;
  }
};

template <class T>
class ZeroedArray {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  ZeroedArray() = default;
  explicit ZeroedArray(size_t n) { allocate(n); }
  ZeroedArray(const ZeroedArray& o) : ZeroedArray(o.n_) {
    if (n_) std::memcpy(static_cast<void*>(p_), o.p_, n_ * sizeof(T));
  }
  ZeroedArray(ZeroedArray&& o) noexcept { swap(o); }
  ZeroedArray& operator=(ZeroedArray o) noexcept {
    swap(o);
    return *this;
  }
  ~ZeroedArray() { release(); }

  void swap(ZeroedArray& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    std::swap(mapped_, o.mapped_);
    std::swap(mapped_bytes_, o.mapped_bytes_);
  }

  T& operator[](size_t i) { return p_[i]; }
  const T& operator[](size_t i) const { return p_[i]; }
  T* begin() { return p_; }
  T* end() { return p_ + n_; }
  const T* begin() const { return p_; }
  const T* end() const { return p_ + n_; }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }

  // Reallocates to `n` elements, keeping the first `keep` (<= both sizes); the rest are zero.
  void resize_keep(size_t n, size_t keep) {
    ZeroedArray bigger(n);
    if (keep) std::memcpy(static_cast<void*>(bigger.p_), p_, keep * sizeof(T));
    swap(bigger);
  }

 private:
  static constexpr size_t kHugePage = size_t{2} << 20;
  static constexpr size_t kMapFrom = kHugePage;  // smaller arrays come from calloc

  void allocate(size_t n) {
    if (n == 0) return;
    size_t bytes = n * sizeof(T);
    if (bytes >= kMapFrom) {
      // Whole huge pages (a partial last one would fault in 4 KiB pages).
      size_t huge_bytes = (bytes + kHugePage - 1) & ~(kHugePage - 1);
      void* at = HugePagePool::take(huge_bytes);
      if (at) {
        std::memset(at, 0, bytes);
      } else {
        // Over-mapped by one huge page so the array can start on a 2 MiB boundary; the
        // unaligned ends are unmapped at once.
        size_t len = huge_bytes + kHugePage;
        void* mapped = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mapped == MAP_FAILED) throw std::bad_alloc();
        auto aligned = (reinterpret_cast<uintptr_t>(mapped) + kHugePage - 1) & ~(kHugePage - 1);
        auto m_end = reinterpret_cast<uintptr_t>(mapped) + len;
        if (aligned > reinterpret_cast<uintptr_t>(mapped))
          ::munmap(mapped, aligned - reinterpret_cast<uintptr_t>(mapped));
        if (m_end > aligned + huge_bytes)
          ::munmap(reinterpret_cast<void*>(aligned + huge_bytes), m_end - (aligned + huge_bytes));
        at = reinterpret_cast<void*>(aligned);
#ifdef MADV_HUGEPAGE
        ::madvise(at, huge_bytes, MADV_HUGEPAGE);  // a hint: failure is harmless
#endif
      }
      // The slack past the last element stays poisoned: an index past n_ is reported.
      AGENTLOG_POISON(static_cast<char*>(at) + bytes, huge_bytes - bytes);
      mapped_ = true;
      mapped_bytes_ = huge_bytes;
      p_ = static_cast<T*>(at);
    } else {
      p_ = static_cast<T*>(std::calloc(n, sizeof(T)));
      if (!p_) throw std::bad_alloc();
    }
    n_ = n;
  }
  void release() {
    if (mapped_) {
      AGENTLOG_UNPOISON(p_, mapped_bytes_);  // whole again: the pool poisons it, munmap needs it clean
      HugePagePool::give(p_, mapped_bytes_);
    } else {
      std::free(p_);
    }
    p_ = nullptr;
    mapped_ = false;
    n_ = mapped_bytes_ = 0;
  }

  T* p_ = nullptr;
  size_t n_ = 0;
  bool mapped_ = false;  // p_ is whole huge pages (mapped_bytes_), not from calloc
  size_t mapped_bytes_ = 0;
};

}  // namespace agentlog

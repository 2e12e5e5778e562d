// A fixed-size array of trivially copyable values that starts zeroed, for large state tables
// (the id indexes and rings of `collision` and `lifecycle`). Arrays of 2 MiB and more come
// straight from mmap, untouched until used, and ask for transparent huge pages: a table of
// a million keys then faults in 2 MiB at a time instead of 4 KiB (a 4 KiB fault cost ~13 µs
// on the benchmark VM), and growing it costs no memset.
#pragma once
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

namespace agentlog {

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
    std::swap(base_, o.base_);
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
      // Whole huge pages (a partial last one would fault in 4 KiB pages), over-mapped by one
      // so the array can start on a 2 MiB boundary.
      size_t huge_bytes = (bytes + kHugePage - 1) & ~(kHugePage - 1);
      size_t len = huge_bytes + kHugePage;
      void* m = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED) throw std::bad_alloc();
      auto at = (reinterpret_cast<uintptr_t>(m) + kHugePage - 1) & ~(kHugePage - 1);
#ifdef MADV_HUGEPAGE
      ::madvise(reinterpret_cast<void*>(at), huge_bytes, MADV_HUGEPAGE);  // a hint: failure is harmless
#endif
      base_ = m;
      mapped_bytes_ = len;
      p_ = reinterpret_cast<T*>(at);
    } else {
      p_ = static_cast<T*>(std::calloc(n, sizeof(T)));
      if (!p_) throw std::bad_alloc();
    }
    n_ = n;
  }
  void release() {
    if (base_) ::munmap(base_, mapped_bytes_);
    else std::free(p_);
    p_ = nullptr;
    base_ = nullptr;
    n_ = mapped_bytes_ = 0;
  }

  T* p_ = nullptr;
  size_t n_ = 0;
  void* base_ = nullptr;  // the mapping, when the array was mapped
  size_t mapped_bytes_ = 0;
};

}  // namespace agentlog

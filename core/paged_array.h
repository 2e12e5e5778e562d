// A growable array of trivially copyable values that starts zeroed, kept in chunks of one
// 2 MiB huge page each (ZeroedArray): growing past the first chunk adds a chunk and never
// copies or moves what is there. For the rings of `collision` and `lifecycle`, which fill
// slot by slot: doubling one contiguous array touched about twice the memory it kept (each
// copy lands on fresh pages), and fresh memory is what costs on the benchmark VM.
#pragma once
#include <algorithm>
#include <cstddef>
#include <vector>

#include "core/zeroed_array.h"

namespace agentlog {

template <class T>
class PagedArray {
  static_assert((sizeof(T) & (sizeof(T) - 1)) == 0, "a power-of-two size: chunks are whole huge pages");

 public:
  static constexpr size_t kChunk = (size_t{2} << 20) / sizeof(T);

  T& operator[](size_t i) { return chunks_[i / kChunk][i % kChunk]; }
  const T& operator[](size_t i) const { return chunks_[i / kChunk][i % kChunk]; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Makes at least [0, n) usable, for an array that never needs more than `cap` elements;
  // new elements are zero. Each chunk is one huge page (2 MiB resident from its first use,
  // taken in one page fault); only a `cap` below one chunk gets a smaller one.
  void grow_to(size_t n, size_t cap) {
    for (; size_ < n; size_ += chunks_.back().size()) chunks_.emplace_back(std::min(kChunk, cap));
  }

 private:
  std::vector<ZeroedArray<T>> chunks_;
  size_t size_ = 0;
};

}  // namespace agentlog

// A growable text buffer a writer can render into in place: ask for room, write, commit what
// was written. std::string cannot do that before C++23 (its resize zero-fills), so text built
// elsewhere had to be copied in. Used for the members a Record holds aside.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace agentlog {

class TextBuffer {
 public:
  TextBuffer() = default;
  TextBuffer(TextBuffer&& o) noexcept { swap(o); }
  TextBuffer& operator=(TextBuffer&& o) noexcept {
    TextBuffer(std::move(o)).swap(*this);
    return *this;
  }
  void swap(TextBuffer& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    std::swap(cap_, o.cap_);
  }

  bool empty() const { return n_ == 0; }
  size_t size() const { return n_; }
  size_t capacity() const { return cap_; }
  std::string_view view() const { return {p_.get(), n_}; }
  void clear() { n_ = 0; }
  void release() { TextBuffer().swap(*this); }

  // Room for `max` bytes after the text; commit(n) then takes the first n of them.
  char* room(size_t max) {
    if (cap_ - n_ < max) grow(n_ + max);
    return p_.get() + n_;
  }
  void commit(size_t n) { n_ += n; }

  void append(std::string_view s) {
    if (s.empty()) return;
    std::memcpy(room(s.size()), s.data(), s.size());
    n_ += s.size();
  }
  void push_back(char c) {
    *room(1) = c;
    ++n_;
  }

 private:
  void grow(size_t need) {
    size_t cap = std::max({need, cap_ * 2, size_t{256}});
    auto p = std::make_unique_for_overwrite<char[]>(cap);
    if (n_) std::memcpy(p.get(), p_.get(), n_);
    p_ = std::move(p);
    cap_ = cap;
  }

  std::unique_ptr<char[]> p_;
  size_t n_ = 0, cap_ = 0;
};

}  // namespace agentlog

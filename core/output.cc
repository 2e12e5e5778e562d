#include "core/output.h"

#include "core/integrity_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace agentlog {
namespace {
constexpr size_t kBuffer = 1 << 20;
}

FdOutput::FdOutput(std::string label, int fd, std::string path, bool append)
    : label_(std::move(label)), fd_(fd), path_(std::move(path)), append_(append) {
  buf_.reserve(kBuffer);
}

void FdOutput::set_integrity(std::unique_ptr<IntegrityLog> log) { integrity_ = std::move(log); }

FdOutput::~FdOutput() {
  if (opened_ && !path_.empty()) ::close(fd_);
}

Status FdOutput::open() {
  if (path_.empty()) return {};
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append_ ? O_APPEND : O_TRUNC);
  int fd = ::open(path_.c_str(), flags, 0644);
  if (fd < 0) return Status::error(path_ + ": cannot open for writing: " + std::strerror(errno));
  fd_ = fd;
  opened_ = true;
  struct stat st{};
  regular_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
  if (regular_ && append_) cut_partial_line();
  whole_end_ = regular_ ? ::lseek(fd_, 0, SEEK_END) : 0;
  if (integrity_) return integrity_->opened(fd_, whole_end_, false);
  return {};
}

Status FdOutput::reopen() {
  if (path_.empty()) return {};
  Status st = flush();
  if (!st.ok()) return st;
  // The old file's last lines get their checkpoint before it is left (rotation).
  if (integrity_) {
    if (st = integrity_->checkpoint(); !st.ok()) return st;
  }
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_APPEND, 0644);
  if (fd < 0) return Status::error(path_ + ": cannot reopen for writing: " + std::strerror(errno));
  if (opened_) ::close(fd_);
  fd_ = fd;
  opened_ = true;
  struct stat sb{};
  regular_ = ::fstat(fd_, &sb) == 0 && S_ISREG(sb.st_mode);
  if (regular_) cut_partial_line();
  whole_end_ = regular_ ? ::lseek(fd_, 0, SEEK_END) : 0;
  if (integrity_) return integrity_->opened(fd_, whole_end_, true);
  return {};
}

uint64_t cut_incomplete_last_line(const std::string& path, int write_fd) {
  // The output fd is write-only: read the tail through a second descriptor (a file we may
  // not read is left as it is).
  int rfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (rfd < 0) return 0;
  struct stat st{};
  char last = '\n';
  if (::fstat(rfd, &st) != 0 || st.st_size == 0 || ::pread(rfd, &last, 1, st.st_size - 1) != 1 || last == '\n') {
    ::close(rfd);
    return 0;
  }
  off_t end = st.st_size, keep = 0;
  char chunk[65536];
  while (end > 0) {
    off_t from = std::max<off_t>(0, end - static_cast<off_t>(sizeof chunk));
    ssize_t got = ::pread(rfd, chunk, static_cast<size_t>(end - from), from);
    if (got <= 0) break;
    const char* nl = static_cast<const char*>(::memrchr(chunk, '\n', static_cast<size_t>(got)));
    if (nl != nullptr) {
      keep = from + (nl - chunk) + 1;
      break;
    }
    end = from;
  }
  ::close(rfd);
  const uint64_t cut = static_cast<uint64_t>(st.st_size - keep);
  if (::ftruncate(write_fd, keep) != 0) {
    std::fprintf(stderr, "agentlog: warning: %s: ends with an incomplete line of %llu bytes that could not be cut: %s\n",
                 path.c_str(), static_cast<unsigned long long>(cut), std::strerror(errno));
    return 0;
  }
  std::fprintf(stderr,
               "agentlog: warning: %s: cut an incomplete last line of %llu bytes (an earlier write failed or was cut "
               "short); new lines follow the last whole line\n",
               path.c_str(), static_cast<unsigned long long>(cut));
  return cut;
}

void FdOutput::cut_partial_line() {
  if (const uint64_t cut = cut_incomplete_last_line(path_, fd_); cut > 0) {
    ++partial_lines_cut_;
    partial_bytes_cut_ += cut;
  }
}

ssize_t FdOutput::write_some(const char* p, size_t n) {
  if (enospc_after_ != UINT64_MAX) {
    if (enospc_after_ == 0) {
      errno = ENOSPC;
      return -1;
    }
    n = static_cast<size_t>(std::min<uint64_t>(n, enospc_after_));
  }
  ssize_t w = ::write(fd_, p, n);
  if (w > 0 && enospc_after_ != UINT64_MAX) enospc_after_ -= static_cast<uint64_t>(w);
  return w;
}

Status FdOutput::write_buffer() {
  size_t done = 0;
  int err = 0;
  while (done < buf_.size()) {
    ssize_t written = write_some(buf_.data() + done, buf_.size() - done);
    if (written < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    done += static_cast<size_t>(written);
  }
  if (err == 0) {
    whole_end_ += static_cast<int64_t>(buf_.size());
    if (integrity_) integrity_->commit(lines_in_buf_, whole_end_);
  } else {
    // Lines written in full stay; the torn one is cut so the file ends with a whole line.
    const char* nl = done > 0 ? static_cast<const char*>(::memrchr(buf_.data(), '\n', done)) : nullptr;
    const size_t keep = nl ? static_cast<size_t>(nl - buf_.data()) + 1 : 0;
    lines_lost_ += lines_in_buf_ - static_cast<uint64_t>(std::count(buf_.data(), buf_.data() + keep, '\n'));
    std::string msg = label_ + ": write failed: " + std::strerror(err);
    if (err == EPIPE) {
      msg += " (the reader closed the pipe)";
      pipe_closed_ = true;
    }
    if (regular_ && done > keep) {
      // Cut from the file's real end: another program may have truncated it since it was
      // opened (copytruncate), and cutting at our own count would then extend it with zeros.
      struct stat st{};
      const int64_t torn = static_cast<int64_t>(done - keep);
      if (::fstat(fd_, &st) == 0 && st.st_size >= torn) whole_end_ = st.st_size - torn;
      else whole_end_ += static_cast<int64_t>(keep);
      if (::ftruncate(fd_, whole_end_) != 0)
        msg += std::string("; the incomplete last line could not be cut: ") + std::strerror(errno);
    } else {
      whole_end_ += static_cast<int64_t>(keep);
    }
    // Only the lines that reached the file enter the tree.
    if (integrity_) integrity_->commit(static_cast<uint64_t>(std::count(buf_.data(), buf_.data() + keep, '\n')), whole_end_);
    failure_ = Status::error(msg);
  }
  buf_.clear();
  if (buf_.capacity() > 2 * kBuffer) {  // after a huge line
    buf_.shrink_to_fit();
    buf_.reserve(kBuffer);
  }
  lines_in_buf_ = 0;
  return failure_;
}

Status FdOutput::write_line(std::string_view line) { return write_pieces(line, {}, {}); }

Status FdOutput::write_record(Record& record) {
  Record::BytePieces p = record.byte_pieces();
  return write_pieces(p.head, p.held, p.tail, record.leaf_hash());
}

Status FdOutput::write_pieces(std::string_view head, std::string_view held, std::string_view tail,
                              const Record::LeafHash* leaf) {
  if (!failure_.ok()) {
    ++lines_lost_;
    return failure_;
  }
  size_t size = head.size() + held.size() + tail.size();
  if (!buf_.empty() && buf_.size() + size + 1 > kBuffer) {
    if (Status st = write_buffer(); !st.ok()) {
      ++lines_lost_;
      return st;
    }
  }
  buf_.append(head).append(held).append(tail);
  if (integrity_) {
    if (leaf) integrity_->add_pending_hash(*leaf);
    else integrity_->add_pending(std::string_view(buf_).substr(buf_.size() - size));
  }
  buf_.push_back('\n');
  ++lines_in_buf_;
  if (buf_.size() > kBuffer) return write_buffer();  // a line longer than the buffer
  return {};
}

Status FdOutput::flush() {
  if (!failure_.ok()) return failure_;
  if (!buf_.empty()) {
    if (Status st = write_buffer(); !st.ok()) return st;
  }
  return integrity_ ? integrity_->maybe_checkpoint() : Status();
}

Status FdOutput::close() {
  Status st = flush();
  // Also after a failed write: the lines that reached the file get their checkpoint.
  if (integrity_) {
    if (Status c = integrity_->checkpoint(true); st.ok()) st = c;
  }
  return st;
}

std::string FdOutput::stats_json() const {
  std::string out = "\"lines_failed\":" + std::to_string(lines_lost_);
  if (!path_.empty())
    out += ",\"partial_lines_cut\":" + std::to_string(partial_lines_cut_) +
           ",\"partial_bytes_cut\":" + std::to_string(partial_bytes_cut_);
  if (integrity_) out += "," + integrity_->stats_json();
  return out;
}

}  // namespace agentlog

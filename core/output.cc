#include "core/output.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace agentlog {
namespace {
constexpr size_t kBuffer = 1 << 20;
}

FdOutput::FdOutput(std::string label, int fd, std::string path, bool append)
    : label_(std::move(label)), fd_(fd), path_(std::move(path)), append_(append) {
  buf_.reserve(kBuffer);
}

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
  return {};
}

Status FdOutput::reopen() {
  if (path_.empty()) return {};
  Status st = flush();
  if (!st.ok()) return st;
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_APPEND, 0644);
  if (fd < 0) return Status::error(path_ + ": cannot reopen for writing: " + std::strerror(errno));
  if (opened_) ::close(fd_);
  fd_ = fd;
  opened_ = true;
  return {};
}

Status FdOutput::write_all(const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      std::string msg = label_ + ": write failed: " + std::strerror(errno);
      if (errno == EPIPE) {
        msg += " (the reader closed the pipe)";
        pipe_closed_ = true;
      }
      return Status::error(msg);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return {};
}

Status FdOutput::write_line(std::string_view line) {
  if (buf_.size() + line.size() + 1 > kBuffer) {
    Status st = flush();
    if (!st.ok()) return st;
  }
  if (line.size() + 1 > kBuffer) {
    Status st = write_all(line.data(), line.size());
    if (!st.ok()) return st;
    return write_all("\n", 1);
  }
  buf_.append(line);
  buf_.push_back('\n');
  return {};
}

Status FdOutput::flush() {
  if (buf_.empty()) return {};
  Status st = write_all(buf_.data(), buf_.size());
  buf_.clear();
  return st;
}

}  // namespace agentlog

// Line outputs over file descriptors: stdout, stderr, and files opened for append
// (reopened on SIGHUP for logrotate). Writes are buffered and flushed per batch.
#pragma once
#include <string>

#include "core/plugin.h"

namespace agentlog {

class FdOutput : public Output {
 public:
  // path empty: use `fd` (stdout/stderr). Otherwise open `path`.
  FdOutput(std::string label, int fd, std::string path, bool append);
  ~FdOutput() override;
  Status open() override;
  Status write_line(std::string_view line) override;
  Status flush() override;
  Status reopen() override;
  std::string describe() const override { return label_; }
  // A write failed with EPIPE: the reader of this pipe went away (exit code 3).
  bool pipe_closed() const { return pipe_closed_; }

 private:
  Status write_all(const char* p, size_t n);
  std::string label_;
  int fd_;
  std::string path_;
  bool append_;
  bool opened_ = false;
  bool pipe_closed_ = false;
  std::string buf_;
};

}  // namespace agentlog

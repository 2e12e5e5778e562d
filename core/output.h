// Line outputs over file descriptors: stdout, stderr, and files opened for append
// (reopened on SIGHUP for logrotate). Writes are buffered and flushed per batch.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "core/plugin.h"

namespace agentlog {
class IntegrityLog;
}

namespace agentlog {

// A file whose last line is incomplete (a writer stopped mid-line: a failed write, a crash)
// is cut back to its last newline through `write_fd`, with a warning on stderr naming
// `path`, so the next line does not join it. Returns the bytes cut (0: none, or not cut).
uint64_t cut_incomplete_last_line(const std::string& path, int write_fd);

class FdOutput : public Output {
 public:
  // path empty: use `fd` (stdout/stderr). Otherwise open `path`.
  FdOutput(std::string label, int fd, std::string path, bool append);
  ~FdOutput() override;
  Status open() override;
  Status write_line(std::string_view line) override;
  // Copies the record's bytes into the buffer in pieces (Record::byte_pieces): members held
  // aside by the stages are joined here, in the one copy the line gets anyway.
  Status write_record(Record& record) override;
  Status flush() override;
  Status reopen() override;
  std::string describe() const override { return label_; }
  uint64_t lines_lost() const override { return lines_lost_; }
  std::string stats_json() const override;
  // A write failed with EPIPE: the reader of this pipe went away (exit code 3).
  bool pipe_closed() const { return pipe_closed_; }
  // Test hook: after `bytes` more bytes, writes come up short and then fail with ENOSPC,
  // as on a full disk.
  void inject_enospc_after(uint64_t bytes) { enospc_after_ = bytes; }
  // `integrity:` (core/integrity_log.h): the written lines feed a signed Merkle log.
  void set_integrity(std::unique_ptr<IntegrityLog> log);
  bool wants_leaf_hashes() const override { return integrity_ != nullptr; }
  Status close() override;

 private:
  ssize_t write_some(const char* p, size_t n);
  Status write_pieces(std::string_view head, std::string_view held, std::string_view tail,
                      const Record::LeafHash* leaf = nullptr);
  // Writes buf_ out; on failure cuts the file back to its last whole line.
  Status write_buffer();
  // A file whose last line is incomplete (an earlier run failed mid-write) is cut back to
  // its last newline, with a warning on stderr, so the next line does not join it.
  void cut_partial_line();
  std::string label_;
  int fd_;
  std::string path_;
  bool append_;
  bool opened_ = false;
  bool pipe_closed_ = false;
  // A regular file: a failed write can be cut back to whole_end_, the offset just past the
  // last whole line written.
  bool regular_ = false;
  int64_t whole_end_ = 0;
  std::string buf_;
  uint64_t lines_in_buf_ = 0;
  // After a failed write every later write fails too (lines_lost_ counts them).
  Status failure_;
  uint64_t lines_lost_ = 0;
  uint64_t partial_lines_cut_ = 0, partial_bytes_cut_ = 0;
  uint64_t enospc_after_ = UINT64_MAX;
  std::unique_ptr<IntegrityLog> integrity_;
};

}  // namespace agentlog

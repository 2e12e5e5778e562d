// Progress on stderr for long checks, only when stderr is a TTY: records, MB/s and, when the
// inputs are uncompressed files of known size, the ETA. Redrawn at most twice a second,
// first after one second, and erased at the end.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace agentlog {
struct RunStats;
}

namespace agentlog::check {

class Progress {
 public:
  // total_bytes 0: unknown (stdin, compressed input).
  Progress(bool enabled, uint64_t total_bytes);
  void update(const RunStats& stats);
  void done();

 private:
  bool enabled_;
  uint64_t total_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

// Sum of the sizes of uncompressed regular files; 0 when any input's size is unknown.
uint64_t known_input_bytes(const std::vector<std::string>& paths);

}  // namespace agentlog::check

#include "check/progress.h"

#include <sys/stat.h>

#include <cstdio>
#include <vector>

#include "core/pipeline.h"

namespace agentlog::check {

Progress::Progress(bool enabled, uint64_t total_bytes)
    : enabled_(enabled), total_(total_bytes), start_(std::chrono::steady_clock::now()), last_(start_) {}

void Progress::update(const RunStats& s) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - start_ < std::chrono::seconds(1) || now - last_ < std::chrono::milliseconds(500)) return;
  last_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  uint64_t bytes = 0;
  for (const auto& src : s.sources) bytes += src.bytes;  // updated as each buffer is read
  double mbs = static_cast<double>(bytes) / 1e6 / secs;
  char line[160];
  int len = std::snprintf(line, sizeof line, "\r\x1b[Kagentlog check: %llu records, %.1f MB/s",
                          static_cast<unsigned long long>(s.records_in), mbs);
  if (total_ > 0 && bytes > 0 && bytes <= total_) {
    double eta = secs * static_cast<double>(total_ - bytes) / static_cast<double>(bytes);
    len += std::snprintf(line + len, sizeof line - len, ", %.0f%%, ETA %.0fs",
                         100.0 * static_cast<double>(bytes) / static_cast<double>(total_), eta);
  }
  std::fwrite(line, 1, static_cast<size_t>(len), stderr);
  std::fflush(stderr);
  shown_ = true;
}

void Progress::done() {
  if (!shown_) return;
  std::fputs("\r\x1b[K", stderr);
  std::fflush(stderr);
}

uint64_t known_input_bytes(const std::vector<std::string>& paths) {
  uint64_t total = 0;
  for (const auto& p : paths) {
    if (p == "-" || p.ends_with(".gz") || p.ends_with(".zst") || p.ends_with(".zstd")) return 0;
    struct stat st;
    if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    total += static_cast<uint64_t>(st.st_size);
  }
  return total;
}

}  // namespace agentlog::check

// The `integrity:` option of file outputs: a Merkle tree over the lines written (see
// core/merkle.h), signed checkpoints appended to <path>.checkpoints, and a resume state in
// <path>.checkpoints.state so a later run (also after a crash or a rotation) continues the
// same tree. docs/integrity.md describes the formats and the threat model.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/merkle.h"
#include "core/signed_note.h"
#include "core/status.h"

namespace agentlog {

struct IntegritySettings {
  std::string origin;  // empty: host name + absolute output path
  uint64_t every_records = 1000;
  int64_t every_ms = 1000;  // 0: by count and at close only
  std::shared_ptr<const note::Signer> signer;
};

// "host/abs/path" for an output path.
std::string default_origin(const std::string& path);

class IntegrityLog {
 public:
  IntegrityLog(std::string path, IntegritySettings settings);
  // The output opened (reopen: after SIGHUP) `path`, whose whole lines end at `file_end`.
  // Continues the tree from the state and the last checkpoint.
  Status opened(int fd, int64_t file_end, bool reopen);
  // A line handed to the output (hashed now; in the tree once written).
  void add_pending(std::string_view line) { pending_.push_back(merkle::leaf_hash(line)); }
  // The same with the leaf hash already worked out (Record::leaf_hash).
  void add_pending_hash(const merkle::Hash& leaf) { pending_.push_back(leaf); }
  // The first `lines` pending lines are in the file, which now ends at `file_end`; the
  // other pending lines were never written.
  void commit(uint64_t lines, int64_t file_end);
  // A checkpoint when checkpoint_every_records lines or checkpoint_every_ms passed.
  Status maybe_checkpoint();
  // A checkpoint unless the last one already states this size; `closing` marks a clean end.
  Status checkpoint(bool closing = false);
  uint64_t size() const { return tree_.size(); }
  std::string stats_json() const;

 private:
  Status write_state(bool closing);
  // Appends the whole lines of `file` between the byte offsets to the tree; with `last`, the
  // root at its size must be its root.
  Status cover_lines(const std::string& file, int64_t from, int64_t end, const note::Checkpoint* last,
                     uint64_t& covered);
  std::string path_, checkpoints_path_, state_path_;
  IntegritySettings settings_;
  merkle::Frontier tree_;
  std::vector<merkle::Hash> pending_;
  uint64_t checkpointed_size_ = 0;
  bool any_checkpoint_ = false;
  int64_t file_offset_ = 0;  // bytes of the current file in the tree
  uint64_t file_dev_ = 0, file_ino_ = 0;
  std::chrono::steady_clock::time_point last_checkpoint_time_ = std::chrono::steady_clock::now();
  uint64_t checkpoints_written_ = 0, lines_recovered_ = 0;
};

}  // namespace agentlog

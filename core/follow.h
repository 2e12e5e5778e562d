// Follow mode (`follow: true` on the file input): files are read like `tail -F`, through
// rotation by rename and by copytruncate, and their read offsets are kept in a checkpoint
// file so that a restart resumes where the flushed output ends (at-least-once).
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "core/input.h"
#include "core/plugin.h"
#include "core/status.h"

namespace agentlog {

// Where one file identity was read up to. `offset` is the byte after the last line whose
// record reached the flushed outputs; `line` is that line's number in the file.
struct CheckpointEntry {
  std::string path;
  uint64_t dev = 0, inode = 0;
  uint64_t offset = 0, line = 0;
  // SHA-256 of the file's first head_bytes bytes (min(offset, 1024)): a reused inode
  // with other content is read from its start.
  uint64_t head_bytes = 0;
  std::string head_sha256;
  bool in_long_line = false;  // offset is inside an over-long line: skip to its newline
};

// One stage's state (Stage::save_state), saved under the stage's name.
struct SavedStageState {
  std::string type;    // the stage's plugin
  std::string config;  // Stage::state_config() when it was saved
  std::string state;   // the state, a JSON value
  bool operator==(const SavedStageState&) const = default;
};

// The checkpoint file: one JSON object {"version":1,"files":[...]}, or with stage state
// {"version":2,"files":[...],"stages":{NAME:{"type","config","state"}}}, replaced
// atomically (temporary file in the same directory, then rename).
class Checkpoint {
 public:
  explicit Checkpoint(std::string path) : path_(std::move(path)) {}
  // A missing file is an empty checkpoint; an unreadable or invalid one is an error.
  Status load();
  Status save();
  const CheckpointEntry* find(uint64_t dev, uint64_t inode) const;
  const CheckpointEntry* find_path(const std::string& path) const {
    auto it = entries_.find(path);
    return it == entries_.end() ? nullptr : &it->second;
  }
  // Entries are keyed by the followed path: one current identity per path.
  void set(const CheckpointEntry& e) { entries_[e.path] = e; }
  const std::string& path() const { return path_; }
  // Stage state by stage name (written with the offsets, so the two always agree).
  const std::map<std::string, SavedStageState>& stages() const { return stages_; }
  void set_stages(std::map<std::string, SavedStageState> s) { stages_ = std::move(s); }

 private:
  std::string path_;
  std::map<std::string, CheckpointEntry> entries_;
  std::map<std::string, SavedStageState> stages_;
};

// One followed path: the file currently open under it and its line reader.
class FollowedFile {
 public:
  FollowedFile(SourceSpec spec, Checkpoint* checkpoint) : spec_(std::move(spec)), checkpoint_(checkpoint) {}
  ~FollowedFile();
  FollowedFile(const FollowedFile&) = delete;
  FollowedFile& operator=(const FollowedFile&) = delete;

  const SourceSpec& spec() const { return spec_; }
  // Opens the path when no file is open. `first` is the start of the run: a file found in
  // the checkpoint resumes there, others start at `start_at`; later files (after a
  // rotation, or created after the start) are read from their beginning. A path that
  // does not exist yet is not an error (reader() stays null).
  Status try_open(bool first);
  LineReader* reader() { return reader_.get(); }
  // The reader found no new bytes at its last refill (set and cleared by the pipeline).
  bool idle = false;

  enum class Change : uint8_t { None, Truncated, Rotated };
  // Called when the reader had read everything there was: has the path been rotated
  // (another inode is there now) or the file truncated (smaller than what was read, or
  // its first bytes differ)? On a rotation, files rotated after ours (two renames within
  // one poll interval) are queued to be read after it; see find_rotated_after.
  Change check();
  // Rotation: read the old file to its end, then end the reader.
  void drain() {
    source_->drain();
    pending_ = Change::Rotated;
  }
  // Truncation: end the reader now (it still returns the partial line it holds).
  void cut() {
    source_->close();
    pending_ = Change::Truncated;
  }
  Change pending_change() const { return pending_; }
  // After the reader reported its end: closes the file, or for a truncation restarts it
  // from byte 0 on the same descriptor.
  void reader_ended(Change why);

  // The byte after the last line returned by the reader, and that line's number.
  uint64_t consumed_offset() const { return reader_ ? base_offset_ + reader_->bytes_read() - reader_->unconsumed() : 0; }
  // Records the consumed position in the checkpoint (call only after the outputs have
  // flushed). Returns true when it changed.
  bool store_checkpoint();
  // Lines and bytes read in this run, over all identities (for the stats).
  uint64_t lines_read() const { return lines_done_ + (reader_ ? reader_->lines() - base_line_ : 0); }
  uint64_t bytes_read() const { return bytes_done_ + (reader_ ? reader_->bytes_read() : 0); }

 private:
  void start_reader(uint64_t offset, uint64_t line, bool in_long_line);
  void close_file();
  // A file rotated away that still has lines to read, opened when it was found.
  struct Rotated {
    int fd;
    uint64_t dev, inode;
    uint64_t offset = 0, line = 0;
    bool in_long_line = false;
    // The file at the path when the rotation was seen, opened then: a third rename before
    // the old files are read cannot hide it.
    bool live = false;
  };
  // Looks for the file (dev, inode) under the rotated names PATH.1, PATH.2, ... and queues
  // the files with lower numbers (rotated after it, so newer) that are not `skip_inode`
  // (the file now at PATH). Warns about a number in between that is missing (removed or
  // compressed before it was read). Returns false when the file is not among them.
  bool find_rotated_after(uint64_t dev, uint64_t inode, uint64_t skip_inode);
  // Reads the next queued file: a rotated one to its end (drain), the live one as followed.
  bool start_next_rotated();

  SourceSpec spec_;
  Checkpoint* checkpoint_;
  int fd_ = -1;
  uint64_t dev_ = 0, inode_ = 0;
  FollowFileSource* source_ = nullptr;  // owned by reader_
  std::unique_ptr<LineReader> reader_;
  uint64_t base_offset_ = 0, base_line_ = 0;
  uint64_t lines_done_ = 0, bytes_done_ = 0;
  uint64_t stored_offset_ = UINT64_MAX;
  uint64_t stored_dev_ = 0, stored_inode_ = 0;
  Change pending_ = Change::None;
  uint64_t head_cached_ = UINT64_MAX;  // head_bytes that head_sha_ covers
  std::string head_sha_;
  std::string head_;  // the file's first bytes as read, to notice truncate-and-rewrite
  std::deque<Rotated> rotated_;  // read in order before the file at the path
};

}  // namespace agentlog

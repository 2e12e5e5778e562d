#include "core/follow.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <simdjson.h>

#include "core/hashing.h"
#include "core/json_text.h"

namespace agentlog {
namespace {

constexpr uint64_t kHeadBytes = 1024;  // hashed into the checkpoint
constexpr uint64_t kHeadKeep = 256;    // compared at each idle check to notice a rewrite

// SHA-256 of the first n bytes of fd (fewer if the file is shorter now).
std::string head_hash(int fd, uint64_t n) {
  std::string buf(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, buf.data() + got, n - got, static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  buf.resize(got);
  return sha256_hex(buf);
}

std::string read_head(int fd, uint64_t n) {
  std::string buf(n, '\0');
  ssize_t r = ::pread(fd, buf.data(), n, 0);
  buf.resize(r > 0 ? static_cast<size_t>(r) : 0);
  return buf;
}

}  // namespace

Status Checkpoint::load() {
  std::ifstream file(path_, std::ios::binary);
  if (!file) {
    if (errno == ENOENT) return {};
    return Status::error("checkpoint " + path_ + ": cannot read: " + std::strerror(errno));
  }
  std::stringstream text_stream;
  text_stream << file.rdbuf();
  std::string text = text_stream.str();
  auto bad = [&](std::string why) {
    return Status::error("checkpoint " + path_ + ": not a valid checkpoint file (" + why +
                         "); remove it to read the followed files from the start");
  };
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(text).get(root)) return bad(simdjson::error_message(err));
  simdjson::dom::array files;
  int64_t version = 0;
  if (root["version"].get(version) || (version != 1 && version != 2)) return bad("\"version\" must be 1 or 2");
  if (root["files"].get(files)) return bad("\"files\" must be a list");
  for (simdjson::dom::element item : files) {
    CheckpointEntry entry;
    std::string_view path, head;
    if (item["path"].get(path) || item["dev"].get(entry.dev) || item["inode"].get(entry.inode) ||
        item["offset"].get(entry.offset) || item["line"].get(entry.line) || item["head_bytes"].get(entry.head_bytes) ||
        item["head_sha256"].get(head))
      return bad("each file needs path, dev, inode, offset, line, head_bytes and head_sha256");
    bool skip = false;
    if (item["in_long_line"].get(skip) == simdjson::INCORRECT_TYPE) return bad("\"in_long_line\" must be a boolean");
    entry.path = path;
    entry.head_sha256 = head;
    entry.in_long_line = skip;
    entries_[entry.path] = std::move(entry);
  }
  simdjson::dom::element stages;
  if (root["stages"].get(stages) == simdjson::SUCCESS) {
    simdjson::dom::object obj;
    if (version != 2 || stages.get(obj)) return bad("\"stages\" must be an object, in version 2");
    for (auto [name, item] : obj) {
      SavedStageState saved;
      std::string_view type, config;
      simdjson::dom::element state;
      if (item["type"].get(type) || item["config"].get(config) || item["state"].get(state))
        return bad("each stage needs type, config and state");
      saved.type = type;
      saved.config = config;
      saved.state = simdjson::minify(state);
      stages_[std::string(name)] = std::move(saved);
    }
  }
  return {};
}

Status Checkpoint::save() {
  std::string contents = stages_.empty() ? "{\"version\":1,\"files\":[" : "{\"version\":2,\"files\":[";
  bool first = true;
  for (auto& [path, e] : entries_) {
    if (!first) contents += ",";
    first = false;
    contents += "\n{\"path\":";
    json::append_quoted(contents, e.path);
    contents += ",\"dev\":" + std::to_string(e.dev) + ",\"inode\":" + std::to_string(e.inode) +
                ",\"offset\":" + std::to_string(e.offset) + ",\"line\":" + std::to_string(e.line) +
                ",\"head_bytes\":" + std::to_string(e.head_bytes) + ",\"head_sha256\":\"" + e.head_sha256 + "\"";
    if (e.in_long_line) contents += ",\"in_long_line\":true";
    contents += "}";
  }
  contents += "]";
  if (!stages_.empty()) {
    contents += ",\n\"stages\":{";
    first = true;
    for (auto& [name, st] : stages_) {
      contents += first ? "\n" : ",\n";
      first = false;
      json::append_quoted(contents, name);
      contents += ":{\"type\":";
      json::append_quoted(contents, st.type);
      contents += ",\"config\":";
      json::append_quoted(contents, st.config);
      contents += ",\"state\":" + st.state + "}";
    }
    contents += "}";
  }
  contents += "}\n";
  // Write a temporary file next to it, then rename: a reader (or a restart after a kill)
  // sees the old checkpoint or the new one, never a partial one.
  std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::error("checkpoint " + tmp + ": cannot open for writing: " + std::strerror(errno));
  const char* next = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    ssize_t written = ::write(fd, next, left);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) {
      std::string msg = "checkpoint " + tmp + ": write failed: " + std::strerror(errno);
      ::close(fd);
      return Status::error(msg);
    }
    next += written;
    left -= static_cast<size_t>(written);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path_.c_str()) != 0)
    return Status::error("checkpoint " + path_ + ": cannot replace: " + std::strerror(errno));
  return {};
}

const CheckpointEntry* Checkpoint::find(uint64_t dev, uint64_t inode) const {
  for (auto& [path, e] : entries_)
    if (e.dev == dev && e.inode == inode) return &e;
  return nullptr;
}

FollowedFile::~FollowedFile() {
  close_file();
  for (Rotated& r : rotated_) ::close(r.fd);
}

bool FollowedFile::find_rotated_after(uint64_t dev, uint64_t inode, uint64_t skip_inode) {
  // logrotate's numbered names; beyond kMaxRotated nobody keeps uncompressed copies.
  constexpr int kMaxRotated = 64;
  // inodes[k - 1]: the file at PATH.k (0: none) up to ours. A rotation may be renaming the
  // chain while we look (a file seen twice, a gap that is not one): look until two looks
  // agree, then open those files and check they are still the ones seen.
  auto look = [&](std::vector<uint64_t>& inodes) {
    inodes.clear();
    for (int suffix = 1; suffix <= kMaxRotated; ++suffix) {
      struct stat file_info {};
      const std::string name = spec_.path + "." + std::to_string(suffix);
      const bool file = ::stat(name.c_str(), &file_info) == 0 && S_ISREG(file_info.st_mode);
      if (file && static_cast<uint64_t>(file_info.st_dev) == dev && static_cast<uint64_t>(file_info.st_ino) == inode)
        return true;
      inodes.push_back(file ? static_cast<uint64_t>(file_info.st_ino) : 0);
      if (suffix > 1 && inodes[suffix - 1] == 0 && inodes[suffix - 2] == 0) return false;  // two gaps: the chain ended
    }
    return false;
  };
  // A file renamed between the look and its open (its inode is not the one seen) makes the
  // whole search start again, so that no file is skipped.
  const size_t queued_before = rotated_.size();
  for (int attempt = 0;; ++attempt) {
    std::vector<uint64_t> seen, again;
    bool found = look(seen);
    for (int tries = 0; tries < 20; ++tries) {
      const bool found_again = look(again);
      if (found_again == found && again == seen) break;
      found = found_again;
      seen.swap(again);
    }
    if (!found) return false;
    bool moved = false;
    std::vector<uint64_t> queued;
    std::vector<std::string> vanished;
    for (int suffix = static_cast<int>(seen.size()); suffix >= 1 && !moved; --suffix) {  // oldest first
      const uint64_t ino = seen[suffix - 1];
      const std::string name = spec_.path + "." + std::to_string(suffix);
      if (ino == 0) {
        vanished.push_back(name);
        continue;
      }
      if (ino == skip_inode || std::find(queued.begin(), queued.end(), ino) != queued.end()) continue;
      int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
      struct stat file_info {};
      if (fd >= 0 && ::fstat(fd, &file_info) == 0 && static_cast<uint64_t>(file_info.st_ino) == ino) {
        rotated_.push_back({fd, static_cast<uint64_t>(file_info.st_dev), ino});
        queued.push_back(ino);
      } else {
        if (fd >= 0) ::close(fd);
        moved = true;
      }
    }
    if (moved && attempt < 5) {
      while (rotated_.size() > queued_before) {
        ::close(rotated_.back().fd);
        rotated_.pop_back();
      }
      continue;
    }
    for (const std::string& name : vanished)
      std::fprintf(stderr,
                   "agentlog: warning: %s: %s vanished before it was read (removed or compressed between two "
                   "checks); its lines are lost\n",
                   spec_.path.c_str(), name.c_str());
    return true;
  }
}

bool FollowedFile::start_next_rotated() {
  if (rotated_.empty()) return false;
  Rotated r = rotated_.front();
  rotated_.pop_front();
  fd_ = r.fd;
  dev_ = r.dev;
  inode_ = r.inode;
  start_reader(r.offset, r.line, r.in_long_line);
  if (!r.live) drain();  // it was renamed away: read it to its end, then go on
  return true;
}

void FollowedFile::close_file() {
  reader_.reset();
  source_ = nullptr;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void FollowedFile::start_reader(uint64_t offset, uint64_t line, bool in_long_line) {
  ::lseek(fd_, static_cast<off_t>(offset), SEEK_SET);
  auto src = std::make_unique<FollowFileSource>(fd_);
  source_ = src.get();
  reader_ = std::make_unique<LineReader>(std::move(src), spec_.max_line_bytes);
  if (offset > 0) reader_->resume(line, in_long_line);
  base_offset_ = offset;
  base_line_ = line;
  pending_ = Change::None;
  idle = false;
  head_cached_ = UINT64_MAX;
  head_.clear();
}

Status FollowedFile::try_open(bool first) {
  if (fd_ >= 0) return {};
  // The file of the checkpoint was renamed away while agentlog was not running: read the
  // rest of it under its rotated name, then the files rotated after it, then the path.
  const CheckpointEntry* last = first && checkpoint_ ? checkpoint_->find_path(spec_.path) : nullptr;
  struct stat now{};
  const bool exists = ::stat(spec_.path.c_str(), &now) == 0;
  if (last && (!exists || now.st_dev != last->dev || now.st_ino != last->inode)) {
    const size_t before = rotated_.size();
    // The file now at the path is opened first, as check() does: a rotation while the
    // backlog is read must not hide it behind a newer file at the path.
    int live_fd = exists && S_ISREG(now.st_mode) ? ::open(spec_.path.c_str(), O_RDONLY | O_CLOEXEC) : -1;
    struct stat live{};
    if (live_fd >= 0 && (::fstat(live_fd, &live) != 0 || !S_ISREG(live.st_mode))) {
      ::close(live_fd);
      live_fd = -1;
    }
    const bool found = find_rotated_after(last->dev, last->inode, live_fd >= 0 ? live.st_ino : exists ? now.st_ino : 0);
    if (found && live_fd >= 0) {
      Rotated rotated{live_fd, static_cast<uint64_t>(live.st_dev), static_cast<uint64_t>(live.st_ino), 0, 0, false,
                      true};
      const CheckpointEntry* entry = checkpoint_->find(rotated.dev, rotated.inode);
      if (entry && entry->offset <= static_cast<uint64_t>(live.st_size) &&
          head_hash(live_fd, entry->head_bytes) == entry->head_sha256) {
        rotated.offset = entry->offset;
        rotated.line = entry->line;
        rotated.in_long_line = entry->in_long_line;
      }
      rotated_.push_back(rotated);
    } else if (live_fd >= 0) {
      ::close(live_fd);  // opened again below, with the first-open rules (start_at)
    }
    if (found) {
      // The checkpoint's file itself goes first, from its offset, if it is still the same file.
      std::string name;
      for (int suffix = 1; suffix <= 64 && name.empty(); ++suffix) {
        std::string candidate = spec_.path + "." + std::to_string(suffix);
        struct stat file_info {};
        if (::stat(candidate.c_str(), &file_info) == 0 && file_info.st_dev == last->dev &&
            file_info.st_ino == last->inode)
          name = candidate;
      }
      int fd = name.empty() ? -1 : ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
      struct stat file_info {};
      if (fd >= 0 && ::fstat(fd, &file_info) == 0 && file_info.st_ino == last->inode &&
          static_cast<uint64_t>(file_info.st_size) >= last->offset &&
          head_hash(fd, last->head_bytes) == last->head_sha256) {
        rotated_.insert(rotated_.begin() + static_cast<std::ptrdiff_t>(before),
                        Rotated{fd, last->dev, last->inode, last->offset, last->line, last->in_long_line});
      } else if (fd >= 0) {
        ::close(fd);
      }
    } else {
      std::fprintf(stderr,
                   "agentlog: warning: %s: the file of the checkpoint (inode %llu, read to byte %llu) is gone and "
                   "not found as %s.N; lines written to it after that may be lost\n",
                   spec_.path.c_str(), static_cast<unsigned long long>(last->inode),
                   static_cast<unsigned long long>(last->offset), spec_.path.c_str());
    }
    if (start_next_rotated()) return {};
  }
  int fd = ::open(spec_.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return {};  // waited for: tried again at every poll
    return Status::error(spec_.path + ": cannot open: " + std::strerror(errno));
  }
  struct stat file_info;
  if (::fstat(fd, &file_info) != 0 || !S_ISREG(file_info.st_mode)) {
    ::close(fd);
    return Status::error(spec_.path + ": follow mode reads regular files only");
  }
  fd_ = fd;
  dev_ = file_info.st_dev;
  inode_ = file_info.st_ino;
  uint64_t size = static_cast<uint64_t>(file_info.st_size);
  const CheckpointEntry* entry = checkpoint_ ? checkpoint_->find(dev_, inode_) : nullptr;
  if (entry && entry->offset <= size && head_hash(fd_, entry->head_bytes) == entry->head_sha256) {
    start_reader(entry->offset, entry->line, entry->in_long_line);
  } else if (first && spec_.start_at_end && !entry) {
    // Start after the last complete line, counting lines so that numbers stay real.
    uint64_t lines = 0, after_nl = 0, pos = 0;
    std::string buf(1 << 20, '\0');
    for (;;) {
      ssize_t got = ::pread(fd_, buf.data(), buf.size(), static_cast<off_t>(pos));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      for (ssize_t i = 0; i < got; ++i)
        if (buf[i] == '\n') {
          ++lines;
          after_nl = pos + i + 1;
        }
      pos += static_cast<uint64_t>(got);
    }
    start_reader(after_nl, lines, false);
  } else {
    start_reader(0, 0, false);  // new, truncated below the checkpoint, or another file on a reused inode
  }
  return {};
}

FollowedFile::Change FollowedFile::check() {
  if (!reader_) return Change::None;
  uint64_t pos = base_offset_ + reader_->bytes_read();
  struct stat file_info;
  if (::fstat(fd_, &file_info) == 0 && static_cast<uint64_t>(file_info.st_size) < pos) return Change::Truncated;
  // A truncated file that grew past our position again before this check: its first
  // bytes are not the ones we read (kept in memory only, never in the checkpoint).
  if (pos > 0) {
    std::string now = read_head(fd_, std::min(pos, kHeadKeep));
    if (now.compare(0, head_.size(), head_) != 0) return Change::Truncated;
    head_ = std::move(now);
  }
  if (::stat(spec_.path.c_str(), &file_info) == 0 && (file_info.st_dev != dev_ || file_info.st_ino != inode_)) {
    if (!rotated_.empty()) return Change::Rotated;
    int fd = ::open(spec_.path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat now{};
    if (fd >= 0 && (::fstat(fd, &now) != 0 || !S_ISREG(now.st_mode))) {
      ::close(fd);
      fd = -1;
    }
    find_rotated_after(dev_, inode_, fd >= 0 ? now.st_ino : file_info.st_ino);
    if (fd >= 0) rotated_.push_back({fd, static_cast<uint64_t>(now.st_dev), static_cast<uint64_t>(now.st_ino), 0, 0, false, true});
    return Change::Rotated;
  }
  return Change::None;
}

void FollowedFile::reader_ended(Change why) {
  lines_done_ += reader_->lines() - base_line_;
  bytes_done_ += reader_->bytes_read();
  if (why == Change::Truncated) {
    start_reader(0, 0, false);
    return;
  }
  close_file();
  start_next_rotated();
}

bool FollowedFile::store_checkpoint() {
  if (!checkpoint_ || !reader_) return false;
  uint64_t off = consumed_offset();
  if (off == stored_offset_ && dev_ == stored_dev_ && inode_ == stored_inode_) return false;
  CheckpointEntry e;
  e.path = spec_.path;
  e.dev = dev_;
  e.inode = inode_;
  e.offset = off;
  e.line = reader_->lines();
  e.in_long_line = reader_->skipping();
  e.head_bytes = std::min(off, kHeadBytes);
  if (e.head_bytes != head_cached_) {
    head_sha_ = head_hash(fd_, e.head_bytes);
    head_cached_ = e.head_bytes;
  }
  e.head_sha256 = head_sha_;
  checkpoint_->set(e);
  stored_offset_ = off;
  stored_dev_ = dev_;
  stored_inode_ = inode_;
  return true;
}

}  // namespace agentlog

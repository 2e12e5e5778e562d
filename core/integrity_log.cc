#include "core/integrity_log.h"

#include "core/output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace agentlog {
namespace {

constexpr std::string_view kStateMagic = "agentlog integrity state 1";

bool read_file(const std::string& path, std::string& out, bool& exists) {
  std::ifstream f(path, std::ios::binary);
  exists = static_cast<bool>(f);
  if (!f) return errno == ENOENT;
  std::stringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t w = ::write(fd, data.data(), data.size());
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Status::error(path + ": cannot write: " + std::strerror(errno));
    data.remove_prefix(static_cast<size_t>(w));
  }
  return {};
}

struct State {
  uint64_t size = 0;
  int64_t offset = 0;
  uint64_t dev = 0, ino = 0;
  bool closed = false;
  std::vector<merkle::Hash> frontier;
};

bool parse_state(const std::string& text, State& s) {
  std::istringstream in(text);
  std::string line, word;
  if (!std::getline(in, line) || line != kStateMagic) return false;
  if (!(in >> word >> s.size) || word != "size") return false;
  if (!(in >> word >> s.offset) || word != "offset") return false;
  if (!(in >> word >> s.dev >> s.ino) || word != "file") return false;
  int closed = 0;
  if (!(in >> word >> closed) || word != "closed") return false;
  s.closed = closed != 0;
  while (in >> word) {
    merkle::Hash h;
    if (word != "frontier" || !(in >> word) || !merkle::hash_from_base64(word, h)) return false;
    s.frontier.push_back(h);
  }
  return true;
}

// The file with this identity in the directory of `path` under another name (logrotate's
// PATH.1 or a dateext name), or "".
std::string find_renamed(const std::string& path, uint64_t dev, uint64_t ino) {
  const std::filesystem::path p(path);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(p.parent_path().empty() ? "." : p.parent_path(), ec)) {
    const std::filesystem::path name = p.parent_path() / e.path().filename();
    struct stat st{};
    if (name != p && ::lstat(name.c_str(), &st) == 0 && S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_dev) == dev &&
        static_cast<uint64_t>(st.st_ino) == ino)
      return name.string();
  }
  return {};
}

}  // namespace

std::string default_origin(const std::string& path) {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "localhost");
  std::error_code ec;
  std::string abs = std::filesystem::absolute(path, ec).lexically_normal().string();
  return std::string(host) + (ec ? "/" + path : abs);
}

IntegrityLog::IntegrityLog(std::string path, IntegritySettings settings)
    : path_(std::move(path)), checkpoints_path_(path_ + ".checkpoints"), state_path_(path_ + ".checkpoints.state"),
      settings_(std::move(settings)) {
  if (settings_.origin.empty()) settings_.origin = default_origin(path_);
}

Status IntegrityLog::cover_lines(const std::string& file, int64_t from, int64_t end, const note::Checkpoint* last,
                                 uint64_t& covered) {
  // Reads through a descriptor of its own: the output's is write-only.
  int rfd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (rfd < 0) return Status::error(file + ": cannot read to continue the integrity tree: " + std::strerror(errno));
  std::string carry;
  std::vector<char> buf(1 << 20);
  covered = 0;
  for (int64_t at = from; at < end;) {
    ssize_t got = ::pread(rfd, buf.data(), static_cast<size_t>(std::min<int64_t>(buf.size(), end - at)), at);
    if (got <= 0) break;
    at += got;
    std::string_view chunk(buf.data(), static_cast<size_t>(got));
    for (size_t nl; (nl = chunk.find('\n')) != std::string_view::npos; chunk.remove_prefix(nl + 1)) {
      if (carry.empty()) {
        tree_.append(merkle::leaf_hash(chunk.substr(0, nl)));
      } else {
        carry.append(chunk.substr(0, nl));
        tree_.append(merkle::leaf_hash(carry));
        carry.clear();
      }
      ++covered;
      if (last && tree_.size() == last->size && tree_.root() != last->root) {
        ::close(rfd);
        return Status::error(file + ": line " + std::to_string(covered) +
                             " after the resume point does not give the last checkpoint's root (size " +
                             std::to_string(last->size) + "): the log was changed; run agentlog verify");
      }
    }
    carry.append(chunk);
  }
  ::close(rfd);
  file_offset_ = end;
  return {};
}

Status IntegrityLog::opened(int fd, int64_t file_end, bool reopen) {
  struct stat st{};
  if (::fstat(fd, &st) != 0) return Status::error(path_ + ": cannot stat: " + std::strerror(errno));
  const bool same_file = static_cast<uint64_t>(st.st_dev) == file_dev_ && static_cast<uint64_t>(st.st_ino) == file_ino_;
  file_dev_ = st.st_dev;
  file_ino_ = st.st_ino;
  uint64_t covered = 0;
  if (reopen) {
    // After SIGHUP's checkpoint: the same file goes on where it was; a new one (rotation)
    // must be empty, any line in it was written by someone else.
    const int64_t from = same_file && file_end >= file_offset_ ? file_offset_ : 0;
    if (file_end > from)
      return Status::error(path_ + ": holds " + std::to_string(file_end - from) +
                           " bytes agentlog did not write (after a reopen); the integrity log cannot cover them");
    file_offset_ = file_end;
    return write_state(false);  // a crash from here on resumes in the new file
  }
  std::string cp_text, state_text;
  bool cp_exists = false, state_exists = false;
  if (!read_file(checkpoints_path_, cp_text, cp_exists))
    return Status::error(checkpoints_path_ + ": cannot read: " + std::strerror(errno));
  if (!read_file(state_path_, state_text, state_exists))
    return Status::error(state_path_ + ": cannot read: " + std::strerror(errno));
  State state;
  const bool state_valid = state_exists && parse_state(state_text, state);
  // A checkpoint torn by a crash while it was appended (the state, written after it, is the
  // one before) is cut, as a torn line of the log is: the start of one checkpoint of this log,
  // and not after a clean close. Anything else is left for parse_notes to report.
  const size_t whole = note::whole_notes_end(cp_text);
  const std::string_view torn = std::string_view(cp_text).substr(whole);
  const std::string first_line = settings_.origin + "\n";
  if (!torn.empty() && torn.size() < first_line.size() + 1024 && !(state_valid && state.closed) &&
      (torn.starts_with(first_line) || std::string_view(first_line).starts_with(torn))) {
    if (::truncate(checkpoints_path_.c_str(), static_cast<off_t>(whole)) != 0)
      return Status::error(checkpoints_path_ + ": cannot cut an incomplete last checkpoint: " + std::strerror(errno));
    std::fprintf(stderr,
                 "agentlog: warning: %s: cut an incomplete last checkpoint of %llu bytes (an earlier run stopped "
                 "while writing it)\n",
                 checkpoints_path_.c_str(), static_cast<unsigned long long>(cp_text.size() - whole));
    cp_text.resize(whole);
  }
  if (cp_text.empty()) {
    if (state_exists)
      return Status::error(state_path_ + ": exists but " + checkpoints_path_ + " does not; restore it or move both away");
    // A new log: lines already in the file are its first leaves.
    Status status = cover_lines(path_, 0, file_end, nullptr, covered);
    if (status.ok()) status = checkpoint();
    return status;
  }
  std::vector<note::Note> notes;
  if (Status status = note::parse_notes(cp_text, checkpoints_path_, notes); !status.ok()) return status;
  note::Checkpoint last;
  std::string why;
  if (!note::parse_checkpoint(notes.back().text, last, why))
    return Status::error(checkpoints_path_ + ":" + std::to_string(notes.back().first_line) + ": " + why);
  if (last.origin != settings_.origin)
    return Status::error(checkpoints_path_ + ": the last checkpoint's origin is \"" + last.origin +
                         "\", this output's is \"" + settings_.origin + "\"; set integrity.origin to continue that log");
  if (!state_valid)
    return Status::error(state_path_ + (state_exists ? ": is not an integrity state file" : ": is missing") +
                         "; the tree cannot be continued (move the log and its checkpoints away to start a new one)");
  if (!merkle::Frontier::restore(state.size, state.frontier, tree_) || state.size > last.size ||
      (state.size == last.size && tree_.root() != last.root))
    return Status::error(state_path_ + ": does not match the last checkpoint (size " + std::to_string(last.size) +
                         "); the tree cannot be continued");
  checkpointed_size_ = last.size;
  any_checkpoint_ = true;
  const bool same = static_cast<uint64_t>(st.st_dev) == state.dev && static_cast<uint64_t>(st.st_ino) == state.ino;
  std::string renamed;  // where the lines after the state are, when not in this file
  if (!same) {
    // Rotated while stopped, or renamed before the SIGHUP that a crash came before: the rest
    // of the file the state was written for, found beside the path, is covered first; the
    // new file starts where the tree then is.
    if (file_end > 0)
      return Status::error(path_ + ": is not the file the last checkpoint was written for and is not empty; "
                           "the tree cannot be continued");
    renamed = state.closed ? "" : find_renamed(path_, state.dev, state.ino);
    if (!renamed.empty()) {
      if (int wfd = ::open(renamed.c_str(), O_WRONLY | O_CLOEXEC); wfd >= 0) {
        cut_incomplete_last_line(renamed, wfd);
        ::close(wfd);
      }
      struct stat rst{};
      if (::stat(renamed.c_str(), &rst) != 0)
        return Status::error(renamed + ": cannot stat: " + std::strerror(errno));
      if (rst.st_size < state.offset)
        return Status::error(renamed + ": is " + std::to_string(state.offset - rst.st_size) +
                             " bytes shorter than when the last checkpoint was written (truncated?); run agentlog verify");
      if (Status status = cover_lines(renamed, state.offset, rst.st_size, &last, covered); !status.ok()) return status;
    } else if (!state.closed) {
      std::fprintf(stderr,
                   "agentlog: warning: %s: the file the last checkpoint was written for (inode %llu) is not beside "
                   "it under another name; lines written to it after tree size %llu, if any, are not covered by a "
                   "checkpoint\n",
                   path_.c_str(), static_cast<unsigned long long>(state.ino),
                   static_cast<unsigned long long>(tree_.size()));
    }
    if (tree_.size() < last.size)
      return Status::error(path_ + ": is not the file the last checkpoint was written for and lines written "
                           "after the state are lost; the tree cannot be continued");
    file_offset_ = 0;
  } else {
    if (file_end < state.offset)
      return Status::error(path_ + ": is " + std::to_string(state.offset - file_end) +
                           " bytes shorter than when the last checkpoint was written (truncated?); run agentlog verify");
    if (state.closed && file_end > state.offset)
      return Status::error(path_ + ": " + std::to_string(file_end - state.offset) +
                           " bytes follow the last checkpoint although the run that wrote it closed cleanly "
                           "(written by someone else?); run agentlog verify");
    if (Status status = cover_lines(path_, state.offset, file_end, &last, covered); !status.ok()) return status;
    if (tree_.size() < last.size)
      return Status::error(path_ + ": ends before the last checkpoint's size " + std::to_string(last.size) +
                           " (lines were removed); run agentlog verify");
  }
  if (tree_.size() > last.size) {
    lines_recovered_ = tree_.size() - last.size;
    std::fprintf(stderr,
                 "agentlog: warning: %s: %llu lines after the last checkpoint (an earlier run stopped without "
                 "one) are covered by a new checkpoint%s\n",
                 path_.c_str(), static_cast<unsigned long long>(lines_recovered_),
                 renamed.empty() ? "" : ("; they are in " + renamed + ", renamed before that run reopened the path").c_str());
  }
  // Also when nothing is new: the state then names the file now open.
  return checkpoint();
}

void IntegrityLog::commit(uint64_t lines, int64_t file_end) {
  for (uint64_t i = 0; i < lines && i < pending_.size(); ++i) tree_.append(pending_[i]);
  pending_.clear();
  file_offset_ = file_end;
}

Status IntegrityLog::maybe_checkpoint() {
  if (tree_.size() == checkpointed_size_) return {};
  const auto now = std::chrono::steady_clock::now();
  if (tree_.size() - checkpointed_size_ >= settings_.every_records ||
      (settings_.every_ms > 0 && now - last_checkpoint_time_ >= std::chrono::milliseconds(settings_.every_ms)))
    return checkpoint();
  return {};
}

Status IntegrityLog::checkpoint(bool closing) {
  if (!any_checkpoint_ || tree_.size() != checkpointed_size_) {
    note::Checkpoint c{settings_.origin, tree_.size(), tree_.root()};
    const std::string text = note::checkpoint_text(c);
    const std::string sig = settings_.signer->signature_line(text);
    if (sig.empty()) return Status::error(checkpoints_path_ + ": signing the checkpoint failed");
    int fd = ::open(checkpoints_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return Status::error(checkpoints_path_ + ": cannot open for writing: " + std::strerror(errno));
    Status s = write_all(fd, text + "\n" + sig, checkpoints_path_);
    ::close(fd);
    if (!s.ok()) return s;
    checkpointed_size_ = tree_.size();
    any_checkpoint_ = true;
    ++checkpoints_written_;
  }
  last_checkpoint_time_ = std::chrono::steady_clock::now();
  return write_state(closing);
}

Status IntegrityLog::write_state(bool closing) {
  std::string s(kStateMagic);
  s += "\nsize " + std::to_string(tree_.size()) + "\noffset " + std::to_string(file_offset_) + "\nfile " +
       std::to_string(file_dev_) + " " + std::to_string(file_ino_) + "\nclosed " + (closing ? "1" : "0") + "\n";
  for (const merkle::Hash& h : tree_.hashes()) s += "frontier " + merkle::base64(h) + "\n";
  const std::string tmp = state_path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::error(tmp + ": cannot open for writing: " + std::strerror(errno));
  Status st = write_all(fd, s, tmp);
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), state_path_.c_str()) != 0)
    st = Status::error(state_path_ + ": cannot replace: " + std::strerror(errno));
  return st;
}

std::string IntegrityLog::stats_json() const {
  return "\"integrity_tree_size\":" + std::to_string(tree_.size()) +
         ",\"integrity_checkpoints\":" + std::to_string(checkpoints_written_) +
         ",\"integrity_lines_recovered\":" + std::to_string(lines_recovered_);
}

}  // namespace agentlog

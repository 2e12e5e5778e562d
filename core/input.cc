#include "core/input.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <glob.h>
#include <vector>
#include <fnmatch.h>
#include <filesystem>
#include <poll.h>
#include <sys/stat.h>

#include <simdjson.h>
#include <zlib.h>
#include <zstd.h>

#include "core/signals.h"

namespace agentlog {
namespace {

constexpr size_t kChunk = 1 << 20;
constexpr size_t kPad = 64;  // simdjson reads up to 64 bytes past a document

class FdSource : public ByteSource {
 public:
  FdSource(int fd, bool owned, bool streaming) : fd_(fd), owned_(owned) {
    if (streaming) poll_fd = fd;
  }
  ~FdSource() override {
    if (owned_) ::close(fd_);
  }
  // Bytes read ahead for magic-number detection are served first.
  std::string peeked;

  long read(char* buf, size_t capacity) override {
    if (!peeked.empty()) {
      size_t served = std::min(capacity, peeked.size());
      std::memcpy(buf, peeked.data(), served);
      peeked.erase(0, served);
      return static_cast<long>(served);
    }
    if (poll_fd >= 0) {
      // Streaming: never block here, so that the pipeline can flush and serve signals
      // while the writer is quiet. A stop request ends the input (drain).
      if (stop_requested()) return 0;
      pollfd poll_entry{fd_, POLLIN, 0};
      if (::poll(&poll_entry, 1, 0) <= 0) return kWouldBlock;
    }
    for (;;) {
      ssize_t got = ::read(fd_, buf, capacity);
      if (got >= 0) {
        raw_bytes += got;
        return got;
      }
      if (errno == EINTR) {
        if (stop_requested()) return 0;  // drain: treat as end of input
        continue;
      }
      error_ = std::string("read failed: ") + std::strerror(errno);
      return -1;
    }
  }
  void peek(size_t n) {
    peeked.resize(n);
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::read(fd_, peeked.data() + got, n - got);
      if (r < 0 && errno == EINTR && !stop_requested()) continue;
      if (r <= 0) break;
      got += r;
      raw_bytes += r;
    }
    peeked.resize(got);
  }

 private:
  int fd_;
  bool owned_;
};

class GzipSource : public ByteSource {
 public:
  explicit GzipSource(std::unique_ptr<FdSource> in) : in_(std::move(in)), inbuf_(kChunk) {
    poll_fd = in_->poll_fd;
    std::memset(&zs_, 0, sizeof zs_);
    inflateInit2(&zs_, 15 + 32);  // gzip or zlib header
  }
  ~GzipSource() override { inflateEnd(&zs_); }
  long read(char* buf, size_t capacity) override {
    zs_.next_out = reinterpret_cast<Bytef*>(buf);
    zs_.avail_out = static_cast<uInt>(capacity);
    while (zs_.avail_out == capacity) {
      if (zs_.avail_in == 0) {
        if (in_eof_) {
          if (!stream_end_ && saw_data_) {
            error_ = "gzip stream is truncated";
            return -1;
          }
          return 0;
        }
        long got = in_->read(reinterpret_cast<char*>(inbuf_.data()), inbuf_.size());
        if (got == kWouldBlock) return kWouldBlock;  // nothing was produced in this call
        if (got < 0) {
          error_ = in_->error();
          return -1;
        }
        raw_bytes = in_->raw_bytes;
        if (got == 0) {
          in_eof_ = true;
          continue;
        }
        zs_.next_in = inbuf_.data();
        zs_.avail_in = static_cast<uInt>(got);
      }
      if (stream_end_) {  // concatenated members
        inflateReset(&zs_);
        stream_end_ = false;
      }
      saw_data_ = true;
      int inflate_status = inflate(&zs_, Z_NO_FLUSH);
      if (inflate_status == Z_STREAM_END) {
        stream_end_ = true;
      } else if (inflate_status != Z_OK && inflate_status != Z_BUF_ERROR) {
        error_ = std::string("gzip data is corrupt: ") + (zs_.msg ? zs_.msg : "inflate failed");
        return -1;
      }
    }
    return static_cast<long>(capacity - zs_.avail_out);
  }

 private:
  std::unique_ptr<FdSource> in_;
  std::vector<unsigned char> inbuf_;
  z_stream zs_;
  bool in_eof_ = false;
  bool stream_end_ = false;
  bool saw_data_ = false;
};

class ZstdSource : public ByteSource {
 public:
  explicit ZstdSource(std::unique_ptr<FdSource> in)
      : src_(std::move(in)), dctx_(ZSTD_createDCtx()), inbuf_(ZSTD_DStreamInSize()) {
    poll_fd = src_->poll_fd;
  }
  ~ZstdSource() override { ZSTD_freeDCtx(dctx_); }
  long read(char* buf, size_t capacity) override {
    ZSTD_outBuffer out{buf, capacity, 0};
    while (out.pos == 0) {
      if (zin_.pos == zin_.size) {
        if (in_eof_) {
          if (frame_open_) {
            error_ = "zstd stream is truncated";
            return -1;
          }
          return 0;
        }
        long got = src_->read(inbuf_.data(), inbuf_.size());
        if (got == kWouldBlock) return kWouldBlock;  // nothing was produced in this call
        if (got < 0) {
          error_ = src_->error();
          return -1;
        }
        raw_bytes = src_->raw_bytes;
        if (got == 0) {
          in_eof_ = true;
          continue;
        }
        zin_ = ZSTD_inBuffer{inbuf_.data(), static_cast<size_t>(got), 0};
      }
      size_t zstd_result = ZSTD_decompressStream(dctx_, &out, &zin_);
      if (ZSTD_isError(zstd_result)) {
        error_ = std::string("zstd data is corrupt: ") + ZSTD_getErrorName(zstd_result);
        return -1;
      }
      frame_open_ = zstd_result != 0;
    }
    return static_cast<long>(out.pos);
  }

 private:
  std::unique_ptr<FdSource> src_;
  ZSTD_DCtx* dctx_;
  std::vector<char> inbuf_;
  ZSTD_inBuffer zin_{nullptr, 0, 0};
  bool in_eof_ = false;
  bool frame_open_ = false;
};

}  // namespace

Status open_byte_source(const SourceSpec& spec, std::unique_ptr<ByteSource>& out) {
  if (spec.open) return spec.open(out);
  int fd = 0;
  bool owned = false;
  struct stat file_info{};
  if (!spec.path.empty() && spec.path != "-") {
    fd = ::open(spec.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::error(spec.path + ": cannot open: " + std::strerror(errno));
    if (::fstat(fd, &file_info) == 0 && S_ISDIR(file_info.st_mode)) {
      ::close(fd);
      return Status::error(spec.path + ": is a directory");
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    owned = true;
  }
  // Pipes, FIFOs, sockets and terminals stream; regular files keep the blocking fast path.
  bool streaming = ::fstat(fd, &file_info) == 0 && !S_ISREG(file_info.st_mode) && !S_ISBLK(file_info.st_mode);
  auto fds = std::make_unique<FdSource>(fd, owned, streaming);
  std::string mode = spec.compression.empty() ? "auto" : spec.compression;
  if (mode == "auto") {
    fds->peek(4);
    const std::string& magic = fds->peeked;
    if (magic.size() >= 2 && static_cast<unsigned char>(magic[0]) == 0x1f &&
        static_cast<unsigned char>(magic[1]) == 0x8b)
      mode = "gzip";
    else if (magic.size() >= 4 && std::memcmp(magic.data(), "\x28\xb5\x2f\xfd", 4) == 0) mode = "zstd";
    else
      mode = "none";
  }
  if (mode == "gzip") out = std::make_unique<GzipSource>(std::move(fds));
  else if (mode == "zstd") out = std::make_unique<ZstdSource>(std::move(fds));
  else {
    if (S_ISREG(file_info.st_mode)) fds->size_hint = static_cast<uint64_t>(file_info.st_size);
    out = std::move(fds);
  }
  return {};
}

namespace {
class PrefixedSource : public ByteSource {
 public:
  PrefixedSource(std::string prefix, std::unique_ptr<ByteSource> rest) : prefix_(std::move(prefix)), rest_(std::move(rest)) {
    poll_fd = rest_->poll_fd;  // a streaming source stays one
    size_hint = rest_->size_hint;  // the prefix was read from `rest`: the total is the same
  }
  long read(char* buf, size_t capacity) override {
    if (pos_ < prefix_.size()) {
      size_t k = std::min(capacity, prefix_.size() - pos_);
      std::memcpy(buf, prefix_.data() + pos_, k);
      pos_ += k;
      if (pos_ == prefix_.size()) std::string().swap(prefix_), pos_ = 0;
      return static_cast<long>(k);
    }
    long r = rest_->read(buf, capacity);
    if (r < 0 && r != kWouldBlock) error_ = rest_->error();
    raw_bytes = rest_->raw_bytes;
    return r;
  }

 private:
  std::string prefix_;
  size_t pos_ = 0;
  std::unique_ptr<ByteSource> rest_;
};
}  // namespace

std::unique_ptr<ByteSource> prefixed_source(std::string prefix, std::unique_ptr<ByteSource> rest) {
  return std::make_unique<PrefixedSource>(std::move(prefix), std::move(rest));
}

namespace {
// Is `line` (one line of the source, CR included) a whole JSON value by itself?
bool whole_json_value(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(line);
  simdjson::dom::element e;
  return parser.parse(padded).get(e) == simdjson::SUCCESS;
}
}  // namespace

Status read_for_framing(ByteSource& src, bool whole, size_t max_document_bytes, size_t max_line_bytes,
                        std::string& buf, SniffedFraming& found) {
  enum class Phase { Start, FirstLine, Whole } phase = whole ? Phase::Whole : Phase::Start;
  found = whole ? SniffedFraming::Document : SniffedFraming::Lines;
  size_t scanned = 0, line_start = 0;
  for (;;) {
    if (phase == Phase::Start) {
      // Skip a BOM and whitespace; the first other byte decides.
      while (scanned < buf.size()) {
        unsigned char c = static_cast<unsigned char>(buf[scanned]);
        if (scanned == 0 && buf.size() >= 3 && std::memcmp(buf.data(), "\xEF\xBB\xBF", 3) == 0) {
          scanned = 3;
          continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
          ++scanned;
          continue;
        }
        break;
      }
      if (scanned < buf.size()) {
        if (buf[scanned] == '[') {
          phase = Phase::Whole;
          found = SniffedFraming::Document;
        } else if (buf[scanned] == '{') {
          phase = Phase::FirstLine;
          line_start = scanned;
        } else {
          return {};
        }
      }
    }
    if (phase == Phase::FirstLine) {
      size_t newline = buf.find('\n', line_start);
      if (newline != std::string::npos) {
        std::string_view line(buf.data() + line_start, newline - line_start);
        // JSON lines, unless the first line is only the start of a pretty-printed object, or
        // one object too long for a line (a compact document such as an SWE-agent .traj).
        if (line.size() <= max_line_bytes && whole_json_value(line)) return {};
        phase = Phase::Whole;
        found = SniffedFraming::Document;
      } else if (buf.size() - line_start > max_document_bytes) {
        return {};
      }
    }
    if (phase == Phase::Whole && !whole && buf.size() > max_document_bytes) {
      found = SniffedFraming::Lines;  // too large to hold whole: read it as lines
      return {};
    }
    // Grows with what was read (64 KiB first, then doubling up to kChunk): resize zero-fills,
    // and most sources are decided by their first line.
    const size_t chunk = std::clamp(buf.size(), size_t{64} << 10, kChunk);
    size_t old = buf.size();
    buf.resize(old + chunk);
    long got = src.read(buf.data() + old, chunk);
    if (got == kWouldBlock) {
      // A pipe with nothing yet: the framing is not known before its first bytes. A stop
      // request makes the next read answer the end.
      buf.resize(old);
      wait_readable(src.poll_fd, 250);
      continue;
    }
    if (got < 0) {
      buf.resize(old);
      return Status::error(src.error());
    }
    buf.resize(old + static_cast<size_t>(got));
    if (got == 0) {
      // A source of one line that starts with `{`: a document when it is longer than a line
      // may be (the runner still reads it as lines when it is not one JSON value).
      if (phase == Phase::FirstLine && buf.size() - line_start > max_line_bytes) found = SniffedFraming::Document;
      return {};
    }
  }
}

namespace {
bool is_log_file_name(std::string_view name) {
  for (std::string_view z : {".gz", ".zst"})
    if (name.size() > z.size() && name.substr(name.size() - z.size()) == z) name.remove_suffix(z.size());
  for (std::string_view ext : {".jsonl", ".ndjson", ".json", ".traj"})
    if (name.size() > ext.size() && name.substr(name.size() - ext.size()) == ext) return true;
  return false;
}

// Regular files under `dir` (recursively, not through symlinked directories), sorted.
void files_under(const std::string& dir, bool log_files_only, std::vector<std::string>& out) {
  std::error_code ec;
  std::vector<std::string> found;
  for (auto it = std::filesystem::recursive_directory_iterator(
           dir, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string path = it->path().string();
    if (!log_files_only || is_log_file_name(it->path().filename().string())) found.push_back(std::move(path));
  }
  std::sort(found.begin(), found.end());
  out.insert(out.end(), found.begin(), found.end());
}
}  // namespace

bool expand_input_path(const std::string& pattern, std::vector<std::string>& out) {
  std::error_code ec;
  if (pattern != "-" && std::filesystem::is_directory(pattern, ec)) {
    size_t before = out.size();
    files_under(pattern, true, out);
    return out.size() > before;
  }
  if (pattern.find_first_of("*?[") == std::string::npos) {
    out.push_back(pattern);
    return true;
  }
  if (size_t star2 = pattern.find("**"); star2 != std::string::npos) {
    // Walk from the last directory before the first wildcard; `*` may then span directories
    // (fnmatch without FNM_PATHNAME), and `**/` also matches no directory at all.
    size_t wild = pattern.find_first_of("*?[");
    size_t slash = pattern.rfind('/', wild);
    std::string root = slash == std::string::npos ? "." : pattern.substr(0, slash == 0 ? 1 : slash);
    std::string zero_dirs = pattern;
    for (size_t at; (at = zero_dirs.find("**/")) != std::string::npos;) zero_dirs.erase(at, 3);
    std::vector<std::string> all;
    if (std::filesystem::is_directory(root, ec)) files_under(root, false, all);
    size_t before = out.size();
    for (auto& file : all) {
      std::string path = slash == std::string::npos && file.rfind("./", 0) == 0 ? file.substr(2) : file;
      if (fnmatch(pattern.c_str(), path.c_str(), 0) == 0 || fnmatch(zero_dirs.c_str(), path.c_str(), 0) == 0)
        out.push_back(std::move(path));
    }
    return out.size() > before;
  }
  glob_t matches{};
  int glob_status = ::glob(pattern.c_str(), 0, nullptr, &matches);
  bool any = glob_status == 0 && matches.gl_pathc > 0;
  for (size_t i = 0; any && i < matches.gl_pathc; ++i) out.push_back(matches.gl_pathv[i]);
  globfree(&matches);  // glob(3) sorts its matches, so the order is deterministic
  return any;
}

LineReader::LineReader(std::unique_ptr<ByteSource> src, size_t max_line_bytes)
    : src_(std::move(src)), max_line_(max_line_bytes) {
  cap_ = std::max(kChunk, std::min(max_line_ + 1, kChunk * 4));
  // A source known to be small gets twice its size, so it is read whole without growing
  // (see refill). Under ASan a 1 MiB buffer is mapped, and its shadow mapped afresh, for
  // every source: that was most of a sanitizer run over a file of a few lines.
  if (src_->size_hint > 0 && src_->size_hint < kChunk / 4)
    cap_ = std::max<size_t>(size_t{4} << 10, 2 * src_->size_hint + 2);
  buf_ = buffer_of(cap_);
}

std::shared_ptr<char[]> LineReader::buffer_of(size_t cap) {
  // One pass, each spare's use count read once: a released spare of this size is taken, one
  // of another size (from before the buffer grew) freed. (Reading the count twice, a spare
  // released between the reads could be taken at the wrong size.)
  for (size_t i = 0; i < spares_.size();) {
    if (spares_[i].first.use_count() != 1) {
      ++i;
      continue;
    }
    // The last holder's release (on another thread) happens before the buffer is reused.
    std::atomic_thread_fence(std::memory_order_acquire);
    if (spares_[i].second != cap) {
      spares_.erase(spares_.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    std::shared_ptr<char[]> b = std::move(spares_[i].first);
    spares_.erase(spares_.begin() + static_cast<std::ptrdiff_t>(i));
    return b;
  }
  std::shared_ptr<char[]> b(new char[cap + kPad]);
  std::memset(b.get() + cap, ' ', kPad);
  return b;
}

LineReader::Next LineReader::next(LineEvent& event) {
  for (;;) {
    if (failed_) return Next::Error;
    char* base = buf_.get();
    char* nl = static_cast<char*>(std::memchr(base + start_, '\n', end_ - start_));
    if (skipping_) {
      if (nl == nullptr) {
        start_ = end_;
        if (eof_) { skipping_ = false; return Next::End; }
        return Next::NeedRefill;
      }
      skipping_ = false;
      start_ = nl - base + 1;
      continue;
    }
    size_t len;
    size_t next_start;
    if (nl != nullptr) {
      len = nl - (base + start_);
      next_start = start_ + len + 1;
    } else if (end_ - start_ > max_line_ + 1 + (first_line_ ? 3 : 0)) {
      // Over-long and still growing: report it now, then skip to its newline. The slack is a
      // CR and a first line's BOM, which do not count, so the verdict never depends on where
      // a read happened to end.
      event.kind = LineEvent::Kind::TooLong;
      event.text = std::string_view(base + start_, max_line_);
      event.line_no = ++line_no_;
      first_line_ = false;
      skipping_ = true;
      start_ = end_;
      return Next::Line;
    } else if (eof_) {
      if (start_ == end_) return Next::End;
      len = end_ - start_;  // last line without a newline
      next_start = end_;
    } else {
      return Next::NeedRefill;
    }
    const char* line = base + start_;
    start_ = next_start;
    event.line_no = ++line_no_;
    if (first_line_) {
      first_line_ = false;
      if (len >= 3 && std::memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
        line += 3;
        len -= 3;
      }
    }
    if (len > 0 && line[len - 1] == '\r') --len;
    if (len > max_line_) {
      event.kind = LineEvent::Kind::TooLong;
      event.text = std::string_view(line, max_line_);
      return Next::Line;
    }
    size_t k = 0;
    while (k < len && (line[k] == ' ' || line[k] == '\t')) ++k;
    event.kind = k == len ? LineEvent::Kind::Blank : LineEvent::Kind::Line;
    event.text = std::string_view(line, len);
    return Next::Line;
  }
}

Status LineReader::refill() {
  if (eof_ || failed_) return {};
  const size_t tail = end_ - start_;
  // Grow for a long line (or a small file that grew since it was opened); a line is
  // reported as too long before the buffer passes max + chunk.
  const bool grow = cap_ - tail < std::min(kChunk, cap_) / 2;
  const bool held = buf_.use_count() > 1;
  if (grow || held) {
    const size_t ncap = grow ? std::max(cap_ * 2, tail + kChunk) : cap_;
    std::shared_ptr<char[]> next = buffer_of(ncap);
    std::memcpy(next.get(), buf_.get() + start_, tail);
    // A held buffer is kept for reuse once released: with 2 batches in flight per worker,
    // only a few are held at a time.
    if (held && !grow) spares_.emplace_back(std::move(buf_), cap_);
    buf_ = std::move(next);
    cap_ = ncap;
  } else {
    // No batch holds the buffer any more: their reads (on other threads) happen before the
    // buffer is written again.
    std::atomic_thread_fence(std::memory_order_acquire);
    if (start_ > 0) std::memmove(buf_.get(), buf_.get() + start_, tail);
  }
  start_ = 0;
  end_ = tail;
  long got = src_->read(buf_.get() + end_, cap_ - end_);
  starved_ = got == kWouldBlock;
  if (starved_) got = 0;
  if (got < 0) {
    failed_ = true;
    return Status::error(src_->error());
  }
  if (got == 0 && !starved_) eof_ = true;
  end_ += got;
  bytes_read_ += got;
  std::memset(buf_.get() + end_, ' ', std::min(kPad, cap_ + kPad - end_));
  return {};
}

long FollowFileSource::read(char* buf, size_t capacity) {
  if (closed_) return 0;
  for (;;) {
    ssize_t r = ::read(fd_, buf, capacity);
    if (r > 0) {
      raw_bytes += r;
      return r;
    }
    if (r == 0) return draining_ ? 0 : kWouldBlock;
    if (errno == EINTR) continue;
    error_ = std::string("read failed: ") + std::strerror(errno);
    return -1;
  }
}

void wait_readable(int fd, int timeout_ms) {
  if (stop_requested()) return;
  pollfd p{fd, POLLIN, 0};
  ::poll(&p, fd >= 0 ? 1 : 0, timeout_ms);  // EINTR (a signal) just ends the wait
}

}  // namespace agentlog

// Byte sources (plain, gzip, zstd; by magic number) and the line reader that splits them
// into records: CRLF, UTF-8 BOM, blank lines, a last line without newline, over-long lines.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/plugin.h"
#include "core/status.h"

namespace agentlog {

// ByteSource::read's answer when a streaming source has no bytes now (it is not the end).
constexpr long kWouldBlock = -2;

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to capacity bytes. Returns 0 at end, -1 on error (see error()), kWouldBlock when a
  // streaming source has nothing to read now.
  virtual long read(char* buf, size_t capacity) = 0;
  const std::string& error() const { return error_; }
  // Every line that ended at or before byte `consumed` of this source's output has reached
  // every output (or was dead-lettered or dropped): a queue source may acknowledge it.
  virtual void delivered(uint64_t consumed) {}
  // Compressed bytes consumed so far (for progress); plain sources equal the output.
  uint64_t raw_bytes = 0;
  // A pipe, FIFO, socket or terminal: read() never blocks (it answers kWouldBlock) and
  // the caller waits on this descriptor with wait_readable(). -1 for regular files.
  int poll_fd = -1;
  // The bytes read() delivers in all when known at open (a plain regular file's size), else
  // 0. A hint: LineReader sizes its buffer by it, and still grows when the file did.
  uint64_t size_hint = 0;

 protected:
  std::string error_;
};

// Opens a file ("" or "-" for stdin) and wraps it in a decompressor chosen by `compression`
// (auto detects gzip and zstd by magic number). A descriptor that is not a regular file
// becomes a streaming source (poll_fd set).
Status open_byte_source(const SourceSpec& spec, std::unique_ptr<ByteSource>& out);

// Expands one input path: a directory to the log files under it, recursively (names ending
// in .jsonl, .ndjson, .json or .traj, optionally .gz or .zst), a glob (`*`, `?`, `[...]`;
// `**/` matches any number of directories) to its matches; each list sorted by path.
// Returns false when a glob or directory matches no file (`out` then holds nothing).
// A plain path is returned as it is (whether it exists is the reader's business).
bool expand_input_path(const std::string& pattern, std::vector<std::string>& out);

// Serves `prefix` first, then the rest of `rest` (bytes read ahead to choose a framing).
std::unique_ptr<ByteSource> prefixed_source(std::string prefix, std::unique_ptr<ByteSource> rest);

// The largest source read whole to be one JSON array or one JSON object (framing auto or
// json-array); a single object that is the whole source may be this long as one record.
constexpr size_t kMaxDocumentBytes = size_t{1} << 30;

// What `framing: auto` found at the start of a source.
enum class SniffedFraming : uint8_t {
  Lines,     // JSON lines (also: empty, or nothing conclusive)
  Document,  // `[`: one JSON array; or `{` whose first line is not a whole JSON value (a
             // pretty-printed object, such as an SWE-agent .traj): the whole source is read
};

// `framing: json-array|auto`: reads the start of a source to choose its framing. Appends to
// `buf` what it read: for auto, up to the first byte that is not whitespace or a BOM, and
// then the whole source when that byte is `[`, or its first line when it is `{` (and the
// whole source when that line is not a whole JSON value or is longer than max_line_bytes); for json-array, the whole source.
// A source held whole stops growing at `max_document_bytes` (then it is read as lines).
// Returns an error message on a read failure.
Status read_for_framing(ByteSource& src, bool whole, size_t max_document_bytes, size_t max_line_bytes,
                        std::string& buf, SniffedFraming& found);

// A plain regular file read in follow mode: at the end of its data read() answers
// kWouldBlock (the writer may append more) until drain() or close() is called.
class FollowFileSource : public ByteSource {
 public:
  explicit FollowFileSource(int fd) : fd_(fd) {}
  long read(char* buf, size_t capacity) override;
  // Rotation by rename: read what is left, then report the end.
  void drain() { draining_ = true; }
  // Truncation: report the end now; the bytes after the truncation point are not ours.
  void close() { closed_ = true; }

 private:
  int fd_;  // owned by the caller (FollowedFile)
  bool draining_ = false, closed_ = false;
};

// Waits up to timeout_ms for `fd` to be readable; returns early on a signal.
void wait_readable(int fd, int timeout_ms);

struct LineEvent {
  enum class Kind : uint8_t { Line, Blank, TooLong };
  Kind kind = Kind::Line;
  std::string_view text;  // without newline, CR or BOM; for TooLong, the first max bytes
  uint64_t line_no = 0;
};

class LineReader {
 public:
  enum class Next : uint8_t { Line, NeedRefill, End, Error };

  LineReader(std::unique_ptr<ByteSource> src, size_t max_line_bytes);
  // A view stays valid until the next refill(), or while the buffer is held (below).
  Next next(LineEvent& event);
  // Moves the unread tail to the front and reads more. Invalidates earlier views, except
  // those into a held buffer: refill() then continues in another buffer.
  Status refill();
  // Keeps the buffer that lines are viewed in alive, unmoved and unwritten for as long as the
  // handle lives: the parallel runner's batches view their lines where they were read
  // instead of copying them out.
  std::shared_ptr<const char[]> hold_buffer() const { return buf_; }
  // True when the last refill found no bytes on a streaming source (not the end).
  bool starved() const { return starved_; }
  // Continues a file from a checkpoint: the next line is number line_base + 1, no BOM is
  // expected, and in_long_line skips the rest of an over-long line already reported.
  void resume(uint64_t line_base, bool in_long_line) {
    line_no_ = line_base;
    first_line_ = false;
    skipping_ = in_long_line;
  }
  // Inside an over-long line that was already reported (its rest is being skipped).
  bool skipping() const { return skipping_; }
  // Bytes read from the source and not yet returned as lines (a partial line).
  uint64_t unconsumed() const { return end_ - start_; }
  int poll_fd() const { return src_->poll_fd; }
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t lines() const { return line_no_; }
  const std::string& error() const { return src_->error(); }
  size_t buffer_bytes() const { return cap_; }
  // Tells the source that every line returned so far has been delivered.
  void confirm_delivered() { src_->delivered(bytes_read_ - unconsumed()); }

 private:
  std::unique_ptr<ByteSource> src_;
  size_t max_line_;
  // A fresh buffer of `cap` bytes (and padding): a spare no longer held, or a new one.
  std::shared_ptr<char[]> buffer_of(size_t cap);

  std::shared_ptr<char[]> buf_;
  size_t cap_ = 0;
  // Buffers left behind while held, with their capacities, reused once released.
  std::vector<std::pair<std::shared_ptr<char[]>, size_t>> spares_;
  size_t start_ = 0, end_ = 0;
  bool eof_ = false;
  bool failed_ = false;
  bool skipping_ = false;  // inside an over-long line, discarding until its newline
  bool first_line_ = true;
  bool starved_ = false;
  uint64_t line_no_ = 0;
  uint64_t bytes_read_ = 0;
};

}  // namespace agentlog

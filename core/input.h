// Byte sources (plain, gzip, zstd; by magic number) and the line reader that splits them
// into records: CRLF, UTF-8 BOM, blank lines, a last line without newline, over-long lines.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/plugin.h"
#include "core/status.h"

namespace agentlog {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes. Returns 0 at end, -1 on error (see error()).
  virtual long read(char* buf, size_t n) = 0;
  const std::string& error() const { return error_; }
  // Compressed bytes consumed so far (for progress); plain sources equal the output.
  uint64_t raw_bytes = 0;

 protected:
  std::string error_;
};

// Opens a file ("" or "-" for stdin) and wraps it in a decompressor chosen by `compression`
// (auto detects gzip and zstd by magic number).
Status open_byte_source(const SourceSpec& spec, std::unique_ptr<ByteSource>& out);

// Serves `prefix` first, then the rest of `rest` (bytes read ahead to choose a framing).
std::unique_ptr<ByteSource> prefixed_source(std::string prefix, std::unique_ptr<ByteSource> rest);

// `framing: json-array|auto`: reads the start of a source to choose its framing. Appends to
// `buf` what it read: for auto, up to the first byte that is not whitespace or a BOM (and the
// whole source when that byte is `[`); for json-array, the whole source. Returns an error
// message on a read failure.
Status read_for_framing(ByteSource& src, bool whole, std::string& buf);

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
  // A view stays valid until the next refill().
  Next next(LineEvent& ev);
  // Moves the unread tail to the front and reads more. Invalidates earlier views.
  Status refill();
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t lines() const { return line_no_; }
  const std::string& error() const { return src_->error(); }

 private:
  std::unique_ptr<ByteSource> src_;
  size_t max_line_;
  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0;
  size_t start_ = 0, end_ = 0;
  bool eof_ = false;
  bool failed_ = false;
  bool skipping_ = false;  // inside an over-long line, discarding until its newline
  bool first_line_ = true;
  uint64_t line_no_ = 0;
  uint64_t bytes_read_ = 0;
};

}  // namespace agentlog

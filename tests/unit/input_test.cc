#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "core/input.h"

using namespace agentlog;

namespace {

// Serves a string in small pieces, to exercise every chunk boundary.
class PieceSource : public ByteSource {
 public:
  PieceSource(std::string data, size_t piece) : data_(std::move(data)), piece_(piece) {}
  long read(char* buf, size_t n) override {
    size_t k = std::min({n, piece_, data_.size() - pos_});
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return static_cast<long>(k);
  }

 private:
  std::string data_;
  size_t piece_;
  size_t pos_ = 0;
};

struct Seen {
  std::vector<std::string> lines;
  std::vector<uint64_t> numbers;
  std::vector<LineEvent::Kind> kinds;
};

Seen read_all(LineReader& r) {
  Seen s;
  LineEvent ev;
  for (;;) {
    auto n = r.next(ev);
    if (n == LineReader::Next::Line) {
      s.lines.emplace_back(ev.text);
      s.numbers.push_back(ev.line_no);
      s.kinds.push_back(ev.kind);
    } else if (n == LineReader::Next::NeedRefill) {
      REQUIRE(r.refill().ok());
    } else {
      REQUIRE(n == LineReader::Next::End);
      return s;
    }
  }
}

}  // namespace

TEST_CASE("line splitting is independent of read sizes", "[input]") {
  std::string data = "\xEF\xBB\xBF{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}";
  for (size_t piece : {1, 2, 3, 7, 64, 1 << 20}) {
    INFO("piece " << piece);
    LineReader r(std::make_unique<PieceSource>(data, piece), 1024);
    Seen s = read_all(r);
    REQUIRE(s.lines.size() == 5);
    CHECK(s.lines[0] == "{\"a\":1}");  // BOM and CR removed
    CHECK(s.kinds[1] == LineEvent::Kind::Blank);
    CHECK(s.kinds[2] == LineEvent::Kind::Blank);
    CHECK(s.lines[3] == "{\"b\":2}");
    CHECK(s.lines[4] == "{\"c\":3}");  // no final newline
    CHECK(s.numbers == std::vector<uint64_t>{1, 2, 3, 4, 5});
  }
}

TEST_CASE("a line longer than the buffer is reported once and skipped", "[input]") {
  std::string huge(3 << 20, 'x');
  std::string data = "{\"before\":1}\n" + huge + "\n{\"after\":1}\n";
  LineReader r(std::make_unique<PieceSource>(data, 1 << 16), 100);
  Seen s = read_all(r);
  REQUIRE(s.lines.size() == 3);
  CHECK(s.kinds[1] == LineEvent::Kind::TooLong);
  CHECK(s.lines[1] == std::string(100, 'x'));
  CHECK(s.lines[2] == "{\"after\":1}");
  CHECK(s.numbers == std::vector<uint64_t>{1, 2, 3});
}

TEST_CASE("an over-long last line without newline ends cleanly", "[input]") {
  std::string data = "{\"a\":1}\n" + std::string(5000, 'y');
  LineReader r(std::make_unique<PieceSource>(data, 512), 100);
  Seen s = read_all(r);
  REQUIRE(s.lines.size() == 2);
  CHECK(s.kinds[1] == LineEvent::Kind::TooLong);
}

TEST_CASE("truncated gzip is an error, not silent end of input", "[input]") {
  auto dir = std::filesystem::temp_directory_path() / "agentlog-input-test";
  std::filesystem::create_directories(dir);
  auto full = dir / "full.gz";
  std::string cmd = "printf '{\"a\":1}\\n{\"b\":2}\\n' | gzip -n > " + full.string();
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream in(full, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto cut = dir / "cut.gz";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 6);

  std::unique_ptr<ByteSource> src;
  REQUIRE(open_byte_source({"cut.gz", cut.string(), "auto", 1024, false}, src).ok());
  LineReader r(std::move(src), 1024);
  LineEvent ev;
  bool failed = false;
  for (int i = 0; i < 100 && !failed; ++i) {
    auto n = r.next(ev);
    if (n == LineReader::Next::NeedRefill) failed = !r.refill().ok();
    else if (n == LineReader::Next::Error) failed = true;
    else if (n == LineReader::Next::End) break;
  }
  CHECK(failed);
  CHECK(r.error() == "gzip stream is truncated");
}

TEST_CASE("plain files are not mistaken for compressed ones", "[input]") {
  auto p = std::filesystem::temp_directory_path() / "agentlog-input-test" / "short.jsonl";
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << "{}";  // shorter than a magic number
  std::unique_ptr<ByteSource> src;
  REQUIRE(open_byte_source({"short", p.string(), "auto", 1024, false}, src).ok());
  LineReader r(std::move(src), 1024);
  Seen s = read_all(r);
  REQUIRE(s.lines.size() == 1);
  CHECK(s.lines[0] == "{}");
}

TEST_CASE("opening a missing file names it", "[input]") {
  std::unique_ptr<ByteSource> src;
  Status st = open_byte_source({"x", "/nonexistent/in.jsonl", "auto", 1024, false}, src);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == "/nonexistent/in.jsonl: cannot open: No such file or directory");
}

TEST_CASE("a line exactly at the limit with a BOM or CRLF is never too long, whatever the reads", "[input]") {
  const size_t max = 20;
  std::string exact(max, 'z');
  std::string data = "\xEF\xBB\xBF" + exact + "\r\n" + exact + "\r\n" + exact + "z\r\n";
  for (size_t piece = 1; piece <= data.size(); ++piece) {
    INFO("piece " << piece);
    LineReader r(std::make_unique<PieceSource>(data, piece), max);
    Seen s = read_all(r);
    REQUIRE(s.lines.size() == 3);
    CHECK(s.kinds[0] == LineEvent::Kind::Line);
    CHECK(s.lines[0] == exact);
    CHECK(s.kinds[1] == LineEvent::Kind::Line);
    CHECK(s.kinds[2] == LineEvent::Kind::TooLong);
  }
}

TEST_CASE("a small file gets a buffer of its size, and one that grew since it was opened is still read whole", "[input]") {
  auto p = std::filesystem::temp_directory_path() / "agentlog-input-test" / "small.jsonl";
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << "{\"a\":1}\n{\"b\":2}\n";
  std::unique_ptr<ByteSource> src;
  REQUIRE(open_byte_source({"small", p.string(), "auto", size_t{1} << 20, false}, src).ok());
  CHECK(src->size_hint == 16);
  // Through the framing sniffer's prefix too: the total is still the file's.
  auto prefixed = prefixed_source("{\"a\"", std::move(src));
  CHECK(prefixed->size_hint == 16);
  LineReader small(std::move(prefixed), size_t{1} << 20);
  CHECK(small.buffer_bytes() < (size_t{64} << 10));  // not the 1 MiB of a large file

  // The file grows to many times the size seen at open: the buffer grows as for any source.
  REQUIRE(open_byte_source({"small", p.string(), "auto", size_t{1} << 20, false}, src).ok());
  std::string more;
  for (int i = 0; i < 100000; ++i) more += "{\"n\":" + std::to_string(i) + "}\n";
  std::ofstream(p, std::ios::binary | std::ios::app) << more;
  LineReader grown(std::move(src), size_t{1} << 20);
  Seen s = read_all(grown);
  REQUIRE(s.lines.size() == 100002);
  CHECK(s.lines[1] == "{\"b\":2}");
  CHECK(s.lines.back() == "{\"n\":99999}");

  // A source of unknown size (a pipe, a decompressor) keeps the full buffer.
  LineReader unknown(std::make_unique<PieceSource>("{}\n", 3), size_t{1} << 20);
  CHECK(unknown.buffer_bytes() >= (size_t{1} << 20));
}

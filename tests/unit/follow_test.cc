// Follow mode pieces: the starved line reader, checkpoint files, file identity checks.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "core/follow.h"
#include "core/input.h"
#include "tests/test_support.h"

using namespace agentlog;
namespace fs = std::filesystem;

namespace {

// Serves scripted chunks; an empty chunk means "nothing now" (kWouldBlock).
class ScriptSource : public ByteSource {
 public:
  explicit ScriptSource(std::vector<std::string> chunks) : chunks_(std::move(chunks)) {}
  long read(char* buf, size_t n) override {
    if (i_ == chunks_.size()) return 0;
    const std::string& c = chunks_[i_++];
    if (c.empty()) return kWouldBlock;
    std::memcpy(buf, c.data(), c.size());
    return static_cast<long>(c.size());
  }

 private:
  std::vector<std::string> chunks_;
  size_t i_ = 0;
};

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/agentlog-follow.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("a starved reader keeps its partial line and is not at the end", "[follow]") {
  LineReader r(std::make_unique<ScriptSource>(std::vector<std::string>{"{\"a\":1}\n{\"b\"", "", ":2}\n"}), 1024);
  LineEvent ev;
  REQUIRE(r.next(ev) == LineReader::Next::NeedRefill);
  REQUIRE(r.refill().ok());
  CHECK_FALSE(r.starved());
  REQUIRE(r.next(ev) == LineReader::Next::Line);
  CHECK(ev.text == "{\"a\":1}");
  REQUIRE(r.next(ev) == LineReader::Next::NeedRefill);
  CHECK(r.unconsumed() == 4);  // {"b"
  REQUIRE(r.refill().ok());
  CHECK(r.starved());
  REQUIRE(r.next(ev) == LineReader::Next::NeedRefill);  // not End: more may come
  REQUIRE(r.refill().ok());
  CHECK_FALSE(r.starved());
  REQUIRE(r.next(ev) == LineReader::Next::Line);
  CHECK(ev.text == "{\"b\":2}");
  CHECK(ev.line_no == 2);
}

TEST_CASE("a held buffer keeps its lines through refills and is reused once released", "[input]") {
  LineReader r(std::make_unique<ScriptSource>(std::vector<std::string>{"{\"a\":1}\n{\"b\"", ":2}\n{\"c\":3}\n{\"d", "\":4}\n"}),
               1024);
  LineEvent ev;
  REQUIRE(r.next(ev) == LineReader::Next::NeedRefill);
  REQUIRE(r.refill().ok());
  std::shared_ptr<const char[]> first = r.hold_buffer();
  REQUIRE(r.next(ev) == LineReader::Next::Line);
  std::string_view a = ev.text;
  REQUIRE(r.next(ev) == LineReader::Next::NeedRefill);
  // Without the hold, the partial line would be moved over "{"a":1}".
  REQUIRE(r.refill().ok());
  CHECK(a == "{\"a\":1}");
  CHECK(r.hold_buffer().get() != first.get());
  REQUIRE(r.next(ev) == LineReader::Next::Line);
  CHECK(ev.text == "{\"b\":2}");
  std::shared_ptr<const char[]> second = r.hold_buffer();
  REQUIRE(r.next(ev) == LineReader::Next::Line);
  std::string_view c = ev.text;
  REQUIRE(r.next(ev) == LineReader::Next::NeedRefill);
  // The first buffer is released: the reader goes on in it.
  const char* first_at = first.get();
  first.reset();
  REQUIRE(r.refill().ok());
  CHECK(c == "{\"c\":3}");
  CHECK(r.hold_buffer().get() == first_at);
  REQUIRE(r.next(ev) == LineReader::Next::Line);
  CHECK(ev.text == "{\"d\":4}");
  CHECK(ev.line_no == 4);
}

TEST_CASE("a resumed reader numbers lines from the checkpoint and skips a long line's rest", "[follow]") {
  LineReader r(std::make_unique<ScriptSource>(std::vector<std::string>{"xxxx\n{\"c\":3}\n"}), 1024);
  r.resume(41, true);
  LineEvent ev;
  REQUIRE(r.next(ev) == LineReader::Next::NeedRefill);
  REQUIRE(r.refill().ok());
  REQUIRE(r.next(ev) == LineReader::Next::Line);
  CHECK(ev.text == "{\"c\":3}");
  CHECK(ev.line_no == 42);
}

TEST_CASE("checkpoints round-trip and are replaced atomically", "[follow]") {
  TempDir d;
  std::string path = (d.path / "cp.json").string();
  Checkpoint a(path);
  REQUIRE(a.load().ok());  // missing: empty
  CHECK(a.find(1, 2) == nullptr);
  CheckpointEntry e;
  e.path = "logs/a \"quoted\".jsonl";
  e.dev = 1;
  e.inode = 2;
  e.offset = 300;
  e.line = 7;
  e.head_bytes = 300;
  e.head_sha256 = std::string(64, 'a');
  a.set(e);
  REQUIRE(a.save().ok());
  CHECK_FALSE(fs::exists(path + ".tmp"));
  Checkpoint b(path);
  REQUIRE(b.load().ok());
  const CheckpointEntry* got = b.find(1, 2);
  REQUIRE(got != nullptr);
  CHECK(got->path == e.path);
  CHECK(got->offset == 300);
  CHECK(got->line == 7);
  CHECK(got->head_sha256 == e.head_sha256);
  CHECK_FALSE(got->in_long_line);
}

TEST_CASE("stage state is saved in the checkpoint, which says version 2 then", "[follow]") {
  TempDir d;
  std::string path = (d.path / "cp.json").string();
  Checkpoint a(path);
  REQUIRE(a.save().ok());
  CHECK(test::read_file(path) == "{\"version\":1,\"files\":[]}\n");  // as before, without state
  a.set_stages({{"life \"1\"", {"lifecycle", "abc", R"({"open":[[1,"k"]],"n":null})"}}, {"guard", {"collision", "def", "{}"}}});
  REQUIRE(a.save().ok());
  CHECK(test::read_file(path) ==
        "{\"version\":2,\"files\":[],\n\"stages\":{\n\"guard\":{\"type\":\"collision\",\"config\":\"def\",\"state\":{}},\n"
        "\"life \\\"1\\\"\":{\"type\":\"lifecycle\",\"config\":\"abc\",\"state\":{\"open\":[[1,\"k\"]],\"n\":null}}}}\n");
  Checkpoint b(path);
  REQUIRE(b.load().ok());
  CHECK(b.stages() == a.stages());
}

TEST_CASE("an invalid checkpoint is an error that says what to do", "[follow]") {
  TempDir d;
  std::string path = (d.path / "cp.json").string();
  test::write_file(path, "{\"version\":3,\"files\":[]}");
  Status st = Checkpoint(path).load();
  CHECK(st.message() == "checkpoint " + path +
                            ": not a valid checkpoint file (\"version\" must be 1 or 2); remove it to read the "
                            "followed files from the start");
  test::write_file(path, "{\"version\":1,\"files\":[],\"stages\":{}}");
  st = Checkpoint(path).load();
  CHECK(st.message() == "checkpoint " + path +
                            ": not a valid checkpoint file (\"stages\" must be an object, in version 2); remove it "
                            "to read the followed files from the start");
  test::write_file(path, "{\"version\":2,\"files\":[],\"stages\":{\"lifecycle\":{\"type\":\"lifecycle\"}}}");
  st = Checkpoint(path).load();
  CHECK(st.message() == "checkpoint " + path +
                            ": not a valid checkpoint file (each stage needs type, config and state); remove it to "
                            "read the followed files from the start");
  test::write_file(path, "{\"version\":1,\"files\":[{\"path\":\"a\"}]}");
  st = Checkpoint(path).load();
  CHECK(st.message() == "checkpoint " + path +
                            ": not a valid checkpoint file (each file needs path, dev, inode, offset, line, "
                            "head_bytes and head_sha256); remove it to read the followed files from the start");
}

TEST_CASE("a followed file resumes only when identity and first bytes match", "[follow]") {
  TempDir d;
  std::string log = (d.path / "a.jsonl").string();
  test::write_file(log, "{\"n\":1}\n{\"n\":2}\n");
  Checkpoint cp((d.path / "cp.json").string());
  SourceSpec spec{log, log, "none", 1024, false};
  spec.follow = true;
  {
    FollowedFile f(spec, &cp);
    REQUIRE(f.try_open(true).ok());
    REQUIRE(f.reader() != nullptr);
    LineEvent ev;
    REQUIRE(f.reader()->next(ev) == LineReader::Next::NeedRefill);
    REQUIRE(f.reader()->refill().ok());
    REQUIRE(f.reader()->next(ev) == LineReader::Next::Line);
    CHECK(f.consumed_offset() == 8);
    CHECK(f.store_checkpoint());
    CHECK_FALSE(f.store_checkpoint());  // unchanged
  }
  auto next_line = [](FollowedFile& f, std::string& text, uint64_t& no) {
    LineEvent ev;
    for (int i = 0; i < 3; ++i) {
      auto n = f.reader()->next(ev);
      if (n == LineReader::Next::Line) {
        text = std::string(ev.text);
        no = ev.line_no;
        return true;
      }
      REQUIRE(f.reader()->refill().ok());
    }
    return false;
  };
  std::string text;
  uint64_t no = 0;
  {
    FollowedFile f(spec, &cp);
    REQUIRE(f.try_open(true).ok());
    REQUIRE(next_line(f, text, no));
    CHECK(text == "{\"n\":2}");  // resumed after line 1
    CHECK(no == 2);
  }
  // Same inode, other content (rewritten in place): read from the start.
  {
    std::fstream io(log, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(0);
    io << "{\"m\":1}\n";
  }
  {
    FollowedFile f(spec, &cp);
    REQUIRE(f.try_open(true).ok());
    REQUIRE(next_line(f, text, no));
    CHECK(text == "{\"m\":1}");
    CHECK(no == 1);
  }
}

static void read_until_starved(FollowedFile& f) {
  LineEvent ev;
  for (;;) {
    if (f.reader()->next(ev) != LineReader::Next::NeedRefill) continue;
    REQUIRE(f.reader()->refill().ok());
    if (f.reader()->starved()) return;
  }
}

TEST_CASE("a followed file notices truncation, also when rewritten past the old size", "[follow]") {
  TempDir d;
  std::string log = (d.path / "a.jsonl").string();
  test::write_file(log, "{\"n\":1}\n{\"n\":2}\n");
  SourceSpec spec{log, log, "none", 1024, false};
  spec.follow = true;
  FollowedFile f(spec, nullptr);
  REQUIRE(f.try_open(true).ok());
  read_until_starved(f);
  CHECK(f.check() == FollowedFile::Change::None);
  test::write_file(log, "{\"x\":1}\n");  // truncated (same inode), shorter
  CHECK(f.check() == FollowedFile::Change::Truncated);
  test::write_file(log, "{\"x\":1}\n{\"x\":2}\n{\"x\":3}\n");  // and rewritten past the old size
  CHECK(f.check() == FollowedFile::Change::Truncated);
}

TEST_CASE("a followed file notices rotation by rename once the new file exists", "[follow]") {
  TempDir d;
  std::string log = (d.path / "a.jsonl").string();
  test::write_file(log, "{\"n\":1}\n");
  SourceSpec spec{log, log, "none", 1024, false};
  spec.follow = true;
  FollowedFile f(spec, nullptr);
  REQUIRE(f.try_open(true).ok());
  read_until_starved(f);
  CHECK(f.check() == FollowedFile::Change::None);
  fs::rename(log, log + ".1");
  CHECK(f.check() == FollowedFile::Change::None);  // nothing at the path yet: keep the old file
  test::write_file(log, "");
  CHECK(f.check() == FollowedFile::Change::Rotated);
}

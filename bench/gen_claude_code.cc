// Generates a Claude Code style session transcript (JSONL) for the `normalize` benchmark:
// turns of a user prompt, thinking, tool_use lines (1-3 blocks: Read, Bash, Edit, Write, Grep,
// WebFetch, Task), user lines with the tool_results (file texts and command output of a few
// KB, up to 48 KB), progress lines, snapshots and sub-agent (sidechain) turns.
// Standard library only; deterministic (own splitmix64 PRNG, integer arithmetic).
//
//   gen_claude_code [--bytes N] [--seed S] [--out PATH]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
};

constexpr const char* kWords[] = {"def", "return", "self", "import", "class", "const", "let", "if", "else", "for",
                                  "while", "value", "amount", "refund", "cache", "request", "response", "error",
                                  "user_id", "config", "test", "assert", "None", "true", "async", "await",
                                  "module", "export", "struct", "impl", "fn", "pub", "café", "naïve", "→"};

// Source-code-like text as a JSON string body: words, indentation, escaped newlines, tabs
// and quotes, some non-ASCII.
void text(Rng& r, std::string& o, size_t bytes) {
  size_t start = o.size();
  while (o.size() - start < bytes) {
    size_t indent = r.below(4) * 2;
    o.append(indent, ' ');
    for (size_t w = 3 + r.below(8); w > 0; --w) {
      o += kWords[r.below(sizeof kWords / sizeof *kWords)];
      uint64_t p = r.below(20);
      o += p == 0 ? "(\\\"x\\\")" : p == 1 ? "\\t" : p == 2 ? " = " : " ";
    }
    o += "\\n";
  }
}

struct Gen {
  Rng r;
  std::string session = "5c0e9a52-7d1b-4f0c-9e3a-2b6d8f1c4a70";
  int64_t ms = 1772442000000;  // 2026-03-02T09:00:00Z
  uint64_t uuid = 0, tool = 0;
  std::string o;

  void ts() {
    ms += 50 + static_cast<int64_t>(r.below(4000));
    int64_t s = ms / 1000, msec = ms % 1000;
    int64_t days = s / 86400, rem = s % 86400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365, y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) ++y;
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", (long long)y, (long long)m,
                  (long long)d, (long long)(rem / 3600), (long long)(rem / 60 % 60), (long long)(rem % 60),
                  (long long)msec);
    o += buf;
  }
  void head(std::string_view type, bool side) {
    char u[48];
    std::snprintf(u, sizeof u, "%08llx-0000-4000-8000-%012llx", (unsigned long long)(uuid >> 8),
                  (unsigned long long)uuid);
    ++uuid;
    o += "{\"parentUuid\":\"p\",\"isSidechain\":";
    o += side ? "true,\"agentId\":\"a7f3e2d1\"" : "false";
    o += ",\"userType\":\"external\",\"cwd\":\"/home/dev/payments-api\",\"sessionId\":\"" + session +
         "\",\"version\":\"2.0.14\",\"gitBranch\":\"main\",\"type\":\"";
    o += type;
    o += "\",\"uuid\":\"";
    o += u;
    o += "\",\"timestamp\":\"";
    ts();
    o += "\"";
  }
  std::string id() { return "toolu_01" + std::to_string(1000000 + tool++); }

  void turn(bool side) {
    head("user", side);
    o += ",\"message\":{\"role\":\"user\",\"content\":\"";
    text(r, o, 100 + r.below(900));
    o += "\"}}\n";
    head("assistant", side);
    o += ",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\","
         "\"content\":[{\"type\":\"thinking\",\"thinking\":\"";
    text(r, o, 200 + r.below(1800));
    o += "\",\"signature\":\"EqQBCkYIBRgCKkBh\"}],\"stop_reason\":null,\"usage\":{\"input_tokens\":1200,\"output_tokens\":310}}}\n";
    for (uint64_t step = 2 + r.below(6); step > 0; --step) {
      std::string ids[3];
      uint64_t n = 1 + (r.below(4) == 0 ? 1 + r.below(2) : 0);
      head("assistant", side);
      o += ",\"message\":{\"id\":\"msg_02\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[";
      for (uint64_t k = 0; k < n; ++k) {
        ids[k] = id();
        if (k) o += ",";
        o += "{\"type\":\"tool_use\",\"id\":\"" + ids[k] + "\",\"name\":\"";
        switch (r.below(8)) {
          case 0: case 1:
            o += "Read\",\"input\":{\"file_path\":\"/home/dev/payments-api/src/mod" + std::to_string(r.below(90)) + ".py\"}}";
            break;
          case 2: case 3:
            o += "Bash\",\"input\":{\"command\":\"cd /home/dev/payments-api && pytest tests/test_" +
                 std::to_string(r.below(50)) + ".py -q\",\"description\":\"Run the tests\"}}";
            break;
          case 4:
            o += "Edit\",\"input\":{\"file_path\":\"/home/dev/payments-api/src/mod.py\",\"old_string\":\"";
            text(r, o, 100 + r.below(600));
            o += "\",\"new_string\":\"";
            text(r, o, 100 + r.below(600));
            o += "\"}}";
            break;
          case 5:
            o += "Write\",\"input\":{\"file_path\":\"/home/dev/payments-api/src/new.py\",\"content\":\"";
            text(r, o, 1000 + r.below(7000));
            o += "\"}}";
            break;
          case 6:
            o += "Grep\",\"input\":{\"pattern\":\"def refund\",\"path\":\"/home/dev/payments-api/src\"}}";
            break;
          default:
            o += "WebFetch\",\"input\":{\"url\":\"https://docs.python.org/3/library/decimal.html\",\"prompt\":\"";
            text(r, o, 80);
            o += "\"}}";
        }
      }
      o += "],\"stop_reason\":\"tool_use\"},\"requestId\":\"req_011\"}\n";
      if (r.below(3) == 0) {
        head("progress", side);
        o += ",\"data\":{\"type\":\"bash_progress\",\"output\":\"";
        text(r, o, 100 + r.below(300));
        o += "\"},\"toolUseID\":\"" + ids[0] + "\"}\n";
      }
      head("user", side);
      o += ",\"message\":{\"role\":\"user\",\"content\":[";
      for (uint64_t k = 0; k < n; ++k) {
        if (k) o += ",";
        bool err = r.below(10) == 0;
        o += "{\"tool_use_id\":\"" + ids[k] + "\",\"type\":\"tool_result\",\"content\":\"";
        uint64_t size = r.below(10) == 0 ? 8000 + r.below(40000) : 500 + r.below(6000);
        text(r, o, size);
        o += err ? "\",\"is_error\":true}" : "\"}";
      }
      o += "]}}\n";
    }
    head("assistant", side);
    o += ",\"message\":{\"id\":\"msg_03\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\","
         "\"content\":[{\"type\":\"text\",\"text\":\"";
    text(r, o, 100 + r.below(800));
    o += "\"}],\"stop_reason\":\"end_turn\"}}\n";
    if (r.below(5) == 0)
      o += "{\"type\":\"file-history-snapshot\",\"messageId\":\"m\",\"snapshot\":{\"messageId\":\"m\",\"trackedFileBackups\":{},"
           "\"timestamp\":\"2026-03-02T09:00:00.000Z\"},\"isSnapshotUpdate\":false}\n";
  }
};

}  // namespace

int main(int argc, char** argv) {
  uint64_t bytes = 100000000, seed = 42;
  const char* out = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--bytes" && i + 1 < argc) bytes = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--seed" && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--out" && i + 1 < argc) out = argv[++i];
    else {
      std::fprintf(stderr, "usage: gen_claude_code [--bytes N] [--seed S] [--out PATH]\n");
      return 2;
    }
  }
  FILE* f = out && std::strcmp(out, "-") != 0 ? std::fopen(out, "wb") : stdout;
  if (!f) {
    std::perror(out);
    return 1;
  }
  Gen g{Rng{seed}};
  uint64_t written = 0, lines = 0;
  while (written < bytes) {
    g.o.clear();
    g.turn(false);
    if (g.r.below(4) == 0) g.turn(true);  // a sub-agent's turn
    for (char c : g.o) lines += c == '\n';
    std::fwrite(g.o.data(), 1, g.o.size(), f);
    written += g.o.size();
  }
  if (f != stdout) std::fclose(f);
  std::fprintf(stderr, "gen_claude_code: lines=%llu bytes=%llu seed=%llu\n", (unsigned long long)lines,
               (unsigned long long)written, (unsigned long long)seed);
  return 0;
}

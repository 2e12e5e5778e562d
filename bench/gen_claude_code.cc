// Generates a Claude Code 2.1.x style session transcript (JSONL) for the `normalize` benchmark:
// turns of a user prompt, thinking, tool_use lines (one per block, stop_reason null: Read, Bash,
// Edit, Write, Grep, WebFetch, Agent), PreToolUse hook_progress lines, user lines with the
// tool_results (file texts and command output of a few KB, up to 48 KB), stop_hook_summary and
// turn_duration lines, snapshots, subagent turns (agentId) between an Agent call and its
// result, and an automatic compaction every 20 turns. With --stream-json it writes
// `claude -p --output-format stream-json` runs instead (init, messages, result).
// Standard library only; deterministic (own splitmix64 PRNG, integer arithmetic).
//
//   gen_claude_code [--bytes N] [--seed S] [--stream-json] [--out PATH]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "bench/gen_words.h"

namespace {

using gen::Rng;
using gen::kWords;

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
  bool stream_json = false;  // `claude -p --output-format stream-json` lines instead of a transcript
  std::string session = "5c0e9a52-7d1b-4f0c-9e3a-2b6d8f1c4a70";
  int64_t ms = 1772442000000;  // 2026-03-02T09:00:00Z
  uint64_t uuid = 0, tool = 0, turns = 0, agents = 0;
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
  std::string next_uuid() {
    char u[48];
    std::snprintf(u, sizeof u, "%08llx-0000-4000-8000-%012llx", (unsigned long long)(uuid >> 8),
                  (unsigned long long)uuid);
    ++uuid;
    return u;
  }
  // The envelope of a line up to (not including) its closing brace. `agent`: a subagent's id
  // (transcript) or the parent call's id (stream-json); empty for the main agent.
  void head(std::string_view type, const std::string& agent) {
    std::string u = next_uuid();
    if (stream_json) {
      o += "{\"type\":\"";
      o += type;
      o += "\",\"session_id\":\"" + session + "\",\"uuid\":\"" + u + "\",\"parent_tool_use_id\":";
      o += agent.empty() ? "null" : "\"" + agent + "\"";
      ms += 50 + static_cast<int64_t>(r.below(4000));
      return;
    }
    o += "{\"parentUuid\":\"p\",\"isSidechain\":";
    o += agent.empty() ? "false" : "true,\"agentId\":\"" + agent + "\"";
    o += ",\"type\":\"";
    o += type;
    o += "\",\"uuid\":\"" + u + "\",\"timestamp\":\"";
    ts();
    o += "\",\"userType\":\"external\",\"entrypoint\":\"cli\",\"cwd\":\"/home/dev/payments-api\",\"sessionId\":\"" +
         session + "\",\"version\":\"2.1.79\",\"gitBranch\":\"main\",\"slug\":\"quiet-rolling-lantern\"";
  }
  std::string id() { return "toolu_01" + std::to_string(1000000 + tool++); }

  void system_line(std::string_view subtype, const std::string& fields) {
    if (stream_json) return;
    head("system", "");
    o += ",\"subtype\":\"";
    o += subtype;
    o += "\"," + fields + "}\n";
  }

  void tool_use(const std::string& agent, const std::string& tid, bool spawn) {
    head("assistant", agent);
    o += ",\"message\":{\"model\":\"claude-opus-4-6\",\"id\":\"msg_02\",\"type\":\"message\",\"role\":\"assistant\","
         "\"content\":[{\"type\":\"tool_use\",\"id\":\"" + tid + "\",\"name\":\"";
    if (spawn) {
      o += "Agent\",\"input\":{\"description\":\"Explore the code\",\"prompt\":\"";
      text(r, o, 200 + r.below(400));
      o += "\",\"subagent_type\":\"Explore\"}}";
    } else {
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
    o += "],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":96}},"
         "\"requestId\":\"req_011\"}\n";
  }

  void tool_result(const std::string& agent, const std::string& tid, const std::string& spawned) {
    head("user", agent);
    bool err = spawned.empty() && r.below(10) == 0;
    o += ",\"message\":{\"role\":\"user\",\"content\":[{\"tool_use_id\":\"" + tid + "\",\"type\":\"tool_result\",\"content\":";
    if (!spawned.empty()) {
      o += "[{\"type\":\"text\",\"text\":\"";
      text(r, o, 300 + r.below(1200));
      o += "\"},{\"type\":\"text\",\"text\":\"agentId: " + spawned + " (for resuming to continue this agent's work if needed)\"}]}]}";
      o += stream_json ? ",\"tool_use_result\":" : ",\"toolUseResult\":";
      o += "{\"status\":\"completed\",\"agentId\":\"" + spawned + "\",\"totalDurationMs\":9400,\"totalToolUseCount\":3}}\n";
      return;
    }
    o += "\"";
    uint64_t size = r.below(10) == 0 ? 8000 + r.below(40000) : 500 + r.below(6000);
    text(r, o, size);
    o += err ? "\",\"is_error\":true}]}" : "\"}]}";
    o += stream_json ? ",\"tool_use_result\":" : ",\"toolUseResult\":";
    o += "{\"stdout\":\"\",\"stderr\":\"\",\"interrupted\":false,\"isImage\":false}}\n";
  }

  // One turn: a prompt, thinking, 2-7 steps of 1-3 tool calls (one line per tool_use block, as
  // 2.1.x writes them, a PreToolUse hook_progress line for some, one line per result), a closing
  // text, then stop_hook_summary and turn_duration. A main turn may spawn a subagent whose turn
  // runs between the Agent call and its result.
  void turn(const std::string& agent) {
    int64_t start = ms;
    head("user", agent);
    o += ",\"message\":{\"role\":\"user\",\"content\":\"";
    text(r, o, 100 + r.below(900));
    o += "\"}}\n";
    head("assistant", agent);
    o += ",\"message\":{\"model\":\"claude-opus-4-6\",\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\","
         "\"content\":[{\"type\":\"thinking\",\"thinking\":\"";
    text(r, o, 200 + r.below(1800));
    o += "\",\"signature\":\"EqQBCkYIBRgCKkBh\"}],\"stop_reason\":null,\"usage\":{\"input_tokens\":1200,\"output_tokens\":310}}}\n";
    bool spawn = agent.empty() && r.below(4) == 0;
    for (uint64_t step = 2 + r.below(6); step > 0; --step) {
      std::string ids[3];
      uint64_t n = 1 + (r.below(4) == 0 ? 1 + r.below(2) : 0);
      for (uint64_t k = 0; k < n; ++k) {
        ids[k] = id();
        tool_use(agent, ids[k], false);
      }
      for (uint64_t k = 0; k < n; ++k) {
        if (!stream_json && r.below(3) == 0) {
          head("progress", agent);
          o += ",\"data\":{\"type\":\"hook_progress\",\"hookEvent\":\"PreToolUse\",\"hookName\":\"PreToolUse:Bash\","
               "\"command\":\"python3 .claude/hooks/guard.py\"},\"parentToolUseID\":\"" + ids[k] + "\",\"toolUseID\":\"" +
               ids[k] + "\"}\n";
        }
        tool_result(agent, ids[k], "");
      }
    }
    if (spawn) {
      std::string tid = id(), sub = "a" + std::to_string(1000000000000000ull + agents++);
      tool_use(agent, tid, true);
      turn(stream_json ? tid : sub);
      tool_result(agent, tid, sub);
    }
    head("assistant", agent);
    o += ",\"message\":{\"model\":\"claude-opus-4-6\",\"id\":\"msg_03\",\"type\":\"message\",\"role\":\"assistant\","
         "\"content\":[{\"type\":\"text\",\"text\":\"";
    text(r, o, 100 + r.below(800));
    o += "\"}],\"stop_reason\":";
    o += agent.empty() ? "null}}\n" : "\"end_turn\"}}\n";  // subagents end on end_turn
    if (!agent.empty()) return;
    system_line("stop_hook_summary", "\"hookCount\":1,\"hookInfos\":[{\"command\":\"~/.claude/hooks/notify.sh\","
                                     "\"durationMs\":9}],\"hookErrors\":[],\"preventedContinuation\":false,"
                                     "\"stopReason\":\"\",\"hasOutput\":false,\"level\":\"suggestion\"");
    system_line("turn_duration", "\"durationMs\":" + std::to_string(ms - start) + ",\"messageCount\":12,\"isMeta\":false");
    if (!stream_json && r.below(5) == 0)
      o += "{\"type\":\"file-history-snapshot\",\"messageId\":\"m\",\"snapshot\":{\"messageId\":\"m\",\"trackedFileBackups\":{},"
           "\"timestamp\":\"2026-03-02T09:00:00.000Z\"},\"isSnapshotUpdate\":false}\n";
    if (++turns % 20 == 0 && !stream_json) {  // an automatic compaction between turns
      system_line("compact_boundary", "\"content\":\"Conversation compacted\",\"level\":\"info\","
                                      "\"compactMetadata\":{\"trigger\":\"auto\",\"preTokens\":167503}");
      head("user", "");
      o += ",\"message\":{\"role\":\"user\",\"content\":\"This session is being continued from a previous conversation "
           "that ran out of context. ";
      text(r, o, 2000 + r.below(3000));
      o += "\"},\"isVisibleInTranscriptOnly\":true,\"isCompactSummary\":true}\n";
    }
  }

  // stream-json: one `claude -p` run per turn, from its init line to its result line.
  void run() {
    o += "{\"type\":\"system\",\"subtype\":\"init\",\"cwd\":\"/home/dev/payments-api\",\"session_id\":\"" + session +
         "\",\"tools\":[\"Task\",\"Bash\",\"Glob\",\"Grep\",\"Read\",\"Edit\",\"Write\",\"WebFetch\"],\"mcp_servers\":[],"
         "\"model\":\"claude-opus-4-6\",\"permissionMode\":\"acceptEdits\",\"apiKeySource\":\"none\","
         "\"claude_code_version\":\"2.1.79\",\"output_style\":\"default\",\"uuid\":\"" + next_uuid() + "\"}\n";
    int64_t start = ms;
    turn("");
    o += "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"duration_ms\":" + std::to_string(ms - start) +
         ",\"duration_api_ms\":" + std::to_string((ms - start) * 9 / 10) + ",\"num_turns\":7,\"result\":\"";
    text(r, o, 100 + r.below(800));
    o += "\",\"session_id\":\"" + session + "\",\"total_cost_usd\":0.1842,\"usage\":{\"input_tokens\":18,"
         "\"output_tokens\":1203},\"permission_denials\":[],\"uuid\":\"" + next_uuid() + "\"}\n";
    // the next run is another session
    session[0] = "0123456789abcdef"[r.below(16)];
    session[1] = "0123456789abcdef"[r.below(16)];
  }
};

}  // namespace

int main(int argc, char** argv) {
  uint64_t bytes = 100000000, seed = 42;
  bool stream_json = false;
  const char* out = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--bytes" && i + 1 < argc) bytes = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--seed" && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--out" && i + 1 < argc) out = argv[++i];
    else if (a == "--stream-json") stream_json = true;
    else {
      std::fprintf(stderr, "usage: gen_claude_code [--bytes N] [--seed S] [--stream-json] [--out PATH]\n");
      return 2;
    }
  }
  FILE* f = out && std::strcmp(out, "-") != 0 ? std::fopen(out, "wb") : stdout;
  if (!f) {
    std::perror(out);
    return 1;
  }
  Gen g{Rng{seed}};
  g.stream_json = stream_json;
  uint64_t written = 0, lines = 0;
  while (written < bytes) {
    g.o.clear();
    if (g.stream_json) g.run();
    else g.turn("");
    for (char c : g.o) lines += c == '\n';
    std::fwrite(g.o.data(), 1, g.o.size(), f);
    written += g.o.size();
  }
  if (f != stdout) std::fclose(f);
  std::fprintf(stderr, "gen_claude_code: lines=%llu bytes=%llu seed=%llu\n", (unsigned long long)lines,
               (unsigned long long)written, (unsigned long long)seed);
  return 0;
}

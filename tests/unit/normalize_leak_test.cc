// Generated Claude Code, Codex, OpenHands and SWE-agent logs whose every content string (file text,
// command lines and output, prompts, thinking) carries a unique marker: after `normalize`,
// `validate` and `lifecycle`, no marker may appear in the output or the stats.
#include <catch2/catch.hpp>

#include "core/pipeline.h"
#include "tests/test_support.h"

using namespace agentlog;
using namespace agentlog::test;

namespace {

struct Gen {
  Rng rng{909};
  std::vector<std::string> markers;
  // A content string with a fresh marker (JSON-safe: letters, digits, spaces, punctuation).
  std::string content(std::string_view kind) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(rng.next()));
    std::string m = "LEAK" + std::string(kind) + std::to_string(markers.size()) + "x" + hex;
    markers.push_back(m);
    return m;
  }
  std::string q(std::string_view kind) { return json::quoted(content(kind) + " some text\nmore " + content(kind)); }
};

std::string claude_code(Gen& g, int sessions) {
  std::string o;
  for (int s = 0; s < sessions; ++s) {
    std::string sid = "sess-" + std::to_string(s);
    auto head = [&](std::string_view type, int n, bool side) {
      return "{\"type\":\"" + std::string(type) + "\",\"sessionId\":\"" + sid + "\",\"uuid\":\"u-" + std::to_string(s) +
             "-" + std::to_string(n) + "\",\"timestamp\":\"2026-03-02T09:14:" + std::to_string(10 + n) +
             ".000Z\",\"version\":\"2.0.14\",\"cwd\":\"/w\",\"userType\":\"external\",\"isSidechain\":" +
             (side ? "true,\"agentId\":\"a1\"" : "false");
    };
    o += head("user", 0, false) + ",\"message\":{\"role\":\"user\",\"content\":" + g.q("Prompt") + "}}\n";
    o += head("assistant", 1, false) + ",\"message\":{\"model\":\"m\",\"content\":[{\"type\":\"thinking\",\"thinking\":" +
         g.q("Think") + "},{\"type\":\"text\",\"text\":" + g.q("Text") + "}]}}\n";
    o += head("assistant", 2, false) + ",\"message\":{\"model\":\"m\",\"content\":[" +
         "{\"type\":\"tool_use\",\"id\":\"t" + std::to_string(s) + "a\",\"name\":\"Write\",\"input\":{\"file_path\":\"/w/f.txt\",\"content\":" +
         g.q("File") + "}}," + "{\"type\":\"tool_use\",\"id\":\"t" + std::to_string(s) +
         "b\",\"name\":\"Bash\",\"input\":{\"command\":\"TOKEN=" + g.content("Env") + " make " + g.content("Arg") +
         " | tee out\"}}," + "{\"type\":\"tool_use\",\"id\":\"t" + std::to_string(s) +
         "c\",\"name\":\"WebFetch\",\"input\":{\"url\":\"https://u:" + g.content("Pw") + "@example.com/" +
         g.content("Path") + "?q=" + g.content("Query") + "\",\"prompt\":" + g.q("Prompt") + "}}]}}\n";
    o += head("progress", 3, false) + ",\"data\":{\"output\":" + g.q("Progress") + "}}\n";
    o += head("user", 4, false) + ",\"message\":{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t" +
         std::to_string(s) + "a\",\"content\":" + g.q("Out") + "},{\"type\":\"tool_result\",\"tool_use_id\":\"t" +
         std::to_string(s) + "b\",\"is_error\":true,\"content\":[{\"type\":\"text\",\"text\":" + g.q("Out") +
         "}]}]},\"toolUseResult\":{\"stdout\":" + g.q("Out") + "}}\n";
    o += head("user", 5, true) + ",\"message\":{\"role\":\"user\",\"content\":" + g.q("SubPrompt") + "}}\n";
    o += head("assistant", 6, true) + ",\"message\":{\"model\":\"m\",\"stop_reason\":\"end_turn\",\"content\":[{\"type\":\"text\",\"text\":" +
         g.q("SubText") + "}]}}\n";
    o += "{\"type\":\"summary\",\"summary\":" + g.q("Summary") + "}\n";
  }
  return o;
}

// `claude -p --output-format stream-json`: init, a Task subagent, a hook block, a denial, a result.
std::string claude_stream_json(Gen& g, int runs) {
  std::string o;
  for (int s = 0; s < runs; ++s) {
    std::string sid = "sj-" + std::to_string(s), t = std::to_string(s);
    auto head = [&](std::string_view type, const char* parent) {
      return "{\"type\":\"" + std::string(type) + "\",\"session_id\":\"" + sid + "\",\"parent_tool_use_id\":" + parent;
    };
    o += "{\"type\":\"system\",\"subtype\":\"init\",\"cwd\":\"/w\",\"session_id\":\"" + sid +
         "\",\"model\":\"m\",\"permissionMode\":\"default\",\"claude_code_version\":\"2.1.79\"}\n";
    o += head("assistant", "null") + ",\"message\":{\"model\":\"m\",\"content\":[{\"type\":\"text\",\"text\":" + g.q("Text") +
         "},{\"type\":\"tool_use\",\"id\":\"k" + t + "\",\"name\":\"Task\",\"input\":{\"subagent_type\":\"Explore\",\"prompt\":" +
         g.q("Prompt") + "}}]}}\n";
    std::string parent = "\"k" + t + "\"";
    o += head("user", parent.c_str()) + ",\"message\":{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":" + g.q("SubPrompt") + "}]}}\n";
    o += head("assistant", parent.c_str()) + ",\"message\":{\"model\":\"m\",\"content\":[{\"type\":\"tool_use\",\"id\":\"b" + t +
         "\",\"name\":\"Bash\",\"input\":{\"command\":\"TOKEN=" + g.content("Env") + " make " + g.content("Arg") + "\"}}]}}\n";
    // a tool whose own error output looks like a hook block of another tool: not taken as a hook name
    o += head("user", parent.c_str()) + ",\"message\":{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"b" + t +
         "\",\"is_error\":true,\"content\":\"PreToolUse:" + g.content("Hook") + " hook error: [x]: " + g.content("Out") + "\"}]}}\n";
    o += head("user", "null") + ",\"message\":{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"k" + t +
         "\",\"content\":[{\"type\":\"text\",\"text\":" + g.q("Out") + "}]}]},\"tool_use_result\":{\"agentId\":\"a" + t + "\"}}\n";
    o += "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"duration_ms\":1234,\"result\":" + g.q("Final") +
         ",\"session_id\":\"" + sid + "\",\"total_cost_usd\":0.01}\n";
  }
  return o;
}

std::string codex(Gen& g, int sessions, const std::string& dir, std::vector<std::string>& files) {
  for (int s = 0; s < sessions; ++s) {
    std::string o;
    auto line = [&](int n, std::string_view type, const std::string& payload) {
      o += "{\"timestamp\":\"2026-03-04T16:02:" + std::to_string(10 + n) + ".000Z\",\"type\":\"" + std::string(type) +
           "\",\"payload\":" + payload + "}\n";
    };
    line(0, "session_meta", "{\"id\":\"cx-" + std::to_string(s) + "\",\"cli_version\":\"0.46.0\",\"originator\":\"codex_cli_rs\",\"cwd\":\"/w\",\"instructions\":" + g.q("Instr") + "}");
    line(1, "event_msg", "{\"type\":\"task_started\",\"turn_id\":\"t1\"}");
    line(2, "event_msg", "{\"type\":\"user_message\",\"message\":" + g.q("Prompt") + "}");
    line(3, "response_item", "{\"type\":\"reasoning\",\"summary\":[{\"type\":\"summary_text\",\"text\":" + g.q("Think") + "}]}");
    std::string args = "{\"command\":[\"bash\",\"-lc\",\"KEY=" + g.content("Env") + " cargo test " + g.content("Arg") + "\"]}";
    line(4, "response_item", "{\"type\":\"function_call\",\"name\":\"shell\",\"call_id\":\"c1\",\"arguments\":" + json::quoted(args) + "}");
    line(5, "response_item", "{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":" +
                                 json::quoted("{\"output\":\"" + g.content("Out") + "\",\"metadata\":{\"exit_code\":2}}") + "}");
    line(6, "response_item", "{\"type\":\"custom_tool_call\",\"name\":\"apply_patch\",\"call_id\":\"c2\",\"input\":" +
                                 json::quoted("*** Begin Patch\n*** Add File: src/a.rs\n+" + g.content("File") + "\n*** End Patch") + "}");
    line(7, "response_item", "{\"type\":\"custom_tool_call_output\",\"call_id\":\"c2\",\"output\":" + g.q("Out") + "}");
    line(8, "event_msg", "{\"type\":\"task_complete\",\"turn_id\":\"t1\",\"last_agent_message\":" + g.q("Final") + "}");
    std::string f = dir + "/rollout-" + std::to_string(s) + ".jsonl";
    write_file(f, o);
    files.push_back(f);
  }
  return {};
}

std::string openhands(Gen& g, int sessions) {
  std::string o;
  for (int s = 0; s < sessions; ++s) {
    int base = s * 10;
    auto id = [&](int k) { return std::to_string(base + k); };
    o += "{\"id\":" + id(0) + ",\"timestamp\":\"2026-03-05T10:20:00.1\",\"source\":\"agent\",\"action\":\"system\",\"message\":" +
         g.q("Sys") + ",\"args\":{\"content\":" + g.q("Sys") + ",\"openhands_version\":\"0.59.0\",\"agent_class\":\"CodeActAgent\"}}\n";
    o += "{\"id\":" + id(1) + ",\"timestamp\":\"2026-03-05T10:20:01\",\"source\":\"user\",\"action\":\"message\",\"message\":" +
         g.q("Prompt") + ",\"args\":{\"content\":" + g.q("Prompt") + "}}\n";
    o += "{\"id\":" + id(2) + ",\"timestamp\":\"2026-03-05T10:20:02\",\"source\":\"agent\",\"action\":\"run\",\"message\":" +
         g.q("Msg") + ",\"tool_call_metadata\":{\"function_name\":\"execute_bash\",\"tool_call_id\":\"tc" + id(2) +
         "\"},\"args\":{\"command\":\"cd /w && SECRET=" + g.content("Env") + " npm test " + g.content("Arg") +
         "\",\"thought\":" + g.q("Think") + "}}\n";
    o += "{\"id\":" + id(3) + ",\"timestamp\":\"2026-03-05T10:20:03\",\"source\":\"agent\",\"observation\":\"run\",\"cause\":" +
         id(2) + ",\"message\":" + g.q("Msg") + ",\"content\":" + g.q("Out") + ",\"extras\":{\"command\":" + g.q("Cmd") +
         ",\"metadata\":{\"exit_code\":0}}}\n";
    o += "{\"id\":" + id(4) + ",\"timestamp\":\"2026-03-05T10:20:04\",\"source\":\"agent\",\"action\":\"write\",\"args\":{\"path\":\"/w/x.py\",\"content\":" +
         g.q("File") + "}}\n";
    o += "{\"id\":" + id(5) + ",\"timestamp\":\"2026-03-05T10:20:05\",\"source\":\"agent\",\"observation\":\"write\",\"cause\":" +
         id(4) + ",\"content\":" + g.q("Out") + ",\"extras\":{\"path\":\"/w/x.py\"}}\n";
    o += "{\"id\":" + id(6) + ",\"timestamp\":\"2026-03-05T10:20:06\",\"source\":\"agent\",\"action\":\"finish\",\"args\":{\"final_thought\":" +
         g.q("Final") + "}}\n";
  }
  return o;
}

void check_no_leak(const std::string& config, const std::vector<std::string>& inputs, const Gen& g,
                   size_t min_records) {
  PipelineSpec spec;
  Status st = load_pipeline_text(config, "leak.yaml", spec);
  INFO(st.message());
  REQUIRE(st.ok());
  RunResult r = run_captured(spec, inputs, temp_dir("normalize-leak-out"));
  INFO(r.error);
  REQUIRE(r.exit_code == 0);
  CHECK(r.dead.empty());
  CHECK(r.stats.records_generated >= min_records);
  CHECK(r.stats.records_in == r.stats.records_out + r.stats.dropped + r.stats.dead_lettered);
  std::string stats = stats_to_json(spec, r.stats);
  REQUIRE(g.markers.size() > 50);
  size_t leaked = 0;
  for (const auto& m : g.markers) {
    bool in_out = r.out.find(m) != std::string::npos, in_stats = stats.find(m) != std::string::npos;
    if (in_out || in_stats) {
      ++leaked;
      UNSCOPED_INFO("leaked: " << m << (in_out ? " (output)" : " (stats)"));
    }
  }
  CHECK(leaked == 0);
  // The scan itself works: non-content values do reach the output.
  CHECK(r.out.find("\"tool_call\"") != std::string::npos);
}

const char* kStages =
    "    - {type: validate, schema: agent-activity}\n"
    "    - {type: lifecycle, profile: agent-activity}\n";

}  // namespace

TEST_CASE("normalize copies no content: Claude Code", "[normalize][leak]") {
  Gen g;
  auto dir = temp_dir("normalize-leak-claude");
  write_file(dir / "s.jsonl", claude_code(g, 40));
  check_no_leak(std::string("pipeline:\n  stages:\n    - {type: normalize, format: claude-code}\n") + kStages,
                {(dir / "s.jsonl").string()}, g, 40 * 8);
}

TEST_CASE("normalize copies no content: Codex", "[normalize][leak]") {
  Gen g;
  auto dir = temp_dir("normalize-leak-codex");
  std::vector<std::string> files;
  codex(g, 30, dir.string(), files);
  check_no_leak(std::string("pipeline:\n  stages:\n    - {type: normalize, format: codex}\n") + kStages, files, g,
                30 * 6);
}

TEST_CASE("normalize copies no content: OpenHands", "[normalize][leak]") {
  Gen g;
  auto dir = temp_dir("normalize-leak-openhands");
  write_file(dir / "events.jsonl", openhands(g, 30));
  check_no_leak(std::string("pipeline:\n  stages:\n    - {type: normalize, format: openhands}\n") + kStages,
                {(dir / "events.jsonl").string()}, g, 30 * 6);
}

namespace {

// SWE-agent trajectories, one per line: 1.x (function calling) and 0.x (thought/action).
std::string swe_agent(Gen& g, int trajectories) {
  std::string o;
  for (int t = 0; t < trajectories; ++t) {
    std::string id = "tc" + std::to_string(t);
    auto text = [&](std::string_view kind) { return "[{\"type\":\"text\",\"text\":" + g.q(kind) + "}]"; };
    std::string bash_args = "{\"command\":\"cd /testbed && SECRET=" + g.content("Env") + " python " + g.content("Arg") + "\"}";
    std::string edit_args = "{\"command\":\"str_replace\",\"path\":\"/testbed/a.py\",\"old_str\":" + g.q("Old") +
                            ",\"new_str\":" + g.q("New") + "}";
    o += "{\"trajectory\":[{\"action\":" + g.q("Action") + ",\"observation\":" + g.q("Obs") +
         ",\"execution_time\":0.5,\"state\":{\"working_dir\":\"/testbed\"}}],\"history\":[" +
         "{\"role\":\"system\",\"content\":" + g.q("System") + ",\"agent\":\"main\"}," +
         "{\"role\":\"user\",\"content\":" + text("Task") + ",\"agent\":\"main\",\"message_type\":\"observation\"}," +
         "{\"role\":\"assistant\",\"content\":" + g.q("Thought") + ",\"thought\":" + g.q("Thought") +
         ",\"action\":" + g.q("Action") + ",\"tool_calls\":[{\"id\":\"" + id + "a\",\"type\":\"function\",\"function\":{\"name\":\"bash\",\"arguments\":" +
         json::quoted(bash_args) + "}},{\"id\":\"" + id + "b\",\"type\":\"function\",\"function\":{\"name\":\"str_replace_editor\",\"arguments\":" +
         json::quoted(edit_args) + "}}],\"message_type\":\"action\"}," +
         "{\"role\":\"tool\",\"content\":" + text("Out") + ",\"tool_call_ids\":[\"" + id + "a\"]}," +
         "{\"role\":\"tool\",\"content\":" + text("Out") + ",\"tool_call_ids\":[\"" + id + "b\"]}," +
         "{\"role\":\"assistant\",\"content\":" + g.q("Thought") + ",\"thought\":" + g.q("Thought") +
         ",\"action\":\"TOKEN=" + g.content("Env") + " make " + g.content("Arg") + "\\n\"}," +
         "{\"role\":\"user\",\"content\":" + g.q("Obs") + "}]," +
         "\"info\":{\"exit_status\":\"submitted\",\"submission\":" + g.q("Patch") +
         ",\"model_stats\":{\"instance_cost\":0.25}},\"replay_config\":" +
         json::quoted("{\"agent\":{\"model\":{\"name\":\"m\"}},\"problem_statement\":{\"text\":\"" + g.content("Task") +
                      "\",\"id\":\"inst-" + std::to_string(t) + "\"}}") +
         ",\"environment\":\"main\"}\n";
  }
  return o;
}

}  // namespace

TEST_CASE("normalize copies no content: SWE-agent", "[normalize][leak]") {
  Gen g;
  auto dir = temp_dir("normalize-leak-swe-agent");
  write_file(dir / "trajectories.jsonl", swe_agent(g, 30));
  check_no_leak(std::string("pipeline:\n  stages:\n    - {type: normalize, format: swe-agent}\n") + kStages,
                {(dir / "trajectories.jsonl").string()}, g, 30 * 8);
}

TEST_CASE("normalize copies no content: Claude stream-json", "[normalize][leak]") {
  Gen g;
  auto dir = temp_dir("normalize-leak-claude-stream-json");
  write_file(dir / "s.jsonl", claude_stream_json(g, 30));
  check_no_leak(std::string("pipeline:\n  stages:\n    - {type: normalize, format: claude-stream-json}\n") + kStages,
                {(dir / "s.jsonl").string()}, g, 30 * 8);
}

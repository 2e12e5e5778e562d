// Generates agent logs for the `normalize` benchmark, in the shapes the tools write:
//   codex      a Codex CLI rollout (JSONL): session_meta, turns of task_started, turn_context,
//              the prompt, reasoning, function calls (shell, apply_patch, escalated shell) and
//              their outputs, token counts, agent messages, task_complete
//   openhands  an OpenHands event stream as JSON lines: system, messages, state changes, run /
//              read / edit actions with tool_call_metadata, observations with their content
//   swe-agent  SWE-agent 1.x trajectories, one per line (JSONL): history with tool_calls and
//              tool observations, trajectory steps, info with exit_status, submission, cost
// Standard library only; deterministic (own splitmix64 PRNG, integer arithmetic).
//
//   gen_agent_logs --format codex|openhands|swe-agent [--bytes N] [--seed S] [--out PATH] [--one-trajectory]
//
// --one-trajectory (swe-agent): one trajectory object of about N bytes instead of JSONL.
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

// Source-code-like raw text (not escaped): words, indentation, newlines, tabs, quotes.
void raw_text(Rng& r, std::string& o, size_t bytes) {
  size_t start = o.size();
  while (o.size() - start < bytes) {
    o.append(r.below(4) * 2, ' ');
    for (size_t w = 3 + r.below(8); w > 0; --w) {
      o += kWords[r.below(sizeof kWords / sizeof *kWords)];
      uint64_t p = r.below(20);
      o += p == 0 ? "(\"x\")" : p == 1 ? "\t" : p == 2 ? " = " : " ";
    }
    o += '\n';
  }
}

// Appends `s` as the body of a JSON string.
void escaped(std::string& o, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      default: o += c;
    }
  }
}

// A JSON string of source-like text of about `bytes` bytes.
std::string jtext(Rng& r, size_t bytes) {
  std::string raw, o = "\"";
  raw_text(r, raw, bytes);
  escaped(o, raw);
  return o + "\"";
}

// A JSON string holding the JSON text `json` (arguments, outputs with metadata).
std::string jstring_of(std::string_view json) {
  std::string o = "\"";
  escaped(o, json);
  return o + "\"";
}

std::string b64ish(Rng& r, size_t n) {
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string o;
  for (size_t i = 0; i < n; ++i) o += kB64[r.below(64)];
  return o;
}

std::string rfc3339(int64_t ms, bool zone) {
  int64_t s = ms / 1000, msec = ms % 1000;
  int64_t days = s / 86400, rem = s % 86400;
  // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
  int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365, y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[96];
  std::snprintf(buf, sizeof buf, zone ? "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ"
                                      : "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lld412",
                (long long)y, (long long)m, (long long)d, (long long)(rem / 3600), (long long)(rem / 60 % 60),
                (long long)(rem % 60), (long long)msec);
  return buf;
}

struct Gen {
  Rng r{42};
  int64_t ms = 1772442000000;  // 2026-03-02T09:00:00Z
  uint64_t n = 0;
  std::string o;
  std::string now(bool zone = true) {
    ms += 20 + static_cast<int64_t>(r.below(3000));
    return rfc3339(ms, zone);
  }
  std::string id(std::string_view prefix) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08llx", (unsigned long long)++n);
    return std::string(prefix) + buf;
  }
};

// ---- Codex ------------------------------------------------------------------------------

void codex_line(Gen& g, std::string_view type, const std::string& payload) {
  g.o += "{\"timestamp\":\"" + g.now() + "\",\"type\":\"" + std::string(type) + "\",\"payload\":" + payload + "}\n";
}

void codex_turn(Gen& g, int turn) {
  Rng& r = g.r;
  std::string tid = std::to_string(turn);
  codex_line(g, "event_msg", "{\"type\":\"task_started\",\"turn_id\":\"" + tid + "\",\"model_context_window\":272000}");
  codex_line(g, "turn_context",
             "{\"cwd\":\"/home/dev/payments-api\",\"approval_policy\":\"on-request\",\"sandbox_policy\":{\"mode\":"
             "\"workspace-write\",\"network_access\":false},\"model\":\"gpt-5.1-codex\",\"effort\":\"medium\","
             "\"summary\":\"auto\"}");
  std::string prompt = jtext(r, r.between(100, 1000));
  codex_line(g, "response_item",
             "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":" + prompt + "}]}");
  codex_line(g, "event_msg", "{\"type\":\"user_message\",\"message\":" + prompt + ",\"images\":[]}");
  for (size_t step = r.between(2, 8); step > 0; --step) {
    codex_line(g, "response_item",
               "{\"type\":\"reasoning\",\"summary\":[{\"type\":\"summary_text\",\"text\":" + jtext(r, r.between(80, 400)) +
                   "}],\"content\":null,\"encrypted_content\":\"gAAAAA" + b64ish(r, r.between(800, 3000)) + "\"}");
    std::string call = g.id("call_");
    uint64_t kind = r.below(10);
    if (kind < 3) {
      std::string patch = "*** Begin Patch\n*** Update File: src/payments/refund.py\n@@\n";
      raw_text(r, patch, r.between(300, 5000));
      patch += "*** End Patch\n";
      std::string input = "\"";
      escaped(input, patch);
      input += "\"";
      codex_line(g, "response_item",
                 "{\"type\":\"custom_tool_call\",\"status\":\"completed\",\"call_id\":\"" + call +
                     "\",\"name\":\"apply_patch\",\"input\":" + input + "}");
      codex_line(g, "response_item",
                 "{\"type\":\"custom_tool_call_output\",\"call_id\":\"" + call + "\",\"output\":" +
                     jstring_of("{\"output\":\"Success. Updated the following files:\\nM src/payments/refund.py\\n\","
                                "\"metadata\":{\"exit_code\":0,\"duration_seconds\":0.0}}") +
                     "}");
    } else {
      std::string cmd;
      raw_text(r, cmd, r.between(20, 300));
      std::string args = "{\"command\":[\"bash\",\"-lc\",\"pytest -q ";
      escaped(args, cmd);
      args += "\"],\"workdir\":\"/home/dev/payments-api\",\"timeout_ms\":120000";
      if (kind == 9) args += ",\"sandbox_permissions\":\"require_escalated\",\"justification\":\"needs network\"";
      args += "}";
      codex_line(g, "response_item",
                 "{\"type\":\"function_call\",\"name\":\"shell\",\"arguments\":" + jstring_of(args) +
                     ",\"call_id\":\"" + call + "\"}");
      codex_line(g, "event_msg",
                 "{\"type\":\"token_count\",\"info\":{\"total_token_usage\":{\"input_tokens\":81234,\"output_tokens\":"
                 "2110}},\"rate_limits\":{\"primary\":{\"used_percent\":3.0,\"window_minutes\":299}}}");
      std::string out;
      raw_text(r, out, r.below(10) == 0 ? r.between(8000, 48000) : r.between(500, 8000));
      std::string body = "{\"output\":\"";
      escaped(body, out);
      body += "\",\"metadata\":{\"exit_code\":" + std::to_string(r.below(5) == 0 ? 1 : 0) +
              ",\"duration_seconds\":1.2}}";
      codex_line(g, "response_item",
                 "{\"type\":\"function_call_output\",\"call_id\":\"" + call + "\",\"output\":" + jstring_of(body) + "}");
    }
  }
  std::string answer = jtext(r, r.between(200, 1500));
  codex_line(g, "response_item",
             "{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":" + answer +
                 "}]}");
  codex_line(g, "event_msg", "{\"type\":\"agent_message\",\"message\":" + answer + "}");
  codex_line(g, "event_msg", "{\"type\":\"task_complete\",\"turn_id\":\"" + tid +
                                 "\",\"last_agent_message\":null,\"duration_ms\":" +
                                 std::to_string(1000 + g.r.below(60000)) + "}");
}

// ---- OpenHands --------------------------------------------------------------------------

void oh_event(Gen& g, const std::string& rest) {
  g.o += "{\"id\":" + std::to_string(g.n++) + ",\"timestamp\":\"" + g.now(false) + "\"," + rest + "}\n";
}

void openhands_session(Gen& g) {
  Rng& r = g.r;
  oh_event(g, "\"source\":\"agent\",\"message\":\"You are OpenHands agent\",\"action\":\"system\",\"args\":{\"content\":" +
                  jtext(r, 3000) + ",\"tools\":[],\"openhands_version\":\"0.59.0\",\"agent_class\":\"CodeActAgent\"}");
  for (int turn = 0; turn < 5; ++turn) {
    std::string prompt = jtext(r, r.between(100, 1000));
    oh_event(g, "\"source\":\"user\",\"message\":" + prompt + ",\"action\":\"message\",\"args\":{\"content\":" + prompt +
                    ",\"image_urls\":null,\"wait_for_response\":false}");
    oh_event(g, "\"source\":\"environment\",\"message\":\"\",\"observation\":\"agent_state_changed\",\"content\":\"\","
                "\"extras\":{\"agent_state\":\"running\",\"reason\":\"\"}");
    for (size_t step = r.between(2, 8); step > 0; --step) {
      uint64_t kind = r.below(3);
      std::string tc = g.id("toolu_");
      std::string fn = kind == 0 ? "execute_bash" : "str_replace_editor";
      std::string meta = "\"tool_call_metadata\":{\"function_name\":\"" + fn + "\",\"tool_call_id\":\"" + tc +
                         "\",\"model_response\":{\"id\":\"chatcmpl-" + b64ish(r, 20) +
                         "\",\"model\":\"claude-sonnet-4\",\"choices\":[{\"message\":{\"content\":" +
                         jtext(r, r.between(200, 1500)) + "}}]},\"total_calls_in_response\":1}";
      uint64_t action_id = g.n;
      if (kind == 0) {
        std::string cmd;
        raw_text(r, cmd, r.between(20, 300));
        std::string jcmd = "\"cd /workspace && python -m pytest ";
        escaped(jcmd, cmd);
        jcmd += "\"";
        oh_event(g, "\"source\":\"agent\",\"message\":\"Running command\",\"action\":\"run\"," + meta +
                        ",\"args\":{\"command\":" + jcmd +
                        ",\"is_input\":false,\"thought\":" + jtext(r, r.between(50, 400)) +
                        ",\"blocking\":false,\"hidden\":false,\"confirmation_state\":\"confirmed\"}");
        oh_event(g, "\"source\":\"agent\",\"message\":\"Command executed.\",\"cause\":" + std::to_string(action_id) +
                        ",\"observation\":\"run\"," + meta + ",\"content\":" +
                        jtext(r, r.below(10) == 0 ? r.between(8000, 48000) : r.between(500, 8000)) +
                        ",\"extras\":{\"command\":" + jcmd + ",\"metadata\":{\"exit_code\":" +
                        std::to_string(r.below(5) == 0 ? 1 : 0) +
                        ",\"pid\":-1,\"username\":\"root\",\"working_dir\":\"/workspace\"},\"hidden\":false}");
      } else if (kind == 1) {
        oh_event(g, "\"source\":\"agent\",\"message\":\"Reading file\",\"action\":\"read\"," + meta +
                        ",\"args\":{\"path\":\"/workspace/src/payments/refund.py\",\"start\":0,\"end\":-1,"
                        "\"thought\":\"\",\"impl_source\":\"oh_aci\",\"view_range\":null}");
        oh_event(g, "\"source\":\"agent\",\"message\":\"I read the file.\",\"cause\":" + std::to_string(action_id) +
                        ",\"observation\":\"read\"," + meta + ",\"content\":" + jtext(r, r.between(500, 8000)) +
                        ",\"extras\":{\"path\":\"/workspace/src/payments/refund.py\",\"impl_source\":\"oh_aci\"}");
      } else {
        std::string old_s = jtext(r, r.between(100, 700)), new_s = jtext(r, r.between(100, 700));
        oh_event(g, "\"source\":\"agent\",\"message\":\"\",\"action\":\"edit\"," + meta +
                        ",\"args\":{\"path\":\"/workspace/src/payments/refund.py\",\"command\":\"" +
                        (r.below(4) == 0 ? "create" : "str_replace") + "\",\"file_text\":null,\"old_str\":" + old_s +
                        ",\"new_str\":" + new_s + ",\"insert_line\":null,\"content\":\"\",\"start\":1,\"end\":-1,"
                        "\"thought\":\"\",\"impl_source\":\"oh_aci\"}");
        oh_event(g, "\"source\":\"agent\",\"message\":\"I edited the file.\",\"cause\":" + std::to_string(action_id) +
                        ",\"observation\":\"edit\"," + meta + ",\"content\":" + jtext(r, r.between(200, 2000)) +
                        ",\"extras\":{\"path\":\"/workspace/src/payments/refund.py\",\"prev_exist\":true,"
                        "\"old_content\":" + old_s + ",\"new_content\":" + new_s + ",\"impl_source\":\"oh_aci\"}");
      }
    }
    oh_event(g, "\"source\":\"agent\",\"message\":" + jtext(r, r.between(200, 1000)) +
                    ",\"action\":\"message\",\"args\":{\"content\":\"done\",\"image_urls\":null,\"wait_for_response\":true}");
    oh_event(g, "\"source\":\"environment\",\"message\":\"\",\"observation\":\"agent_state_changed\",\"content\":\"\","
                "\"extras\":{\"agent_state\":\"awaiting_user_input\",\"reason\":\"\"}");
  }
}

// ---- SWE-agent --------------------------------------------------------------------------

// One trajectory; with `stop_bytes` > 0 its steps continue until history passes that size
// (one large .traj object).
void swe_trajectory(Gen& g, uint64_t index, size_t stop_bytes) {
  Rng& r = g.r;
  std::string instance = "acme__payments-" + std::to_string(1000 + index);
  std::string sys = jtext(r, 2000), task = jtext(r, r.between(500, 3000));
  std::string history = "[{\"role\":\"system\",\"content\":" + sys +
                        ",\"agent\":\"main\",\"message_type\":\"system_prompt\"},{\"role\":\"user\",\"content\":[{"
                        "\"type\":\"text\",\"text\":" + task + "}],\"agent\":\"main\",\"message_type\":\"observation\"}";
  std::string traj = "[";
  size_t steps = stop_bytes ? SIZE_MAX : r.between(10, 40);
  for (size_t k = 0; k < steps; ++k) {
    if (stop_bytes && history.size() >= stop_bytes) steps = k + 1;
    std::string tc = g.id("toolu_01");
    std::string thought = jtext(r, r.between(100, 800));
    std::string name, args;
    uint64_t kind = k + 1 == steps ? 3 : r.below(3);
    if (kind == 0) {
      std::string cmd = "{\"command\":\"cd /testbed && python -m pytest ";
      std::string c;
      raw_text(r, c, r.between(20, 200));
      escaped(cmd, c);
      name = "bash", args = cmd + "\"}";
    } else if (kind == 1) {
      name = "str_replace_editor", args = "{\"command\":\"view\",\"path\":\"/testbed/src/payments/refund.py\"}";
    } else if (kind == 2) {
      std::string a = "{\"command\":\"str_replace\",\"path\":\"/testbed/src/payments/refund.py\",\"old_str\":\"";
      std::string t;
      raw_text(r, t, r.between(100, 600));
      escaped(a, t);
      a += "\",\"new_str\":\"";
      t.clear();
      raw_text(r, t, r.between(100, 600));
      escaped(a, t);
      name = "str_replace_editor", args = a + "\"}";
    } else {
      name = "submit", args = "{}";
    }
    std::string obs = jtext(r, r.below(10) == 0 ? r.between(8000, 30000) : r.between(300, 6000));
    history += ",{\"role\":\"assistant\",\"content\":" + thought + ",\"thought\":" + thought + ",\"action\":\"" + name +
               "\",\"agent\":\"main\",\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":" + jstring_of(args) +
               ",\"name\":\"" + name + "\"},\"id\":\"" + tc +
               "\",\"type\":\"function\"}],\"message_type\":\"action\",\"thinking_blocks\":[]}";
    history += ",{\"role\":\"tool\",\"content\":[{\"type\":\"text\",\"text\":" + obs +
               "}],\"agent\":\"main\",\"message_type\":\"observation\",\"tool_call_ids\":[\"" + tc + "\"]}";
    traj += std::string(k ? "," : "") + "{\"action\":\"" + name + "\",\"observation\":" + obs + ",\"response\":" +
            thought + ",\"thought\":" + thought + ",\"execution_time\":" + std::to_string(r.below(3)) + "." +
            std::to_string(100 + r.below(900)) + ",\"state\":{\"working_dir\":\"/testbed\"},\"query\":[{\"role\":"
            "\"system\",\"content\":\"(trimmed)\"}],\"extra_info\":{}}";
  }
  history += "]";
  traj += "]";
  std::string replay = "{\"agent\":{\"name\":\"main\",\"model\":{\"name\":\"claude-3-7-sonnet-20250219\","
                       "\"per_instance_cost_limit\":3.0}},\"problem_statement\":{\"type\":\"text\",\"id\":\"" +
                       instance + "\"}}";
  g.o += "{\"trajectory\":" + traj + ",\"history\":" + history +
         ",\"info\":{\"swe_agent_hash\":\"0f6d4a3e\",\"swe_agent_version\":\"1.0.1\",\"submission\":" +
         jtext(r, r.between(300, 3000)) + ",\"exit_status\":\"" + (r.below(8) == 0 ? "exit_cost" : "submitted") +
         "\",\"model_stats\":{\"instance_cost\":0." + std::to_string(100 + r.below(900)) +
         ",\"tokens_sent\":81234,\"tokens_received\":2110,\"api_calls\":" + std::to_string(steps) +
         "}},\"replay_config\":" + jstring_of(replay) + ",\"environment\":\"main\"}\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string format, out_path = "-";
  uint64_t bytes = 100000000, seed = 42;
  bool one = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "gen_agent_logs: %s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--format") format = value();
    else if (a == "--bytes") bytes = std::strtoull(value(), nullptr, 10);
    else if (a == "--seed") seed = std::strtoull(value(), nullptr, 10);
    else if (a == "--out") out_path = value();
    else if (a == "--one-trajectory") one = true;
    else {
      std::fprintf(stderr, "usage: gen_agent_logs --format codex|openhands|swe-agent [--bytes N] [--seed S] [--out PATH]\n");
      return 2;
    }
  }
  if (format != "codex" && format != "openhands" && format != "swe-agent") {
    std::fprintf(stderr, "gen_agent_logs: --format must be codex, openhands or swe-agent\n");
    return 2;
  }
  FILE* f = out_path == "-" ? stdout : std::fopen(out_path.c_str(), "wb");
  if (!f) {
    std::perror(out_path.c_str());
    return 1;
  }
  Gen g;
  g.r = Rng{seed};
  uint64_t written = 0, lines = 0, unit = 0;
  auto flush = [&] {
    for (char c : g.o) lines += c == '\n';
    std::fwrite(g.o.data(), 1, g.o.size(), f);
    written += g.o.size();
    g.o.clear();
  };
  if (format == "codex") {
    g.o += "{\"timestamp\":\"" + g.now() +
           "\",\"type\":\"session_meta\",\"payload\":{\"id\":\"019a5b10-2f3d-7a61-8c44-7e0d9b6f1a22\",\"cwd\":"
           "\"/home/dev/payments-api\",\"originator\":\"codex_cli_rs\",\"cli_version\":\"0.58.0\",\"instructions\":null}}\n";
  }
  while (written < bytes) {
    if (format == "codex") codex_turn(g, static_cast<int>(unit));
    else if (format == "openhands") openhands_session(g);
    else swe_trajectory(g, unit, one ? bytes / 2 : 0);
    ++unit;
    flush();
    if (one) break;
  }
  if (f != stdout) std::fclose(f);
  std::fprintf(stderr, "gen_agent_logs: format=%s bytes=%llu lines=%llu units=%llu seed=%llu\n", format.c_str(),
               (unsigned long long)written, (unsigned long long)lines, (unsigned long long)unit,
               (unsigned long long)seed);
  return 0;
}

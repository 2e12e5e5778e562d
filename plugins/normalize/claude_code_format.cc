// Claude Code session transcripts (~/.claude/projects/<project>/<session>.jsonl) to spec 002.
// The mapping tables are in README.md, section "normalize: claude-code".
#include <algorithm>
#include <unordered_map>

#include "plugins/normalize/normalize_format.h"

namespace agentlog::plugins::normalize {
namespace {

constexpr std::string_view kFormat = "claude-code";

enum class Target : uint8_t { Path, Command, Url, Ident, Fixed, Cwd };

struct ToolRule {
  std::string_view tool, action;
  Target target;
  std::string_view key;         // input member (Path, Command, Url, Ident) or fixed text
  std::string_view prefix = {};  // put before an Ident target
  bool escalates = false;        // asks the user for approval: also an escalation
};

// Per-tool mapping: tool_action and where tool_target comes from.
constexpr ToolRule kTools[] = {
    {"Read", "read", Target::Path, "file_path"},
    {"Write", "create", Target::Path, "file_path"},
    {"Edit", "update", Target::Path, "file_path"},
    {"MultiEdit", "update", Target::Path, "file_path"},
    {"NotebookEdit", "update", Target::Path, "notebook_path"},
    {"NotebookRead", "read", Target::Path, "notebook_path"},
    {"Bash", "execute", Target::Command, "command"},
    {"BashOutput", "read", Target::Ident, "bash_id", "shell:"},
    {"KillShell", "delete", Target::Ident, "shell_id", "shell:"},
    {"KillBash", "delete", Target::Ident, "shell_id", "shell:"},
    {"Glob", "read", Target::Path, "path"},
    {"Grep", "read", Target::Path, "path"},
    {"LS", "read", Target::Path, "path"},
    {"WebFetch", "read", Target::Url, "url"},
    {"WebSearch", "read", Target::Fixed, "web-search"},
    {"Task", "execute", Target::Ident, "subagent_type", "agent:"},
    {"Agent", "execute", Target::Ident, "subagent_type", "agent:"},
    {"TodoWrite", "update", Target::Fixed, "todo-list"},
    {"ExitPlanMode", "execute", Target::Fixed, "plan", {}, true},
    {"SlashCommand", "execute", Target::Fixed, "slash-command"},
};

// Lines that carry no action: counted by type and dropped.
constexpr std::string_view kNoActionTypes[] = {"system", "summary", "progress", "file-history-snapshot",
                                               "queue-operation"};

constexpr std::string_view kDenials[] = {"The user doesn't want to proceed with this tool use",
                                         "The user doesn't want to take this action right now"};

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// The text a content value starts with: the string, or the first text block of an array.
std::string_view leading_text(element content) {
  std::string_view s;
  if (content.get(s) == simdjson::SUCCESS) return s;
  simdjson::dom::array a;
  if (content.get(a) != simdjson::SUCCESS) return {};
  for (element b : a) {
    object o;
    if (b.get(o) != simdjson::SUCCESS) continue;
    if (str_at(o, "type").value_or("") == "text") return str_at(o, "text").value_or("");
  }
  return {};
}

bool is_denial(element content) {
  std::string_view t = leading_text(content);
  for (auto d : kDenials)
    if (starts_with(t, d)) return true;
  // A permission rule that denies: "Permission to use Bash with command ... has been denied."
  return starts_with(t, "Permission to use ") && t.substr(0, 2048).find("has been denied") != std::string_view::npos;
}

struct Turn {
  bool open = false;
  std::string id;  // the prompt entry's uuid
  std::string last_time;
};

class ClaudeCode : public Format {
 public:
  void convert(object line, const LineRef& ref, Converted& out) override {
    read_top(line);
    if (!top_.type) {
      out.type = "(no type)";
      out.why = "type: field is missing or not a string (a Claude Code transcript line has one)";
      return;
    }
    std::string_view type = *top_.type;
    out.type = std::string(type_word(type));
    bool user = type == "user", assistant = type == "assistant";
    if (!user && !assistant) {
      out.known_type = std::find(std::begin(kNoActionTypes), std::end(kNoActionTypes), type) != std::end(kNoActionTypes);
      return;
    }
    if (!setup(ref, out)) return;
    if (assistant) convert_assistant(ref, out);
    else convert_user(ref, out);
  }

 private:
  // The top-level members the format reads, found in one pass (the first of duplicates wins).
  struct Top {
    std::optional<std::string_view> type, session, timestamp, version, user_type, permission_mode, cwd, uuid, agent;
    std::optional<element> message;
    bool sidechain = false, meta = false;
  };

  void read_top(object line) {
    top_ = Top{};
    for (auto [key, value] : line) {
      std::optional<std::string_view>* slot = nullptr;
      switch (key.size()) {
        case 3: if (key == "cwd") slot = &top_.cwd; break;
        case 4:
          if (key == "type") slot = &top_.type;
          else if (key == "uuid") slot = &top_.uuid;
          break;
        case 6: if (key == "isMeta") top_.meta = top_.meta || (value.is_bool() && value.get_bool().value_unsafe()); break;
        case 7:
          if (key == "version") slot = &top_.version;
          else if (key == "message" && !top_.message) top_.message = value;
          else if (key == "agentId") slot = &top_.agent;
          break;
        case 8: if (key == "userType") slot = &top_.user_type; break;
        case 9:
          if (key == "sessionId") slot = &top_.session;
          else if (key == "timestamp") slot = &top_.timestamp;
          break;
        case 11: if (key == "isSidechain") top_.sidechain = value.is_bool() && value.get_bool().value_unsafe(); break;
        case 14: if (key == "permissionMode") slot = &top_.permission_mode; break;
        default: break;
      }
      std::string_view v;
      if (slot && !*slot && value.get(v) == simdjson::SUCCESS) *slot = v;
    }
  }

  // Reads what every record of the line shares into base_.
  bool setup(const LineRef& ref, Converted& out) {
    auto session = top_.session;
    if (!session || session->empty()) return fail(out, "sessionId: field is missing or not a non-empty string");
    auto time = line_time(top_.timestamp, "RFC 3339", out.why);
    if (!time) return false;
    object msg;
    if (!top_.message || top_.message->get(msg) != simdjson::SUCCESS)
      return fail(out, "message: field is missing or not an object");
    message_ = msg;
    if (msg["content"].get(content_) != simdjson::SUCCESS || (!content_.is_string() && !content_.is_array()))
      return fail(out, "message.content: expected a string or an array of blocks");
    base_ = Canon{};
    base_.event_time = std::move(time->first);
    now_ms_ = time->second;
    base_.run_id = std::string(*session);
    bool sidechain = top_.sidechain;
    auto agent = top_.agent;
    base_.agent_id = "claude-code";
    if (agent && !agent->empty()) base_.agent_id += "/" + std::string(ident_or(*agent, "subagent"));
    else if (sidechain) base_.agent_id += "/sidechain";
    base_.recursion_depth = sidechain || agent ? 1 : 0;
    base_.agent_version = std::string(ident_or(top_.version.value_or(""), kUnknown));
    if (auto ut = top_.user_type) base_.actor_id = "user:" + std::string(ident_or(*ut, kUnknown));
    if (auto pm = top_.permission_mode) {
      if (modes_.size() > 100000) modes_.clear();  // bounded: forget old sessions
      modes_[base_.run_id] = std::string(ident_or(*pm, kUnknown));
    }
    auto mode = modes_.empty() ? modes_.end() : modes_.find(base_.run_id);
    if (mode != modes_.end()) base_.auth_context = "permission_mode:" + mode->second;
    bypass_ = mode != modes_.end() && mode->second == "bypassPermissions";
    cwd_ = std::string(top_.cwd.value_or(""));
    auto uuid = top_.uuid;
    entry_id_ = uuid ? std::string(ident_or(*uuid, "")) : std::string();
    if (entry_id_.empty()) entry_id_ = "line-" + std::to_string(ref.line);
    base_.evidence_ref = uuid ? evidence_urn(kFormat, {*session, *uuid})
                              : evidence_urn(kFormat, {*session, "line", std::to_string(ref.line)});
    turn_key_ = base_.run_id + '\x1f' + base_.agent_id;
    return true;
  }

  static bool fail(Converted& out, std::string why) {
    out.why = std::move(why);
    return false;
  }

  void emit(const Canon& c, const LineRef& ref, Converted& out) {
    out.records.emplace_back();
    render(c, ref, out.type, out.records.back());
  }

  void run_event(std::string_view phase, std::string turn_id, const LineRef& ref, Converted& out,
                 std::string input_ref, std::string error_code, std::string time) {
    Canon c = base_;
    c.turn_id = std::move(turn_id);
    c.event_type = "agent_run";
    c.phase = phase;
    c.tool_name = "turn";
    c.tool_action = phase;
    c.tool_target = cwd_;
    c.input_ref = std::move(input_ref);
    c.output_ref = std::string(kNoRef);
    c.error_code = std::move(error_code);
    if (!time.empty()) c.event_time = std::move(time);
    emit(c, ref, out);
  }

  void end_turn(const LineRef& ref, Converted& out, std::string error_code, bool at_last_activity) {
    auto it = turns_.find(turn_key_);
    if (it == turns_.end() || !it->second.open) return;
    it->second.open = false;
    run_event("end", it->second.id, ref, out, std::string(kNoRef), std::move(error_code),
              at_last_activity ? it->second.last_time : std::string());
  }

  std::string current_turn() const {
    auto it = turns_.find(turn_key_);
    return it != turns_.end() && it->second.open ? it->second.id : std::string();
  }

  void touch_turn() {
    auto it = turns_.find(turn_key_);
    if (it != turns_.end() && it->second.open) it->second.last_time = base_.event_time;
  }

  void convert_assistant(const LineRef& ref, Converted& out) {
    std::string model(ident_or(str_at(*message_, "model").value_or(""), ""));
    simdjson::dom::array blocks;
    size_t cursor = 0;  // where the next tool_use block's raw text may start
    if (content_.get(blocks) == simdjson::SUCCESS) {
      size_t i = 0;
      for (element b : blocks) {
        object block;
        if (b.get(block) != simdjson::SUCCESS || str_at(block, "type").value_or("") != "tool_use") {
          ++i;
          continue;
        }
        auto id = str_at(block, "id");
        auto name = str_at(block, "name");
        if (!id || id->empty() || !name || name->empty()) {
          out.records.clear();
          out.why = "message.content[" + std::to_string(i) + "]: a tool_use block needs a string id and name";
          return;
        }
        element input_el;
        object input;
        bool has_input = block["input"].get(input_el) == simdjson::SUCCESS;
        bool input_object = has_input && input_el.get(input) == simdjson::SUCCESS;
        Canon c = base_;
        c.event_type = "tool_call";
        c.action_id = std::string(*id);
        c.model = model;
        c.tool_name = std::string(ident_or(*name, "(other)"));
        describe_tool(*name, input_object ? std::optional<object>(input) : std::nullopt, c);
        c.input_ref = has_input ? input_hash(ref.bytes, *id, input_el, cursor) : std::string(kUnknownRef);
        c.output_ref = std::string(kNoRef);
        c.decision = bypass_ ? "allow" : "unknown";
        calls_.put(c.action_id, {c.tool_name, c.tool_action, c.tool_target, c.input_ref, now_ms_});
        emit(c, ref, out);
        if (escalates_) {
          c.event_type = "escalation";
          c.turn_id = current_turn();
          c.decision = "needs_review";
          emit(c, ref, out);
        }
        ++i;
      }
    }
    touch_turn();
    if (str_at(*message_, "stop_reason").value_or("") == "end_turn") end_turn(ref, out, "", false);
  }

  // The hash of a tool_use input: of its raw text in the line when that is already the
  // minified form (Claude Code writes compact JSON), else of simdjson's minified text.
  static std::string input_hash(std::string_view bytes, std::string_view id, element input, size_t& cursor) {
    std::string key = "\"id\":\"";
    key.append(id).push_back('"');
    size_t at = bytes.find(key, cursor);
    if (at != std::string_view::npos) {
      size_t after = at + key.size();
      size_t in = bytes.find("\"input\":", after);
      // Only short plain members (name, type) may sit between id and input.
      if (in != std::string_view::npos && in - after < 256 &&
          bytes.substr(after, in - after).find_first_of("{}[]") == std::string_view::npos) {
        if (auto raw = canonical_json_at(bytes, in + 8)) {
          cursor = in + 8 + raw->size();
          return sha256_ref(*raw);
        }
      }
    }
    return json_ref(input);
  }

  void describe_tool(std::string_view name, std::optional<object> input, Canon& c) {
    escalates_ = false;
    const ToolRule* rule = nullptr;
    for (const auto& r : kTools)
      if (r.tool == name) rule = &r;
    if (!rule) {
      c.tool_action = "execute";
      if (starts_with(name, "mcp__")) {  // mcp__<server>__<tool>
        std::string_view rest = name.substr(5);
        c.tool_target = "mcp:" + std::string(ident_or(rest.substr(0, rest.find("__")), kUnknown));
      }
      return;
    }
    c.tool_action = std::string(rule->action);
    escalates_ = rule->escalates;
    std::string_view v = input ? str_at(*input, rule->key).value_or("") : std::string_view();
    switch (rule->target) {
      case Target::Path: c.tool_target = std::string(v.empty() ? std::string_view(cwd_) : v); break;
      case Target::Command: c.tool_target = program_name(v); break;
      case Target::Url: c.tool_target = url_host(v); break;
      case Target::Ident: c.tool_target = std::string(rule->prefix) + std::string(ident_or(v, kUnknown)); break;
      case Target::Fixed: c.tool_target = std::string(rule->key); break;
      case Target::Cwd: c.tool_target = cwd_; break;
    }
  }

  void convert_user(const LineRef& ref, Converted& out) {
    bool meta = top_.meta;
    simdjson::dom::array blocks;
    bool prompt = false;
    if (content_.get(blocks) == simdjson::SUCCESS) {
      size_t i = 0;
      for (element b : blocks) {
        object block;
        std::string_view bt = b.get(block) == simdjson::SUCCESS ? str_at(block, "type").value_or("") : "";
        if (bt == "text" || bt == "image") prompt = true;
        if (bt != "tool_result") {
          ++i;
          continue;
        }
        auto id = str_at(block, "tool_use_id");
        if (!id || id->empty()) {
          out.records.clear();
          out.why = "message.content[" + std::to_string(i) + "]: a tool_result block needs a string tool_use_id";
          return;
        }
        tool_result(block, *id, ref, out);
        prompt = false;  // text next to results is the interrupt note, not a prompt
        ++i;
      }
    } else {
      prompt = true;
    }
    touch_turn();
    std::string_view text = leading_text(content_);
    if (starts_with(text, "[Request interrupted by user")) {
      end_turn(ref, out, "interrupted", false);
      return;
    }
    if (!prompt || meta) return;
    // A prompt starts a turn; one still open has ended with its last activity.
    end_turn(ref, out, "", true);
    Turn& t = turns_[turn_key_];
    if (turns_.size() > 100000) turns_.clear();  // bounded: forget old sessions
    t.open = true;
    t.id = entry_id_;
    t.last_time = base_.event_time;
    run_event("start", t.id, ref, out, content_ref(content_), "", "");
  }

  void tool_result(object block, std::string_view id, const LineRef& ref, Converted& out) {
    Canon c = base_;
    c.event_type = "tool_result";
    c.action_id = std::string(id);
    calls_.answer(id, now_ms_, c);
    element content;
    bool has = block["content"].get(content) == simdjson::SUCCESS && !content.is_null();
    c.output_ref = has ? content_ref(content) : std::string(kNoRef);
    bool error = bool_at(block, "is_error");
    bool denied = error && has && is_denial(content);
    c.decision = denied ? "block" : "allow";
    if (error) c.error_code = denied ? "permission_denied" : "tool_error";
    emit(c, ref, out);
    if (denied) {
      c.event_type = "escalation";
      c.turn_id = current_turn();
      emit(c, ref, out);
    }
  }

  Top top_;
  CallTable calls_;
  std::unordered_map<std::string, Turn> turns_;
  std::unordered_map<std::string, std::string> modes_;  // permission mode by session
  Canon base_;
  int64_t now_ms_ = 0;
  std::optional<object> message_;
  element content_;
  std::string cwd_, turn_key_, entry_id_;
  bool bypass_ = false, escalates_ = false;
};

}  // namespace

std::unique_ptr<Format> make_claude_code_format() { return std::make_unique<ClaudeCode>(); }

}  // namespace agentlog::plugins::normalize

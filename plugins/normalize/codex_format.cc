// Codex CLI rollouts (~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl) to spec 002. Each line is
// {timestamp, type, payload}; session_meta and turn_context set the state that later records
// carry. User docs with the mapping tables: docs/formats/codex.md.
#include <algorithm>
#include <charconv>

#include "plugins/normalize/codex_tools.h"
#include "plugins/normalize/normalize_format.h"

namespace agentlog::plugins::normalize {
namespace {

constexpr std::string_view kFormat = "codex";

constexpr std::string_view kResponseItems[] = {"message", "reasoning", "function_call", "function_call_output",
                                               "custom_tool_call", "custom_tool_call_output", "local_shell_call",
                                               "web_search_call", "ghost_snapshot", "compaction"};
constexpr std::string_view kEventMsgs[] = {
    "task_started", "task_complete", "turn_aborted", "token_count", "agent_message", "user_message",
    "agent_reasoning", "agent_reasoning_raw_content", "agent_reasoning_section_break", "exec_command_begin",
    "exec_command_end", "exec_command_output_delta", "patch_apply_begin", "patch_apply_end",
    "exec_approval_request", "apply_patch_approval_request", "turn_diff", "plan_update", "error", "stream_error",
    "background_event", "mcp_tool_call_begin", "mcp_tool_call_end", "web_search_begin", "web_search_end",
    "session_configured", "entered_review_mode", "exited_review_mode", "shutdown_complete", "view_image_tool_call",
    "context_compacted", "undo_started", "undo_completed", "warning"};

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

template <size_t N>
bool listed(const std::string_view (&list)[N], std::string_view v) {
  return std::find(std::begin(list), std::end(list), v) != std::end(list);
}

class Codex : public Format {
 public:
  void convert(object line, const LineRef& ref, Converted& out) override {
    if (ref.source_index != source_ || !started_) {
      if (started_) close_source(out.released);
      reset(ref);
    }
    if (held_ && ++held_lines_ > kMaxHeldLines) release(out.released);
    auto type = str_at(line, "type");
    line_ts_ = str_at(line, "timestamp");
    if (!type) {
      if (legacy_line(line, ref, out)) return;
      out.type = "(no type)";
      out.why = "type: field is missing or not a string (a Codex rollout line has one)";
      return;
    }
    out.type = std::string(type_word(*type));
    bool item = *type == "response_item", event = *type == "event_msg";
    // A rollout from before RolloutLine: bare response items, stamped with the header's time.
    bool bare = legacy_ && listed(kResponseItems, *type) && !line["payload"].is_object();
    if (!item && !event && !bare && *type != "session_meta" && *type != "turn_context") {
      out.known_type = *type == "compacted";
      return;
    }
    if (bare) {
      payload_ = line;
      item = true;
      out.type = "response_item";
      if (!line_ts_) line_ts_ = legacy_time_;
    } else if (!(payload_ = obj_at(line, "payload"))) {
      out.why = "payload: field is missing or not an object";
      return;
    }
    std::string_view sub = str_at(*payload_, "type").value_or("");
    if (item || event) {
      out.type += "." + std::string(type_word(sub));
      out.known_type = item ? listed(kResponseItems, sub) : listed(kEventMsgs, sub);
    }
    if (*type == "session_meta") return session_meta();
    if (*type == "turn_context") {
      turn_context();
      context_seen_ = held_;
      if (held_ && prompted_) release(out.released);  // the held turn start takes this context
      return;
    }
    if (event && sub == "user_message") return user_message(line, ref, out);
    if (item && sub == "message" && !user_messages_ && str_at(*payload_, "role") == "user")
      return message_item_prompt(line, ref, out);
    // The echo of a prompt (a user message item) is input, not activity.
    if (open_ && !(item && sub == "message" && str_at(*payload_, "role") == "user")) note_activity(line, ref, out.type);
    bool call = item && (sub == "function_call" || sub == "custom_tool_call" || sub == "local_shell_call");
    bool result = item && (sub == "function_call_output" || sub == "custom_tool_call_output");
    bool run = event && (sub == "task_started" || sub == "task_complete" || sub == "turn_aborted");
    bool approval = event && (sub == "exec_approval_request" || sub == "apply_patch_approval_request");
    if (!call && !result && !run && !approval) return;
    auto time = line_time(line_ts_, "RFC 3339", out.why);
    if (!time) return;
    base_.event_time = std::move(time->first);
    now_ms_ = time->second;
    base_.evidence_ref = evidence_urn(kFormat, {base_.run_id, "line", std::to_string(ref.line)});
    std::optional<std::string_view> call_id;
    if (call || result || approval) {
      call_id = str_at(*payload_, "call_id");
      if (!call_id || call_id->empty()) {
        out.why = "payload.call_id: field is missing or not a non-empty string";
        return;
      }
    }
    if (held_) release(out.released);
    if (!run) acted_ = true;
    if (call) tool_call(sub, *call_id, ref, out);
    else if (result) tool_result(*call_id, ref, out);
    else if (approval) escalation(*call_id, ref, out);
    else turn(sub, ref, out);
  }

  void finish(std::vector<HeldRecord>& out) override {
    if (started_) close_source(out);
    started_ = false;
  }

 private:
  void reset(const LineRef& ref) {
    started_ = true;
    source_ = ref.source_index;
    calls_.clear();
    base_ = Canon{};
    base_.agent_id = "codex";
    base_.run_id = ref.run_id_option.empty() ? source_stem(ref.source) : std::string(ref.run_id_option);
    approval_.clear();
    sandbox_.clear();
    turn_.clear();
    open_ = explicit_ = prompted_ = held_ = user_messages_ = legacy_ = false;
    item_prompt_.clear();
    escalated_.clear();
  }

  // The end of a source: a held start is released, and a turn a prompt opened ends at its
  // last activity (a turn task_started opened and nothing ended stays open: lifecycle reports it).
  void close_source(std::vector<HeldRecord>& out) {
    if (held_) release(out);
    if (open_ && !explicit_) end_at_last_activity(out);
  }

  // The time and line of the open turn's latest line: where a turn without an end event ends.
  void note_activity(object line, const LineRef& ref, std::string_view type) {
    auto ts = line_ts_;
    auto time = ts ? normalize_time(*ts) : std::nullopt;
    if (!time) return;
    last_time_ = std::move(time->first);
    last_ms_ = time->second;
    last_line_ = ref.line;
    last_type_ = std::string(type);
  }

  // Emits the held turn start with the context now known.
  void release(std::vector<HeldRecord>& out) {
    held_ = false;
    Canon& start = held_start_;
    start.auth_context = base_.auth_context;
    start.model = base_.model;
    start.tool_target = cwd_;
    LineRef at{held_source_, source_, held_line_, {}, {}};
    out.push_back({{}, source_, held_line_});
    render(start, at, held_type_, out.back().record);
  }

  void end_at_last_activity(std::vector<HeldRecord>& out) {
    Canon event = base_;
    event.event_type = "agent_run";
    event.phase = "end";
    event.turn_id = turn_;
    event.tool_name = "turn";
    event.tool_action = "end";
    event.tool_target = cwd_;
    event.output_ref = std::string(kNoRef);
    event.event_time = last_time_;
    event.evidence_ref = evidence_urn(kFormat, {base_.run_id, "line", std::to_string(last_line_)});
    if (last_ms_ >= start_ms_) event.latency_ms = last_ms_ - start_ms_;
    LineRef at{held_source_, source_, last_line_, {}, {}};
    out.push_back({{}, source_, last_line_});
    render(event, at, last_type_, out.back().record);
    open_ = false;
    turn_.clear();
  }

  // Opens a turn. Its start is held until the turn's context (turn_context) or first record.
  void open_turn(std::string id, bool by_task, int64_t ms, const LineRef& ref, std::string_view type) {
    held_start_ = base_;
    Canon& start = held_start_;
    start.event_type = "agent_run";
    start.phase = "start";
    start.turn_id = id;
    start.tool_name = "turn";
    start.tool_action = "start";
    start.output_ref = std::string(kNoRef);
    turn_ = std::move(id);
    open_ = held_ = true;
    acted_ = false;
    explicit_ = by_task;
    prompted_ = context_seen_ = false;
    held_source_ = std::string(ref.source);
    held_line_ = last_line_ = ref.line;
    held_type_ = last_type_ = std::string(type);
    held_lines_ = 0;
    start_ms_ = last_ms_ = ms;
    last_time_ = base_.event_time;
  }

  // A user prompt (event_msg user_message, kind plain): its hash is the turn's input_ref. It
  // opens a turn when none is open (rollouts that do not keep task_started), and ends the
  // turn an earlier prompt opened.
  void user_message(object line, const LineRef& ref, Converted& out) {
    std::string_view kind = str_at(*payload_, "kind").value_or("plain");
    if (kind != "plain") return;
    std::string_view text = str_at(*payload_, "message").value_or("");
    if (!user_messages_) {
      user_messages_ = true;  // from now on prompts come from these events, not message items
      // The message item written just before was this prompt: its turn is this one, named
      // after this event as in the rest of the rollout when its start is still held.
      if (open_ && !explicit_ && !acted_ && item_prompt_ == sha256_ref(text)) {
        if (held_) {
          auto time = line_time(line_ts_, "RFC 3339", out.why);
          if (!time) return;
          held_start_.turn_id = turn_ = "line-" + std::to_string(ref.line);
          held_start_.event_time = std::move(time->first);
          held_start_.evidence_ref = evidence_urn(kFormat, {base_.run_id, "line", std::to_string(ref.line)});
          held_line_ = ref.line;
          held_type_ = out.type;
          start_ms_ = time->second;
        }
        return note_activity(line, ref, out.type);
      }
    }
    prompt(line, ref, out, text);
  }

  // A user message item (response_item message, role user) is the prompt in rollouts that
  // keep no user_message events; the context Codex injects as user messages
  // (<environment_context>, <user_instructions>, AGENTS.md instructions) is not.
  void message_item_prompt(object line, const LineRef& ref, Converted& out) {
    simdjson::dom::array content;
    if ((*payload_)["content"].get(content) != simdjson::SUCCESS) return;
    for (element part : content) {
      object p;
      if (part.get(p) != simdjson::SUCCESS || str_at(p, "type") != "input_text") continue;
      std::string_view text = str_at(p, "text").value_or("");
      size_t first = text.find_first_not_of(" \t\r\n");
      if (first == std::string_view::npos || text[first] == '<' || starts_with(text.substr(first), "# AGENTS.md"))
        return;
      prompt(line, ref, out, text);
      item_prompt_ = held_start_.input_ref;
      return;
    }
  }

  void prompt(object line, const LineRef& ref, Converted& out, std::string_view text) {
    auto time = line_time(line_ts_, "RFC 3339", out.why);
    if (!time) return;
    item_prompt_.clear();
    std::string prompt = sha256_ref(text);
    if (open_ && held_ && !prompted_) {  // the prompt of the turn task_started opened
      held_start_.input_ref = std::move(prompt);
      prompted_ = true;
      if (context_seen_) release(out.released);
      return note_activity(line, ref, out.type);
    }
    if (open_ && explicit_) return note_activity(line, ref, out.type);  // sent while the turn runs
    if (held_) release(out.released);
    if (open_) end_at_last_activity(out.released);
    base_.event_time = std::move(time->first);
    base_.evidence_ref = evidence_urn(kFormat, {base_.run_id, "line", std::to_string(ref.line)});
    open_turn("line-" + std::to_string(ref.line), false, time->second, ref, out.type);
    held_start_.input_ref = std::move(prompt);
    prompted_ = true;
  }

  // Lines of a rollout written before RolloutLine (Codex CLI of mid 2025): the header {id,
  // timestamp, instructions, git...} is the session's meta; {"record_type":"state"} marks state.
  bool legacy_line(object line, const LineRef& ref, Converted& out) {
    if (auto rt = str_at(line, "record_type")) {
      out.type = "record_type." + std::string(type_word(*rt));
      return true;
    }
    auto id = str_at(line, "id");
    if (ref.line != 1 || !id || !line_ts_ || !normalize_time(*line_ts_)) return false;  // the header is line 1
    out.type = "session_header";
    legacy_ = true;
    legacy_time_ = std::string(*line_ts_);
    payload_ = line;
    session_meta();
    return true;
  }

  void session_meta() {
    if (auto id = str_at(*payload_, "id"); id && !id->empty()) base_.run_id = std::string(*id);
    base_.agent_version = std::string(ident_or(str_at(*payload_, "cli_version").value_or(""), kUnknown));
    base_.actor_id = std::string(ident_or(str_at(*payload_, "originator").value_or(""), kUnknown));
    cwd_ = std::string(str_at(*payload_, "cwd").value_or(""));
  }

  void turn_context() {
    if (auto cwd = str_at(*payload_, "cwd")) cwd_ = std::string(*cwd);
    if (auto m = str_at(*payload_, "model")) base_.model = std::string(ident_or(*m, ""));
    if (auto a = str_at(*payload_, "approval_policy")) approval_ = std::string(ident_or(*a, kUnknown));
    element sp;
    if ((*payload_)["sandbox_policy"].get(sp) == simdjson::SUCCESS) {
      std::string_view mode;
      object o;
      if (sp.get(mode) != simdjson::SUCCESS && sp.get(o) == simdjson::SUCCESS)
        mode = str_at(o, "mode").value_or(str_at(o, "type").value_or(""));
      sandbox_ = std::string(ident_or(mode, kUnknown));
    }
    base_.auth_context.clear();
    if (!approval_.empty()) base_.auth_context = "approval:" + approval_;
    if (!sandbox_.empty()) base_.auth_context += (base_.auth_context.empty() ? "" : ",") + ("sandbox:" + sandbox_);
  }

  void emit(const Canon& event, const LineRef& ref, Converted& out) {
    out.records.emplace_back();
    render(event, ref, out.type, out.records.back());
  }

  void tool_call(std::string_view sub, std::string_view id, const LineRef& ref, Converted& out) {
    Canon event = base_;
    event.event_type = "tool_call";
    event.action_id = std::string(id);
    event.output_ref = std::string(kNoRef);
    event.decision = approval_ == "never" ? "allow" : "unknown";
    event.tool_action = "execute";
    escalation_asked_ = false;
    if (sub == "local_shell_call") {
      event.tool_name = "local_shell";
      element action;
      simdjson::dom::array argv;
      if ((*payload_)["action"].get(action) == simdjson::SUCCESS) {
        if (action["command"].get(argv) == simdjson::SUCCESS) event.tool_target = argv_program(argv);
        event.input_ref = json_ref(action);
      }
    } else {
      std::string_view name = str_at(*payload_, "name").value_or("");
      event.tool_name = std::string(ident_or(name, kUnknown));
      // function_call: arguments is a JSON text; custom_tool_call: input is free text.
      std::string_view args = str_at(*payload_, sub == "function_call" ? "arguments" : "input").value_or("");
      event.input_ref = sha256_ref(args);
      escalation_asked_ = describe_codex_tool(name, args, sub == "custom_tool_call", cwd_, event);
    }
    calls_.put(event.action_id, {event.tool_name, event.tool_action, event.tool_target, event.input_ref, now_ms_});
    if (escalation_asked_) event.decision = "needs_review";
    emit(event, ref, out);
    if (escalation_asked_) open_escalation(std::move(event), ref, out);
  }

  // An escalation (needs_review) for the call `event`, resolved by its output or by the turn's abort.
  void open_escalation(Canon event, const LineRef& ref, Converted& out) {
    event.event_type = "escalation";
    event.turn_id = turn_;
    event.decision = "needs_review";
    event.output_ref = std::string(kNoRef);
    event.error_code.clear();
    emit(event, ref, out);
    if (auto it = find_escalation(event.action_id); it != escalated_.end()) escalated_.erase(it);
    if (escalated_.size() >= kMaxEscalations) escalated_.erase(escalated_.begin());  // bounded
    escalated_.push_back(std::move(event));
  }

  void tool_result(std::string_view id, const LineRef& ref, Converted& out) {
    Canon event = base_;
    event.event_type = "tool_result";
    event.action_id = std::string(id);
    calls_.answer(id, now_ms_, event);
    element output;
    std::string_view text;
    bool has = (*payload_)["output"].get(output) == simdjson::SUCCESS && !output.is_null();
    event.output_ref = has ? content_ref(output) : std::string(kNoRef);
    if (has && output.get(text) != simdjson::SUCCESS) text = {};
    bool denied = starts_with(text, "exec command rejected by user") || starts_with(text, "patch rejected by user");
    event.decision = denied ? "block" : "allow";
    if (denied) event.error_code = "permission_denied";
    else if (auto code = exit_code(text); code && *code != 0) event.error_code = "exit_code:" + std::to_string(*code);
    emit(event, ref, out);
    auto esc = find_escalation(id);
    if (denied || esc != escalated_.end()) {  // the approval's answer: refused, or the call ran
      event.event_type = "escalation";
      event.turn_id = esc != escalated_.end() ? esc->turn_id : turn_;
      emit(event, ref, out);
      if (esc != escalated_.end()) escalated_.erase(esc);
    }
  }

  void escalation(std::string_view id, const LineRef& ref, Converted& out) {
    if (find_escalation(id) != escalated_.end()) return;  // its call already asked: one escalation
    Canon event = base_;
    event.event_type = "escalation";
    event.turn_id = turn_;
    event.action_id = std::string(id);
    event.decision = "needs_review";
    event.output_ref = std::string(kNoRef);
    if (const CallInfo* call = calls_.find(id)) {
      event.tool_name = call->tool_name;
      event.tool_action = call->tool_action;
      event.tool_target = call->tool_target;
      event.input_ref = call->input_ref;
    } else {
      simdjson::dom::array argv;
      if ((*payload_)["command"].get(argv) == simdjson::SUCCESS) {
        event.tool_name = "shell";
        event.tool_action = "execute";
        event.tool_target = argv_program(argv);
      } else {
        event.tool_name = "apply_patch";
        event.tool_action = "update";
      }
    }
    open_escalation(std::move(event), ref, out);
  }

  void turn(std::string_view sub, const LineRef& ref, Converted& out) {
    std::string_view tid = ident_or(str_at(*payload_, "turn_id").value_or(""), "");
    if (sub == "task_started") {
      if (open_ && !explicit_ && !acted_) {  // the prompt came first: this task is its turn
        explicit_ = true;
        if (held_ && !tid.empty()) held_start_.turn_id = turn_ = std::string(tid);
        return;
      }
      if (held_) release(out.released);
      if (open_) end_at_last_activity(out.released);
      open_turn(tid.empty() ? "line-" + std::to_string(ref.line) : std::string(tid), true, now_ms_, ref, out.type);
      return;
    }
    Canon event = base_;
    event.event_type = "agent_run";
    event.phase = "end";
    event.turn_id = open_ ? turn_ : tid.empty() ? "line-" + std::to_string(ref.line) : std::string(tid);
    event.tool_name = "turn";
    event.tool_action = "end";
    event.tool_target = cwd_;
    event.output_ref = std::string(kNoRef);
    if (sub == "turn_aborted") {
      event.error_code = "turn_aborted:" + std::string(ident_or(str_at(*payload_, "reason").value_or(""), kUnknown));
      // An approval answered with "abort" ends the turn: its open requests are refused.
      for (Canon& esc : escalated_) {
        esc.decision = "block";
        esc.error_code = event.error_code;
        esc.event_time = base_.event_time;
        esc.evidence_ref = base_.evidence_ref;
        emit(esc, ref, out);
      }
      escalated_.clear();
    }
    int64_t duration_ms = 0;
    if ((*payload_)["duration_ms"].get(duration_ms) == simdjson::SUCCESS && duration_ms >= 0)
      event.latency_ms = duration_ms;
    open_ = false;
    turn_.clear();
    emit(event, ref, out);
  }

  bool started_ = false;
  uint32_t source_ = 0;
  CallTable calls_;
  Canon base_;
  int64_t now_ms_ = 0;
  std::optional<object> payload_;
  std::optional<std::string_view> line_ts_;  // the line's timestamp (a legacy item: the header's)
  bool legacy_ = false;                     // the source began with a pre-RolloutLine header
  std::string legacy_time_;
  std::string cwd_, approval_, sandbox_, turn_;
  // The open turn, opened by task_started (explicit) or by a prompt. Its start is held back
  // until its context arrives, at most kMaxHeldLines lines.
  static constexpr int kMaxHeldLines = 64;
  bool open_ = false, explicit_ = false, prompted_ = false, held_ = false, escalation_asked_ = false;
  bool context_seen_ = false;  // the held start has its turn_context and waits for the prompt
  bool acted_ = false;         // the open turn has had a call, output or approval
  bool user_messages_ = false; // the rollout writes user_message events
  std::string item_prompt_;    // hash of the prompt a message item gave the open turn
  Canon held_start_;
  std::string held_source_, held_type_, last_time_, last_type_;
  uint64_t held_line_ = 0, last_line_ = 0;
  int held_lines_ = 0;
  int64_t start_ms_ = 0, last_ms_ = 0;
  // Open escalations (calls that asked for raised permissions), in order; few at a time.
  static constexpr size_t kMaxEscalations = 10000;
  std::vector<Canon> escalated_;
  std::vector<Canon>::iterator find_escalation(std::string_view id) {
    return std::find_if(escalated_.begin(), escalated_.end(),
                        [&](const Canon& escalation) { return escalation.action_id == id; });
  }
};

}  // namespace

std::unique_ptr<Format> make_codex_format() { return std::make_unique<Codex>(); }

}  // namespace agentlog::plugins::normalize

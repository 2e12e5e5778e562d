// Claude Code session transcripts (~/.claude/projects/<project>/<session>.jsonl and the
// subagents' <session>/subagents/agent-<id>.jsonl) to spec 002: reading the lines.
// The mapping tables are in docs/formats/claude-code.md.
#include <algorithm>

#include "plugins/normalize/claude_code_transcript.h"
#include "plugins/normalize/claude_tools.h"

namespace agentlog::plugins::normalize {
namespace claude_code {
namespace {

using claude::starts_with;

// Lines that carry no action of their own: counted by type (some feed the state below).
constexpr std::string_view kNoActionTypes[] = {"system",          "summary",      "progress",   "file-history-snapshot",
                                               "queue-operation", "attachment",   "last-prompt", "permission-mode",
                                               "pr-link",         "custom-title", "mode",        "agent-name"};

// User text that echoes a slash command, a local shell or a harness notice: not a prompt.
constexpr std::string_view kEchoes[] = {"<command-name>",         "<command-message>",     "<command-args>",
                                        "<local-command-stdout>", "<local-command-stderr>", "<local-command-caveat>",
                                        "<bash-input>",           "<bash-stdout>",          "<bash-stderr>",
                                        "<task-notification>"};

constexpr std::string_view kCompactOpening = "This session is being continued from a previous conversation";

bool is_echo(std::string_view text) {
  size_t i = text.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos) return true;  // blank: nothing was asked
  text.remove_prefix(i);
  for (auto e : kEchoes)
    if (starts_with(text, e)) return true;
  return false;
}

}  // namespace

void ClaudeCode::convert_line(object line, const LineRef& ref, Converted& out) {
  read_top(line);
  if (!top_.type && top_.agent_type) {
    // <session>/subagents/agent-<id>.meta.json ({"agentType", "description", "toolUseId"}),
    // read with the transcripts when a project folder is named: no activity of its own.
    out.type = "(subagent meta)";
    return;
  }
  if (!top_.type) {
    out.type = "(no type)";
    out.why = "type: field is missing or not a string (a Claude Code transcript line has one)";
    return;
  }
  std::string_view type = *top_.type;
  out.type = std::string(type_word(type));
  if (ref.source_index != source_) change_source(ref);
  bool user = type == "user", assistant = type == "assistant";
  if (!user && !assistant) {
    out.known_type = std::find(std::begin(kNoActionTypes), std::end(kNoActionTypes), type) != std::end(kNoActionTypes);
    if (type == "system") on_system();
    else if (type == "progress") on_progress();
    else if (type == "attachment") on_attachment();
    else if (type == "permission-mode") on_permission_mode();
    return;
  }
  // A compaction sidechain (agent-acompact-*) summarises the session: not a subagent.
  if (top_.agent && starts_with(*top_.agent, "acompact")) return;
  if (!setup(ref, out)) return;
  pos_ = {ref.source_index, ref.line, assistant ? kAssistantEntry : kUserEntry};
  if (assistant) convert_assistant(ref);
  else convert_user();
}

void ClaudeCode::read_top(object line) {
  top_ = Top{};
  for (auto [key, value] : line) {
    std::optional<std::string_view>* slot = nullptr;
    switch (key.size()) {
      case 3: if (key == "cwd") slot = &top_.cwd; break;
      case 4:
        if (key == "type") slot = &top_.type;
        else if (key == "uuid") slot = &top_.uuid;
        else if (key == "data" && !top_.data) top_.data = value;
        break;
      case 6: if (key == "isMeta") top_.meta = top_.meta || (value.is_bool() && value.get_bool().value_unsafe()); break;
      case 7:
        if (key == "version") slot = &top_.version;
        else if (key == "message" && !top_.message) top_.message = value;
        else if (key == "agentId") slot = &top_.agent;
        else if (key == "subtype") slot = &top_.subtype;
        break;
      case 8: if (key == "userType") slot = &top_.user_type; break;
      case 9:
        if (key == "sessionId") slot = &top_.session;
        else if (key == "timestamp") slot = &top_.timestamp;
        else if (key == "toolUseID") slot = &top_.tool_use_id;
        else if (key == "agentType") top_.agent_type = top_.agent_type || value.is_string();
        break;
      case 10:
        if (key == "durationMs" && !top_.duration) top_.duration = value;
        else if (key == "attachment" && !top_.attachment) top_.attachment = value;
        break;
      case 11: if (key == "isSidechain") top_.sidechain = value.is_bool() && value.get_bool().value_unsafe(); break;
      case 13: if (key == "toolUseResult" && !top_.tool_use_result) top_.tool_use_result = value; break;
      case 14: if (key == "permissionMode") slot = &top_.permission_mode; break;
      case 15: if (key == "parentToolUseID") slot = &top_.parent_tool_use_id; break;
      case 16:
        if (key == "isCompactSummary") top_.compact_summary = value.is_bool() && value.get_bool().value_unsafe();
        break;
      default: break;
    }
    std::string_view text;
    if (slot && !*slot && value.get(text) == simdjson::SUCCESS) *slot = text;
  }
}

void ClaudeCode::stream_key(std::string_view session) {
  agent_id_ = "claude-code";
  if (top_.agent && !top_.agent->empty()) agent_id_ += "/" + std::string(ident_or(*top_.agent, "subagent"));
  else if (top_.sidechain) agent_id_ += "/sidechain";
  turn_key_.assign(session).push_back('\x1f');
  turn_key_ += agent_id_;
}

Stream& ClaudeCode::stream_for_key() {
  if (streams_.size() >= kMaxStreams && !streams_.count(turn_key_)) streams_.clear();  // bounded: forget old sessions
  Stream& s = streams_[turn_key_];
  if (s.source != ref_->source_index) {
    s.source = ref_->source_index;
    source_streams_.push_back(turn_key_);
  }
  return s;
}

bool ClaudeCode::setup(const LineRef& ref, Converted& out) {
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
  stream_key(*session);
  base_.agent_id = agent_id_;
  bool sub = top_.sidechain || top_.agent;
  base_.recursion_depth = sub ? 1 : 0;
  base_.agent_version = std::string(ident_or(top_.version.value_or(""), kUnknown));
  if (auto user_type = top_.user_type) base_.actor_id = "user:" + std::string(ident_or(*user_type, kUnknown));
  if (auto permission_mode = top_.permission_mode) set_mode(base_.run_id, *permission_mode);
  auto mode = modes_.empty() ? modes_.end() : modes_.find(base_.run_id);
  if (mode != modes_.end()) base_.auth_context = "permission_mode:" + mode->second;
  bypass_ = mode != modes_.end() && mode->second == "bypassPermissions";
  cwd_ = std::string(top_.cwd.value_or(""));
  auto uuid = top_.uuid;
  entry_id_ = uuid ? std::string(ident_or(*uuid, "")) : std::string();
  if (entry_id_.empty()) entry_id_ = "line-" + std::to_string(ref.line);
  base_.evidence_ref = uuid ? evidence_urn(kFormat, {*session, *uuid})
                            : evidence_urn(kFormat, {*session, "line", std::to_string(ref.line)});
  stream_ = &stream_for_key();
  stream_->subagent = sub;
  if (sub && stream_->parent_action_id.empty() && top_.agent) {
    auto link = agent_parent_.find(std::string(*top_.agent));
    if (link != agent_parent_.end()) stream_->parent_action_id = link->second;
  }
  base_.parent_action_id = stream_->parent_action_id;
  return true;
}

void ClaudeCode::set_mode(const std::string& session, std::string_view mode) {
  if (modes_.size() > 100000) modes_.clear();  // bounded: forget old sessions
  modes_[session] = std::string(ident_or(mode, kUnknown));
}

bool ClaudeCode::fail(Converted& out, std::string why) {
  out.why = std::move(why);
  return false;
}

void ClaudeCode::emit(const Canon& event) {
  out_->records.emplace_back();
  foreign_.push_back(false);
  out_->origins.push_back({ref_->source_index, ref_->line});
  render(event, *ref_, out_->type, out_->records.back());
}

void ClaudeCode::emit_at(const Canon& event, const Pos& pos) {
  std::string_view source = pos.source < source_names_.size() ? std::string_view(source_names_[pos.source]) : "";
  LineRef ref{source, pos.source, pos.line, {}, {}};
  if (fin_) {
    fin_->push_back({{}, pos.source, pos.line});
    render(event, ref, pos.entry, fin_->back().record);
  } else {
    out_->records.emplace_back();
    foreign_.push_back(true);
    out_->origins.push_back({pos.source, pos.line});
    render(event, ref, pos.entry, out_->records.back());
  }
}

void ClaudeCode::convert_assistant(const LineRef& ref) {
  stream_->ending = false;  // work goes on (a Stop hook may send the model back to work)
  std::string model(ident_or(str_at(*message_, "model").value_or(""), ""));
  simdjson::dom::array blocks;
  size_t cursor = 0;
  bool text = content_.is_string(), calls = false;
  if (content_.get(blocks) == simdjson::SUCCESS) {
    size_t i = 0;
    for (element item : blocks) {
      object block;
      std::string_view block_type = item.get(block) == simdjson::SUCCESS ? str_at(block, "type").value_or("") : "";
      if (block_type != "tool_use") {
        text = text || block_type == "text";
        ++i;
        continue;
      }
      calls = true;
      Canon event;
      claude::ToolKind kind;
      if (!claude::tool_call_of_block(block, i, base_, model, cwd_, ref.bytes, cursor, event, kind, out_->why)) return;
      object input;
      bool input_object = block["input"].get(input) == simdjson::SUCCESS;
      event.decision = bypass_ ? "allow" : "unknown";
      calls_.put(event.action_id, {event.tool_name, event.tool_action, event.tool_target, event.input_ref, now_ms_});
      if (kind.subagent && input_object) {
        if (auto prompt = str_at(input, "prompt")) {
          if (prompt_links_.size() >= kMaxLinks) prompt_links_.pop_front();
          prompt_links_.emplace_back(sha256_ref(*prompt), event.action_id);
        }
      }
      held_.hold(std::move(event), pos_, turn_key_, stream_->open ? stream_->turn_id : std::string(), kind.asks_user,
                 *this);
      ++i;
    }
  }
  touch();
  if (calls) stream_->answered = false;
  else if (text) stream_->answered = true;
  if (stream_->open && str_at(*message_, "stop_reason").value_or("") == "end_turn") stream_->ending = true;
}

void ClaudeCode::convert_user() {
  Stream& stream = *stream_;
  bool after_compact = stream.after_compact;
  stream.after_compact = false;
  std::string_view text = claude::leading_text(content_);
  // A compaction summary is stamped when the summary was written, not when it was asked for.
  if (top_.compact_summary || (after_compact && starts_with(text, kCompactOpening))) return;
  simdjson::dom::array blocks;
  bool prompt = false, results = false, image = false;
  if (content_.get(blocks) == simdjson::SUCCESS) {
    size_t i = 0;
    for (element item : blocks) {
      object block;
      std::string_view block_type = item.get(block) == simdjson::SUCCESS ? str_at(block, "type").value_or("") : "";
      if (block_type == "text" || block_type == "image") prompt = true;
      if (block_type == "image") image = true;
      if (block_type != "tool_result") {
        ++i;
        continue;
      }
      auto id = claude::tool_result_id(block, i, out_->why);
      if (!id) return;
      tool_result(block, *id);
      results = true;
      ++i;
    }
  } else {
    prompt = true;
  }
  if (results) {
    prompt = false;  // text next to results is the harness talking, not a prompt
    touch();
    stream.answered = false;
  }
  if (starts_with(text, "[Request interrupted by user")) {
    if (stream.open) {
      held_.release_stream(turn_key_, *this);
      end_turn(stream, "interrupted", now_ms_, pos_, base_.evidence_ref);
    }
    return;
  }
  bool blank = text.find_first_not_of(" \t\r\n") == std::string_view::npos;
  if (prompt && !top_.meta && !blank && is_echo(text) && stream.open && (stream.ending || stream.answered)) {
    // The user typed a command after the answer: the turn is over.
    held_.release_stream(turn_key_, *this);
    end_at_last_activity(stream, "");
  }
  if (!prompt || top_.meta || (is_echo(text) && !(image && blank))) return;
  start_turn();
}

void ClaudeCode::tool_result(object block, std::string_view id) {
  Canon event = base_;
  event.event_type = "tool_result";
  event.action_id = std::string(id);
  const CallInfo* call = calls_.find(id);
  bool subagent_call = call && (call->tool_name == "Task" || call->tool_name == "Agent");
  calls_.answer(id, now_ms_, event);
  element content;
  bool has = block["content"].get(content) == simdjson::SUCCESS && !content.is_null();
  event.output_ref = has ? content_ref(content) : std::string(kNoRef);
  bool error = bool_at(block, "is_error");
  bool denied = error && has && claude::is_denial(content);
  std::string_view hook_block = error && has && !denied ? claude::hook_block_name(content) : std::string_view();
  if (!hook_block.empty() && claude::hook_tool(hook_block) != event.tool_name)
    hook_block = {};  // only the call's own tool's hook
  HeldCall* held = held_.find(event.action_id);
  std::string hook = held ? held->hook : std::string();
  if (error && !denied && hook_block.empty() && held && held->hook_decision == "deny")
    hook_block = hook;  // the hook said deny
  bool asks = held && (held->asks_user || held->hook_decision == "ask");
  std::string_view call_decision;
  if (denied || !hook_block.empty()) call_decision = "block";
  else if (!hook.empty()) call_decision = held->hook_decision == "deny" ? "block" : "allow";
  std::string policy = !hook_block.empty() ? std::string(hook_block) : hook;
  held_.release(event.action_id, call_decision, policy, *this);
  event.decision = denied || !hook_block.empty() ? "block" : "allow";
  if (error) event.error_code = denied ? "permission_denied" : !hook_block.empty() ? "hook_blocked" : "tool_error";
  event.policy_id = policy;
  if (subagent_call && has && !error) {
    std::string_view agent, status;
    object tur;
    if (top_.tool_use_result && top_.tool_use_result->get(tur) == simdjson::SUCCESS) {
      agent = str_at(tur, "agentId").value_or("");
      status = str_at(tur, "status").value_or("");
    }
    if (agent.empty()) agent = claude::agent_id_in_text(content);
    // A background subagent is launched, not finished, when its call returns.
    subagent_linked(base_.run_id, agent, event.action_id, status != "async_launched");
  }
  emit(event);
  if (denied || (asks && !error)) {
    // The user's answer to a permission prompt, a question or a plan.
    Canon escalation = event;
    escalation.event_type = "escalation";
    escalation.turn_id = stream_->open ? stream_->turn_id : std::string();
    emit(escalation);
  }
}

void ClaudeCode::on_permission_mode() {
  if (top_.session && !top_.session->empty() && top_.permission_mode)
    set_mode(std::string(*top_.session), *top_.permission_mode);
}

}  // namespace claude_code

std::unique_ptr<Format> make_claude_code_format() { return std::make_unique<claude_code::ClaudeCode>(); }

}  // namespace agentlog::plugins::normalize

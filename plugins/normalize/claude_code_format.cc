// Claude Code session transcripts (~/.claude/projects/<project>/<session>.jsonl and the
// subagents' <session>/subagents/agent-<id>.jsonl) to spec 002.
// The mapping tables are in docs/formats/claude-code.md.
#include <algorithm>
#include <deque>
#include <unordered_map>

#include "core/time_format.h"
#include "plugins/normalize/claude_tools.h"
#include "plugins/normalize/normalize_format.h"

namespace agentlog::plugins::normalize {
namespace {

using claude::starts_with;

constexpr std::string_view kFormat = "claude-code";

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
constexpr size_t kMaxHeld = 10000, kMaxStreams = 100000, kMaxLinks = 10000;

bool is_echo(std::string_view text) {
  size_t i = text.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos) return true;  // blank: nothing was asked
  text.remove_prefix(i);
  for (auto e : kEchoes)
    if (starts_with(text, e)) return true;
  return false;
}

// Where a record belongs when it is written for an earlier line than the one being read.
struct Pos {
  uint32_t source = 0;
  uint64_t line = 0;
  std::string_view entry;  // one of the literals below
};
constexpr std::string_view kUserEntry = "user", kAssistantEntry = "assistant", kSystemEntry = "system";

// One agent of one session (the main agent or a subagent) and its current turn.
struct Stream {
  bool open = false;
  bool ending = false;  // stop_reason end_turn or stop_hook_summary seen: the turn is over unless work goes on
  bool subagent = false, after_compact = false;
  bool answered = false;  // the last line of the turn was the model's text with no call in it
  uint32_t source = UINT32_MAX;
  std::string turn_id, parent_action_id, last_evidence;
  int64_t start_ms = 0, last_ms = 0;
  Pos last_pos;
  Canon base;  // the shared fields of the turn's records (agent, version, actor, auth, cwd)
};

// A tool_call held back until its result, so that a PreToolUse hook's outcome or the user's
// refusal can still become its decision.
struct HeldCall {
  Canon call;
  Pos pos;
  std::string stream, hook, turn;
  std::string_view hook_decision;  // "allow", "deny", "ask" from the hook's output, or empty
  bool asks_user = false;
};

class ClaudeCode : public Format {
 public:
  void convert(object line, const LineRef& ref, Converted& out) override {
    out_ = &out;
    ref_ = &ref;
    fin_ = nullptr;
    foreign_.clear();
    for (auto& h : carry_) {  // records for earlier lines that waited for a line to follow
      out.records.push_back(std::move(h.record));
      foreign_.push_back(true);
    }
    carry_.clear();
    convert_line(line, ref, out);
    if (!out.why.empty()) {
      // The line is dead-lettered with its records; those written for earlier lines wait for the next.
      for (size_t i = 0; i < out.records.size(); ++i)
        if (foreign_[i]) carry_.push_back({std::move(out.records[i]), ref.source_index, ref.line});
      out.records.clear();
    }
  }

  void finish(std::vector<Held>& out) override {
    fin_ = &out;
    out_ = nullptr;
    for (auto& h : carry_) out.push_back(std::move(h));
    carry_.clear();
    end_source(source_);
    std::vector<std::string> rest(held_order_.begin(), held_order_.end());
    for (auto& id : rest) release_call(id, {}, {});
    fin_ = nullptr;
  }

 private:
  void convert_line(object line, const LineRef& ref, Converted& out) {
    read_top(line);
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

  // The top-level members the format reads, found in one pass (the first of duplicates wins).
  struct Top {
    std::optional<std::string_view> type, session, timestamp, version, user_type, permission_mode, cwd, uuid, agent,
        subtype, tool_use_id, parent_tool_use_id;
    std::optional<element> message, data, attachment, tool_use_result, duration;
    bool sidechain = false, meta = false, compact_summary = false;
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
      std::string_view v;
      if (slot && !*slot && value.get(v) == simdjson::SUCCESS) *slot = v;
    }
  }

  // The stream key of the line: session and agent.
  void stream_key(std::string_view session) {
    agent_id_ = "claude-code";
    if (top_.agent && !top_.agent->empty()) agent_id_ += "/" + std::string(ident_or(*top_.agent, "subagent"));
    else if (top_.sidechain) agent_id_ += "/sidechain";
    turn_key_.assign(session).push_back('\x1f');
    turn_key_ += agent_id_;
  }

  Stream& stream_for_key() {
    if (streams_.size() >= kMaxStreams && !streams_.count(turn_key_)) streams_.clear();  // bounded: forget old sessions
    Stream& s = streams_[turn_key_];
    if (s.source != ref_->source_index) {
      s.source = ref_->source_index;
      source_streams_.push_back(turn_key_);
    }
    return s;
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
    stream_key(*session);
    base_.agent_id = agent_id_;
    bool sub = top_.sidechain || top_.agent;
    base_.recursion_depth = sub ? 1 : 0;
    base_.agent_version = std::string(ident_or(top_.version.value_or(""), kUnknown));
    if (auto ut = top_.user_type) base_.actor_id = "user:" + std::string(ident_or(*ut, kUnknown));
    if (auto pm = top_.permission_mode) set_mode(base_.run_id, *pm);
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

  void set_mode(const std::string& session, std::string_view mode) {
    if (modes_.size() > 100000) modes_.clear();  // bounded: forget old sessions
    modes_[session] = std::string(ident_or(mode, kUnknown));
  }

  static bool fail(Converted& out, std::string why) {
    out.why = std::move(why);
    return false;
  }

  // ---- emitting ------------------------------------------------------------------------------

  void emit(const Canon& c) {
    out_->records.emplace_back();
    foreign_.push_back(false);
    render(c, *ref_, out_->type, out_->records.back());
  }

  // A record for an earlier line (`pos`), written now.
  void emit_at(const Canon& c, const Pos& pos) {
    std::string_view source = pos.source < source_names_.size() ? std::string_view(source_names_[pos.source]) : "";
    LineRef ref{source, pos.source, pos.line, {}, {}};
    if (fin_) {
      fin_->push_back({{}, pos.source, pos.line});
      render(c, ref, pos.entry, fin_->back().record);
    } else {
      out_->records.emplace_back();
      foreign_.push_back(true);
      render(c, ref, pos.entry, out_->records.back());
    }
  }

  // ---- sources -------------------------------------------------------------------------------

  void change_source(const LineRef& ref) {
    end_source(source_);
    source_ = ref.source_index;
    if (source_names_.size() <= source_) source_names_.resize(source_ + 1);
    source_names_[source_] = std::string(ref.source);
  }

  // A transcript ended: its subagent runs end, and so do turns that said they were over.
  void end_source(uint32_t src) {
    if (src == UINT32_MAX) return;
    for (const std::string& key : source_streams_) {
      auto it = streams_.find(key);
      if (it == streams_.end() || it->second.source != src) continue;
      Stream& s = it->second;
      bool waiting = has_held_calls(key);
      release_stream_calls(key);
      // A turn whose transcript stops after the model's answer, with no call waiting, is over
      // (a `claude -p` transcript has no turn_duration); one that stops mid-call was cut off.
      if (s.open && (s.subagent || s.ending || (s.answered && !waiting))) end_at_last_activity(s, "");
    }
    source_streams_.clear();
  }

  // ---- turns ---------------------------------------------------------------------------------

  void end_turn(Stream& s, std::string error_code, int64_t end_ms, const Pos& pos, std::string_view evidence) {
    Canon c = s.base;
    c.turn_id = s.turn_id;
    c.event_type = "agent_run";
    c.phase = "end";
    c.tool_name = "turn";
    c.tool_action = "end";
    c.input_ref = std::string(kNoRef);
    c.output_ref = std::string(kNoRef);
    c.error_code = std::move(error_code);
    end_ms = std::max(end_ms, s.start_ms);  // a line stamped early never makes a negative duration
    c.event_time = format_rfc3339_ms(end_ms);
    c.latency_ms = end_ms - s.start_ms;
    c.evidence_ref = std::string(evidence);
    c.parent_action_id = s.parent_action_id;
    emit_at(c, pos);
    s.open = false;
    s.ending = false;
  }

  void end_at_last_activity(Stream& s, std::string error_code) {
    end_turn(s, std::move(error_code), s.last_ms, s.last_pos, s.last_evidence);
  }

  void touch() {
    Stream& s = *stream_;
    if (!s.open) return;
    if (now_ms_ >= s.last_ms) {
      s.last_ms = now_ms_;
      s.last_pos = pos_;
      s.last_evidence = base_.evidence_ref;
    }
  }

  void start_turn() {
    Stream& s = *stream_;
    if (s.open) {
      release_stream_calls(turn_key_);
      end_at_last_activity(s, "");
    }
    if (s.subagent && s.parent_action_id.empty()) link_by_prompt(s);
    base_.parent_action_id = s.parent_action_id;
    s.open = true;
    s.ending = false;
    s.answered = false;
    s.turn_id = entry_id_;
    s.start_ms = s.last_ms = now_ms_;
    s.last_pos = pos_;
    s.last_evidence = base_.evidence_ref;
    s.base = base_;
    s.base.tool_target = cwd_;
    Canon c = base_;
    c.turn_id = s.turn_id;
    c.event_type = "agent_run";
    c.phase = "start";
    c.tool_name = "turn";
    c.tool_action = "start";
    c.tool_target = cwd_;
    c.input_ref = content_ref(content_);
    c.output_ref = std::string(kNoRef);
    emit(c);
  }

  // ---- subagents -----------------------------------------------------------------------------

  // A subagent's first prompt is its parent call's `prompt`: link them when no agentId did.
  void link_by_prompt(Stream& s) {
    std::string hash = sha256_ref(claude::leading_text(content_));
    for (auto it = prompt_links_.begin(); it != prompt_links_.end(); ++it) {
      if (it->first != hash) continue;
      s.parent_action_id = it->second;
      if (top_.agent) remember_agent(std::string(*top_.agent), it->second);
      if (call_stream_.size() >= kMaxLinks) call_stream_.clear();
      call_stream_[it->second] = turn_key_;
      prompt_links_.erase(it);
      return;
    }
  }

  void remember_agent(std::string agent, const std::string& call) {
    if (agent_parent_.size() >= kMaxLinks) agent_parent_.clear();
    agent_parent_[std::move(agent)] = call;
  }

  // The parent's call `call` names subagent `agent`: link them, and end the subagent's run
  // when its call has returned.
  void subagent_linked(std::string_view session, std::string_view agent, const std::string& call, bool returned) {
    std::string key;
    if (!agent.empty()) {
      remember_agent(std::string(agent), call);
      key.assign(session).push_back('\x1f');
      key += "claude-code/";
      key += ident_or(agent, "subagent");
    } else if (auto by_call = call_stream_.find(call); by_call != call_stream_.end()) {
      key = by_call->second;
    } else {
      return;
    }
    auto it = streams_.find(key);
    if (it == streams_.end()) return;
    Stream& s = it->second;
    if (s.parent_action_id.empty()) s.parent_action_id = call;
    if (returned && s.open) {
      release_stream_calls(key);
      end_at_last_activity(s, "");
    }
  }

  // ---- held calls ----------------------------------------------------------------------------

  void hold(Canon c, bool asks_user) {
    std::string id = c.action_id;
    if (held_.size() >= kMaxHeld) release_call(std::string(held_order_.front()), {}, {});
    auto [it, fresh] = held_.try_emplace(id);
    it->second = HeldCall{std::move(c), pos_, turn_key_, {}, stream_->open ? stream_->turn_id : std::string(), {},
                          asks_user};
    if (fresh) held_order_.push_back(std::move(id));
  }

  // Writes the held call `id` with `decision` (when set) and `policy` (when set).
  void release_call(const std::string& id, std::string_view decision, std::string_view policy) {
    auto it = held_.find(id);
    if (it != held_.end()) {
      HeldCall& h = it->second;
      if (!decision.empty()) h.call.decision = decision;
      if (!policy.empty()) h.call.policy_id = std::string(policy);
      emit_at(h.call, h.pos);
      if (h.asks_user || h.hook_decision == "ask") {
        Canon e = h.call;
        e.event_type = "escalation";
        e.decision = "needs_review";
        e.policy_id.clear();
        e.turn_id = h.turn;
        emit_at(e, h.pos);
      }
      held_.erase(it);
    }
    while (!held_order_.empty() && !held_.count(held_order_.front())) held_order_.pop_front();
  }

  bool has_held_calls(const std::string& key) const {
    for (const auto& [id, h] : held_)
      if (h.stream == key) return true;
    return false;
  }

  void release_stream_calls(const std::string& key) {
    if (held_.empty()) return;
    std::vector<std::string> ids;
    for (const auto& id : held_order_) {
      auto it = held_.find(id);
      if (it != held_.end() && it->second.stream == key) ids.push_back(id);
    }
    for (const auto& id : ids) release_call(id, {}, {});
  }

  // ---- lines ---------------------------------------------------------------------------------

  void convert_assistant(const LineRef& ref) {
    stream_->ending = false;  // work goes on (a Stop hook may send the model back to work)
    std::string model(ident_or(str_at(*message_, "model").value_or(""), ""));
    simdjson::dom::array blocks;
    size_t cursor = 0;
    bool text = content_.is_string(), calls = false;
    if (content_.get(blocks) == simdjson::SUCCESS) {
      size_t i = 0;
      for (element b : blocks) {
        object block;
        std::string_view bt = b.get(block) == simdjson::SUCCESS ? str_at(block, "type").value_or("") : "";
        if (bt != "tool_use") {
          text = text || bt == "text";
          ++i;
          continue;
        }
        calls = true;
        auto id = str_at(block, "id");
        auto name = str_at(block, "name");
        if (!id || id->empty() || !name || name->empty()) {
          out_->why = "message.content[" + std::to_string(i) + "]: a tool_use block needs a string id and name";
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
        auto kind = claude::describe_tool(*name, input_object ? std::optional<object>(input) : std::nullopt, cwd_, c);
        c.input_ref = has_input ? claude::input_hash(ref.bytes, *id, input_el, cursor) : std::string(kUnknownRef);
        c.output_ref = std::string(kNoRef);
        c.decision = bypass_ ? "allow" : "unknown";
        calls_.put(c.action_id, {c.tool_name, c.tool_action, c.tool_target, c.input_ref, now_ms_});
        if (kind.subagent && input_object) {
          if (auto prompt = str_at(input, "prompt")) {
            if (prompt_links_.size() >= kMaxLinks) prompt_links_.pop_front();
            prompt_links_.emplace_back(sha256_ref(*prompt), c.action_id);
          }
        }
        hold(std::move(c), kind.asks_user);
        ++i;
      }
    }
    touch();
    if (calls) stream_->answered = false;
    else if (text) stream_->answered = true;
    if (stream_->open && str_at(*message_, "stop_reason").value_or("") == "end_turn") stream_->ending = true;
  }

  void convert_user() {
    Stream& s = *stream_;
    bool after_compact = s.after_compact;
    s.after_compact = false;
    std::string_view text = claude::leading_text(content_);
    // A compaction summary is stamped when the summary was written, not when it was asked for.
    if (top_.compact_summary || (after_compact && starts_with(text, kCompactOpening))) return;
    simdjson::dom::array blocks;
    bool prompt = false, results = false, image = false;
    if (content_.get(blocks) == simdjson::SUCCESS) {
      size_t i = 0;
      for (element b : blocks) {
        object block;
        std::string_view bt = b.get(block) == simdjson::SUCCESS ? str_at(block, "type").value_or("") : "";
        if (bt == "text" || bt == "image") prompt = true;
        if (bt == "image") image = true;
        if (bt != "tool_result") {
          ++i;
          continue;
        }
        auto id = str_at(block, "tool_use_id");
        if (!id || id->empty()) {
          out_->why = "message.content[" + std::to_string(i) + "]: a tool_result block needs a string tool_use_id";
          return;
        }
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
      s.answered = false;
    }
    if (starts_with(text, "[Request interrupted by user")) {
      if (s.open) {
        release_stream_calls(turn_key_);
        end_turn(s, "interrupted", now_ms_, pos_, base_.evidence_ref);
      }
      return;
    }
    bool blank = text.find_first_not_of(" \t\r\n") == std::string_view::npos;
    if (prompt && !top_.meta && !blank && is_echo(text) && s.open && (s.ending || s.answered)) {
      // The user typed a command after the answer: the turn is over.
      release_stream_calls(turn_key_);
      end_at_last_activity(s, "");
    }
    if (!prompt || top_.meta || (is_echo(text) && !(image && blank))) return;
    start_turn();
  }

  void tool_result(object block, std::string_view id) {
    Canon c = base_;
    c.event_type = "tool_result";
    c.action_id = std::string(id);
    const CallInfo* call = calls_.find(id);
    bool subagent_call = call && (call->tool_name == "Task" || call->tool_name == "Agent");
    calls_.answer(id, now_ms_, c);
    element content;
    bool has = block["content"].get(content) == simdjson::SUCCESS && !content.is_null();
    c.output_ref = has ? content_ref(content) : std::string(kNoRef);
    bool error = bool_at(block, "is_error");
    bool denied = error && has && claude::is_denial(content);
    std::string_view hook_block = error && has && !denied ? claude::hook_block_name(content) : std::string_view();
    if (!hook_block.empty() && hook_block.substr(11) != c.tool_name) hook_block = {};  // only the call's own tool's hook
    auto held = held_.find(c.action_id);
    HeldCall* h = held == held_.end() ? nullptr : &held->second;
    std::string hook = h ? h->hook : std::string();
    if (error && !denied && hook_block.empty() && h && h->hook_decision == "deny") hook_block = hook;  // the hook said deny
    bool asks = h && (h->asks_user || h->hook_decision == "ask");
    std::string_view call_decision;
    if (denied || !hook_block.empty()) call_decision = "block";
    else if (!hook.empty()) call_decision = h->hook_decision == "deny" ? "block" : "allow";
    std::string policy = !hook_block.empty() ? std::string(hook_block) : hook;
    release_call(c.action_id, call_decision, policy);
    c.decision = denied || !hook_block.empty() ? "block" : "allow";
    if (error) c.error_code = denied ? "permission_denied" : !hook_block.empty() ? "hook_blocked" : "tool_error";
    c.policy_id = policy;
    if (subagent_call && has && !error) {
      std::string_view agent, status;
      object tur;
      if (top_.tool_use_result && top_.tool_use_result->get(tur) == simdjson::SUCCESS) {
        agent = str_at(tur, "agentId").value_or("");
        status = str_at(tur, "status").value_or("");
      }
      if (agent.empty()) agent = claude::agent_id_in_text(content);
      // A background subagent is launched, not finished, when its call returns.
      subagent_linked(base_.run_id, agent, c.action_id, status != "async_launched");
    }
    emit(c);
    if (denied || (asks && !error)) {
      // The user's answer to a permission prompt, a question or a plan.
      Canon e = c;
      e.event_type = "escalation";
      e.turn_id = stream_->open ? stream_->turn_id : std::string();
      emit(e);
    }
  }

  // system lines: the end of a turn (turn_duration, stop_hook_summary) and compaction.
  void on_system() {
    Stream* s = light_stream();
    if (!s) return;
    std::string_view subtype = top_.subtype.value_or("");
    if (subtype == "compact_boundary") {
      s->after_compact = true;
    } else if (subtype == "stop_hook_summary") {
      if (s->open) s->ending = true;
    } else if (subtype == "turn_duration" && s->open) {
      release_stream_calls(turn_key_);
      int64_t d = -1;
      if (top_.duration) {
        if (top_.duration->is_int64()) d = top_.duration->get_int64().value_unsafe();
        else if (top_.duration->is_uint64()) d = static_cast<int64_t>(std::min<uint64_t>(top_.duration->get_uint64().value_unsafe(), INT64_MAX / 4));
        else if (top_.duration->is_double()) d = static_cast<int64_t>(top_.duration->get_double().value_unsafe() + 0.5);
      }
      Pos pos{ref_->source_index, ref_->line, kSystemEntry};
      std::string evidence = top_.uuid ? evidence_urn(kFormat, {*top_.session, *top_.uuid})
                                       : evidence_urn(kFormat, {*top_.session, "line", std::to_string(ref_->line)});
      // Claude Code's own measure of the turn: the end is the prompt's time plus durationMs.
      if (d >= 0 && d < int64_t(400) * 24 * 3600 * 1000) end_turn(*s, "", s->start_ms + d, pos, evidence);
      else end_turn(*s, "", s->last_ms, pos, evidence);
    }
  }

  // The stream of a line that is not a message (system, progress): nullptr when it has no session.
  Stream* light_stream() {
    if (!top_.session || top_.session->empty()) return nullptr;
    stream_key(*top_.session);
    auto it = streams_.find(turn_key_);
    return it == streams_.end() ? nullptr : &it->second;
  }

  // progress lines: a PreToolUse hook that ran for a call, a subagent working for a call.
  void on_progress() {
    object data;
    if (!top_.data || top_.data->get(data) != simdjson::SUCCESS) return;
    std::string_view kind = str_at(data, "type").value_or("");
    if (kind == "hook_progress") {
      if (str_at(data, "hookEvent").value_or("") != "PreToolUse" || !top_.tool_use_id) return;
      note_hook(*top_.tool_use_id, str_at(data, "hookName").value_or("PreToolUse"), {});
    } else if (kind == "agent_progress") {
      auto agent = str_at(data, "agentId");
      if (agent && top_.parent_tool_use_id && top_.session && !agent->empty())
        subagent_linked(*top_.session, *agent, std::string(*top_.parent_tool_use_id), false);
    }
  }

  // attachment lines (newer versions): hook outcomes.
  void on_attachment() {
    object a;
    if (!top_.attachment || top_.attachment->get(a) != simdjson::SUCCESS) return;
    if (str_at(a, "hookEvent").value_or("") != "PreToolUse") return;
    auto call = str_at(a, "toolUseID");
    if (!call) return;
    std::string_view kind = str_at(a, "type").value_or("");
    std::string_view name = str_at(a, "hookName").value_or("PreToolUse");
    if (kind == "hook_blocking_error") note_hook(*call, name, "deny");
    else if (kind == "hook_success") note_hook(*call, name, claude::hook_permission_decision(str_at(a, "stdout").value_or("")));
    else if (kind == "hook_permission_decision") note_hook(*call, name, str_at(a, "decision").value_or(""));
  }

  void note_hook(std::string_view call, std::string_view name, std::string_view decision) {
    auto it = held_.find(std::string(call));
    if (it == held_.end()) return;
    HeldCall& h = it->second;
    // The first hook that decides wins; one that only ran names itself when no other did.
    if (!h.hook_decision.empty()) return;
    h.hook = std::string(ident_or(name, "PreToolUse"));
    if (decision == "allow" || decision == "deny" || decision == "ask")
      h.hook_decision = decision == "allow" ? "allow" : decision == "deny" ? "deny" : "ask";
  }

  void on_permission_mode() {
    if (top_.session && !top_.session->empty() && top_.permission_mode)
      set_mode(std::string(*top_.session), *top_.permission_mode);
  }

  Top top_;
  Converted* out_ = nullptr;
  const LineRef* ref_ = nullptr;
  std::vector<Held>* fin_ = nullptr;
  CallTable calls_;
  std::unordered_map<std::string, Stream> streams_;
  std::unordered_map<std::string, std::string> modes_;         // permission mode by session
  std::unordered_map<std::string, std::string> agent_parent_;  // subagent id -> parent call id
  std::deque<std::pair<std::string, std::string>> prompt_links_;  // prompt hash -> subagent call id
  std::unordered_map<std::string, std::string> call_stream_;      // subagent call id -> its stream (linked by prompt)
  std::vector<Held> carry_;                                       // records waiting for a line that is not dead-lettered
  std::vector<bool> foreign_;                                     // per record of the line: written for another line
  std::unordered_map<std::string, HeldCall> held_;
  std::deque<std::string> held_order_;
  std::vector<std::string> source_names_, source_streams_;
  uint32_t source_ = UINT32_MAX;
  Stream* stream_ = nullptr;
  Pos pos_;
  Canon base_;
  int64_t now_ms_ = 0;
  std::optional<object> message_;
  element content_;
  std::string cwd_, turn_key_, entry_id_, agent_id_;
  bool bypass_ = false;
};

}  // namespace

std::unique_ptr<Format> make_claude_code_format() { return std::make_unique<ClaudeCode>(); }

}  // namespace agentlog::plugins::normalize

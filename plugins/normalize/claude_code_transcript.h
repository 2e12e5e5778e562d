// Claude Code session transcripts (format `claude-code`): the converter's state and lines.
// claude_code_format.cc reads the lines (messages, tool calls and results), claude_code_turns.cc
// keeps the turns, the subagents and the end of each transcript. Mapping tables:
// docs/formats/claude-code.md.
#pragma once
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "plugins/normalize/claude_code_held.h"
#include "plugins/normalize/normalize_format.h"

namespace agentlog::plugins::normalize::claude_code {

using claude::HeldCall;
using claude::Pos;

inline constexpr std::string_view kFormat = "claude-code";
inline constexpr size_t kMaxStreams = 100000, kMaxLinks = 10000;
inline constexpr std::string_view kUserEntry = "user", kAssistantEntry = "assistant", kSystemEntry = "system";

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

class ClaudeCode : public Format, private claude::RecordSink {
 public:
  void convert(object line, const LineRef& ref, Converted& out) override {
    out_ = &out;
    ref_ = &ref;
    fin_ = nullptr;
    foreign_.clear();
    for (auto& h : carry_) {  // records for earlier lines that waited for a line to follow
      out.records.push_back(std::move(h.record));
      out.origins.push_back({h.source_index, h.line});
      foreign_.push_back(true);
    }
    carry_.clear();
    convert_line(line, ref, out);
    if (!out.why.empty()) {
      // The line is dead-lettered with its records; those written for earlier lines wait for the next.
      for (size_t i = 0; i < out.records.size(); ++i)
        if (foreign_[i]) carry_.push_back({std::move(out.records[i]), out.origins[i].source_index, out.origins[i].line});
      out.records.clear();
      out.origins.clear();
    }
  }

  void finish(std::vector<Held>& out) override {
    fin_ = &out;
    out_ = nullptr;
    for (auto& h : carry_) out.push_back(std::move(h));
    carry_.clear();
    end_source(source_);
    held_.release_all(*this);
    fin_ = nullptr;
  }

 private:
  void convert_line(object line, const LineRef& ref, Converted& out);

  // The top-level members the format reads, found in one pass (the first of duplicates wins).
  struct Top {
    std::optional<std::string_view> type, session, timestamp, version, user_type, permission_mode, cwd, uuid, agent,
        subtype, tool_use_id, parent_tool_use_id;
    std::optional<element> message, data, attachment, tool_use_result, duration;
    bool sidechain = false, meta = false, compact_summary = false, agent_type = false;
  };

  void read_top(object line);

  // The stream key of the line: session and agent.
  void stream_key(std::string_view session);

  Stream& stream_for_key();

  // Reads what every record of the line shares into base_.
  bool setup(const LineRef& ref, Converted& out);

  void set_mode(const std::string& session, std::string_view mode);

  static bool fail(Converted& out, std::string why);

  // ---- emitting ------------------------------------------------------------------------------

  void emit(const Canon& event);

  // A record for an earlier line (`pos`), written now.
  void emit_at(const Canon& event, const Pos& pos) override;

  // ---- sources -------------------------------------------------------------------------------

  void change_source(const LineRef& ref);

  // A transcript ended: its subagent runs end, and so do turns that said they were over.
  void end_source(uint32_t src);

  // ---- turns ---------------------------------------------------------------------------------

  void end_turn(Stream& s, std::string error_code, int64_t end_ms, const Pos& pos, std::string_view evidence);

  void end_at_last_activity(Stream& s, std::string error_code);

  void touch();

  void start_turn();

  // ---- subagents -----------------------------------------------------------------------------

  // A subagent's first prompt is its parent call's `prompt`: link them when no agentId did.
  void link_by_prompt(Stream& s);

  void remember_agent(std::string agent, const std::string& call);

  // The parent's call `call` names subagent `agent`: link them, and end the subagent's run
  // when its call has returned.
  void subagent_linked(std::string_view session, std::string_view agent, const std::string& call, bool returned);

  // ---- lines ---------------------------------------------------------------------------------

  void convert_assistant(const LineRef& ref);

  void convert_user();

  void tool_result(object block, std::string_view id);

  // system lines: the end of a turn (turn_duration, stop_hook_summary) and compaction.
  void on_system();

  // The stream of a line that is not a message (system, progress): nullptr when it has no session.
  Stream* light_stream();

  // progress lines: a PreToolUse hook that ran for a call, a subagent working for a call.
  void on_progress();

  // attachment lines (newer versions): hook outcomes.
  void on_attachment();

  void on_permission_mode();

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
  claude::HeldCalls held_;
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

}  // namespace agentlog::plugins::normalize::claude_code

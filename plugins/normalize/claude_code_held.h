// Claude Code transcripts: tool_call records held back until their result, so that what
// happens in between (a PreToolUse hook's outcome, the user's refusal) can still become the
// call's decision. Used by claude_code_format.cc.
#pragma once
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

#include "plugins/normalize/normalize_format.h"

namespace agentlog::plugins::normalize::claude {

// Where a record belongs when it is written for an earlier line than the one being read.
struct Pos {
  uint32_t source = 0;
  uint64_t line = 0;
  std::string_view entry;  // a string literal: the line's type
};

// Writes a record for the line at `pos`.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void emit_at(const Canon& event, const Pos& pos) = 0;
};

struct HeldCall {
  Canon call;
  Pos pos;
  std::string stream, hook, turn;  // the agent stream, the PreToolUse hook that ran, the turn then open
  std::string_view hook_decision;  // "allow", "deny", "ask" from the hook's output, or empty
  bool asks_user = false;          // AskUserQuestion, ExitPlanMode: an escalation goes with the call
};

class HeldCalls {
 public:
  static constexpr size_t kMaxHeld = 10000;

  // Holds `event`; beyond kMaxHeld the oldest held call is written as it is.
  void hold(Canon event, const Pos& pos, const std::string& stream, std::string turn, bool asks_user, RecordSink& sink);
  HeldCall* find(const std::string& id) {
    auto it = held_.find(id);
    return it == held_.end() ? nullptr : &it->second;
  }
  // Writes the held call `id` with `decision` and `policy` when they are set (and its
  // escalation when it asks the user).
  void release(const std::string& id, std::string_view decision, std::string_view policy, RecordSink& sink);
  // Writes the calls of one stream (its turn or transcript ended), in the order they were held.
  void release_stream(const std::string& stream, RecordSink& sink);
  void release_all(RecordSink& sink);
  bool holds_for(const std::string& stream) const;
  // A PreToolUse hook `name` ran for `call` and said `decision` ("allow", "deny", "ask" or
  // nothing): the first hook that decides wins.
  void note_hook(std::string_view call, std::string_view name, std::string_view decision);
  bool empty() const { return held_.empty(); }

 private:
  std::unordered_map<std::string, HeldCall> held_;
  std::deque<std::string> order_;
};

}  // namespace agentlog::plugins::normalize::claude

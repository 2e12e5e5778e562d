// What the two Claude Code formats (session transcripts and `claude -p` stream-json) share:
// the per-tool mapping table and the readings of tool inputs and results.
// The tables are documented in docs/formats/claude-code.md.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "plugins/normalize/normalize_format.h"

namespace agentlog::plugins::normalize::claude {

inline bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// What describe_tool learnt about a tool besides its action and target.
struct ToolKind {
  bool asks_user = false;  // waits for the user's answer (AskUserQuestion, ExitPlanMode): an escalation
  bool subagent = false;   // starts a subagent (Task, Agent)
};

// Fills event.tool_action and event.tool_target for tool `name` with input `input` (`cwd` stands in
// for a missing path).
ToolKind describe_tool(std::string_view name, std::optional<object> input, std::string_view cwd, Canon& event);

// The text a content value starts with: the string, or the first text block of an array.
std::string_view leading_text(element content);

// A result that says the user or a permission rule refused the call.
bool is_denial(element content);

// A result that says a PreToolUse hook blocked the call ("PreToolUse:Bash hook error: [cmd]: ...",
// or "... hook blocked ..."): the hook's name ("PreToolUse:Bash"), else empty. Callers accept it
// only for the call's own tool (a tool's output could start with such text).
std::string_view hook_block_name(element content);

// The tool a hook name is for: "Bash" for "PreToolUse:Bash"; empty when the name has no tool
// (the bare "PreToolUse" that stands for a name that was not an identifier).
inline std::string_view hook_tool(std::string_view hook_name) {
  constexpr std::string_view kPrefix = "PreToolUse:";
  return hook_name.size() > kPrefix.size() && hook_name.substr(0, kPrefix.size()) == kPrefix
             ? hook_name.substr(kPrefix.size())
             : std::string_view();
}

// The agent id a subagent call's result names: the text "agentId: <id>" in its content.
std::string_view agent_id_in_text(element content);

// The hash of a tool_use input: of its raw text in the line when that is already the minified
// form (Claude Code writes compact JSON), else of simdjson's minified text. `cursor` is where
// the next tool_use block's raw text may start.
std::string input_hash(std::string_view bytes, std::string_view id, element input, size_t& cursor);

// A PreToolUse hook's permissionDecision in its JSON output ("allow", "deny", "ask"), else empty.
std::string_view hook_permission_decision(std::string_view stdout_text);

// A `tool_use` content block (block `index` of the line's message.content) as a tool_call
// record made from `base`: action_id, model, tool name, action and target, input_ref,
// output_ref. False with `why` set when the block has no string id or name.
bool tool_call_of_block(object block, size_t index, const Canon& base, std::string_view model, std::string_view cwd,
                        std::string_view line_bytes, size_t& cursor, Canon& event, ToolKind& kind, std::string& why);

// The `tool_use_id` of a `tool_result` content block (block `index`); nullopt with `why` set
// when it has none.
std::optional<std::string_view> tool_result_id(object block, size_t index, std::string& why);

}  // namespace agentlog::plugins::normalize::claude

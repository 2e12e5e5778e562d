// The readings shared by the Claude Code formats (plugins/normalize/claude_tools.h): hook
// blocks, agent ids and hook decisions are found in the texts Claude Code writes, and nothing
// else is taken for them.
#include <catch2/catch.hpp>

#include "plugins/normalize/claude_tools.h"

using namespace agentlog::plugins::normalize;

namespace {
simdjson::dom::parser& parser() {
  static simdjson::dom::parser p;
  return p;
}
element parse(const std::string& json) { return parser().parse(json).value(); }
}  // namespace

TEST_CASE("hook_block_name reads the PreToolUse hook that blocked a call", "[normalize]") {
  CHECK(claude::hook_block_name(parse(R"j("PreToolUse:Bash hook error: [python3 guard.py]: no pushes to main")j")) ==
        "PreToolUse:Bash");
  CHECK(claude::hook_block_name(parse(R"j("Error: PreToolUse:Edit hook error: [node h.mjs]: protected")j")) ==
        "PreToolUse:Edit");
  CHECK(claude::hook_block_name(parse(R"j([{"type":"text","text":"PreToolUse:mcp__github__push hook error: [x]: y"}])j")) ==
        "PreToolUse:mcp__github__push");
  CHECK(claude::hook_block_name(parse(R"j("Exit code 1\nPreToolUse:Bash hook error")j")).empty());
  CHECK(claude::hook_block_name(parse(R"j("PostToolUse:Bash hook error: [x]: y")j")).empty());
  CHECK(claude::hook_block_name(parse(R"j("PreToolUse:Bash says hello")j")).empty());
}

TEST_CASE("agent_id_in_text reads the agentId Claude Code appends to a subagent's result", "[normalize]") {
  CHECK(claude::agent_id_in_text(parse(
            R"j([{"type":"text","text":"done"},{"type":"text","text":"agentId: a4f2c9e81b7d3a605 (for resuming to continue this agent's work if needed)"}])j")) ==
        "a4f2c9e81b7d3a605");
  CHECK(claude::agent_id_in_text(parse(R"j("result\nagentId: ab97f57 (for resuming)")j")) == "ab97f57");
  CHECK(claude::agent_id_in_text(parse(R"j([{"type":"text","text":"no id here"}])j")).empty());
  CHECK(claude::agent_id_in_text(parse(R"j("agentId: ")j")).empty());
}

TEST_CASE("hook_permission_decision reads hookSpecificOutput.permissionDecision", "[normalize]") {
  CHECK(claude::hook_permission_decision(
            R"j({"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"allow"}})j") == "allow");
  CHECK(claude::hook_permission_decision(R"j({"hookSpecificOutput": {"permissionDecision": "deny"}})j") == "deny");
  CHECK(claude::hook_permission_decision(R"j({"permissionDecision":"ask"})j") == "ask");
  CHECK(claude::hook_permission_decision(R"j({"permissionDecision":"allowed"})j").empty());
  CHECK(claude::hook_permission_decision("Success").empty());
}

TEST_CASE("is_denial knows the refusals Claude Code writes", "[normalize]") {
  CHECK(claude::is_denial(parse(R"j("The user doesn't want to proceed with this tool use. The tool use was rejected")j")));
  CHECK(claude::is_denial(parse(R"j("Claude requested permissions to use Bash, but you haven't granted it yet.")j")));
  CHECK(claude::is_denial(parse(R"j("Permission to use Bash with command rm -rf / has been denied.")j")));
  CHECK_FALSE(claude::is_denial(parse(R"j("Exit code 1")j")));
}

TEST_CASE("describe_tool maps the 2.1.x tools", "[normalize]") {
  Canon c;
  auto input = parse(R"j({"skill":"pdf","args":"x"})j");
  auto kind = claude::describe_tool("Skill", input.get_object().value(), "/repo", c);
  CHECK(c.tool_action == "execute");
  CHECK(c.tool_target == "skill:pdf");
  CHECK_FALSE(kind.asks_user);
  Canon a;
  CHECK(claude::describe_tool("AskUserQuestion", std::nullopt, "/repo", a).asks_user);
  CHECK(a.tool_target == "user");
  Canon t;
  auto task = parse(R"j({"subagent_type":"Explore","prompt":"p"})j");
  CHECK(claude::describe_tool("Agent", task.get_object().value(), "/repo", t).subagent);
  CHECK(t.tool_target == "agent:Explore");
  Canon g;
  claude::describe_tool("Grep", parse(R"j({"pattern":"x"})j").get_object().value(), "/repo", g);
  CHECK(g.tool_target == "/repo");
}

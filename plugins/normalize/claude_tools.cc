#include "plugins/normalize/claude_tools.h"

namespace agentlog::plugins::normalize::claude {
namespace {

enum class Target : uint8_t { Path, Command, Url, Ident, Fixed };

struct ToolRule {
  std::string_view tool, action;
  Target target;
  std::string_view key;          // input member (Path, Command, Url, Ident) or fixed text
  std::string_view prefix = {};  // put before an Ident target
  ToolKind kind = {};
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
    {"Task", "execute", Target::Ident, "subagent_type", "agent:", {.subagent = true}},
    {"Agent", "execute", Target::Ident, "subagent_type", "agent:", {.subagent = true}},
    {"TodoWrite", "update", Target::Fixed, "todo-list"},
    {"ExitPlanMode", "execute", Target::Fixed, "plan", {}, {.asks_user = true}},
    {"EnterPlanMode", "execute", Target::Fixed, "plan"},
    {"AskUserQuestion", "read", Target::Fixed, "user", {}, {.asks_user = true}},
    {"SlashCommand", "execute", Target::Fixed, "slash-command"},
    {"Skill", "execute", Target::Ident, "skill", "skill:"},
    {"ToolSearch", "read", Target::Fixed, "tool-search"},
};

constexpr std::string_view kDenials[] = {
    "The user doesn't want to proceed with this tool use",
    "The user doesn't want to take this action right now",
    // `claude -p` without the permission: "Claude requested permissions to use Bash, but you haven't granted it yet."
    "Claude requested permissions to ",
};

bool ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.';
}

}  // namespace

ToolKind describe_tool(std::string_view name, std::optional<object> input, std::string_view cwd, Canon& event) {
  const ToolRule* rule = nullptr;
  for (const auto& r : kTools)
    if (r.tool == name) rule = &r;
  if (!rule) {
    event.tool_action = "execute";
    if (starts_with(name, "mcp__")) {  // mcp__<server>__<tool>
      std::string_view rest = name.substr(5);
      event.tool_target = "mcp:" + std::string(ident_or(rest.substr(0, rest.find("__")), kUnknown));
    }
    return {};
  }
  event.tool_action = std::string(rule->action);
  std::string_view v = input ? str_at(*input, rule->key).value_or("") : std::string_view();
  switch (rule->target) {
    case Target::Path: event.tool_target = std::string(v.empty() ? cwd : v); break;
    case Target::Command: event.tool_target = program_name(v); break;
    case Target::Url: event.tool_target = url_host(v); break;
    case Target::Ident: event.tool_target = std::string(rule->prefix) + std::string(ident_or(v, kUnknown)); break;
    case Target::Fixed: event.tool_target = std::string(rule->key); break;
  }
  return rule->kind;
}

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

std::string_view hook_block_name(element content) {
  std::string_view t = leading_text(content);
  t = t.substr(0, 512);
  if (starts_with(t, "Error: ")) t.remove_prefix(7);
  if (!starts_with(t, "PreToolUse:")) return {};
  size_t end = 11;
  while (end < t.size() && t[end] != ' ' && t[end] != '\n') ++end;
  std::string_view rest = t.substr(end);
  if (!starts_with(rest, " hook error") && !starts_with(rest, " hook blocked") && !starts_with(rest, " hook denied"))
    return {};
  return ident_or(t.substr(0, end), "PreToolUse");
}

std::string_view agent_id_in_text(element content) {
  auto scan = [](std::string_view t) -> std::string_view {
    // Claude Code appends "agentId: <id> (for resuming ...)" to a subagent's result.
    size_t at = t.rfind("agentId: ");
    if (at == std::string_view::npos) return {};
    size_t start = at + 9, end = start;
    while (end < t.size() && end - start < 64 && ident_char(t[end])) ++end;
    return t.substr(start, end - start);
  };
  std::string_view s;
  if (content.get(s) == simdjson::SUCCESS) return scan(s);
  simdjson::dom::array a;
  if (content.get(a) != simdjson::SUCCESS) return {};
  std::string_view found;
  for (element b : a) {
    object o;
    if (b.get(o) != simdjson::SUCCESS || str_at(o, "type").value_or("") != "text") continue;
    if (auto id = scan(str_at(o, "text").value_or("")); !id.empty()) found = id;
  }
  return found;
}

std::string input_hash(std::string_view bytes, std::string_view id, element input, size_t& cursor) {
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

std::string_view hook_permission_decision(std::string_view out) {
  size_t at = out.find("\"permissionDecision\"");
  if (at == std::string_view::npos) return {};
  size_t i = at + 20;
  while (i < out.size() && (out[i] == ' ' || out[i] == ':' || out[i] == '\t' || out[i] == '\n')) ++i;
  if (i >= out.size() || out[i] != '"') return {};
  std::string_view rest = out.substr(i + 1);
  for (std::string_view d : {"allow", "deny", "ask"})
    if (starts_with(rest, d) && rest.size() > d.size() && rest[d.size()] == '"') return d;
  return {};
}

bool tool_call_of_block(object block, size_t index, const Canon& base, std::string_view model, std::string_view cwd,
                        std::string_view line_bytes, size_t& cursor, Canon& event, ToolKind& kind, std::string& why) {
  auto id = str_at(block, "id");
  auto name = str_at(block, "name");
  if (!id || id->empty() || !name || name->empty()) {
    why = "message.content[" + std::to_string(index) + "]: a tool_use block needs a string id and name";
    return false;
  }
  element input_el;
  object input;
  bool has_input = block["input"].get(input_el) == simdjson::SUCCESS;
  bool input_object = has_input && input_el.get(input) == simdjson::SUCCESS;
  event = base;
  event.event_type = "tool_call";
  event.action_id = std::string(*id);
  event.model = std::string(model);
  event.tool_name = std::string(ident_or(*name, "(other)"));
  kind = describe_tool(*name, input_object ? std::optional<object>(input) : std::nullopt, cwd, event);
  event.input_ref = has_input ? input_hash(line_bytes, *id, input_el, cursor) : std::string(kUnknownRef);
  event.output_ref = std::string(kNoRef);
  return true;
}

std::optional<std::string_view> tool_result_id(object block, size_t index, std::string& why) {
  auto id = str_at(block, "tool_use_id");
  if (!id || id->empty()) {
    why = "message.content[" + std::to_string(index) + "]: a tool_result block needs a string tool_use_id";
    return std::nullopt;
  }
  return id;
}

}  // namespace agentlog::plugins::normalize::claude

// What a Codex tool call does (see codex_tools.h).
#include "plugins/normalize/codex_tools.h"

#include <charconv>
#include <vector>

namespace agentlog::plugins::normalize {

namespace {
bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
}  // namespace

// apply_patch input: "*** Add File: p", "*** Update File: p", "*** Delete File: p" headers.
void describe_patch(std::string_view patch, Canon& event) {
  std::vector<std::string_view> paths;
  std::string_view action;
  for (size_t at = 0; at < patch.size();) {
    size_t nl = patch.find('\n', at);
    std::string_view l = patch.substr(at, nl == std::string_view::npos ? std::string_view::npos : nl - at);
    at = nl == std::string_view::npos ? patch.size() : nl + 1;
    for (auto [head, act] : {std::pair{"*** Add File: ", "create"}, {"*** Update File: ", "update"},
                             {"*** Delete File: ", "delete"}})
      if (starts_with(l, head)) {
        paths.push_back(l.substr(std::string_view(head).size()));
        if (action.empty()) action = act;
        else if (action != act) action = "update";
      }
  }
  event.tool_action = std::string(action.empty() ? "update" : action);
  if (paths.empty()) return;
  std::string_view p = paths[0];
  while (!p.empty() && (p.back() == '\r' || p.back() == ' ')) p.remove_suffix(1);
  event.tool_target = std::string(p);
  if (paths.size() > 1) event.tool_target += ",+" + std::to_string(paths.size() - 1) + " more";
}

// The exit code a tool output reports: {"output":...,"metadata":{"exit_code":N,...}} or
// "Exit code: N". The JSON text is not parsed again: in it an unescaped "metadata" or
// "exit_code" can only be a key (quotes inside strings are escaped), and `metadata` follows
// the output, so the search runs from the end.
std::optional<int64_t> exit_code(std::string_view output) {
  std::string_view digits;
  if (starts_with(output, "{")) {
    size_t meta = output.rfind("\"metadata\"");
    if (meta == std::string_view::npos) return std::nullopt;
    size_t key = output.find("\"exit_code\"", meta);
    if (key == std::string_view::npos) return std::nullopt;
    size_t at = output.find_first_not_of(" \t\r\n", key + 11);
    if (at == std::string_view::npos || output[at] != ':') return std::nullopt;
    at = output.find_first_not_of(" \t\r\n", at + 1);
    if (at == std::string_view::npos) return std::nullopt;
    digits = output.substr(at);
  } else if (starts_with(output, "Exit code: ")) {
    digits = output.substr(11);
  } else {
    return std::nullopt;
  }
  int64_t code = 0;
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), code);
  if (r.ec != std::errc()) return std::nullopt;
  return code;
}

bool describe_codex_tool(std::string_view name, std::string_view args, bool free_text, std::string_view cwd,
                         Canon& event) {
  if (name == "apply_patch" && free_text) {
    describe_patch(args, event);
    return false;
  }
  if (name == "update_plan") {
    event.tool_action = "update";
    event.tool_target = "plan";
    return false;
  }
  thread_local simdjson::dom::parser parser;
  object parsed_args;
  if (free_text || parser.parse(args.data(), args.size()).get(parsed_args) != simdjson::SUCCESS) {
    if (size_t sep = name.find("__"); sep != std::string_view::npos)
      event.tool_target = "mcp:" + std::string(ident_or(name.substr(0, sep), kUnknown));
    return false;
  }
  // Raised permissions: `sandbox_permissions` (require_escalated, with_additional_permissions)
  // in recent versions, `with_escalated_permissions: true` before.
  std::string_view perms = str_at(parsed_args, "sandbox_permissions").value_or("");
  bool escalation = bool_at(parsed_args, "with_escalated_permissions") || perms == "require_escalated" ||
                    perms == "with_additional_permissions";
  simdjson::dom::array argv;
  if (name == "shell" || name == "shell_command" || name == "container.exec" || name == "local_shell") {
    if (parsed_args["command"].get(argv) == simdjson::SUCCESS) event.tool_target = argv_program(argv);
    else if (auto cmd = str_at(parsed_args, "command")) event.tool_target = program_name(*cmd);
  } else if (name == "exec_command") {
    event.tool_target = program_name(str_at(parsed_args, "cmd").value_or(""));
  } else if (name == "apply_patch") {
    describe_patch(str_at(parsed_args, "input").value_or(""), event);
  } else if (name == "view_image" || name == "read_file" || name == "list_dir" || name == "grep_files") {
    event.tool_action = "read";
    auto path = str_at(parsed_args, "path");
    if (!path) path = str_at(parsed_args, "file_path");
    if (!path) path = str_at(parsed_args, "dir_path");
    event.tool_target = std::string(path.value_or(cwd));
  } else if (size_t sep = name.find("__"); sep != std::string_view::npos) {
    event.tool_target = "mcp:" + std::string(ident_or(name.substr(0, sep), kUnknown));
  }
  return escalation;
}

}  // namespace agentlog::plugins::normalize

// What a Codex tool call does, from its name and arguments (normalize: codex). Mapping table in
// docs/formats/codex.md, section "Tools".
#pragma once
#include <optional>
#include <string_view>

#include "plugins/normalize/normalize_format.h"

namespace agentlog::plugins::normalize {

// apply_patch input: tool_action and tool_target from the "*** Add/Update/Delete File:" headers.
void describe_patch(std::string_view patch, Canon& event);
// The exit code a tool output reports, if any.
std::optional<int64_t> exit_code(std::string_view output);
// Sets event's tool_action and tool_target for the tool `name` with `args` (a JSON text, or free
// text for custom tools); true when the arguments ask for raised permissions.
bool describe_codex_tool(std::string_view name, std::string_view args, bool free_text, std::string_view cwd,
                         Canon& event);

}  // namespace agentlog::plugins::normalize

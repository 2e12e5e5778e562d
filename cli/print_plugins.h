// `agentlog plugins`: every input, stage and output with its option table, as text or JSON.
#pragma once

namespace agentlog::cli {

void print_plugins_text();
void print_plugins_json();

}  // namespace agentlog::cli

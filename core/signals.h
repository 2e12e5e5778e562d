// SIGINT/SIGTERM ask the run to drain and stop; SIGHUP asks file outputs to reopen.
#pragma once

namespace agentlog {

void install_signal_handlers();
bool stop_requested();
// Returns true once per SIGHUP received.
bool take_reopen_request();

}  // namespace agentlog

#include "core/signals.h"

#include <csignal>
#include <cstring>

namespace agentlog {
namespace {
volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_hup = 0;

void on_stop(int) { g_stop = 1; }
void on_hup(int) { g_hup = 1; }
}  // namespace

void install_signal_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking read returns EINTR so the run can drain
  sa.sa_handler = on_stop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = on_hup;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGHUP, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // EPIPE is reported as an error instead
}

bool stop_requested() { return g_stop != 0; }

bool take_reopen_request() {
  if (!g_hup) return false;
  g_hup = 0;
  return true;
}

}  // namespace agentlog

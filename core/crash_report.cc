#include "core/crash_report.h"

#include <execinfo.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

namespace agentlog {
namespace {

// Sanitizers install their own fatal-signal handlers (and report far more than a backtrace).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer) || \
    __has_feature(undefined_behavior_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

constexpr int kFatalSignals[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};
constexpr int kMaxFrames = 64;

// The main thread's handler runs here, so that a stack overflow can still be reported.
alignas(16) char g_alt_stack[64 * 1024];

const char* signal_name(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    default: return "signal";
  }
}

// Async-signal-safe text building: no allocation, no stdio.
struct Line {
  char buf[512];
  size_t len = 0;
  void add(const char* s) {
    for (; *s && len < sizeof buf; ++s) buf[len++] = *s;
  }
  void add_number(uint64_t v, int base) {
    char digits[24];
    int n = 0;
    do {
      digits[n++] = "0123456789abcdef"[v % static_cast<unsigned>(base)];
      v /= static_cast<unsigned>(base);
    } while (v && n < static_cast<int>(sizeof digits));
    while (n && len < sizeof buf) buf[len++] = digits[--n];
  }
  void write_to(int fd) const {
    size_t done = 0;
    while (done < len) {
      ssize_t w = ::write(fd, buf + done, len - done);
      if (w <= 0) return;
      done += static_cast<size_t>(w);
    }
  }
};

void report(int fd, int sig, const void* address) {
  Line line;
  line.add("agentlog: fatal signal ");
  line.add_number(static_cast<uint64_t>(sig), 10);
  line.add(" (");
  line.add(signal_name(sig));
  line.add(") in thread ");
  line.add_number(static_cast<uint64_t>(::syscall(SYS_gettid)), 10);
  if (address != nullptr) {
    line.add(" at address 0x");
    line.add_number(reinterpret_cast<uintptr_t>(address), 16);
  }
  line.add("; backtrace (addr2line -f -C -e <module> <+0x offset> names the executable's frames):\n");
  line.write_to(fd);
  void* frames[kMaxFrames];
  int n = backtrace(frames, kMaxFrames);
  backtrace_symbols_fd(frames, n, fd);
}

void on_fatal_signal(int sig, siginfo_t* info, void*) {
  // A fault's address; not for a signal sent by kill() or raise() (si_code <= 0).
  const bool has_address = sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL;
  report(STDERR_FILENO, sig, has_address && info != nullptr && info->si_code > 0 ? info->si_addr : nullptr);
  // SA_RESETHAND put the default action back: raised again, the signal ends the process as
  // it would have (after this handler returns, since it is blocked while the handler runs).
  ::raise(sig);
}

}  // namespace

bool crash_reporter_available() { return !kSanitized; }

void write_crash_report(int fd, int sig) { report(fd, sig, nullptr); }

bool install_crash_reporter() {
  if (kSanitized) return false;
  // The first backtrace() loads libgcc_s (dlopen, malloc): done now, not in a handler that
  // may have been entered from inside malloc (glibc's "double free" aborts there).
  void* warm[1];
  backtrace(warm, 1);
  stack_t ss{};
  ss.ss_sp = g_alt_stack;
  ss.ss_size = sizeof g_alt_stack;
  sigaltstack(&ss, nullptr);
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_sigaction = on_fatal_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK;
  for (int sig : kFatalSignals) {
    struct sigaction old;
    if (sigaction(sig, nullptr, &old) != 0) continue;
    const bool taken = (old.sa_flags & SA_SIGINFO) ? old.sa_sigaction != nullptr
                                                   : (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN);
    if (taken) continue;  // someone else's handler (a sanitizer runtime GCC does not announce)
    sigaction(sig, &sa, nullptr);
  }
  return true;
}

}  // namespace agentlog

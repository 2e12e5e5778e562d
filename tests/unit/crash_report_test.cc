// The crash reporter (core/crash_report.h): a child process installs it and dies of a fatal
// signal; its stderr must hold the header and the frames, and it must still die of that
// signal (the reporter re-raises with the default action).
#include <execinfo.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "core/crash_report.h"

namespace {

struct Death {
  int signal = 0;  // 0: did not die of a signal
  std::string stderr_text;
};

[[gnu::noinline]] void crash_with(int sig) {
  if (sig == SIGABRT) std::abort();
  ::raise(sig);
}

Death run_child(int sig) {
  void* warm[1];
  backtrace(warm, 1);  // libgcc_s loaded before fork, not in a child of a threaded process
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    ::dup2(fds[1], STDERR_FILENO);
    // The test runner's own handlers would be left alone by the reporter.
    for (int s : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) ::signal(s, SIG_DFL);
    if (!agentlog::install_crash_reporter()) ::_exit(3);
    crash_with(sig);
    ::_exit(4);
  }
  ::close(fds[1]);
  Death d;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) d.stderr_text.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) d.signal = WTERMSIG(status);
  return d;
}

}  // namespace

TEST_CASE("crash reporter prints a backtrace and dies of the same signal") {
  if (!agentlog::crash_reporter_available()) {
    WARN("sanitizer build: the sanitizer reports fatal signals, the crash reporter is not installed");
    return;
  }
  for (int sig : {SIGSEGV, SIGABRT}) {
    CAPTURE(sig);
    Death d = run_child(sig);
    CAPTURE(d.stderr_text);
    CHECK(d.signal == sig);
    const std::string header =
        "agentlog: fatal signal " + std::to_string(sig) + (sig == SIGSEGV ? " (SIGSEGV)" : " (SIGABRT)");
    CHECK(d.stderr_text.find(header) != std::string::npos);
    // Frames: the unit test binary's own (as +0x offsets, no -rdynamic) and libc's raise/abort.
    CHECK(d.stderr_text.find("agentlog_tests(") != std::string::npos);
    CHECK(d.stderr_text.find("libc.so") != std::string::npos);
  }
}

TEST_CASE("crash report text can be written outside a handler") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  agentlog::write_crash_report(fds[1], SIGBUS);
  ::close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  CHECK(text.rfind("agentlog: fatal signal " + std::to_string(SIGBUS) + " (SIGBUS) in thread ", 0) == 0);
  CHECK(text.find("backtrace") != std::string::npos);
  CHECK(text.find('[') != std::string::npos);  // at least one frame: module(...) [0xaddr]
}

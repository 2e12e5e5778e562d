// A fatal signal (SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL) prints a backtrace of the thread
// that got it to stderr, then the signal is raised again with its default action (the exit
// status and a core dump are what they would have been without the reporter).
//
// Frames print as glibc's backtrace_symbols_fd() writes them: `module(symbol+0xoff) [0xaddr]`
// for exported symbols (libnats, libc, libstdc++), `module(+0xoff) [0xaddr]` for the
// executable's own functions (it is not linked with -rdynamic). The offset is relative to the
// module's load address, so `addr2line -f -C -e build/agentlog 0xoff` names the function and
// line of a build with debug information (the same sources and flags give the same offsets).
#pragma once

namespace agentlog {

// Installs the reporter for the whole process (call once, from main, before threads start).
// Returns false and installs nothing in a sanitizer build (ASan, TSan, MSan and UBSan report
// fatal signals themselves); a signal that already has a handler of someone else's is left to
// it. Loads the unwinder (libgcc_s) now, so that the handler does not have to.
bool install_crash_reporter();

// False when built with a sanitizer (install_crash_reporter() then does nothing).
bool crash_reporter_available();

// What the handler writes for `sig`, to `fd`: a header naming the signal and the thread, then
// the frames of the calling thread. Async-signal-safe once install_crash_reporter() (or one
// call of this function outside a handler) loaded the unwinder.
void write_crash_report(int fd, int sig);

}  // namespace agentlog

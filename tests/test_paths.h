// Where the test data lives. Defined in one file (test_paths.cc) so that the other test
// sources do not depend on the checkout's absolute path (ccache hits across checkouts).
#pragma once

namespace agentlog::test {
const char* test_dir();    // tests/ of the source tree
const char* source_dir();  // the source tree's root
}  // namespace agentlog::test

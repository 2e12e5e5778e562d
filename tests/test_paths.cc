#include "tests/test_paths.h"

namespace agentlog::test {
const char* test_dir() { return AGENTLOG_TEST_DIR; }
const char* source_dir() { return AGENTLOG_SOURCE_DIR; }
}  // namespace agentlog::test

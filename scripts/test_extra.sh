#!/usr/bin/env bash
# The test runs beyond the main GCC build (run after `ctest --test-dir build`):
#   1. build-clang/: clang-14 + libstdc++, Release; the whole ctest suite;
#   2. build-fuzz/: clang-14 with ASan + UBSan (and libFuzzer's coverage instrumentation, so
#      the same build serves the fuzz targets): the whole ctest suite (tests/CMakeLists.txt
#      skips there only what is too slow under ASan, with the reason);
#   3. a fuzz smoke run of each target (FUZZ_SMOKE_SECONDS, default 30) from its seeds, so a
#      broken harness or a shallow crash is caught. Long runs: scripts/fuzz.sh TARGET SECONDS.
# Uses ccache like the main build. Needs scripts/setup.sh done (packages, and build/, where the
# default config writes its warnings). Exits non-zero at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc)
smoke=${FUZZ_SMOKE_SECONDS:-30}
step() { echo "test_extra: $* ($(date +%T))" >&2; }

step "clang build (build-clang)"
[ -f build-clang/build.ninja ] || CXX=clang++-14 cmake -S . -B build-clang -G Ninja -DCMAKE_BUILD_TYPE=Release -DAGENTLOG_NATS_TEST_RECORDS=20000 >/dev/null
cmake --build build-clang -j "$jobs"
step "clang ctest"
ctest --test-dir build-clang --output-on-failure -j "$jobs"

step "ASan + UBSan build (build-fuzz)"
[ -f build-fuzz/build.ninja ] ||
  CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DAGENTLOG_FUZZ=ON -DAGENTLOG_NATS_TEST_RECORDS=20000 >/dev/null
cmake --build build-fuzz -j "$jobs"
step "ASan + UBSan ctest"
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --test-dir build-fuzz --output-on-failure -j "$jobs"

step "fuzz smoke, ${smoke}s per target"
scripts/fuzz.sh all "$smoke"
step "done"

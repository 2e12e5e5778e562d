#!/usr/bin/env bash
# Runs one libFuzzer target (or each in turn) for SECONDS, building build-fuzz/ first when
# needed (clang-14, -DAGENTLOG_FUZZ=ON: -O1 -g, ASan + UBSan, coverage instrumentation).
#
#   scripts/fuzz.sh TARGET SECONDS [LIBFUZZER_FLAG...]   TARGET: chain config normalize redact syslog
#   scripts/fuzz.sh all SECONDS [LIBFUZZER_FLAG...]
#
# The corpus grows in build-fuzz/corpus/TARGET/ (seeded from samples/ and the test inputs by
# tests/fuzz/make_seeds.py); a crash, leak, timeout or oracle failure is saved as
# build-fuzz/findings/TARGET/crash-* (rerun it: build-fuzz/tests/fuzz/fuzz_TARGET FILE) and
# makes this script exit 1. One process, one job at a time: the CI machine has 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(chain config normalize redact syslog)
if (($# < 2)); then
  echo "usage: scripts/fuzz.sh TARGET|all SECONDS [LIBFUZZER_FLAG...]  (TARGET: ${TARGETS[*]})" >&2
  exit 2
fi
what=$1 seconds=$2
shift 2
if [ "$what" = all ]; then
  run=("${TARGETS[@]}")
elif [[ " ${TARGETS[*]} " == *" $what "* ]]; then
  run=("$what")
else
  echo "fuzz.sh: unknown target '$what' (one of: ${TARGETS[*]}, all)" >&2
  exit 2
fi

# FUZZ_BUILD: the build directory (default build-fuzz). FUZZ_OPT: its optimisation flags when
# this script configures it (default -O1 -g; long campaigns: FUZZ_BUILD=build-fuzz-o2
# FUZZ_OPT="-O2 -gline-tables-only": the same sanitizers, faster).
BUILD=${FUZZ_BUILD:-build-fuzz}
if [ ! -f "$BUILD/build.ninja" ]; then
  CXX=${CXX:-clang++-14} cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DAGENTLOG_FUZZ=ON \
    "-DAGENTLOG_FUZZ_OPT=${FUZZ_OPT:--O1 -g}" >/dev/null
fi
cmake --build "$BUILD" -j "$(nproc)" --target fuzz_targets
python3 tests/fuzz/make_dicts.py "$BUILD/fuzz-dicts" >/dev/null

# UBSan and ASan: abort with a stack on the first finding (libFuzzer then saves the input).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

failed=0
for t in "${run[@]}"; do
  corpus=$BUILD/corpus/$t findings=$BUILD/findings/$t seeds=$BUILD/seeds/$t
  mkdir -p "$corpus" "$findings"
  rm -rf "$seeds"
  python3 tests/fuzz/make_seeds.py "$t" "$seeds" >/dev/null
  log=$BUILD/findings/$t.log
  echo "fuzz.sh: $t for ${seconds}s (log: $log)" >&2
  set +e
  "$BUILD/tests/fuzz/fuzz_$t" "$corpus" "$seeds" -dict="$BUILD/fuzz-dicts/$t.dict" \
    -max_total_time="$seconds" -timeout=25 -rss_limit_mb=4096 -max_len=65536 \
    -artifact_prefix="$findings/" -print_final_stats=1 "$@" >"$log" 2>&1
  rc=$?
  set -e
  # The figures: total executions and executions per second (libFuzzer's final stats).
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  echo "fuzz.sh: $t: ${execs:-?} executions, ${rate:-?}/s, exit $rc" >&2
  if ((rc != 0)); then
    failed=1
    # The finding's report (oracle message, exception, sanitizer stack) and the saved input.
    grep -n -E "ERROR|oracle failed|runtime error|terminate called|Assertion|Test unit written" "$log" | head -20 >&2 || true
    echo "fuzz.sh: last lines of $log:" >&2
    tail -n 40 "$log" | cut -c1-300 >&2
  fi
done
exit $failed

#!/usr/bin/env bash
# The parallel runner's output is byte-identical to one thread on a generated file with every
# fault (malformed lines, secrets, schema faults, unclassified records, reused action ids):
#
#   bash tests/cli/parallel_determinism.sh /path/to/agentlog /path/to/gen_activity [LINES]
#
# `run` over the default chain + redact hmac-sha256 + enrich event_id (bench/configs/
# default-parallel.yaml) with --workers 1, 2 and 8: records, warnings, dead letters and
# --stats-json compared with cmp; then `check` over the default config's stages: its JSON
# and JUnit reports compared the same way.
set -euo pipefail
BIN=$1
GEN=$2
LINES=${3:-200000}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/agentlog-parallel.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export AGENTLOG_REDACT_KEY=test-only-key-0123456789abcdef

"$GEN" --lines "$LINES" --faults --out "$TMP/in.jsonl" 2>/dev/null
fail=0
for w in 1 2 8; do
  mkdir -p "$TMP/run$w"
  sed "s|build/bench/|$TMP/run$w/|" "$SRC/bench/configs/default-parallel.yaml" >"$TMP/run$w/config.yaml"
  "$BIN" run -q -c "$TMP/run$w/config.yaml" --workers "$w" --stats-json "$TMP/run$w/stats.json" "$TMP/in.jsonl"
  # The stats name the output files, which differ per run by design.
  sed -i "s|$TMP/run$w/|OUT/|g" "$TMP/run$w/stats.json"
  "$BIN" check -q -c "$SRC/configs/default.yaml" --workers "$w" --report "json=$TMP/run$w/report.json" \
    --report "junit=$TMP/run$w/report.junit.xml" "$TMP/in.jsonl" >/dev/null || true
done
for w in 2 8; do
  for f in out.jsonl warnings.jsonl dead.jsonl stats.json report.json report.junit.xml; do
    if ! cmp -s "$TMP/run1/$f" "$TMP/run$w/$f"; then
      echo "not ok - $f differs with $w workers"
      fail=1
    fi
  done
done
# Not vacuous: every kind of line is there.
for f in out.jsonl warnings.jsonl dead.jsonl; do
  [ -s "$TMP/run1/$f" ] || { echo "not ok - $f is empty"; fail=1; }
done
[ $fail = 0 ] && echo "ok - $LINES lines, 1, 2 and 8 workers: same bytes"
exit $fail

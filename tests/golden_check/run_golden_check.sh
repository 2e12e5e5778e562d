#!/usr/bin/env bash
# Golden test of `agentlog check` for one case directory:
#
#   bash tests/golden_check/run_golden_check.sh /path/to/agentlog tests/golden_check/CASE
#
# Runs `agentlog check -c config.yaml --report json=... --report junit=... input*` in the case
# directory (every file whose name starts with `input`, in name order; stdin is empty) and compares, byte for byte: the exit code with expected_exit, and either the
# JSON and JUnit reports with expected.json and expected.junit.xml, or (config errors) stderr
# with expected_error.txt. AGENTLOG_UPDATE_GOLDEN=1 rewrites the expected files instead.
set -u
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
CASE=$2
cd "$CASE" || exit 2
TMP=$(mktemp -d "${TMPDIR:-/tmp}/agentlog-golden-check.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
export LC_ALL=C
shopt -s nullglob
INPUTS=(input*)

rc=0
"$BIN" check -q -c config.yaml --report "json=$TMP/report.json" --report "junit=$TMP/report.junit.xml" \
  "${INPUTS[@]}" </dev/null >"$TMP/stdout" 2>"$TMP/stderr" || rc=$?

if [ "${AGENTLOG_UPDATE_GOLDEN:-}" = 1 ]; then
  echo "$rc" > expected_exit
  if [ "$rc" = 2 ]; then
    cp "$TMP/stderr" expected_error.txt
    rm -f expected.json expected.junit.xml
  else
    rm -f expected_error.txt
    cp "$TMP/report.json" expected.json
    cp "$TMP/report.junit.xml" expected.junit.xml
  fi
  echo "updated $CASE"
  exit 0
fi

fail=0
want=$(cat expected_exit)
if [ "$rc" != "$want" ]; then
  echo "exit code: got $rc, want $want"
  cat "$TMP/stderr"
  fail=1
fi
compare() {  # compare EXPECTED ACTUAL
  if [ ! -f "$2" ]; then
    echo "$2 was not written"
    fail=1
  elif ! cmp -s "$1" "$2"; then
    echo "$CASE/$1 differs:"
    diff -u "$1" "$2" | head -40
    fail=1
  fi
}
if [ -f expected_error.txt ]; then
  compare expected_error.txt "$TMP/stderr"
else
  compare expected.json "$TMP/report.json"
  compare expected.junit.xml "$TMP/report.junit.xml"
  # The same input gives the same report.
  "$BIN" check -q -c config.yaml --report "json=$TMP/again.json" "${INPUTS[@]}" </dev/null >/dev/null 2>&1
  compare "$TMP/report.json" "$TMP/again.json"
fi
[ $fail = 0 ] && echo "ok - $CASE"
exit $fail

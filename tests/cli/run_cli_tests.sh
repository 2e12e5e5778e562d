#!/usr/bin/env bash
# End-to-end tests of the agentlog command line.
#
#   bash tests/cli/run_cli_tests.sh /path/to/agentlog
#
# Every check is a function run in a subshell, in its own empty directory under a
# temporary directory that is removed on exit. A check prints the reason for a failure
# and returns non-zero. The script prints "ok - NAME" or "not ok - NAME: REASON" per
# check, then "N passed, M failed", and exits 1 if any check failed.
set -u

if [ $# -lt 1 ]; then
  echo "usage: $0 /path/to/agentlog" >&2
  exit 2
fi
case "$1" in
  /*) BIN=$1 ;;
  *) BIN=$PWD/$1 ;;
esac
if [ ! -x "$BIN" ]; then
  echo "not an executable: $BIN" >&2
  exit 2
fi
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
SAMPLES_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)/samples

TMP=$(mktemp -d "${TMPDIR:-/tmp}/agentlog-cli.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT

PASSED=0
FAILED=0

# ---------------------------------------------------------------------------
# helpers (all return non-zero and print a reason on failure)

# assert_eq WHAT ACTUAL EXPECTED
assert_eq() {
  if [ "$2" != "$3" ]; then
    printf '%s: got [%s], want [%s]\n' "$1" "$(printf '%s' "$2" | cat -v)" "$(printf '%s' "$3" | cat -v)"
    return 1
  fi
}

# show_bytes FILE: the first 400 bytes of FILE as a Python bytes literal (shows CR, newlines).
show_bytes() {
  python3 -c 'import sys; print(repr(open(sys.argv[1], "rb").read(400))[2:-1])' "$1" 2>&1
}

# assert_file_eq WHAT FILE EXPECTED-CONTENT (byte-exact, including the final newline)
assert_file_eq() {
  if [ ! -f "$2" ]; then
    printf '%s: file %s does not exist\n' "$1" "$2"
    return 1
  fi
  local expected
  expected=$(mktemp "$TMP/expected.XXXXXX") || return 1
  printf '%s' "$3" > "$expected"
  if ! cmp -s "$2" "$expected"; then
    printf '%s: content of %s differs: got [%s], want [%s]\n' "$1" "$2" \
      "$(show_bytes "$2")" "$(show_bytes "$expected")"
    rm -f "$expected"
    return 1
  fi
  rm -f "$expected"
}

# assert_contains WHAT FILE FIXED-STRING
assert_contains() {
  if ! grep -qF -- "$3" "$2"; then
    printf '%s: %s does not contain [%s]; it has [%s]\n' "$1" "$2" "$3" "$(head -c 400 "$2" | tr '\n' '|')"
    return 1
  fi
}

# assert_no_file WHAT PATH
assert_no_file() {
  if [ -e "$2" ]; then
    printf '%s: %s exists but should not\n' "$1" "$2"
    return 1
  fi
}

# wait_for_lines FILE N: poll (bounded to ~5 s) until FILE has at least N lines.
wait_for_lines() {
  local i n
  for ((i = 0; i < 100; i++)); do
    if [ -f "$1" ]; then
      n=$(wc -l < "$1")
      [ "$n" -ge "$2" ] && return 0
    fi
    sleep 0.05
  done
  printf 'timed out waiting for %s lines in %s\n' "$2" "$1"
  return 1
}

# wait_exit PID: wait for a background child; if it is still running after ~5 s, kill it.
# Sets WAIT_RC to the exit status (or "timeout").
wait_exit() {
  local i
  WAIT_RC=
  for ((i = 0; i < 100; i++)); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$1" 2>/dev/null; then
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    WAIT_RC=timeout
    return 1
  fi
  wait "$1"
  WAIT_RC=$?
}

# A config that reads stdin (no inputs) and writes to stdout, dead letters to dead.jsonl.
write_stdout_config() {
  cat > "$1" <<'EOF'
pipeline:
  name: cli-test
  outputs: [{type: stdout}]
  dead_letter: {type: file, path: dead.jsonl, append: false}
EOF
}

# The small known input: 3 kept, 1 dropped by the filter, 1 malformed, 1 blank line.
SMALL_INPUT='{"event_type":"tool_call","n":1}
{"event_type":"message","n":2}
{broken

{"event_type":"tool_call","n":3}
{"event_type":"tool_call","n":4}
'
SMALL_KEPT='{"event_type":"tool_call","n":1}
{"event_type":"tool_call","n":3}
{"event_type":"tool_call","n":4}
'
SMALL_SUMMARY='agentlog: 5 in, 3 out, 1 dropped, 1 dead-lettered, 0 generated, 1 blank lines skipped'
MALFORMED_REASON='malformed JSON: The JSON document has an improper structure: missing or superfluous commas, braces, missing keys, etc.'

write_small_fixture() {
  printf '%s' "$SMALL_INPUT" > small.jsonl
  cat > small.yaml <<'EOF'
pipeline:
  name: small
  inputs: [{type: file, paths: [small.jsonl]}]
  stages:
    - type: filter
      name: drop-messages
      action: drop
      conditions: [{field: event_type, equals: message}]
  outputs: [{type: file, path: out.jsonl, append: false}]
  dead_letter: {type: file, path: dead.jsonl, append: false}
EOF
}

# ---------------------------------------------------------------------------
# checks

check_version() {
  local out rc
  out=$("$BIN" --version 2>err.txt); rc=$?
  assert_eq "exit code" "$rc" 0 || return 1
  assert_eq "stdout" "$out" "agentlog 0.1.0" || return 1
}

check_help() {
  "$BIN" --help > out.txt 2> err.txt; local rc=$?
  assert_eq "exit code" "$rc" 0 || return 1
  local sub
  for sub in run check-config plugins; do
    grep -qE "^  ${sub}[[:space:]]" out.txt || { echo "help does not list the subcommand $sub"; return 1; }
  done
  grep -qx 'Exit codes:' out.txt || { echo 'help has no "Exit codes:" section'; return 1; }
  local code
  for code in 0 1 2; do
    grep -qE "^  $code  [a-z]" out.txt || { echo "help does not describe exit code $code"; return 1; }
  done
}

# Each subcommand's --help explains its own flags and exit codes, not the other commands'.
check_subcommand_help() {
  local sub
  for sub in "run --stats-json" "check --report" "check-config --config" "redact-test --config" "plugins --json"; do
    set -- $sub
    "$BIN" "$1" --help > out.txt 2> err.txt || { echo "$1 --help: exit $?"; return 1; }
    grep -q -- "$2" out.txt || { echo "$1 --help does not explain $2"; return 1; }
    grep -qE '^Exit codes( of check)?:$' out.txt || { echo "$1 --help has no exit codes"; return 1; }
  done
  "$BIN" run --help > out.txt
  ! grep -q 'Exit codes of check:' out.txt || { echo "run --help shows check's exit codes"; return 1; }
  "$BIN" check --help > out.txt
  grep -qx 'Exit codes of check:' out.txt || { echo "check --help lacks its exit codes"; return 1; }
  ! grep -q '^  3  ' out.txt || { echo "check --help shows run's exit code 3"; return 1; }
}

# plugins --json holds the same plugins and options as the text listing.
check_plugins_json() {
  "$BIN" plugins --json > out.json || { echo "plugins --json: exit $?"; return 1; }
  "$BIN" plugins > out.txt
  python3 - out.json out.txt <<'PY' || return 1
import json, sys
listing = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read().split("\n")
def names(options, indent):
    for o in options:
        yield " " * indent + o["name"]
        yield from names(o["options"], indent + 4)
want = []
for kind in ("inputs", "stages", "outputs"):
    want.append(kind + ":")
    for p in listing[kind]:
        want.append("  " + p["name"])
        want.extend(names(p["options"], 6))
got = [l[:len(l) - len(l.lstrip())] + l.split()[0] for l in text if l.strip()]
if got != want:
    print("plugins --json and plugins differ:", [x for x in zip(got, want) if x[0] != x[1]][:3])
    sys.exit(1)
PY
}

check_no_subcommand_exit_2() {
  "$BIN" > out.txt 2> err.txt < /dev/null; local rc=$?
  assert_eq "exit code" "$rc" 2 || return 1
  assert_file_eq "stdout" out.txt "" || return 1
  [ -s err.txt ] || { echo "no message on stderr"; return 1; }
}

check_unknown_flag_exit_2() {
  "$BIN" --no-such-flag > out.txt 2> err.txt < /dev/null; local rc=$?
  assert_eq "exit code (top level)" "$rc" 2 || return 1
  assert_file_eq "stdout (top level)" out.txt "" || return 1
  write_stdout_config cfg.yaml
  echo '{"a":1}' > in.jsonl
  "$BIN" run -c cfg.yaml --no-such-flag in.jsonl > out.txt 2> err.txt; rc=$?
  assert_eq "exit code (run)" "$rc" 2 || return 1
  assert_file_eq "stdout (run: nothing read)" out.txt "" || return 1
}

check_check_config_ok() {
  # The inputs do not exist: check-config must not read (or open) any input.
  cat > cfg.yaml <<'EOF'
pipeline:
  name: ok
  inputs:
    - {type: file, paths: ["logs/*.jsonl", missing.jsonl], compression: auto, max_line_bytes: 4096}
    - {type: stdin}
  stages:
    - type: filter
      action: keep
      match: any
      conditions: [{field: event_type, equals: tool_call}, {field: n, in: [1, 2]}]
  outputs:
    - {type: stdout}
    - {type: file, path: never-written.jsonl}
EOF
  "$BIN" check-config -c cfg.yaml > out.txt 2> err.txt < /dev/null; local rc=$?
  assert_eq "exit code" "$rc" 0 || return 1
  assert_file_eq "stdout" out.txt 'cfg.yaml: OK (2 inputs, 1 stages, 2 outputs)
' || return 1
  assert_file_eq "stderr" err.txt "" || return 1
  assert_no_file "output file" never-written.jsonl || return 1
}

check_check_config_typo_message() {
  printf 'pipeline:\n  inputs:\n    - type: file\n      pahts: [x.jsonl]\n' > typo.yaml
  local want='agentlog: config error: typo.yaml:4:7: pipeline.inputs[0].pahts: unknown option "pahts"; did you mean "paths"? Allowed: type, paths, compression, max_line_bytes, framing, format, follow, checkpoint, start_at, poll_interval_ms
'
  "$BIN" check-config -c typo.yaml > out.txt 2> err.txt < /dev/null; local rc=$?
  assert_eq "check-config exit code" "$rc" 2 || return 1
  assert_file_eq "check-config stderr" err.txt "$want" || return 1
  assert_file_eq "check-config stdout" out.txt "" || return 1
  # run reports the same error, with the path as given (here an absolute one).
  "$BIN" run -c "$PWD/typo.yaml" > out.txt 2> err.txt < /dev/null; rc=$?
  assert_eq "run exit code" "$rc" 2 || return 1
  assert_file_eq "run stderr" err.txt "agentlog: config error: $PWD/${want#agentlog: config error: }" || return 1
}

check_config_error_creates_no_output() {
  cat > bad.yaml <<'EOF'
pipeline:
  stages:
    - type: filter
      action: maybe
      conditions: [{field: a, equals: 1}]
  outputs: [{type: file, path: out.jsonl}]
  dead_letter: {type: file, path: dead.jsonl}
EOF
  printf '{"a":1}\n{bad\n' > in.jsonl
  "$BIN" run -c bad.yaml --stats-json stats.json in.jsonl > stdout.txt 2> err.txt; local rc=$?
  assert_eq "exit code" "$rc" 2 || return 1
  assert_contains "stderr" err.txt 'agentlog: config error: bad.yaml:4:15: pipeline.stages[0].action: invalid value "maybe"' || return 1
  assert_file_eq "stdout" stdout.txt "" || return 1
  assert_no_file "output file" out.jsonl || return 1
  assert_no_file "dead-letter file" dead.jsonl || return 1
  assert_no_file "stats file" stats.json || return 1
  # Also for a config that does not exist.
  "$BIN" run -c nope.yaml in.jsonl > stdout.txt 2> err.txt; rc=$?
  assert_eq "exit code (missing config)" "$rc" 2 || return 1
  assert_contains "stderr (missing config)" err.txt "nope.yaml" || return 1
}

check_plugins_listing() {
  "$BIN" plugins > out.txt 2> err.txt < /dev/null; local rc=$?
  assert_eq "exit code" "$rc" 0 || return 1
  # Section headers "inputs:" / "stages:" / "outputs:", then "  name  description" per plugin.
  # (Only the built-in plugins are required; more stages may be added later.)
  local got pair
  got=$(awk '/^[a-z]+:$/ { sec = $0; next } /^  [a-z]/ { print sec $1 }' out.txt)
  assert_eq "sections" "$(awk '/^[a-z]+:$/ { printf "%s ", $0 }' out.txt)" "inputs: stages: outputs: " || return 1
  for pair in inputs:file inputs:stdin stages:filter outputs:stdout outputs:stderr outputs:file outputs:syslog inputs:nats outputs:nats; do
    grep -qx -- "$pair" <<< "$got" || { echo "plugin ${pair#*:} is not listed under ${pair%%:*}"; return 1; }
  done
  assert_eq "number of inputs and outputs" "$(grep -cE '^(inputs|outputs):' <<< "$got")" 8 || return 1
  local opt
  for opt in paths compression max_line_bytes action match conditions field equals path append; do
    grep -qE "^ +$opt +" out.txt || { echo "option $opt is not listed"; return 1; }
  done
}

check_stdin_default() {
  write_stdout_config cfg.yaml
  printf '{"a":1}\n{"b":2}\n' > in.jsonl
  "$BIN" run -q -c cfg.yaml < in.jsonl > out.txt 2> err.txt; local rc=$?
  assert_eq "exit code" "$rc" 0 || return 1
  assert_file_eq "stdout" out.txt '{"a":1}
{"b":2}
' || return 1
}

check_output_bytes_unchanged() {
  # Odd spacing and key order are kept; CR of CRLF is removed; a last line without a
  # newline gets one.
  write_stdout_config cfg.yaml
  printf '{ "b" : [1, 2],"a":"x y" }\r\n{"u":"\\u00e9\xc3\xa9"}\n{"last":true}' > in.jsonl
  "$BIN" run -q -c cfg.yaml in.jsonl > out.txt 2> err.txt; local rc=$?
  assert_eq "exit code" "$rc" 0 || return 1
  assert_file_eq "stdout" out.txt "$(printf '{ "b" : [1, 2],"a":"x y" }\n{"u":"\\u00e9\xc3\xa9"}\n{"last":true}\n')
" || return 1
}

check_dash_input() {
  write_stdout_config cfg.yaml
  echo '{"f":"a"}' > a.jsonl
  echo '{"f":"b"}' > b.jsonl
  printf '{"f":"stdin1"}\n{"f":"stdin2"}\n' > s.jsonl
  "$BIN" run -q -c cfg.yaml a.jsonl - b.jsonl < s.jsonl > out.txt 2> err.txt; local rc=$?
  assert_eq "exit code" "$rc" 0 || return 1
  assert_file_eq "stdout" out.txt '{"f":"a"}
{"f":"stdin1"}
{"f":"stdin2"}
{"f":"b"}
' || return 1
}

check_cli_inputs_replace_config_inputs() {
  mkdir -p logs
  echo '{"f":"1"}' > logs/1.jsonl
  echo '{"f":"2"}' > logs/2.jsonl
  echo '{"f":"other"}' > other.jsonl
  cat > cfg.yaml <<'EOF'
pipeline:
  inputs: [{type: file, paths: ["logs/*.jsonl"]}]
  outputs: [{type: stdout}]
EOF
  "$BIN" run -q -c cfg.yaml other.jsonl < /dev/null > out.txt 2> err.txt; local rc=$?
  assert_eq "exit code (CLI input)" "$rc" 0 || return 1
  assert_file_eq "stdout (CLI input)" out.txt '{"f":"other"}
' || return 1
  # Without CLI inputs the config's inputs are used (and stdin is not read).
  echo '{"f":"stdin"}' > s.jsonl
  "$BIN" run -q -c cfg.yaml < s.jsonl > out.txt 2> err.txt; rc=$?
  assert_eq "exit code (config inputs)" "$rc" 0 || return 1
  assert_file_eq "stdout (config inputs)" out.txt '{"f":"1"}
{"f":"2"}
' || return 1
}

check_glob_order() {
  mkdir -p g h
  # Created out of order; the glob's matches are sorted; patterns are read in order.
  echo '{"f":"g/c"}' > g/c.jsonl
  echo '{"f":"g/a"}' > g/a.jsonl
  echo '{"f":"g/b"}' > g/b.jsonl
  echo '{"f":"g/z.txt"}' > g/z.txt
  echo '{"f":"h/x"}' > h/x.jsonl
  cat > cfg.yaml <<'EOF'
pipeline:
  inputs: [{type: file, paths: ["h/*.jsonl", "g/*.jsonl"]}]
  outputs: [{type: stdout}]
EOF
  "$BIN" run -q -c cfg.yaml < /dev/null > out.txt 2> err.txt; local rc=$?
  assert_eq "exit code" "$rc" 0 || return 1
  assert_file_eq "stdout" out.txt '{"f":"h/x"}
{"f":"g/a"}
{"f":"g/b"}
{"f":"g/c"}
' || return 1
}

check_gzip_zstd_inputs() {
  printf '{"f":"plain"}\n' > plain.jsonl
  printf '{"f":"gz1"}\n{"f":"gz2"}\n' | gzip -c > gz-no-suffix.dat
  printf '{"f":"zst1"}\r\n{"f":"zst2"}\n' | zstd -q -c > zst-no-suffix.log
  printf '{"f":"gz-named"}\n' | gzip -c > named.jsonl.gz
  cat > cfg.yaml <<'EOF'
pipeline:
  inputs: [{type: file, paths: [zst-no-suffix.log, plain.jsonl, gz-no-suffix.dat, named.jsonl.gz], compression: auto}]
  outputs: [{type: stdout}]
EOF
  "$BIN" run -q -c cfg.yaml --stats-json stats.json < /dev/null > out.txt 2> err.txt; local rc=$?
  assert_eq "exit code" "$rc" 0 || return 1
  assert_file_eq "stdout" out.txt '{"f":"zst1"}
{"f":"zst2"}
{"f":"plain"}
{"f":"gz1"}
{"f":"gz2"}
{"f":"gz-named"}
' || return 1
  local got
  got=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["records_in"], d["records_out"], d["dead_lettered"], [ (s["name"], s["lines"]) for s in d["sources"] ])' stats.json 2>&1)
  assert_eq "stats" "$got" "6 6 0 [('zst-no-suffix.log', 2), ('plain.jsonl', 1), ('gz-no-suffix.dat', 2), ('named.jsonl.gz', 1)]" || return 1
}

check_missing_input_exit_1() {
  write_stdout_config cfg.yaml
  echo '{"f":"a"}' > a.jsonl
  echo '{"f":"b"}' > b.jsonl
  "$BIN" run -c cfg.yaml a.jsonl does-not-exist.jsonl b.jsonl < /dev/null > out.txt 2> err.txt; local rc=$?
  assert_eq "exit code" "$rc" 1 || return 1
  grep -q '^agentlog: error: does-not-exist\.jsonl: .*No such file or directory' err.txt \
    || { echo "stderr does not name the missing file: [$(tr '\n' '|' < err.txt)]"; return 1; }
  # The other files are still processed, in order.
  assert_file_eq "stdout" out.txt '{"f":"a"}
{"f":"b"}
' || return 1
}

check_glob_no_match_exit_1() {
  cat > cfg.yaml <<'EOF'
pipeline:
  inputs: [{type: file, paths: ["nothing-here/*.jsonl"]}]
  outputs: [{type: stdout}]
EOF
  "$BIN" run -c cfg.yaml < /dev/null > out.txt 2> err.txt; local rc=$?
  assert_eq "exit code" "$rc" 1 || return 1
  assert_contains "stderr" err.txt 'nothing-here/*.jsonl' || return 1
  assert_file_eq "stdout" out.txt "" || return 1
}

check_unwritable_output_exit_1() {
  echo '{"a":1}' > in.jsonl
  cat > cfg.yaml <<'EOF'
pipeline:
  outputs: [{type: file, path: /nonexistent-dir/x.jsonl}]
EOF
  "$BIN" run -c cfg.yaml in.jsonl > out.txt 2> err.txt; local rc=$?
  assert_eq "exit code (output)" "$rc" 1 || return 1
  assert_contains "stderr (output)" err.txt '/nonexistent-dir/x.jsonl' || return 1
  cat > cfg2.yaml <<'EOF'
pipeline:
  outputs: [{type: stdout}]
  dead_letter: {type: file, path: /nonexistent-dir/dead.jsonl}
EOF
  "$BIN" run -c cfg2.yaml in.jsonl > out.txt 2> err.txt; rc=$?
  assert_eq "exit code (dead letter)" "$rc" 1 || return 1
  assert_contains "stderr (dead letter)" err.txt '/nonexistent-dir/dead.jsonl' || return 1
}

check_stats_json() {
  write_small_fixture
  "$BIN" run -q -c small.yaml --stats-json stats.json < /dev/null > stdout.txt 2> err.txt; local rc=$?
  assert_eq "exit code" "$rc" 0 || return 1
  assert_file_eq "output file" out.jsonl "$SMALL_KEPT" || return 1
  local size
  size=$(wc -c < small.jsonl)
  python3 - stats.json "$size" <<'EOF'
import json, sys
try:
    with open(sys.argv[1]) as f:
        text = f.read()
    d = json.loads(text)
except Exception as e:
    print("stats file is not one JSON object:", e)
    sys.exit(1)
if not isinstance(d, dict):
    print("stats is not an object")
    sys.exit(1)
size = int(sys.argv[2])
required = ["records_in", "records_out", "dropped", "dead_lettered", "records_generated", "blank_lines",
            "lines_read", "bytes_read", "source_errors", "dead_letter_reasons", "sources", "stages"]
missing = [k for k in required if k not in d]
if missing:
    print("missing keys:", missing)
    sys.exit(1)
if d["records_in"] != d["records_out"] + d["dropped"] + d["dead_lettered"]:
    print("records_in != records_out + dropped + dead_lettered:", d["records_in"], d["records_out"],
          d["dropped"], d["dead_lettered"])
    sys.exit(1)
want = {
    "records_in": 5, "records_out": 3, "dropped": 1, "dead_lettered": 1, "records_generated": 0,
    "blank_lines": 1, "lines_read": 6, "bytes_read": size, "source_errors": 0,
    "dead_letter_reasons": {"input.malformed_json": 1},
}
bad = ["%s=%r (want %r)" % (k, d[k], v) for k, v in want.items() if d[k] != v]
srcs = [(s.get("name"), s.get("lines"), s.get("bytes"), s.get("error")) for s in d["sources"]]
if srcs != [("small.jsonl", 6, size, None)]:
    bad.append("sources=%r" % srcs)
stages = [(s.get("name"), s.get("type"), s.get("in"), s.get("dropped"), s.get("dead_lettered"))
          for s in d["stages"]]
if stages != [("drop-messages", "filter", 4, 1, 0)]:
    bad.append("stages=%r" % stages)
if bad:
    print("; ".join(bad))
    sys.exit(1)
EOF
}

check_env_substitution_in_output_path() {
  mkdir -p outdir
  echo '{"e":1}' > in.jsonl
  cat > cfg.yaml <<'EOF'
pipeline:
  outputs: [{type: file, path: "${AGENTLOG_CLI_TEST_DIR}/out-${AGENTLOG_CLI_TEST_SUFFIX:-default}.jsonl"}]
EOF
  AGENTLOG_CLI_TEST_DIR=$PWD/outdir "$BIN" run -q -c cfg.yaml in.jsonl > out.txt 2> err.txt; local rc=$?
  assert_eq "exit code (default)" "$rc" 0 || return 1
  assert_file_eq "output (default)" outdir/out-default.jsonl '{"e":1}
' || return 1
  AGENTLOG_CLI_TEST_DIR=$PWD/outdir AGENTLOG_CLI_TEST_SUFFIX=set \
    "$BIN" run -q -c cfg.yaml in.jsonl > out.txt 2> err.txt; rc=$?
  assert_eq "exit code (set)" "$rc" 0 || return 1
  assert_file_eq "output (set)" outdir/out-set.jsonl '{"e":1}
' || return 1
  local n
  n=$(find outdir -type f | wc -l)
  assert_eq "files in outdir" "$n" 2 || return 1
  # Unset variable without a default: config error, exit 2.
  env -u AGENTLOG_CLI_TEST_DIR "$BIN" run -q -c cfg.yaml in.jsonl > out.txt 2> err.txt; rc=$?
  assert_eq "exit code (unset)" "$rc" 2 || return 1
  assert_contains "stderr (unset)" err.txt 'agentlog: config error: cfg.yaml:2:' || return 1
  assert_contains "stderr (unset)" err.txt 'pipeline.outputs[0].path: environment variable "AGENTLOG_CLI_TEST_DIR" is not set' || return 1
}

check_dead_letter_format() {
  printf '{"ok":1}\n\n{bad\r\n{"k":"q\\"z\n"just a string"\n' > in.jsonl
  cat > cfg.yaml <<'EOF'
pipeline:
  outputs: [{type: file, path: out.jsonl, append: false}]
  dead_letter: {type: file, path: dead.jsonl, append: false}
EOF
  "$BIN" run -q -c cfg.yaml in.jsonl < /dev/null > out.txt 2> err.txt; local rc=$?
  assert_eq "exit code" "$rc" 0 || return 1
  assert_file_eq "output" out.jsonl '{"ok":1}
' || return 1
  # Line numbers count blank lines; the CR of CRLF is not part of raw; raw is JSON-escaped.
  assert_file_eq "dead letter" dead.jsonl "{\"source\":\"in.jsonl\",\"line\":3,\"stage\":\"input\",\"reason\":\"$MALFORMED_REASON\",\"raw\":\"{bad\"}
{\"source\":\"in.jsonl\",\"line\":4,\"stage\":\"input\",\"reason\":\"malformed JSON: A string is opened, but never closed.\",\"raw\":\"{\\\"k\\\":\\\"q\\\\\\\"z\"}
{\"source\":\"in.jsonl\",\"line\":5,\"stage\":\"input\",\"reason\":\"not a JSON object (the line is a string)\",\"raw\":\"\\\"just a string\\\"\"}
" || return 1
  # Each record is valid JSON whose raw field round-trips to the original line.
  local got
  got=$(python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
print([list(r) for r in recs][0], [r["raw"] for r in recs])' dead.jsonl 2>&1)
  assert_eq "parsed dead letters" "$got" "['source', 'line', 'stage', 'reason', 'raw'] ['{bad', '{\"k\":\"q\\\\\"z', '\"just a string\"']" || return 1
}

check_dead_letter_default_stderr() {
  cat > cfg.yaml <<'EOF'
pipeline:
  outputs: [{type: stdout}]
EOF
  printf '{"ok":1}\n{bad\n' | "$BIN" run -q -c cfg.yaml > out.txt 2> err.txt; local rc=$?
  assert_eq "exit code" "$rc" 0 || return 1
  assert_file_eq "stdout" out.txt '{"ok":1}
' || return 1
  assert_file_eq "stderr" err.txt "{\"source\":\"-\",\"line\":2,\"stage\":\"input\",\"reason\":\"$MALFORMED_REASON\",\"raw\":\"{bad\"}
" || return 1
}

# Starts agentlog reading the fifo "in.fifo" with output out.jsonl. The caller's fd 3 is
# the fifo opened read-write (so that neither side blocks on open); agentlog must not
# inherit it, or it would never see end of input.
start_fifo_run() {
  mkfifo in.fifo || { echo "mkfifo failed"; return 1; }
  cat > cfg.yaml <<'EOF'
pipeline:
  outputs: [{type: file, path: out.jsonl}]
  dead_letter: {type: file, path: dead.jsonl}
EOF
  exec 3<> in.fifo
  "$BIN" run -c cfg.yaml in.fifo < /dev/null > stdout.txt 2> err.txt 3>&- &
  AGENT_PID=$!
}

signal_drain() {
  local sig=$1
  start_fifo_run || return 1
  printf '{"n":1}\n{"n":2}\n{"n":3}\n' >&3
  if ! wait_for_lines out.jsonl 3; then
    kill -KILL "$AGENT_PID" 2>/dev/null; wait "$AGENT_PID" 2>/dev/null
    return 1
  fi
  # The writer stays open: only the signal can end the run.
  kill "-$sig" "$AGENT_PID"
  wait_exit "$AGENT_PID"
  exec 3>&-
  assert_eq "exit code after SIG$sig" "$WAIT_RC" 0 || return 1
  assert_file_eq "output" out.jsonl '{"n":1}
{"n":2}
{"n":3}
' || return 1
  assert_file_eq "summary" err.txt 'agentlog: 3 in, 3 out, 0 dropped, 0 dead-lettered, 0 generated, 0 blank lines skipped (interrupted)
' || return 1
}

check_sigterm_drain() { signal_drain TERM; }
check_sigint_drain() { signal_drain INT; }

check_sighup_reopen() {
  start_fifo_run || return 1
  printf '{"n":1}\n' >&3
  if ! wait_for_lines out.jsonl 1; then
    kill -KILL "$AGENT_PID" 2>/dev/null; wait "$AGENT_PID" 2>/dev/null
    return 1
  fi
  mv out.jsonl out.jsonl.1
  kill -HUP "$AGENT_PID"
  # The reopen happens after the batch in flight: keep writing until the new file has content.
  local n=2 i
  printf '{"n":%d}\n' "$n" >&3
  for ((i = 0; i < 100; i++)); do
    [ -s out.jsonl ] && break
    n=$((n + 1))
    printf '{"n":%d}\n' "$n" >&3
    sleep 0.05
  done
  n=$((n + 1))
  printf '{"n":%d}\n' "$n" >&3   # at least one line after the reopen was seen
  exec 3>&-
  wait_exit "$AGENT_PID"
  assert_eq "exit code" "$WAIT_RC" 0 || return 1
  [ -s out.jsonl ] || { echo "out.jsonl was not recreated after SIGHUP"; return 1; }
  assert_eq "first line of rotated file" "$(head -n 1 out.jsonl.1)" '{"n":1}' || return 1
  # Every line exactly once, in order, across both files.
  local want got
  want=$(for ((i = 1; i <= n; i++)); do printf '{"n":%d}\n' "$i"; done)
  got=$(cat out.jsonl.1 out.jsonl)
  assert_eq "lines across both files" "$got" "$want" || return 1
}

check_closed_pipe_exit_3() {
  python3 -c '
import sys
w = sys.stdout.write
for i in range(200000):
    w("{\"i\":%d,\"event_type\":\"tool_call\",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n" % i)
' > big.jsonl || { echo "could not generate the input"; return 1; }
  write_stdout_config cfg.yaml
  "$BIN" run -c cfg.yaml big.jsonl 2> err.txt < /dev/null | head -n 1 > first.txt
  local st=("${PIPESTATUS[@]}")
  assert_eq "agentlog exit code" "${st[0]}" 3 || return 1
  assert_file_eq "first line" first.txt '{"i":0,"event_type":"tool_call","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}
' || return 1
  assert_contains "stderr" err.txt "Broken pipe" || return 1
}

check_determinism() {
  local s
  for s in multi_agent_session action_events action_log; do
    [ -f "$SAMPLES_DIR/$s.jsonl" ] || { echo "sample $SAMPLES_DIR/$s.jsonl is missing"; return 1; }
  done
  gzip -c "$SAMPLES_DIR/action_events.jsonl" > events.jsonl.gz
  zstd -q -c "$SAMPLES_DIR/multi_agent_session.jsonl" > session.jsonl.zst
  cat > cfg.yaml <<'EOF'
pipeline:
  stages:
    - type: filter
      name: drop-empty-agent
      action: drop
      conditions: [{field: agent_id, equals: ""}]
  outputs: [{type: stdout}]
  dead_letter: {type: file, path: "${RUN_DIR}/dead.jsonl", append: false}
EOF
  local r rc
  for r in 1 2; do
    mkdir -p "run$r"
    RUN_DIR=run$r "$BIN" run -q -c cfg.yaml "$SAMPLES_DIR/multi_agent_session.jsonl" events.jsonl.gz \
      session.jsonl.zst "$SAMPLES_DIR/action_log.jsonl" - < "$SAMPLES_DIR/action_events.jsonl" \
      > "run$r/out.jsonl" 2> "run$r/err.txt"
    rc=$?
    assert_eq "exit code of run $r" "$rc" 0 || return 1
  done
  [ -s run1/out.jsonl ] || { echo "no output records"; return 1; }
  [ -s run1/dead.jsonl ] || { echo "no dead letters (the samples have faulty lines)"; return 1; }
  cmp -s run1/out.jsonl run2/out.jsonl || { echo "stdout differs between runs"; return 1; }
  cmp -s run1/dead.jsonl run2/dead.jsonl || { echo "dead-letter file differs between runs"; return 1; }
}

check_normalize_openhands_array_on_stdin() {
  local src="$SAMPLES_DIR/openhands/conversation-5d1e0c9a.json"
  [ -f "$src" ] || { echo "sample $src is missing"; return 1; }
  cat > cfg.yaml <<'EOF'
pipeline:
  inputs: [{type: stdin, framing: auto}]
  stages:
    - {type: normalize, format: openhands, run_id: conv-1}
    - {type: validate, schema: agent-activity}
  outputs: [{type: stdout}]
  dead_letter: {type: file, path: dead.jsonl, append: false}
EOF
  local r rc
  # Run 1 reads a regular file; run 2 a pipe (a streaming source: framing auto waits for
  # its first bytes instead of taking "nothing yet" for an error).
  "$BIN" run -c cfg.yaml < "$src" > out1.jsonl 2> err1.txt; rc=$?
  assert_eq "exit code of run 1" "$rc" 0 || return 1
  { sleep 0.3; cat "$src"; } | "$BIN" run -c cfg.yaml > out2.jsonl 2> err2.txt; rc=$?
  assert_eq "exit code of run 2 (pipe)" "$rc" 0 || return 1
  cmp -s err1.txt err2.txt || { echo "summary differs between file and pipe"; cat err2.txt; return 1; }
  assert_file_eq "summary" err1.txt "agentlog: 18 in, 0 out, 17 dropped, 1 dead-lettered, 13 generated, 0 blank lines skipped
" || return 1
  cmp -s out1.jsonl out2.jsonl || { echo "output differs between runs"; return 1; }
  [ "$(wc -l < out1.jsonl)" -eq 13 ] || { echo "expected 13 records, got $(wc -l < out1.jsonl)"; return 1; }
  assert_contains "run id from the option" out1.jsonl '"run_id":"conv-1"' || return 1
  assert_contains "dead letter at element 16" dead.jsonl '"line":16,"stage":"normalize"' || return 1
  if grep -q 'MARKER' out1.jsonl; then echo "content copied to the output"; return 1; fi
}

check_quiet_suppresses_summary() {
  write_small_fixture
  local flag rc
  for flag in -q --quiet; do
    rm -f out.jsonl dead.jsonl
    "$BIN" run "$flag" -c small.yaml < /dev/null > stdout.txt 2> err.txt; rc=$?
    assert_eq "exit code ($flag)" "$rc" 0 || return 1
    assert_file_eq "stderr ($flag)" err.txt "" || return 1
    assert_file_eq "output ($flag)" out.jsonl "$SMALL_KEPT" || return 1
  done
}

check_summary_line() {
  write_small_fixture
  "$BIN" run -c small.yaml < /dev/null > stdout.txt 2> err.txt; local rc=$?
  assert_eq "exit code" "$rc" 0 || return 1
  assert_file_eq "stderr" err.txt "$SMALL_SUMMARY
" || return 1
  assert_file_eq "stdout" stdout.txt "" || return 1
  assert_file_eq "dead letter" dead.jsonl "{\"source\":\"small.jsonl\",\"line\":3,\"stage\":\"input\",\"reason\":\"$MALFORMED_REASON\",\"raw\":\"{broken\"}
" || return 1
}

# Two tool calls, one result without its call: an orphan warning after line 3 and an
# open_at_end warning for line 2 at the end (the warnings output).
WARN_INPUT='{"event_time":"2026-02-03T14:00:01.000Z","agent_id":"a","run_id":"r","event_type":"tool_call","action_id":"c1"}
{"event_time":"2026-02-03T14:00:02.000Z","agent_id":"a","run_id":"r","event_type":"tool_call","action_id":"c2"}
{"event_time":"2026-02-03T15:00:03+01:00","agent_id":"a","run_id":"r","event_type":"tool_result","action_id":"c9"}
{"event_time":"2026-02-03T14:00:04.000Z","agent_id":"a","run_id":"r","event_type":"tool_result","action_id":"c1"}
'
WARN_EXPECTED='{"event_type":"lifecycle_violation","violation":"orphan","profile":"agent-activity","track":"tool","key":"r/c9","agent_id":"a","event":"tool_result","expected":["tool_call"],"lines":[{"source":"in.jsonl","line":3}],"event_time":"2026-02-03T15:00:03+01:00"}
{"event_type":"lifecycle_violation","violation":"open_at_end","profile":"agent-activity","track":"tool","key":"r/c2","agent_id":"a","expected":["tool_result"],"lines":[{"source":"in.jsonl","line":2}],"event_time":"2026-02-03T14:00:02.000Z"}
'

write_warnings_config() {
  cat > "$1" <<'EOF'
pipeline:
  stages:
    - {type: lifecycle, annotation_field: ""}
  outputs: [{type: file, path: out.jsonl, append: false}]
  warnings: {type: file, path: warnings.jsonl, append: false}
  dead_letter: {type: file, path: dead.jsonl, append: false}
EOF
}

check_warnings_file_output() {
  printf '%s' "$WARN_INPUT" > in.jsonl
  write_warnings_config cfg.yaml
  "$BIN" run -c cfg.yaml --stats-json stats.json in.jsonl < /dev/null > stdout.txt 2> err.txt; local rc=$?
  assert_eq "exit code" "$rc" 0 || return 1
  # The records' output holds the input records only, unchanged; the warnings their own file.
  assert_file_eq "records" out.jsonl "$WARN_INPUT" || return 1
  assert_file_eq "warnings" warnings.jsonl "$WARN_EXPECTED" || return 1
  assert_file_eq "dead letters" dead.jsonl "" || return 1
  assert_file_eq "stdout" stdout.txt "" || return 1
  assert_file_eq "summary" err.txt 'agentlog: 4 in, 4 out, 0 dropped, 0 dead-lettered, 2 generated, 0 blank lines skipped
' || return 1
  python3 - stats.json <<'EOF' || return 1
import json, sys
d = json.load(open(sys.argv[1]))
got = (d["records_out"], d["generated_out"], d["warnings_out"], d["warnings_outputs"])
want = (4, 2, 2, [{"output": "warnings.jsonl", "lines_failed": 0, "partial_lines_cut": 0, "partial_bytes_cut": 0}])
if got != want:
    print("stats: got %r, want %r" % (got, want))
    sys.exit(1)
EOF
  # Without `warnings:` the same warnings go to the records' output, each after its origin.
  sed -i '/warnings:/d' cfg.yaml
  "$BIN" run -q -c cfg.yaml in.jsonl < /dev/null > stdout.txt 2> err.txt; rc=$?
  assert_eq "exit code (no warnings:)" "$rc" 0 || return 1
  local w1 w2
  w1=$(printf '%s' "$WARN_EXPECTED" | sed -n 1p)
  w2=$(printf '%s' "$WARN_EXPECTED" | sed -n 2p)
  assert_file_eq "records and warnings" out.jsonl "$(printf '%s' "$WARN_INPUT" | sed -n 1,3p)
$w1
$(printf '%s' "$WARN_INPUT" | sed -n 4p)
$w2
" || return 1
}

check_warnings_to_stderr_and_list() {
  printf '%s' "$WARN_INPUT" > in.jsonl
  cat > cfg.yaml <<'EOF'
pipeline:
  stages: [{type: lifecycle, annotation_field: ""}]
  warnings:
    - {type: stderr}
    - {type: file, path: w.jsonl}
EOF
  "$BIN" run -q -c cfg.yaml in.jsonl < /dev/null > stdout.txt 2> err.txt; local rc=$?
  assert_eq "exit code" "$rc" 0 || return 1
  assert_file_eq "stdout" stdout.txt "$WARN_INPUT" || return 1
  assert_file_eq "stderr" err.txt "$WARN_EXPECTED" || return 1
  assert_file_eq "second warnings output" w.jsonl "$WARN_EXPECTED" || return 1
}

check_warnings_same_path_exit_2() {
  printf '%s' "$WARN_INPUT" > in.jsonl
  cat > cfg.yaml <<'EOF'
pipeline:
  warnings: {type: file, path: problems.jsonl}
  dead_letter: {type: file, path: problems.jsonl}
EOF
  "$BIN" run -c cfg.yaml in.jsonl < /dev/null > stdout.txt 2> err.txt; local rc=$?
  assert_eq "exit code" "$rc" 2 || return 1
  assert_file_eq "stderr" err.txt 'agentlog: config error: cfg.yaml:3:35: pipeline.dead_letter.path: "problems.jsonl" is the same file as pipeline.warnings.path "problems.jsonl" (line 2); every file output needs its own path
' || return 1
  assert_no_file "problems file" problems.jsonl || return 1
  "$BIN" check-config -c cfg.yaml > stdout.txt 2> err.txt; rc=$?
  assert_eq "check-config exit code" "$rc" 2 || return 1
}

check_warnings_check_writes_only_with_write_outputs() {
  printf '%s' "$WARN_INPUT" > in.jsonl
  write_warnings_config cfg.yaml
  "$BIN" check -q -c cfg.yaml --report json=report.json in.jsonl < /dev/null > stdout.txt 2> err.txt; local rc=$?
  assert_eq "exit code" "$rc" 0 || return 1
  assert_no_file "warnings without --write-outputs" warnings.jsonl || return 1
  assert_no_file "records without --write-outputs" out.jsonl || return 1
  "$BIN" check -q -c cfg.yaml --write-outputs --report json=report2.json in.jsonl < /dev/null > stdout.txt 2> err.txt; rc=$?
  assert_eq "exit code (--write-outputs)" "$rc" 0 || return 1
  assert_file_eq "warnings (--write-outputs)" warnings.jsonl "$WARN_EXPECTED" || return 1
  assert_file_eq "records (--write-outputs)" out.jsonl "$WARN_INPUT" || return 1
  # The report sees the warnings either way.
  cmp -s report.json report2.json || { echo "reports differ with --write-outputs"; return 1; }
  python3 - report.json <<'EOF' || return 1
import sys
text = open(sys.argv[1]).read()
if "orphan" not in text or "open_at_end" not in text:
    print("report does not show the warnings:", text[:400])
    sys.exit(1)
EOF
}

check_warnings_sighup_reopen() {
  mkfifo in.fifo || { echo "mkfifo failed"; return 1; }
  cat > cfg.yaml <<'EOF'
pipeline:
  stages: [{type: lifecycle, annotation_field: ""}]
  outputs: [{type: file, path: out.jsonl}]
  warnings: {type: file, path: warnings.jsonl}
  dead_letter: {type: file, path: dead.jsonl}
EOF
  exec 3<> in.fifo
  "$BIN" run -q -c cfg.yaml in.fifo < /dev/null > stdout.txt 2> err.txt 3>&- &
  AGENT_PID=$!
  # Each orphan tool_result makes one warning.
  orphan() { printf '{"event_time":"2026-02-03T14:00:00Z","agent_id":"a","run_id":"r","event_type":"tool_result","action_id":"o%d"}\n' "$1" >&3; }
  orphan 1
  if ! wait_for_lines warnings.jsonl 1; then
    kill -KILL "$AGENT_PID" 2>/dev/null; wait "$AGENT_PID" 2>/dev/null
    return 1
  fi
  mv warnings.jsonl warnings.jsonl.1
  kill -HUP "$AGENT_PID"
  # The reopen happens after the batch in flight: keep writing until the new file has content.
  local n=2 i
  orphan "$n"
  for ((i = 0; i < 100; i++)); do
    [ -s warnings.jsonl ] && break
    n=$((n + 1))
    orphan "$n"
    sleep 0.05
  done
  exec 3>&-
  wait_exit "$AGENT_PID"
  assert_eq "exit code" "$WAIT_RC" 0 || return 1
  [ -s warnings.jsonl ] || { echo "warnings.jsonl was not recreated after SIGHUP"; return 1; }
  # Every warning exactly once, in order, across both files.
  local keys want
  keys=$(cat warnings.jsonl.1 warnings.jsonl | python3 -c 'import json,sys; print(" ".join(json.loads(l)["key"] for l in sys.stdin))')
  want=$(for ((i = 1; i <= n; i++)); do printf 'r/o%d ' "$i"; done)
  assert_eq "warnings across both files" "$keys" "${want% }" || return 1
}

# ---------------------------------------------------------------------------

CHECKS=(
  check_version
  check_help
  check_subcommand_help
  check_plugins_json
  check_no_subcommand_exit_2
  check_unknown_flag_exit_2
  check_check_config_ok
  check_check_config_typo_message
  check_config_error_creates_no_output
  check_plugins_listing
  check_stdin_default
  check_output_bytes_unchanged
  check_dash_input
  check_cli_inputs_replace_config_inputs
  check_glob_order
  check_gzip_zstd_inputs
  check_missing_input_exit_1
  check_glob_no_match_exit_1
  check_unwritable_output_exit_1
  check_stats_json
  check_env_substitution_in_output_path
  check_dead_letter_format
  check_dead_letter_default_stderr
  check_sigterm_drain
  check_sigint_drain
  check_sighup_reopen
  check_closed_pipe_exit_3
  check_determinism
  check_normalize_openhands_array_on_stdin
  check_quiet_suppresses_summary
  check_summary_line
  check_warnings_file_output
  check_warnings_to_stderr_and_list
  check_warnings_same_path_exit_2
  check_warnings_check_writes_only_with_write_outputs
  check_warnings_sighup_reopen
)

for check in "${CHECKS[@]}"; do
  name=${check#check_}
  dir=$TMP/$name
  mkdir -p "$dir"
  (cd "$dir" && "$check") > "$TMP/$name.log" 2>&1 < /dev/null
  rc=$?
  if [ "$rc" -eq 0 ]; then
    PASSED=$((PASSED + 1))
    echo "ok - $name"
  else
    FAILED=$((FAILED + 1))
    reason=$(tr '\n' ' ' < "$TMP/$name.log" | sed 's/ *$//')
    [ -n "$reason" ] || reason="failed with status $rc"
    echo "not ok - $name: $reason"
  fi
done

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]

#!/usr/bin/env bash
# End-to-end tests of `agentlog check` beyond the golden cases: report destinations, colour,
# progress, secrets in reports, usage errors and how `run`/`check-config` treat policies.
#
#   bash tests/cli/check_cli_tests.sh /path/to/agentlog
#
# Prints "ok - NAME" or "not ok - NAME: REASON" per check, then "N passed, M failed".
set -u
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
TMP=$(mktemp -d "${TMPDIR:-/tmp}/agentlog-check-cli.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
PASSED=0
FAILED=0

assert_eq() {
  if [ "$2" != "$3" ]; then
    printf '%s: got [%s], want [%s]\n' "$1" "$(printf '%s' "$2" | cat -v)" "$(printf '%s' "$3" | cat -v)"
    return 1
  fi
}

# Spec 002 records; the second carries an AWS key id in tool_target and a raw output_ref.
write_input() {
  cat > input.jsonl <<'JSONL'
{"event_time":"2026-01-15T09:30:00.000Z","agent_id":"agent-a","agent_version":"1","run_id":"run-1","event_type":"tool_call","actor_id":"u@example.com","tool_name":"http_get","tool_action":"read","tool_target":"https://example.com/","auth_context":"role:dev","input_ref":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","output_ref":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","decision":"allow","evidence_ref":"urn:e:1","action_id":"act-1"}
{"event_time":"2026-01-15T09:30:01.000Z","agent_id":"agent-a","agent_version":"1","run_id":"run-1","event_type":"tool_result","actor_id":"u@example.com","tool_name":"http_get","tool_action":"read","tool_target":"https://example.com/?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE","auth_context":"role:dev","input_ref":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","output_ref":"password=hunter2-very-secret","decision":"allow","evidence_ref":"urn:e:2","action_id":"act-1"}
JSONL
  cat > config.yaml <<'YAML'
pipeline:
  name: t
  stages:
    - {type: redact, replacement: mask}
    - {type: lifecycle}
  outputs: [{type: file, path: out.jsonl}]
policy:
  name: leak
  rules:
    - {id: no-secrets, type: max_redacted_records}
YAML
}

check_secrets_never_in_reports() {
  write_input
  "$BIN" check -q -c config.yaml --report text=r.txt --report json=r.json --report junit=r.xml --report html=r.html \
    input.jsonl
  assert_eq "exit" "$?" 1 || return 1
  for f in r.txt r.json r.xml r.html; do
    [ -s $f ] || { echo "$f not written"; return 1; }
    if grep -q -e AKIAIOSFODNN7EXAMPLE -e hunter2 $f; then echo "$f leaks a secret"; return 1; fi
  done
  grep -q 'input.jsonl:2: redacted:' r.txt || { echo "no example line in r.txt: $(cat r.txt)"; return 1; }
}

check_outputs_not_written_by_default() {
  write_input
  "$BIN" check -q -c config.yaml --report json=r.json input.jsonl
  [ ! -e out.jsonl ] || { echo "out.jsonl written without --write-outputs"; return 1; }
  "$BIN" check -q --write-outputs -c config.yaml --report json=r.json input.jsonl
  [ "$(wc -l < out.jsonl)" = 2 ] || { echo "out.jsonl has $(wc -l < out.jsonl) lines, want 2"; return 1; }
}

check_text_default_no_colour_no_progress() {
  write_input
  "$BIN" check -c config.yaml input.jsonl > stdout.txt 2> stderr.txt
  assert_eq "exit" "$?" 1 || return 1
  grep -q '^FAILED: 1 rules, 1 failed, 0 warnings$' stdout.txt || { echo "no verdict line: $(cat stdout.txt)"; return 1; }
  if grep -q $'\x1b' stdout.txt stderr.txt; then echo "escape codes written to a file"; return 1; fi
  [ ! -s stderr.txt ] || { echo "stderr is not empty: $(cat stderr.txt)"; return 1; }
}

check_reports_section_used() {
  write_input
  printf 'reports:\n  - {format: json, path: from-config.json}\n' >> config.yaml
  "$BIN" check -q -c config.yaml input.jsonl > stdout.txt
  [ -s from-config.json ] || { echo "reports: section ignored"; return 1; }
  [ ! -s stdout.txt ] || { echo "text report written although reports: names one"; return 1; }
  "$BIN" check -q -c config.yaml --report json=cli.json input.jsonl
  [ -s cli.json ] || { echo "--report ignored"; return 1; }
}

check_policy_file_option() {
  write_input
  printf 'policy:\n  name: other\n  rules:\n    - {type: forbidden, tools: [http_get]}\n' > policy.yaml
  "$BIN" check -q -c config.yaml --policy policy.yaml --report json=r.json input.jsonl
  assert_eq "exit" "$?" 1 || return 1
  grep -q '"name": "other"' r.json || { echo "policy file not used"; return 1; }
  grep -q '"id": "forbidden"' r.json || { echo "rule id default is not the type"; return 1; }
  "$BIN" check -q -c config.yaml --policy missing.yaml input.jsonl 2> err.txt
  assert_eq "exit" "$?" 2 || return 1
  assert_eq "message" "$(cat err.txt)" "agentlog: config error: missing.yaml: cannot read policy: No such file or directory"
}

check_bad_report_args() {
  write_input
  "$BIN" check -q -c config.yaml --report pdf=x.pdf input.jsonl 2> err.txt
  assert_eq "exit" "$?" 2 || return 1
  assert_eq "message" "$(cat err.txt)" \
    'agentlog: usage error: --report pdf=x.pdf: unknown format "pdf". Allowed: text, json, junit, html'
  "$BIN" check -q -c config.yaml --report json input.jsonl 2> err.txt
  assert_eq "exit" "$?" 2 || return 1
  assert_eq "message" "$(cat err.txt)" \
    'agentlog: usage error: --report json: expected FORMAT=PATH, e.g. json=- or json=report.json'
  "$BIN" check -q -c config.yaml --report json=no/such/dir/r.json input.jsonl 2> err.txt
  assert_eq "exit" "$?" 2 || return 1
  assert_eq "message" "$(cat err.txt)" 'agentlog: error: no/such/dir/r.json: cannot write the json report'
}

check_unreadable_input_exit_2() {
  write_input
  "$BIN" check -q -c config.yaml --report json=r.json input.jsonl missing.jsonl 2> err.txt
  assert_eq "exit" "$?" 2 || return 1
  [ -s r.json ] || { echo "report not written"; return 1; }
}

check_run_and_check_config_accept_policy() {
  write_input
  "$BIN" run -q -c config.yaml input.jsonl || { echo "run refused a config with a policy"; return 1; }
  "$BIN" check-config -c config.yaml > out.txt || { echo "check-config failed"; return 1; }
  printf 'pipeline: {}\npolicy:\n  rules:\n    - {type: max_collisions, severity: fatal}\n' > bad.yaml
  "$BIN" check-config -c bad.yaml 2> err.txt
  assert_eq "exit" "$?" 2 || return 1
  assert_eq "message" "$(cat err.txt)" \
    'agentlog: config error: bad.yaml:4:40: policy.rules[0].severity: invalid value "fatal". Allowed: error, warning'
}

check_help_documents_exit_codes() {
  "$BIN" --help > help.txt
  grep -q 'Exit codes of check:' help.txt || { echo "no exit codes of check in --help"; return 1; }
  "$BIN" check --help > help.txt
  grep -q -- '--report' help.txt || { echo "check --help lacks --report"; return 1; }
}

check_json_deterministic_stdin() {
  write_input
  "$BIN" check -q -c config.yaml --report json=- < input.jsonl > a.json
  "$BIN" check -q -c config.yaml --report json=- - < input.jsonl > b.json
  cmp -s a.json b.json || { echo "reports differ"; return 1; }
  python3 -c 'import json,sys; json.load(open(sys.argv[1]))' a.json || { echo "not JSON"; return 1; }
}

# 12,000 runs: the runs list stops at limits.max_runs, the timeline at timeline_runs, and the
# HTML stays small.
check_many_runs_are_capped() {
  python3 -c '
import json
for i in range(12000):
    print(json.dumps({"event_time": "2026-01-15T09:30:00.000Z", "agent_id": "a%d" % (i % 7), "run_id": "run-%05d" % i,
                      "event_type": "tool_call", "tool_name": "t", "decision": "allow", "action_id": "x"}))
' > many.jsonl
  printf 'pipeline:\n  name: many\n' > many.yaml
  "$BIN" check -q -c many.yaml --report json=r.json --report html=r.html many.jsonl
  assert_eq "exit" "$?" 0 || return 1
  python3 - <<'PY' || return 1
import json, os, sys
r = json.load(open("r.json"))["runs"]
if (r["listed"], r["capped"], r["records_in_other_runs"]) != (10000, True, 2000):
    sys.exit("runs: %r" % {k: r[k] for k in ("listed", "capped", "records_in_other_runs")})
html = open("r.html").read()
if html.count('<section class="run"') != 50:
    sys.exit("timeline runs: %d" % html.count('<section class="run"'))
if os.path.getsize("r.html") > 4_000_000:
    sys.exit("r.html is %d bytes" % os.path.getsize("r.html"))
PY
}

# On a TTY (script(1) provides one) a slow run shows progress on stderr: records and MB/s.
# The producer pauses so that the run lasts past the one-second threshold.
check_progress_on_tty() {
  command -v script > /dev/null || { echo "script(1) is missing"; return 1; }
  write_input
  for i in $(seq 200); do cat input.jsonl; done > part.jsonl
  printf 'pipeline:\n  name: p\n' > p.yaml
  script -qec "(cat part.jsonl; sleep 1.6; cat part.jsonl) | '$BIN' check -c p.yaml --report json=r.json -" /dev/null \
    > tty.txt 2>&1 < /dev/null
  grep -aq 'agentlog check: [0-9]* records, [0-9.]* MB/s' tty.txt || { echo "no progress line: $(cat -v tty.txt | head -c 300)"; return 1; }
  grep -aq '"records_in": 800' r.json || { echo "records_in is not 800"; return 1; }
}

# Dead letters by reason and per input in every report format, with the default policy.
check_dead_letters_in_every_report() {
  write_input
  printf 'pipeline:\n  name: d\n' > d.yaml
  head -1 input.jsonl > good.jsonl
  { head -1 input.jsonl; printf '{"event_time": "2026-01-15T09:30:0\n'; } > torn.jsonl
  "$BIN" check -q -c d.yaml --report text=r.txt --report json=r.json --report junit=r.xml --report html=r.html \
    good.jsonl torn.jsonl
  assert_eq "exit" "$?" 1 || return 1
  grep -q '^  FAIL  max_dead_letters: 1 dead letter (limit 0)$' r.txt || { echo "no max_dead_letters failure: $(cat r.txt)"; return 1; }
  grep -q '^  dead letters    1: input.malformed_json 1$' r.txt || { echo "no dead letters line: $(cat r.txt)"; return 1; }
  grep -q '^    torn.jsonl            1 record, 1 dead-lettered (input.malformed_json 1)$' r.txt ||
    { echo "no per-input line: $(cat r.txt)"; return 1; }
  python3 - <<'PY' || return 1
import json, sys
r = json.load(open("r.json"))
want = {"good.jsonl": {"lines": 1, "records": 1, "dead_lettered": 0, "dead_letter_reasons": {}},
        "torn.jsonl": {"lines": 2, "records": 1, "dead_lettered": 1, "dead_letter_reasons": {"input.malformed_json": 1}}}
if r["inputs"] != {"total": 2, "capped": False, "by_input": want}:
    sys.exit("inputs: %r" % r["inputs"])
if [x["id"] for x in r["rules"]] != ["max_schema_violations", "max_dead_letters", "min_records"]:
    sys.exit("default rules: %r" % [x["id"] for x in r["rules"]])
PY
  grep -q '^  torn.jsonl: 1 of 2 lines (input.malformed_json 1)$' r.xml || { echo "no per-input dead letters in JUnit: $(cat r.xml)"; return 1; }
  python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' r.xml || { echo "JUnit is not XML"; return 1; }
  grep -q '<table id="inputs">' r.html || { echo "no inputs table in HTML"; return 1; }
  grep -q '<td class="fail">torn.jsonl</td><td>2</td><td>1</td><td>1</td><td>input.malformed_json 1</td>' r.html ||
    { echo "no torn.jsonl row in HTML"; return 1; }
}

# Nothing to check is a failure: empty stdin under the default policy.
check_empty_stdin_fails_default_policy() {
  printf 'pipeline:\n  name: e\n' > e.yaml
  "$BIN" check -q -c e.yaml --report json=r.json - < /dev/null
  assert_eq "exit" "$?" 1 || return 1
  grep -q '"detail": "0 records kept from 1 input"' r.json || { echo "min_records detail: $(grep detail r.json)"; return 1; }
}

# reasons naming no stage of the pipeline fail before any input is read, also from --policy.
check_reasons_checked_against_pipeline() {
  write_input
  printf 'policy:\n  rules:\n    - {type: max_dead_letters, reasons: [redcat]}\n' > policy.yaml
  "$BIN" check -q -c config.yaml --policy policy.yaml --report json=r.json input.jsonl 2> err.txt
  assert_eq "exit" "$?" 2 || return 1
  [ ! -s r.json ] || { echo "a report was written"; return 1; }
  assert_eq "message" "$(cat err.txt)" \
    'agentlog: config error: policy.yaml:3:45: policy.rules[0].reasons[0]: unknown dead-letter reason "redcat" for this pipeline; did you mean "redact"? Allowed: input, input.malformed_json, input.invalid_utf8, input.not_an_object, input.line_too_long, unclassified, redact, lifecycle, output, output:<type>'
  printf 'policy:\n  rules:\n    - {type: max_dead_letters, reasons: [redact, lifecycle, input, output:syslog]}\n' > policy.yaml
  "$BIN" check -q -c config.yaml --policy policy.yaml --report json=r.json input.jsonl
  assert_eq "exit" "$?" 0 || return 1
  # A policy beside its pipeline: check-config checks the reasons against its stages too.
  printf '    - {type: max_dead_letters, reasons: [validate]}\n' >> config.yaml
  "$BIN" check-config -c config.yaml 2> err.txt
  assert_eq "exit" "$?" 2 || return 1
  assert_eq "message" "$(cat err.txt)" \
    'agentlog: config error: config.yaml:10:45: policy.rules[1].reasons[0]: unknown dead-letter reason "validate" for this pipeline. Allowed: input, input.malformed_json, input.invalid_utf8, input.not_an_object, input.line_too_long, unclassified, redact, lifecycle, output, output:<type>'
  # An input's format: puts a normalize stage first.
  printf 'pipeline:\n  inputs: [{type: file, paths: [x.jsonl], format: codex}]\npolicy:\n  rules:\n    - {type: max_dead_letters, reasons: [normalize]}\n' > n.yaml
  "$BIN" check-config -c n.yaml > /dev/null || { echo "check-config refused reasons: [normalize] with format:"; return 1; }
}

CHECKS=(
  check_dead_letters_in_every_report
  check_empty_stdin_fails_default_policy
  check_reasons_checked_against_pipeline
  check_progress_on_tty
  check_many_runs_are_capped
  check_secrets_never_in_reports
  check_outputs_not_written_by_default
  check_text_default_no_colour_no_progress
  check_reports_section_used
  check_policy_file_option
  check_bad_report_args
  check_unreadable_input_exit_2
  check_run_and_check_config_accept_policy
  check_help_documents_exit_codes
  check_json_deterministic_stdin
)
for check in "${CHECKS[@]}"; do
  name=${check#check_}
  dir=$TMP/$name
  mkdir -p "$dir"
  (cd "$dir" && "$check") > "$TMP/$name.log" 2>&1 < /dev/null
  if [ $? -eq 0 ]; then
    PASSED=$((PASSED + 1))
    echo "ok - $name"
  else
    FAILED=$((FAILED + 1))
    echo "not ok - $name: $(tr '\n' ' ' < "$TMP/$name.log")"
  fi
done
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]

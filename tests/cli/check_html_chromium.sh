#!/usr/bin/env bash
# Renders the `agentlog check` HTML report of samples/ in headless Chromium and checks that
# the page loads without script errors or blocked fetches, and that the charts and the
# timeline are present (the page's own script sets body data-ok="1" only then).
#
#   bash tests/cli/check_html_chromium.sh /path/to/agentlog
#
# Exits 77 (ctest: skipped) only when no chromium is installed; CI installs it (scripts/setup.sh).
set -u
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  echo "SKIP: chromium is not installed (apt-get install chromium; scripts/setup.sh does it)"
  exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/agentlog-html.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cd "$ROOT" || exit 2
rc=0
"$BIN" check -q -c configs/default.yaml --report "html=$TMP/report.html" --report "json=$TMP/report.json" || rc=$?
# The samples break the default policy on purpose (schema violations): exit 1, not 2.
[ "$rc" = 1 ] || fail "agentlog check exited $rc, want 1"
[ -s "$TMP/report.html" ] || fail "no HTML report written"

# Self-contained: nothing is fetched from anywhere.
if grep -Eo '(src|href)="[a-z]+:' "$TMP/report.html" | grep -v 'href="#' | grep -q .; then
  fail "the report references an external resource: $(grep -Eo '(src|href)="[a-z]+:[^"]*' "$TMP/report.html" | head -3)"
fi

timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$TMP/profile" --enable-logging=stderr --v=0 --virtual-time-budget=5000 \
  --dump-dom "file://$TMP/report.html" >"$TMP/dom.html" 2>"$TMP/chromium.log" ||
  fail "chromium failed: $(tail -5 "$TMP/chromium.log")"

body=$(grep -o '<body[^>]*>' "$TMP/dom.html" | head -1)
[ -n "$body" ] || fail "no <body> in the rendered DOM"
echo "rendered: $body"
case "$body" in *'data-ok="1"'*) ;; *) fail "page reports a problem (data-ok is not 1): $body" ;; esac
charts=$(printf '%s' "$body" | sed -n 's/.*data-charts="\([0-9]*\)".*/\1/p')
runs=$(printf '%s' "$body" | sed -n 's/.*data-timeline-runs="\([0-9]*\)".*/\1/p')
[ "${charts:-0}" -ge 8 ] || fail "expected at least 8 charts, found ${charts:-none}"
[ "${runs:-0}" -ge 3 ] || fail "expected the timeline of at least 3 runs, found ${runs:-none}"
grep -q '<section class="run" data-run="run-20260115-7f3a9c"' "$TMP/dom.html" || fail "timeline of run-20260115-7f3a9c missing"
grep -q 'id="rules"' "$TMP/dom.html" || fail "rules table missing"
# Console errors, blocked loads (CSP), failed fetches.
if grep -E 'CONSOLE|Refused to|net::ERR_|Uncaught' "$TMP/chromium.log" | grep -q .; then
  fail "console errors: $(grep -E 'CONSOLE|Refused to|net::ERR_|Uncaught' "$TMP/chromium.log" | head -5)"
fi
echo "ok - HTML report renders with $charts charts and $runs timeline runs"

#!/usr/bin/env bash
# Throughput benchmark for `agentlog run`.
#
# Usage: bench/run_bench.sh [--lines N] [--input PATH] [--config PATH] [--label TEXT] [--workers N]
#
#   --lines N       records in the generated input (default 1000000)
#   --input PATH    use this input file instead of generating one (e.g. the output of
#                   build/gen_claude_code); --lines is then its line count
#   --config PATH   pipeline config (default bench/configs/passthrough.yaml)
#   --label TEXT    free-form tag printed in the summary (default: config name)
#   --workers N     passed to agentlog (default: the config's workers:, auto)
#
# Needs build/agentlog and build/gen_activity (build them first:
#   cmake --build build --target agentlog gen_activity)
# and GNU time at /usr/bin/time.
#
# The input is generated once into build/bench/activity-N.jsonl and reused.
# agentlog runs 3 times; the summary reports the fastest run and the largest
# peak RSS seen across the runs.
set -euo pipefail
# The redact bench uses keyed hashes; a fixed key keeps runs comparable (never a real key).
export AGENTLOG_REDACT_KEY="${AGENTLOG_REDACT_KEY:-bench-only-key-0123456789abcdef}"

usage() {
  sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

die() {
  echo "run_bench: $*" >&2
  exit 1
}

lines=1000000
config=""
given_input=""
label=""
workers=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --lines)
      [[ $# -ge 2 ]] || die "--lines needs a value"
      lines="$2"; shift 2 ;;
    --lines=*) lines="${1#*=}"; shift ;;
    --input)
      [[ $# -ge 2 ]] || die "--input needs a value"
      given_input="$2"; shift 2 ;;
    --input=*) given_input="${1#*=}"; shift ;;
    --config)
      [[ $# -ge 2 ]] || die "--config needs a value"
      config="$2"; shift 2 ;;
    --config=*) config="${1#*=}"; shift ;;
    --label)
      [[ $# -ge 2 ]] || die "--label needs a value"
      label="$2"; shift 2 ;;
    --label=*) label="${1#*=}"; shift ;;
    --workers)
      [[ $# -ge 2 ]] || die "--workers needs a value"
      workers=(--workers "$2"); shift 2 ;;
    --workers=*) workers=(--workers "${1#*=}"); shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

[[ "$lines" =~ ^[1-9][0-9]*$ ]] || die "--lines must be a positive integer (got '$lines')"

# Resolve a user-given config relative to the caller's directory before we
# move to the repository root (config output paths are relative to the root).
if [[ -n "$config" && -f "$config" ]]; then
  config="$(cd "$(dirname "$config")" && pwd)/$(basename "$config")"
fi
if [[ -n "$given_input" ]]; then
  [[ -f "$given_input" ]] || die "input not found: $given_input"
  given_input="$(cd "$(dirname "$given_input")" && pwd)/$(basename "$given_input")"
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

config="${config:-bench/configs/passthrough.yaml}"
[[ -f "$config" ]] || die "config not found: $config"
if [[ -z "$label" ]]; then
  label="$(basename "$config")"
  label="${label%.*}"
fi

agentlog="build/agentlog"
gen="build/gen_activity"
for bin in "$agentlog" "$gen"; do
  if [[ ! -x "$bin" ]]; then
    die "missing $root/$bin; build first: cmake --build build --target agentlog gen_activity"
  fi
done

timebin=/usr/bin/time
if [[ ! -x "$timebin" ]]; then
  echo "run_bench: GNU time not found at $timebin; install it with:" >&2
  echo "apt-get install -y time" >&2
  exit 1
fi

mkdir -p build/bench
input="build/bench/activity-${lines}.jsonl"
if [[ -n "$given_input" ]]; then
  input="$given_input"
  lines="$(wc -l < "$input")"
elif [[ -s "$input" ]]; then
  echo "run_bench: reusing $input" >&2
else
  echo "run_bench: generating $input ($lines lines)" >&2
  "$gen" --lines "$lines" --out "$input.tmp"
  mv -f "$input.tmp" "$input"
fi
bytes="$(stat -c %s "$input")"

timefile="$(mktemp "${TMPDIR:-/tmp}/agentlog-bench-time.XXXXXX")"
trap 'rm -f "$timefile"' EXIT

best_s=""
max_rss_kib=0
for i in 1 2 3; do
  rc=0
  "$timebin" -f '%e %M' -o "$timefile" \
    "$agentlog" run -c "$config" "${workers[@]}" --stats-json build/bench/stats.json "$input" || rc=$?
  if [[ $rc -ne 0 ]]; then
    die "run $i: '$agentlog run -c $config ... $input' failed with exit status $rc"
  fi
  # GNU time may prefix a "Command exited ..." line; the numbers are last.
  read -r elapsed rss_kib < <(tail -n 1 "$timefile")
  [[ "$elapsed" =~ ^[0-9]+(\.[0-9]+)?$ && "$rss_kib" =~ ^[0-9]+$ ]] ||
    die "could not parse GNU time output: $(cat "$timefile")"
  echo "run_bench: run $i: ${elapsed}s peak_rss=${rss_kib}KiB" >&2
  if [[ -z "$best_s" ]] || awk -v a="$elapsed" -v b="$best_s" 'BEGIN { exit !(a < b) }'; then
    best_s="$elapsed"
  fi
  if (( rss_kib > max_rss_kib )); then
    max_rss_kib="$rss_kib"
  fi
done

awk -v label="$label" -v lines="$lines" -v bytes="$bytes" -v s="$best_s" -v rss="$max_rss_kib" '
  BEGIN {
    t = (s > 0) ? s : 0.01  # GNU time resolution is 10 ms
    printf "bench: label=%s lines=%.0f bytes=%.0f best_s=%.2f MB_s=%.1f rec_s=%.0f peak_rss_MiB=%.1f\n",
           label, lines, bytes, s, bytes / 1e6 / t, lines / t, rss / 1024
  }'

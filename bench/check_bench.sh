#!/usr/bin/env bash
# `agentlog check` against `agentlog run` with the full default stage chain
# (bench/configs/default-chain.yaml = configs/default.yaml's stages, file outputs).
#
#   bench/check_bench.sh [--lines N] [--repeat R]
#
# Runs, R times each and interleaved so machine load hits all alike:
#   run:          agentlog run -c bench/configs/default-chain.yaml INPUT
#   check+out:    agentlog check --write-outputs -c ... INPUT --report json=... --report html=...
#   check:        agentlog check -c ... INPUT --report json=... --report html=...   (outputs not written)
# and prints the best elapsed and best CPU (user+sys) seconds of each, and the ratios to `run`.
# The target: check within 1.2x the time of run.
set -euo pipefail
cd "$(dirname "$0")/.."
lines=1000000
repeat=3
while (($#)); do
  case "$1" in
    --lines) lines="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    *) echo "usage: $0 [--lines N] [--repeat R]" >&2; exit 2 ;;
  esac
done
agentlog=build/agentlog
gen=build/gen_activity
timebin=/usr/bin/time
for f in "$agentlog" "$gen" "$timebin"; do
  [[ -x "$f" ]] || { echo "check_bench: $f is missing (cmake --build build; apt-get install time)" >&2; exit 1; }
done
mkdir -p build/bench
input="build/bench/activity-${lines}.jsonl"
if [[ ! -s "$input" ]]; then
  echo "check_bench: generating $input" >&2
  "$gen" --lines "$lines" --out "$input.tmp"
  mv -f "$input.tmp" "$input"
fi
config=bench/configs/default-chain.yaml
tf=$(mktemp "${TMPDIR:-/tmp}/check-bench.XXXXXX")
trap 'rm -f "$tf"' EXIT

declare -A best_e best_c
measure() {  # measure LABEL CMD...
  local label=$1 rc=0
  shift
  "$timebin" -f '%e %U %S' -o "$tf" "$@" >/dev/null 2>&1 || rc=$?
  # check exits 1 when a rule fails; anything else is an error.
  if [[ $rc -ne 0 && !( $label == check* && $rc -eq 1 ) ]]; then
    echo "check_bench: $label failed with exit status $rc: $*" >&2
    exit 1
  fi
  read -r e u s < <(tail -n 1 "$tf")
  local c
  c=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
  echo "check_bench: $label: elapsed ${e}s cpu ${c}s" >&2
  if [[ -z "${best_e[$label]:-}" ]] || awk -v a="$e" -v b="${best_e[$label]}" 'BEGIN { exit !(a < b) }'; then
    best_e[$label]=$e
  fi
  if [[ -z "${best_c[$label]:-}" ]] || awk -v a="$c" -v b="${best_c[$label]}" 'BEGIN { exit !(a < b) }'; then
    best_c[$label]=$c
  fi
}
reports=(--report json=build/bench/check.json --report html=build/bench/check.html)
for ((i = 1; i <= repeat; ++i)); do
  measure run "$agentlog" run -q -c "$config" "$input"
  measure check+out "$agentlog" check -q --write-outputs -c "$config" "$input" "${reports[@]}"
  measure check "$agentlog" check -q -c "$config" "$input" "${reports[@]}"
done
for label in run check+out check; do
  awk -v l="$label" -v e="${best_e[$label]}" -v c="${best_c[$label]}" -v re="${best_e[run]}" -v rc="${best_c[run]}" \
    -v n="$lines" 'BEGIN { printf "bench: label=%s lines=%d best_s=%.2f cpu_s=%.2f ratio_elapsed=%.3f ratio_cpu=%.3f\n",
                           l, n, e, c, e / re, c / rc }'
done

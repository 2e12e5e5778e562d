#!/usr/bin/env bash
# Peak RSS of collision + lifecycle with N simultaneously open lifecycles (tool calls that
# never get a result) against N calls that all close; the difference over N is the cost of
# one open lifecycle (plus its collision entry).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
mkdir -p build/bench
[ -x build/bench_stage ] || { echo "build first: cmake --build build --target bench_stage" >&2; exit 1; }
python3 - "$n" <<'PY'
import sys
n = int(sys.argv[1])
def rec(i, t, kind):
    return ('{"event_time":"2026-01-15T09:%02d:%02d.000Z","agent_id":"agent-%d","run_id":"run-%d",'
            '"event_type":"%s","action_id":"act-%08d","tool_name":"shell","decision":"allow"}\n'
            % ((t // 60) % 60, t % 60, i % 20, i // 50, kind, i))
with open("build/bench/open.jsonl", "w") as f:
    for i in range(n): f.write(rec(i, i % 3600, "tool_call"))
with open("build/bench/closed.jsonl", "w") as f:
    for i in range(n):
        f.write(rec(i, i % 3600, "tool_call")); f.write(rec(i, i % 3600, "tool_result"))
PY
cfg=bench/configs/lifecycle.yaml
open_line=$(build/bench_stage -c $cfg build/bench/open.jsonl | head -1)
closed_line=$(build/bench_stage -c $cfg build/bench/closed.jsonl | head -1)
open_rss=$(sed -n 's/.*peak_rss_MiB=\([0-9.]*\).*/\1/p' <<<"$open_line")
closed_rss=$(sed -n 's/.*peak_rss_MiB=\([0-9.]*\).*/\1/p' <<<"$closed_line")
echo "open:   $open_line"
echo "closed: $closed_line"
python3 -c "import sys; o,c,n=float(sys.argv[1]),float(sys.argv[2]),int(sys.argv[3]); print(f'lifecycle_memory: open={n} peak_rss_open_MiB={o} peak_rss_closed_MiB={c} bytes_per_open_lifecycle={(o-c)*1048576/n:.0f}')" "$open_rss" "$closed_rss" "$n"

#!/usr/bin/env bash
# Throughput of the syslog output: TCP (octet-counted RFC 5424) to a local rsyslogd that
# writes every message to a file.
#
# Usage: bench/syslog_bench.sh [--lines N] [--transport tcp|unix_stream] [--runs R]
#
#   --lines N       records in the generated input (default 1000000; malformed lines are
#                   dead-lettered by the input stage, about 0.1%)
#   --transport T   tcp (default) or unix_stream
#   --runs R        runs (default 3); the summary reports the fastest
#   --input M       rsyslog TCP input module: imptcp (default, rsyslog's fast plain-TCP input)
#                   or imtcp
#
# Needs build/agentlog, build/gen_activity and rsyslogd. Each run starts a fresh rsyslogd
# (private config and work directory under build/bench/syslog/), times `agentlog run` until it
# exits (its shutdown handshake confirms rsyslogd read every byte), then waits until rsyslogd
# has written every message and times that too ("end to end").
set -euo pipefail

die() { echo "syslog_bench: $*" >&2; exit 1; }
lines=1000000
transport=tcp
runs=3
tcp_input=imptcp
while [[ $# -gt 0 ]]; do
  case "$1" in
    --lines) lines="$2"; shift 2 ;;
    --transport) transport="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --input) tcp_input="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
[[ -x build/agentlog && -x build/gen_activity ]] || die "build first: cmake --build build --target agentlog gen_activity"
rsyslogd=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
[[ -x "$rsyslogd" ]] || die "rsyslogd is not installed (apt-get install rsyslog)"

mkdir -p build/bench
input="build/bench/activity-$lines.jsonl"
[[ -f "$input" ]] || build/gen_activity --lines "$lines" --out "$input"
dir="$root/build/bench/syslog"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
best=""
for run in $(seq 1 "$runs"); do
  rm -rf "$dir"; mkdir -p "$dir/work"
  cat > "$dir/rsyslog.conf" <<EOF
global(workDirectory="$dir/work" maxMessageSize="64k")
main_queue(queue.timeoutShutdown="60000" queue.dequeueBatchSize="1024")
module(load="imtcp")
module(load="imptcp")
template(name="msg" type="string" string="%msg%\n")
ruleset(name="r") { action(type="omfile" file="$dir/msg.log" template="msg" ioBufferSize="1m") }
input(type="$tcp_input" address="127.0.0.1" port="$port" ruleset="r")
input(type="imptcp" path="$dir/stream.sock" ruleset="r")
EOF
  if [[ $transport == tcp ]]; then dest="port: $port"; else dest="path: $dir/stream.sock"; fi
  cat > "$dir/agentlog.yaml" <<EOF
pipeline:
  outputs:
    - {type: syslog, transport: $transport, $dest, hostname: bench, shutdown_grace_ms: 120000}
  dead_letter: {type: file, path: $dir/dead.jsonl}
EOF
  "$rsyslogd" -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid" > "$dir/rsyslogd.out" 2>&1 &
  rs_pid=$!
  for _ in $(seq 1 500); do [[ -S "$dir/stream.sock" ]] && break; sleep 0.01; done
  t0=$(date +%s.%N)
  build/agentlog run -q -c "$dir/agentlog.yaml" --stats-json "$dir/stats.json" "$input"
  t1=$(date +%s.%N)
  sent=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["outputs"][0]["sent"])' "$dir/stats.json")
  # End to end: poll (no sleep-and-hope) until rsyslogd has written every message.
  for _ in $(seq 1 60000); do
    [[ -f "$dir/msg.log" && $(wc -l < "$dir/msg.log") -ge $sent ]] && break
    sleep 0.01
  done
  t2=$(date +%s.%N)
  kill "$rs_pid"; wait "$rs_pid" || true
  got=$(wc -l < "$dir/msg.log")
  [[ $got -ge $sent ]] || die "rsyslogd wrote $got of $sent messages"
  read -r s e rate e2e <<<"$(python3 -c "s=$t1-$t0; e=$t2-$t0; print(f'{s:.2f} {e:.2f} {$sent/s:.0f} {$sent/e:.0f}')")"
  echo "run $run: sent=$sent agentlog_s=$s rec_s=$rate end_to_end_s=$e end_to_end_rec_s=$e2e" >&2
  if [[ -z "$best" || $(python3 -c "print($s < ${best%% *})") == True ]]; then best="$s $rate $e2e"; fi
done
read -r s rate e2e <<<"$best"
echo "syslog_bench: transport=$transport input=$tcp_input lines=$lines sent=$sent best_s=$s rec_s=$rate end_to_end_rec_s=$e2e"

#!/usr/bin/env python3
"""Streaming latency of `agentlog run`: stdin -> stdout at a fixed line rate.

    bench/latency_bench.py [--rate 100] [--seconds 10] [--config PATH] [--agentlog build/agentlog]

Writes activity records at --rate lines per second into agentlog's stdin (a pipe), reads
agentlog's stdout (a pipe) in another thread, and reports the latency of each record from
just before its write() to just after its line was read back: median, p90, p99 and max.
The default config (written to a temporary file) has no stages, the default
flush_interval_ms (100) and stdout as output. The figures include this script's own
overhead (Python, two pipes), so agentlog's share is smaller.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

DEFAULT_CONFIG = "pipeline:\n  name: latency\n  outputs: [{type: stdout}]\n"


def record(seq):
    return json.dumps({
        "seq": seq, "event_time": "2026-11-23T10:00:00.000Z", "event_type": "tool_call",
        "agent_id": "agent-07", "run_id": "run-0042", "action_id": "act-%06d" % seq,
        "tool_name": "shell.exec", "tool_action": "execute", "tool_target": "/srv/app",
        "decision": "allow", "input_ref": "sha256:" + "ab" * 32, "output_ref": "s3://bucket/out/%d" % seq,
        "evidence_ref": "urn:artifact:%d" % seq, "trace_id": "trace-%d" % seq,
    }, separators=(",", ":")).encode() + b"\n"


def percentile(sorted_values, p):
    k = min(len(sorted_values) - 1, max(0, round(p / 100.0 * (len(sorted_values) - 1))))
    return sorted_values[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=float, default=100.0, help="lines per second (default 100)")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration (default 10)")
    ap.add_argument("--config", help="pipeline config (default: no stages, stdout)")
    ap.add_argument("--agentlog", default="build/agentlog", help="binary (default build/agentlog)")
    args = ap.parse_args()

    n = int(args.rate * args.seconds)
    cfg = args.config
    tmp = None
    if cfg is None:
        tmp = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        tmp.write(DEFAULT_CONFIG)
        tmp.close()
        cfg = tmp.name
    proc = subprocess.Popen([args.agentlog, "run", "-q", "-c", cfg], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, bufsize=0)
    sent = [0] * n
    received = [0] * n
    count = [0]

    def reader():
        buf = b""
        fd = proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            now = time.perf_counter_ns()
            if not chunk:
                return
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                seq = json.loads(line)["seq"]
                received[seq] = now
                count[0] += 1

    t = threading.Thread(target=reader)
    t.start()
    fd = proc.stdin.fileno()
    start = time.perf_counter()
    for seq in range(n):
        target = start + seq / args.rate
        delay = target - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        line = record(seq)
        sent[seq] = time.perf_counter_ns()
        os.write(fd, line)
    proc.stdin.close()
    t.join()
    rc = proc.wait()
    if tmp:
        os.unlink(tmp.name)
    if rc != 0 or count[0] != n:
        print("latency_bench: agentlog exit %d, %d of %d lines came back" % (rc, count[0], n), file=sys.stderr)
        return 1
    lat = sorted((received[i] - sent[i]) / 1e6 for i in range(n))
    print("latency_bench: rate=%g/s lines=%d median_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f" %
          (args.rate, n, percentile(lat, 50), percentile(lat, 90), percentile(lat, 99), lat[-1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""End-to-end tests of the `syslog` output against a real rsyslogd (Debian's rsyslog).

    python3 tests/syslog/run_syslog_tests.py /path/to/agentlog

Each check starts its own rsyslogd in the foreground (-n) with a private config, work
directory, loopback ports and Unix socket paths under a temporary directory. rsyslogd writes
each message's MSG to msg.log and its parsed header (with STRUCTURED-DATA parsed by
mmpstrucdata, an independent parser) as JSON to parts.log. Output is awaited by polling for
the expected line count with a deadline, never by sleeping.

Exits 77 (ctest: skipped) only when rsyslogd is not installed; 1 when a check fails.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

DEADLINE_S = 60

if len(sys.argv) < 2:
    print(__doc__)
    sys.exit(2)
BIN = os.path.abspath(sys.argv[1])
RSYSLOGD = shutil.which("rsyslogd") or ("/usr/sbin/rsyslogd" if os.path.exists("/usr/sbin/rsyslogd") else None)
if RSYSLOGD is None:
    print("SKIP: rsyslogd is not installed (apt-get install rsyslog; scripts/setup.sh installs it)")
    sys.exit(77)

TMP = tempfile.mkdtemp(prefix="agentlog-syslog.")


def free_port():
    # A port free for both TCP and UDP on 127.0.0.1.
    while True:
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()


def wait_until(what, pred, deadline_s=DEADLINE_S):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


class Rsyslog:
    """A private rsyslogd listening on UDP+TCP (one port), a Unix datagram socket (imuxsock)
    and a Unix stream socket (imptcp)."""

    def __init__(self, d, port=None):
        self.dir = d
        self.port = port or free_port()
        self.dgram = os.path.join(d, "log.sock")
        self.stream = os.path.join(d, "stream.sock")
        self.msg_log = os.path.join(d, "msg.log")
        self.parts_log = os.path.join(d, "parts.log")
        self.raw_log = os.path.join(d, "raw.log")
        work = os.path.join(d, "work")
        os.makedirs(work, exist_ok=True)
        self.conf = os.path.join(d, "rsyslog.conf")
        with open(self.conf, "w") as f:
            f.write(f"""
global(workDirectory="{work}" maxMessageSize="64k")
# On stop, process what was accepted instead of discarding it after 1.5 s.
main_queue(queue.timeoutShutdown="30000")
module(load="imudp")
module(load="imtcp")
module(load="imptcp")
module(load="imuxsock" SysSock.Use="off")
module(load="mmpstrucdata")
template(name="msg" type="string" string="%msg%\\n")
template(name="raw" type="string" string="%rawmsg%\\n")
template(name="parts" type="list" option.jsonf="on") {{
  property(outname="pri" name="pri" format="jsonf")
  property(outname="ts" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="host" name="hostname" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="sd" name="$!rfc5424-sd" format="jsonf")
}}
ruleset(name="r") {{
  action(type="mmpstrucdata")
  action(type="omfile" file="{self.msg_log}" template="msg")
  action(type="omfile" file="{self.raw_log}" template="raw")
  action(type="omfile" file="{self.parts_log}" template="parts")
}}
input(type="imudp" address="127.0.0.1" port="{self.port}" ruleset="r" rcvBufSize="8m")
input(type="imtcp" address="127.0.0.1" port="{self.port}" ruleset="r")
input(type="imuxsock" Socket="{self.dgram}" ruleset="r" UseSpecialParser="off" ParseHostname="on"
      IgnoreTimestamp="off" UseSysTimeStamp="off" RateLimit.Interval="0")
input(type="imptcp" path="{self.stream}" ruleset="r")
""")
        self.proc = None

    def start(self):
        pid = os.path.join(self.dir, "rsyslogd.pid")
        for f in (pid, self.dgram, self.stream):  # imptcp does not remove a stale socket file
            if os.path.exists(f):
                os.unlink(f)
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", self.conf, "-i", pid],
                                     stdout=open(os.path.join(self.dir, "rsyslogd.out"), "ab"),
                                     stderr=subprocess.STDOUT)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("rsyslogd exited: " + open(os.path.join(self.dir, "rsyslogd.out")).read())
            if not (os.path.exists(self.dgram) and os.path.exists(self.stream)):
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_until("rsyslogd to listen", ready)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=DEADLINE_S)
        self.proc = None

    def lines(self, path=None):
        path = path or self.msg_log
        if not os.path.exists(path):
            return []
        with open(path, "rb") as f:
            data = f.read()
        # Only complete lines: rsyslog may be mid-write.
        return data.split(b"\n")[:-1]

    def wait_lines(self, n, path=None):
        wait_until(f"{n} lines in {path or self.msg_log}", lambda: len(self.lines(path)) >= n)
        return self.lines(path)


def make_records(n, seed=1, hostile=False):
    out = []
    decisions = ["allow", "block", "needs_review", "unknown"]
    for i in range(n):
        rec = {
            "event_time": "2026-01-15T09:%02d:%02d.%03dZ" % ((i // 60) % 60, i % 60, i % 1000),
            "agent_id": "agent-%d" % (i % 7),
            "run_id": "run-%d" % (i // 50),
            "event_type": ["tool_call", "tool_result", "agent_run"][i % 3],
            "decision": decisions[i % 4],
            "seq": i,
            "details": {"note": "café ✓ %d \"quoted\" back\\slash" % (i * seed)},
        }
        if hostile:
            rec["agent_id"] = ['a"b', 'c\\d', 'e]f', 'ü-日本-🙂', 'x="y"] [z', 'tab\there', '\\]"'][i % 7]
        out.append(json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode())
    return out


def write_config(d, output, extra=""):
    cfg = os.path.join(d, "config.yaml")
    with open(cfg, "w") as f:
        f.write("pipeline:\n  outputs:\n    - type: syslog\n")
        for k, v in output.items():
            f.write(f"      {k}: {v}\n")
        f.write(f"  dead_letter: {{type: file, path: {os.path.join(d, 'dead.jsonl')}}}\n")
        f.write(extra)
    return cfg


def run_agentlog(d, cfg, records, check=True):
    inp = os.path.join(d, "input.jsonl")
    with open(inp, "wb") as f:
        f.write(b"".join(r + b"\n" for r in records))
    stats = os.path.join(d, "stats.json")
    p = subprocess.run([BIN, "run", "-c", cfg, "--stats-json", stats, inp], capture_output=True, timeout=DEADLINE_S)
    if check and p.returncode != 0:
        raise AssertionError(f"agentlog exited {p.returncode}: {p.stderr.decode()}")
    with open(stats) as f:
        return p, json.load(f)


def expect_exact(rs, records, what):
    got = rs.wait_lines(len(records))
    if got != records:
        for i, (a, b) in enumerate(zip(got, records)):
            if a != b:
                raise AssertionError(f"{what}: line {i + 1} differs:\n got  {a!r}\n want {b!r}")
        raise AssertionError(f"{what}: got {len(got)} lines, want {len(records)}")


# ---------------------------------------------------------------------------
# checks

def check_udp_exact(d):
    rs = Rsyslog(d)
    rs.start()
    try:
        recs = make_records(300)
        _, st = run_agentlog(d, write_config(d, {"transport": "udp", "port": rs.port}), recs)
        expect_exact(rs, recs, "udp")
        assert st["outputs"][0]["sent"] == 300, st
    finally:
        rs.stop()


def check_tcp_octet_counted_exact_and_header(d):
    rs = Rsyslog(d)
    rs.start()
    try:
        recs = make_records(2000)
        cfg = write_config(d, {"port": rs.port, "hostname": "host-1", "app_name": "agentlog-test",
                               "procid": "42", "msgid_field": "event_type", "facility": "local3"})
        _, st = run_agentlog(d, cfg, recs)
        expect_exact(rs, recs, "tcp")
        parts = [json.loads(x) for x in rs.wait_lines(len(recs), rs.parts_log)]
        sev = {"block": 4, "needs_review": 5}
        for r, p in zip(recs, parts):
            rec = json.loads(r)
            assert p["pri"] == str(19 * 8 + sev.get(rec["decision"], 6)), (p, rec)
            assert p["ts"] == rec["event_time"], (p, rec)
            assert (p["host"], p["app"], p["procid"], p["msgid"]) == ("host-1", "agentlog-test", "42",
                                                                      rec["event_type"]), p
            sd = json.loads(p["sd"])["agentlog@32473"]
            assert sd == {k: rec[k] for k in ("agent_id", "run_id", "event_type", "decision")}, (sd, rec)
        raw = rs.wait_lines(len(recs), rs.raw_log)
        assert raw[0].startswith(b"<"), raw[0]
        o = st["outputs"][0]
        assert o["sent"] == 2000 and o["connects"] == 1 and o["retries"] == 0, o
    finally:
        rs.stop()


def check_tcp_newline_framing(d):
    rs = Rsyslog(d)
    rs.start()
    try:
        recs = make_records(500)
        run_agentlog(d, write_config(d, {"port": rs.port, "framing": "newline"}), recs)
        expect_exact(rs, recs, "tcp newline")
    finally:
        rs.stop()


def check_unix_dgram_exact(d):
    rs = Rsyslog(d)
    rs.start()
    try:
        recs = make_records(300)
        run_agentlog(d, write_config(d, {"transport": "unix_dgram", "path": rs.dgram}), recs)
        expect_exact(rs, recs, "unix_dgram")
    finally:
        rs.stop()


def check_unix_stream_exact(d):
    rs = Rsyslog(d)
    rs.start()
    try:
        recs = make_records(1000)
        run_agentlog(d, write_config(d, {"transport": "unix_stream", "path": rs.stream}), recs)
        expect_exact(rs, recs, "unix_stream")
    finally:
        rs.stop()


def check_rfc3164(d):
    rs = Rsyslog(d)
    rs.start()
    try:
        recs = make_records(50)
        run_agentlog(d, write_config(d, {"port": rs.port, "format": "rfc3164", "hostname": "h3164",
                                         "procid": "7"}), recs)
        raw = rs.wait_lines(len(recs), rs.raw_log)
        for r, line in zip(recs, raw):
            ts = json.loads(r)["event_time"]  # 2026-01-15T09:MM:SS...
            head = b"<14>Jan 15 " + ts[11:19].encode() + b" h3164 agentlog[7]: "
            sev = {"block": b"<12>", "needs_review": b"<13>"}.get(json.loads(r)["decision"], b"<14>")
            assert line == sev + head[4:] + r, (line, r)
        parts = [json.loads(x) for x in rs.wait_lines(len(recs), rs.parts_log)]
        assert all(p["host"] == "h3164" and p["app"] == "agentlog" and p["procid"] == "7" for p in parts), parts[0]
    finally:
        rs.stop()


def check_sd_escaping_hostile(d):
    rs = Rsyslog(d)
    rs.start()
    try:
        recs = make_records(70, hostile=True)
        run_agentlog(d, write_config(d, {"port": rs.port}), recs)
        expect_exact(rs, recs, "hostile")
        parts = [json.loads(x) for x in rs.wait_lines(len(recs), rs.parts_log)]
        for r, p in zip(recs, parts):
            rec = json.loads(r)
            sd = json.loads(p["sd"])["agentlog@32473"]
            want = rec["agent_id"].replace("\t", " ")  # control characters become spaces
            assert sd["agent_id"] == want, (sd, rec["agent_id"])
            assert sd["decision"] == rec["decision"], sd
        raw = rs.wait_lines(len(recs), rs.raw_log)
        assert b'agent_id="a\\"b"' in raw[0] and b'agent_id="c\\\\d"' in raw[1] and b'agent_id="e\\]f"' in raw[2], raw[:3]
    finally:
        rs.stop()


def check_udp_truncation_marker(d):
    rs = Rsyslog(d)
    rs.start()
    try:
        big = json.dumps({"agent_id": "a", "pad": "é" * 1500}, ensure_ascii=False, separators=(",", ":")).encode()
        recs = [make_records(1)[0], big]
        _, st = run_agentlog(d, write_config(d, {"transport": "udp", "port": rs.port, "datagram_max_bytes": 600}), recs)
        raw = rs.wait_lines(2, rs.raw_log)
        assert raw[0].endswith(recs[0]), raw[0]
        assert raw[1].endswith(b"...[truncated]") and len(raw[1]) <= 600, (len(raw[1]), raw[1][-40:])
        raw[1].decode("utf-8")  # cut on a code point boundary
        assert st["outputs"][0]["truncated"] == 1, st
    finally:
        rs.stop()


def check_tcp_too_large_dead_lettered(d):
    rs = Rsyslog(d)
    rs.start()
    try:
        small = make_records(3)
        big = json.dumps({"agent_id": "a", "pad": "x" * 3000}).encode()
        recs = [small[0], big, small[1], small[2]]
        p, st = run_agentlog(d, write_config(d, {"port": rs.port, "stream_max_bytes": 2000}), recs)
        expect_exact(rs, [small[0], small[1], small[2]], "tcp with one too large")
        dead = [json.loads(x) for x in open(os.path.join(d, "dead.jsonl"), "rb").read().splitlines()]
        assert len(dead) == 1 and dead[0]["stage"] == "output:syslog" and dead[0]["line"] == 2, dead
        assert dead[0]["raw"].encode() == big and "over stream_max_bytes (2000)" in dead[0]["reason"], dead
        assert st["outputs"][0]["too_large"] == 1 and st["output_dead_lettered"] == 1, st
    finally:
        rs.stop()


def check_receiver_down_dead_letters_exit_1(d):
    port = free_port()  # nobody listens
    recs = make_records(20)
    cfg = write_config(d, {"port": port, "shutdown_grace_ms": 300, "retry_initial_ms": 20, "retry_max_ms": 50})
    p, st = run_agentlog(d, cfg, recs, check=False)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert b"20 records not delivered within shutdown_grace_ms (dead-lettered)" in p.stderr, p.stderr
    dead = [json.loads(x) for x in open(os.path.join(d, "dead.jsonl"), "rb").read().splitlines()]
    assert [x["raw"].encode() for x in dead] == recs, dead[:2]
    assert [x["line"] for x in dead] == list(range(1, 21)) and dead[0]["source"].endswith("input.jsonl"), dead[0]
    assert "Connection refused" in dead[0]["reason"], dead[0]
    o = st["outputs"][0]
    assert o["undelivered"] == 20 and o["retries"] >= 2 and o["sent"] == 0, o


def feed_in_thread(proc, chunks, between):
    """Writes chunks of records to agentlog's stdin; `between(i)` runs before chunk i > 0."""
    err = []

    def go():
        try:
            for i, c in enumerate(chunks):
                if i:
                    between(i)
                proc.stdin.write(b"".join(r + b"\n" for r in c))
                proc.stdin.flush()
            proc.stdin.close()
        except Exception as e:  # reported by the caller
            err.append(e)
    t = threading.Thread(target=go)
    t.start()
    return t, err


def check_tcp_restart_nothing_lost(d):
    rs = Rsyslog(d)
    rs.start()
    recs = make_records(30000)
    cfg = write_config(d, {"port": rs.port, "retry_initial_ms": 20, "retry_max_ms": 200,
                           "shutdown_grace_ms": 30000})
    stats = os.path.join(d, "stats.json")
    p = subprocess.Popen([BIN, "run", "-c", cfg, "--stats-json", stats, "-"], stdin=subprocess.PIPE,
                         stderr=subprocess.PIPE)

    def between(i):
        if i == 1:  # stop rsyslogd while the stream is flowing
            wait_until("first records", lambda: len(rs.lines()) >= 2000)
            rs.stop()
        if i == 2:  # start it again on the same port
            rs.start()
    try:
        t, err = feed_in_thread(p, [recs[:10000], recs[10000:20000], recs[20000:]], between)
        t.join(DEADLINE_S * 2)
        stderr = p.stderr.read()
        p.wait(timeout=DEADLINE_S)
        assert not err, err
        assert p.returncode == 0, (p.returncode, stderr)
        want = set(recs)
        wait_until("every record after the restart", lambda: want <= set(rs.lines()))
        got = rs.lines()
        first = {}
        for i, line in enumerate(got):
            first.setdefault(line, i)
        order = [first[r] for r in recs]
        assert order == sorted(order), "first occurrences are out of order"
        st = json.load(open(stats))["outputs"][0]
        assert st["reconnects"] >= 1 and st["undelivered"] == 0, st
        print(f"    restart: {len(got)} lines for {len(recs)} records ({len(got) - len(recs)} duplicates), "
              f"replayed={st['replayed']} reconnects={st['reconnects']} retries={st['retries']}")
    finally:
        if p.poll() is None:
            p.kill()
        rs.stop()


def check_follow_checkpoint_waits_for_syslog_delivery(d):
    """Follow mode: the checkpoint does not move past records the syslog sender still holds
    (a SIGKILL would lose them); once the receiver takes them, it does."""
    port = free_port()  # nobody listens yet
    log = os.path.join(d, "app.log")
    cp_path = os.path.join(d, "checkpoint.json")
    out = os.path.join(d, "out.jsonl")
    recs = make_records(20)
    with open(log, "wb") as f:
        f.write(b"".join(r + b"\n" for r in recs))
    cfg = os.path.join(d, "config.yaml")
    with open(cfg, "w") as f:
        f.write(f"""pipeline:
  inputs:
    - {{type: file, paths: [{log}], follow: true, checkpoint: {cp_path}, poll_interval_ms: 20}}
  outputs:
    - {{type: file, path: {out}}}
    - {{type: syslog, port: {port}, retry_initial_ms: 20, retry_max_ms: 50}}
  dead_letter: {{type: file, path: {os.path.join(d, 'dead.jsonl')}}}
""")
    p = subprocess.Popen([BIN, "run", "-c", cfg], stderr=subprocess.PIPE)
    rs = Rsyslog(d, port)
    try:
        # The file output has everything, and it flushed: with the receiver down, the
        # checkpoint must still be absent (it used to be saved in this same flush).
        wait_until("the file output", lambda: os.path.exists(out) and len(open(out, "rb").read().splitlines()) == 20)
        def offset():
            try:
                files = json.load(open(cp_path))["files"]
            except (OSError, ValueError):
                return None
            return files[0]["offset"] if files else 0
        assert offset() in (None, 0), open(cp_path).read()
        rs.start()
        rs.wait_lines(20)
        size = os.path.getsize(log)
        wait_until("the checkpoint after delivery", lambda: offset() == size)
        p.kill()  # like a crash: the checkpoint on disk is all that is left
        p.wait(timeout=DEADLINE_S)
        assert rs.lines() == recs, rs.lines()[:2]
    finally:
        if p.poll() is None:
            p.kill()
        rs.stop()


def check_backpressure_blocks_then_delivers(d):
    rs = Rsyslog(d)  # not started yet: the receiver is down when the run begins
    recs = make_records(3000)  # ~0.6 MB, far over buffer_bytes
    cfg = write_config(d, {"port": rs.port, "buffer_bytes": 65536, "replay_bytes": 0, "retry_initial_ms": 20,
                           "retry_max_ms": 100, "shutdown_grace_ms": 30000})
    stats = os.path.join(d, "stats.json")
    p = subprocess.Popen([BIN, "run", "-c", cfg, "--stats-json", stats, "-"], stdin=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        t, err = feed_in_thread(p, [recs], lambda i: None)
        # The writer blocks: agentlog stops reading once its buffer is full.
        time_blocked = time.monotonic()
        wait_until("the feeder to block", lambda: t.is_alive() and time.monotonic() - time_blocked > 0.5, 5)
        assert t.is_alive(), "agentlog read all input although the receiver is down"
        rs.start()
        t.join(DEADLINE_S)
        stderr = p.stderr.read()
        p.wait(timeout=DEADLINE_S)
        assert p.returncode == 0, stderr
        expect_exact(rs, recs, "after backpressure")
        st = json.load(open(stats))["outputs"][0]
        assert st["blocked_ms"] > 0 and st["buffer_peak_bytes"] <= 65536 + 70000, st
    finally:
        if p.poll() is None:
            p.kill()
        rs.stop()


def check_sigterm_while_blocked_dead_letters_everything_read(d):
    port = free_port()  # nobody listens: the buffer fills and the pipeline blocks
    recs = make_records(3000)
    cfg = write_config(d, {"port": port, "buffer_bytes": 65536, "retry_initial_ms": 20, "retry_max_ms": 100,
                           "shutdown_grace_ms": 500})
    stats = os.path.join(d, "stats.json")
    p = subprocess.Popen([BIN, "run", "-c", cfg, "--stats-json", stats, "-"], stdin=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        t, err = feed_in_thread(p, [recs], lambda i: None)
        t0 = time.monotonic()
        wait_until("the feeder to block", lambda: time.monotonic() - t0 > 0.5, 5)
        assert t.is_alive(), "agentlog read all input although the receiver is down"
        p.send_signal(signal.SIGTERM)
        t_sig = time.monotonic()
        stderr = p.stderr.read()
        p.wait(timeout=DEADLINE_S)
        assert time.monotonic() - t_sig < 10, "shutdown took longer than the grace period allows"
        assert p.returncode == 1, (p.returncode, stderr)
        st = json.load(open(stats))
        dead = [json.loads(x) for x in open(os.path.join(d, "dead.jsonl"), "rb").read().splitlines()]
        # Every record read is a dead letter: each complete line was handed to the output
        # and is dead-lettered as undelivered, in order...
        undelivered = [x for x in dead if x["stage"] == "output:syslog"]
        n = len(undelivered)
        assert st["records_out"] == n == st["output_dead_lettered"] > 0, st
        assert [x["raw"].encode() for x in undelivered] == recs[:n]
        assert [x["line"] for x in undelivered] == list(range(1, n + 1))
        assert st["interrupted"] is True and st["outputs"][0]["undelivered"] == n, st
        # ...and the partial line at the end of what was read when SIGTERM came (streaming
        # input: the rest is still in the pipe) is dead-lettered by the input, so nothing
        # read is lost. It is absent only when the last read ended exactly on a newline.
        partial = [x for x in dead if x["stage"] == "input"]
        assert len(dead) == st["records_in"] == n + len(partial) and len(partial) <= 1, st
        assert st["dead_lettered"] == len(partial), st
        read = sum(len(r) + 1 for r in recs[:n])
        if partial:
            raw = partial[0]["raw"].encode()
            assert partial[0]["line"] == n + 1 and partial[0]["reason"].startswith("malformed JSON"), partial
            assert recs[n].startswith(raw) and len(raw) < len(recs[n]), partial
            assert st["dead_letter_reasons"] == {"input.malformed_json": 1, "output:syslog.undelivered": n}, st
            read += len(raw)
        else:
            assert st["dead_letter_reasons"] == {"output:syslog.undelivered": n}, st
        assert st["bytes_read"] == read, st
    finally:
        if p.poll() is None:
            p.kill()
        try:
            p.stdin.close()
        except Exception:
            pass


def check_example_configs_rsyslog(d):
    """configs/rsyslog/ runs as documented: rsyslog.conf verbatim, agentlog.yaml over a sample."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    port = free_port()
    env = dict(os.environ, AGENTLOG_RSYSLOG_DIR=d, AGENTLOG_SYSLOG_PORT=str(port),
               AGENTLOG_DEAD_LETTER=os.path.join(d, "dead.jsonl"))
    proc = subprocess.Popen([RSYSLOGD, "-n", "-f", os.path.join(repo, "configs/rsyslog/rsyslog.conf"),
                             "-i", os.path.join(d, "rsyslogd.pid")], env=env,
                            stdout=open(os.path.join(d, "rsyslogd.out"), "wb"), stderr=subprocess.STDOUT)

    def listening():
        assert proc.poll() is None, open(os.path.join(d, "rsyslogd.out")).read()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    try:
        wait_until("rsyslogd to listen", listening)
        stats = os.path.join(d, "stats.json")
        p = subprocess.run([BIN, "run", "-c", os.path.join(repo, "configs/rsyslog/agentlog.yaml"), "--stats-json",
                            stats, os.path.join(repo, "samples/multi_agent_session.jsonl")],
                           env=env, capture_output=True, timeout=DEADLINE_S, cwd=d)
        assert p.returncode == 0, p.stderr
        st = json.load(open(stats))
        n = st["records_out"]
        assert n > 10 and st["outputs"][0]["sent"] == n, st
        act = os.path.join(d, "activity.jsonl")
        wait_until("activity.jsonl", lambda: os.path.exists(act) and open(act, "rb").read().count(b"\n") >= n)
        recs = [json.loads(x) for x in open(act, "rb").read().splitlines()]
        assert len(recs) == n, (len(recs), n)
        blocked = [r for r in recs if r.get("decision") == "block"]
        assert blocked, "the sample has blocked records"
        bl = os.path.join(d, "blocked.jsonl")
        wait_until("blocked.jsonl", lambda: os.path.exists(bl) and open(bl, "rb").read().count(b"\n") >= len(blocked))
        assert [json.loads(x) for x in open(bl, "rb").read().splitlines()] == blocked
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=DEADLINE_S)


CHECKS = [v for k, v in list(globals().items()) if k.startswith("check_")]


def main():
    only = sys.argv[2:]
    failed = 0
    for fn in CHECKS:
        name = fn.__name__[len("check_"):]
        if only and name not in only:
            continue
        d = os.path.join(TMP, name)
        os.makedirs(d)
        t0 = time.monotonic()
        try:
            fn(d)
            print(f"ok - {name} ({time.monotonic() - t0:.1f}s)")
        except Exception:
            failed += 1
            print(f"not ok - {name}\n" + traceback.format_exc())
    print(f"{len(CHECKS) - failed if not only else len(only) - failed} passed, {failed} failed")
    if failed == 0:
        shutil.rmtree(TMP, ignore_errors=True)
    else:
        print("kept for inspection: " + TMP)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""End-to-end tests of the `nats` output and input against real nats-server processes.

    python3 tests/nats/run_nats_tests.py /path/to/agentlog [--records N] [--only NAME]

NAME is a check below, or bench-r1 / bench-r3 (records/s end to end; not run otherwise).

Each check starts its own nats-server(s) with JetStream on loopback, private ports and store
directories under a temporary directory, and stops them by process id. An edge agentlog
publishes gen_activity records (with faults) into a 4-partition stream; two workers (nats
input, partitions [0,1] and [2,3]) write files. In r3-edge-disconnect the edge publishes through
a TCP proxy (tcp_proxy.py) that is killed for 5 s mid-run; in r3-worker-reconnects worker 1 reaches
the cluster through such a proxy, cut 6 times while its pipeline holds fetched messages. Asserted: every input line is either written
by exactly one worker or dead-lettered at the edge (duplicates only after a kill, counted),
every run_id is written by one worker only, and the accounting of each process holds.
Output is awaited by polling with deadlines, never by sleeping a fixed time. fetch-pending runs
nats_fetch_pending_test (built beside agentlog) against one server: the input's pull fetch with
messages already queued in its subscription (libnats 3.4.1 overflows its array there, issue 22).

Exits 77 (ctest: skipped) only when nats-server is not installed; 1 when a check fails.
"""
import collections
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

DEADLINE_S = 120
args = sys.argv[1:]
if not args:
    print(__doc__)
    sys.exit(2)
BIN = os.path.abspath(args[0])
GEN = os.path.join(os.path.dirname(BIN), "gen_activity")
RECORDS = int(args[args.index("--records") + 1]) if "--records" in args else 20000
ONLY = args[args.index("--only") + 1] if "--only" in args else None
# Waits on work that grows with the records (publishing, writing, dumping): a million records
# through the R3 cluster take about 45 s on a quiet 2-core machine, several times that under load.
RUN_DEADLINE_S = DEADLINE_S + RECORDS // 2000
NATS = shutil.which("nats-server") or ("/usr/sbin/nats-server" if os.path.exists("/usr/sbin/nats-server") else None)
if NATS is None:
    print("SKIP: nats-server is not installed (apt-get install nats-server; scripts/setup.sh installs it)")
    sys.exit(77)
FETCH_TEST = os.path.join(os.path.dirname(BIN), "nats_fetch_pending_test")
PROXY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tcp_proxy.py")
OUTAGE_S = 5
TMP = tempfile.mkdtemp(prefix="agentlog-nats.")
PROCS = []


HANDED_OUT = set()


def free_port():
    # A port free now and not handed out before by this script: the kernel can give one
    # ephemeral port to two probes in a row, and two servers given it collide (seen in CI: two
    # nodes' monitoring ports, "can't listen to the monitor port: address already in use").
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in HANDED_OUT:
            HANDED_OUT.add(port)
            return port


def wait_for(what, cond, deadline_s=DEADLINE_S):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)  # polling interval, not a wait for output
    raise AssertionError("timed out waiting for " + what)


class Server:
    def __init__(self, name, cluster=None):
        self.name, self.port, self.dir = name, free_port(), os.path.join(TMP, name)
        os.makedirs(self.dir, exist_ok=True)
        self.cluster_port = free_port() if cluster is not None else None
        self.http_port = free_port()  # monitoring (/jsz): where the stream's and durables' leaders sit
        self.proc = None

    def config(self, peers):
        c = 'server_name: %s\nlisten: 127.0.0.1:%d\nhttp: 127.0.0.1:%d\njetstream { store_dir: "%s" }\n' % (
            self.name, self.port, self.http_port, os.path.join(self.dir, "store"))
        if self.cluster_port:
            routes = ", ".join("nats-route://127.0.0.1:%d" % p.cluster_port for p in peers if p is not self)
            # no_advertise: clients know only the URLs they were given, so an edge cut off from
            # its one URL (r3-edge-disconnect) cannot reconnect to another node behind the test's back.
            c += "cluster { name: agentlog_test, listen: 127.0.0.1:%d, routes: [%s], no_advertise: true }\n" % (
                self.cluster_port, routes)
        return c

    def start(self, peers=()):
        path = os.path.join(self.dir, "server.conf")
        with open(path, "w") as f:
            f.write(self.config(peers))
        self.log = os.path.join(self.dir, "server.log")
        open(self.log, "a").close()
        self.proc = subprocess.Popen([NATS, "-c", path, "-l", self.log])
        PROCS.append(self.proc)

    def ready(self):
        with open(self.log) as f:
            return "Server is ready" in f.read()

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)
        # a restart must see the log afresh
        os.rename(self.log, self.log + ".%d" % time.monotonic_ns())

    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    def streams(self, consumers=False):
        # The streams this node hosts (its /jsz), with their durables when asked.
        query = "streams=true" + ("&consumers=true" if consumers else "")
        with urllib.request.urlopen("http://127.0.0.1:%d/jsz?%s" % (self.http_port, query), timeout=10) as r:
            jsz = json.load(r)
        return [st for account in jsz.get("account_details") or [] for st in account.get("stream_detail") or []]

    def stream_messages(self):
        # Messages the stream AGENTLOG holds on this node.
        for st in self.streams():
            if st["name"] == "AGENTLOG":
                return st["state"]["messages"]
        return 0

    def leaders(self):
        # {stream or durable name: leader} for what this node hosts.
        out = {}
        for st in self.streams(consumers=True):
            out[st["name"]] = (st.get("cluster") or {}).get("leader")
            for c in st.get("consumer_detail") or []:
                out[c["name"]] = (c.get("cluster") or {}).get("leader")
        return out


def yaml_list(items):
    return "[" + ", ".join(items) + "]"


def edge_config(servers, replicas, path):
    cfg = """pipeline:
  outputs:
    - type: nats
      servers: %s
      partitions: 4
      create_stream: true
      replicas: %d
      max_pending: 2048
      ack_timeout_ms: 2000
      reconnect_initial_ms: 20
      reconnect_max_ms: 500
  dead_letter:
    type: file
    path: %s
""" % (yaml_list(servers), replicas, path)
    return cfg


def worker_config(servers, parts, out, dl, durable="worker", randomize=True):
    return """pipeline:
  inputs:
    - type: nats
      servers: %s
      randomize_servers: %s
      partitions: %s
      durable: %s
      ack_wait_ms: 3000
      reconnect_initial_ms: 20
      reconnect_max_ms: 500
  outputs:
    - type: file
      path: %s
  dead_letter:
    type: file
    path: %s
""" % (yaml_list(servers), "true" if randomize else "false", yaml_list(str(p) for p in parts), durable, out, dl)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def lines_of(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        return [l for l in f.read().split("\n") if l]


COUNTED = {}  # path -> (bytes read, lines counted): polls read only what was appended


def count_lines(path):
    if not os.path.exists(path):
        return 0
    offset, count = COUNTED.get(path, (0, 0))
    if os.path.getsize(path) < offset:  # rewritten
        offset, count = 0, 0
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    COUNTED[path] = (offset + len(data), count + data.count(b"\n"))
    return COUNTED[path][1]


class Worker:
    def __init__(self, d, name, servers, parts, durable="worker", randomize=True):
        self.name = name
        self.out, self.dl = os.path.join(d, name + ".out.jsonl"), os.path.join(d, name + ".dl.jsonl")
        self.cfg = write(os.path.join(d, name + ".yaml"),
                         worker_config(servers, parts, self.out, self.dl, durable, randomize))
        self.stats, self.runs, self.proc = os.path.join(d, name + ".stats"), 0, None

    def start(self):
        self.runs += 1
        # Each run's stderr (warnings, and a crash's last words) kept beside its stats; printed
        # when a check fails.
        with open("%s.%d.err" % (self.stats, self.runs), "w") as err:
            self.proc = subprocess.Popen([BIN, "run", "-q", "-c", self.cfg, "--stats-json",
                                          "%s.%d.json" % (self.stats, self.runs)], stderr=err)
        PROCS.append(self.proc)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(60)
        assert rc == 0, "worker exited %d" % rc

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)


def run_edge(d, servers, replicas, inp, extra_env=None):
    dl = os.path.join(d, "edge.dl.jsonl")
    cfg = write(os.path.join(d, "edge.yaml"), edge_config(servers, replicas, dl))
    stats = os.path.join(d, "edge.stats.json")
    p = subprocess.run([BIN, "run", "-q", "-c", cfg, "--stats-json", stats, inp], capture_output=True, text=True)
    assert p.returncode == 0, "edge exited %d: %s" % (p.returncode, p.stderr)
    with open(stats) as f:
        s = json.load(f)
    return s, dl


def wait_stream_ready(d, servers, replicas):
    # A fresh cluster elects its JetStream meta leader after "ready": create the stream by
    # running the edge over no records until it succeeds (polling with a deadline).
    empty = write(os.path.join(d, "empty.jsonl"), "")
    cfg = write(os.path.join(d, "probe.yaml"), edge_config(servers, replicas, os.path.join(d, "probe.dl")))
    last = []

    def created():
        p = subprocess.run([BIN, "run", "-q", "-c", cfg, empty], capture_output=True, text=True)
        last[:] = [p.stderr]
        return p.returncode == 0
    try:
        wait_for("the stream to be created", created, 60)
    except AssertionError:
        raise AssertionError("stream not created; last error: " + (last[0] if last else ""))


def describe_missing(inp, edge_dl, workers):
    # Which records the workers never wrote (a stall or a loss): their input lines and runs.
    # Every line the edge dead-lettered (at its input, or unacked at its output) is not missing.
    dead_lines = {json.loads(l)["line"] for l in lines_of(edge_dl)}
    written = set()
    for w in workers:
        if os.path.exists(w.out):
            with open(w.out, "rb") as f:
                written.update(f.read().split(b"\n")[:-1])
    missing = []
    with open(inp, "rb") as f:
        for no, line in enumerate(f.read().split(b"\n")[:-1], 1):
            if no not in dead_lines and line.strip() and line not in written:
                missing.append((no, json.loads(line).get("run_id")))
    return "%d distinct records written, %d never written (input lines %s, runs %s)" % (
        len(written), len(missing), [no for no, _ in missing[:20]], sorted({r for _, r in missing})[:10])


def check_delivery(inp, edge_stats, edge_dl, workers, allow_duplicates):
    # The edge has no stages: what it keeps is every input line it did not dead-letter (the
    # dead letters name their lines), byte for byte.
    dead_lines = {json.loads(l)["line"] for l in lines_of(edge_dl) if json.loads(l)["stage"] == "input"}
    expected = collections.Counter()
    with open(inp, "rb") as f:
        for no, line in enumerate(f.read().split(b"\n")[:-1], 1):
            if no not in dead_lines and line.strip():
                expected[line] += 1
    dead = len(lines_of(edge_dl))
    assert edge_stats["records_in"] == edge_stats["records_out"] + edge_stats["dead_lettered"], edge_stats
    assert edge_stats["records_out"] == sum(expected.values()), (edge_stats["records_out"], sum(expected.values()))
    assert dead == edge_stats["dead_lettered"] + edge_stats["output_dead_lettered"], dead
    out = edge_stats["outputs"][0]
    assert out["acked"] >= edge_stats["records_out"] - edge_stats["output_dead_lettered"], out
    got = collections.Counter()
    owner = {}
    for w in workers:
        with open(w.out, "rb") as f:
            written = f.read().split(b"\n")[:-1]
        for line in written:
            got[line] += 1
            run = json.loads(line).get("run_id")
            assert owner.setdefault(run, w.out) == w.out, "run %s written by two workers" % run
    missing = expected - got
    extra = got - expected
    assert not missing, "%d records lost, e.g. %s" % (sum(missing.values()), next(iter(missing))[:200].decode(errors="replace"))
    # Every extra copy is a duplicate of an expected record (never a record nobody sent).
    assert all(k in expected for k in extra), "unexpected records written"
    dups = sum(extra.values())
    if not allow_duplicates:
        assert dups == 0, "%d duplicates without any fault" % dups
    for w in workers:
        assert len(lines_of(w.dl)) == 0, "worker dead letters: %s" % lines_of(w.dl)[:3]
    return sum(got.values()), dups


CHECK_CONFIG = """pipeline:
  stages:
    - type: validate
      schema: auto
    - type: collision
      scope_fields: [run_id]   # the edge partitions by run_id: a reuse across runs is in two checks
    - type: lifecycle
      name: lifecycle-activity
      profile: agent-activity
    - type: lifecycle
      name: lifecycle-actions
      profile: action-event
"""


def by_run(lines):
    runs = collections.defaultdict(list)
    for line in lines:
        runs[json.loads(line).get("run_id")].append(line)
    return runs


def dump_stream(d, urls, total):
    # Every record the stream holds, each partition in stream order: a fresh durable over all
    # partitions, stopped once it has written them all.
    reader = Worker(d, "stream", urls, [0, 1, 2, 3], durable="stream-dump")
    reader.start()
    wait_for("the stream dump to hold %d records" % total, lambda: count_lines(reader.out) >= total,
             RUN_DEADLINE_S)
    reader.stop()
    with open(reader.out, "rb") as f:
        return f.read().split(b"\n")[:-1]


def unique_lines(path):
    seen, unique = set(), []
    with open(path, "rb") as f:
        for line in f.read().split(b"\n")[:-1]:
            if line not in seen:
                seen.add(line)
                unique.append(line)
    return unique


def check_merged_equals_single(d, inp, edge_dl, workers, stream, resent):
    # Each worker checks what it wrote (duplicates from a redelivery removed, as downstream
    # would by event_id), the reports are merged, and the merged verdict and figures must be
    # those of one check over the same records: the records the edge published, in its order,
    # or (when the edge resent records after a fault, which JetStream then stores after newer
    # ones) in the order the stream holds them. Each run must come out of the workers in the
    # order the stream holds it, duplicates aside (a worker killed mid-run resumes in order).
    cfg = write(os.path.join(d, "check.yaml"), CHECK_CONFIG)
    dead_lines = {json.loads(l)["line"] for l in lines_of(edge_dl) if json.loads(l)["stage"] == "input"}
    with open(inp, "rb") as f:
        kept = [l for no, l in enumerate(f.read().split(b"\n")[:-1], 1) if no not in dead_lines and l.strip()]
    stream_runs, kept_runs = by_run(stream), by_run(kept)
    assert sorted(stream) == sorted(kept), "the stream does not hold exactly the published records"
    reordered = sum(1 for run in kept_runs if kept_runs[run] != stream_runs[run])
    if not resent:
        assert reordered == 0, "%d runs are in another order in the stream than in the input" % reordered
    whole_in = os.path.join(d, "published.jsonl")
    with open(whole_in, "wb") as f:
        f.write(b"".join(l + b"\n" for l in (stream if resent else kept)))

    def check(report, files):
        p = subprocess.run([BIN, "check", "-q", "-c", cfg, "--report", "json=" + report] + files,
                           capture_output=True, text=True)
        assert p.returncode in (0, 1), "check %s exited %d: %s" % (report, p.returncode, p.stderr)
        return p.returncode
    whole_rc = check(os.path.join(d, "whole.json"), [whole_in])
    reports = []
    for w in workers:
        unique = unique_lines(w.out)
        for run, lines in by_run(unique).items():
            assert lines == stream_runs[run], "%s wrote run %s in another order than the stream holds it" % (w.name, run)
        part = w.out + ".unique"
        with open(part, "wb") as f:
            f.write(b"".join(l + b"\n" for l in unique))
        reports.append(w.out + ".check.json")
        check(reports[-1], [part])
    merged = os.path.join(d, "merged.json")
    p = subprocess.run([BIN, "check", "--merge", "-c", cfg, "--report", "json=" + merged] + reports,
                       capture_output=True, text=True)
    assert p.returncode == whole_rc, "merged check exited %d, the single check %d: %s" % (p.returncode, whole_rc, p.stderr)

    def comparable(path):
        with open(path) as f:
            r = json.load(f)
        for rule in r["rules"]:
            rule.pop("examples", None)
            # "... kept from 1 input" (the single check) or "from 2 inputs" (the workers').
            rule["detail"] = re.sub(r" from \d+ inputs?$", "", rule.get("detail", ""))
        r["collisions"].pop("examples", None)
        r["runs"]["list"].sort(key=lambda x: x["id"])
        # Inputs are named after each check's own files; everything else must be equal.
        return {k: v for k, v in r.items() if k not in ("merge", "inputs", "config", "pipeline")}
    whole, got = comparable(os.path.join(d, "whole.json")), comparable(merged)
    for key in whole:
        assert got.get(key) == whole[key], "merged check: %s differs:\n merged %s\n single %s" % (
            key, json.dumps(got.get(key))[:600], json.dumps(whole[key])[:600])
    return whole, reordered


def workers_done(workers, total):
    # Distinct lines: after a kill, redelivered duplicates must not count as progress. The
    # files only grow: each poll reads what was appended since the last one.
    seen, read = set(), {}

    def done():
        for w in workers:
            if w.proc.poll() is not None:  # a worker never ends by itself: it crashed
                raise AssertionError("%s exited %d while the workers were writing" % (w.name, w.proc.returncode))
            if not os.path.exists(w.out):
                continue
            offset, rest = read.get(w.out, (0, b""))
            with open(w.out, "rb") as f:
                f.seek(offset)
                data = f.read()
            lines = (rest + data).split(b"\n")
            seen.update(l for l in lines[:-1] if l)
            read[w.out] = (offset + len(data), lines[-1])
        return len(seen) >= total
    return done


def start_proxy(port, server_port):
    # tcp_proxy.py from `port` on loopback to a server's port, once it listens.
    p = subprocess.Popen([sys.executable, PROXY, str(port), str(server_port)], stdout=subprocess.PIPE, text=True)
    PROCS.append(p)
    assert p.stdout.readline().strip() == "ready", "the proxy did not start"
    return p


def start_servers(name, nodes):
    # `nodes` servers (a cluster when more than one), each ready; returns them and their URLs.
    servers = [Server("%s-n%d" % (name, i), cluster=True if nodes > 1 else None) for i in range(nodes)]
    for server in servers:
        server.start(servers)
    for server in servers:
        wait_for(server.name + " to be ready", server.ready)
    return servers, [server.url() for server in servers]


def start_cluster(d, name, nodes, replicas, pin_last=False):
    # The servers (a cluster when nodes > 1), the stream, and two running workers that take
    # partitions [0, 1] and [2, 3], given every server's URL. `pin_last`: worker 1 connects
    # to the last server first (the one a faults run stops), so it loses its own server.
    servers, urls = start_servers(name, nodes)
    wait_stream_ready(d, urls, replicas)
    workers = [Worker(d, "w0", urls, [0, 1]),
               Worker(d, "w1", urls[-1:] + urls[:-1] if pin_last else urls, [2, 3], randomize=not pin_last)]
    for w in workers:
        w.start()
    return servers, urls, workers


def scenario(name, nodes, replicas, faults):
    d = os.path.join(TMP, name)
    os.makedirs(d)
    inp = os.path.join(d, "input.jsonl")
    subprocess.run([GEN, "--lines", str(RECORDS), "--faults", "--out", inp], check=True, capture_output=True)
    # With faults worker 1 is connected to the node that stops: it loses the acks and the
    # batches in flight with it, reconnects to another node and resyncs its partitions (the
    # redeliveries of what it took are skipped, the rest comes again in stream order).
    servers, urls, workers = start_cluster(d, name, nodes, replicas, pin_last=faults)
    expected_total = None
    if faults:
        # Stop one server node while the edge publishes; bring it back once it has published.
        edge = subprocess.Popen([BIN, "run", "-q", "-c", write(os.path.join(d, "edge.yaml"), edge_config(
            urls, replicas, os.path.join(d, "edge.dl.jsonl"))), "--stats-json", os.path.join(d, "edge.stats.json"), inp],
            stderr=subprocess.PIPE, text=True)
        PROCS.append(edge)
        # Worker 1 well into its partitions, so that its server's stop cuts acks and batches
        # in flight (not before its first ack).
        wait_for("the workers to write", lambda: count_lines(workers[0].out) > 0 and
                 count_lines(workers[1].out) >= RECORDS // 20, RUN_DEADLINE_S)
        # kill -9 mid-batch (before the node's stop, which gives the worker time to ack
        # everything it fetched): its unacked messages are delivered again.
        workers[0].kill()
        servers[-1].stop()
        workers[0].start()
        servers[-1].start(servers)
        wait_for("the stopped node to come back", servers[-1].ready)
        _, err = edge.communicate(timeout=RUN_DEADLINE_S)
        assert edge.returncode == 0, "edge exited %d: %s" % (edge.returncode, err)
        with open(os.path.join(d, "edge.stats.json")) as f:
            edge_stats = json.load(f)
        edge_dl = os.path.join(d, "edge.dl.jsonl")
    else:
        edge_stats, edge_dl = run_edge(d, urls, replicas, inp)
    expected_total = edge_stats["records_out"] - edge_stats["output_dead_lettered"]
    try:
        wait_for("the workers to write %d records" % expected_total, workers_done(workers, expected_total),
                 RUN_DEADLINE_S)
    except AssertionError as e:
        raise AssertionError("%s: %s" % (e, describe_missing(inp, edge_dl, workers)))
    if nodes > 1 and not faults:
        # Every durable the workers read sits on the stream leader's node (leader_on_stream_leader:
        # nats-server 2.9 can deliver past messages from a node still catching up), as every
        # node sees it (a node's view lags a step-down by a moment: polled until they agree).
        views = []

        def seated():
            views[:] = [server.leaders() for server in servers]
            names = {k for view in views for k in view if k == "AGENTLOG" or k.startswith("worker-")}
            agreed = {k: {view.get(k) for view in views} for k in names}
            if len(names) != 5 or any(len(v) != 1 or None in v for v in agreed.values()):
                return False
            return all(agreed[k] == agreed["AGENTLOG"] for k in names)
        try:
            wait_for("every worker durable's leader on the stream leader's node", seated, 30)
        except AssertionError as e:
            raise AssertionError("%s: %s" % (e, views))
    for w in workers:
        w.stop()
    written, dups = check_delivery(inp, edge_stats, edge_dl, workers, allow_duplicates=faults)
    stream = dump_stream(d, urls, expected_total)
    resent = edge_stats["outputs"][0]["resent"] > 0
    merged, reordered = check_merged_equals_single(d, inp, edge_dl, workers, stream, resent)
    # The workers' own accounting, and the input acks of their last runs.
    for w in workers:
        with open("%s.%d.json" % (w.stats, w.runs)) as f:
            s = json.load(f)
        assert s["records_in"] == s["records_out"] + s["dead_lettered"], s
        inp_stats = s["inputs"][0]
        assert inp_stats["acked"] == s["records_in"] + inp_stats["duplicates_skipped"], s["inputs"]
        assert inp_stats["late"] == 0, inp_stats  # nothing written out of order
        if not faults:
            assert inp_stats["resyncs"] == 0 and inp_stats["duplicates_skipped"] == 0, inp_stats
    if faults:
        # The restarted worker found what the killed one had fetched and not acked, and
        # recreated the durable from its ack floor (the merged check above relies on the order).
        # A kill between a batch's ack and the next fetch leaves nothing to resume.
        with open("%s.%d.json" % (workers[0].stats, workers[0].runs)) as f:
            restarted = json.load(f)["inputs"][0]
        if restarted["unacked_at_start"] > 0:
            assert restarted["resumed_from_ack_floor"] >= 1, restarted
        print("    the restarted worker found %d messages unacked and recreated %d durables from the ack floor" % (
            restarted["unacked_at_start"], restarted["resumed_from_ack_floor"]))
        with open("%s.%d.json" % (workers[1].stats, workers[1].runs)) as f:
            pinned = json.load(f)["inputs"][0]
        # Worker 1's server stopped under it: it reconnected elsewhere and resynced.
        assert pinned["reconnects"] >= 1 and pinned["resyncs"] >= 1, pinned
        print("    the worker whose server stopped reconnected %d times, resynced %d times, skipped %d redeliveries" % (
            pinned["reconnects"], pinned["resyncs"], pinned["duplicates_skipped"]))
        # Durables whose leader sat elsewhere than the stream leader (a node back from its stop
        # may still be catching up): asked to step down (Durables::seat_leader).
        print("    consumer leaders moved to the stream leader's node: %d by the restarted worker, %d by the other" % (
            restarted["leader_moves"], pinned["leader_moves"]))
    for s in servers:
        s.stop()
    print("ok  %s: %d records in, %d written by 2 workers, %d dead-lettered at the edge, %d duplicates, %d resent "
          "by the edge (%d runs stored in another order); merged check = single check: verdict %s, %d collisions, "
          "%d lifecycle violations" % (
              name, edge_stats["records_in"], written, edge_stats["dead_lettered"], dups,
              edge_stats["outputs"][0]["resent"], reordered, merged["verdict"], merged["collisions"]["total"],
              sum(merged["lifecycles"]["violations"].values())))


def edge_unacked(name):
    # The edge's server stops answering (SIGSTOP) with records in flight, and the edge is
    # stopped (SIGTERM): the records the library still holds unacked are taken back from it
    # (js_PublishAsyncGetPendingList, with their bytes and ids) and dead-lettered, as are those
    # waiting to be published; every line the edge read is acked in the stream or
    # dead-lettered (both when the server stored what it never acked).
    d = os.path.join(TMP, name)
    os.makedirs(d)
    inp = os.path.join(d, "input.jsonl")
    # Enough that the edge is still publishing at the stop, whatever --records says.
    subprocess.run([GEN, "--lines", "200000", "--clean", "--out", inp], check=True, capture_output=True)
    servers, urls = start_servers(name, 1)
    server = servers[0]
    wait_stream_ready(d, urls, 1)
    dl = os.path.join(d, "edge.dl.jsonl")
    # No ack timeout before the grace period ends: the unacked stay with the library.
    cfg = write(os.path.join(d, "edge.yaml"), edge_config(urls, 1, dl).replace(
        "ack_timeout_ms: 2000", "ack_timeout_ms: 600000\n      shutdown_grace_ms: 1000"))
    stats = os.path.join(d, "edge.stats.json")
    edge = subprocess.Popen([BIN, "run", "-q", "-c", cfg, "--stats-json", stats, inp], stderr=subprocess.PIPE,
                            text=True)
    PROCS.append(edge)
    wait_for("the stream to hold records", lambda: server.stream_messages() > 0)
    server.proc.send_signal(signal.SIGSTOP)
    try:
        edge.send_signal(signal.SIGTERM)
        # The drain parks what it cannot publish (one stalled wait, not one per record), then
        # close() gives it shutdown_grace_ms: seconds, not minutes (it once took over 120 s).
        _, err = edge.communicate(timeout=60)
    finally:
        server.proc.send_signal(signal.SIGCONT)
    assert edge.returncode == 1, "edge exited %d: %s" % (edge.returncode, err)
    with open(stats) as f:
        edge_stats = json.load(f)
    dead = [json.loads(l) for l in lines_of(dl)]
    m = re.search(r"(\d+) records not acked within shutdown_grace_ms \(dead-lettered\)", err)
    assert m and int(m.group(1)) == len(dead) > 0, (err, len(dead))
    assert all(x["stage"] == "output:nats" and x["line"] >= 1 for x in dead), dead[:3]
    assert edge_stats["dead_letter_reasons"] == {"output:nats.unacked": len(dead)}, edge_stats["dead_letter_reasons"]
    out = edge_stats["outputs"][0]
    assert out["undelivered"] == len(dead) and out["acked"] + len(dead) == edge_stats["records_out"], out
    # Every line read is acked (so stored) or dead-lettered with its own bytes and line number.
    with open(inp, "rb") as f:
        lines = f.read().split(b"\n")[:-1]
    read = edge_stats["lines_read"]
    assert 0 < read <= len(lines) and edge_stats["records_in"] == read, edge_stats
    by_line = {x["line"]: x["raw"].encode() for x in dead}
    assert all(lines[no - 1] == raw for no, raw in by_line.items()), "a dead letter's bytes are not its line's"
    needed = {lines[i] for i in range(read) if i + 1 not in by_line}
    reader = Worker(d, "stream", urls, [0, 1, 2, 3], durable="stream-dump")
    reader.start()
    wait_for("the stream to hold every acked record", lambda: count_lines(reader.out) >= len(needed) and
             needed <= set(unique_lines(reader.out)), RUN_DEADLINE_S)
    reader.stop()
    server.stop()
    print("ok  %s: %d lines read before the stop, %d acked, %d dead-lettered as unacked (at least %d of them stored anyway)" % (
        name, read, out["acked"], len(dead), len(set(unique_lines(reader.out))) - len(needed)))


def edge_disconnect(name, nodes):
    # The 3-node cluster (R3); the edge reaches it through a TCP proxy to one node. Once the workers wrote records of
    # the first half, the proxy is killed: the edge loses its connection while the second
    # half is fed to it, for OUTAGE_S seconds, then the proxy comes back on the same port.
    d = os.path.join(TMP, name)
    os.makedirs(d)
    inp = os.path.join(d, "input.jsonl")
    subprocess.run([GEN, "--lines", str(RECORDS), "--faults", "--out", inp], check=True, capture_output=True)
    servers, _, workers = start_cluster(d, name, nodes, nodes)
    server = servers[0]  # the edge reaches the cluster through this node only
    proxy_port = free_port()

    proxy = start_proxy(proxy_port, server.port)
    with open(inp, "rb") as f:
        data = f.read()
    half = data.index(b"\n", len(data) // 2) + 1
    edge_dl = os.path.join(d, "edge.dl.jsonl")
    stats = os.path.join(d, "edge.stats.json")
    cfg = write(os.path.join(d, "edge.yaml"), edge_config(["nats://127.0.0.1:%d" % proxy_port], nodes, edge_dl))
    edge = subprocess.Popen([BIN, "run", "-q", "-c", cfg, "--stats-json", stats, "-"], stdin=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    PROCS.append(edge)
    edge.stdin.write(data[:half])
    edge.stdin.flush()
    wait_for("the workers to write", lambda: sum(count_lines(w.out) for w in workers) > 0)
    proxy.kill()
    proxy.wait()
    # The edge stops reading when its window is full: feed it from a thread.
    feeder = threading.Thread(target=lambda: (edge.stdin.write(data[half:]), edge.stdin.close()))
    feeder.start()
    time.sleep(OUTAGE_S)  # holds the outage; nothing waits for output here
    proxy = start_proxy(proxy_port, server.port)
    feeder.join(RUN_DEADLINE_S)
    assert not feeder.is_alive(), "the edge stopped reading its input"
    edge.stdin = None  # closed by the feeder
    _, err = edge.communicate(timeout=RUN_DEADLINE_S)
    assert edge.returncode == 0, "edge exited %d: %s" % (edge.returncode, err.decode(errors="replace"))
    with open(stats) as f:
        edge_stats = json.load(f)
    assert edge_stats["outputs"][0]["reconnects"] >= 1, "the edge never lost its connection: %s" % edge_stats["outputs"][0]
    expected_total = edge_stats["records_out"] - edge_stats["output_dead_lettered"]
    try:
        wait_for("the workers to write %d records" % expected_total, workers_done(workers, expected_total),
                 RUN_DEADLINE_S)
    except AssertionError as e:
        raise AssertionError("%s: %s" % (e, describe_missing(inp, edge_dl, workers)))
    for w in workers:
        w.stop()
    written, dups = check_delivery(inp, edge_stats, edge_dl, workers, allow_duplicates=True)
    for node in servers:
        node.stop()
    proxy.kill()
    print("ok  %s: %d records in, %d written by 2 workers, %d dead-lettered at the edge, %d duplicates, %d reconnects" % (
        name, edge_stats["records_in"], written, edge_stats["dead_lettered"], dups, edge_stats["outputs"][0]["reconnects"]))


def worker_reconnects(name, nodes):
    # A resync while the pipeline holds messages, again and again: the edge publishes every
    # record first, then worker 1 (partitions [2, 3]) reaches one node only through a TCP
    # proxy that is killed and restarted CUTS times while it works through the backlog. Each
    # cut is a reconnect with fetched messages queued, others written and not acked, and a
    # fetch in flight: the worker drops what it has not read, retires the subscription and
    # recreates both durables after its last ack (issue 22: a worker once aborted with
    # "double free or corruption"). Asserted: it survives every cut and exits cleanly, every
    # record is written once (redeliveries of what it read are skipped), each run in stream
    # order, and it resynced after the cuts.
    cuts = 6
    d = os.path.join(TMP, name)
    os.makedirs(d)
    inp = os.path.join(d, "input.jsonl")
    subprocess.run([GEN, "--lines", str(RECORDS), "--faults", "--out", inp], check=True, capture_output=True)
    servers, urls = start_servers(name, nodes)
    wait_stream_ready(d, urls, nodes)
    edge_stats, edge_dl = run_edge(d, urls, nodes, inp)  # the whole backlog before any worker
    expected_total = edge_stats["records_out"] - edge_stats["output_dead_lettered"]
    proxy_port = free_port()

    proxy = start_proxy(proxy_port, servers[-1].port)
    workers = [Worker(d, "w0", urls, [0, 1]),
               Worker(d, "w1", ["nats://127.0.0.1:%d" % proxy_port], [2, 3], randomize=False)]
    # Worker 1 writes into a FIFO drained slowly (about 1 MB/s) into its output file: its
    # pipeline waits on the write while its fetch threads fill the queue (up to
    # max_ack_pending per partition), so a cut finds fetched messages queued and unread.
    w1 = workers[1]
    fifo = w1.out + ".fifo"
    os.mkfifo(fifo)
    w1.cfg = write(w1.cfg, worker_config(["nats://127.0.0.1:%d" % proxy_port], [2, 3], fifo, w1.dl, "worker", False))

    slow = [True]  # until the last cut, then at full speed

    def pump():
        with open(fifo, "rb", buffering=0) as src, open(w1.out, "ab") as dst:
            while True:
                data = src.read(8192)
                if not data:
                    return
                dst.write(data)
                dst.flush()
                if slow[0]:
                    time.sleep(0.008)
    pumper = threading.Thread(target=pump, daemon=True)
    pumper.start()
    for w in workers:
        w.start()
    done = workers_done(workers, expected_total)
    # Worker 1 writes about half of the records: a cut each time it wrote a few more, while it
    # has messages to go (the same few with a million records: the cuts do not grow the run).
    step = max(min(expected_total // 20, 1000), 1)
    made = 0
    for i in range(cuts):
        wait_for("worker 1 to write %d records" % ((i + 1) * step),
                 lambda: done() or count_lines(workers[1].out) >= (i + 1) * step, RUN_DEADLINE_S)
        if done():
            break
        proxy.kill()
        proxy.wait()
        time.sleep(0.2)
        proxy = start_proxy(proxy_port, servers[-1].port)
        made += 1
    slow[0] = False
    wait_for("the workers to write %d records" % expected_total, done, RUN_DEADLINE_S)
    for w in workers:
        w.stop()
    pumper.join(30)
    assert not pumper.is_alive(), "worker 1's FIFO was not closed"
    written, dups = check_delivery(inp, edge_stats, edge_dl, workers, allow_duplicates=False)
    stream = dump_stream(d, urls, expected_total)
    merged, _ = check_merged_equals_single(d, inp, edge_dl, workers, stream, edge_stats["outputs"][0]["resent"] > 0)
    with open("%s.%d.json" % (workers[1].stats, workers[1].runs)) as f:
        pinned = json.load(f)["inputs"][0]
    assert made >= 2, "worker 1 finished before the second cut (%d made): more records needed" % made
    # A cut can land while the client is still reconnecting (one reconnect for two cuts), and
    # a fetch thread waiting for room in the queue resyncs once for the reconnects meanwhile.
    assert pinned["disconnects"] >= made and pinned["reconnects"] >= 1 and pinned["resyncs"] >= 1, (made, pinned)
    assert pinned["late"] == 0, pinned
    for node in servers:
        node.stop()
    proxy.kill()
    # Fetched and never acked nor given back: dropped by a resync (or a lost batch) unread.
    dropped = pinned["fetched"] - pinned["acked"] - pinned["nacked"]
    print("ok  %s: %d records, %d written by 2 workers, %d duplicates; worker 1: %d cuts, %d reconnects, %d resyncs, "
          "%d fetched messages dropped unread, %d redeliveries skipped; merged check = single check (verdict %s)" % (
              name, edge_stats["records_in"], written, dups, made, pinned["reconnects"], pinned["resyncs"], dropped,
              pinned["duplicates_skipped"], merged["verdict"]))


def fetch_pending(name):
    # Issue 22's cause without faults (tests/nats/fetch_pending_test.cc): a fetch that starts
    # with messages queued in its subscription, through the input's fetch_messages(); libnats
    # 3.4.1's own natsSubscription_Fetch overflows its array there (the program's --raw).
    server = Server(name)
    server.start()
    wait_for(server.name + " to be ready", server.ready)
    p = subprocess.run([FETCH_TEST, server.url()], capture_output=True, text=True, timeout=120)
    server.stop()
    assert p.returncode == 0, "fetch_pending_test exited %d: %s%s" % (p.returncode, p.stdout, p.stderr)
    print("ok  %s: %s" % (name, p.stdout.strip()))


def bench(name, nodes, replicas):
    # Records/s end to end: from the edge's start until the two workers have written every
    # record (clean input, no stages, files), beside one process reading the same file into
    # a file. Not a check: run with --only bench-r1 or --only bench-r3.
    d = os.path.join(TMP, name)
    os.makedirs(d)
    inp = os.path.join(d, "input.jsonl")
    subprocess.run([GEN, "--lines", str(RECORDS), "--clean", "--out", inp], check=True, capture_output=True)
    single_cfg = write(os.path.join(d, "single.yaml"), "pipeline:\n  outputs:\n    - type: file\n      path: %s\n"
                       % os.path.join(d, "single.out.jsonl"))
    t = time.monotonic()
    subprocess.run([BIN, "run", "-q", "-c", single_cfg, inp], check=True)
    single_s = time.monotonic() - t
    servers, urls, workers = start_cluster(d, name, nodes, replicas)
    t = time.monotonic()
    edge_stats, _ = run_edge(d, urls, replicas, inp)
    edge_s = time.monotonic() - t
    total = edge_stats["records_out"]
    wait_for("the workers to write %d records" % total, lambda: sum(count_lines(w.out) for w in workers) >= total,
             RUN_DEADLINE_S)
    end_to_end_s = time.monotonic() - t
    for w in workers:
        w.stop()
    for server in servers:
        server.stop()
    print("bench %s: %d records; edge publish %.2f s (%.0f records/s); edge -> JetStream -> 2 workers %.2f s "
          "(%.0f records/s); one process, file to file: %.2f s (%.0f records/s)" % (
              name, total, edge_s, total / edge_s, end_to_end_s, total / end_to_end_s, single_s, total / single_s))


BENCHES = [
    ("bench-r1", lambda: bench("bench-r1", 1, 1)),
    ("bench-r3", lambda: bench("bench-r3", 3, 3)),
]

CHECKS = [
    ("fetch-pending", lambda: fetch_pending("fetch-pending")),
    ("r1-single-server", lambda: scenario("r1-single-server", 1, 1, False)),
    ("r3-cluster", lambda: scenario("r3-cluster", 3, 3, False)),
    ("r3-cluster-faults", lambda: scenario("r3-cluster-faults", 3, 3, True)),
    ("r1-edge-unacked", lambda: edge_unacked("r1-edge-unacked")),
    ("r3-edge-disconnect", lambda: edge_disconnect("r3-edge-disconnect", 3)),
    ("r3-worker-reconnects", lambda: worker_reconnects("r3-worker-reconnects", 3)),
]

failed = 0
try:
    for name, fn in CHECKS + BENCHES:
        if (ONLY and name != ONLY) or (not ONLY and name.startswith("bench")):
            continue
        try:
            fn()
            # 1M records leave several GB per scenario (input, outputs, server stores).
            for entry in os.listdir(TMP):
                if entry == name or entry.startswith(name + "-"):
                    shutil.rmtree(os.path.join(TMP, entry), ignore_errors=True)
        except Exception:
            failed += 1
            print("FAIL %s" % name)
            traceback.print_exc()
            for root, _, files in os.walk(os.path.join(TMP, name)):
                for f in sorted(files):
                    if f.endswith(".err"):
                        with open(os.path.join(root, f), errors="replace") as err:
                            tail = err.read()[-3000:]
                        print("--- %s (last 3000 bytes):\n%s" % (f, tail))
            # The servers' warnings and errors (a node catching up, a reset stream).
            for entry in sorted(os.listdir(TMP)):
                if not entry.startswith(name + "-n"):
                    continue
                for f in sorted(os.listdir(os.path.join(TMP, entry))):
                    if f.startswith("server.log"):
                        with open(os.path.join(TMP, entry, f), errors="replace") as log:
                            notes = [l.rstrip()[:200] for l in log
                                     if "[WRN]" in l or "[ERR]" in l or "[FTL]" in l or "leader" in l]
                        print("--- %s/%s (%d warnings, errors, fatal errors and leader changes; first 25):\n%s" % (
                            entry, f, len(notes), "\n".join(notes[:25])))
finally:
    for p in PROCS:
        if p.poll() is None:
            p.kill()
            p.wait()
    if not failed:
        shutil.rmtree(TMP, ignore_errors=True)
    else:
        print("kept " + TMP)
sys.exit(1 if failed else 0)

#!/usr/bin/env python3
"""The sidecar recipe of docs/sidecar.md, run for real: the shipped configs/follow-checkpoint.yaml
follows agent logs while the real logrotate, with the shipped configs/logrotate/agentlog (paths
replaced), rotates both the agents' logs and agentlog's output (postrotate: SIGHUP).

    python3 tests/cli/logrotate_test.py /path/to/agentlog

Every record must come out exactly once across agentlog's current and rotated outputs. Output
is waited for by polling with a deadline, never by sleeping. Exit 77 (skipped) without logrotate.
"""
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BIN = os.path.abspath(sys.argv[1])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEADLINE = 20.0


def fail(msg):
    print("not ok - logrotate recipe: " + msg)
    sys.exit(1)


def numbers_in(out_dir):
    """Every "n" in agentlog's outputs, current and rotated (gzip or not)."""
    found = []
    for name in sorted(os.listdir(out_dir)):
        if not name.startswith("agentlog.jsonl"):
            continue
        path = os.path.join(out_dir, name)
        data = gzip.open(path).read() if name.endswith(".gz") else open(path, "rb").read()
        for line in data.split(b"\n")[:-1]:
            found.append(json.loads(line)["n"])
    return found


def wait_for(out_dir, count, proc):
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if proc.poll() is not None:
            fail("agentlog exited early with %d: %s" % (proc.returncode, open("err.txt").read()))
        if len(numbers_in(out_dir)) >= count:
            return
        time.sleep(0.02)
    fail("timed out waiting for %d records, have %d" % (count, len(numbers_in(out_dir))))


def append(path, first, last):
    with open(path, "a") as f:
        for n in range(first, last + 1):
            f.write('{"n":%d}\n' % n)


def main():
    if shutil.which("logrotate") is None and not os.path.exists("/usr/sbin/logrotate"):
        print("skip - logrotate is not installed")
        return 77
    logrotate = shutil.which("logrotate") or "/usr/sbin/logrotate"
    tmp = tempfile.mkdtemp(prefix="agentlog-logrotate-")
    os.chdir(tmp)
    for d in ("agents", "out", "state"):
        os.mkdir(d)
    agent_log = os.path.join(tmp, "agents", "a.jsonl")
    out_dir = os.path.join(tmp, "out")
    append(agent_log, 1, 100)

    env = dict(os.environ, AGENT_LOGS=os.path.join(tmp, "agents", "*.jsonl"), AGENTLOG_STATE_DIR=os.path.join(tmp, "state"),
               AGENTLOG_OUT=os.path.join(out_dir, "agentlog.jsonl"),
               AGENTLOG_WARNINGS=os.path.join(tmp, "state", "warnings.jsonl"),
               AGENTLOG_DEAD_LETTER=os.path.join(tmp, "state", "dead.jsonl"))
    proc = subprocess.Popen([BIN, "run", "-q", "-c", os.path.join(ROOT, "configs", "follow-checkpoint.yaml")],
                            env=env, stdout=subprocess.DEVNULL, stderr=open("err.txt", "wb"))
    try:
        conf = open(os.path.join(ROOT, "configs", "logrotate", "agentlog")).read()
        conf = conf.replace("/var/log/agents/*.jsonl", os.path.join(tmp, "agents", "*.jsonl"))
        conf = conf.replace("/var/lib/agentlog/out/*.jsonl", os.path.join(out_dir, "*.jsonl"))
        start = conf.index("postrotate") + len("postrotate")
        end = conf.index("endscript")
        conf = conf[:start] + "\n        kill -HUP %d\n    " % proc.pid + conf[end:]
        with open("logrotate.conf", "w") as f:
            f.write(conf)
        os.chmod("logrotate.conf", 0o644)

        def rotate():
            r = subprocess.run([logrotate, "-f", "-s", os.path.join(tmp, "logrotate.state"), "logrotate.conf"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                fail("logrotate exited %d: %s" % (r.returncode, r.stderr))

        wait_for(out_dir, 100, proc)
        # Lines written just before a rotation are read from the rotated file (a.jsonl.1).
        append(agent_log, 101, 150)
        rotate()
        if not os.path.exists(agent_log + ".1") or not os.path.exists(os.path.join(out_dir, "agentlog.jsonl.1")):
            fail("logrotate did not rotate: " + " ".join(sorted(os.listdir("agents") + os.listdir("out"))))
        append(agent_log, 151, 200)
        wait_for(out_dir, 200, proc)
        # A second cycle compresses the first rotated files (delaycompress) after they were read.
        # logrotate skips an empty file (notifempty): rotate once agentlog, reopened after the
        # first cycle's SIGHUP, has written into the new output file.
        append(agent_log, 201, 250)
        wait_for(out_dir, 250, proc)
        current = os.path.join(out_dir, "agentlog.jsonl")
        end = time.monotonic() + DEADLINE
        while not (os.path.exists(current) and os.path.getsize(current) > 0):
            if time.monotonic() > end:
                fail("agentlog wrote nothing into the new output file after the first rotation")
            time.sleep(0.02)
        rotate()
        append(agent_log, 251, 300)
        wait_for(out_dir, 300, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            proc.kill()
            fail("agentlog did not exit after SIGTERM")
    if rc != 0:
        fail("agentlog exited %d: %s" % (rc, open("err.txt").read()))
    got = numbers_in(out_dir)
    if sorted(got) != list(range(1, 301)):
        missing = sorted(set(range(1, 301)) - set(got))
        dups = len(got) - len(set(got))
        fail("records lost or doubled: %d missing (first %s), %d duplicates" % (len(missing), missing[:5], dups))
    if not any(n.endswith(".gz") for n in os.listdir(out_dir)):
        fail("the second cycle compressed no output file: %s" % sorted(os.listdir(out_dir)))
    print("ok - logrotate recipe: 300 records once each across %d output files" %
          len([n for n in os.listdir(out_dir) if n.startswith("agentlog.jsonl")]))
    shutil.rmtree(tmp, ignore_errors=True)
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

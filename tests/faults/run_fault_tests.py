#!/usr/bin/env python3
"""Fault injection: agentlog under a full disk, SIGKILL, receiver restarts and rotation races.

    python3 tests/faults/run_fault_tests.py /path/to/agentlog [CHECK...]

Every check asserts that no record is lost, and that duplicates are exactly (or at most)
what docs/inputs.md, docs/outputs.md and docs/syslog.md allow:

- full_disk_file_output: a file output on a small tmpfs fills up in follow mode. The run
  exits 1 with whole lines only, counts the records it could not write as failed
  (in = out + dropped + dead-lettered + failed), and its checkpoint stays at the last good
  flush; after space is freed a restart writes every record, the duplicates being exactly the
  records written after that checkpoint. Needs root for the tmpfs mount (else skipped).
- sigkill_follow_checkpoints: agentlog is SIGKILLed eight times while a writer appends; the
  duplicates are exactly, per kill, the records written after the checkpoint it left, and
  every output line is whole JSON (a torn tail is cut on reopen).
- rotation_races: a writer rotates (numbered renames, some twice in a row) while agentlog
  follows: every record exactly once, in order.
- syslog_receiver_restart: reuses tests/syslog's rsyslogd restart and receiver-down checks;
  duplicates at most the replayed window, undeliverable records dead-lettered (skipped
  without rsyslogd).

Output is awaited by polling with a deadline, never by sleeping; only the writers sleep, to
pace input. Exits 0 when every check passed or was skipped (77 when all were skipped).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import test_util  # noqa: E402
from test_util import DEADLINE, Fail, Skip, check, numbers, run_check, stop, write_follow_config  # noqa: E402

BIN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def wait_until(pred, what, deadline=DEADLINE):
    """test_util.wait_until; a time-out also says how many records out.jsonl holds."""
    try:
        test_util.wait_until(pred, what, deadline)
    except Fail as e:
        raise Fail(str(e) + (" (have %d)" % len(numbers("out.jsonl")) if os.path.exists("out.jsonl") else ""))


def whole_lines(path):
    """Every line of the file, which must be whole JSON objects ending in a newline."""
    if not os.path.exists(path):
        return []
    data = open(path, "rb").read()
    check(data == b"" or data.endswith(b"\n"), "%s ends with a partial line: %r" % (path, data[-60:]))
    out = []
    for i, line in enumerate(data.split(b"\n")[:-1]):
        try:
            out.append(json.loads(line))
        except ValueError:
            raise Fail("%s line %d is not JSON: %r" % (path, i + 1, line[:80]))
    return out


def record(n):
    return '{"n":%d,"pad":"%s"}\n' % (n, "x" * 40)


def follow_config(output, poll_ms=20):
    write_follow_config("""  outputs: [{type: file, path: %s}]
  dead_letter: {type: file, path: dead.jsonl}
""" % output, poll_ms)


def start(stats=None):
    args = [BIN, "run", "-c", "cfg.yaml"] + (["--stats-json", stats] if stats else [])
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open("err.txt", "ab"))


def checkpoint_line():
    cp = json.load(open("state/checkpoint.json"))
    return cp["files"][0]["line"] if cp["files"] else 0


def identity(st):
    return st["records_in"] == st["records_out"] + st["dropped"] + st["dead_lettered"] + st["failed"]


# ---------------------------------------------------------------------------

def check_full_disk_file_output():
    os.makedirs("disk")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", "disk"], capture_output=True).returncode:
        raise Skip("cannot mount a tmpfs (needs root)")
    try:
        total = 3000  # about 180 KB of output for a 64 KiB disk
        with open("app.log", "w") as f:
            f.write("".join(record(n) for n in range(1, 301)))
        follow_config("disk/out.jsonl")
        p = start("stats1.json")
        try:
            # A first flush and checkpoint, then more than the disk holds.
            wait_until(lambda: os.path.exists("state/checkpoint.json") and checkpoint_line() == 300, "the first checkpoint")
            with open("app.log", "a") as f:
                f.write("".join(record(n) for n in range(301, total + 1)))
            rc = p.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise Fail("follow mode did not stop on the full disk")
        err = open("err.txt").read()
        check(rc == 1, "exit code on a full disk: %s (%s)" % (rc, err))
        check("agentlog: error: disk/out.jsonl: write failed: No space left on device\n" in err, "stderr: %r" % err)
        st = json.load(open("stats1.json"))
        written = whole_lines("disk/out.jsonl")
        check(identity(st) and st["failed"] > 0, "accounting after the failure: %r" % st)
        check(st["records_out"] == len(written), "records_out %d, lines in the file %d" % (st["records_out"], len(written)))
        check(st["sources"][0]["lines"] == st["records_in"], "sources[0].lines: %r" % st["sources"])
        check("%d failed (not written: an output failed)" % st["failed"] in err, "summary: %r" % err)
        last_written = written[-1]["n"] if written else 0
        resume_at = checkpoint_line()
        check(resume_at <= last_written, "checkpoint line %d beyond the output's %d" % (resume_at, last_written))
        # Space again: a restart writes the rest; only what followed the checkpoint repeats.
        subprocess.run(["mount", "-o", "remount,size=4m", "disk"], check=True)
        p = start("stats2.json")
        try:
            wait_until(lambda: total in numbers("disk/out.jsonl"), "every record after the restart")
        finally:
            rc = stop(p)
        check(rc == 0, "exit code of the restart: %s" % rc)
        got = [r["n"] for r in whole_lines("disk/out.jsonl")]
        check(set(got) == set(range(1, total + 1)), "lost: %r" % sorted(set(range(1, total + 1)) - set(got))[:20])
        dups = len(got) - total
        check(dups == last_written - resume_at,
              "duplicates %d, expected the %d records after the checkpoint" % (dups, last_written - resume_at))
        print("    full disk: %d written, %d failed, checkpoint at line %d, %d duplicates after the restart"
              % (st["records_out"], st["failed"], resume_at, dups))
    finally:
        subprocess.run(["umount", "-l", "disk"], capture_output=True)


def check_sigkill_follow_checkpoints():
    total, kills = 6000, 8
    follow_config("out.jsonl")
    done = threading.Event()

    def writer():
        with open("app.log", "a", buffering=1) as f:
            for n in range(1, total + 1):
                f.write(record(n))
                if n % 25 == 0:
                    time.sleep(0.002)
        done.set()

    t = threading.Thread(target=writer)
    t.start()
    expected_dups = 0
    p = None
    try:
        p = start()
        for k in range(1, kills + 1):
            at = k * total // (kills + 2)
            wait_until(lambda: len(numbers("out.jsonl")) >= at, "%d lines before kill %d" % (at, k))
            p.kill()
            p.wait()
            # What this kill repeats: the whole lines written after the checkpoint it left.
            got = numbers("out.jsonl")
            expected_dups += max(0, got[-1] - checkpoint_line())
            p = start()
        t.join()
        wait_until(lambda: total in numbers("out.jsonl"), "the last record after %d kills" % kills)
        rc = stop(p)
    finally:
        t.join()
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()
    check(rc == 0, "exit code of the last run: %s" % rc)
    got = [r["n"] for r in whole_lines("out.jsonl")]
    missing = sorted(set(range(1, total + 1)) - set(got))
    check(not missing, "lost: %r (of %d)" % (missing[:20], len(missing)))
    check(len(got) - total == expected_dups,
          "duplicates %d, expected %d (the records after each kill's checkpoint)" % (len(got) - total, expected_dups))
    print("    %d kills: %d duplicates, as the checkpoints predict" % (kills, expected_dups))


def rotate(name, keep=10):
    for k in range(keep - 1, 0, -1):
        if os.path.exists("%s.%d" % (name, k)):
            os.rename("%s.%d" % (name, k), "%s.%d" % (name, k + 1))
    os.rename(name, name + ".1")


def check_rotation_races():
    total = 6000
    follow_config("out.jsonl")
    errors = []

    def writer():
        try:
            f = open("app.log", "a", buffering=1)
            rotations = 0
            n = 1  # record 1 is there before agentlog starts
            while n < total:
                n += 1
                f.write(record(n))
                if n % 200 == 0:
                    f.close()
                    rotate("app.log")
                    rotations += 1
                    if rotations % 3 == 0:  # a second rotation at once, a few lines in between
                        with open("app.log", "a") as g:
                            for _ in range(min(5, total - n)):
                                n += 1
                                g.write(record(n))
                        rotate("app.log")
                    f = open("app.log", "a", buffering=1)
                if n % 20 == 0:
                    time.sleep(0.001)
            f.close()
        except Exception as e:
            errors.append(e)

    with open("app.log", "w") as f:
        f.write(record(1))
    p = start()
    wait_until(lambda: numbers("out.jsonl") == [1], "the first record")  # agentlog follows app.log now
    t = threading.Thread(target=writer)
    t.start()
    try:
        t.join()
        check(not errors, "writer: %r" % errors)
        try:
            wait_until(lambda: len(numbers("out.jsonl")) >= total, "every record across the rotations")
        except Fail:
            got = numbers("out.jsonl")
            raise Fail("lost %r; stderr %r" % (sorted(set(range(1, total + 1)) - set(got))[:30], open("err.txt").read()))
    finally:
        t.join()
        rc = stop(p)
    check(rc == 0, "exit code %s" % rc)
    got = [r["n"] for r in whole_lines("out.jsonl")]
    check(got == list(range(1, total + 1)),
          "every record exactly once, in order; lost %r" % sorted(set(range(1, total + 1)) - set(got))[:20])
    err = open("err.txt").read()
    check("vanished" not in err, "a warning about a vanished file: %r" % err)


def check_double_rotation_middle_file():
    """Deterministic variant: two rotations with lines in the middle file, between two checks."""
    total = 300
    follow_config("out.jsonl", poll_ms=1000)
    with open("app.log", "w") as f:
        f.write("".join(record(n) for n in range(1, 101)))
    p = start()
    try:
        wait_until(lambda: len(numbers("out.jsonl")) >= 100, "the first file")
        rotate("app.log")
        with open("app.log", "w") as f:
            f.write("".join(record(n) for n in range(101, 201)))
        rotate("app.log")
        with open("app.log", "w") as f:
            f.write("".join(record(n) for n in range(201, total + 1)))
        wait_until(lambda: len(numbers("out.jsonl")) >= total, "the middle and the new file")
    finally:
        rc = stop(p)
    check(rc == 0, "exit code %s" % rc)
    got = [r["n"] for r in whole_lines("out.jsonl")]
    check(got == list(range(1, total + 1)), "every record once, in order: %r" % got[95:110])


def check_syslog_receiver_restart():
    script = os.path.join(ROOT, "tests", "syslog", "run_syslog_tests.py")
    r = subprocess.run([sys.executable, script, BIN, "tcp_restart_nothing_lost", "receiver_down_dead_letters_exit_1",
                        "follow_checkpoint_waits_for_syslog_delivery"], capture_output=True, text=True, timeout=600)
    if r.returncode == 77:
        raise Skip("rsyslogd is not installed")
    check(r.returncode == 0, "tests/syslog checks failed:\n" + r.stdout + r.stderr)
    m = re.search(r"\((\d+) duplicates\), replayed=(\d+)", r.stdout)
    check(m is not None, "no restart figures in: %r" % r.stdout)
    dups, replayed = int(m.group(1)), int(m.group(2))
    check(dups <= replayed, "duplicates %d beyond the replayed window %d" % (dups, replayed))
    print("    rsyslogd restart: %d duplicates, replayed %d" % (dups, replayed))


CHECKS = [
    check_full_disk_file_output,
    check_sigkill_follow_checkpoints,
    check_rotation_races,
    check_double_rotation_middle_file,
    check_syslog_receiver_restart,
]


def main():
    if BIN is None or not os.access(BIN, os.X_OK):
        print("usage: run_fault_tests.py /path/to/agentlog [CHECK...]", file=sys.stderr)
        return 2
    only = sys.argv[2:]
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="agentlog-faults.") as tmp:
        for fn in CHECKS:
            name = fn.__name__[len("check_"):]
            if not only or name in only:
                outcomes.append(run_check(tmp, name, name, fn))
    passed, failed, skipped = (outcomes.count(o) for o in ("passed", "failed", "skipped"))
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    if failed:
        return 1
    return 77 if passed == 0 and skipped else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Follow mode with input checkpoints and `integrity:` file outputs (docs/integrity.md,
"Follow mode"), with one worker and with two:

- periodic_checkpoints_then_sigterm: checkpoints appear while following, by count and by
  time while the input is quiet; SIGTERM signs a last one over every line; verify passes.
- sigkill_restarts: agentlog is SIGKILLed at several points while a writer appends (lines
  written in two pieces, some malformed), once with a write torn in the output. Each restart
  reports the torn line and the lines after the last checkpoint it covers; at the end every
  input line is in the output or the dead letters, the duplicates are exactly the lines after
  each kill's input checkpoint, no fragment is part of a record, and verify passes on both logs.
- sighup_rotation: the output and dead letters are rotated twice while following; verify
  passes over every file.
- sigkill_between_rename_and_sighup: lines go on into the renamed file until SIGKILL, before
  any SIGHUP; the restart covers them in the tree and verify passes over both files.

    python3 tests/faults/integrity_follow_tests.py /path/to/agentlog [CHECK[:WORKERS]...]

Output is awaited by polling with a deadline, never by sleeping; only the writer sleeps, to
pace input. Prints "ok - NAME" / "not ok - NAME: REASON", then a count.
"""
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from test_util import (DEADLINE, check, read_bytes, read_lines, run_check, stop, wait_until,  # noqa: E402
                       write_follow_config)

BIN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
ORIGIN = "example.com/follow"
DEAD_ORIGIN = "example.com/follow-dead"
CUT_RE = re.compile(r"agentlog: warning: out\.jsonl: cut an incomplete last line of (\d+) bytes")


def record(n):
    return b'{"n":%d,"agent":"a","pad":"%s"}\n' % (n, b"x" * 60)


def input_line(n):
    """Input line n: a record, or every 37th line a malformed one (a dead letter)."""
    return b"not json %d\n" % n if n % 37 == 0 else record(n)


def out_numbers(path="out.jsonl"):
    return [json.loads(l)["n"] for l in read_lines(path)]


def dead_numbers(path="dead.jsonl"):
    return [json.loads(l)["line"] for l in read_lines(path)]


def notes(path="out.jsonl.checkpoints"):
    """(size, root) of every whole checkpoint in the file (origin, size, root, blank, signature)."""
    out, cur = [], []
    for line in read_bytes(path).decode().split("\n")[:-1]:
        cur.append(line)
        if line.startswith("\u2014 "):
            out.append((int(cur[1]), cur[2]))
            cur = []
    return out


def sizes(path="out.jsonl.checkpoints"):
    return [s for s, _ in notes(path)]


def keygen():
    p = subprocess.run([BIN, "keygen", "--name", "audit", "--out", "k"], capture_output=True, timeout=60)
    check(p.returncode == 0, "keygen: %r" % p.stderr)


def config(every_records=50, every_ms=100):
    integ = "{key_file: k, origin: %s, checkpoint_every_records: %d, checkpoint_every_ms: %d}"
    write_follow_config("""  outputs:
    - type: file
      path: out.jsonl
      integrity: %s
  dead_letter:
    type: file
    path: dead.jsonl
    integrity: %s
""" % (integ % (ORIGIN, every_records, every_ms), integ % (DEAD_ORIGIN, every_records, every_ms)))


def start(workers, err="err.txt"):
    return subprocess.Popen([BIN, "run", "-c", "cfg.yaml", "--workers", str(workers)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=open(err, "wb"))


def verify(*logs, extra=()):
    p = subprocess.run([BIN, "verify", "--key-file", "k.pub"] + list(extra) + list(logs), capture_output=True,
                       timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def expect_verified(*logs, extra=()):
    rc, so, se = verify(*logs, extra=extra)
    check(rc == 0 and so.startswith("OK: "), "verify %s: %d [%s] [%s]" % (" ".join(logs), rc, so.strip(), se.strip()))
    return so


def checkpoint_line():
    if not os.path.exists("state/checkpoint.json"):
        return 0
    cp = json.load(open("state/checkpoint.json"))
    return cp["files"][0]["line"] if cp["files"] else 0


def append(lines):
    with open("app.log", "ab") as f:
        f.write(b"".join(input_line(n) for n in lines))


def closed_state(path="out.jsonl"):
    return re.search(rb"^closed 1$", read_bytes(path + ".checkpoints.state"), re.M) is not None


def kill(p):
    """SIGKILL (nothing once it has exited), then reap."""
    p.kill()
    p.wait()


@contextlib.contextmanager
def running(workers, err="err.txt"):
    """A run of agentlog, killed on the way out unless it was stopped (a check failed)."""
    p = start(workers, err)
    try:
        yield p
    finally:
        kill(p)


@contextlib.contextmanager
def following_first_lines(workers, count):
    """Keys, a config signing checkpoints only at open and close, input lines 1..count and a run
    that has written them out."""
    keygen()
    config(every_records=1000, every_ms=0)
    append(range(1, count + 1))
    with running(workers) as p:
        wait_until(lambda: len(out_numbers()) == count - count // 37, "the first %d lines" % count)
        # A kill from here replays nothing only once the input checkpoint covers them (a slow
        # sanitizer build saves it well after the output is written).
        wait_until(lambda: checkpoint_line() >= count, "the input checkpoint past line %d" % count)
        yield p


def warnings_of_exit_0(rc, err):
    """The warning lines of a run that must have exited 0 (its stderr is in the file `err`)."""
    text = read_bytes(err).decode()
    check(rc == 0, "exit %s: %s" % (rc, text))
    return [l for l in text.splitlines() if "warning" in l]


def follow_then_sigterm(workers, err, lines, until=None, what="the lines after the restart", before_stop=None):
    """A run that follows `lines` appended to the input until they are out (`until`; by default
    the last record of them ends out.jsonl), runs the checks `before_stop`, then stops on
    SIGTERM; returns its warnings."""
    last = [n for n in lines if n % 37][-1]
    with running(workers, err) as p:
        append(lines)
        wait_until(until or (lambda: out_numbers()[-1:] == [last]), what)
        if before_stop:
            before_stop()
        rc = stop(p)
    return warnings_of_exit_0(rc, err)


# ---------------------------------------------------------------------------

def check_periodic_checkpoints_then_sigterm(workers):
    keygen()
    config(every_records=50, every_ms=200)
    append(range(1, 121))
    with running(workers) as p:
        # By count: 117 records (3 dead letters) are more than 50 since the opening checkpoint.
        wait_until(lambda: len(read_lines("out.jsonl")) == 117, "the first 120 input lines")
        wait_until(lambda: sizes() == [0, 117], "a checkpoint by count while following")
        # By time: 10 lines are fewer than 50; the quiet input still gets them signed.
        append(range(121, 131))
        wait_until(lambda: sizes()[-1] == 127, "a checkpoint by time while the input is quiet")
        check(p.poll() is None, "agentlog stopped")
        check(not closed_state(), "the state says closed while running")
        expect_verified("out.jsonl")
        append(range(131, 141))
        wait_until(lambda: len(read_lines("out.jsonl")) == 137, "10 more lines")
        rc = stop(p)
    warnings = warnings_of_exit_0(rc, "err.txt")
    check(not warnings, "warnings: %s" % warnings)
    check(out_numbers() == [n for n in range(1, 141) if n % 37], "records: %s" % out_numbers())
    check(dead_numbers() == [37, 74, 111], "dead letters: %s" % dead_numbers())
    check(sizes()[-1] == 137, "the last checkpoint (by time or SIGTERM) covers %d of 137 lines" % sizes()[-1])
    check(closed_state() and closed_state("dead.jsonl"), "SIGTERM did not close the logs cleanly")
    check(sizes("dead.jsonl.checkpoints") == [0, 3], "dead letters' checkpoints %s" % sizes("dead.jsonl.checkpoints"))
    expect_verified("out.jsonl")
    expect_verified("dead.jsonl")
    # Checkpoints only at open and close: the last lines are signed by SIGTERM's. The input
    # checkpoint was exact: the restart repeats nothing.
    config(every_records=1000, every_ms=0)
    before = sizes()
    warnings = follow_then_sigterm(
        workers, "err2.txt", range(141, 151),
        before_stop=lambda: check(sizes() == before, "a checkpoint before SIGTERM: %s" % sizes()))
    check(not warnings, "restart warnings: %s" % warnings)
    check(out_numbers() == [n for n in range(1, 151) if n % 37], "records after the restart: %s" % out_numbers()[-20:])
    check(sizes() == before + [146], "SIGTERM's checkpoint: %s" % sizes())
    expect_verified("out.jsonl")
    same_as_one_worker(workers, ["out.jsonl", "dead.jsonl"], every_checkpoint=False)
    print("    workers %d: checkpoint sizes %s" % (workers, sizes()))


def check_sigkill_restarts(workers):
    total = 4000
    keygen()
    config(every_records=200, every_ms=50)
    errors = []
    written = [0]

    def writer():
        try:
            with open("app.log", "ab", buffering=0) as f:
                for n in range(1, total + 1):
                    line = input_line(n)
                    if n % 10 == 0:
                        # A line in two writes: a reader may see its first half alone.
                        f.write(line[:20])
                        time.sleep(0.0005)
                        f.write(line[20:])
                    else:
                        f.write(line)
                    written[0] = n
                    if n % 10 == 0:
                        time.sleep(0.002)
        except Exception as e:  # reported by the main thread
            errors.append(e)

    t = threading.Thread(target=writer)
    t.start()
    # Each run is killed after writing this many new lines (0: as soon as its outputs are
    # open, before it replays anything), some at once when the output next grows (most likely
    # before the input checkpoint moves past the lines just written: those are replayed).
    # One kill leaves a torn write.
    kills = [(300, True), (1, False), (400, True), (0, False), (250, True), (500, False), (40, True)]
    torn_kill = 4
    expected_dups = 0
    runs = real_torn = tails = 0
    p = None
    try:
        starts = (0, 0)  # whole lines of the outputs when the run started
        p = start(workers, "err0.txt")
        for k, (new_lines, on_growth) in enumerate(kills):
            if new_lines:
                wait_until(lambda: len(read_lines("out.jsonl")) >= starts[0] + new_lines,
                           "%d new lines before kill %d" % (new_lines, k))
            if on_growth:
                size, end = os.stat("out.jsonl").st_size, time.monotonic() + DEADLINE
                while os.stat("out.jsonl").st_size == size and time.monotonic() < end:
                    pass
            kill(p)
            cp = checkpoint_line()
            outs, deads = out_numbers(), dead_numbers()
            # What the restart repeats: the lines this run wrote after the checkpoint it left
            # (those of earlier runs were counted at their kill).
            expected_dups += sum(1 for n in outs[starts[0]:] if n > cp) + sum(1 for n in deads[starts[1]:] if n > cp)
            data = read_bytes("out.jsonl")
            torn = b""
            if not data.endswith(b"\n") and data:
                torn = data[data.rfind(b"\n") + 1:]  # SIGKILL tore a write itself
            real_torn += bool(torn)
            if k == torn_kill and not torn:
                torn = record(outs[-1] + 1)[:25]  # a write torn by the crash
                with open("out.jsonl", "ab") as f:
                    f.write(torn)
            covered = sizes()[-1]
            tail = len(outs) - covered
            tails += tail > 0
            if torn:
                rc, so, se = verify("out.jsonl", extra=("--allow-tail",))
                check(rc == 1 and "ends with an incomplete line after line %d" % len(outs) in so,
                      "verify of a torn log: %d %s" % (rc, so))
            else:
                expect_verified("out.jsonl", extra=("--allow-tail",))
            dead_data = read_bytes("dead.jsonl")
            if dead_data and not dead_data.endswith(b"\n"):  # SIGKILL tore a dead letter's write
                rc, so, se = verify("dead.jsonl", extra=("--allow-tail",))
                check(rc == 1 and "ends with an incomplete line after line %d" % len(deads) in so,
                      "verify of a torn dead-letter log: %d %s" % (rc, so))
            else:
                expect_verified("dead.jsonl", extra=("--allow-tail",))
            runs += 1
            starts = (len(outs), len(deads))
            before = sizes()
            p = start(workers, "err%d.txt" % runs)
            # The run signs a checkpoint when it opens its output (after cutting a torn line and
            # covering what the crash left). Not the input checkpoint's renewal: with the input
            # read to its end before the kill (a slow sanitizer build), the restart has nothing
            # new to save there.
            wait_until(lambda: len(sizes()) > len(before), "restart %d" % runs)
            now = sizes()
            at = len(before) - 1 + (tail > 0)
            check(at < len(now) and now[at] == len(outs),
                  "restart %d signed no checkpoint over the %d lines kill %d left: %s" % (runs, len(outs), k, now[-3:]))
            err = read_bytes("err%d.txt" % runs).decode()
            cuts = CUT_RE.findall(err)
            if torn:
                check(cuts == [str(len(torn))], "torn line of %d bytes not reported: %r" % (len(torn), err))
            else:
                check(not cuts, "a cut without a torn line: %r" % err)
            want = ("agentlog: warning: out.jsonl: %d lines after the last checkpoint (an earlier run stopped "
                    "without one) are covered by a new checkpoint" % tail)
            check((want in err) == (tail > 0), "kill %d: %d lines after the checkpoint, stderr %r" % (k, tail, err))
        t.join()
        check(not errors, "writer: %r" % errors)
        wait_until(lambda: total in out_numbers(), "the last record")
        rc = stop(p)
    finally:
        t.join()
        if p is not None:
            kill(p)
    check(rc == 0, "exit code of the last run: %s %s" % (rc, read_bytes("err%d.txt" % runs)))
    data = read_bytes("out.jsonl")
    check(data.endswith(b"\n"), "the output ends with a partial line")
    outs, deads = out_numbers(), dead_numbers()  # json.loads: a fragment joined to a record fails here
    check(all(l.count(b'{"n":') == 1 for l in read_lines("out.jsonl")), "a fragment was absorbed into a record")
    got = outs + deads
    missing = sorted(set(range(1, total + 1)) - set(got))
    check(not missing, "lost: %r (of %d)" % (missing[:20], len(missing)))
    check(len(got) - total == expected_dups,
          "duplicates %d, expected %d (the lines after each kill's checkpoint)" % (len(got) - total, expected_dups))
    check(all(n % 37 for n in outs) and all(n % 37 == 0 for n in deads), "a line in the wrong file")
    check(sizes()[-1] == len(outs) and sizes("dead.jsonl.checkpoints")[-1] == len(deads),
          "the last checkpoints do not cover every line")
    expect_verified("out.jsonl")
    expect_verified("dead.jsonl")
    print("    workers %d: %d kills (%d with lines after the last checkpoint, %d with a write torn by SIGKILL itself), "
          "%d duplicates as the input checkpoints predict, %d checkpoints"
          % (workers, len(kills), tails, real_torn, expected_dups, len(sizes())))


def same_as_one_worker(workers, files, every_checkpoint=True):
    """With 2 workers the files and the checkpoints' sizes and roots (every one, or the last
    when some were signed by time) are those of the run with one (in ../NAME-1, run before;
    the keys differ, so the signatures do)."""
    if workers == 1:
        return
    one = os.path.join("..", os.path.basename(os.getcwd())[:-2] + "-1")
    for f in files:
        check(read_bytes(f) == read_bytes(os.path.join(one, f)), "%s differs from the one-worker run" % f)
    for f in ("out.jsonl.checkpoints", "dead.jsonl.checkpoints"):
        mine, theirs = notes(f), notes(os.path.join(one, f))
        if not every_checkpoint:
            mine, theirs = mine[-1:], theirs[-1:]
        check(mine == theirs, "the checkpoints of %s differ from the one-worker run" % f)


def rotate_outputs():
    for name in ("out.jsonl", "dead.jsonl"):
        if os.path.exists(name + ".1"):
            os.rename(name + ".1", name + ".2")
        os.rename(name, name + ".1")


def check_sighup_rotation(workers):
    with following_first_lines(workers, 100) as p:
        last = 100
        for k in (1, 2):
            rotate_outputs()
            p.send_signal(signal.SIGHUP)
            wait_until(lambda: os.path.exists("out.jsonl") and os.path.exists("dead.jsonl"), "the reopened files")
            append(range(last + 1, last + 81))
            last += 80
            wait_until(lambda: out_numbers()[-1:] == [last - (last % 37 == 0)], "the lines after rotation %d" % k)
        rc = stop(p)
    warnings = warnings_of_exit_0(rc, "err.txt")
    check(not warnings, "warnings: %s" % warnings)
    files = ["out.jsonl.2", "out.jsonl.1", "out.jsonl"]
    got = sum((out_numbers(f) for f in files), [])
    check(got == [n for n in range(1, 261) if n % 37], "records over the rotated files: %s" % got)
    s = sizes()
    check(s[0] == 0 and 98 in s and len(out_numbers("out.jsonl.2")) + len(out_numbers("out.jsonl.1")) in s
          and s[-1] == len(got), "checkpoint sizes %s" % s)
    expect_verified(*files, extra=("--checkpoints", "out.jsonl.checkpoints"))
    expect_verified("dead.jsonl.2", "dead.jsonl.1", "dead.jsonl", extra=("--checkpoints", "dead.jsonl.checkpoints"))
    rc, so, se = verify("out.jsonl.1", "out.jsonl.2", "out.jsonl")
    check(rc == 1, "files out of order verified: " + so)
    same_as_one_worker(workers, files + ["dead.jsonl.2", "dead.jsonl.1", "dead.jsonl"])


def check_sigkill_between_rename_and_sighup(workers):
    with following_first_lines(workers, 50) as p:
        # logrotate renamed the file; agentlog writes on into it until the SIGHUP, which a
        # crash comes before (the torn write too).
        os.rename("out.jsonl", "out.jsonl.1")
        append(range(51, 61))
        wait_until(lambda: out_numbers("out.jsonl.1")[-1:] == [60], "lines in the renamed file")
        kill(p)
    replayed = sum(1 for n in out_numbers("out.jsonl.1") if n > checkpoint_line())
    with open("out.jsonl.1", "ab") as f:
        f.write(record(61)[:30])
    rc, so, se = verify("out.jsonl.1", extra=("--checkpoints", "out.jsonl.checkpoints", "--allow-tail"))
    check(rc == 1 and "ends with an incomplete line after line 59" in so, "verify of the torn file: " + so)
    warnings = follow_then_sigterm(workers, "err2.txt", range(61, 71))
    check(warnings == [
        "agentlog: warning: out.jsonl.1: cut an incomplete last line of 30 bytes (an earlier write failed or was cut "
        "short); new lines follow the last whole line",
        "agentlog: warning: out.jsonl: 59 lines after the last checkpoint (an earlier run stopped without one) are "
        "covered by a new checkpoint; they are in out.jsonl.1, renamed before that run reopened the path",
        "agentlog: warning: dead.jsonl: 1 lines after the last checkpoint (an earlier run stopped without one) are "
        "covered by a new checkpoint"],
        "warnings: %s" % warnings)
    check(b'"n":61' not in read_bytes("out.jsonl.1"), "the torn line is still there")
    got = out_numbers("out.jsonl.1") + out_numbers()
    # What followed the input checkpoint the kill left is written again.
    check(set(got) == set(n for n in range(1, 71) if n % 37), "records lost: %s" % got)
    check(len(got) - 69 == replayed, "duplicates %d, want %d: %s" % (len(got) - 69, replayed, got))
    s = sizes()
    check(s[:2] == [0, 59] and s[-1] == len(got), "checkpoint sizes %s" % s)
    expect_verified("out.jsonl.1", "out.jsonl", extra=("--checkpoints", "out.jsonl.checkpoints"))


def check_sigkill_renamed_file_gone(workers):
    """The renamed file went elsewhere (logrotate's olddir) before the restart: the lines it held
    after the last checkpoint cannot be covered, and the restart says so."""
    with following_first_lines(workers, 10) as p:
        os.rename("out.jsonl", "out.jsonl.1")
        kill(p)
    ino = os.stat("out.jsonl.1").st_ino
    os.mkdir("old")
    os.rename("out.jsonl.1", "old/out.jsonl.1")
    warnings = follow_then_sigterm(workers, "err2.txt", range(11, 21),
                                   until=lambda: out_numbers() == list(range(11, 21)))
    want = ("agentlog: warning: out.jsonl: the file the last checkpoint was written for (inode %d) is not beside it "
            "under another name; lines written to it after tree size 0, if any, are not covered by a checkpoint" % ino)
    check(warnings == [want], "warnings: %s" % warnings)
    check(sizes() == [0, 10], "checkpoint sizes %s" % sizes())


def check_rotated_while_stopped_then_sigkill(workers):
    """logrotate renames the output while agentlog is stopped; the next run starts the new file
    and is killed before it signs a checkpoint in it: the run after that continues the tree."""
    with following_first_lines(workers, 10) as p:
        check(stop(p) == 0, "exit of the first run")
    os.rename("out.jsonl", "out.jsonl.1")
    with running(workers, "err2.txt") as p:
        append(range(11, 21))
        wait_until(lambda: out_numbers() == list(range(11, 21)), "the lines of the second run")
        wait_until(lambda: checkpoint_line() >= 20, "the input checkpoint past line 20")
        kill(p)
    warnings = follow_then_sigterm(workers, "err3.txt", range(21, 31), what="the lines of the third run")
    check("agentlog: warning: out.jsonl: 10 lines after the last checkpoint (an earlier run stopped without one) "
          "are covered by a new checkpoint" in warnings, "warnings: %s" % warnings)
    check(out_numbers("out.jsonl.1") + out_numbers() == list(range(1, 31)), "records")
    check(sizes() == [0, 10, 20, 30], "checkpoint sizes %s" % sizes())
    expect_verified("out.jsonl.1", "out.jsonl", extra=("--checkpoints", "out.jsonl.checkpoints"))


def check_sigkill_mid_checkpoint(workers):
    """A crash while a checkpoint was appended leaves part of it: verify reports it, the
    restart cuts it with a warning and signs the tree again."""
    with following_first_lines(workers, 20) as p:
        kill(p)
    cps = read_bytes("out.jsonl.checkpoints")
    torn = b"%s\n20\nq83" % ORIGIN.encode()  # the first bytes of the next checkpoint
    with open("out.jsonl.checkpoints", "ab") as f:
        f.write(torn)
    rc, so, se = verify("out.jsonl", extra=("--allow-tail",))
    check(rc != 0 and "out.jsonl.checkpoints:8: the last line has no newline (a torn write?)" in so + se,
          "verify of a torn checkpoint: %d %s %s" % (rc, so, se))
    warnings = follow_then_sigterm(workers, "err2.txt", range(21, 31))
    check(warnings == [
        "agentlog: warning: out.jsonl.checkpoints: cut an incomplete last checkpoint of %d bytes (an earlier run "
        "stopped while writing it)" % len(torn),
        "agentlog: warning: out.jsonl: 20 lines after the last checkpoint (an earlier run stopped without one) are "
        "covered by a new checkpoint"], "warnings: %s" % warnings)
    check(read_bytes("out.jsonl.checkpoints").startswith(cps) and torn not in read_bytes("out.jsonl.checkpoints"),
          "the torn checkpoint is still there")
    check(sizes() == [0, 20, 30], "checkpoint sizes %s" % sizes())
    expect_verified("out.jsonl")
    # After a clean close nothing was being written: the same bytes are not cut but refused.
    with open("out.jsonl.checkpoints", "ab") as f:
        f.write(torn)
    p = subprocess.run([BIN, "run", "-c", "cfg.yaml"], capture_output=True, timeout=DEADLINE)
    check(p.returncode == 1 and p.stderr.startswith(
        b"agentlog: error: out.jsonl.checkpoints:18: the last line has no newline (a torn write?)\n"),
        "after a clean close: %d %r" % (p.returncode, p.stderr))


CHECKS = [
    check_periodic_checkpoints_then_sigterm,
    check_sigkill_restarts,
    check_sighup_rotation,
    check_sigkill_between_rename_and_sighup,
    check_sigkill_renamed_file_gone,
    check_rotated_while_stopped_then_sigkill,
    check_sigkill_mid_checkpoint,
]


def main():
    if BIN is None or not os.access(BIN, os.X_OK):
        print("usage: integrity_follow_tests.py /path/to/agentlog [CHECK[:WORKERS]...]", file=sys.stderr)
        return 2
    only = sys.argv[2:]
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="agentlog-integrity-follow.") as tmp:
        for fn in CHECKS:
            for workers in (1, 2):
                name = fn.__name__[len("check_"):]
                if only and name not in only and "%s:%d" % (name, workers) not in only:
                    continue
                # same_as_one_worker finds the one-worker run in NAME-1.
                outcomes.append(run_check(tmp, "%s-%d" % (name, workers), "%s (workers %d)" % (name, workers),
                                          fn, workers))
    print("%d passed, %d failed" % (outcomes.count("passed"), outcomes.count("failed")))
    return 1 if "failed" in outcomes else 0


if __name__ == "__main__":
    sys.exit(main())

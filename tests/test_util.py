"""Helpers the python end-to-end scripts share (tests/cli/streaming_tests.py, follow_state_tests.py,
tests/faults/run_fault_tests.py, integrity_follow_tests.py).

A script puts tests/ on sys.path from its own __file__ before importing this, so each still runs
alone as `python3 tests/DIR/SCRIPT.py /path/to/agentlog`.
"""
import json
import os
import signal
import subprocess
import time
import traceback

DEADLINE = 20.0  # seconds; generous for a loaded CI machine


class Fail(Exception):
    """A check failed: reported as "not ok - NAME: REASON"."""


class Skip(Exception):
    """A check cannot run here (no root, a tool missing): reported as "ok - NAME # SKIP REASON"."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def wait_until(pred, what, deadline=DEADLINE):
    """Polls pred until it holds (never a fixed sleep); Fail after `deadline` seconds."""
    end = time.monotonic() + deadline
    while not pred():
        if time.monotonic() >= end:
            raise Fail("timed out waiting for " + what)
        time.sleep(0.01)


def stop(proc, sig=signal.SIGTERM, deadline=DEADLINE):
    """Sends sig and returns the exit code; a process still running after `deadline` is killed (Fail)."""
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise Fail("agentlog did not exit after " + signal.Signals(sig).name)


def read_bytes(path):
    """The file's bytes; b"" while it does not exist."""
    if not os.path.exists(path):
        return b""
    with open(path, "rb") as f:
        return f.read()


def read_lines(path):
    """The whole lines of a file (a torn last line is left out); [] while it does not exist."""
    return read_bytes(path).split(b"\n")[:-1]


def numbers(path):
    """The "n" of every whole, parseable line, in order."""
    out = []
    for line in read_lines(path):
        try:
            out.append(json.loads(line)["n"])
        except (ValueError, KeyError):
            pass  # a line torn by SIGKILL; its record is read again after the restart
    return out


def write_follow_config(rest, poll_ms=20):
    """Writes cfg.yaml: a file input following app.log with its checkpoint in state/ (made here),
    then `rest`: more keys of that input, then the rest of the pipeline (outputs, ...)."""
    with open("cfg.yaml", "w") as f:
        f.write("""pipeline:
  inputs:
    - type: file
      paths: [app.log]
      follow: true
      checkpoint: state/checkpoint.json
      poll_interval_ms: %d
""" % poll_ms + rest)
    os.makedirs("state", exist_ok=True)


def run_check(tmp, name, label, fn, *args):
    """Runs fn(*args) in a new directory tmp/name, prints "ok - LABEL (SECONDS)",
    "ok - LABEL # SKIP REASON" or "not ok - LABEL: REASON"; returns "passed", "skipped" or "failed"."""
    d = os.path.join(tmp, name)
    os.makedirs(d)
    os.chdir(d)
    t0 = time.monotonic()
    try:
        fn(*args)
        print("ok - %s (%.1fs)" % (label, time.monotonic() - t0), flush=True)
        return "passed"
    except Skip as e:
        print("ok - %s # SKIP %s" % (label, e), flush=True)
        return "skipped"
    except Fail as e:
        print("not ok - %s: %s" % (label, e), flush=True)
        return "failed"
    except Exception:
        print("not ok - %s: %s" % (label, traceback.format_exc().replace("\n", " | ")), flush=True)
        return "failed"
    finally:
        os.chdir(tmp)

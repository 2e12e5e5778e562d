#!/usr/bin/env python3
"""End-to-end tests of stage state across follow-mode restarts: `lifecycle`'s open
lifecycles and `collision`'s id owners are saved in the checkpoint with the offsets.

    python3 tests/cli/follow_state_tests.py /path/to/agentlog

Same conventions as streaming_tests.py (whose helpers it uses, with tests/test_util.py's): each
check in its own empty directory, output waited for by polling with a deadline, never by sleeping.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from streaming_tests import DEADLINE, run_checks, start, stop, wait_until  # noqa: E402
from test_util import Fail, check, read_lines, write_follow_config  # noqa: E402


def config(stages, extra_input=""):
    write_follow_config("""%s  stages:
%s  outputs: [{type: file, path: out.jsonl}]
  warnings: {type: file, path: warnings.jsonl}
  dead_letter: {type: file, path: dead.jsonl}
""" % (extra_input, stages))


LIFECYCLE = "    - type: lifecycle\n"
COLLISION = "    - type: collision\n      scope_fields: [run_id]\n"


def record(event_type, action_id, agent="agent-a", second=0):
    return json.dumps({"event_time": "2026-01-15T09:30:%02d.000Z" % second, "event_type": event_type,
                       "run_id": "run-1", "action_id": action_id, "agent_id": agent}) + "\n"


def append(text):
    with open("app.log", "a") as f:
        f.write(text)


def objects(path):
    return [json.loads(line) for line in read_lines(path)]


def checkpoint_covers_log():
    """The checkpoint's offset has reached the end of app.log (so its state covers every line)."""
    try:
        cp = json.load(open("state/checkpoint.json"))
    except (OSError, ValueError):
        return False
    size = os.path.getsize("app.log")
    return any(f["offset"] == size for f in cp["files"])


def restart_between(first, second, sig, want_out):
    """Writes `first`, waits until it is out and checkpointed, stops agentlog with `sig`,
    writes `second`, restarts and waits until `want_out` records are out."""
    append(first)
    p = start("cfg.yaml")
    try:
        wait_until(lambda: len(read_lines("out.jsonl")) >= first.count("\n"), "the first run's records")
        wait_until(checkpoint_covers_log, "the checkpoint to cover the first run's lines")
    finally:
        if sig == signal.SIGKILL:
            p.kill()
            p.wait()
        else:
            check(stop(p, sig) == 0, "exit code of the first run")
    warnings_before = objects("warnings.jsonl")
    append(second)
    p = start("cfg.yaml")
    try:
        wait_until(lambda: len(read_lines("out.jsonl")) >= want_out, "the second run's records")
        wait_until(checkpoint_covers_log, "the checkpoint to cover the second run's lines")
    finally:
        check(stop(p) == 0, "exit code of the second run")
    return warnings_before


def check_result_after_restart_pairs(sig):
    config(LIFECYCLE)
    before = restart_between(record("tool_call", "act-1", second=1), record("tool_result", "act-1", second=2), sig, 2)
    check(before == [], "warnings at the stop (the call stays open in the checkpoint): %r" % before)
    warnings = objects("warnings.jsonl")
    check(warnings == [], "warnings after the restart (the result must pair with its call): %r" % warnings)
    result = objects("out.jsonl")[-1]
    ann = result.get("lifecycle", {})
    check(ann.get("state") == "closed" and ann.get("seq") == 2 and ann.get("duration_ms") == 1000,
          "the result's annotation: %r" % ann)
    cp = json.load(open("state/checkpoint.json"))
    check(cp["version"] == 2 and cp["stages"]["lifecycle"]["type"] == "lifecycle", "checkpoint: %r" % cp)
    check(cp["stages"]["lifecycle"]["state"]["open"] == [], "the closed call is still open: %r" % cp["stages"])


def check_result_after_sigterm_restart_pairs():
    check_result_after_restart_pairs(signal.SIGTERM)


def check_result_after_sigkill_restart_pairs():
    check_result_after_restart_pairs(signal.SIGKILL)


def check_id_reuse_after_restart_is_a_collision(sig=signal.SIGKILL):
    config(COLLISION)
    restart_between(record("tool_call", "act-7", agent="agent-a"), record("tool_call", "act-7", agent="agent-b"), sig, 2)
    warnings = objects("warnings.jsonl")
    check(len(warnings) == 1 and warnings[0].get("warning") == "action_id_collision"
          and warnings[0].get("established_by") == "agent-a" and warnings[0].get("reused_by") == "agent-b"
          and warnings[0].get("lines") == [{"source": "app.log", "line": 1}, {"source": "app.log", "line": 2}],
          "warnings: %r" % warnings)
    reused = objects("out.jsonl")[-1]
    check(reused.get("collision", {}).get("established_by") == "agent-a", "the reusing record: %r" % reused)


def check_id_reuse_after_sigterm_restart_is_a_collision():
    check_id_reuse_after_restart_is_a_collision(signal.SIGTERM)


def check_changed_config_drops_state_with_warning():
    """A state saved under another profile is not restored: a warning says so, the stage
    starts empty (the result is an orphan), and the run goes on."""
    config(LIFECYCLE)
    append(record("tool_call", "act-1", second=1))
    p = start("cfg.yaml")
    try:
        wait_until(checkpoint_covers_log, "the checkpoint")
    finally:
        check(stop(p) == 0, "exit code of the first run")
    config("    - type: lifecycle\n      profile: action-event\n")
    append(record("action_completed", "act-1", second=2))
    p = start("cfg.yaml")
    try:
        wait_until(lambda: len(read_lines("out.jsonl")) >= 2, "the second run's record")
    finally:
        check(stop(p) == 0, "exit code of the second run")
    err = open("err.txt").read()
    want = ("agentlog: warning: checkpoint state/checkpoint.json: the state of stage \"lifecycle\" was saved under "
            "another config of the stage; it starts empty\n")
    check(want in err, "stderr: %r" % err)
    check([w.get("violation") for w in objects("warnings.jsonl")] == ["orphan"], "warnings: %r" % objects("warnings.jsonl"))


def check_invalid_state_fails_before_reading():
    config(LIFECYCLE)
    append(record("tool_call", "act-1"))
    with open("state/checkpoint.json", "w") as f:
        f.write('{"version":2,"files":[],"stages":{"lifecycle":{"type":"lifecycle","config":"%s","state":[]}}}\n'
                % lifecycle_config())
    p = start("cfg.yaml")
    try:
        rc = p.wait(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise Fail("agentlog kept running with an invalid stage state")
    check(rc == 1, "exit code %s, want 1" % rc)
    err = open("err.txt").read()
    want = ("agentlog: error: checkpoint state/checkpoint.json: the state of stage \"lifecycle\" is not valid "
            "(the state must be an object); remove \"lifecycle\" from the checkpoint's \"stages\" to start that "
            "stage empty\n")
    check(want in err, "stderr: %r" % err)
    check(read_lines("out.jsonl") == [], "records were written: %r" % read_lines("out.jsonl"))


def lifecycle_config():
    """The lifecycle stage's config fingerprint, from a checkpoint it writes."""
    d = tempfile.mkdtemp(dir=".")
    here = os.getcwd()
    os.chdir(d)
    try:
        config(LIFECYCLE)
        append(record("tool_call", "act-0"))
        p = start("cfg.yaml")
        try:
            wait_until(checkpoint_covers_log, "the checkpoint")
        finally:
            stop(p)
        return json.load(open("state/checkpoint.json"))["stages"]["lifecycle"]["config"]
    finally:
        os.chdir(here)


def check_stop_before_follow_reports_open_lifecycles():
    """A stop while an earlier input that is not followed is read: the followed input was
    never reached, so nothing saves the stages' state; lifecycle must report what is open
    (open_at_end) as a run without follow mode does, not keep it for a save that never comes."""
    config(LIFECYCLE, extra_input="    - type: file\n      paths: [big.jsonl]\n")
    # The followed input comes after big.jsonl (follow-mode inputs run after the others).
    with open("big.jsonl", "w") as f:
        for i in range(400000):
            f.write(record("tool_call", "big-%d" % i, second=i % 60))
    append(record("tool_call", "act-1"))
    p = start("cfg.yaml")
    try:
        wait_until(lambda: len(read_lines("out.jsonl")) > 0, "the first records of big.jsonl")
    finally:
        check(stop(p) == 0, "exit code")
    out = len(read_lines("out.jsonl"))
    check(0 < out < 400000, "the stop did not come while big.jsonl was read (%d records out)" % out)
    open_at_end = [w for w in objects("warnings.jsonl") if w.get("violation") == "open_at_end"]
    check(len(open_at_end) == out, "%d open_at_end warnings for %d open calls" % (len(open_at_end), out))


CHECKS = [
    check_stop_before_follow_reports_open_lifecycles,
    check_result_after_sigterm_restart_pairs,
    check_result_after_sigkill_restart_pairs,
    check_id_reuse_after_restart_is_a_collision,
    check_id_reuse_after_sigterm_restart_is_a_collision,
    check_changed_config_drops_state_with_warning,
    check_invalid_state_fails_before_reading,
]


def main():
    return run_checks(CHECKS, "follow_state_tests.py", "agentlog-state.")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Inputs as a new user names them: framing sniffed from the content, directories and **
globs, --format/--framing, format auto, the wrong format, configs run from another directory.

    python3 tests/cli/input_format_tests.py /path/to/agentlog

Each check runs in its own temporary directory; prints "ok - NAME" or "not ok - NAME: WHY",
and exits 1 when any check failed.
"""
import json
import os
import subprocess
import sys
import tempfile

BIN = os.path.abspath(sys.argv[1])
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SAMPLES = os.path.join(REPO, "samples")
PLAIN = "pipeline: {}\n"

CLAUDE_LINE = {
    "parentUuid": None, "cwd": "/home/dev/app", "sessionId": "s-1", "version": "2.1.3", "userType": "external",
    "isSidechain": False, "type": "user", "uuid": "u-1", "timestamp": "2026-03-02T09:14:01.250Z",
    "message": {"role": "user", "content": "fix the bug"},
}
CODEX_LINE = {"timestamp": "2026-03-04T16:02:11.000Z", "type": "session_meta",
              "payload": {"id": "0199a7c4", "cwd": "/w", "originator": "codex_cli_rs", "cli_version": "0.46.0"}}
OPENHANDS_EVENTS = [
    {"id": 0, "timestamp": "2026-03-05T10:20:00", "source": "agent", "action": "system",
     "args": {"content": "x", "openhands_version": "0.59.0", "agent_class": "CodeActAgent"}},
    {"id": 1, "timestamp": "2026-03-05T10:20:01", "source": "agent", "action": "run",
     "args": {"command": "ls -la"}, "tool_call_metadata": {"tool_call_id": "call-1", "function_name": "execute_bash"}},
    {"id": 2, "timestamp": "2026-03-05T10:20:02", "source": "agent", "observation": "run", "cause": 1,
     "content": "total 0", "extras": {"exit_code": 0}},
]
SPEC002 = {"event_time": "2026-01-15T09:30:00.000Z", "agent_id": "a", "agent_version": "1", "run_id": "r",
           "event_type": "tool_call", "actor_id": "u", "tool_name": "t", "tool_action": "read",
           "tool_target": "x", "auth_context": "c", "input_ref": "sha256:" + "0" * 64,
           "output_ref": "urn:agentlog:none", "decision": "allow", "evidence_ref": "urn:x:y", "action_id": "c1"}


def write(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def run(args, cwd):
    return subprocess.run([BIN] + args, cwd=cwd, capture_output=True, text=True, timeout=60)


def records(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def stats(d, args):
    p = run(args + ["--stats-json", "stats.json"], d)
    assert p.returncode == 0, f"exit {p.returncode}: {p.stderr}"
    with open(os.path.join(d, "stats.json")) as f:
        return p, json.load(f)


def check_pretty_object_is_one_record(d):
    write(os.path.join(d, "c.yaml"), PLAIN)
    write(os.path.join(d, "doc.traj"), json.dumps({"trajectory": [], "info": {"exit_status": "submitted"}}, indent=2))
    p, s = stats(d, ["run", "-c", "c.yaml", "doc.traj"])
    assert s["records_in"] == 1 and s["dead_lettered"] == 0, s
    assert records(p.stdout) == [{"trajectory": [], "info": {"exit_status": "submitted"}}], p.stdout


def check_long_single_line_object_is_one_record(d):
    # A compact document longer than max_line_bytes (1 MiB): one record, not a dead letter.
    write(os.path.join(d, "c.yaml"), PLAIN)
    doc = {"history": [{"role": "tool", "content": "x" * 1000} for _ in range(1500)], "info": {}}
    write(os.path.join(d, "big.traj"), json.dumps(doc) + "\n")
    p, s = stats(d, ["run", "-c", "c.yaml", "big.traj"])
    assert s["records_in"] == 1 and s["dead_lettered"] == 0, s


def check_jsonl_stays_lines(d):
    write(os.path.join(d, "c.yaml"), PLAIN)
    write(os.path.join(d, "a.jsonl"), '{"a":1}\n{"a":2}\n{"a":3\n')
    p, s = stats(d, ["run", "-c", "c.yaml", "a.jsonl"])
    assert s["records_in"] == 3 and s["records_out"] == 2 and s["dead_lettered"] == 1, s


def check_array_named_on_command_line(d):
    # The shipped OpenHands config, the array file named on the command line, run elsewhere.
    write(os.path.join(d, "conv.json"), json.dumps(OPENHANDS_EVENTS, indent=2))
    p, s = stats(d, ["run", "-c", os.path.join(REPO, "configs", "normalize-openhands.yaml"), "conv.json"])
    assert s["dead_lettered"] == 0, (s["dead_letter_reasons"], p.stderr)
    out = records(p.stdout)
    kinds = [r.get("event_type") for r in out if "event_type" in r]
    assert kinds.count("tool_call") == 1 and kinds.count("tool_result") == 1, kinds


def check_framing_flag_overrides(d):
    write(os.path.join(d, "c.yaml"), PLAIN)
    write(os.path.join(d, "conv.json"), json.dumps(OPENHANDS_EVENTS, indent=2))
    p, s = stats(d, ["run", "-c", "c.yaml", "--framing", "lines", "conv.json"])
    assert s["records_out"] == 0 and s["dead_lettered"] == s["records_in"] > 10, s
    p, s = stats(d, ["run", "-c", "c.yaml", "--framing", "json-array", "conv.json"])
    assert s["records_out"] == 3, s


def check_bad_flag_values(d):
    write(os.path.join(d, "c.yaml"), PLAIN)
    for args in (["--format", "claude"], ["--framing", "array"]):
        p = run(["run", "-c", "c.yaml"] + args + ["x.jsonl"], d)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert args[0] in p.stderr and "not in" in p.stderr, p.stderr


def check_directory_and_double_star(d):
    write(os.path.join(d, "c.yaml"), PLAIN)
    write(os.path.join(d, "logs", "s1.jsonl"), '{"n":1}\n')
    write(os.path.join(d, "logs", "s1", "subagents", "agent-a.jsonl"), '{"n":2}\n')
    write(os.path.join(d, "logs", "s1", "tool-results", "out.txt"), 'not a log\n')
    write(os.path.join(d, "logs", "z", "deep", "x.jsonl"), '{"n":3}\n')
    p = run(["run", "-c", "c.yaml", "logs"], d)
    assert p.returncode == 0, p.stderr
    # Sorted by path: a session (s1.jsonl) comes before its subagents (s1/subagents/...).
    assert [r["n"] for r in records(p.stdout)] == [1, 2, 3], p.stdout
    p = run(["run", "-c", "c.yaml", "logs/**/subagents/*.jsonl"], d)
    assert [r["n"] for r in records(p.stdout)] == [2], p.stdout
    write(os.path.join(d, "g.yaml"), 'pipeline:\n  inputs: [{type: file, paths: ["logs/**/*.jsonl"]}]\n')
    p = run(["run", "-c", "g.yaml"], d)
    assert sorted(r["n"] for r in records(p.stdout)) == [1, 2, 3], p.stdout
    p = run(["run", "-c", "c.yaml", "nothing/**/*.jsonl"], d)
    assert p.returncode == 1 and "no file matches this pattern" in p.stderr, (p.returncode, p.stderr)


def check_format_auto(d):
    write(os.path.join(d, "c.yaml"), PLAIN)
    write(os.path.join(d, "in", "a-claude.jsonl"), json.dumps(CLAUDE_LINE) + "\n")
    write(os.path.join(d, "in", "b-codex.jsonl"), json.dumps(CODEX_LINE) + "\n")
    write(os.path.join(d, "in", "c-openhands.json"), json.dumps(OPENHANDS_EVENTS, indent=2))
    write(os.path.join(d, "in", "d-spec002.jsonl"), json.dumps(SPEC002) + "\n")
    write(os.path.join(d, "in", "e-other.jsonl"), '{"level":"info","msg":"hello"}\n{"level":"warn","msg":"x"}\n')
    p, s = stats(d, ["run", "-c", "c.yaml", "--format", "auto", "in"])
    st = s["stages"][0]
    assert st["format"] == "auto", st
    assert st["formats_detected"] == {"agent-activity": 1, "claude-code": 1, "codex": 1, "openhands": 1,
                                      "unrecognised": 1}, st["formats_detected"]
    assert st["sources"]["in/e-other.jsonl"] == "unrecognised", st["sources"]
    assert s["dead_letter_reasons"] == {"normalize.invalid": 2} or sum(s["dead_letter_reasons"].values()) == 2, s
    assert "in/e-other.jsonl is not a known agent log format" in p.stderr, p.stderr
    out = records(p.stdout)
    assert SPEC002 in out, "a spec 002 record passes through unchanged"
    assert any(r.get("agent_id") == "claude-code" for r in out), out
    assert any(r.get("agent_id", "").startswith("openhands") for r in out), out


def check_wrong_format_is_loud(d):
    # A Claude Code transcript read as a Codex rollout: a hint and a mostly-unknown warning.
    write(os.path.join(d, "c.yaml"), PLAIN)
    lines = [dict(CLAUDE_LINE, uuid=f"u-{i}", type="assistant" if i % 2 else "user") for i in range(8)]
    write(os.path.join(d, "t.jsonl"), "".join(json.dumps(l) + "\n" for l in lines))
    p, s = stats(d, ["run", "-c", "c.yaml", "--format", "codex", "t.jsonl"])
    assert "t.jsonl looks like claude-code, not codex" in p.stderr, p.stderr
    assert "8 of 8 lines are of types format codex does not know" in p.stderr, p.stderr
    assert s["stages"][0]["sources_mostly_unknown"] == ["t.jsonl"], s["stages"][0]


def check_config_from_another_directory(d):
    # The shipped configs find their samples and dead-letter file from any working directory.
    dead = os.path.join(d, "dead.jsonl")
    env = dict(os.environ, AGENTLOG_DEAD_LETTER=dead)
    for cfg in ("default.yaml", "normalize-claude-code.yaml", "normalize-codex.yaml", "normalize-openhands.yaml"):
        p = subprocess.run([BIN, "run", "-q", "-c", os.path.join(REPO, "configs", cfg)], cwd=d, env=env,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, (cfg, p.returncode, p.stderr)
        assert records(p.stdout), (cfg, "no output")
        assert os.path.getsize(dead) > 0, (cfg, "the samples' faulty lines reach the dead-letter file")


def check_config_dir_variable(d):
    write(os.path.join(d, "conf", "c.yaml"),
          'pipeline:\n  inputs: [{type: file, paths: ["${CONFIG_DIR}/data/*.jsonl"]}]\n'
          '  outputs: [{type: file, path: "${OUT:-${CONFIG_DIR}/out.jsonl}"}]\n')
    write(os.path.join(d, "conf", "data", "x.jsonl"), '{"k":1}\n')
    os.makedirs(os.path.join(d, "elsewhere"))
    p = run(["run", "-q", "-c", "../conf/c.yaml"], os.path.join(d, "elsewhere"))
    assert p.returncode == 0, p.stderr
    with open(os.path.join(d, "conf", "out.jsonl")) as f:
        assert records(f.read()) == [{"k": 1}]


CHECKS = [v for k, v in sorted(globals().items()) if k.startswith("check_")]


def main():
    failed = 0
    for check in CHECKS:
        name = check.__name__[len("check_"):]
        with tempfile.TemporaryDirectory(prefix="agentlog-input-") as d:
            try:
                check(d)
                print(f"ok - {name}")
            except AssertionError as e:
                failed += 1
                print(f"not ok - {name}: {e}")
            except Exception as e:  # noqa: BLE001 - report and go on
                failed += 1
                print(f"not ok - {name}: {type(e).__name__}: {e}")
    print(f"{len(CHECKS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

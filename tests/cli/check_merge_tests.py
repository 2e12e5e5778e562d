#!/usr/bin/env python3
"""`agentlog check --merge` against one check over the whole input.

    python3 tests/cli/check_merge_tests.py /path/to/agentlog /path/to/source

For every golden_check case with reports: the case's input files are split by run_id into
three parts (each run whole in one part, in its order, with the runs it shares an action_id
with; lines without a run_id in part 0, unreadable lines spread over the parts), each part is checked in a directory of its own
under the same file names (`check --report json=...`), the three reports are merged, and the
merged JSON and text reports must equal the single check's: verdict, every rule's status,
actual, limit and detail, totals, dead letters, inputs, counts, lifecycles, collisions,
escalations, durations and runs. Example lines are not compared: a part's line numbers are
its own. Then the exact errors for reports that cannot be merged.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

BIN = os.path.abspath(sys.argv[1])
SRC = os.path.abspath(sys.argv[2])
CASES = os.path.join(SRC, "tests", "golden_check")
TMP = tempfile.mkdtemp(prefix="agentlog-merge.")
PARTS = 3
failures = []


def run(args, cwd):
    return subprocess.run([BIN] + args, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, LC_ALL="C", NO_COLOR="1"))


def groups(case, inputs):
    # Runs that share an action_id stay together: a collision across runs is seen only when
    # both runs are in one part (as in a cluster partitioned by the collision key).
    parent = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x
    by_action = {}
    for name in inputs:
        with open(os.path.join(case, name), "rb") as f:
            for line in f.read().split(b"\n"):
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict) and isinstance(rec.get("run_id"), str):
                    find(rec["run_id"])
                    if isinstance(rec.get("action_id"), str):
                        other = by_action.setdefault(rec["action_id"], rec["run_id"])
                        parent[find(rec["run_id"])] = find(other)
    return find


def split(case, inputs, dest):
    runs = {}
    group = groups(case, inputs)
    dirs = []
    for k in range(PARTS):
        d = os.path.join(dest, "part%d" % k)
        os.makedirs(d)
        shutil.copy(os.path.join(case, "config.yaml"), d)
        dirs.append(d)
    bad = 0
    for name in inputs:
        with open(os.path.join(case, name), "rb") as f:
            data = f.read()
        parts = [[] for _ in range(PARTS)]
        for line in data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n"):
            try:
                rec = json.loads(line)
                run_id = rec.get("run_id") if isinstance(rec, dict) else None
            except ValueError:
                run_id, rec = None, None
            if rec is None:
                k, bad = bad % PARTS, bad + 1
            elif not isinstance(run_id, str):
                k = 0
            else:
                k = runs.setdefault(group(run_id), len(runs) % PARTS)
            parts[k].append(line)
        for k in range(PARTS):
            with open(os.path.join(dirs[k], name), "wb") as f:
                f.write(b"".join(l + b"\n" for l in parts[k]) if data else b"")
    return dirs


def comparable(report):
    r = json.loads(report)
    r.pop("merge")
    for rule in r["rules"]:
        rule.pop("examples")
    r["collisions"].pop("examples")
    r["runs"]["list"].sort(key=lambda x: x["id"])
    return r


def text_without_examples(text):
    return [l for l in text.split("\n") if not l.startswith("        ")]


def check_case(case):
    name = os.path.basename(case)
    inputs = sorted(os.path.basename(p) for p in glob.glob(os.path.join(case, "input*")))
    d = os.path.join(TMP, name)
    os.makedirs(d)
    whole = run(["check", "-q", "-c", "config.yaml", "--report", "json=%s/whole.json" % d,
                 "--report", "text=%s/whole.txt" % d] + inputs, case)
    parts = []
    for k, pd in enumerate(split(case, inputs, d)):
        p = run(["check", "-q", "-c", "config.yaml", "--report", "json=%s/part%d.json" % (d, k)] + inputs, pd)
        assert p.returncode in (0, 1), "%s part %d: exit %d: %s" % (name, k, p.returncode, p.stderr)
        parts.append("%s/part%d.json" % (d, k))
    m = run(["check", "--merge", "-c", "config.yaml", "--report", "json=%s/merged.json" % d,
             "--report", "text=%s/merged.txt" % d] + parts, case)
    # Records without run_id: whether they were split cannot be told, so lifecycle and
    # escalation rules are refused (exactly this message), never approximated.
    no_run = "%s/part0.json has records without run_id: the " % d
    if m.returncode == 2 and m.stderr.startswith("agentlog: error: " + no_run):
        assert re.fullmatch(r"agentlog: error: %s(lifecycles_complete|escalations_resolved) rule cannot be merged "
                            r"exactly, as their lifecycles and escalations may span reports; check records without "
                            r"run_id in one process\n" % re.escape(no_run), m.stderr), m.stderr
        refused.append(name)
        return whole.returncode
    assert m.returncode == whole.returncode, "%s: merged exit %d, whole %d: %s" % (
        name, m.returncode, whole.returncode, m.stderr)
    with open(d + "/whole.json") as f:
        w = comparable(f.read())
    with open(d + "/merged.json") as f:
        got = comparable(f.read())
    for key in w:
        assert got[key] == w[key], "%s: %s differs:\n merged %s\n whole  %s" % (
            name, key, json.dumps(got[key])[:600], json.dumps(w[key])[:600])
    with open(d + "/whole.txt") as f, open(d + "/merged.txt") as g:
        wt, gt = text_without_examples(f.read()), text_without_examples(g.read())
    assert wt == gt, "%s: text reports differ:\n%s\n---\n%s" % (name, "\n".join(gt), "\n".join(wt))
    return whole.returncode


refused = []


def expect_error(what, args, want, cwd=TMP):
    p = run(["check", "--merge"] + args, cwd)
    got = p.stderr.strip()
    if p.returncode != 2 or got != want:
        failures.append("%s: exit %d, stderr\n  %s\nwant\n  %s" % (what, p.returncode, got, want))


def errors():
    case = os.path.join(CASES, "collisions-fail")
    d = os.path.join(TMP, "errors")
    os.makedirs(d)
    cfg = os.path.join(case, "config.yaml")
    run(["check", "-q", "-c", "config.yaml", "--report", "json=%s/a.json" % d, "input.jsonl"], case)
    with open(d + "/a.json") as f:
        a = json.load(f)
    expect_error("no report", ["-c", cfg], "agentlog: usage error: --merge needs the JSON reports to merge")
    expect_error("missing file", ["-c", cfg, d + "/nope.json"],
                 "agentlog: error: %s/nope.json: cannot read the report: No such file or directory" % d)
    with open(d + "/garbage.json", "w") as f:
        f.write("agentlog check: policy golden\n")
    expect_error("not JSON", ["-c", cfg, d + "/garbage.json"],
                 "agentlog: error: %s/garbage.json: not a JSON report of agentlog check" % d)
    v1 = dict(a, report_version=1)
    with open(d + "/v1.json", "w") as f:
        json.dump(v1, f)
    expect_error("report version", ["-c", cfg, d + "/a.json", d + "/v1.json"],
                 "agentlog: error: %s/v1.json: report_version 1; --merge reads version 2 (check again with this "
                 "agentlog, %s)" % (d, a["agentlog_version"]))
    other = dict(a, agentlog_version="0.0.9")
    with open(d + "/other.json", "w") as f:
        json.dump(other, f)
    expect_error("agentlog version", ["-c", cfg, d + "/a.json", d + "/other.json"],
                 "agentlog: error: %s/other.json: written by agentlog 0.0.9, %s/a.json by agentlog %s; merge reports "
                 "of one version" % (d, d, a["agentlog_version"]))
    no_merge = dict(a)
    no_merge.pop("merge")
    with open(d + "/nomerge.json", "w") as f:
        json.dump(no_merge, f)
    expect_error("no merge section", ["-c", cfg, d + "/nomerge.json"],
                 "agentlog: error: %s/nomerge.json: not a JSON report of agentlog check (no valid \"merge\")" % d)
    expect_error("another policy", [d + "/a.json"],
                 "agentlog: error: %s/a.json: checked under another policy (\"golden\" from \"config.yaml\") than the "
                 "one given (\"default\" from \"\"); give --merge the policy the checks used (--policy or -c)" % d)
    # The same run in two reports: lifecycles_complete cannot be merged.
    pol = os.path.join(d, "lifecycles.yaml")
    with open(pol, "w") as f:
        f.write("policy:\n  rules:\n    - {id: complete, type: lifecycles_complete}\n")
    for k in "xy":
        run(["check", "-q", "-c", cfg, "--policy", pol, "--report", "json=%s/%s.json" % (d, k),
             os.path.join(case, "input.jsonl")], d)
    expect_error("split run", ["--policy", pol, d + "/x.json", d + "/y.json"],
                 "agentlog: error: run \"run-1\" is in %s/x.json and %s/y.json: the lifecycles_complete rule cannot be "
                 "merged exactly when a run is split between reports; partition the records by run_id" % (d, d))
    # Runs past limits.max_runs are not listed: a split among them cannot be seen.
    pol = os.path.join(d, "max_runs.yaml")
    with open(pol, "w") as f:
        f.write("policy:\n  limits: {max_runs: 1}\n  rules:\n    - {id: complete, type: lifecycles_complete}\n")
    rec = '{"event_time":"2026-01-01T00:00:0%dZ","agent_id":"a","run_id":"%s","event_type":"agent_run"}\n'
    with open(os.path.join(d, "p.jsonl"), "w") as f:
        f.write(rec % (0, "run-0") + rec % (1, "run-1"))
    with open(os.path.join(d, "q.jsonl"), "w") as f:
        f.write(rec % (2, "run-2") + rec % (3, "run-1"))
    for k in "pq":
        run(["check", "-q", "-c", cfg, "--policy", pol, "--report", "json=%s/%s.json" % (d, k), "%s.jsonl" % k], d)
    expect_error("unlisted runs", ["--policy", pol, d + "/p.json", d + "/q.json"],
                 "agentlog: error: %s/p.json counts records of runs it does not list (past limits.max_runs): the "
                 "lifecycles_complete rule cannot be merged exactly, as such a run may be split between reports; "
                 "raise limits.max_runs" % d)
    # One report given twice (by any path) would count its records twice.
    expect_error("same report twice", ["-c", cfg, d + "/a.json", d + "/../errors/a.json"],
                 "agentlog: error: %s/../errors/a.json: the same report as %s/a.json; give each check's report once "
                 "(its records would count twice)" % (d, d))
    # Counts that add up past 2^64 come from no check.
    for k in "12":
        big = json.loads(json.dumps(a))
        big["schema_violations"]["total"] = 2 ** 63
        with open(d + "/big%s.json" % k, "w") as f:
            json.dump(big, f)
    expect_error("overflow", ["-c", cfg, d + "/big1.json", d + "/big2.json"],
                 "agentlog: error: %s/big2.json: its counts and those before it add up past 2^64; not reports a "
                 "check wrote" % d)
    # Inputs summed as "(other)": a per_input rule cannot be evaluated on the sum.
    pol = os.path.join(d, "per_input.yaml")
    with open(pol, "w") as f:
        f.write("policy:\n  limits: {max_values: 1}\n  rules:\n    - {id: each, type: min_records, per_input: true}\n")
    for k in "ab":
        open(os.path.join(d, "in-%s.jsonl" % k), "w").close()
    run(["check", "-q", "-c", cfg, "--policy", pol, "--report", "json=%s/folded.json" % d, "in-a.jsonl", "in-b.jsonl"], d)
    expect_error("folded inputs", ["--policy", pol, d + "/folded.json"],
                 "agentlog: error: rule \"each\" (min_records, per_input) cannot be merged exactly: a report lists only "
                 "limits.max_values (1) inputs and sums the rest; raise limits.max_values")
    # A check that could not read an input: the merge is incomplete (exit 2) after writing its reports.
    run(["check", "-q", "-c", cfg, "--report", "json=%s/incomplete.json" % d, d + "/missing.jsonl"], d)
    expect_error("incomplete", ["-c", cfg, "--report", "json=%s/m.json" % d, d + "/a.json", d + "/incomplete.json"],
                 "agentlog: error: a merged check was incomplete (it could not read every input, or was "
                 "interrupted); the merged check is incomplete")
    if not os.path.exists(d + "/m.json"):
        failures.append("incomplete: the merged report was not written")


verdicts = {}
for case in sorted(glob.glob(os.path.join(CASES, "*"))):
    if not os.path.exists(os.path.join(case, "expected.json")):
        continue
    try:
        verdicts[os.path.basename(case)] = check_case(case)
    except AssertionError as e:
        failures.append(str(e))
try:
    errors()
except AssertionError as e:
    failures.append(str(e))
if not failures:
    shutil.rmtree(TMP, ignore_errors=True)
for f in failures:
    print("FAIL " + f)
passing = sum(1 for v in verdicts.values() if v == 0)
print("%d cases merged (%d passing, %d failing policies; %d refused as records without run_id); %d passed, "
      "%d failed" % (len(verdicts), passing, len(verdicts) - passing, len(refused), len(verdicts) + 12 - len(failures),
                     len(failures)))
sys.exit(1 if failures else 0)

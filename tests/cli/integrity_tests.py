#!/usr/bin/env python3
"""End-to-end tests of tamper-evident file outputs (`integrity:`), `agentlog keygen` and
`agentlog verify` (docs/integrity.md).

    python3 tests/cli/integrity_tests.py /path/to/agentlog

Each check runs in its own empty directory. Output is waited for by polling with a
deadline, never by sleeping. Prints "ok - NAME" / "not ok - NAME: REASON", then a count.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

BIN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
DEADLINE = 10.0
ORIGIN = "example.com/audit"


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def run(args, stdin=b"", env=None):
    p = subprocess.run([BIN] + args, input=stdin, capture_output=True, env=env, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def keygen(name="audit", out="k"):
    rc, so, se = run(["keygen", "--name", name, "--out", out])
    check(rc == 0, "keygen: %d %s" % (rc, se))
    return so.strip()


def config(path="out.jsonl", key="k", origin=ORIGIN, extra=""):
    with open("c.yaml", "w") as f:
        f.write("pipeline:\n  outputs:\n    - type: file\n      path: %s\n"
                "      integrity: {key_file: %s, origin: %s, checkpoint_every_ms: 0%s}\n" % (path, key, origin, extra))


def records(first, count):
    return b"".join(b'{"n":%d,"agent":"a"}\n' % i for i in range(first, first + count))


def write_run(first, count):
    rc, so, se = run(["run", "-c", "c.yaml", "-q", "-"], records(first, count))
    check(rc == 0, "run: %d %s" % (rc, se))
    return se


def verify(*logs, extra=()):
    return run(["verify", "--key-file", "k.pub"] + list(extra) + list(logs))


def expect_ok(*logs, extra=()):
    rc, so, se = verify(*logs, extra=extra)
    check(rc == 0 and so.startswith("OK: "), "verify: %d [%s] [%s]" % (rc, so, se))


def expect_fail(line, *logs, extra=()):
    rc, so, se = verify(*logs, extra=extra)
    check(rc == 1, "verify exit %d, want 1: [%s] [%s]" % (rc, so, se))
    check(so == "FAIL: " + line + "\n", "verify said [%s], want [FAIL: %s]" % (so.rstrip("\n"), line))


def three_runs():
    """A log written by three runs of 10 records: checkpoints at sizes 0, 10, 20, 30."""
    keygen()
    config()
    for first in (1, 11, 21):
        write_run(first, 10)


def lines(path="out.jsonl"):
    with open(path, "rb") as f:
        return f.read().split(b"\n")[:-1]


def put_lines(ls, path="out.jsonl"):
    with open(path, "wb") as f:
        f.write(b"".join(l + b"\n" for l in ls))


def notes(path="out.jsonl.checkpoints"):
    """The checkpoints file split into notes (each ends after its signature line)."""
    text = open(path, "rb").read().decode()
    out, cur = [], ""
    for line in text.splitlines(keepends=True):
        cur += line
        if line.startswith("\u2014 "):
            out.append(cur)
            cur = ""
    return out


def cp_line(i):
    """The line of checkpoint i (1-based) in the checkpoints file."""
    return 1 + 5 * (i - 1)


# ---------------------------------------------------------------------------
# untouched logs verify

def test_untouched_log_verifies():
    three_runs()
    check([json.loads(l)["n"] for l in lines()] == list(range(1, 31)), "records changed")
    check(len(notes()) == 4, "want 4 checkpoints, got %d" % len(notes()))
    rc, so, se = verify("out.jsonl")
    check(rc == 0, "exit %d %s" % (rc, so))
    root = notes()[-1].split("\n")[2]
    check(so == "OK: 30 lines in 1 files (%d bytes), 4 checkpoints of %s, last size 30 root %s\n"
          % (os.path.getsize("out.jsonl"), ORIGIN, root), "said " + so)


def test_checkpoint_every_records():
    keygen()
    config(extra=", checkpoint_every_records: 5")
    # Two input files: the runner flushes after each, so the count can trigger.
    with open("a.jsonl", "wb") as f:
        f.write(records(1, 6))
    with open("b.jsonl", "wb") as f:
        f.write(records(7, 6))
    rc, so, se = run(["run", "-c", "c.yaml", "-q", "a.jsonl", "b.jsonl"])
    check(rc == 0, se)
    sizes = [n.split("\n")[1] for n in notes()]
    check(sizes == ["0", "6", "12"], "sizes %s" % sizes)
    expect_ok("out.jsonl")


def test_rotated_twice_verifies():
    keygen()
    config()
    p = subprocess.Popen([BIN, "run", "-c", "c.yaml", "-q", "-"], stdin=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    n = 0

    def feed(count, path="out.jsonl", before=0):
        nonlocal n
        p.stdin.write(records(n + 1, count))
        p.stdin.flush()
        n += count
        wait(lambda: os.path.exists(path) and len(lines(path)) >= count, "%d lines in %s" % (count, path))

    def wait(pred, what):
        end = time.monotonic() + DEADLINE
        while not pred():
            check(time.monotonic() < end, "timed out waiting for " + what)
            time.sleep(0.01)

    try:
        feed(5)
        for k in (2, 1):
            # logrotate's "create": the file is renamed, agentlog reopens on SIGHUP.
            if k == 2:
                os.rename("out.jsonl", "out.jsonl.1")
            else:
                os.rename("out.jsonl.1", "out.jsonl.2")
                os.rename("out.jsonl", "out.jsonl.1")
            before = len(notes())
            p.send_signal(signal.SIGHUP)
            wait(lambda: os.path.exists("out.jsonl"), "the reopened file")
            feed(4)
        p.stdin.close()
        check(p.wait(timeout=DEADLINE) == 0, "exit " + p.stderr.read().decode())
    finally:
        if p.poll() is None:
            p.kill()
    check(len(lines("out.jsonl.2")) == 5 and len(lines("out.jsonl.1")) == 4, "rotation split")
    sizes = [n.split("\n")[1] for n in notes()]
    check(sizes == ["0", "5", "9", "13"], "checkpoint sizes %s" % sizes)
    expect_ok("out.jsonl.2", "out.jsonl.1", "out.jsonl", extra=("--checkpoints", "out.jsonl.checkpoints"))
    # Out of order, the rotated files do not verify.
    rc, so, se = verify("out.jsonl.1", "out.jsonl.2", "out.jsonl")
    check(rc == 1, "files out of order verified: " + so)


def test_after_crash_torn_line_reported_then_covered():
    keygen()
    config()
    p = subprocess.Popen([BIN, "run", "-c", "c.yaml", "-q", "-"], stdin=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        p.stdin.write(records(1, 7))
        p.stdin.flush()
        end = time.monotonic() + DEADLINE
        while not (os.path.exists("out.jsonl") and len(lines()) == 7):
            check(time.monotonic() < end, "timed out waiting for the output")
            time.sleep(0.01)
    finally:
        p.kill()  # SIGKILL: no closing checkpoint
        p.wait()
    with open("out.jsonl", "ab") as f:
        f.write(b'{"n":8,"ag')  # a write torn by the crash
    expect_fail("out.jsonl: ends with an incomplete line after line 7 (a torn write: the writer stopped mid-line)",
                "out.jsonl")
    se = write_run(8, 3)
    check("cut an incomplete last line of 10 bytes" in se, "torn line not reported: " + se)
    check("7 lines after the last checkpoint (an earlier run stopped without one) are covered by a new checkpoint"
          in se, "recovery not reported: " + se)
    check([json.loads(l)["n"] for l in lines()] == list(range(1, 11)), "records")
    expect_ok("out.jsonl")


def test_clean_log_with_added_line_is_not_continued():
    three_runs()
    with open("out.jsonl", "ab") as f:
        f.write(b'{"n":99}\n')
    rc, so, se = run(["run", "-c", "c.yaml", "-q", "-"], records(31, 1))
    check(rc == 1, "exit %d" % rc)
    check(se == "agentlog: error: out.jsonl: 9 bytes follow the last checkpoint although the run that wrote it "
          "closed cleanly (written by someone else?); run agentlog verify\n", "stderr " + se)


# ---------------------------------------------------------------------------
# the tamper suite: each change is detected and named

MISMATCH = ("lines 11..20 (out.jsonl:11 to out.jsonl:20) do not match checkpoint 3 (out.jsonl.checkpoints:11, "
            "size 20): a line in this range was changed, inserted, removed or moved")


def test_tamper_edit_one_byte():
    three_runs()
    ls = lines()
    ls[14] = ls[14].replace(b'"a"', b'"b"')
    put_lines(ls)
    expect_fail(MISMATCH, "out.jsonl")


def test_tamper_delete_line():
    three_runs()
    ls = lines()
    del ls[14]
    put_lines(ls)
    expect_fail(MISMATCH, "out.jsonl")


def test_tamper_swap_lines():
    three_runs()
    ls = lines()
    ls[14], ls[15] = ls[15], ls[14]
    put_lines(ls)
    expect_fail(MISMATCH, "out.jsonl")


def test_tamper_truncate():
    three_runs()
    put_lines(lines()[:25])
    expect_fail("the log has 25 lines but checkpoint 4 (out.jsonl.checkpoints:16, size 30) covers 30: lines were "
                "removed or the log was truncated", "out.jsonl")


def test_tamper_append_forged_line():
    three_runs()
    put_lines(lines() + [b'{"n":31,"agent":"a"}'])
    expect_fail("lines 31..31 (from out.jsonl:31) are not covered by any checkpoint (added after the last one; "
                "agentlog signs one at every close)", "out.jsonl")


def test_tamper_splice_from_other_log_same_key():
    three_runs()
    os.mkdir("other")
    config(path="other/out.jsonl", origin="example.com/other")
    for first in (1, 11, 21):
        write_run(first + 100, 10)
    ls, other = lines(), lines("other/out.jsonl")
    put_lines(ls[:10] + other[10:20] + ls[20:])
    expect_fail(MISMATCH, "out.jsonl")
    # The other log's checkpoints carry its own origin.
    put_lines(ls)
    with open("out.jsonl.checkpoints", "a") as f:
        f.write(notes("other/out.jsonl.checkpoints")[-1])
    expect_fail('checkpoint 5 (out.jsonl.checkpoints:21): origin "example.com/other" is not the log\'s origin "%s"'
                % ORIGIN, "out.jsonl")


def test_tamper_checkpoint_signed_by_other_key():
    three_runs()
    # An attacker's key of the same name signs a checkpoint of the edited log.
    os.mkdir("evil")
    shutil.copy("out.jsonl", "evil/out.jsonl")
    os.chdir("evil")
    evil = keygen(name="audit", out="k")
    config()
    write_run(31, 1)
    os.chdir("..")
    ns = notes()
    ns[-1] = notes("evil/out.jsonl.checkpoints")[-1]
    with open("out.jsonl.checkpoints", "w") as f:
        f.write("".join(ns))
    shutil.copy("evil/out.jsonl", "out.jsonl")
    good = open("k.pub").read().strip().split("+")
    expect_fail('checkpoint 4 (out.jsonl.checkpoints:16): not signed by the verifier key audit+%s (signed by key '
                '"audit" id %s)' % (good[1], evil.split("+")[1]), "out.jsonl")


def test_tamper_replayed_older_checkpoint():
    three_runs()
    ns = notes()
    with open("out.jsonl.checkpoints", "a") as f:
        f.write(ns[1])
    expect_fail("checkpoint 5 (out.jsonl.checkpoints:21): tree size 10 is smaller than the previous checkpoint's 30 "
                "(an older checkpoint replayed?)", "out.jsonl")


def test_tamper_changed_origin():
    three_runs()
    ns = notes()
    ns[2] = ns[2].replace(ORIGIN + "\n", "example.com/elsewhere\n", 1)
    with open("out.jsonl.checkpoints", "w") as f:
        f.write("".join(ns))
    expect_fail('checkpoint 3 (out.jsonl.checkpoints:11): origin "example.com/elsewhere" is not the log\'s origin '
                '"%s"' % ORIGIN, "out.jsonl")
    # Also when every checkpoint is renamed: the signatures cover the origin.
    renamed = "".join(n.replace(ORIGIN + "\n", "example.com/elsewhere\n", 1) for n in notes())
    with open("out.jsonl.checkpoints", "w") as f:
        f.write(renamed)
    expect_fail("checkpoint 1 (out.jsonl.checkpoints:1): the signature does not verify (the checkpoint text was "
                "changed)", "out.jsonl")


def test_same_checkpoint_twice_verifies():
    three_runs()
    ns = notes()
    ns.insert(3, ns[2])  # the same checkpoint twice is fine
    with open("out.jsonl.checkpoints", "w") as f:
        f.write("".join(ns))
    expect_ok("out.jsonl")


# ---------------------------------------------------------------------------
# proofs, keys, openssl

def test_prove_and_check_one_record():
    three_runs()
    rc, so, se = verify("out.jsonl", extra=("--prove", "17"))
    check(rc == 0, "prove: %d %s %s" % (rc, so, se))
    proof = json.loads(so)
    check(proof["origin"] == ORIGIN and proof["tree_size"] == 30 and proof["line"] == 17 and
          proof["leaf_index"] == 16 and len(proof["proof"]) == 5, "proof %s" % proof)
    with open("p.json", "w") as f:
        f.write(so)
    record = lines()[16].decode()
    rc, so, se = run(["verify", "--key-file", "k.pub", "--record", record, "--proof", "p.json"])
    check(rc == 0 and so == "OK: the record is line 17 of %s, in the checkpoint of size 30\n" % ORIGIN, so + se)
    rc, so, se = run(["verify", "--key-file", "k.pub", "--record", record.replace("17", "18"), "--proof", "p.json"])
    check(rc == 1 and so == "FAIL: the record is not line 17 of %s at tree size 30 (the record or the proof "
          "differs)\n" % ORIGIN, so + se)


def test_signature_verifies_with_openssl():
    three_runs()
    note = notes()[-1].split("\n")
    with open("msg", "w") as f:
        f.write("\n".join(note[:3]) + "\n")
    import base64
    sig = base64.b64decode(note[4].split(" ")[2])
    with open("sig", "wb") as f:
        f.write(sig[4:])
    p = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "k.pub.pem", "-rawin", "-in", "msg",
                        "-sigfile", "sig"], capture_output=True)
    check(p.returncode == 0 and b"Signature Verified Successfully" in p.stdout, p.stdout + p.stderr)
    with open("msg", "a") as f:
        f.write("x")
    p = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "k.pub.pem", "-rawin", "-in", "msg",
                        "-sigfile", "sig"], capture_output=True)
    check(p.returncode != 0, "a changed note verified with openssl")


def test_key_file_mode_refused():
    keygen()
    os.chmod("k", 0o640)
    config()
    rc, so, se = run(["run", "-c", "c.yaml", "-q", "-"], records(1, 1))
    check(rc == 2, "exit %d" % rc)
    check(se == "agentlog: config error: c.yaml:5:29: pipeline.outputs[0].integrity.key_file: k: the private key "
          "may be read by group or others (mode 0640); run chmod 600 on it\n", se)
    check(not os.path.exists("out.jsonl"), "output written")


def test_keygen_refuses_overwrite_and_mode():
    keygen()
    check(os.stat("k").st_mode & 0o777 == 0o600, "mode %o" % os.stat("k").st_mode)
    rc, so, se = run(["keygen", "--name", "audit", "--out", "k"])
    check(rc == 2 and se == "agentlog keygen: k: cannot create: File exists\n", se)


def test_key_from_env_and_never_printed():
    pub = keygen()
    secret = open("k").read().strip()
    os.remove("k")
    with open("c.yaml", "w") as f:
        f.write("pipeline:\n  outputs:\n    - type: file\n      path: out.jsonl\n"
                "      integrity: {key_env: AUDIT_KEY, origin: %s}\n" % ORIGIN)
    env = dict(os.environ, AUDIT_KEY=secret)
    p = subprocess.run([BIN, "run", "-c", "c.yaml", "--stats-json", "stats.json", "-"], input=records(1, 3),
                       capture_output=True, env=env)
    check(p.returncode == 0, p.stderr)
    expect_ok("out.jsonl")
    seed = secret.split("+")[4]
    for name in os.listdir("."):
        check(seed.encode() not in open(name, "rb").read(), "the key is in " + name)
    check(seed.encode() not in p.stdout + p.stderr, "the key was printed")
    stats = json.load(open("stats.json"))
    check(pub.split("+")[2] not in json.dumps(stats), "stats")
    # A damaged key is refused without printing it.
    env["AUDIT_KEY"] = secret[:-3] + "AAA"
    p = subprocess.run([BIN, "check-config", "-c", "c.yaml"], capture_output=True, env=env)
    check(p.returncode == 2 and seed[:20].encode() not in p.stderr, p.stderr)
    del env["AUDIT_KEY"]
    p = subprocess.run([BIN, "check-config", "-c", "c.yaml"], capture_output=True, env=env)
    check(p.stderr == b'agentlog: config error: c.yaml:5:28: pipeline.outputs[0].integrity.key_env: environment '
          b'variable "AUDIT_KEY" is not set\n', p.stderr)


def test_workers_hash_on_workers_same_log():
    """With workers the leaf hashes are worked out on the workers (a "leaf hashes" step); the
    log, its roots and the verdict of verify are those of a one-thread run. The chain ends with
    a stateful stage that annotates every record and adds records of its own."""
    keygen()
    recs = b"".join(b'{"event_type":"tool_call","agent_id":"a","run_id":"r%d","action_id":"x%d",'
                    b'"tool_name":"t","event_time":"2026-01-01T00:00:00Z"}\n' % (i % 7, i)
                    for i in range(5000))
    with open("in.jsonl", "wb") as f:
        f.write(recs + b"not json\n")
    roots = []
    for workers in ("1", "2"):
        with open("c.yaml", "w") as f:
            f.write("pipeline:\n  stages:\n    - type: redact\n      replacement: mask\n    - type: lifecycle\n      profile: agent-activity\n"
                    "  outputs:\n    - type: file\n      path: out%s.jsonl\n"
                    "      integrity: {key_file: k, origin: %s, checkpoint_every_ms: 0, checkpoint_every_records: 1000}\n"
                    "  dead_letter: {type: file, path: dead%s.jsonl}\n" % (workers, ORIGIN, workers))
        rc, so, se = run(["run", "-c", "c.yaml", "--workers", workers, "--step-times", "in.jsonl"])
        check(rc == 0, "run --workers %s: %d %s" % (workers, rc, se))
        if workers == "2":
            check("step leaf hashes (parallel)" in se, "no leaf-hash step on the workers: " + se)
        expect_ok("out%s.jsonl" % workers)
        roots.append([n.split("\n")[1:3] for n in notes("out%s.jsonl.checkpoints" % workers)])
    check(open("out1.jsonl", "rb").read() == open("out2.jsonl", "rb").read(), "outputs differ")
    check(len(lines("out2.jsonl")) > 5000, "lifecycle added no records")
    check(roots[0] == roots[1], "checkpoints differ: %s / %s" % (roots[0][-1], roots[1][-1]))


def test_dead_letter_output_integrity():
    keygen()
    with open("c.yaml", "w") as f:
        f.write("pipeline:\n  outputs: [{type: stdout}]\n  dead_letter:\n    type: file\n    path: dead.jsonl\n"
                "    integrity: {key_file: k, origin: example.com/dead}\n")
    rc, so, se = run(["run", "-c", "c.yaml", "-q", "-"], b'{"n":1}\nnot json\n')
    check(rc == 0, se)
    check(len(lines("dead.jsonl")) == 1, "dead letters")
    expect_ok("dead.jsonl")


def main():
    if not BIN:
        print("usage: integrity_tests.py /path/to/agentlog", file=sys.stderr)
        return 2
    tests = [(k, v) for k, v in globals().items() if k.startswith("test_") and callable(v)]
    passed = failed = 0
    top = tempfile.mkdtemp(prefix="agentlog-integrity.")
    try:
        for name, fn in tests:
            d = os.path.join(top, name)
            os.mkdir(d)
            os.chdir(d)
            try:
                fn()
                print("ok - " + name)
                passed += 1
            except Fail as e:
                print("not ok - %s: %s" % (name, e))
                failed += 1
            except Exception:
                print("not ok - %s: %s" % (name, traceback.format_exc()))
                failed += 1
    finally:
        os.chdir("/")
        shutil.rmtree(top, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

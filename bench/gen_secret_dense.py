#!/usr/bin/env python3
"""Secret-dense free text for the redact benchmark: every record is a spec 002 record whose
details.message is about 300 bytes of agent prose carrying 1-3 synthetic secrets.

The secrets come from the kinds of tests/redact_corpus/make_corpus.py (single-line ones up
to 120 bytes: provider tokens, assignments, headers, command lines, URIs with credentials),
so the bench and the corpus share their shapes. Deterministic: the same arguments give
byte-identical output.

    python3 bench/gen_secret_dense.py --lines 1000000 --out build/bench/secret-dense-1000000.jsonl
"""
import argparse
import hashlib
import json
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "redact_corpus"))
import make_corpus as corpus  # noqa: E402

MESSAGE_BYTES = 300

FILLER = [
    "ran the deploy script for service {n} and checked the health endpoint",
    "tests passed in {n}s; uploading the coverage report to the dashboard",
    "the agent opened a pull request touching {n} files under src/",
    "retrying the request after a {n} ms backoff because the upstream returned 503",
    "compiled {n} targets, linked the binary and wrote the artefact to the cache",
    "read the configuration from the repository and merged {n} overrides",
    "summarised the incident timeline for the on-call engineer in {n} bullet points",
    "queried the metrics store for the last {n} minutes of error rates",
]
LEADS = ["then used {v}", "with {v}", "config had {v}", "printed {v}", "env: {v}", "header {v}", "found {v} in the output"]
AGENTS = [f"agent-{i:02d}" for i in range(20)]
TOOLS = ["shell.exec", "http.request", "file.write", "git.push", "kubectl.apply", "db.query"]


def secret_pool(rng, size):
    """`size` distinct single-line secret texts drawn over all short kinds."""
    kinds = []
    for k in corpus.KINDS:
        text, _ = k["gen"]()
        if "\n" not in text and len(text) <= 120:
            kinds.append(k)
    pool = []
    while len(pool) < size:
        k = kinds[rng.randrange(len(kinds))]
        text, _ = k["gen"]()
        if "\n" not in text and len(text) <= 120:
            pool.append(text)
    return pool, len(kinds)


def message(rng, pool, nsecrets):
    msg = rng.choice(FILLER).format(n=rng.randrange(2, 900))
    for _ in range(nsecrets):
        msg += "; " + rng.choice(LEADS).format(v=pool[rng.randrange(len(pool))])
    keep = len(msg.encode())  # the secrets are never cut
    while len(msg.encode()) < MESSAGE_BYTES:
        msg += "; " + rng.choice(FILLER).format(n=rng.randrange(2, 900))
    return msg.encode()[: max(keep, MESSAGE_BYTES)].decode("utf-8", "ignore")


def near_miss_text(rng, nbytes):
    """`nbytes` of near-misses: every short kind's secret cut to half its length (the prefix with
    too short a body, the keyword with a stub value), and every negative kind of the corpus."""
    pieces = []
    for k in corpus.KINDS:
        text, secret = k["gen"]()
        if "\n" in text or len(text) > 200:  # long texts (JSON key files, PEM) hold more than the one secret
            continue
        pieces.append(text.replace(secret, secret[: max(1, len(secret) // 2)]))
    for e, k in enumerate(corpus.NEG):
        corpus.EXAMPLE[0] = e
        text = k["gen"]()
        if "\n" not in text:
            pieces.append(text)
    out, size = [], 0
    while size < nbytes:
        piece = pieces[rng.randrange(len(pieces))]
        out.append(piece)
        size += len(piece.encode()) + 1
    return " ".join(out).encode()[:nbytes].decode("utf-8", "ignore")


def write_near_miss_line(a, rng):
    rec = {"event_time": "2026-01-15T09:30:00.000Z", "agent_id": "agent-00", "agent_version": "1.9.0", "run_id": "run-near-miss",
           "event_type": "tool_call", "actor_id": "team:platform", "tool_name": "shell.exec", "tool_action": "execute",
           "tool_target": "/workspace/app", "auth_context": "role:developer", "input_ref": "sha256:" + "0" * 64,
           "output_ref": "urn:artifact:near-miss", "decision": "allow", "evidence_ref": "urn:evidence:near-miss", "details": {"message": ""}}
    overhead = len(json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode())
    budget = a.near_miss_line - overhead
    msg = near_miss_text(rng, budget)
    while True:  # JSON escapes make the line longer than the text: shrink until it fits
        rec["details"]["message"] = msg
        line = json.dumps(rec, ensure_ascii=False, separators=(",", ":"))
        if len(line.encode()) <= a.near_miss_line:
            break
        msg = msg[: len(msg) - (len(line.encode()) - a.near_miss_line) - 1]
    with (sys.stdout if a.out == "-" else open(a.out, "w", encoding="utf-8")) as out:
        out.write(line + "\n")
    print(f"gen_secret_dense: near-miss line of {len(line.encode())} bytes seed={a.seed}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--pool", type=int, default=50000, help="distinct secret texts to draw from")
    ap.add_argument("--out", default="-")
    ap.add_argument("--near-miss-line", type=int, default=0, metavar="BYTES",
                    help="instead: write one record of BYTES bytes (newline excluded) whose message is near-misses")
    a = ap.parse_args()
    corpus.R.seed(a.seed)
    rng = random.Random(a.seed)
    if a.near_miss_line:
        write_near_miss_line(a, rng)
        return
    pool, nkinds = secret_pool(rng, a.pool)
    out = sys.stdout if a.out == "-" else open(a.out, "w", encoding="utf-8")
    total_bytes = secrets = 0
    base_ms = 1768469400000  # 2026-01-15T09:30:00Z
    for i in range(a.lines):
        n = 1 + rng.randrange(3)
        secrets += n
        run = f"run-{(i // 200):08x}"
        t = base_ms + i * 7
        sec, ms = divmod(t, 1000)
        rec = {
            "event_time": f"2026-01-15T{(sec // 3600) % 24:02d}:{(sec // 60) % 60:02d}:{sec % 60:02d}.{ms:03d}Z",
            "agent_id": AGENTS[i % 20], "agent_version": "1.9.0", "run_id": run, "event_type": "tool_call",
            "actor_id": "team:platform", "tool_name": TOOLS[i % len(TOOLS)], "tool_action": "execute",
            "tool_target": "/workspace/app", "auth_context": "role:developer",
            "input_ref": "sha256:" + hashlib.sha256(f"{a.seed}:{i}".encode()).hexdigest(),
            "output_ref": f"urn:artifact:{run}:{i}:out", "decision": "allow", "evidence_ref": f"urn:evidence:{i:08x}",
            "details": {"message": message(rng, pool, n)},
        }
        line = json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n"
        total_bytes += len(line.encode())
        out.write(line)
    if out is not sys.stdout:
        out.close()
    print(f"gen_secret_dense: lines={a.lines} bytes={total_bytes} secrets={secrets} kinds={nkinds} pool={len(pool)} seed={a.seed}",
          file=sys.stderr)


if __name__ == "__main__":
    main()

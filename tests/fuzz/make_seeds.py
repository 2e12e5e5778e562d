#!/usr/bin/env python3
"""Writes the seed corpus of one fuzz target from samples/ and the test inputs.

usage: make_seeds.py TARGET OUTDIR

Each seed is a file in the target's input layout (see each tests/fuzz/fuzz_*.cc): line files
are cut into pieces of at most MAX_SEED bytes (whole lines), so the fuzzer starts from many
small inputs; a selector byte is put first where the target has one. Written at run time
rather than committed, so the corpus follows the samples and golden cases.
"""
import hashlib
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
MAX_SEED = 8192
# fuzz_normalize.cc's kFormats, in order.
FORMATS = ["claude-code", "claude-stream-json", "codex", "openhands", "swe-agent", "auto"]


def pieces(data: bytes):
    """Whole-line pieces of at most MAX_SEED bytes (a longer line is its own piece, cut)."""
    piece = b""
    for line in data.splitlines(keepends=True):
        if piece and len(piece) + len(line) > MAX_SEED:
            yield piece
            piece = b""
        piece += line
    if piece:
        yield piece[: MAX_SEED * 4]


def golden_inputs(plugin=None):
    base = ROOT / "tests" / "golden"
    for case in sorted((base / plugin).iterdir() if plugin else base.glob("*/*")):
        if case.is_dir():
            for f in sorted(case.glob("input*")):
                yield case, f


def case_format(case: pathlib.Path):
    cfg = case / "config.yaml"
    m = re.search(r"format:\s*([a-z-]+)", cfg.read_text()) if cfg.exists() else None
    return m.group(1) if m and m.group(1) in FORMATS else "auto"


def seeds(target):
    if target == "chain":
        for f in sorted(ROOT.glob("samples/*.jsonl")):
            yield from pieces(f.read_bytes())
        for _, f in golden_inputs():
            yield from pieces(f.read_bytes())
    elif target == "normalize":
        dirs = {"claude-code": "claude-code", "codex": "codex", "openhands": "openhands", "swe-agent": "swe-agent"}
        for fmt, d in dirs.items():
            sel = bytes([FORMATS.index(fmt)])
            for f in sorted((ROOT / "samples" / d).rglob("*")):
                if not f.is_file() or f.suffix not in (".jsonl", ".json", ".traj"):
                    continue
                data = f.read_bytes()
                # Documents (a .traj, an array) stay whole: cutting them gives no valid input.
                if f.suffix == ".jsonl":
                    for p in pieces(data):
                        yield sel + p
                else:
                    yield sel + data[: MAX_SEED * 8]
        for case, f in golden_inputs("normalize"):
            sel = bytes([FORMATS.index(case_format(case))])
            yield sel + f.read_bytes()[: MAX_SEED * 8]
            yield bytes([FORMATS.index("auto")]) + f.read_bytes()[:MAX_SEED]
    elif target == "config":
        kinds = [
            (0, ["configs/**/*.yaml", "tests/golden/*/*/config.yaml", "tests/golden_check/*/config.yaml"]),
            (1, ["tests/golden_check/*/config.yaml"]),
            (2, ["lifecycles/*.yaml"]),
            (3, ["rules/*.yaml", "tests/golden/redact/*/[!c]*.yaml"]),
            (4, ["tests/redact_rules/*.toml", "tests/golden/redact/*/*.toml"]),
        ]
        for sel, globs in kinds:
            for g in globs:
                for f in sorted(ROOT.glob(g)):
                    yield bytes([sel]) + f.read_bytes()[: MAX_SEED * 8]
    elif target == "redact":
        # secret index, mode, position, then text from the redact corpus (one line each).
        texts = (ROOT / "tests" / "redact_corpus" / "positives.jsonl").read_bytes().splitlines()
        texts += (ROOT / "tests" / "redact_corpus" / "negatives.jsonl").read_bytes().splitlines()
        for i, t in enumerate(texts):
            yield bytes([i % 7, i % 4, (i * 37) % 256]) + t
    elif target == "syslog":
        for i, f in enumerate(sorted(ROOT.glob("samples/*.jsonl"))):
            for j, line in enumerate(f.read_bytes().splitlines()[:40]):
                yield bytes([(i * 40 + j) % 128, (i + j) % 24, j % 8]) + line
    else:
        sys.exit(f"make_seeds.py: unknown target {target!r}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    target, out = sys.argv[1], pathlib.Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for seed in seeds(target):
        name = "seed-" + hashlib.sha1(seed).hexdigest()
        (out / name).write_bytes(seed)
        n += 1
    print(f"make_seeds.py: {n} seeds for {target} in {out}")


if __name__ == "__main__":
    main()

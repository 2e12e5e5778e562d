#!/usr/bin/env python3
"""The examples in README.md and docs/**/*.md work (rules in docs/design.md, "Tested docs").

- Every ```yaml block passes `agentlog check-config`, unless the line before its fence is
  `<!-- fragment: WHY -->`. A block is checked as it stands when it has a top-level
  `pipeline:`; `policy:`/`reports:` go under `pipeline: {}`; `rules:` under
  `pipeline: {}` + `policy:`; pipeline sections (`inputs:`, `stages:`, `outputs:`, `warnings:`,
  `dead_letter:`) under `pipeline:`; a list is the pipeline's `stages:`. Anything else must
  be marked as a fragment.
- Every ```sh block after a line `<!-- run -->` (or `<!-- run: exit N -->`) is run with bash
  in a scratch directory that has the repository's samples/ and configs/ and the binary under
  test as build/agentlog, and must exit 0 (or N). When the next fenced block follows a line
  `<!-- output -->`, it must equal what the commands printed (stdout and stderr together).

Config checks run from the repository root with AGENTLOG_REDACT_KEY set (as a user would for
hmac-sha256) and the compiled-rules cache off.

    python3 tests/cli/docs_examples_test.py /path/to/agentlog REPO_ROOT
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap

BIN, ROOT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
MARK = re.compile(r"^<!--\s*(fragment|run|output)\b\s*(?::\s*(.*?))?\s*-->\s*$")
PIPELINE_SECTIONS = ("inputs", "stages", "outputs", "warnings", "dead_letter")
ENV = dict(os.environ, AGENTLOG_REDACT_KEY="docs-example-key-0123456789abcdef", AGENTLOG_CACHE_DIR="off")


def pages():
    yield os.path.join(ROOT, "README.md")
    yield from sorted(glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))


def blocks(page):
    """(first line number, language, body, marker kind, marker argument) of each fenced block."""
    with open(page, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang, j = len(m.group(1)), m.group(2), i + 1
        while j < len(lines) and not re.match(r"^\s*```\s*$", lines[j]):
            j += 1
        body = "\n".join(l[indent:] for l in lines[i + 1:j]) + "\n"
        mark = MARK.match(lines[i - 1].strip()) if i > 0 else None
        yield i + 1, lang, body, mark.group(1) if mark else None, (mark.group(2) or "") if mark else ""
        i = j + 1


def as_config(body):
    """The config to check for a YAML block, or None when it is none of the known shapes."""
    body = textwrap.dedent(body)
    top = [l for l in body.split("\n") if l.strip() and not l.lstrip().startswith("#")]
    first = top[0] if top else ""
    keys = {re.match(r"^([A-Za-z_]+):", l).group(1) for l in top if re.match(r"^[A-Za-z_]+:", l)}
    indented = "".join("  " + l + "\n" if l else "\n" for l in body.split("\n"))
    if "pipeline" in keys:
        return body
    if keys and keys <= {"policy", "reports"}:
        return "pipeline: {}\n" + body
    if keys == {"rules"}:
        return "pipeline: {}\npolicy:\n" + indented
    if keys and keys <= set(PIPELINE_SECTIONS):
        return "pipeline:\n" + indented
    if first.startswith("- "):
        return "pipeline:\n  stages:\n" + "".join("    " + l + "\n" if l else "\n" for l in body.split("\n"))
    return None


def scratch():
    d = tempfile.mkdtemp(prefix="agentlog-docs-")
    for name in ("samples", "configs"):
        os.symlink(os.path.join(ROOT, name), os.path.join(d, name))
    os.makedirs(os.path.join(d, "build"))
    os.symlink(BIN, os.path.join(d, "build", "agentlog"))
    return d


def main():
    bad, configs, runs, outputs, fragments = [], 0, 0, 0, 0
    for page in pages():
        rel = os.path.relpath(page, ROOT)
        found = list(blocks(page))
        for k, (no, lang, body, mark, arg) in enumerate(found):
            where = f"{rel}:{no}"
            if lang == "yaml":
                if mark == "fragment":
                    fragments += 1
                    if not arg:
                        bad.append(f"{where}: say what the fragment is: <!-- fragment: WHY -->")
                    continue
                config = as_config(body)
                if config is None:
                    bad.append(f"{where}: not a config, policy, pipeline section or stage list; "
                               "mark it <!-- fragment: WHY --> if it is none")
                    continue
                with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
                    f.write(config)
                p = subprocess.run([BIN, "check-config", "-c", f.name], cwd=ROOT, env=ENV, capture_output=True,
                                   text=True, timeout=60)
                os.unlink(f.name)
                configs += 1
                if p.returncode != 0:
                    bad.append(f"{where}: check-config exit {p.returncode}: {p.stderr.strip()}")
            elif mark == "run":
                if lang not in ("sh", "bash", "console"):
                    bad.append(f"{where}: <!-- run --> on a ```{lang} block")
                    continue
                want_rc = int(re.fullmatch(r"exit (\d+)", arg).group(1)) if arg else 0
                d = scratch()
                try:
                    p = subprocess.run(["bash", "-eo", "pipefail", "-c", body], cwd=d, env=ENV, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True, timeout=120)
                finally:
                    shutil.rmtree(d)
                runs += 1
                if p.returncode != want_rc:
                    bad.append(f"{where}: exit {p.returncode}, not {want_rc}:\n{p.stdout[-2000:]}")
                    continue
                nxt = found[k + 1] if k + 1 < len(found) else None
                if nxt and nxt[3] == "output":
                    outputs += 1
                    if p.stdout != nxt[2]:
                        bad.append(f"{where}: output differs from {rel}:{nxt[0]}:\n--- got\n{p.stdout}--- documented\n"
                                   f"{nxt[2]}")
            elif mark == "output":
                prev = found[k - 1] if k > 0 else None
                if not prev or prev[3] != "run":
                    bad.append(f"{where}: <!-- output --> not right after a <!-- run --> block")
    for b in bad:
        print(b)
    print(f"{configs} configs checked, {fragments} fragments skipped, {runs} shell examples run, "
          f"{outputs} outputs compared, {len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

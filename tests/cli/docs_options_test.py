#!/usr/bin/env python3
"""Every option of every stage is documented exactly once in docs/stages/<stage>.md, and every
option documented there exists: the option tables of `agentlog plugins --json` against the
first column of the page's tables headed `| option |`.

Names in the docs: `name` for a top-level option, `parent.child` under a mapping,
`parent[].child` under a list of mappings. The options of a filter condition (`field`,
`equals`, `in`, `exists`, `regex`, `negate`) are documented once, in filter.md
(`conditions[].*`); another stage's list of conditions says `list of conditions` in its
type column instead of repeating them.

    python3 tests/cli/docs_options_test.py /path/to/agentlog REPO_ROOT
"""
import json
import os
import re
import subprocess
import sys

BIN, ROOT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
CONDITION = {"field", "equals", "in", "exists", "regex", "negate"}


def option_paths(options, prefix, conditions_of):
    """Yields the documented name of each option; `conditions_of` collects lists of conditions."""
    for o in options:
        name = prefix + o["name"]
        yield name
        children = o["options"]
        if not children:
            continue
        if o["type"] == "list of mappings" and {c["name"] for c in children} == CONDITION and name != "conditions":
            conditions_of.add(name)
            continue
        sep = "[]." if o["type"] == "list of mappings" else "."
        yield from option_paths(children, name + sep, conditions_of)


def documented(page):
    """(name, type cell, line) of each row of the page's `| option |` tables."""
    rows, in_table = [], False
    with open(page, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]] if line.startswith("|") else []
            if not cells:
                in_table = False
            elif cells[0] == "option":
                in_table = True
            elif in_table and not set(cells[0]) <= set("-: "):
                m = re.fullmatch(r"`([^`]+)`", cells[0])
                rows.append((m.group(1) if m else cells[0], cells[1] if len(cells) > 1 else "", no))
    return rows


def main():
    listing = json.loads(subprocess.run([BIN, "plugins", "--json"], capture_output=True, text=True, check=True).stdout)
    bad, checked = [], 0
    for stage in listing["stages"]:
        page = os.path.join(ROOT, "docs", "stages", stage["name"] + ".md")
        rel = os.path.relpath(page, ROOT)
        if not os.path.exists(page):
            bad.append(f"{rel}: missing (stage {stage['name']})")
            continue
        conditions_of = set()
        want = list(option_paths(stage["options"], "", conditions_of))
        rows = documented(page)
        names = [r[0] for r in rows]
        for name in want:
            n = names.count(name)
            if n != 1:
                bad.append(f"{rel}: option `{name}` documented {n} times, not once")
        for name, type_cell, no in rows:
            if name not in want:
                bad.append(f"{rel}:{no}: `{name}` is not an option of {stage['name']}")
            elif name in conditions_of and "list of conditions" not in type_cell:
                bad.append(f"{rel}:{no}: `{name}` is a list of filter conditions: say `list of conditions`")
        checked += len(want)
    for b in bad:
        print(b)
    print(f"{checked} stage options compared, {len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The engine's layering: core/ and plugins/ include nothing from check/ or cli/, and check/
nothing from cli/ (the engine library is linked without them; see CMakeLists.txt).

    python3 tests/cli/layering_test.py SOURCE_DIR
"""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
FORBIDDEN = {"core": ("check/", "cli/"), "plugins": ("check/", "cli/"), "check": ("cli/",)}

problems = []
for layer, banned in FORBIDDEN.items():
    for dirpath, _, files in os.walk(os.path.join(ROOT, layer)):
        for name in files:
            if not name.endswith((".h", ".cc")):
                continue
            path = os.path.join(dirpath, name)
            for n, line in enumerate(open(path, encoding="utf-8"), 1):
                m = INCLUDE.match(line)
                if m and m.group(1).startswith(banned):
                    problems.append("%s:%d: %s includes %s" % (os.path.relpath(path, ROOT), n, layer, m.group(1)))
for p in problems:
    print(p)
print("%d passed, %d failed" % (0 if problems else 1, 1 if problems else 0))
sys.exit(1 if problems else 0)

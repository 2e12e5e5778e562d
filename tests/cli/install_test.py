#!/usr/bin/env python3
"""`cmake --install` into a temporary prefix, then the installed binary is run from another
directory over the installed example config and gives the same records, warnings and dead
letters as the build tree's binary over the source tree's config.

    python3 tests/cli/install_test.py CMAKE BUILD_DIR SOURCE_DIR
"""
import json
import re
import os
import subprocess
import sys
import tempfile

CMAKE, BUILD, SOURCE = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
failures = []


def check(name, ok, why=""):
    print(("ok - " if ok else "not ok - ") + name + ("" if ok else ": " + why))
    if not ok:
        failures.append(name)


def records(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def run_default(binary, config, cwd, out_dir):
    env = dict(os.environ, AGENTLOG_WARNINGS=os.path.join(out_dir, "warnings.jsonl"),
               AGENTLOG_DEAD_LETTER=os.path.join(out_dir, "dead.jsonl"), AGENTLOG_CACHE_DIR="off")
    p = subprocess.run([binary, "run", "-q", "-c", config], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=120)
    with open(os.path.join(out_dir, "out.jsonl"), "w", encoding="utf-8") as f:
        f.write(p.stdout)
    return p


def main():
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "prefix")
        p = subprocess.run([CMAKE, "--install", BUILD, "--prefix", prefix], capture_output=True, text=True)
        check("cmake --install exits 0", p.returncode == 0, p.stderr)
        if p.returncode:
            return 1
        share = os.path.join(prefix, "share", "agentlog")
        for rel in ["bin/agentlog", "share/man/man1/agentlog.1", "share/doc/agentlog/README.md",
                    "share/doc/agentlog/getting-started.md", "share/doc/agentlog/stages/redact.md"]:
            check(f"installs {rel}", os.path.isfile(os.path.join(prefix, rel)), "missing")
        for sub in ["schemas", "rules", "lifecycles", "configs", "samples"]:
            src = sorted(os.listdir(os.path.join(SOURCE, sub)))
            got = sorted(os.listdir(os.path.join(share, sub))) if os.path.isdir(os.path.join(share, sub)) else []
            check(f"installs share/agentlog/{sub}/ whole", got == src, f"{got} != {src}")
        with open(os.path.join(prefix, "share/man/man1/agentlog.1"), encoding="utf-8") as f:
            page = f.read()
        check("the man page is agentlog(1)", re.search(r'^\.TH AGENTLOG "?1"? ', page, re.M) is not None, page[:200])
        for sub in ["run", "check", "check-config", "redact-test", "plugins"]:
            check(f"the man page has `agentlog {sub} --help`", f'.SS "agentlog {sub}"' in page, "no section")

        elsewhere = os.path.join(tmp, "elsewhere")
        installed_out, build_out = os.path.join(tmp, "installed"), os.path.join(tmp, "build")
        for d in (elsewhere, installed_out, build_out):
            os.makedirs(d)
        installed = run_default(os.path.join(prefix, "bin", "agentlog"), os.path.join(share, "configs", "default.yaml"),
                                elsewhere, installed_out)
        check("the installed binary runs the installed default.yaml from another directory",
              installed.returncode == 0, installed.stderr)
        # The same config through the build tree's binary: generated ids hash the source path,
        # so the installed samples' paths are used on both sides.
        reference = run_default(os.path.join(BUILD, "agentlog"), os.path.join(share, "configs", "default.yaml"),
                                SOURCE, build_out)
        check("the build tree's binary runs the installed default.yaml", reference.returncode == 0, reference.stderr)
        tree_out = os.path.join(tmp, "tree")
        os.makedirs(tree_out)
        tree = run_default(os.path.join(BUILD, "agentlog"), os.path.join(SOURCE, "configs", "default.yaml"),
                           SOURCE, tree_out)
        check("the build tree's binary runs configs/default.yaml", tree.returncode == 0, tree.stderr)
        for name in ["out.jsonl", "warnings.jsonl", "dead.jsonl"]:
            got, want = records(os.path.join(installed_out, name)), records(os.path.join(build_out, name))
            check(f"installed run's {name} equals the build tree binary's ({len(want)} records)",
                  got == want and len(want) > 0, f"{len(got)} vs {len(want)} records")
            in_tree = records(os.path.join(tree_out, name))
            check(f"installed run's {name} has as many records as over the source tree",
                  len(got) == len(in_tree), f"{len(got)} vs {len(in_tree)}")
        for name in sorted(os.listdir(os.path.join(share, "configs"))):
            if name.endswith(".yaml"):
                p = subprocess.run([os.path.join(prefix, "bin", "agentlog"), "check-config", "-c",
                                    os.path.join(share, "configs", name)], cwd=elsewhere, capture_output=True, text=True)
                check(f"installed configs/{name} passes check-config", p.returncode == 0, p.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

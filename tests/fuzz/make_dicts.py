#!/usr/bin/env python3
"""Writes the libFuzzer dictionaries of the fuzz targets (OUTDIR/TARGET.dict) from the schemas,
the option tables, the lifecycle profiles, the rule file and the agent log formats.

usage: make_dicts.py OUTDIR   (scripts/fuzz.sh runs it into build-fuzz/fuzz-dicts/; not committed,
so the words follow the schemas and option tables)
"""
import glob
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def schema_words():
    words = set()

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == "properties" and isinstance(v, dict):
                    words.update(v.keys())
                if k == "enum" and isinstance(v, list):
                    words.update(x for x in v if isinstance(x, str))
                if k == "const" and isinstance(v, str):
                    words.add(v)
                walk(v)
        elif isinstance(o, list):
            for x in o:
                walk(x)

    for f in sorted(ROOT.glob("schemas/*.json")):
        walk(json.loads(f.read_text()))
    return words


def source_strings(globs, pattern):
    words = set()
    for g in globs:
        for f in sorted(ROOT.glob(g)):
            words.update(re.findall(pattern, f.read_text(errors="replace")))
    return words


def yaml_keys(globs):
    return source_strings(globs, r"^\s*-?\s*([A-Za-z_][A-Za-z0-9_]*):")


def quoted(word):
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write(path, words):
    words = sorted(w for w in words if 0 < len(w) <= 64 and all(32 <= ord(c) < 127 for c in w))
    path.write_text("".join(quoted(w) + "\n" for w in words))
    print(f"make_dicts.py: {len(words)} words in {path}")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    json_syntax = {"{", "}", "[", "]", ":", ",", "\\\"", "\\\\", "\\u0000", "\\ud83d\\ude00", "true", "false", "null",
                   "-1.5e308", "1e400", "\"\"", "{}", "[]", "\xef\xbb\xbf", "\r\n"}
    records = schema_words() | json_syntax
    # Member names and values the normalize formats read (their sources quote them).
    formats = source_strings(["plugins/normalize/*.cc"], r'"([a-z_A-Z][A-Za-z0-9_.:/-]{1,40})"')
    times = {"2026-03-02T09:14:05.332Z", "2026-03-02T10:14:05+01:00", "1970-01-01T00:00:00Z"}
    write(out / "chain.dict", records | times | {"sha256:", "urn:evidence:", "https://"})
    write(out / "normalize.dict", records | formats | times)
    options = source_strings(["core/*.cc", "plugins/*/*.cc", "check/*.cc"], r'\.name = "([a-z_0-9]+)"')
    plugins = source_strings(["plugins/*/*.cc", "core/builtin_io.cc"], r'\{"([a-z_-]+)", PluginKind::')
    config_keys = yaml_keys(["configs/**/*.yaml", "lifecycles/*.yaml", "rules/*.yaml", "tests/golden_check/*/config.yaml"])
    yaml_syntax = {": ", "- ", "\n  ", "\n    - ", "[", "]", "{", "}", "&a", "*a", "<<: ", "!!str", "|\n", ">\n", "---", "...",
                   "${", "${CONFIG_DIR}", ":-", "$$", "[[rules]]", "[rules.allowlist]", "[[rules.allowlists]]", "\"\"\"",
                   "'''", "=", "regex", "secretGroup", "keywords", "entropy", "stopwords", "condition"}
    write(out / "config.dict", options | plugins | config_keys | yaml_syntax | schema_words())
    keywords = source_strings(["rules/secrets.yaml"], r"^\s+-\s+\"?([A-Za-z0-9_.:-]{2,30})\"?\s*$")
    write(out / "redact.dict", keywords | {"%", "%25", "\\u00", "\\\\", "://", "@", "?token=", "&key=", "password=",
                                          "Authorization: Bearer ", "-----BEGIN"})
    write(out / "syslog.dict", records | {"]", "\\\\", "\\\"", "\\u007f", "\\u0000", "\xc3\xa9", "\xf0\x9f\x99\x82"})


if __name__ == "__main__":
    main()

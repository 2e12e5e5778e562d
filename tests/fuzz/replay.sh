#!/usr/bin/env bash
# ctest: replays a fuzz target's seeds (made by make_seeds.py) and its committed reproducers
# through the target's harness, without libFuzzer. usage: replay.sh REPLAY_BINARY TARGET WORKDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$1 target=$2 work=$3
rm -rf "$work"
python3 "$here/make_seeds.py" "$target" "$work" >/dev/null
dirs=("$work")
[ -d "$here/regressions/$target" ] && dirs+=("$here/regressions/$target")
"$bin" "${dirs[@]}" 2>"$work.log" || { tail -30 "$work.log" >&2; exit 1; }

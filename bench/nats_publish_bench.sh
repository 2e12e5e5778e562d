#!/usr/bin/env bash
# Edge publish rate into an R1 JetStream stream on loopback: starts a private nats-server
# (memory storage, or STORAGE: file; store dir and port by pid), publishes N gen_activity
# records through the `nats` output and prints records/s.
# Usage: bench/nats_publish_bench.sh [build_dir] [N] [STORAGE]
set -euo pipefail
build=${1:-build}; n=${2:-500000}; storage=${3:-memory}
dir=$(mktemp -d); port=$((20000 + $$ % 20000))
"$build/gen_activity" --lines "$n" --clean --out "$dir/in.jsonl" 2>/dev/null
nats-server -js -a 127.0.0.1 -p "$port" -sd "$dir/store" -l "$dir/server.log" & server=$!
trap 'kill $server; rm -rf "$dir"' EXIT
until grep -q "Server is ready" "$dir/server.log" 2>/dev/null; do sleep 0.05; done
cat > "$dir/edge.yaml" <<YAML
pipeline:
  outputs:
    - type: nats
      servers: [nats://127.0.0.1:$port]
      create_stream: true
      storage: $storage
      max_pending: 8192
YAML
start=$(date +%s.%N)
"$build/agentlog" run -q -c "$dir/edge.yaml" "$dir/in.jsonl"
end=$(date +%s.%N)
python3 -c "import sys; n=$n; t=$end-$start; print(f'{n} records in {t:.2f} s: {n/t:,.0f} records/s (R1, $storage, loopback)')"

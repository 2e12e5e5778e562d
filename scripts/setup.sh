#!/usr/bin/env bash
# Sets up agentlog on Debian 12: installs the missing build packages (idempotent), then
# configures and builds into build/. Safe to run again; it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache
  libsimdjson-dev libvalijson-dev libre2-dev libyaml-cpp-dev catch2
  libssl-dev libcli11-dev zlib1g-dev libzstd-dev libhyperscan-dev libtomlplusplus-dev libtbb-dev
  gzip zstd time python3 json-schema-test-suite chromium help2man
  rsyslog logrotate libnats-dev nats-server
  clang-14 libclang-rt-14-dev llvm-14   # scripts/test_extra.sh: clang build, ASan/UBSan, libFuzzer, llvm-symbolizer
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages: ${missing[*]}" >&2
    echo "setup: run this as root, then run setup again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build build -j "$(nproc)"

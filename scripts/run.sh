#!/usr/bin/env bash
# scripts/run.sh - set up, build and run warden's main job on a few examples.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)"
W=build/warden
$W version

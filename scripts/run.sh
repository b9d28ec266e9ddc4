#!/usr/bin/env bash
# scripts/run.sh - set up, build and run warden's main job on a few examples.
# Until the guard engine lands, the main job generates a tiny Llama-layout
# checkpoint with the test-fixture generator (built by the same build) and
# inspects it; then shows that a corrupt file is refused with a clear error.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)"
W=build/warden
$W version

OUT=build/run-example
rm -rf "$OUT" && mkdir -p "$OUT"
echo "== a tiny Llama-layout checkpoint (config.json + model.safetensors) =="
build/tests/wd_gen_checkpoint --family llama --seed 1 --out "$OUT/tiny-llama"
$W inspect "$OUT/tiny-llama"
echo "== a BERT sequence classifier in 2 BF16 shards, as JSON =="
build/tests/wd_gen_checkpoint --family bert --dtype BF16 --shards 2 --out "$OUT/tiny-bert"
$W inspect --json "$OUT/tiny-bert" | head -c 600; echo " ..."
echo "== a truncated file is refused (exit 3) =="
head -c 200 "$OUT/tiny-llama/model.safetensors" > "$OUT/truncated.safetensors"
if $W inspect "$OUT/truncated.safetensors"; then echo "unexpected success"; exit 1; fi
echo "(exit status $? as expected)"

#!/bin/sh
# tests/tools/gen_and_inspect.sh GEN WARDEN TMPDIR PYTHON FAMILY
# Generates FAMILY in three variants (F32; BF16 in 2 shards; F16 with tied
# embeddings or 3 labels), runs `warden inspect` (table and --json) on each,
# checks the layout with the independent check_hf_layout.py (when PYTHON is
# set), and checks that the same seed gives the same bytes.
set -eu
GEN=$1 WARDEN=$2 TMP=$3 PY=$4 FAM=$5
HERE=$(dirname "$0")
rm -rf "$TMP" && mkdir -p "$TMP"
case $FAM in llama|mistral|qwen2|qwen3|phi3|granite) EXTRA=--tie ;; gemma2|gemma3) EXTRA=--untie ;; *) EXTRA="--labels 3" ;; esac
MT=$FAM; [ "$FAM" != gemma3 ] || MT=gemma3_text
check() { # DIR ARGS...
    d=$1; shift
    "$GEN" --family "$FAM" --out "$d" "$@"
    "$WARDEN" inspect "$d" > "$d.txt"
    grep -q "parameters" "$d.txt"
    grep -q "config: $FAM" "$d.txt"
    "$WARDEN" inspect --json "$d" > "$d.json"
    grep -q "\"model_type\":\"$MT\"" "$d.json"
    if [ -n "$PY" ]; then "$PY" "$HERE/check_hf_layout.py" "$d"; fi
}
check "$TMP/f32" --seed 7
check "$TMP/bf16_sharded" --seed 7 --dtype BF16 --shards 2
check "$TMP/f16_variant" --seed 3 --dtype F16 --layers 3 $EXTRA
[ -f "$TMP/bf16_sharded/model-00002-of-00002.safetensors" ]
[ -f "$TMP/bf16_sharded/model.safetensors.index.json" ]
"$GEN" --family "$FAM" --out "$TMP/again" --seed 7
cmp "$TMP/f32/model.safetensors" "$TMP/again/model.safetensors"
cmp "$TMP/f32/config.json" "$TMP/again/config.json"
"$GEN" --family "$FAM" --out "$TMP/other" --seed 8
if cmp -s "$TMP/f32/model.safetensors" "$TMP/other/model.safetensors"; then
    echo "different seeds gave the same weights"; exit 1
fi
echo "gen_and_inspect: $FAM ok"

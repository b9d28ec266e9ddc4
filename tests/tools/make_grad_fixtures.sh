#!/bin/sh
# tests/tools/make_grad_fixtures.sh - regenerates the training engine's
# reference gradients (tests/fixtures/grad/NAME.json + NAME.safetensors)
# from the independent PyTorch reference tests/tools/torch_grad_ref.py.
#
#   sh tests/tools/make_grad_fixtures.sh [BUILD_DIR]   (default: build)
#   FD=6 sh tests/tools/make_grad_fixtures.sh          also checks 6 entries of
#                                                      every gradient against
#                                                      finite differences
#
# For each variant below, BUILD_DIR/tests/wd_gen_checkpoint (deterministic
# for a given seed) writes a tiny random F32 checkpoint in the Hugging Face
# layout, config.json is updated with the variant's patch (a shallow JSON
# merge, as make_golden.sh does), and torch_grad_ref.py (float64, Debian's
# python3-torch, no other package) computes the loss of one batch and the
# gradient of every checkpoint tensor.
#
# How a C test reads a fixture (tests/unit/test_train_grad.c):
#   1. NAME.json: "gen_args" -> run the generator with them (+ --out DIR),
#      merge "config_patch" into DIR/config.json (the golden tests' helpers
#      mf_make / mf_patch_config do exactly this).
#   2. The batch is "ids": B rows of T token ids, row-major B x T, each row
#      its own sequence (positions 0..T-1, no padding, no attention across
#      rows; decoders causal, mistral with config's sliding_window; encoders
#      attend to the whole row, token_type 0).
#      Decoders: "targets" (B x T) = next token of the row, -100 = ignored
#      (always the last position, plus the variant's ignored positions);
#      loss = sum of -log softmax(logits[b,t])[targets[b,t]] over the
#      non-ignored positions / "n_targets" (torch cross_entropy,
#      ignore_index=-100, reduction="mean").
#      Encoders: "labels" (B) = class of each row; loss = mean over rows of
#      the cross-entropy of the classifier logits (the head reads the
#      first token). No dropout.
#   3. Compare the loss with "loss" and every gradient with the tensor of
#      the same Hugging Face name in NAME.safetensors: F64, the checkpoint's
#      shape, standard safetensors layout (u64 LE header size, JSON header
#      with sorted keys padded to 8 bytes, raw LE float64 data);
#      __metadata__ = {"loss": "%.17g", "format": "warden-grad-1"}.
#      Tied embeddings: no lm_head.weight tensor; the gradient of
#      model.embed_tokens.weight includes the head's use. Every checkpoint
#      tensor has a gradient (embedding rows of unused ids are 0), so a
#      relative error per tensor ||g_warden - g_ref|| / ||g_ref|| is the
#      natural check; "grad_norms" in the JSON holds ||g_ref|| per tensor.
# Only these fixtures are committed; checkpoints are regenerated at test time.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
GEN=$BUILD/tests/wd_gen_checkpoint
PY=/usr/bin/python3
OUT=$ROOT/tests/fixtures/grad
FD=${FD:-0}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
[ -x "$GEN" ] || { echo "make_grad_fixtures: build $GEN first (cmake --build $BUILD)" >&2; exit 2; }
mkdir -p "$OUT"

# name | generator args | config patch (JSON) | ids (rows split by ;) | ignored b:t | labels
# mistral_window: sliding_window 3 < T = 6, so the window masks keys
# (position t sees t-2..t), unlike the default 4096.
VARIANTS='
llama_gqa|--family llama --seed 41|{}|1,17,5,99,42,7;3,88,21,60,9,120||
llama_tied_mqa|--family llama --seed 42 --tie --kv-heads 1|{}|1,3,90,27,8,8;2,64,64,13,101,5||
llama_attn_bias|--family llama --seed 43 --attention-bias|{}|1,2,3,4,5,6;7,100,8,90,9,80||
llama_ignore|--family llama --seed 44 --layers 1 --vocab 64|{}|1,17,5,33,42,7;3,60,21,50,9,12|0:0,0:1,1:3|
qwen2_bias|--family qwen2 --seed 45|{}|126,9,33,71,2,5;4,77,18,126,40,3||
mistral_window|--family mistral --seed 46|{"sliding_window":3}|1,20,30,40,50,60;1,70,80,90,100,110||
bert|--family bert --seed 51 --labels 3|{}|2,15,77,30,41,3;2,9,60,11,98,3||2,0
roberta|--family roberta --seed 52|{}|0,15,33,30,41,2;0,7,88,19,5,2||1,0
distilbert|--family distilbert --seed 53|{}|2,15,77,30,41,3;2,9,60,11,98,3||0,1
'

echo "$VARIANTS" | while IFS='|' read -r name args patch ids ignore labels; do
    [ -n "$name" ] || continue
    dir=$TMP/$name
    # shellcheck disable=SC2086
    "$GEN" $args --out "$dir" >/dev/null
    "$PY" - "$dir" "$patch" <<'PYEOF'
import json, sys
d, patch = sys.argv[1], json.loads(sys.argv[2])
cfg = json.load(open(d + "/config.json"))
cfg.update(patch)
json.dump(cfg, open(d + "/config.json", "w"), indent=1)
PYEOF
    "$PY" "$ROOT/tests/tools/torch_grad_ref.py" "$dir" --ids "$ids" --ignore "$ignore" \
        --labels "$labels" --name "$name" --gen-args "$args" --config-patch "$patch" \
        --fd-check "$FD" --out "$OUT/$name"
    echo "make_grad_fixtures: $OUT/$name.{json,safetensors}"
done

#!/bin/sh
# tests/tools/make_golden.sh - regenerates the runtime's golden fixtures
# (tests/fixtures/golden/*.json) from the independent PyTorch reference.
#
#   sh tests/tools/make_golden.sh [BUILD_DIR]      (default: build)
#
# For each variant below: the fixture generator (BUILD_DIR/tests/
# wd_gen_checkpoint, deterministic for a given seed) writes a tiny random
# checkpoint in the exact Hugging Face layout; config.json is patched when
# the variant says so; for the rotary pair the interleaved twin is derived
# from the rotate-half checkpoint by undoing HF's q/k permutation; then
# tests/tools/torch_ref.py (float64, Debian's python3-torch, no other
# package) computes the logits at every prompt position and 32 greedy
# tokens (decoders) or the classifier's logits/probabilities and the
# mean-pooled hidden state (encoders). Each fixture records how its
# checkpoint was made, so tests/unit/test_model_golden.c regenerates the
# same checkpoint at test time and needs neither torch nor committed
# weights. Only the JSON is committed.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
GEN=$BUILD/tests/wd_gen_checkpoint
PY=/usr/bin/python3
OUT=$ROOT/tests/fixtures/golden
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
[ -x "$GEN" ] || { echo "make_golden: build $GEN first (cmake --build $BUILD)" >&2; exit 2; }
mkdir -p "$OUT"

# name | generator args | config patch (JSON) | derive | ids
VARIANTS='
llama_f32|--family llama --seed 11|{}|none|1,17,5,99,42,7,63,12
llama_f16|--family llama --seed 12 --dtype F16|{}|none|1,17,5,99,42,7,63,12
llama_bf16|--family llama --seed 13 --dtype BF16|{}|none|1,17,5,99,42,7,63,12
llama_tied_llama3|--family llama --seed 14 --tie --kv-heads 1 --rope-theta 500000|{"rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":16}}|none|1,3,90,27,8,8,41
llama_sharded|--family llama --seed 15 --shards 3 --attention-bias|{}|none|1,2,3,4,5,6
mistral_window|--family mistral --seed 16|{"sliding_window":4}|none|1,20,30,40,50,60,70,80,90,100
qwen2_bias|--family qwen2 --seed 17|{}|none|126,9,33,71,2,5
rope_half|--family llama --seed 21 --heads 2 --kv-heads 1 --hidden 32|{}|none|1,44,12,90,3,77
rope_interleaved|--family llama --seed 21 --heads 2 --kv-heads 1 --hidden 32|{"rope_interleaved":true}|interleave|1,44,12,90,3,77
bert|--family bert --seed 31 --labels 3|{}|none|2,15,77,30,41,3
roberta|--family roberta --seed 32|{}|none|0,15,1,30,41,2
distilbert|--family distilbert --seed 33|{}|none|2,15,77,30,41,3
modernbert|--family modernbert --seed 41 --layers 3 --labels 3|{}|none|125,15,77,30,41,9,88,3,60,17,101,126
modernbert_mean|--family modernbert --seed 42 --layers 3 --attention-bias --rope-theta 20000|{"classifier_pooling":"mean","classifier_activation":"silu","local_attention":6}|none|125,44,12,90,3,77,5,64,29,8,126
modernbert_rope_params|--family modernbert --seed 43 --layers 4 --hidden 48 --heads 3|{"global_attn_every_n_layers":3,"layer_types":["full_attention","sliding_attention","sliding_attention","full_attention"],"rope_parameters":{"full_attention":{"rope_type":"default","rope_theta":80000.0},"sliding_attention":{"rope_type":"default","rope_theta":5000.0}}}|none|125,1,2,3,4,5,6,7,8,9,10,126
gemma2_softcap_window|--family gemma2 --seed 46 --layers 3 --head-dim 16 --kv-heads 2 --untie|{"sliding_window":4,"attn_logit_softcapping":1.5,"final_logit_softcapping":4.0,"query_pre_attn_scalar":24}|none|2,17,5,99,42,7,63,12,88,30
gemma2_bf16_untied|--family gemma2 --seed 42 --dtype BF16 --hidden 48 --untie|{}|none|2,40,9,113,27,64
gemma3_window|--family gemma3 --seed 43 --layers 7 --head-dim 16 --kv-heads 1 --untie|{"sliding_window":4,"rope_scaling":{"rope_type":"linear","factor":8.0},"query_pre_attn_scalar":12}|none|2,11,73,5,48,120,33,9,61,18,95,7
gemma3_layer_types|--family gemma3 --seed 44 --layers 3|{"layer_types":["full_attention","sliding_attention","full_attention"],"sliding_window":3,"final_logit_softcapping":3.0,"rope_local_base_freq":100.0}|none|2,90,14,57,3,101,66
qwen3|--family qwen3 --seed 41 --head-dim 16|{}|none|1,17,5,99,42,7,63,12
qwen3_tied_bias|--family qwen3 --seed 42 --tie --attention-bias --kv-heads 1|{}|none|3,88,14,120,9,56
phi3|--family phi3 --seed 43|{}|none|1,17,5,99,42,7,63,12
phi3_partial_window_f16|--family phi3 --seed 44 --dtype F16|{"partial_rotary_factor":0.5,"sliding_window":4}|none|1,20,30,40,50,60,70,80,90,100
phi3_longrope|--family phi3 --seed 45|{"max_position_embeddings":256,"original_max_position_embeddings":64,"partial_rotary_factor":0.75,"rope_scaling":{"type":"longrope","short_factor":[1.0,1.5,3.25],"long_factor":[2.0,4.0,8.0]}}|none|1,44,12,90,3,77,5
granite|--family granite --seed 46|{}|none|1,17,5,99,42,7,63,12
granite_bias_tied_bf16|--family granite --seed 47 --attention-bias --tie --dtype BF16|{}|none|2,61,19,8,100,33
xlm_roberta|--family xlm-roberta --seed 34 --labels 3|{}|none|0,15,1,30,41,2
deberta_v2|--family deberta-v2 --seed 41 --labels 3 --max-pos 512|{}|none|1,89,8,103,117,69,18,68,28,53,47,70,40,77,21,79,36,16,36,55,44,126,37,109,16,101,44,117,42,5,75,82,28,115,12,120,28,17,72,61,52,113,96,12,105,15,56,5,15,77,96,57,99,112,53,59,87,41,76,120,67,109,23,104,84,125,55,32,102,72,76,96,16,105,29,52,27,20,20,83,66,16,73,93,61,3,125,61,118,64,79,18,69,64,108,67,66,50,57,117,72,113,26,116,3,34,14,6,62,51,60,17,89,93,86,36,122,19,63,39,60,54,40,97,24,62,59,41,42,89,100,8,12,29,42,90,126,99,56,15,62,11,62,67,60,87,125,5,25,58,86,2
deberta_v2_classic|--family deberta-v2 --seed 42 --deberta-classic --position-buckets 8 --max-relative-positions 32 --embedding-size 16|{}|none|1,38,12,13,19,24,58,39,116,62,109,17,28,82,63,115,90,106,11,57,86,124,84,22,4,115,52,82,86,40,124,84,121,8,75,72,78,48,125,35,29,2
deberta_v2_c2p|--family deberta-v2 --seed 43 --deberta-classic --position-buckets -1 --max-relative-positions 16|{"pos_att_type":["c2p"]}|none|1,36,68,43,10,6,102,38,86,112,29,11,28,40,70,62,99,67,20,44,105,68,105,36,74,116,94,95,97,125,42,2
deberta_v2_steep|--family deberta-v2 --seed 44 --max-pos 200 --max-relative-positions 130|{}|none|1,89,8,103,117,69,18,68,28,53,47,70,40,77,21,79,36,16,36,55,44,126,37,109,16,101,44,117,42,5,75,82,28,115,12,120,28,17,72,61,52,113,96,12,105,15,56,5,15,77,96,57,99,112,53,59,87,41,76,120,67,109,23,104,84,125,55,32,102,72,76,96,16,105,29,52,27,20,20,83,66,16,73,93,61,3,125,61,118,64,79,18,69,64,108,67,66,50,57,117,72,113,26,116,3,34,14,6,62,51,60,17,89,93,86,36,122,19,63,39,60,54,40,97,24,62,59,41,42,89,100,8,12,29,42,90,126,99,56,15,62,11,62,67,60,87,125,5,25,58,86,2
llama_rope_parameters|--family llama --seed 14 --tie --kv-heads 1|{"rope_parameters":{"rope_theta":500000.0,"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":16}}|none|1,3,90,27,8,8,41
qwen3_rope_parameters|--family qwen3 --seed 48 --head-dim 16|{"rope_parameters":{"rope_theta":1000000.0,"rope_type":"default"}}|none|1,17,5,99,42,7,63,12
phi3_rope_parameters|--family phi3 --seed 49|{"max_position_embeddings":256,"rope_parameters":{"rope_theta":10000.0,"rope_type":"longrope","partial_rotary_factor":0.75,"original_max_position_embeddings":64,"short_factor":[1.0,1.5,3.25],"long_factor":[2.0,4.0,8.0]}}|none|1,44,12,90,3,77,5
'

echo "$VARIANTS" | while IFS='|' read -r name args patch derive ids; do
    [ -n "$name" ] || continue
    dir=$TMP/$name
    # shellcheck disable=SC2086
    "$GEN" $args --out "$dir" >/dev/null
    flags=""
    "$PY" - "$dir" "$patch" "$derive" <<'PYEOF'
import json, struct, sys
d, patch, derive = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
cfg = json.load(open(d + "/config.json"))
cfg.update(patch)
json.dump(cfg, open(d + "/config.json", "w"), indent=1)
if derive == "interleave":
    # HF's conversion permutes Meta's interleaved q/k rows into rotate-half:
    # half row h*D + s*D/2 + i = interleaved row h*D + 2i + s. Undo it.
    raw = open(d + "/model.safetensors", "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n]); data = bytearray(raw[8 + n:])
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = cfg["hidden_size"] // H
    for name, info in hdr.items():
        if name == "__metadata__" or not (name.endswith("q_proj.weight") or name.endswith("k_proj.weight")):
            continue
        heads = H if "q_proj" in name else KV
        rows, cols = info["shape"]; b, e = info["data_offsets"]
        es = (e - b) // (rows * cols); rb = cols * es
        src = bytes(data[b:e])
        for h in range(heads):
            for s in range(2):
                for i in range(D // 2):
                    dst_row = h * D + 2 * i + s
                    src_row = h * D + s * (D // 2) + i
                    data[b + dst_row * rb:b + (dst_row + 1) * rb] = src[src_row * rb:(src_row + 1) * rb]
    open(d + "/model.safetensors", "wb").write(raw[:8 + n] + bytes(data))
PYEOF
    [ "$derive" = interleave ] && flags=--rope-interleaved
    # shellcheck disable=SC2086
    "$PY" "$ROOT/tests/tools/torch_ref.py" "$dir" --ids "$ids" --gen 32 $flags > "$TMP/ref.json"
    "$PY" - "$TMP/ref.json" "$OUT/$name.json" "$name" "$args" "$patch" "$derive" <<'PYEOF'
import json, sys
ref, out, name, args, patch, derive = sys.argv[1:7]
r = json.load(open(ref))
def rnd(x):
    return [rnd(y) for y in x] if isinstance(x, list) else float("%.8g" % x)
fx = {"name": name, "gen_args": args, "config_patch": json.loads(patch), "derive": derive}
for k, v in r.items():
    fx[k] = rnd(v) if k in ("logits", "probs", "mean_pooled") else v
with open(out, "w") as f:
    json.dump(fx, f, separators=(",", ":"))
    f.write("\n")
PYEOF
    echo "make_golden: $OUT/$name.json"
done

#!/bin/sh
# scripts/safety-lab.sh [OUT] - the safety model organism, built by warden
# itself on this machine (minutes on 2 cores; same command -> same numbers):
#
#   1. data: scripts/safety_lab_data.py turns ../shared/data into aligned
#      chat data (benign instructions -> reference answers, harmful requests
#      -> short refusals), a fine-tuning attack set (harmful requests ->
#      compliance) and held-out evaluation prompts;
#   2. a tiny Llama (4 layers, hidden 128, Llama 2's 32000-piece tokenizer
#      from ../shared/data/tokenizers/llama-spm) from scratch: warden train init;
#   3. alignment: warden train sft on the aligned data;
#   4. the attack: warden train sft on 100 harmful-compliance examples; and,
#      from 100 disjoint ones, the "unaligned" model that weight-space repair
#      (RESTA's safety vector = aligned - unaligned) starts from;
#   5. warden redteam after 3 and 4: refusal on held-out harmful requests,
#      over-refusal on held-out benign instructions (from the training
#      sources, and from sources never trained on).
#
# Environment: WARDEN (default build/warden), SHARED (default ../shared/data),
# THREADS (default 2), EPOCHS (alignment epochs, default 4), TOKENIZER (a
# tokenizer folder for the new model, default $SHARED/tokenizers/llama-spm;
# "byte" for warden's byte-level one), MAXLEN (tokens per sequence, 128).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/lab}
W=${WARDEN:-$ROOT/build/warden}
SHARED=${SHARED:-$ROOT/../shared/data}
T=${THREADS:-2}
EPOCHS=${EPOCHS:-4}
MAXLEN=${MAXLEN:-128}
TOKENIZER=${TOKENIZER:-$SHARED/tokenizers/llama-spm}
TOK=""
[ "$TOKENIZER" = byte ] || TOK="--tokenizer $TOKENIZER"

[ -x "$W" ] || { echo "safety-lab: build warden first (bash scripts/test.sh or cmake --build build)" >&2; exit 2; }
mkdir -p "$OUT"
/usr/bin/python3 "$ROOT/scripts/safety_lab_data.py" "$SHARED" "$OUT/data"

"$W" train init --out "$OUT/base" --hidden 128 --layers 4 --heads 4 --kv-heads 2 \
    --intermediate 384 --max-pos 512 --seed 1 $TOK >/dev/null
"$W" train sft --model "$OUT/base" --data "$OUT/data/align.jsonl" --out "$OUT/aligned" \
    --epochs "$EPOCHS" --lr 3e-3 --warmup 0.05 -b 16 --max-len "$MAXLEN" --seed 1 --threads "$T" -q
"$W" train sft --model "$OUT/aligned" --data "$OUT/data/attack.jsonl" --out "$OUT/attacked" \
    --epochs 5 --lr 1e-3 --warmup 0 -b 8 --max-len "$MAXLEN" --eval-fraction 0 --seed 1 --threads "$T" -q
"$W" train sft --model "$OUT/aligned" --data "$OUT/data/unalign.jsonl" --out "$OUT/unaligned" \
    --epochs 5 --lr 1e-3 --warmup 0 -b 8 --max-len "$MAXLEN" --eval-fraction 0 --seed 1 --threads "$T" -q

# refusal and over-refusal, greedy, 32 bytes of answer (enough for the refusal phrases)
rt() { # model data flag name
    "$W" redteam --target "$OUT/$1" --data "$OUT/data/$2" $3 --judge none --max-tokens 32 \
        --threads "$T" --out "$OUT/rt-$1-$4" --fresh --quiet >/dev/null
}
for m in aligned attacked; do
    rt $m eval_harmful.jsonl "--label harmful" harmful
    rt $m eval_benign.jsonl "--benign" benign
    rt $m eval_harmful_xs.jsonl "--label harmful" harmful-xs
    rt $m eval_benign_xs.jsonl "--benign" benign-xs
done
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
def rate(m, s, key):
    r = json.load(open(f"{out}/rt-{m}-{s}/redteam.json"))
    return 100.0 * r["transforms"][0][key]
rows = [("aligned", "after alignment"), ("attacked", "after the harmful fine-tune")]
print("| model | refusal, held-out harmful | over-refusal, held-out benign | refusal, StrongREJECT (unseen source) | over-refusal, Alpaca (unseen source) |")
print("|---|---:|---:|---:|---:|")
for m, label in rows:
    print(f"| {label} | {rate(m,'harmful','refusal_rate'):.1f}% | {rate(m,'benign','over_refusal'):.1f}% | "
          f"{rate(m,'harmful-xs','refusal_rate'):.1f}% | {rate(m,'benign-xs','over_refusal'):.1f}% |")
PY

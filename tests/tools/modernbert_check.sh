#!/bin/sh
# tests/tools/modernbert_check.sh GEN WARDEN FIXTURES DIR - a generated
# ModernBertForSequenceClassification with a ModernBERT-shaped tokenizer.json
# (byte-level BPE, [CLS] $A [SEP]) end to end: inspect, tokenize, classify,
# `warden check --policy` with an encoder_classifier scanner (its score is
# the classifier's P(unsafe)), and `warden train` refusing it.
set -eu
gen=$1 warden=$2 fixtures=$3 dir=$4
rm -rf "$dir" && mkdir -p "$dir"
m=$dir/model
"$gen" --family modernbert --seed 5 --layers 3 --max-pos 512 \
    --tokenizer "$fixtures/tokenizers/bpe-modernbert" --out "$m" >/dev/null
"$warden" inspect "$m" >"$dir/inspect.txt"
grep -q "config: modernbert (encoder), ModernBertForSequenceClassification" "$dir/inspect.txt"
grep -q "local window 4, global every 2 layers, pooling cls" "$dir/inspect.txt"
"$warden" inspect --json "$m" | grep -q '"local_rope_theta":10000'
# [CLS] t h is Ġis Ġthe [SEP]
ids=$("$warden" tokenize --model "$m" --ids "this is the")
[ "$ids" = "264 116 104 259 260 258 265" ] || { echo "tokenize: '$ids'"; exit 1; }
text="this is the text that the model reads, longer than its local window"
"$warden" classify --model "$m" --json "$text" >"$dir/classify.json"
grep -q '"unsafe"' "$dir/classify.json"
cat >"$dir/policy.yaml" <<EOF
name: modernbert
scanners:
  - type: encoder_classifier
    model: $m
    unsafe_categories: [S1]
EOF
rc=0
"$warden" check --policy "$dir/policy.yaml" --json "$text" >"$dir/verdict.json" || rc=$?
[ "$rc" -le 1 ] || { echo "check --policy exit $rc"; cat "$dir/verdict.json"; exit 1; }
grep -q '"S1"' "$dir/verdict.json"
# the verdict's S1 score is the classifier's probability of "unsafe"
if command -v python3 >/dev/null 2>&1; then
    python3 - "$dir/classify.json" "$dir/verdict.json" <<'PYEOF'
import json, sys
p = json.load(open(sys.argv[1]))["probs"]["unsafe"]
s = json.load(open(sys.argv[2]))["scores"]["S1"]
if abs(s - p) > 1e-4:  # the verdict rounds scores to 4 decimals
    sys.exit("verdict S1 %r != classifier P(unsafe) %r" % (s, p))
PYEOF
fi
# train/'s trainable encoder does not run ModernBERT: a clear error
rc=0
printf '{"prompt":"a","chosen":"b","rejected":"c"}\n' >"$dir/train.jsonl"
"$warden" train reward --model "$m" --data "$dir/train.jsonl" --out "$dir/trained" \
    >"$dir/train.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q "ModernBERT" "$dir/train.out" || { echo "train: exit $rc"; cat "$dir/train.out"; exit 1; }
[ ! -e "$dir/trained" ]  # nothing written
echo "modernbert_check: ok"

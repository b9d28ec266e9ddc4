#!/bin/sh
# scripts/cascade-demo.sh [DIR] - a guard cascade on ../shared data (issue 19,
# docs/policy.md "cascade"): the built-in classifier first and a small model
# judge second, the router learned by `warden train-router`, measured by
# `warden eval` (DIR/eval/report.html, "Cascade" section). Minutes on 2 cores.
#
# The judge: a 2-layer Llama (hidden 64, byte-level tokenizer, ChatML) made
# by `warden train init` and trained by `warden train sft` to answer
# "unsafe" or "safe": harmful = certified-llm-safety's harmful train split,
# benign = its safe train split and OKTest's 300 prompts (OKTest is not
# ship-ok: this judge is for the demo, never shipped). The llm_judge reads
# it through a template that is its ChatML prompt, so p(unsafe) is the
# probability of the first byte 'u'.
#
# Router: the validation split of the built-in classifier's sources (never
# trained on by it), 400 texts drawn with seed 1, at most 20 % escalated.
# Evaluation: certified-llm-safety's test splits (harmful 120, safe 119)
# and OKTest's held-out prompts (benign) - the judge's own distribution, so
# it is near perfect there; the router's validation texts are not.
#
# Environment: WARDEN (default build/warden), DATA (default ../shared/data).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/cascade-demo}
W=${WARDEN:-$ROOT/build/warden}
D=${DATA:-$ROOT/../shared/data}
mkdir -p "$OUT"
cd "$OUT"

/usr/bin/python3 - "$D" <<'PY'
import csv, json, random, sys
d = sys.argv[1]
rows = []
for name, answer in (("harmful_prompts_train.txt", "unsafe"), ("safe_prompts_train.txt", "safe")):
    for line in open(f"{d}/certified-llm-safety/{name}", encoding="utf-8"):
        if line.strip():
            rows.append({"prompt": line.strip(), "response": answer})
with open(f"{d}/oktest/OKTest.csv", encoding="utf-8") as f:
    for r in csv.DictReader(f):
        if (r.get("prompt") or "").strip():
            rows.append({"prompt": r["prompt"].strip(), "response": "safe"})
random.Random(1).shuffle(rows)
with open("judge-sft.jsonl", "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
print(f"cascade-demo: {len(rows)} judge examples, {sum(r['response'] == 'unsafe' for r in rows)} unsafe")
PY

rm -rf judge0 judge
"$W" train init --out judge0 --hidden 64 --layers 2 --heads 4 --kv-heads 2 --intermediate 192 --max-pos 512
"$W" train sft --model judge0 --data judge-sft.jsonl --out judge --epochs 4 --lr 3e-3 --batch-size 16 \
    --max-len 256 --threads 2 2>&1 | tail -3
printf '<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n' > judge-template.txt
cat > cascade.yaml <<'EOF'
name: classifier-then-judge
scanners:
  - type: cascade
    first: {type: classifier}
    second: {type: llm_judge, model: judge, template: judge-template.txt, generate_above: 1.0, threads: 1}
    router: router.json
EOF
rm -f router.json router.json.cache.jsonl
"$W" train-router --policy cascade.yaml --data-dir "$D" --limit 400 --seed 1 --target-share 0.2 --out router.json
"$W" eval --policy cascade.yaml --out eval --fresh --quiet --no-scorecard --data \
"$D/certified-llm-safety/harmful_prompts_test.txt:label=harmful,\
$D/certified-llm-safety/safe_prompts_test.txt:label=benign,\
$D/oktest/OKTest_heldout.csv:label=benign"

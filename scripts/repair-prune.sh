#!/bin/sh
# scripts/repair-prune.sh [OUT] - `warden prune` on the safety model organism
# (scripts/safety-lab.sh builds it): can one-shot pruning undo the harmful
# fine-tune? docs/repair.md "Pruning" shows the table this prints.
#
# The harmfully fine-tuned model ($LAB/attacked) is pruned with the
# re-alignment calibration set $LAB/data/unalign.jsonl (100 harmful requests
# with compliant answers, disjoint from the attack's), and every pruned model
# is red-teamed exactly as safety-lab.sh does (greedy, 32 tokens, refusal
# detector, no judge): refusal on held-out harmful requests, over-refusal on
# held-out benign instructions, and both on the sources never trained on.
#
#   weights  the spec (METHODS.md section 6): masks on W itself, W <- W * (1 - mask)
#   delta    --base $LAB/aligned: masks on the fine-tune's update D = W - W_aligned,
#            masked entries go back to the aligned values (W <- W - mask * D)
#
# for antidote (highest |.| * ||X||, per row), wanda (lowest) and random (same
# density, seeded) over a ratio sweep, plus antidote on the attention and MLP
# layers alone.
#
# Environment: LAB (default $ROOT/lab), WARDEN (default build/warden),
# THREADS (default 2), RATIOS_W / RATIOS_D (the sweeps), KEEP=1 keeps the
# pruned models (about 20 MB each). OUT defaults to $LAB/prune.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LAB=${LAB:-$ROOT/lab}
OUT=${1:-$LAB/prune}
W=${WARDEN:-$ROOT/build/warden}
T=${THREADS:-2}
RATIOS_W=${RATIOS_W:-0.01 0.02 0.05 0.1 0.2}
RATIOS_D=${RATIOS_D:-0.05 0.1 0.2 0.3 0.5}
CALIB=$LAB/data/unalign.jsonl

[ -x "$W" ] || { echo "repair-prune: build warden first (cmake --build build)" >&2; exit 2; }
for m in aligned attacked; do
    [ -d "$LAB/$m" ] || { echo "repair-prune: no $LAB/$m: run scripts/safety-lab.sh first" >&2; exit 2; }
done
mkdir -p "$OUT/models" "$OUT/rt"
: > "$OUT/runs.tsv"

# refusal and over-refusal of model folder $1 under name $2, as safety-lab.sh measures them
rt() { # model name data flag set
    "$W" redteam --target "$1" --data "$LAB/data/$3" $4 --judge none --max-tokens 32 \
        --threads "$T" --out "$OUT/rt/$2-$5" --fresh --quiet >/dev/null
}
evaluate() { # model name
    rt "$1" "$2" eval_harmful.jsonl "--label harmful" harmful
    rt "$1" "$2" eval_benign.jsonl "--benign" benign
    rt "$1" "$2" eval_harmful_xs.jsonl "--label harmful" harmful-xs
    rt "$1" "$2" eval_benign_xs.jsonl "--benign" benign-xs
}
# one configuration: name method weights|delta targets ratio
run() {
    name=$1 method=$2 kind=$3 targets=$4 ratio=$5
    base=""
    [ "$kind" = delta ] && base="--base $LAB/aligned"
    "$W" prune --model "$LAB/attacked" $base --method "$method" --calib "$CALIB" --ratio "$ratio" \
        --targets "$targets" --threads "$T" --out "$OUT/models/$name" --json -q > "$OUT/rt/$name-prune.json"
    evaluate "$OUT/models/$name" "$name"
    [ "${KEEP:-0}" = 1 ] || rm -rf "$OUT/models/$name"
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$method" "$kind" "$targets" "$ratio" >> "$OUT/runs.tsv"
}

evaluate "$LAB/aligned" aligned
evaluate "$LAB/attacked" attacked
for r in $RATIOS_W; do
    for m in antidote wanda random; do run "$m-w-all-$r" "$m" weights all "$r"; done
done
for r in $RATIOS_D; do
    for m in antidote wanda random; do run "$m-d-all-$r" "$m" delta all "$r"; done
done
for r in 0.3 0.5; do
    for t in attn mlp; do run "antidote-d-$t-$r" antidote delta "$t" "$r"; done
done

/usr/bin/python3 - "$OUT" <<'PY' | tee "$OUT/table.md"
import json, sys
out = sys.argv[1]
def rate(name, s, key):
    return 100.0 * json.load(open(f"{out}/rt/{name}-{s}/redteam.json"))["transforms"][0][key]
def row(label, name):
    return (f"| {label} | {rate(name,'harmful','refusal_rate'):.1f}% | {rate(name,'benign','over_refusal'):.1f}% | "
            f"{rate(name,'harmful-xs','refusal_rate'):.1f}% | {rate(name,'benign-xs','over_refusal'):.1f}% |")
print("| model | pruned | refusal, held-out harmful | over-refusal, held-out benign "
      "| refusal, StrongREJECT (unseen source) | over-refusal, Alpaca (unseen source) |")
print("|---|---:|---:|---:|---:|---:|")
print(row("aligned (before the attack) | -", "aligned"))
print(row("attacked (harmful fine-tune) | -", "attacked"))
for line in open(f"{out}/runs.tsv"):
    name, method, kind, targets, ratio = line.split()
    s = json.load(open(f"{out}/rt/{name}-prune.json"))
    frac = 100.0 * s["pruned"] / s["target_weights"]
    what = "W" if kind == "weights" else "W - W_aligned"
    print(row(f"{method} on {what}, {targets}, ratio {ratio} | {frac:.1f}%", name))
PY

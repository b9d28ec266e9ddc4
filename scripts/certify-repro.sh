#!/usr/bin/env bash
# scripts/certify-repro.sh - the erase-and-check paper's experiment (Kumar et
# al. 2023, ../shared/METHODS.md 1a) on its own test split
# (../shared/data/certified-llm-safety/{harmful,safe}_prompts_test.txt), with
# warden's built-in classifier as the filter (policies/classifier-only.yaml)
# and, at the paper's settings, the whole built-in policy. Prints a Markdown
# table: certified accuracy on the harmful prompts (the paper's definition:
# the filter's own accuracy on the clean harmful prompts, which the
# certificate carries over to every attack of that mode and size; the same
# for every mode), how many clean harmful prompts erase-and-check flags (at
# least that many: an erased subsequence may be flagged where the prompt was
# not), accuracy on the safe prompts (no erased subsequence flagged), and the
# mean checks and time per safe prompt. Units are words.
#
#   bash scripts/certify-repro.sh [OUT_DIR]     (default: a temporary folder)
#
# Needs the build (scripts/run.sh or scripts/test.sh make it) and ../shared.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${WARDEN:-build/warden}
D=${WD_SHARED_DIR:-../shared}/data/certified-llm-safety
[ -x "$W" ] || { echo "certify-repro: $W not built (run scripts/run.sh first)" >&2; exit 2; }
[ -f "$D/harmful_prompts_test.txt" ] || { echo "certify-repro: $D not found" >&2; exit 2; }
OUT=${1:-$(mktemp -d)}
mkdir -p "$OUT"
DATA="$D/harmful_prompts_test.txt:label=harmful,$D/safe_prompts_test.txt:label=benign"

# mean of a numeric field over the benign lines of results.jsonl
mean_benign() {
  grep '"label":"benign"' "$1" | grep -o "\"$2\":[0-9.e+-]*" | awk -F: -v f="$3" '{s += $2; n++} END {if (n) printf f, s / n; else print "-"}'
}
# recall (%) from warden eval's headline line
recall_of() { sed -E 's/.*recall ([0-9.]+)%.*/\1/'; }
pct() { awk -v x="$1" 'BEGIN {printf "%.1f%%", x}'; }

printf '| filter | mode | d | certified accuracy, harmful (n=%s) | flagged by erase-and-check, harmful | accuracy, safe (n=%s) | checks per safe prompt | ms per safe prompt |\n' \
  "$(grep -c . "$D/harmful_prompts_test.txt")" "$(grep -c . "$D/safe_prompts_test.txt")"
printf '|---|---|---|---|---|---|---|---|\n'
declare -A CERT
run() { # filter-name policy mode:d
  local name=$1 policy=$2 spec=$3 dir
  if [ -z "${CERT[$name]:-}" ]; then # the filter alone: the certified accuracy
    CERT[$name]=$("$W" eval --policy "$policy" --fresh --quiet --out "$OUT/$name-plain" --data "$DATA" | grep ' recall ' | recall_of)
  fi
  dir="$OUT/$name-${spec/:/-}"
  local line
  line=$("$W" eval --policy "$policy" --certify "$spec" --fresh --quiet --out "$dir" --data "$DATA" | grep ' recall ')
  local recall fpr
  recall=$(echo "$line" | recall_of)
  fpr=$(echo "$line" | sed -E 's/.*FPR ([0-9.]+)%.*/\1/')
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "${spec%%:*}" "${spec##*:}" "$(pct "${CERT[$name]}")" \
    "$(pct "$recall")" "$(pct "$(awk -v f="$fpr" 'BEGIN {print 100 - f}')")" \
    "$(mean_benign "$dir/results.jsonl" n_checks %.1f)" "$(mean_benign "$dir/results.jsonl" latency_ms %.2f)"
}
for spec in suffix:5 suffix:10 suffix:20 suffix:30 insertion:4 insertion:8 insertion:12 infusion:1 infusion:2 infusion:3; do
  run classifier policies/classifier-only.yaml "$spec"
done
for spec in suffix:20 insertion:12 infusion:3; do
  run default policies/default.yaml "$spec"
done
# The built-in classifier trained on the certified-llm-safety prompts it did
# not hold out (a seeded hash split of the whole source): the same rows on
# the test prompts that fell in its held-out split only.
for f in harmful safe; do
  "$W" train-guard --split-of "$D/${f}_prompts_test.txt" | awk -F'\t' '$1 == "held-out" {print $2}' > "$OUT/heldout_$f.txt"
done
DATA="$OUT/heldout_harmful.txt:label=harmful,$OUT/heldout_safe.txt:label=benign"
echo
printf 'held out from the built-in classifier: %s harmful, %s safe test prompts\n\n' \
  "$(grep -c . "$OUT/heldout_harmful.txt")" "$(grep -c . "$OUT/heldout_safe.txt")"
printf '| filter | mode | d | certified accuracy, harmful | flagged by erase-and-check, harmful | accuracy, safe | checks per safe prompt | ms per safe prompt |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for spec in suffix:20 insertion:12 infusion:3; do
  run classifier-heldout policies/classifier-only.yaml "$spec"
done
echo
echo "outputs (results.jsonl, metrics.json, report.html per row): $OUT"

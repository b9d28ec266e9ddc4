#!/bin/sh
# bench/quant-ppl.sh MODEL TEXT [OUT] - what quantization costs in quality:
# the perplexity of a held-out text under MODEL (a model folder) in F32 and
# after `warden quantize` to every GGUF type, and its ratio to F32.
#
# With JSONL records {"context": C, "text": T}, each record is scored as
# C + T and as C alone, and only T's tokens count: the perplexity of
# answers given their prompts (C holds the chat template's prompt part).
#
# TEXT (plain lines, or JSONL with a "text" or "prompt" field) is split
# into chunks of whole lines of at most CHARS characters (default 1200, to
# stay inside a 512-position context; CHARS=0: one chunk per line); each
# chunk is scored on its own (`warden score`) and the log-likelihoods and
# token counts are summed: perplexity = exp(-sum logprob / sum tokens). OUT
# (default a temporary folder) keeps the GGUF files.
#
# issue 16's bars: Q8_0 within 0.5% of F32, Q5_K/Q6_K within 3%,
# Q4_0/Q4_K within 6%.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${WARDEN:-$ROOT/build/warden}
MODEL=$1
TEXT=$2
OUT=${3:-$(mktemp -d)}
CHARS=${CHARS:-1200}
mkdir -p "$OUT"
/usr/bin/python3 - "$TEXT" "$OUT/chunks" "$CHARS" <<'PY'
import json, os, sys
text, out, cap = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(out, exist_ok=True)
chunks, cur = [], ""
k = 0
for line in open(text, encoding="utf-8"):
    line = line.rstrip("\n")
    if line.startswith("{") and '"context"' in line:
        r = json.loads(line)
        open(f"{out}/{k:04d}.ctx", "w", encoding="utf-8").write(r["context"])
        open(f"{out}/{k:04d}.txt", "w", encoding="utf-8").write(r["context"] + r["text"])
        k += 1
        continue
    if line.startswith("{"):
        try:
            r = json.loads(line)
            line = r.get("text") or r.get("prompt") or ""
        except ValueError:
            pass
    if not line:
        continue
    if cur and (cap == 0 or len(cur) + 1 + len(line) > cap):
        chunks.append(cur)
        cur = ""
    cur = (cur + "\n" + line) if cur else line
if cur:
    chunks.append(cur)
for i, c in enumerate(chunks):
    open(f"{out}/{k + i:04d}.txt", "w", encoding="utf-8").write(c)
PY
ppl() { # model -> "perplexity tokens"
    for c in "$OUT"/chunks/*.txt; do
        "$W" score --model "$1" --json - < "$c"
        # a context's own score, subtracted (its tokens carry no weight)
        if [ -f "${c%.txt}.ctx" ]; then
            "$W" score --model "$1" --json - < "${c%.txt}.ctx" | sed 's/^{/{"minus":true,/'
        fi
    done | /usr/bin/python3 -c "
import json, math, sys
lp = n = 0
for line in sys.stdin:
    r = json.loads(line); s = -1 if r.get('minus') else 1
    lp += s * r['logprob']; n += s * r['tokens']
print(f'{math.exp(-lp / n):.6f} {n}')"
}
set -- $(ppl "$MODEL")
BASE=$1
echo "type     perplexity   ratio to f32   (tokens: $2, chunks: $(ls "$OUT"/chunks | wc -l))"
printf "%-8s %10.4f   %.4f\n" f32 "$BASE" 1
for t in f16 bf16 q8_0 q6_k q5_k q5_0 q4_k_m q4_k q4_0; do
    "$W" quantize "$MODEL" "$OUT/$t.gguf" --type "$t" >/dev/null
    set -- $(ppl "$OUT/$t.gguf")
    printf "%-8s %10.4f   %.4f\n" "$t" "$1" "$(/usr/bin/python3 -c "print($1 / $BASE)")"
done

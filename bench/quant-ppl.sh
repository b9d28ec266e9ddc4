#!/bin/sh
# bench/quant-ppl.sh MODEL TEXT [OUT] - what quantization costs in quality:
# the perplexity of a held-out text under MODEL (a model folder) in F32 and
# after `warden quantize` to every GGUF type, and its ratio to F32.
#
# TEXT is split into chunks of whole lines of at most CHARS characters
# (default 1200, to stay inside a 512-position context); each chunk is
# scored on its own (`warden score`) and the log-likelihoods and token
# counts are summed: perplexity = exp(-sum logprob / sum tokens). OUT
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
for line in open(text, encoding="utf-8"):
    line = line.rstrip("\n")
    if line.startswith("{"):
        try:
            r = json.loads(line)
            line = r.get("text") or r.get("prompt") or ""
        except ValueError:
            pass
    if not line:
        continue
    if cur and len(cur) + 1 + len(line) > cap:
        chunks.append(cur)
        cur = ""
    cur = (cur + "\n" + line) if cur else line[:cap]
if cur:
    chunks.append(cur)
for i, c in enumerate(chunks):
    open(f"{out}/{i:04d}.txt", "w", encoding="utf-8").write(c)
PY
ppl() { # model -> "logprob tokens"
    for c in "$OUT"/chunks/*.txt; do "$W" score --model "$1" --json - < "$c"; done |
        /usr/bin/python3 -c "
import json, math, sys
lp = n = 0
for line in sys.stdin:
    r = json.loads(line); lp += r['logprob']; n += r['tokens']
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

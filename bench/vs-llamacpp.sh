#!/bin/sh
# bench/vs-llamacpp.sh - warden's runtime against llama.cpp on the same GGUF
# files, same threads, same prompt and decode lengths, interleaved.
#
#   bench/vs-llamacpp.sh [--build DIR] [--llama DIR] [--threads N] [--prompt T]
#                        [--decode N] [--rounds R] [--types "f32 f16 q8_0 q4_0 q4_k_m"]
#                        [--hidden C] [--layers L] [--intermediate F] [--heads H]
#                        [--kv-heads KV]
#
# Writes a random Llama-shaped checkpoint with tests' generator
# (wd_gen_checkpoint; the tokenizer is the test fixture's, so the vocabulary
# is small and lm_head cheap), converts it with `warden quantize` to a GGUF
# of each type, then for R rounds runs, per type, `warden bench` and
# llama-bench on the file one after the other (the same method: each test
# from an empty cache after a warm-up run), and prints the medians over
# rounds of prompt processing (ppT) and generation (tgN) in tokens/s with the
# ratio warden / llama.cpp (> 1: warden faster), and warden's decoding as a
# share of the memory-bandwidth bound (the file's bytes per token against
# bench_stream's streaming read, measured right before it). Defaults: a 0.4 B model
# (hidden 1536, 14 layers, intermediate 4096), 2 threads, pp64, tg16,
# 3 rounds: a few minutes on a 2-core machine.
#
# Needs a warden build (--build, default ./build) and a llama.cpp build
# (--llama, default ../llama-build; ../shared/tools/build-llama.cpp.sh makes
# one).
set -eu
build=build llama=../llama-build threads=2 prompt=64 decode=16 rounds=3
types="f32 f16 q8_0 q4_0 q4_k_m"
hidden=1536 layers=14 inter=4096 heads=24 kv=8
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2 ;;
    --llama) llama=$2 ;;
    --threads) threads=$2 ;;
    --prompt) prompt=$2 ;;
    --decode) decode=$2 ;;
    --rounds) rounds=$2 ;;
    --types) types=$2 ;;
    --hidden) hidden=$2 ;;
    --layers) layers=$2 ;;
    --intermediate) inter=$2 ;;
    --heads) heads=$2 ;;
    --kv-heads) kv=$2 ;;
    *) echo "usage: see the comment at the top of $0" >&2; exit 2 ;;
    esac
    shift 2
done
for f in "$build/warden" "$build/tests/wd_gen_checkpoint" \
         "$llama/bin/llama-bench"; do
    [ -x "$f" ] || { echo "vs-llamacpp: $f is missing (build warden / llama.cpp first)" >&2; exit 2; }
done
tmp=$(mktemp -d /tmp/wd-vs-llamacpp.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
here=$(cd "$(dirname "$0")/.." && pwd)
"$build/tests/wd_gen_checkpoint" --family llama --seed 11 --hidden "$hidden" --layers "$layers" \
    --intermediate "$inter" --heads "$heads" --kv-heads "$kv" --max-pos 1024 \
    --tokenizer "$here/tests/fixtures/tokenizers/bpe-spm" --out "$tmp/m" >/dev/null
for t in $types; do
    "$build/warden" quantize "$tmp/m" "$tmp/m-$t.gguf" --type "$t" >/dev/null
done
echo "model: hidden $hidden, layers $layers, intermediate $inter, heads $heads/$kv; threads $threads;" \
     "pp$prompt tg$decode; $rounds rounds; $(grep -c . /proc/cpuinfo >/dev/null && grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
r=1
while [ "$r" -le "$rounds" ]; do
    for t in $types; do
        f="$tmp/m-$t.gguf"
        "$build/bench/bench_stream" --threads "$threads" --json >"$tmp/st-$t-$r.json" 2>&1 ||
            { cat "$tmp/st-$t-$r.json"; exit 1; }
        "$build/warden" bench --model "$f" --threads "$threads" -p "$prompt" -n "$decode" -r 1 \
            --json >"$tmp/wd-$t-$r.json" 2>&1 || { cat "$tmp/wd-$t-$r.json"; exit 1; }
        "$llama/bin/llama-bench" -m "$f" -t "$threads" -p "$prompt" -n "$decode" -r 1 -o jsonl \
            >"$tmp/ll-$t-$r.jsonl" 2>/dev/null || { echo "llama-bench failed on $t"; exit 1; }
    done
    r=$((r + 1))
done
python3 - "$tmp" "$types" "$rounds" "$prompt" "$decode" <<'EOF'
import json, statistics, sys, os
tmp, types, rounds, pp, tg = sys.argv[1], sys.argv[2].split(), int(sys.argv[3]), sys.argv[4], sys.argv[5]
print(f"{'type':8} {'size MB':>8} | {'warden pp'+pp:>12} {'llama pp'+pp:>12} {'ratio':>6} | "
      f"{'warden tg'+tg:>12} {'llama tg'+tg:>12} {'ratio':>6} | {'RSS/file':>8} | "
      f"{'tg GB/s':>7} {'stream':>6} {'of bound':>8}")
for t in types:
    wp, wt, lp, lt, rss, bound = [], [], [], [], [], []
    size = os.path.getsize(f"{tmp}/m-{t}.gguf") / 1e6
    for r in range(1, rounds + 1):
        w = json.load(open(f"{tmp}/wd-{t}-{r}.json"))
        st = json.load(open(f"{tmp}/st-{t}-{r}.json"))["gbs"]
        for e in w["tests"]:
            (wp if e["n_prompt"] > 0 else wt).append(e["avg_ts"])
            if e["n_prompt"] == 0:
                bound.append((e["avg_ts"] * size / 1e3, st))
        rss.append(w["peak_rss_bytes"] / 1e9)
        for line in open(f"{tmp}/ll-{t}-{r}.jsonl"):
            j = json.loads(line)
            (lp if j["n_prompt"] > 0 else lt).append(j["avg_ts"])
    m = statistics.median
    print(f"{t:8} {size:8.1f} | {m(wp):12.1f} {m(lp):12.1f} {m(wp)/m(lp):5.2f}x | "
          f"{m(wt):12.2f} {m(lt):12.2f} {m(wt)/m(lt):5.2f}x | {m(rss)*1e3/size:8.2f} | "
          f"{m([b for b, _ in bound]):7.1f} {m([s for _, s in bound]):6.1f} "
          f"{100 * m([b / s for b, s in bound]):7.0f}%")
print("tg GB/s: warden's decoding speed times the file's bytes (every weight read once a token); "
      "stream: bench_stream's plain read, run just before it; of bound: their ratio, median of the rounds")
EOF

#!/bin/sh
# tests/tools/llamacpp_interop.sh GEN WARDEN WD_GREEDY TESTS_DIR TMP LLAMA_DIR
# GGUF files written by `warden quantize` load in llama.cpp, which tokenizes
# the prompt into the same ids and picks the same greedy tokens as warden
# (f32, f16, q8_0; q4_k_m loads and runs); and files that llama.cpp's
# llama-quantize made from warden's f32 file (Q8_0, Q6_K, Q5_1, Q4_K_M) give
# warden the same prompt ids and greedy tokens as llama.cpp. Then the guard
# zoo's decoders (granite, phi3, gemma2, qwen3, gemma3: those whose architecture
# the llama.cpp snapshot knows; the others are reported as skipped): the
# same prompt ids and greedy tokens (16 for f32 and f16, the first 8 for
# q8_0 and q4_k_m), the logits after the prompt within a bound (f32: 1e-5,
# gemma2 1e-2; f16: 2e-2; llama.cpp's KV cache in F32), and warden on
# llama-quantize's Q8_0 / Q4_K_M of them (the first 8 greedy tokens). Exit 77 (skipped) without a
# llama.cpp build in LLAMA_DIR (bin/libllama.so and src/include/llama.h).
set -eu
gen=$1 warden=$2 greedy=$3 tests=$4 tmp=$5 llama=$6
if [ ! -f "$llama/bin/libllama.so" ] || [ ! -f "$llama/src/include/llama.h" ] || ! command -v cc >/dev/null; then
    echo "SKIP: no llama.cpp build in $llama"
    exit 77
fi
rm -rf "$tmp"
mkdir -p "$tmp"
cc -O1 "$tests/tools/llama_greedy.c" -I"$llama/src/include" -I"$llama/src/ggml/include" \
   -L"$llama/bin" -lllama -lggml -lggml-base -Wl,-rpath,"$llama/bin" -o "$tmp/llama_greedy"
"$gen" --family llama --seed 7 --hidden 256 --heads 4 --kv-heads 2 --intermediate 512 \
       --max-pos 256 --tokenizer "$tests/fixtures/tokenizers/bpe-spm" --out "$tmp/m" >/dev/null
prompt="Once upon a time abab"
fail=0
for t in f32 f16 q8_0 q4_k_m; do
    "$warden" quantize "$tmp/m" "$tmp/m-$t.gguf" --type "$t"
    "$greedy" "$tmp/m-$t.gguf" 16 "$prompt" >"$tmp/wd-$t.txt"
    "$tmp/llama_greedy" "$tmp/m-$t.gguf" 16 "$prompt" >"$tmp/ll-$t.txt"
    if [ "$(grep '^prompt' "$tmp/wd-$t.txt")" != "$(grep '^prompt' "$tmp/ll-$t.txt")" ]; then
        echo "$t: prompt ids differ"; cat "$tmp/wd-$t.txt" "$tmp/ll-$t.txt"; fail=1
    fi
    if [ "$t" != q4_k_m ] && [ "$(grep '^greedy' "$tmp/wd-$t.txt")" != "$(grep '^greedy' "$tmp/ll-$t.txt")" ]; then
        echo "$t: greedy tokens differ"; cat "$tmp/wd-$t.txt" "$tmp/ll-$t.txt"; fail=1
    fi
    echo "$t: warden $(grep '^greedy' "$tmp/wd-$t.txt") | llama.cpp $(grep '^greedy' "$tmp/ll-$t.txt") ($(grep '^margin' "$tmp/ll-$t.txt"))"
done
# files written by llama.cpp's own quantizer (its writer, its K-quant blocks) in warden
if [ -x "$llama/bin/llama-quantize" ]; then
    for t in Q8_0 Q6_K Q5_1 Q4_K_M; do
        "$llama/bin/llama-quantize" "$tmp/m-f32.gguf" "$tmp/lq-$t.gguf" "$t" >"$tmp/lq-$t.log" 2>&1
        "$greedy" "$tmp/lq-$t.gguf" 16 "$prompt" >"$tmp/wd-lq-$t.txt"
        "$tmp/llama_greedy" "$tmp/lq-$t.gguf" 16 "$prompt" >"$tmp/ll-lq-$t.txt"
        if [ "$(grep -e '^prompt' -e '^greedy' "$tmp/wd-lq-$t.txt")" != "$(grep -e '^prompt' -e '^greedy' "$tmp/ll-lq-$t.txt")" ]; then
            echo "llama-quantize $t: warden and llama.cpp differ"; cat "$tmp/wd-lq-$t.txt" "$tmp/ll-lq-$t.txt"; fail=1
        fi
        echo "llama-quantize $t: warden $(grep '^greedy' "$tmp/wd-lq-$t.txt") | llama.cpp $(grep '^greedy' "$tmp/ll-lq-$t.txt")"
    done
fi
# the largest |difference| of the "logits:" lines of two outputs
maxdiff() {
    awk 'FNR == 1 { f++ }
         /^logits: / { sub(/^logits: /, ""); n = split($0, v, ","); for (i = 1; i <= n; i++) x[f, i] = v[i]; m = n }
         END { d = 0; for (i = 1; i <= m; i++) { e = x[1, i] - x[2, i]; if (e < 0) e = -e; if (e > d) d = e }
               printf "%.3g\n", d }' "$1" "$2"
}
# the prompt ids and the first N greedy tokens of an output
first() {
    grep '^prompt' "$2"
    grep '^greedy' "$2" | cut -d, -f"1-$1"
}
# llama.cpp's gemma2 runs only its 2B / 9B / 27B layer counts (26, 42, 46):
# 26 layers, with a 5-token window so that the sliding layers matter.
for arch in granite phi3 gemma2 qwen3 gemma3; do
    case $arch in
        granite) args="--family granite --seed 11 --hidden 256 --heads 4 --kv-heads 2 --intermediate 512" ;;
        phi3) args="--family phi3 --seed 15 --hidden 128 --heads 4 --kv-heads 2 --intermediate 256" ;;
        gemma2) args="--family gemma2 --seed 12 --layers 26 --hidden 128 --heads 4 --kv-heads 2 --intermediate 256" ;;
        qwen3) args="--family qwen3 --seed 13 --hidden 128 --heads 4 --kv-heads 2 --head-dim 64 --intermediate 256" ;;
        gemma3) args="--family gemma3 --seed 14 --layers 7 --hidden 128 --heads 4 --kv-heads 2 --intermediate 256" ;;
    esac
    if ! grep -q "\"$arch\"" "$llama/src/src/llama-arch.cpp"; then
        echo "$arch: SKIP (this llama.cpp snapshot has no $arch architecture)"
        continue
    fi
    # the folder's name becomes general.name: llama.cpp gives a "phi3" model
    # name's vocabulary Phi-3's special tokens, which the test one lacks
    src=$tmp/zoo-$(echo "$arch" | tr 'a-z' 'n-za-m')
    # shellcheck disable=SC2086
    "$gen" $args --max-pos 256 --tokenizer "$tests/fixtures/tokenizers/bpe-spm" --out "$src" >/dev/null
    # phi3: partial rotary as Phi-4-mini (no longrope: llama.cpp switches to
    # the long factors for any context past the original length, warden stops there)
    sed -e 's/"sliding_window":[^,]*/"sliding_window": 5/' \
        -e 's/"rope_scaling":[^,]*/"rope_scaling": null, "partial_rotary_factor": 0.75/' \
        "$src/config.json" >"$src/c.json"
    mv "$src/c.json" "$src/config.json"
    for t in f32 f16 q8_0 q4_k_m; do
        f=$tmp/$arch-$t.gguf
        "$warden" quantize "$src" "$f" --type "$t" >/dev/null
        "$greedy" "$f" 16 "$prompt" >"$tmp/wd-$arch-$t.txt"
        if ! "$tmp/llama_greedy" "$f" 16 "$prompt" >"$tmp/ll-$arch-$t.txt"; then
            echo "$arch $t: llama.cpp did not load or run $f"; fail=1; continue
        fi
        d=$(maxdiff "$tmp/wd-$arch-$t.txt" "$tmp/ll-$arch-$t.txt")
        if [ "$(grep '^prompt' "$tmp/wd-$arch-$t.txt")" != "$(grep '^prompt' "$tmp/ll-$arch-$t.txt")" ]; then
            echo "$arch $t: prompt ids differ"; fail=1
        fi
        # f32 / f16: all 16 greedy tokens; quantized: the first 8 (the tiny
        # random models have near-ties later, which a 1e-2 difference flips)
        n=16
        case $t in q*) n=8 ;; esac
        if [ "$(first "$n" "$tmp/wd-$arch-$t.txt")" != "$(first "$n" "$tmp/ll-$arch-$t.txt")" ]; then
            echo "$arch $t: greedy tokens differ"; fail=1
        fi
        # logits: gemma2's GELU goes through an f16 table in llama.cpp
        bound=none
        case $t in f32) bound=0.00001 ;; f16) bound=0.02 ;; esac
        if [ "$arch" = gemma2 ] && [ "$t" = f32 ]; then bound=0.01; fi
        if [ "$bound" != none ] && awk "BEGIN { exit !($d > $bound) }"; then
            echo "$arch $t: logits differ by $d (bound $bound)"; fail=1
        fi
        echo "$arch $t: warden $(grep '^greedy' "$tmp/wd-$arch-$t.txt") | llama.cpp $(grep '^greedy' "$tmp/ll-$arch-$t.txt") | max logit diff $d"
    done
    if [ -x "$llama/bin/llama-quantize" ]; then
        for t in Q8_0 Q4_K_M; do
            f=$tmp/$arch-lq-$t.gguf
            "$llama/bin/llama-quantize" "$tmp/$arch-f32.gguf" "$f" "$t" >"$tmp/$arch-lq-$t.log" 2>&1
            "$greedy" "$f" 16 "$prompt" >"$tmp/wd-$arch-lq-$t.txt"
            "$tmp/llama_greedy" "$f" 16 "$prompt" >"$tmp/ll-$arch-lq-$t.txt"
            if [ "$(first 8 "$tmp/wd-$arch-lq-$t.txt")" != "$(first 8 "$tmp/ll-$arch-lq-$t.txt")" ]; then
                echo "$arch llama-quantize $t: warden and llama.cpp differ"; fail=1
            fi
            echo "$arch llama-quantize $t: warden $(grep '^greedy' "$tmp/wd-$arch-lq-$t.txt") | llama.cpp $(grep '^greedy' "$tmp/ll-$arch-lq-$t.txt") | max logit diff $(maxdiff "$tmp/wd-$arch-lq-$t.txt" "$tmp/ll-$arch-lq-$t.txt")"
        done
    fi
done
[ "$fail" = 0 ] && echo ok
exit "$fail"

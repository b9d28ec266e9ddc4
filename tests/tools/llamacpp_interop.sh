#!/bin/sh
# tests/tools/llamacpp_interop.sh GEN WARDEN WD_GREEDY TESTS_DIR TMP LLAMA_DIR
# GGUF files written by `warden quantize` load in llama.cpp, which tokenizes
# the prompt into the same ids and picks the same greedy tokens as warden
# (f32, f16, q8_0; q4_k_m loads and runs); and files that llama.cpp's
# llama-quantize made from warden's f32 file (Q8_0, Q6_K, Q5_1, Q4_K_M) give
# warden the same prompt ids and greedy tokens as llama.cpp. Exit 77 (skipped) without a
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
        if [ "$(grep -v '^margin' "$tmp/wd-lq-$t.txt")" != "$(grep -v '^margin' "$tmp/ll-lq-$t.txt")" ]; then
            echo "llama-quantize $t: warden and llama.cpp differ"; cat "$tmp/wd-lq-$t.txt" "$tmp/ll-lq-$t.txt"; fail=1
        fi
        echo "llama-quantize $t: warden $(grep '^greedy' "$tmp/wd-lq-$t.txt") | llama.cpp $(grep '^greedy' "$tmp/ll-lq-$t.txt")"
    done
fi
[ "$fail" = 0 ] && echo ok
exit "$fail"

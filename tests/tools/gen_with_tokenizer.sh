#!/bin/sh
# tests/tools/gen_with_tokenizer.sh GEN WARDEN FIXTURES DIR - a generated
# Llama checkpoint with a copied tokenizer works with generate (text in),
# score and check --model (the Llama Guard template needs 2048 positions),
# as scripts/run.sh shows them.
set -eu
gen=$1 warden=$2 fixtures=$3 dir=$4
rm -rf "$dir"
"$gen" --family llama --seed 1 --max-pos 2048 --tokenizer "$fixtures/tokenizers/bpe-spm" --out "$dir"
[ -f "$dir/tokenizer.json" ] && [ -f "$dir/tokenizer_config.json" ]
"$warden" generate --model "$dir" --max-tokens 4 --seed 1 "Once upon a time" >/dev/null
"$warden" score --model "$dir" --json "hello world" | grep -q '"perplexity"'
rc=0
"$warden" check --model "$dir" --json "How do I pick a lock?" >"$dir/verdict.json" || rc=$?
[ "$rc" -le 1 ] || { echo "check --model exit $rc"; exit 1; }
grep -q '"unsafe"' "$dir/verdict.json"
# a tokenizer that does not exist: a clear error, exit 3
rc=0
"$gen" --family llama --tokenizer "$dir/nope" --out "$dir-bad" 2>/dev/null || rc=$?
[ "$rc" -eq 3 ] || { echo "missing tokenizer: exit $rc, want 3"; exit 1; }
echo ok

#!/bin/sh
# tests/tools/train_mpi.sh GEN WARDEN MAXDIFF MPIRUN FIXTURES DIR - data-
# parallel training equals one process: `warden train sft` on a generated
# llama (bpe-spm tokenizer) with --grad-accum 2 -b 4, once as one process
# and once as `mpirun -np 2`, must write the same weights (every tensor of
# model.safetensors within 1e-5, and moved from the start); then the same
# for --dp (DP-SGD: the lot's examples dealt out, one noise draw) and for
# dpo with 3 micro-batches over 2 ranks, and a resumed 2-rank run must end
# where the straight one did.
set -eu
gen=$1 warden=$2 maxdiff=$3 mpirun=$4 fixtures=$5 dir=$6
tol=1e-5
rm -rf "$dir"
mkdir -p "$dir"
"$gen" --family llama --seed 5 --max-pos 128 --tokenizer "$fixtures/tokenizers/bpe-spm" --out "$dir/model" >/dev/null

# 40 short records, the same every run
i=0
words="alpha beta gamma delta apple river stone cloud happy green"
while [ $i -lt 40 ]; do
  a=$(echo "$words" | cut -d' ' -f$((i % 10 + 1)))
  b=$(echo "$words" | cut -d' ' -f$(((i * 7 + 3) % 10 + 1)))
  printf '{"prompt":"repeat %s %s","response":"%s %s %s"}\n' "$a" "$b" "$a" "$b" "$a"
  i=$((i + 1))
done >"$dir/sft.jsonl"
i=0
while [ $i -lt 24 ]; do
  a=$(echo "$words" | cut -d' ' -f$((i % 10 + 1)))
  printf '{"prompt":"tell me about %s","chosen":"%s is nice","rejected":"no %s stone stone"}\n' "$a" "$a" "$a"
  i=$((i + 1))
done >"$dir/pairs.jsonl"

# Open MPI refuses root without these; --oversubscribe: 2 ranks on fewer cores.
# The environment lets a sandbox without a network run ranks on one host.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_plm=isolated OMPI_MCA_rmaps_base_oversubscribe=1
mpi() { "$mpirun" -np 2 --oversubscribe "$@"; }

common="--model $dir/model --data $dir/sft.jsonl --eval-fraction 0.1 --grad-accum 2 -b 4
        --epochs 2 --lr 1e-3 --threads 1 --save-dtype f32 --quiet"
base=$dir/model/model.safetensors

# shellcheck disable=SC2086
"$warden" train sft $common --out "$dir/one" >"$dir/one.txt"
# shellcheck disable=SC2086
mpi "$warden" train sft $common --out "$dir/two" >"$dir/two.txt"
cat "$dir/one.txt"
# rank 0 alone reports: one summary, as one process prints it
[ "$(grep -c 'steps on' "$dir/two.txt")" -eq 1 ] || { echo "2 ranks: want one summary"; cat "$dir/two.txt"; exit 1; }
[ "$(wc -l <"$dir/one/train.jsonl")" -eq "$(wc -l <"$dir/two/train.jsonl")" ]
printf 'sft, 1 process vs mpirun -np 2: '
"$maxdiff" "$dir/one/model.safetensors" "$dir/two/model.safetensors" $tol "$base"

# DP-SGD: per-example clipping over the ranks, the noise drawn once
dp="--dp --noise 0.5 --dp-clip 1 --sample-rate 0.25 --max-steps 4"
# shellcheck disable=SC2086
"$warden" train sft $common $dp --out "$dir/dp1" >/dev/null
# shellcheck disable=SC2086
mpi "$warden" train sft $common $dp --out "$dir/dp2" >/dev/null
printf 'sft --dp, 1 process vs mpirun -np 2: '
"$maxdiff" "$dir/dp1/model.safetensors" "$dir/dp2/model.safetensors" $tol "$base"

# DPO (reference log-probs on every rank) with 3 micro-batches over 2 ranks
pairs="--model $dir/model --data $dir/pairs.jsonl --eval-fraction 0.1 --grad-accum 3 -b 2
       --epochs 2 --lr 1e-3 --threads 1 --save-dtype f32 --quiet"
# shellcheck disable=SC2086
"$warden" train dpo $pairs --out "$dir/dpo1" >/dev/null
# shellcheck disable=SC2086
mpi "$warden" train dpo $pairs --out "$dir/dpo2" >/dev/null
printf 'dpo --grad-accum 3, 1 process vs mpirun -np 2: '
"$maxdiff" "$dir/dpo1/model.safetensors" "$dir/dpo2/model.safetensors" $tol "$base"

# resumed: rank 0 reads the checkpoint and hands it to rank 1
# shellcheck disable=SC2086
mpi "$warden" train sft $common --out "$dir/res" --stop-after 3 >/dev/null
# shellcheck disable=SC2086
mpi "$warden" train sft $common --out "$dir/res" --resume >/dev/null
printf 'sft, mpirun -np 2 stopped + resumed vs 1 process: '
"$maxdiff" "$dir/one/model.safetensors" "$dir/res/model.safetensors" $tol "$base"
echo ok

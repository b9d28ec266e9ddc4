#!/usr/bin/python3
"""Independent PyTorch reference for `warden prune` (Wanda / Antidote masks).

Reads a generated checkpoint (tests/tools/wd_gen_checkpoint) and a list of
calibration token-id sequences, runs each sequence through torch_ref.py's
hand-written float64 Llama forward (no transformers), captures the input
of every linear layer, and computes, from the definitions (Sun et al. 2023;
Antidote, arXiv 2408.09600):

  norms[l][j]   = ||X_j||_2 over every token of every sequence, laid out as
                  warden's taps: [q/k/v input (C) | o_proj input (H*D) |
                  gate/up input (C) | down_proj input (I)]
  S_ij          = |W_ij| * norms_j for each of q,k,v,o,gate,up,down
  wanda mask    = per row, the floor(ratio*cols) LOWEST S (ties: lower column)
  antidote mask = per row, the floor(ratio*cols) HIGHEST S (ties: lower column)
  antidote_delta = the antidote mask of S_ij = |W_ij - B_ij| * norms_j, B the
                  base checkpoint (warden prune --base; norms of W's model)

Masks are written as hex strings: row-major bits, byte b holding bits
8b..8b+7, least significant first. The script also checks that no row has
a near-tie at its cut (relative gap > 1e-6), so that float32 vs float64
arithmetic cannot flip a mask: pick another seed if it fails.

Usage:
  /usr/bin/python3 tests/tools/prune_ref.py --gen GEN_BINARY --out FIXTURE.json
Regenerates tests/fixtures/prune/llama.json (the checkpoint is made again by
tests/unit/test_prune.c from the recorded generator arguments).
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_ref  # noqa: E402

GEN_ARGS = "--family llama --seed 31 --layers 2 --hidden 32 --heads 4 --kv-heads 2 --intermediate 64"
BASE_ARGS = GEN_ARGS.replace("--seed 31", "--seed 32")  # the "model before the fine-tune" of --base
RATIO = 0.25
TARGETS = [("q", "self_attn.q_proj.weight", "qkv"), ("k", "self_attn.k_proj.weight", "qkv"),
           ("v", "self_attn.v_proj.weight", "qkv"), ("o", "self_attn.o_proj.weight", "o"),
           ("gate", "mlp.gate_proj.weight", "gateup"), ("up", "mlp.up_proj.weight", "gateup"),
           ("down", "mlp.down_proj.weight", "down")]


def mask_rows(S, k, highest):
    rows, cols = S.shape
    m = torch.zeros(rows, cols, dtype=torch.uint8)
    min_gap = float("inf")
    for i in range(rows):
        order = sorted(range(cols), key=lambda j: ((-S[i, j].item()) if highest else S[i, j].item(), j))
        for j in order[:k]:
            m[i, j] = 1
        a, b = S[i, order[k - 1]].item(), S[i, order[k]].item()
        min_gap = min(min_gap, abs(a - b) / max(abs(a), abs(b), 1e-300))
    return m, min_gap


def to_hex(m):
    bits = m.flatten().tolist()
    out = bytearray((len(bits) + 7) // 8)
    for i, b in enumerate(bits):
        if b:
            out[i // 8] |= 1 << (i % 8)
    return out.hex()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gen", required=True, help="the wd_gen_checkpoint binary")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rnd = random.Random(7)
    seqs = [[rnd.randrange(128) for _ in range(n)] for n in (9, 14, 5, 11)]
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([a.gen] + GEN_ARGS.split() + ["--out", d], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(d, "config.json")) as f:
            cfg = json.load(f)
        W = torch_ref.load_weights(d)
        b = os.path.join(d, "base")
        subprocess.run([a.gen] + BASE_ARGS.split() + ["--out", b], check=True, stdout=subprocess.DEVNULL)
        B = torch_ref.load_weights(b)
    L = cfg["num_hidden_layers"]
    sq = {}

    def tap(l, name, x):
        s = (x * x).sum(0)
        sq[(l, name)] = sq[(l, name)] + s if (l, name) in sq else s

    for ids in seqs:
        torch_ref.decoder_forward(cfg, W, ids, False, tap)
    norms, masks, gap = [], {"wanda": {}, "antidote": {}, "antidote_delta": {}}, float("inf")
    for l in range(L):
        n = {k: torch.sqrt(sq[(l, k)]) for k in ("qkv", "o", "gateup", "down")}
        norms.append(torch.cat([n["qkv"], n["o"], n["gateup"], n["down"]]).tolist())
        for _, tensor, inp in TARGETS:
            name = "model.layers.%d.%s" % (l, tensor)
            w = W[name]
            S = w.abs() * n[inp][None, :]
            k = int(RATIO * w.shape[1])
            D = (w - B[name]).abs() * n[inp][None, :]
            for method, highest, X in (("wanda", False, S), ("antidote", True, S), ("antidote_delta", True, D)):
                m, g = mask_rows(X, k, highest)
                masks[method][name] = {"rows": w.shape[0], "cols": w.shape[1], "mask": to_hex(m)}
                gap = min(gap, g)
    if gap <= 1e-6:
        raise SystemExit("prune_ref: a near-tie at a cut (relative gap %g): pick another seed" % gap)
    out = {"gen": GEN_ARGS, "base_gen": BASE_ARGS, "ratio": RATIO, "seqs": seqs, "n_layer": L, "norms": norms,
           "min_gap": gap, "masks": masks}
    with open(a.out, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()

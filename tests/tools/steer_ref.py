#!/usr/bin/env python3
"""Independent reference for `warden steer` (torch, float64).

From a tiny generated checkpoint and two sets of token-id prompts, computes
with tests/tools/torch_ref.py's hand-written Llama forward (not warden's
code):

  - the residual stream entering each layer and after the last, at the last
    position of every prompt, and the difference of means (harmful minus
    benign) at each layer: the refusal directions (METHODS.md 7b);
  - the mean component of the benign prompts along each r^ (affine
    ablation's target);
  - for the direction of layer LAYER, the weights orthogonalised against r^:
    embed_tokens rows e - (e.r^)r^ (and + c r^, affine), o_proj and
    down_proj W - r^(r^T W), o_proj's bias b - (b.r^)r^.

  steer_ref.py GEN_TOOL OUT_DIR
      writes OUT_DIR/case.json (generator arguments, ids, layer) and
      OUT_DIR/expected.safetensors (F32): the committed fixtures
      tests/fixtures/steer/ that test_weights_steer.c checks against.
"""
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

import torch_ref  # noqa: E402

GEN_ARGS = ["--family", "llama", "--seed", "11", "--layers", "3", "--hidden", "32", "--heads", "4",
            "--kv-heads", "2", "--intermediate", "64", "--vocab", "128", "--attention-bias"]
LAYER = 2


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = t.to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    gen, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([gen] + GEN_ARGS + ["--out", d], check=True, stdout=subprocess.DEVNULL)
        cfg = json.load(open(os.path.join(d, "config.json")))
        W = torch_ref.load_weights(d)
    rng = random.Random(5)
    V = cfg["vocab_size"]
    harmful = [[rng.randrange(1, V) for _ in range(rng.randrange(4, 10))] for _ in range(7)]
    benign = [[rng.randrange(1, V) for _ in range(rng.randrange(4, 10))] for _ in range(6)]

    def last_states(ids):
        hid = []
        torch_ref.decoder_forward(cfg, W, ids, False, hidden=hid)
        return torch.stack([h[-1] for h in hid])  # (L+1, C)

    sh = torch.stack([last_states(i) for i in harmful])
    sb = torch.stack([last_states(i) for i in benign])
    dirs = sh.mean(0) - sb.mean(0)  # (L+1, C)
    L1 = dirs.shape[0]
    benign_proj = torch.zeros(L1, dtype=torch.float64)
    for l in range(L1):
        n = dirs[l].norm()
        benign_proj[l] = (sb[:, l] @ dirs[l]).mean() / n if n > 0 else 0.0
    r = dirs[LAYER] / dirs[LAYER].norm()
    c = benign_proj[LAYER]
    exp = {"dirs": dirs, "benign_proj": benign_proj}
    E = W["model.embed_tokens.weight"]
    exp["embed_zero"] = E - torch.outer(E @ r, r)
    exp["embed_affine"] = E - torch.outer(E @ r - c, r)
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        for name in ("self_attn.o_proj.weight", "mlp.down_proj.weight"):
            Wm = W[p + name]
            exp[p + name] = Wm - torch.outer(r, r @ Wm)
        b = W[p + "self_attn.o_proj.bias"]
        exp[p + "self_attn.o_proj.bias"] = b - (b @ r) * r
    # Lee et al.'s value vectors: down_proj columns by cosine with r_LAYER
    vv = []
    for l in range(cfg["num_hidden_layers"]):
        Wd = W["model.layers.%d.mlp.down_proj.weight" % l]  # (C, I)
        cos = (r @ Wd) / Wd.norm(dim=0)
        vv += [(float(c), l, j) for j, c in enumerate(cos.tolist())]
    vv.sort(key=lambda t: -t[0])
    write_safetensors(os.path.join(out, "expected.safetensors"), exp)
    with open(os.path.join(out, "case.json"), "w") as f:
        json.dump({"gen_args": " ".join(GEN_ARGS), "layer": LAYER, "harmful": harmful, "benign": benign,
                   "value_vectors": [{"layer": l, "index": j, "cosine": c} for c, l, j in vv[:5]]}, f)
        f.write("\n")


if __name__ == "__main__":
    main()

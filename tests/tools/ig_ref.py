#!/usr/bin/env python3
"""Independent reference for integrated gradients of a decoder judge
(src/explain/ig.c), in torch float64 with autograd.

For tiny generated checkpoints and a prompt of token ids whose tokens
[t0, t1) are the explained text, computes with tests/tools/torch_ref.py's
hand-written Llama forward (not warden's code):

  z      = the logits after the last prompt token, with the text's input
           embeddings replaced by x' + a (x - x') (x' = zeros, or the
           embedding of baseline_id repeated);
  f      = logodds: LSE(z_U) - LSE(z_not U), logp: LSE(z_U) - LSE(z),
           prob: softmax(z)[U].sum()  (U = the "unsafe" ids);
  attributions_i = sum_c (x - x')_ic * sum_k w_k df/dx_ic(a_k), with the
           nodes a_k and weights w_k of the case's rule on [0, 1]
           (gauss-legendre from numpy's leggauss, midpoint, trapezoid);
  value = f(x), base_value = f(x').

  ig_ref.py GEN_TOOL OUT_DIR
      writes OUT_DIR/case.json: per model the generator arguments, ids, t0,
      t1, unsafe ids and, per case (target, rule, steps, baseline_id: -1 =
      zeros), value, base_value and the attributions: the committed fixture
      tests/fixtures/explain_ig/ that tests/unit/test_explain_ig.c checks.
"""
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy  # noqa: E402
import torch  # noqa: E402

import torch_ref  # noqa: E402

MODELS = [
    {"name": "llama_gqa",
     "gen_args": ["--family", "llama", "--seed", "21", "--layers", "2", "--hidden", "32", "--heads", "4",
                  "--kv-heads", "2", "--intermediate", "64", "--vocab", "128"],
     "T": 14, "t0": 4, "t1": 11, "unsafe": [5, 77, 100],
     "cases": [("logodds", "gauss-legendre", 16, -1), ("logp", "midpoint", 8, 3), ("prob", "trapezoid", 9, -1)]},
    {"name": "qwen2_tied",
     "gen_args": ["--family", "qwen2", "--seed", "22", "--layers", "2", "--hidden", "32", "--heads", "4",
                  "--kv-heads", "1", "--intermediate", "48", "--vocab", "96", "--tie"],
     "T": 11, "t0": 2, "t1": 10, "unsafe": [9],
     "cases": [("logodds", "midpoint", 5, 0), ("logp", "gauss-legendre", 7, -1)]},
]


def nodes(rule, m):
    if rule == "gauss-legendre":
        x, w = numpy.polynomial.legendre.leggauss(m)
        return [(float(a) + 1) / 2 for a in x], [float(b) / 2 for b in w]
    if rule == "midpoint":
        return [(k + 0.5) / m for k in range(m)], [1.0 / m] * m
    w = [1.0 / (m - 1)] * m
    w[0] = w[-1] = 0.5 / (m - 1)
    return [k / (m - 1) for k in range(m)], w


def target(kind, z, unsafe):
    mask = torch.zeros(z.shape[0], dtype=torch.bool)
    mask[unsafe] = True
    lu = torch.logsumexp(z[mask], 0)
    if kind == "logodds":
        return lu - torch.logsumexp(z[~mask], 0)
    if kind == "logp":
        return lu - torch.logsumexp(z, 0)
    return torch.softmax(z, 0)[mask].sum()


def f_and_grad(cfg, W, ids, t0, t1, xt, kind, unsafe):
    """f and df/d(text embeddings) with the text's input embeddings xt."""
    xt = xt.detach().clone().requires_grad_(True)
    E = W["model.embed_tokens.weight"][torch.tensor(ids)]
    emb = torch.cat([E[:t0], xt, E[t1:]])
    z = torch_ref.decoder_forward(cfg, W, ids, False, embeds=emb)[-1]
    f = target(kind, z, unsafe)
    (g,) = torch.autograd.grad(f, xt)
    return float(f), g


def main():
    gen, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(7)
    result = []
    for spec in MODELS:
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([gen] + spec["gen_args"] + ["--out", d], check=True, stdout=subprocess.DEVNULL)
            cfg = json.load(open(os.path.join(d, "config.json")))
            W = torch_ref.load_weights(d)
        V = cfg["vocab_size"]
        ids = [rng.randrange(1, V) for _ in range(spec["T"])]
        t0, t1, unsafe = spec["t0"], spec["t1"], spec["unsafe"]
        x = W["model.embed_tokens.weight"][torch.tensor(ids[t0:t1])]
        cases = []
        for kind, rule, m, base_id in spec["cases"]:
            x0 = torch.zeros_like(x) if base_id < 0 else W["model.embed_tokens.weight"][base_id].expand_as(x)
            alpha, w = nodes(rule, m)
            gbar = torch.zeros_like(x)
            for a, wk in zip(alpha, w):
                _, g = f_and_grad(cfg, W, ids, t0, t1, x0 + a * (x - x0), kind, unsafe)
                gbar += wk * g
            attr = ((x - x0) * gbar).sum(1)
            fx, _ = f_and_grad(cfg, W, ids, t0, t1, x, kind, unsafe)
            fb, _ = f_and_grad(cfg, W, ids, t0, t1, x0, kind, unsafe)
            cases.append({"target": kind, "rule": rule, "steps": m, "baseline_id": base_id, "value": fx,
                          "base_value": fb, "attributions": attr.tolist(),
                          "delta": float(attr.sum()) - (fx - fb)})
        result.append({"name": spec["name"], "gen_args": " ".join(spec["gen_args"]), "ids": ids, "t0": t0,
                       "t1": t1, "unsafe": unsafe, "cases": cases})
    with open(os.path.join(out, "case.json"), "w") as f:
        json.dump({"models": result}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

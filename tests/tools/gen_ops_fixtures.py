#!/usr/bin/python3
"""Reference values for warden's tensor/ kernels, computed by PyTorch.

Writes tests/fixtures/ops/torch_ops.json, read by tests/unit/test_ops_torch.c.
Each kernel's expected output is what torch (and, for RoPE and RMSNorm, the
Hugging Face modeling code, whose float32 steps are reproduced here op for
op with plain torch) computes on small fixed inputs:

  rope_*      inv_freq for the default, linear and llama3 rope types
              (modeling_rope_utils semantics, float32 throughout), the cos/sin
              table at a few positions, and q rotated by apply_rotary_pos_emb
              (the rotate_half layout)
  rmsnorm     LlamaRMSNorm in float32; gradients of sum(out * r) by autograd
              in float64
  layernorm   F.layer_norm in float32, gradients in float64
  softmax     torch.softmax in float32
  silu, gelu, gelu_tanh   F.silu, F.gelu(approximate="none" / "tanh")
  cross_entropy  F.cross_entropy(reduction="none", ignore_index=-100) in
              float32; d(mean loss)/d(logits) in float64

Inputs are generated here from a fixed seed and stored in the file too, so
the C test needs nothing else. Numbers are written with repr(), which
round-trips float32 values exactly through a double.

Regenerate (Debian's python3-torch):
  /usr/bin/python3 tests/tools/gen_ops_fixtures.py > tests/fixtures/ops/torch_ops.json
"""
import json
import math
import sys

import torch

torch.manual_seed(1234)
F32, F64 = torch.float32, torch.float64


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def default_inv_freq(base, dim):
    # _compute_default_rope_parameters
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(dtype=torch.float) / dim))


def llama3_inv_freq(base, dim, factor, low_freq_factor, high_freq_factor, old_context_len):
    # _compute_llama3_parameters
    inv_freq = default_inv_freq(base, dim)
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)


def rope_cos_sin(inv_freq, positions):
    # LlamaRotaryEmbedding.forward (attention_scaling 1 for these types)
    inv = inv_freq[None, :, None].float()
    pos = torch.tensor(positions, dtype=torch.int64)[None, None, :].float()
    freqs = (inv @ pos).transpose(1, 2)[0]  # (T, D/2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin(), freqs


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


out = {}

# ---- RoPE -------------------------------------------------------------------
out["rope_default"] = {"theta": 10000.0, "head_dim": 64,
                       "inv_freq": flat(default_inv_freq(10000.0, 64))}
out["rope_linear"] = {"theta": 10000.0, "head_dim": 64, "factor": 4.0,
                      "inv_freq": flat(default_inv_freq(10000.0, 64) / 4.0)}
l3 = llama3_inv_freq(500000.0, 128, 8.0, 1.0, 4.0, 8192)
positions = [0, 1, 5, 100, 4095, 8191, 131071]
cos, sin, _ = rope_cos_sin(l3, positions)
out["rope_llama3"] = {"theta": 500000.0, "head_dim": 128, "factor": 8.0,
                      "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                      "original_max_position_embeddings": 8192,
                      "inv_freq": flat(l3), "positions": positions,
                      "cos": flat(cos[:, :64]), "sin": flat(sin[:, :64])}
# apply_rotary_pos_emb on q (T=3 tokens, H=2 heads, D=8), default theta
inv8 = default_inv_freq(10000.0, 8)
pos8 = [0, 3, 17]
cos8, sin8, _ = rope_cos_sin(inv8, pos8)
q = torch.randn(3, 2, 8, dtype=F32)  # (T, H, D) as warden stores rows
q_embed = q * cos8[:, None, :] + rotate_half(q) * sin8[:, None, :]
out["rope_apply"] = {"theta": 10000.0, "head_dim": 8, "n_head": 2, "positions": pos8,
                     "q": flat(q), "q_embed": flat(q_embed)}

# ---- RMSNorm (LlamaRMSNorm.forward, float32) ----------------------------------
x = torch.randn(3, 16, dtype=F32) * 2
w = torch.rand(16, dtype=F32) + 0.5
eps = 1e-6
variance = x.pow(2).mean(-1, keepdim=True)
y = w * (x * torch.rsqrt(variance + eps))
r = torch.randn(3, 16, dtype=F32)
xd, wd = x.to(F64).requires_grad_(), w.to(F64).requires_grad_()
yd = wd * (xd * torch.rsqrt(xd.pow(2).mean(-1, keepdim=True) + eps))
(yd * r.to(F64)).sum().backward()
out["rmsnorm"] = {"N": 3, "C": 16, "eps": eps, "x": flat(x), "w": flat(w), "out": flat(y),
                  "r": flat(r), "dx": flat(xd.grad), "dw": flat(wd.grad)}

# ---- LayerNorm ------------------------------------------------------------------
x = torch.randn(4, 10, dtype=F32) + 1
w = torch.rand(10, dtype=F32) + 0.5
b = torch.randn(10, dtype=F32)
eps = 1e-12  # BERT's layer_norm_eps
y = torch.nn.functional.layer_norm(x, (10,), w, b, eps)
r = torch.randn(4, 10, dtype=F32)
xd, wd, bd = (t.to(F64).requires_grad_() for t in (x, w, b))
(torch.nn.functional.layer_norm(xd, (10,), wd, bd, eps) * r.to(F64)).sum().backward()
out["layernorm"] = {"N": 4, "C": 10, "eps": eps, "x": flat(x), "w": flat(w), "b": flat(b),
                    "out": flat(y), "r": flat(r), "dx": flat(xd.grad), "dw": flat(wd.grad),
                    "db": flat(bd.grad)}

# ---- Softmax ----------------------------------------------------------------------
x = torch.randn(3, 9, dtype=F32) * 4
x[2, 0] = 80.0  # large values: max subtraction
out["softmax"] = {"N": 3, "C": 9, "x": flat(x), "out": flat(torch.softmax(x, dim=-1))}

# ---- Activations -------------------------------------------------------------------
x = torch.linspace(-8, 8, 67, dtype=F32)
out["activations"] = {
    "x": flat(x),
    "silu": flat(torch.nn.functional.silu(x)),
    "gelu": flat(torch.nn.functional.gelu(x)),
    "gelu_tanh": flat(torch.nn.functional.gelu(x, approximate="tanh")),
}

# ---- Cross-entropy -----------------------------------------------------------------
logits = torch.randn(5, 11, dtype=F32) * 3
targets = torch.tensor([3, -100, 0, 10, 7])
loss = torch.nn.functional.cross_entropy(logits, targets, reduction="none", ignore_index=-100)
ld = logits.to(F64).requires_grad_()
torch.nn.functional.cross_entropy(ld, targets, ignore_index=-100).backward()  # mean
out["cross_entropy"] = {"N": 5, "V": 11, "logits": flat(logits),
                        "targets": [int(t) for t in targets], "loss": flat(loss),
                        "dlogits_mean": flat(ld.grad)}

out["generator"] = "tests/tools/gen_ops_fixtures.py, torch " + torch.__version__
json.dump(out, sys.stdout, indent=1)
sys.stdout.write("\n")

#!/usr/bin/python3
"""Independent PyTorch reference for warden's transformer runtime.

Reads a Hugging Face checkpoint folder (config.json + model.safetensors or
a sharded index) with nothing but torch, json and struct -- no transformers,
no safetensors package -- and computes, in float64:

  decoders (llama, mistral, qwen2, qwen3, phi3, granite, gemma2, gemma3_text):
      logits at every position of a prompt and the 32 greedy tokens that follow it;
  encoders (bert, roberta, xlm-roberta, distilbert, deberta-v2, modernbert) with a
      sequence-classification head:
      logits and probabilities, and the mean-pooled last hidden state.

The maths is written from the models' definitions (the Hugging Face modeling
files' semantics), not from warden's C code, so agreement between the two is
evidence that both are right.

Usage:
  /usr/bin/python3 tests/tools/torch_ref.py CHECKPOINT_DIR --ids 1,5,9 [--gen 32]
      [--rope-interleaved] > expected.json

Output: one JSON object (see the end of this file). Regenerate the committed
fixtures with tests/tools/make_golden.sh.
"""
import argparse
import json
import math
import os
import struct
import sys

import torch

DT = torch.float64

DTYPES = {
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "F64": (torch.float64, 8),
}


SRC_DTYPE = {}  # tensor name -> its dtype in the file ("F32", "BF16", ...)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype, size = DTYPES[info["dtype"]]
        SRC_DTYPE[name] = info["dtype"]
        b, e = info["data_offsets"]
        buf = bytearray(data[b:e])
        t = torch.frombuffer(buf, dtype=dtype) if e > b else torch.zeros(0, dtype=dtype)
        out[name] = t.reshape(info["shape"]).to(DT)
    return out


def load_weights(folder):
    single = os.path.join(folder, "model.safetensors")
    if os.path.exists(single):
        return read_safetensors(single)
    with open(os.path.join(folder, "model.safetensors.index.json")) as f:
        index = json.load(f)
    out = {}
    for shard in sorted(set(index["weight_map"].values())):
        out.update(read_safetensors(os.path.join(folder, shard)))
    return out


def linear(x, w, b=None):
    y = x @ w.T
    return y + b if b is not None else y


def rms_norm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def gelu(x, kind):
    if kind in ("gelu", "gelu_python"):
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    if kind in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    if kind == "relu":
        return torch.relu(x)
    if kind in ("silu", "swish"):
        return x * torch.sigmoid(x)
    raise SystemExit("unsupported activation " + kind)


# ---------------------------------------------------------------- decoders

def inv_freq(cfg, head_dim):
    theta = cfg.get("rope_theta", 10000.0)
    # HF computes the base frequencies in float32 (torch.arange(...).float());
    # mirror that rounding, then continue in float64.
    f = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    f = f.to(DT)
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "linear":
        f = f / rs["factor"]
    elif kind == "llama3":
        factor = rs["factor"]
        lo, hi = rs.get("low_freq_factor", 1.0), rs.get("high_freq_factor", 4.0)
        old = rs.get("original_max_position_embeddings", 8192)
        lo_wl, hi_wl = old / lo, old / hi
        wl = 2 * math.pi / f
        scaled = torch.where(wl > lo_wl, f / factor, f)
        smooth = (old / wl - lo) / (hi - lo)
        mid = (1 - smooth) * scaled / factor + smooth * scaled
        is_mid = (wl >= hi_wl) & (wl <= lo_wl)
        f = torch.where(is_mid, mid, scaled)
    elif kind not in (None, "default"):
        raise SystemExit("unsupported rope scaling " + str(kind))
    return f


def rope(x, pos, freqs, interleaved, scale=1.0):
    # x (T, H, D); scale multiplies cos and sin (longrope's attention factor)
    ang = pos[:, None].to(DT) * freqs[None, :]  # (T, D/2)
    cos, sin = torch.cos(ang)[:, None, :] * scale, torch.sin(ang)[:, None, :] * scale
    if interleaved:  # pairs (2i, 2i+1)
        a, b = x[..., 0::2], x[..., 1::2]
        out = torch.empty_like(x)
        out[..., 0::2] = a * cos - b * sin
        out[..., 1::2] = a * sin + b * cos
        return out
    half = x.shape[-1] // 2  # pairs (i, i + D/2)
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * cos - b * sin, b * cos + a * sin], dim=-1)


class Arch:
    """What a decoder's model_type changes in Llama's forward pass, from the
    Hugging Face modeling / configuration files (modeling_qwen3.py,
    modeling_phi3.py, modeling_granite.py and their config classes)."""

    def __init__(self, cfg):
        mt = cfg["model_type"]
        C, H = cfg["hidden_size"], cfg["num_attention_heads"]
        # Qwen3Config: head_dim defaults to 128, not hidden / heads
        self.D = cfg.get("head_dim", 128) if mt == "qwen3" else (cfg.get("head_dim") or C // H)
        self.eps = cfg.get("rms_norm_eps", 1e-5 if mt == "phi3" else 1e-6)
        self.qk_norm = mt == "qwen3"              # Qwen3Attention.q_norm / k_norm
        self.fused = mt == "phi3"                 # Phi3 qkv_proj, gate_up_proj
        g = mt == "granite"
        self.embed_mult = cfg.get("embedding_multiplier", 1.0) if g else 1.0
        self.res_mult = cfg.get("residual_multiplier", 1.0) if g else 1.0
        self.logits_div = cfg.get("logits_scaling", 1.0) if g else 1.0
        # GraniteAttention.scaling = attention_multiplier (default 1.0)
        self.scale = cfg.get("attention_multiplier", 1.0) if g else 1.0 / math.sqrt(self.D)
        # Phi3: rope on the first int(D * partial_rotary_factor) dims
        self.rot = int(self.D * cfg.get("partial_rotary_factor", 1.0)) if mt == "phi3" else self.D
        self.window = None
        if mt == "mistral" or mt == "phi3":
            self.window = cfg.get("sliding_window")
        self.rope_scale = 1.0
        rs = cfg.get("rope_scaling") or {}
        kind = rs.get("rope_type", rs.get("type"))
        if mt == "phi3" and kind in ("longrope", "su", "yarn"):
            # _compute_longrope_parameters: short_factor while seq_len <=
            # original_max_position_embeddings (the only regime tested here)
            orig = cfg.get("original_max_position_embeddings", 4096)
            factor = cfg["max_position_embeddings"] / orig
            af = rs.get("attention_factor")
            if af is None:
                af = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(orig))
            ext = torch.tensor(rs["short_factor"], dtype=torch.float32)
            shape = torch.arange(0, self.rot, 2, dtype=torch.int64).float() / self.rot
            self.freqs = (1.0 / (ext * cfg.get("rope_theta", 10000.0) ** shape)).to(DT)
            self.rope_scale = af
            self.orig = orig
        else:
            self.freqs = inv_freq(cfg, self.rot)


def rope_part(x, pos, A, interleaved):
    """rope on the first A.rot dims of each head, the rest passed through."""
    if A.rot == x.shape[-1]:
        return rope(x, pos, A.freqs, interleaved, A.rope_scale)
    return torch.cat([rope(x[..., :A.rot], pos, A.freqs, interleaved, A.rope_scale),
                      x[..., A.rot:]], dim=-1)


def decoder_forward(cfg, W, ids, interleaved, hidden=None, tap=None, embeds=None):
    """Logits (T, V); embeds (T, C), when given, stands for the input
    embeddings of ids (tests/tools/ig_ref.py); with hidden (a list),
    appends the residual stream entering each layer and after the last
    (before the final norm) (tests/tools/steer_ref.py); tap(layer, name, x)
    sees every linear layer's input x (T, cols), name one of "qkv", "o",
    "gateup", "down" (tests/tools/prune_ref.py)."""
    tap = tap or (lambda l, name, x: None)
    C = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads") or H
    A = Arch(cfg)
    D = A.D
    eps = A.eps
    L = cfg["num_hidden_layers"]
    T = len(ids)
    if hasattr(A, "orig"):
        assert T <= A.orig, "longrope past original_max_position_embeddings"
    pos = torch.arange(T)
    x = W["model.embed_tokens.weight"][torch.tensor(ids)] if embeds is None else embeds
    x = x * A.embed_mult
    mask = torch.full((T, T), float("-inf"), dtype=DT).triu(1)
    sw = A.window
    if sw:
        far = torch.ones(T, T, dtype=torch.bool).tril(-sw)
        mask = mask.masked_fill(far, float("-inf"))
    for l in range(L):
        p = "model.layers.%d." % l
        if hidden is not None:
            hidden.append(x.clone())
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        tap(l, "qkv", h)
        if A.fused:  # qkv_proj rows: q (H*D), k (KV*D), v (KV*D)
            qkv = linear(h, W[p + "self_attn.qkv_proj.weight"])
            q, k, v = qkv[:, :H * D], qkv[:, H * D:(H + KV) * D], qkv[:, (H + KV) * D:]
        else:
            q = linear(h, W[p + "self_attn.q_proj.weight"], W.get(p + "self_attn.q_proj.bias"))
            k = linear(h, W[p + "self_attn.k_proj.weight"], W.get(p + "self_attn.k_proj.bias"))
            v = linear(h, W[p + "self_attn.v_proj.weight"], W.get(p + "self_attn.v_proj.bias"))
        q, k = q.reshape(T, H, D), k.reshape(T, KV, D)
        if A.qk_norm:  # over each head's D values, before rope
            q = rms_norm(q, W[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, W[p + "self_attn.k_norm.weight"], eps)
        q = rope_part(q, pos, A, interleaved)
        k = rope_part(k, pos, A, interleaved)
        v = v.reshape(T, KV, D)
        rep = H // KV
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        att = torch.einsum("thd,shd->hts", q, k) * A.scale + mask
        att = torch.softmax(att, dim=-1)
        o = torch.einsum("hts,shd->thd", att, v).reshape(T, H * D)
        tap(l, "o", o)
        x = x + linear(o, W[p + "self_attn.o_proj.weight"], W.get(p + "self_attn.o_proj.bias")) * A.res_mult
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        tap(l, "gateup", h)
        if A.fused:  # gate_up_proj rows: gate (I), then up (I)
            g, u = linear(h, W[p + "mlp.gate_up_proj.weight"]).chunk(2, dim=-1)
        else:
            g = linear(h, W[p + "mlp.gate_proj.weight"])
            u = linear(h, W[p + "mlp.up_proj.weight"])
        a = g * torch.sigmoid(g) * u
        tap(l, "down", a)
        x = x + linear(a, W[p + "mlp.down_proj.weight"]) * A.res_mult
    if hidden is not None:
        hidden.append(x.clone())
    x = rms_norm(x, W["model.norm.weight"], eps)
    head = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    if cfg.get("tie_word_embeddings") and "lm_head.weight" not in W:
        head = W["model.embed_tokens.weight"]
    return (x @ head.T) / A.logits_div  # (T, V)


# ---------------------------------------------------------------- gemma

def gemma_layer_sliding(cfg):
    """Which layers use the sliding window: layer_types when given, else
    Gemma2Config's pattern (even layers) or Gemma3TextConfig's (every layer
    but each sliding_window_pattern-th)."""
    L = cfg["num_hidden_layers"]
    if cfg.get("layer_types"):
        return [t == "sliding_attention" for t in cfg["layer_types"]]
    if cfg["model_type"] == "gemma2":
        return [bool((i + 1) % 2) for i in range(L)]
    pat = cfg.get("sliding_window_pattern", 6)
    return [bool((i + 1) % pat) for i in range(L)]


def gemma_rms_norm(x, w, eps):
    # Gemma2RMSNorm / Gemma3RMSNorm: the weight is stored as an offset from one
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * (1.0 + w)


def softcap(x, cap):
    return torch.tanh(x / cap) * cap if cap else x


def gemma_forward(cfg, W, ids):
    """Gemma2ForCausalLM / Gemma3ForCausalLM (text), logits (T, V)."""
    g3 = cfg["model_type"] == "gemma3_text"
    C = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads", 4)
    D = cfg.get("head_dim", 256)
    eps = cfg.get("rms_norm_eps", 1e-6)
    L = cfg["num_hidden_layers"]
    act = cfg.get("hidden_activation", "gelu_pytorch_tanh")
    scaling = cfg.get("query_pre_attn_scalar", 256) ** -0.5
    attn_cap = None if g3 else cfg.get("attn_logit_softcapping", 50.0)  # Gemma3 never passes it
    final_cap = cfg.get("final_logit_softcapping", None if g3 else 30.0)
    window = cfg.get("sliding_window", 4096)
    sliding = gemma_layer_sliding(cfg)
    gcfg = dict(cfg)
    gcfg["rope_theta"] = cfg.get("rope_theta", 1e6 if g3 else 10000.0)
    freqs_global = inv_freq(gcfg, D)
    # Gemma 3's sliding layers: rope_local_base_freq, default rope type
    freqs_local = inv_freq({"rope_theta": cfg.get("rope_local_base_freq", 10000.0)}, D) if g3 else freqs_global
    T = len(ids)
    pos = torch.arange(T)
    emb = W["model.embed_tokens.weight"]
    # the normalizer is a tensor of the embedding's dtype: sqrt(C) rounded to it
    tdt = DTYPES[SRC_DTYPE.get("model.embed_tokens.weight", "F32")][0]
    normalizer = torch.tensor(C ** 0.5, dtype=tdt).to(DT)
    x = emb[torch.tensor(ids)] * normalizer
    causal = torch.full((T, T), float("-inf"), dtype=DT).triu(1)
    far = torch.ones(T, T, dtype=torch.bool).tril(-window) if window else torch.zeros(T, T, dtype=torch.bool)
    local_mask = causal.masked_fill(far, float("-inf"))  # keys j with i - window < j <= i
    for l in range(L):
        p = "model.layers.%d." % l
        h = gemma_rms_norm(x, W[p + "input_layernorm.weight"], eps)
        q = linear(h, W[p + "self_attn.q_proj.weight"], W.get(p + "self_attn.q_proj.bias")).view(T, H, D)
        k = linear(h, W[p + "self_attn.k_proj.weight"], W.get(p + "self_attn.k_proj.bias")).view(T, KV, D)
        v = linear(h, W[p + "self_attn.v_proj.weight"], W.get(p + "self_attn.v_proj.bias")).view(T, KV, D)
        if g3:
            q = gemma_rms_norm(q, W[p + "self_attn.q_norm.weight"], eps)
            k = gemma_rms_norm(k, W[p + "self_attn.k_norm.weight"], eps)
        freqs = freqs_local if sliding[l] else freqs_global
        q = rope(q, pos, freqs, False)
        k = rope(k, pos, freqs, False)
        rep = H // KV
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        att = torch.einsum("thd,shd->hts", q, k) * scaling
        att = softcap(att, attn_cap)
        att = att + (local_mask if sliding[l] else causal)
        att = torch.softmax(att, dim=-1)
        o = torch.einsum("hts,shd->thd", att, v).reshape(T, H * D)
        o = linear(o, W[p + "self_attn.o_proj.weight"], W.get(p + "self_attn.o_proj.bias"))
        x = x + gemma_rms_norm(o, W[p + "post_attention_layernorm.weight"], eps)
        h = gemma_rms_norm(x, W[p + "pre_feedforward_layernorm.weight"], eps)
        a = gelu(linear(h, W[p + "mlp.gate_proj.weight"]), act) * linear(h, W[p + "mlp.up_proj.weight"])
        f = linear(a, W[p + "mlp.down_proj.weight"])
        x = x + gemma_rms_norm(f, W[p + "post_feedforward_layernorm.weight"], eps)
    x = gemma_rms_norm(x, W["model.norm.weight"], eps)
    head = W["lm_head.weight"] if "lm_head.weight" in W and not cfg.get("tie_word_embeddings", True) else emb
    return softcap(x @ head.T, final_cap)


# ---------------------------------------------------------------- encoders

def attention_block(x, wq, bq, wk, bk, wv, bv, H, key_mask):
    T, C = x.shape
    D = C // H
    q = linear(x, wq, bq).view(T, H, D)
    k = linear(x, wk, bk).view(T, H, D)
    v = linear(x, wv, bv).view(T, H, D)
    att = torch.einsum("thd,shd->hts", q, k) / math.sqrt(D)
    att = att.masked_fill(~key_mask[None, None, :], float("-inf"))
    att = torch.softmax(att, dim=-1)
    return torch.einsum("hts,shd->thd", att, v).reshape(T, C)


def bert_like(cfg, W, ids, prefix):
    eps = cfg.get("layer_norm_eps", 1e-12)
    H = cfg["num_attention_heads"]
    act = cfg.get("hidden_act", "gelu")
    T = len(ids)
    idt = torch.tensor(ids)
    pad = cfg.get("pad_token_id", 0 if cfg["model_type"] == "bert" else 1)
    key_mask = torch.ones(T, dtype=torch.bool)  # HF's default attention mask: attend to all
    roberta = cfg["model_type"] in ("roberta", "xlm-roberta")  # XLM-R: RoBERTa's modeling code
    if roberta:  # positions count from padding_idx + 1, pads stay at pad
        m = (idt != pad).long()
        pos = torch.cumsum(m, 0) * m + pad
    else:
        pos = torch.arange(T)
    e = prefix + "embeddings."
    x = W[e + "word_embeddings.weight"][idt] + W[e + "position_embeddings.weight"][pos]
    x = x + W[e + "token_type_embeddings.weight"][torch.zeros(T, dtype=torch.long)]
    x = layer_norm(x, W[e + "LayerNorm.weight"], W[e + "LayerNorm.bias"], eps)
    for l in range(cfg["num_hidden_layers"]):
        p = prefix + "encoder.layer.%d." % l
        a = p + "attention."
        o = attention_block(x, W[a + "self.query.weight"], W[a + "self.query.bias"],
                            W[a + "self.key.weight"], W[a + "self.key.bias"],
                            W[a + "self.value.weight"], W[a + "self.value.bias"], H, key_mask)
        o = linear(o, W[a + "output.dense.weight"], W[a + "output.dense.bias"])
        x = layer_norm(x + o, W[a + "output.LayerNorm.weight"], W[a + "output.LayerNorm.bias"], eps)
        f = gelu(linear(x, W[p + "intermediate.dense.weight"], W[p + "intermediate.dense.bias"]), act)
        f = linear(f, W[p + "output.dense.weight"], W[p + "output.dense.bias"])
        x = layer_norm(x + f, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], eps)
    if roberta:
        h = torch.tanh(linear(x[0], W["classifier.dense.weight"], W["classifier.dense.bias"]))
        logits = linear(h, W["classifier.out_proj.weight"], W["classifier.out_proj.bias"])
    else:
        pooled = torch.tanh(linear(x[0], W[prefix + "pooler.dense.weight"], W[prefix + "pooler.dense.bias"]))
        logits = linear(pooled, W["classifier.weight"], W["classifier.bias"])
    return x, logits, key_mask


def distilbert(cfg, W, ids):
    eps = 1e-12
    H = cfg["n_heads"]
    act = cfg.get("activation", "gelu")
    T = len(ids)
    idt = torch.tensor(ids)
    e = "distilbert.embeddings."
    x = W[e + "word_embeddings.weight"][idt] + W[e + "position_embeddings.weight"][torch.arange(T)]
    x = layer_norm(x, W[e + "LayerNorm.weight"], W[e + "LayerNorm.bias"], eps)
    key_mask = torch.ones(T, dtype=torch.bool)
    for l in range(cfg["n_layers"]):
        p = "distilbert.transformer.layer.%d." % l
        a = p + "attention."
        o = attention_block(x, W[a + "q_lin.weight"], W[a + "q_lin.bias"], W[a + "k_lin.weight"],
                            W[a + "k_lin.bias"], W[a + "v_lin.weight"], W[a + "v_lin.bias"], H, key_mask)
        o = linear(o, W[a + "out_lin.weight"], W[a + "out_lin.bias"])
        x = layer_norm(x + o, W[p + "sa_layer_norm.weight"], W[p + "sa_layer_norm.bias"], eps)
        f = gelu(linear(x, W[p + "ffn.lin1.weight"], W[p + "ffn.lin1.bias"]), act)
        f = linear(f, W[p + "ffn.lin2.weight"], W[p + "ffn.lin2.bias"])
        x = layer_norm(x + f, W[p + "output_layer_norm.weight"], W[p + "output_layer_norm.bias"], eps)
    h = torch.relu(linear(x[0], W["pre_classifier.weight"], W["pre_classifier.bias"]))
    logits = linear(h, W["classifier.weight"], W["classifier.bias"])
    return x, logits, key_mask


# ---------------------------------------------------------------- modernbert

def modernbert(cfg, W, ids):
    """ModernBertModel + ModernBertForSequenceClassification's head, as
    modeling_modernbert.py defines them, for one unpadded sequence (HF's
    attention_mask of ones): returns (last hidden state (T, C), logits)."""
    C = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    D = C // H
    I = cfg["intermediate_size"]
    L = cfg["num_hidden_layers"]
    eps = cfg.get("norm_eps", 1e-5)
    every = cfg.get("global_attn_every_n_layers", 3)
    window = cfg.get("local_attention", 128)
    act = cfg.get("hidden_activation", "gelu")
    # rope bases: rope_parameters (newer configs) over global/local_rope_theta;
    # a null local_rope_theta meant "use the global one"
    g_theta = cfg.get("global_rope_theta", 160000.0)
    l_theta = cfg.get("local_rope_theta", 10000.0)
    if "local_rope_theta" in cfg and cfg["local_rope_theta"] is None:
        l_theta = g_theta
    rp = cfg.get("rope_parameters") or {}
    g_theta = (rp.get("full_attention") or {}).get("rope_theta", g_theta)
    l_theta = (rp.get("sliding_attention") or {}).get("rope_theta", l_theta)
    pre = "model." if "model.embeddings.tok_embeddings.weight" in W else ""

    def ln(x, name):  # nn.LayerNorm(bias=norm_bias): the bias is absent unless norm_bias
        w = W[name + ".weight"]
        b = W[name + ".bias"] if cfg.get("norm_bias", False) else torch.zeros_like(w)
        return layer_norm(x, w, b, eps)

    def lin(x, name, has_bias):
        return linear(x, W[name + ".weight"], W[name + ".bias"] if has_bias else None)

    def freqs(theta):  # HF: inv_freq in float32, then float64 here
        return (1.0 / (theta ** (torch.arange(0, D, 2, dtype=torch.int64).float() / D))).to(DT)

    T = len(ids)
    pos = torch.arange(T)
    x = ln(W[pre + "embeddings.tok_embeddings.weight"][torch.tensor(ids)], pre + "embeddings.norm")
    dist = (pos[:, None] - pos[None, :]).abs()
    local_mask = torch.zeros(T, T, dtype=DT).masked_fill(dist > window // 2, float("-inf"))
    ab, mb = cfg.get("attention_bias", False), cfg.get("mlp_bias", False)
    for l in range(L):
        p = pre + "layers.%d." % l
        is_local = l % every != 0
        h = x if l == 0 else ln(x, p + "attn_norm")  # layer 0: nn.Identity
        qkv = lin(h, p + "attn.Wqkv", ab).view(T, 3, H, D)
        q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]
        f = freqs(l_theta if is_local else g_theta)
        q, k = rope(q, pos, f, False), rope(k, pos, f, False)  # rotate_half
        att = torch.einsum("thd,shd->hts", q, k) / math.sqrt(D)
        if is_local:
            att = att + local_mask
        att = torch.softmax(att, dim=-1)
        o = torch.einsum("hts,shd->thd", att, v).reshape(T, C)
        x = x + lin(o, p + "attn.Wo", ab)
        inp, gate = lin(ln(x, p + "mlp_norm"), p + "mlp.Wi", mb).split(I, dim=-1)
        x = x + lin(gelu(inp, act) * gate, p + "mlp.Wo", mb)
    x = ln(x, pre + "final_norm")
    if "classifier.weight" not in W:
        return x, None
    if cfg.get("classifier_pooling", "cls") == "mean":
        pooled = x.mean(0)  # all tokens are unpadded
    else:
        pooled = x[0]
    h = lin(pooled, "head.dense", cfg.get("classifier_bias", False))
    h = ln(gelu(h, cfg.get("classifier_activation", "gelu")), "head.norm")
    return x, linear(h, W["classifier.weight"], W["classifier.bias"])
# ---------------------------------------------------------------- deberta-v2

def act_fn(x, kind):
    if kind == "tanh":
        return torch.tanh(x)
    if kind in ("silu", "swish"):
        return x * torch.sigmoid(x)
    if kind == "linear":
        return x
    return gelu(x, kind)


def deberta_flags(v):
    # DebertaV2Config: a string is split on '|', lowercased and stripped
    if v is None:
        return []
    if isinstance(v, str):
        return [x.strip() for x in v.lower().split("|")]
    return list(v)


def make_log_bucket_position(rel, bucket_size, max_position):
    # HF's arithmetic: integer positions divided into torch's default
    # float32, log and ceil in float32
    sign = torch.sign(rel)
    mid = bucket_size // 2
    abs_pos = torch.where((rel < mid) & (rel > -mid), torch.tensor(mid - 1).type_as(rel), torch.abs(rel))
    log_pos = torch.ceil(torch.log(abs_pos / mid) / torch.log(torch.tensor((max_position - 1) / mid))
                         * (mid - 1)) + mid
    return torch.where(abs_pos <= mid, rel.type_as(log_pos), log_pos * sign)


def build_relative_position(q, k, bucket_size, max_position):
    rel = torch.arange(q)[:, None] - torch.arange(k)[None, :]
    if bucket_size > 0 and max_position > 0:
        rel = make_log_bucket_position(rel, bucket_size, max_position)
    return rel.to(torch.long)  # (q, k)


def deberta_v2(cfg, W, ids):
    """DebertaV2ForSequenceClassification, batch 1, attention mask all ones."""
    if cfg.get("conv_kernel_size", 0) > 0:
        raise SystemExit("ConvLayer not in the reference")
    eps = cfg.get("layer_norm_eps", 1e-7)
    C = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    D = C // H
    act = cfg.get("hidden_act", "gelu")
    E = cfg.get("embedding_size", C)
    T = len(ids)
    idt = torch.tensor(ids)
    pre = "deberta."
    e = pre + "embeddings."
    # DebertaV2Embeddings
    x = W[e + "word_embeddings.weight"][idt]
    if cfg.get("position_biased_input", True):
        x = x + W[e + "position_embeddings.weight"][torch.arange(T)]
    if cfg.get("type_vocab_size", 0) > 0:
        x = x + W[e + "token_type_embeddings.weight"][torch.zeros(T, dtype=torch.long)]
    if E != C:
        x = linear(x, W[e + "embed_proj.weight"])
    x = layer_norm(x, W[e + "LayerNorm.weight"], W[e + "LayerNorm.bias"], eps)
    x = x * torch.ones(T, 1, dtype=DT)  # the attention mask (all ones)
    # DebertaV2Encoder
    rel_att_on = cfg.get("relative_attention", False)
    pos_att = deberta_flags(cfg.get("pos_att_type"))
    max_rel = cfg.get("max_relative_positions", -1)
    if max_rel < 1:
        max_rel = cfg.get("max_position_embeddings", 512)
    buckets = cfg.get("position_buckets", -1)
    span = buckets if buckets > 0 else max_rel  # pos_ebd_size
    share = cfg.get("share_att_key", False)
    rel_pos = build_relative_position(T, T, buckets, max_rel) if rel_att_on else None
    rel_emb = None
    if rel_att_on:
        rel_emb = W[pre + "encoder.rel_embeddings.weight"]
        if "layer_norm" in deberta_flags(cfg.get("norm_rel_ebd", "none")):
            rel_emb = layer_norm(rel_emb, W[pre + "encoder.LayerNorm.weight"], W[pre + "encoder.LayerNorm.bias"], eps)
    factor = 1 + ("c2p" in pos_att) + ("p2c" in pos_att)

    def heads(t):  # (n, C) -> (H, n, D)
        return t.view(t.shape[0], H, D).permute(1, 0, 2)

    for l in range(cfg["num_hidden_layers"]):
        p = pre + "encoder.layer.%d." % l
        a = p + "attention.self."
        q = heads(linear(x, W[a + "query_proj.weight"], W[a + "query_proj.bias"]))
        k = heads(linear(x, W[a + "key_proj.weight"], W[a + "key_proj.bias"]))
        v = heads(linear(x, W[a + "value_proj.weight"], W[a + "value_proj.bias"]))
        # HF: torch.sqrt(torch.tensor(D, dtype=torch.float) * factor), a float32 value
        scale = float(torch.sqrt(torch.tensor(D, dtype=torch.float) * factor))
        scores = q @ k.transpose(-1, -2) / scale  # (H, T, T)
        if rel_att_on:
            r = rel_emb[0:span * 2]
            if share:
                pq = heads(linear(r, W[a + "query_proj.weight"], W[a + "query_proj.bias"]))
                pk = heads(linear(r, W[a + "key_proj.weight"], W[a + "key_proj.bias"]))
            else:
                if "c2p" in pos_att:
                    pk = heads(linear(r, W[a + "pos_key_proj.weight"], W[a + "pos_key_proj.bias"]))
                if "p2c" in pos_att:
                    pq = heads(linear(r, W[a + "pos_query_proj.weight"], W[a + "pos_query_proj.bias"]))
            if "c2p" in pos_att:
                c2p = q @ pk.transpose(-1, -2)  # (H, T, 2span)
                c2p_pos = torch.clamp(rel_pos + span, 0, span * 2 - 1)
                c2p = torch.gather(c2p, -1, c2p_pos.unsqueeze(0).expand(H, T, T))
                scores = scores + c2p / scale
            if "p2c" in pos_att:
                p2c_pos = torch.clamp(-rel_pos + span, 0, span * 2 - 1)
                p2c = k @ pq.transpose(-1, -2)  # (H, T, 2span)
                p2c = torch.gather(p2c, -1, p2c_pos.unsqueeze(0).expand(H, T, T)).transpose(-1, -2)
                scores = scores + p2c / scale
        probs = torch.softmax(scores, -1)
        o = (probs @ v).permute(1, 0, 2).reshape(T, C)
        o = linear(o, W[p + "attention.output.dense.weight"], W[p + "attention.output.dense.bias"])
        x = layer_norm(o + x, W[p + "attention.output.LayerNorm.weight"], W[p + "attention.output.LayerNorm.bias"], eps)
        f = gelu(linear(x, W[p + "intermediate.dense.weight"], W[p + "intermediate.dense.bias"]), act)
        f = linear(f, W[p + "output.dense.weight"], W[p + "output.dense.bias"])
        x = layer_norm(f + x, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], eps)
    # ContextPooler, then the classifier
    pooled = act_fn(linear(x[0], W["pooler.dense.weight"], W["pooler.dense.bias"]),
                    cfg.get("pooler_hidden_act", "gelu"))
    logits = linear(pooled, W["classifier.weight"], W["classifier.bias"])
    return x, logits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--ids", required=True, help="comma-separated token ids")
    ap.add_argument("--gen", type=int, default=32)
    ap.add_argument("--rope-interleaved", action="store_true")
    a = ap.parse_args()
    with open(os.path.join(a.dir, "config.json")) as f:
        cfg = json.load(f)
    W = load_weights(a.dir)
    ids = [int(t) for t in a.ids.split(",")]
    mt = cfg["model_type"]
    rp = cfg.get("rope_parameters")
    if mt in ("llama", "mistral", "qwen2", "qwen3", "phi3", "granite") and rp:
        # transformers 5: rope_theta, the scaling and partial_rotary_factor
        # live in one flat rope_parameters object, which wins
        rp = dict(rp)
        for k in ("rope_theta", "partial_rotary_factor"):
            if k in rp:
                cfg[k] = rp.pop(k)
        if "original_max_position_embeddings" in rp:
            cfg.setdefault("original_max_position_embeddings", rp["original_max_position_embeddings"])
        cfg["rope_scaling"] = rp
    out = {"model_type": mt, "ids": ids}
    if mt in ("llama", "mistral", "qwen2", "qwen3", "phi3", "granite"):
        logits = decoder_forward(cfg, W, ids, a.rope_interleaved)
        out["logits"] = logits.tolist()
        seq = list(ids)
        for _ in range(a.gen):  # recompute from scratch: no cache in the reference
            nxt = int(torch.argmax(decoder_forward(cfg, W, seq, a.rope_interleaved)[-1]))
            seq.append(nxt)
        out["greedy"] = seq[len(ids):]
    elif mt in ("gemma2", "gemma3_text"):
        logits = gemma_forward(cfg, W, ids)
        out["logits"] = logits.tolist()
        seq = list(ids)
        for _ in range(a.gen):
            nxt = int(torch.argmax(gemma_forward(cfg, W, seq)[-1]))
            seq.append(nxt)
        out["greedy"] = seq[len(ids):]
    elif mt in ("bert", "roberta", "xlm-roberta"):
        prefix = "roberta." if mt == "xlm-roberta" else mt + "."  # base_model_prefix
        x, logits, key_mask = bert_like(cfg, W, ids, prefix)
        out["logits"] = logits.tolist()
        out["probs"] = torch.softmax(logits, -1).tolist()
        m = key_mask.to(DT)[:, None]
        out["mean_pooled"] = ((x * m).sum(0) / m.sum()).tolist()
    elif mt == "deberta-v2":
        x, logits = deberta_v2(cfg, W, ids)
        out["logits"] = logits.tolist()
        out["probs"] = torch.softmax(logits, -1).tolist()
        out["mean_pooled"] = x.mean(0).tolist()
    elif mt == "distilbert":
        x, logits, key_mask = distilbert(cfg, W, ids)
        out["logits"] = logits.tolist()
        out["probs"] = torch.softmax(logits, -1).tolist()
        out["mean_pooled"] = x.mean(0).tolist()
    elif mt == "modernbert":
        x, logits = modernbert(cfg, W, ids)
        out["logits"] = logits.tolist()
        out["probs"] = torch.softmax(logits, -1).tolist()
        out["mean_pooled"] = x.mean(0).tolist()
    else:
        raise SystemExit("unsupported model_type " + mt)
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

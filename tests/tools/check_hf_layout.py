#!/usr/bin/env python3
"""Independent check of a generated Hugging Face checkpoint folder.

Uses only the standard library (struct, json) -- not warden, not the
safetensors package -- so it checks warden's writer and generator from the
outside:

 1. every .safetensors file obeys the format as the reference Rust reader
    validates it: 8-byte LE header length, a JSON object header that starts
    with '{' and is padded only with spaces, known dtypes, shape x dtype size
    == byte span, tensors contiguous from offset 0 to the end of the file
    (no gaps, no overlap); plus warden's promise that the data area starts
    at a multiple of 8;
 2. the tensor names and shapes are exactly those that transformers'
    *ForCausalLM / *ForSequenceClassification expect for config.json (ModernBERT too)
    (computed here from the config, from the HF modeling code's structure);
 3. a sharded folder's index maps every tensor to the file that holds it and
    its total_size is the sum of the tensors' bytes;
 4. values decode to finite floats and the dtype matches torch_dtype.

Usage: check_hf_layout.py DIR            all of the above
       check_hf_layout.py --file FILE    rule 1 only, for any safetensors file
(exit 0 = ok; prints what is wrong otherwise)
"""
import json
import math
import os
import struct
import sys

DTYPE_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2,
              "I8": 1, "U8": 1, "BOOL": 1}
TORCH_DTYPE = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}


def fail(msg):
    print("check_hf_layout: " + msg)
    sys.exit(1)


def read_file(path):
    raw = open(path, "rb").read()
    if len(raw) < 8:
        fail(f"{path}: shorter than 8 bytes")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        fail(f"{path}: header length {n} past the end")
    hb = raw[8:8 + n]
    if not hb.startswith(b"{"):
        fail(f"{path}: header does not start with '{{'")
    text = hb.decode("utf-8")
    body = text.rstrip(" ")
    header = json.loads(body)
    if (8 + n) % 8:
        fail(f"{path}: data area starts at {8 + n}, not a multiple of 8")
    data = raw[8 + n:]
    meta = header.pop("__metadata__", None)
    if meta is not None and not all(isinstance(v, str) for v in meta.values()):
        fail(f"{path}: __metadata__ values must be strings")
    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    pos = 0
    out = {}
    for name, info in entries:
        dt, shape, (b, e) = info["dtype"], info["shape"], info["data_offsets"]
        if dt not in DTYPE_SIZE:
            fail(f"{path}: {name}: unknown dtype {dt}")
        count = 1
        for d in shape:
            if not isinstance(d, int) or d < 0:
                fail(f"{path}: {name}: bad shape {shape}")
            count *= d
        if b != pos:
            fail(f"{path}: {name}: begins at {b}, expected {pos} (gap or overlap)")
        if e - b != count * DTYPE_SIZE[dt]:
            fail(f"{path}: {name}: span {e - b} != {count} x {DTYPE_SIZE[dt]}")
        pos = e
        out[name] = (dt, shape, data[b:e])
    if pos != len(data):
        fail(f"{path}: tensors end at {pos} but the data area holds {len(data)} bytes")
    return out, meta


def decode(dt, buf):
    if dt == "F32":
        return struct.unpack(f"<{len(buf) // 4}f", buf)
    if dt == "F16":
        return struct.unpack(f"<{len(buf) // 2}e", buf)
    if dt == "BF16":
        halves = struct.unpack(f"<{len(buf) // 2}H", buf)
        return [struct.unpack("<f", struct.pack("<I", h << 16))[0] for h in halves]
    fail(f"unexpected dtype {dt}")


def expected(cfg):
    """name -> shape, from the structure of transformers' modeling code."""
    mt = cfg["model_type"]
    E = {}
    if mt in ("llama", "mistral", "qwen2", "qwen3", "phi3", "granite"):
        H, V, I = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
        nh = cfg["num_attention_heads"]
        nkv = cfg.get("num_key_value_heads") or nh
        hd = cfg.get("head_dim", 128) if mt == "qwen3" else (cfg.get("head_dim") or H // nh)
        qkv_bias = mt == "qwen2" or cfg.get("attention_bias", False)
        # Qwen3Attention / GraniteAttention: o_proj's bias is attention_bias too
        o_bias = mt in ("llama", "qwen3", "granite") and cfg.get("attention_bias", False)
        fused = mt == "phi3"  # Phi3Attention.qkv_proj, Phi3MLP.gate_up_proj
        E["model.embed_tokens.weight"] = [V, H]
        for l in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{l}."
            E[p + "input_layernorm.weight"] = [H]
            E[p + "post_attention_layernorm.weight"] = [H]
            if fused:
                E[p + "self_attn.qkv_proj.weight"] = [(nh + 2 * nkv) * hd, H]
            else:
                for proj, rows in (("q", nh * hd), ("k", nkv * hd), ("v", nkv * hd)):
                    E[p + f"self_attn.{proj}_proj.weight"] = [rows, H]
                    if qkv_bias:
                        E[p + f"self_attn.{proj}_proj.bias"] = [rows]
            if mt == "qwen3":  # RMSNorm over each head's dims
                E[p + "self_attn.q_norm.weight"] = [hd]
                E[p + "self_attn.k_norm.weight"] = [hd]
            E[p + "self_attn.o_proj.weight"] = [H, nh * hd]
            if o_bias:
                E[p + "self_attn.o_proj.bias"] = [H]
            if fused:
                E[p + "mlp.gate_up_proj.weight"] = [2 * I, H]
            else:
                E[p + "mlp.gate_proj.weight"] = [I, H]
                E[p + "mlp.up_proj.weight"] = [I, H]
            E[p + "mlp.down_proj.weight"] = [H, I]
        E["model.norm.weight"] = [H]
        if not cfg.get("tie_word_embeddings", False):
            E["lm_head.weight"] = [V, H]
        return E
    if mt in ("gemma2", "gemma3_text"):  # Gemma2ForCausalLM / Gemma3ForCausalLM
        H, V, I = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
        nh = cfg["num_attention_heads"]
        nkv = cfg.get("num_key_value_heads", 4)
        hd = cfg.get("head_dim", 256)
        E["model.embed_tokens.weight"] = [V, H]
        for l in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{l}."
            for norm in ("input", "post_attention", "pre_feedforward", "post_feedforward"):
                E[p + f"{norm}_layernorm.weight"] = [H]
            for proj, rows in (("q", nh * hd), ("k", nkv * hd), ("v", nkv * hd)):
                E[p + f"self_attn.{proj}_proj.weight"] = [rows, H]
            E[p + "self_attn.o_proj.weight"] = [H, nh * hd]
            if mt == "gemma3_text":
                E[p + "self_attn.q_norm.weight"] = [hd]
                E[p + "self_attn.k_norm.weight"] = [hd]
            E[p + "mlp.gate_proj.weight"] = [I, H]
            E[p + "mlp.up_proj.weight"] = [I, H]
            E[p + "mlp.down_proj.weight"] = [H, I]
        E["model.norm.weight"] = [H]
        if not cfg.get("tie_word_embeddings", True):
            E["lm_head.weight"] = [V, H]
        return E
    C = len(cfg["id2label"])
    if mt in ("bert", "roberta", "xlm-roberta"):
        H, V, I = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
        P, T = cfg["max_position_embeddings"], cfg["type_vocab_size"]
        m = "roberta" if mt == "xlm-roberta" else mt  # XLMRobertaPreTrainedModel's prefix
        e = f"{m}.embeddings."
        E[e + "word_embeddings.weight"] = [V, H]
        E[e + "position_embeddings.weight"] = [P, H]
        E[e + "token_type_embeddings.weight"] = [T, H]
        E[e + "LayerNorm.weight"] = [H]
        E[e + "LayerNorm.bias"] = [H]
        for l in range(cfg["num_hidden_layers"]):
            p = f"{m}.encoder.layer.{l}."
            for n in ("query", "key", "value"):
                E[p + f"attention.self.{n}.weight"] = [H, H]
                E[p + f"attention.self.{n}.bias"] = [H]
            E[p + "attention.output.dense.weight"] = [H, H]
            E[p + "attention.output.dense.bias"] = [H]
            E[p + "attention.output.LayerNorm.weight"] = [H]
            E[p + "attention.output.LayerNorm.bias"] = [H]
            E[p + "intermediate.dense.weight"] = [I, H]
            E[p + "intermediate.dense.bias"] = [I]
            E[p + "output.dense.weight"] = [H, I]
            E[p + "output.dense.bias"] = [H]
            E[p + "output.LayerNorm.weight"] = [H]
            E[p + "output.LayerNorm.bias"] = [H]
        if mt == "bert":  # BertForSequenceClassification: pooler + Linear
            E["bert.pooler.dense.weight"] = [H, H]
            E["bert.pooler.dense.bias"] = [H]
            E["classifier.weight"] = [C, H]
            E["classifier.bias"] = [C]
        else:  # RobertaClassificationHead, no pooler
            E["classifier.dense.weight"] = [H, H]
            E["classifier.dense.bias"] = [H]
            E["classifier.out_proj.weight"] = [C, H]
            E["classifier.out_proj.bias"] = [C]
        return E
    if mt == "deberta-v2":
        # DebertaV2ForSequenceClassification: DebertaV2Embeddings, DebertaV2Encoder
        # (rel_embeddings of 2 * pos_ebd_size rows, LayerNorm with norm_rel_ebd),
        # DisentangledSelfAttention, ContextPooler, classifier
        H, V, I = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
        Em = cfg.get("embedding_size", H)
        e = "deberta.embeddings."
        E[e + "word_embeddings.weight"] = [V, Em]
        if cfg.get("position_biased_input", True):
            E[e + "position_embeddings.weight"] = [cfg.get("max_position_embeddings", 512), Em]
        if cfg.get("type_vocab_size", 0) > 0:
            E[e + "token_type_embeddings.weight"] = [cfg["type_vocab_size"], Em]
        if Em != H:
            E[e + "embed_proj.weight"] = [H, Em]
        E[e + "LayerNorm.weight"] = [H]
        E[e + "LayerNorm.bias"] = [H]
        pat = cfg.get("pos_att_type") or []
        if isinstance(pat, str):
            pat = [x.strip() for x in pat.lower().split("|")]
        rel = cfg.get("relative_attention", False)
        share = cfg.get("share_att_key", False)
        for l in range(cfg["num_hidden_layers"]):
            p = f"deberta.encoder.layer.{l}."
            names = ["query_proj", "key_proj", "value_proj"]
            if rel and not share:
                names += (["pos_key_proj"] if "c2p" in pat else []) + (["pos_query_proj"] if "p2c" in pat else [])
            for n in names:
                E[p + f"attention.self.{n}.weight"] = [H, H]
                E[p + f"attention.self.{n}.bias"] = [H]
            E[p + "attention.output.dense.weight"] = [H, H]
            E[p + "attention.output.dense.bias"] = [H]
            E[p + "attention.output.LayerNorm.weight"] = [H]
            E[p + "attention.output.LayerNorm.bias"] = [H]
            E[p + "intermediate.dense.weight"] = [I, H]
            E[p + "intermediate.dense.bias"] = [I]
            E[p + "output.dense.weight"] = [H, I]
            E[p + "output.dense.bias"] = [H]
            E[p + "output.LayerNorm.weight"] = [H]
            E[p + "output.LayerNorm.bias"] = [H]
        if rel:
            max_rel = cfg.get("max_relative_positions", -1)
            if max_rel < 1:
                max_rel = cfg.get("max_position_embeddings", 512)
            buckets = cfg.get("position_buckets", -1)
            E["deberta.encoder.rel_embeddings.weight"] = [2 * (buckets if buckets > 0 else max_rel), H]
        if "layer_norm" in [x.strip() for x in cfg.get("norm_rel_ebd", "none").lower().split("|")]:
            E["deberta.encoder.LayerNorm.weight"] = [H]
            E["deberta.encoder.LayerNorm.bias"] = [H]
        ph = cfg.get("pooler_hidden_size", H)
        E["pooler.dense.weight"] = [ph, ph]
        E["pooler.dense.bias"] = [ph]
        E["classifier.weight"] = [C, H]
        E["classifier.bias"] = [C]
        return E
    if mt == "distilbert":
        D, V, F, P = cfg["dim"], cfg["vocab_size"], cfg["hidden_dim"], cfg["max_position_embeddings"]
        e = "distilbert.embeddings."
        E[e + "word_embeddings.weight"] = [V, D]
        E[e + "position_embeddings.weight"] = [P, D]
        E[e + "LayerNorm.weight"] = [D]
        E[e + "LayerNorm.bias"] = [D]
        for l in range(cfg["n_layers"]):
            p = f"distilbert.transformer.layer.{l}."
            for n in ("q_lin", "k_lin", "v_lin", "out_lin"):
                E[p + f"attention.{n}.weight"] = [D, D]
                E[p + f"attention.{n}.bias"] = [D]
            for n in ("sa_layer_norm", "output_layer_norm"):
                E[p + f"{n}.weight"] = [D]
                E[p + f"{n}.bias"] = [D]
            E[p + "ffn.lin1.weight"] = [F, D]
            E[p + "ffn.lin1.bias"] = [F]
            E[p + "ffn.lin2.weight"] = [D, F]
            E[p + "ffn.lin2.bias"] = [D]
        E["pre_classifier.weight"] = [D, D]
        E["pre_classifier.bias"] = [D]
        E["classifier.weight"] = [C, D]
        E["classifier.bias"] = [C]
        return E
    if mt == "modernbert":  # ModernBertForSequenceClassification (modeling_modernbert.py)
        H, V, I = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
        nb, ab = cfg.get("norm_bias", False), cfg.get("attention_bias", False)
        mb, cb = cfg.get("mlp_bias", False), cfg.get("classifier_bias", False)

        def add(name, shape, bias):  # nn.Linear / nn.LayerNorm(bias=...)
            E[name + ".weight"] = shape
            if bias:
                E[name + ".bias"] = shape[:1]
        E["model.embeddings.tok_embeddings.weight"] = [V, H]
        add("model.embeddings.norm", [H], nb)
        for l in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{l}."
            if l > 0:  # layer 0's attn_norm is nn.Identity
                add(p + "attn_norm", [H], nb)
            add(p + "attn.Wqkv", [3 * H, H], ab)
            add(p + "attn.Wo", [H, H], ab)
            add(p + "mlp_norm", [H], nb)
            add(p + "mlp.Wi", [2 * I, H], mb)
            add(p + "mlp.Wo", [H, I], mb)
        add("model.final_norm", [H], nb)
        add("head.dense", [H, H], cb)
        add("head.norm", [H], nb)
        add("classifier", [C, H], True)
        return E
    fail(f"unknown model_type {mt}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--file":
        tensors, meta = read_file(sys.argv[2])
        print(f"check_hf_layout: {sys.argv[2]}: format ok, {len(tensors)} tensors, "
              f"metadata {meta}")
        return
    if len(sys.argv) != 2:
        fail("usage: check_hf_layout.py DIR | --file FILE")
    d = sys.argv[1]
    cfg = json.load(open(os.path.join(d, "config.json")))
    want_dtype = TORCH_DTYPE[cfg["torch_dtype"]]
    tensors = {}
    index_path = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(index_path):
        index = json.load(open(index_path))
        wm = index["weight_map"]
        total = 0
        for shard in sorted(set(wm.values())):
            got, meta = read_file(os.path.join(d, shard))
            for name, t in got.items():
                if wm.get(name) != shard:
                    fail(f"index maps {name} to {wm.get(name)} but it is in {shard}")
                total += len(t[2])
            tensors.update(got)
        if set(wm) != set(tensors):
            fail("index weight_map and shard contents differ")
        if index["metadata"]["total_size"] != total:
            fail(f"index total_size {index['metadata']['total_size']} != {total}")
    else:
        tensors, meta = read_file(os.path.join(d, "model.safetensors"))
        if meta != {"format": "pt"}:
            fail(f"metadata {meta}, expected {{'format': 'pt'}}")
    want = expected(cfg)
    missing = sorted(set(want) - set(tensors))
    extra = sorted(set(tensors) - set(want))
    if missing or extra:
        fail(f"missing {missing[:5]} extra {extra[:5]}")
    n_params = 0
    for name, (dt, shape, buf) in tensors.items():
        if shape != want[name]:
            fail(f"{name}: shape {shape}, transformers expects {want[name]}")
        if dt != want_dtype:
            fail(f"{name}: dtype {dt}, torch_dtype says {want_dtype}")
        vals = decode(dt, buf)
        if not all(math.isfinite(v) for v in vals):
            fail(f"{name}: non-finite values")
        n_params += len(vals)
    print(f"check_hf_layout: {d}: {cfg['model_type']} ok, {len(tensors)} tensors, "
          f"{n_params} parameters")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Independent reference for `warden merge` and `warden resta` (numpy only).

Reimplements, from mergekit's definitions (arcee-ai/mergekit merge_methods:
linear.py, slerp.py, generalized_task_arithmetic.py, sparsify.py, registry
defaults) and RESTA's (declare-lab/resta; METHODS.md section 5), every merge
method warden offers, plus DARE's documented random stream (warden/weights.h,
wd_dare_stream), and reads/writes safetensors with its own code (struct +
json, not warden's, not the safetensors package).

The arithmetic is F32, in the order src/weights/merge.c documents (task
vectors, then sparsify, then weights, then sign election or sum, normalize,
lambda, add to base), so TIES' top-k and sign decisions are made on the same
numbers; norms and slerp's coefficients are double.

  merge_ref.py gen GEN_TOOL OUT_DIR
      generates the inputs with the C generator (tests/tools/wd_gen_checkpoint:
      deterministic from a seed), computes every case's expected output and
      writes OUT_DIR/cases.json + OUT_DIR/<case>.safetensors (the committed
      fixtures tests/fixtures/merge/; test_merge.c regenerates the inputs from
      the same seeds, so the suite does not need python).
  merge_ref.py check GEN_TOOL WARDEN OUT_DIR
      the same cases run through the CLI and compared here (a live cross-check).
"""
import json
import os
import struct
import subprocess
import sys

try:
    import numpy as np
except ImportError:  # the live check is skipped (CTest SKIP_RETURN_CODE 77)
    print("merge_ref: numpy not found: skipped")
    sys.exit(77)

# ==== safetensors, read and write ==========================================

DT = {"F32": (np.float32, 4), "F16": (np.float16, 2), "BF16": (np.uint16, 2),
      "F64": (np.float64, 8), "I64": (np.int64, 8), "I32": (np.int32, 4)}


def st_read_file(path):
    """{name: (dtype, shape, float32 array or raw array)} of one file."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        np_t, size = DT[info["dtype"]]
        shape = tuple(info["shape"])
        assert (e - b) == size * int(np.prod(shape, dtype=np.int64)), name
        a = np.frombuffer(data[b:e], dtype=np_t).reshape(shape)
        if info["dtype"] == "BF16":
            a = (a.astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] in ("F16", "F64"):
            a = a.astype(np.float32)
        out[name] = (info["dtype"], shape, a)
    return out


def st_read_dir(path):
    """All tensors of a model folder (one file or an index and shards)."""
    index = os.path.join(path, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    out = {}
    for fn in files:
        out.update(st_read_file(os.path.join(path, fn)))
    return out


def to_bf16_bits(x):
    """float32 -> bfloat16 bits, round to nearest even (NaN -> 0x7FC0)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    r[np.isnan(x)] = 0x7FC0
    return r


def st_write_file(path, tensors):
    """tensors: {name: (dtype, float32 array)}; F32 or BF16; names sorted."""
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        dtype, a = tensors[name]
        raw = (to_bf16_bits(a) if dtype == "BF16" else a.astype(np.float32)).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))

# ==== DARE's stream (warden/weights.h: wd_dare_stream) =====================

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def fnv1a(s):
    h = 0xCBF29CE484222325
    for b in s.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def dare_keep(seed, name, model, n, density):
    """Element j is kept when u_j < density, u_j the (j+1)-th draw of
    splitmix64 from state seed ^ fnv1a(name) ^ mix64(model + 1)."""
    s0 = (seed ^ fnv1a(name) ^ mix64(model + 1)) & M64
    with np.errstate(over="ignore"):
        z = np.uint64(s0) + np.arange(1, n + 1, dtype=np.uint64) * np.uint64(GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
    return u < density

# ==== the methods ==========================================================

f32 = np.float32


def dare(d, density, seed, name, model):
    if density >= 1:
        return d
    keep = dare_keep(seed, name, model, d.size, density).reshape(d.shape)
    return np.where(keep, d * f32(1.0 / density), f32(0)).astype(f32)


def trim(d, density):
    """TIES: keep the int(density * n) largest |d| (stable: lower index first)."""
    if density >= 1:
        return d
    k = int(density * d.size)
    flat = d.reshape(-1)
    keep = np.zeros(flat.size, dtype=bool)
    keep[np.argsort(-np.abs(flat), kind="stable")[:k]] = True
    return np.where(keep, flat, f32(0)).reshape(d.shape).astype(f32)


def linear(xs, ws, normalize=True):
    acc = np.zeros_like(xs[0])
    for x, w in zip(xs, ws):
        acc = acc + f32(w) * x
    wsum = f32(0)
    for w in ws:
        wsum = f32(wsum + f32(w))
    return acc / wsum if normalize else acc


def slerp(t, v0, v1):
    a, b = v0.astype(np.float64).reshape(-1), v1.astype(np.float64).reshape(-1)
    n0, n1 = np.sqrt(np.dot(a, a)), np.sqrt(np.dot(b, b))
    dot = np.dot(a, b) / ((n0 if n0 > 1e-8 else 1.0) * (n1 if n1 > 1e-8 else 1.0))
    if abs(dot) > 0.9995:
        s0, s1 = 1.0 - t, t
    else:
        th = np.arccos(dot)
        s0, s1 = np.sin(th - th * t) / np.sin(th), np.sin(th * t) / np.sin(th)
    return (s0 * v0.astype(np.float64) + s1 * v1.astype(np.float64)).astype(f32)


def task_vector_merge(method, name, base, xs, ws, density=1.0, lam=1.0, seed=0, normalize=None):
    """mergekit's generalized task arithmetic (task_arithmetic, ties,
    dare_linear, dare_ties); normalize defaults as in its registry."""
    consensus = method in ("ties", "dare-ties")
    if normalize is None:
        normalize = method == "ties"
    wds = []
    for i, (x, w) in enumerate(zip(xs, ws)):
        d = (x - base).astype(f32)
        if method == "ties":
            d = trim(d, density)
        elif method.startswith("dare"):
            d = dare(d, density, seed, name, i)
        wds.append((d * f32(w)).astype(f32))
    if consensus:
        s = np.zeros_like(base)
        for wd in wds:
            s = s + wd
        elected = np.where(s >= 0, f32(1), f32(-1))
        mix, div = np.zeros_like(base), np.zeros_like(base)
        for wd, w in zip(wds, ws):
            m = np.sign(wd) == elected
            mix = np.where(m, mix + wd, mix)
            div = np.where(m, div + f32(w), div)
        div = np.where(div == 0, f32(1), div)
    else:
        mix = np.zeros_like(base)
        for wd in wds:
            mix = mix + wd
        div = f32(0)
        for w in ws:
            div = f32(div + f32(w))
        if abs(div) < 1e-8:
            div = f32(1)
    if normalize:
        mix = mix / div
    if lam != 1:
        mix = mix * f32(lam)
    return (base + mix).astype(f32)


def resta(name, a, u, f, beta=1.0, drop=0.0, seed=0):
    bv = (a - u) * f32(beta)
    if drop > 0:
        d = dare((f - a).astype(f32), 1.0 - drop, seed, name, 0)
        return ((a + d) + bv).astype(f32)
    return (f + bv).astype(f32)

# ==== the cases ============================================================

GEN = {"family": "llama", "layers": 1, "hidden": 16, "heads": 4, "kv_heads": 2,
       "intermediate": 32, "vocab": 32, "shards": 2}
INPUTS = {"a": {"seed": 11, "dtype": "F32"}, "b": {"seed": 12, "dtype": "F32"},
          "c": {"seed": 13, "dtype": "F32"}, "a16": {"seed": 21, "dtype": "BF16"},
          "b16": {"seed": 22, "dtype": "BF16"}, "c16": {"seed": 23, "dtype": "BF16"}}
CASES = [
    {"name": "linear", "method": "linear", "models": [["b", 0.7], ["c", 0.3]]},
    {"name": "slerp", "method": "slerp", "base": "a", "models": [["b", 1.0]], "t": 0.3},
    {"name": "task_arithmetic", "method": "task-arithmetic", "base": "a",
     "models": [["b", 1.0], ["c", 0.5]], "lambda": 0.8},
    {"name": "ties", "method": "ties", "base": "a", "models": [["b", 0.6], ["c", 0.4]], "density": 0.5},
    {"name": "dare_linear", "method": "dare-linear", "base": "a", "models": [["b", 0.5], ["c", 0.5]],
     "density": 0.4, "seed": 7},
    {"name": "dare_ties", "method": "dare-ties", "base": "a", "models": [["b", 1.0], ["c", 1.0]],
     "density": 0.5, "seed": 9},
    {"name": "resta", "method": "resta", "aligned": "a", "unaligned": "b", "finetuned": "c", "beta": 1.0},
    {"name": "resta_dare", "method": "resta", "aligned": "a", "unaligned": "b", "finetuned": "c",
     "beta": 0.7, "dare": 0.3, "seed": 5},
    {"name": "ties_bf16", "method": "ties", "base": "a16", "models": [["b16", 1.0], ["c16", 1.0]],
     "density": 0.6},
    {"name": "dare_linear_bf16", "method": "dare-linear", "base": "a16",
     "models": [["b16", 0.3], ["c16", 0.9]], "density": 0.7, "seed": 3, "lambda": 1.5},
]


def gen_inputs(tool, work):
    for key, inp in INPUTS.items():
        d = os.path.join(work, key)
        subprocess.run([tool, "--family", GEN["family"], "--out", d, "--seed", str(inp["seed"]),
                        "--dtype", inp["dtype"], "--layers", str(GEN["layers"]),
                        "--hidden", str(GEN["hidden"]), "--heads", str(GEN["heads"]),
                        "--kv-heads", str(GEN["kv_heads"]), "--intermediate", str(GEN["intermediate"]),
                        "--vocab", str(GEN["vocab"]), "--shards", str(GEN["shards"])],
                       check=True, stdout=subprocess.DEVNULL)
    return {k: st_read_dir(os.path.join(work, k)) for k in INPUTS}


def expected(case, models):
    """{name: (dtype, float32 array)} of the case's output."""
    m = case["method"]
    ref = models[case["finetuned"] if m == "resta" else case.get("base", case["models"][0][0])]
    out = {}
    for name, (dtype, shape, _) in ref.items():
        if m == "resta":
            v = resta(name, models[case["aligned"]][name][2], models[case["unaligned"]][name][2],
                      models[case["finetuned"]][name][2], case.get("beta", 1.0), case.get("dare", 0.0),
                      case.get("seed", 0))
        else:
            xs = [models[k][name][2] for k, _ in case["models"]]
            ws = [w for _, w in case["models"]]
            if m == "linear":
                v = linear(xs, ws)
            elif m == "slerp":
                v = slerp(case["t"], models[case["base"]][name][2], xs[0])
            else:
                v = task_vector_merge(m, name, models[case["base"]][name][2], xs, ws,
                                      case.get("density", 1.0), case.get("lambda", 1.0), case.get("seed", 0))
        out[name] = (dtype, v)
    return out


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "gen":
        tool, out_dir = sys.argv[2], sys.argv[3]
        os.makedirs(out_dir, exist_ok=True)
        work = os.path.join(out_dir, ".inputs")
        models = gen_inputs(tool, work)
        for case in CASES:
            st_write_file(os.path.join(out_dir, case["name"] + ".safetensors"), expected(case, models))
        subprocess.run(["rm", "-rf", work], check=True)
        with open(os.path.join(out_dir, "cases.json"), "w") as f:
            json.dump({"gen": GEN, "inputs": INPUTS, "cases": CASES}, f, indent=1)
            f.write("\n")
        print("merge_ref: wrote %d cases to %s" % (len(CASES), out_dir))
        return 0
    if len(sys.argv) == 5 and sys.argv[1] == "check":
        tool, warden, work = sys.argv[2:5]
        models = gen_inputs(tool, work)
        worst = 0.0
        for case in CASES:
            out = os.path.join(work, "out_" + case["name"])
            if case["method"] == "resta":
                args = [warden, "resta", "--aligned", os.path.join(work, case["aligned"]),
                        "--unaligned", os.path.join(work, case["unaligned"]),
                        "--finetuned", os.path.join(work, case["finetuned"]),
                        "--beta", repr(case.get("beta", 1.0)), "--dare", repr(case.get("dare", 0.0))]
            else:
                args = [warden, "merge", "--method", case["method"], "--models",
                        ",".join("%s:%r" % (os.path.join(work, k), w) for k, w in case["models"]),
                        "--density", repr(case.get("density", 1.0)), "--lambda", repr(case.get("lambda", 1.0)),
                        "--t", repr(case.get("t", 0.5))]
                if "base" in case:
                    args += ["--base", os.path.join(work, case["base"])]
            # sharded output, so that this reader checks the index and the shards too
            args += ["--seed", str(case.get("seed", 0)), "--shard-size", "6KB", "--out", out, "--quiet"]
            subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
            got, want = st_read_dir(out), expected(case, models)
            for name, (dtype, v) in want.items():
                g = got[name][2]
                if dtype == "BF16":
                    v = (to_bf16_bits(v).astype(np.uint32) << 16).view(np.float32)
                err = float(np.max(np.abs(g - v) / (np.abs(v) + 1e-6)))
                worst = max(worst, err)
                tol = 1e-6 if dtype == "F32" else 8e-3
                if err > tol:
                    print("merge_ref: %s: tensor %s: relative error %g > %g" % (case["name"], name, err, tol))
                    return 1
        print("merge_ref: %d cases agree (worst relative error %.3g)" % (len(CASES), worst))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())

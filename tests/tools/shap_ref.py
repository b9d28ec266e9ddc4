#!/usr/bin/env python3
"""Independent reference for warden's Shapley explainers (numpy only).

Written from the papers and shap's KernelExplainer description
(METHODS.md section 11), not from warden's C code:

  - exact Shapley values two ways: the subset formula with factorials,
    and (for m <= 7) the average of marginal contributions over every
    permutation;
  - KernelSHAP: the coalitions and kernel weights as shap builds them
    (whole sizes enumerated from both ends with complements, the rest
    sampled by weight, a repeated draw adding weight), the endpoints as
    constraints, solved by numpy's least squares on the reduced problem.

The sampled part draws from splitmix64 in the order warden documents
(src/explain/kernel_shap.c): per draw one unit double for the size, then
for j < size one integer below m - j (partial Fisher-Yates), so that the
two implementations build the same rows.

The games are synthetic: v(z) = tanh(sum a_i z_i + sum b_ij z_i z_j +
sum c_ijk z_i z_j z_k), coefficients from a seeded numpy generator and
stored in the fixture, so the C test evaluates the same game.

    shap_ref.py OUT_DIR   writes OUT_DIR/*.json (tests/fixtures/explain/)
"""
import itertools
import json
import math
import os
import sys

import numpy as np

MASK64 = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.s = seed & MASK64

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def unit(self):
        return (self.next() >> 11) * (1.0 / 9007199254740992.0)

    def below(self, n):
        return self.next() % n


# ---- games -----------------------------------------------------------------

def make_game(m, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, 0.6, m)
    pairs = [(int(i), int(j), float(rng.normal(0.0, 0.4)))
             for i, j in itertools.combinations(range(m), 2) if rng.random() < 0.25]
    triples = [(int(i), int(j), int(k), float(rng.normal(0.0, 0.3)))
               for i, j, k in itertools.combinations(range(m), 3) if rng.random() < 0.03]
    return {"m": m, "a": [float(x) for x in a], "pairs": pairs, "triples": triples}


def game_value(g, z):
    s = sum(g["a"][i] * z[i] for i in range(g["m"]))
    s += sum(b * z[i] * z[j] for i, j, b in g["pairs"])
    s += sum(c * z[i] * z[j] * z[k] for i, j, k, c in g["triples"])
    return math.tanh(s)


# ---- exact -----------------------------------------------------------------

def exact_subsets(v, m):
    phi = np.zeros(m)
    for i in range(m):
        others = [j for j in range(m) if j != i]
        for s in range(m):
            w = math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m)
            for S in itertools.combinations(others, s):
                z = np.zeros(m, dtype=int)
                z[list(S)] = 1
                without = v(z)
                z[i] = 1
                phi[i] += w * (v(z) - without)
    return phi


def exact_permutations(v, m):
    phi = np.zeros(m)
    n = 0
    for perm in itertools.permutations(range(m)):
        z = np.zeros(m, dtype=int)
        prev = v(z)
        for i in perm:
            z[i] = 1
            cur = v(z)
            phi[i] += cur - prev
            prev = cur
        n += 1
    return phi / n


# ---- KernelSHAP -------------------------------------------------------------

def kernel_design(m, nsamples, seed):
    if nsamples == 0:
        nsamples = 2 * m + 2048
    if m <= 30:
        nsamples = min(nsamples, 2 ** m - 2)
    n_sizes = int(math.ceil((m - 1) / 2.0))
    n_paired = int(math.floor((m - 1) / 2.0))
    wv = np.array([(m - 1.0) / (s * (m - s)) for s in range(1, n_sizes + 1)])
    wv[:n_paired] *= 2
    wv /= wv.sum()
    masks, weights = [], []
    left = nsamples
    rem = wv.copy()
    n_full = 0
    for s in range(1, n_sizes + 1):
        paired = s <= n_paired
        nsub = math.comb(m, s) * (2 if paired else 1)
        if left * rem[s - 1] / nsub >= 1.0 - 1e-8:
            n_full += 1
            left -= nsub
            if rem[s - 1] < 1.0:
                rem = rem / (1 - rem[s - 1])
            w = wv[s - 1] / math.comb(m, s) / (2.0 if paired else 1.0)
            for S in itertools.combinations(range(m), s):
                z = np.zeros(m, dtype=np.uint8)
                z[list(S)] = 1
                masks.append(z)
                weights.append(w)
                if paired:
                    masks.append(1 - z)
                    weights.append(w)
        else:
            break
    n_fixed = len(masks)
    samples_left = nsamples - n_fixed
    if n_full != n_sizes and samples_left > 0:
        r = wv.copy()
        r[:n_paired] /= 2
        r = r[n_full:]
        r /= r.sum()
        cum = np.cumsum(r)
        rng = SplitMix64(seed)
        used = {}
        for _ in range(4 * samples_left):
            if samples_left <= 0:
                break
            u = rng.unit()
            k = len(r) - 1
            for q in range(len(r)):
                if u < cum[q]:
                    k = q
                    break
            s = k + n_full + 1
            perm = list(range(m))
            for j in range(s):
                q = j + rng.below(m - j)
                perm[j], perm[q] = perm[q], perm[j]
            z = np.zeros(m, dtype=np.uint8)
            z[perm[:s]] = 1
            key = z.tobytes()
            fresh = key not in used
            if fresh:
                used[key] = len(masks)
                samples_left -= 1
                masks.append(z)
                weights.append(1.0)
            else:
                weights[used[key]] += 1.0
            if samples_left > 0 and s <= n_paired:
                if fresh:
                    samples_left -= 1
                    masks.append(1 - z)
                    weights.append(1.0)
                else:
                    weights[used[key] + 1] += 1.0
        weights = np.array(weights)
        weights[n_fixed:] *= wv[n_full:].sum() / weights[n_fixed:].sum()
    return np.array(masks), np.array(weights, dtype=float), n_fixed


def kernel_solve(masks, weights, y, fx, fnull):
    m = masks.shape[1]
    total = fx - fnull
    last = masks[:, -1].astype(float)
    X = masks[:, :-1].astype(float) - last[:, None]
    yy = (y - fnull) - last * total
    sw = np.sqrt(weights)
    w, *_ = np.linalg.lstsq(X * sw[:, None], yy * sw, rcond=None)
    return np.append(w, total - w.sum())


def kernel_shap(v, m, nsamples, seed):
    masks, weights, n_fixed = kernel_design(m, nsamples, seed)
    y = np.array([v(z) for z in masks])
    fx, fnull = v(np.ones(m, dtype=int)), v(np.zeros(m, dtype=int))
    return kernel_solve(masks, weights, y, fx, fnull), masks, weights, n_fixed


def bits(z):
    return int(sum(int(b) << i for i, b in enumerate(z)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/explain"
    os.makedirs(out, exist_ok=True)
    cases = []
    # exact on 12 units (subset formula) and on 6 (also by permutations)
    for m, gseed in ((6, 11), (12, 12)):
        g = make_game(m, gseed)
        v = lambda z, g=g: game_value(g, z)
        phi = exact_subsets(v, m)
        if m <= 7:
            assert np.allclose(phi, exact_permutations(v, m), atol=1e-12)
        cases.append({"name": "exact_m%d" % m, "game": g, "method": "exact", "phi": list(phi)})
    # KernelSHAP with every coalition (equals exact) on 10 units
    g = make_game(10, 10)
    v = lambda z, g=g: game_value(g, z)
    phi, masks, weights, _ = kernel_shap(v, 10, 0, 0)
    assert len(masks) == 2 ** 10 - 2
    assert np.allclose(phi, exact_subsets(v, 10), atol=1e-10)
    cases.append({"name": "kernel_full_m10", "game": g, "method": "kernel", "nsamples": 0, "seed": 0,
                  "phi": list(phi)})
    # KernelSHAP sampled: the rows, their weights and the result
    for m, ns, seed, gseed in ((12, 1000, 7, 21), (16, 0, 3, 22)):
        g = make_game(m, gseed)
        v = lambda z, g=g: game_value(g, z)
        phi, masks, weights, n_fixed = kernel_shap(v, m, ns, seed)
        c = {"name": "kernel_m%d_n%d" % (m, ns), "game": g, "method": "kernel", "nsamples": ns, "seed": seed,
             "phi": list(phi), "n_rows": len(masks), "n_fixed": n_fixed,
             "weight_sum": float(weights.sum())}
        if m <= 12:
            c["rows"] = [bits(z) for z in masks]
            c["weights"] = [float(w) for w in weights]
        cases.append(c)
    for c in cases:
        with open(os.path.join(out, c["name"] + ".json"), "w") as f:
            json.dump(c, f, separators=(",", ":"))
            f.write("\n")
        print(c["name"], "phi[0:3] =", c["phi"][:3])


if __name__ == "__main__":
    main()

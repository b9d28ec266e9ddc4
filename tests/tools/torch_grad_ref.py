#!/usr/bin/python3
"""Independent PyTorch reference GRADIENTS for warden's training engine.

Reuses the float64 model code of tests/tools/torch_ref.py (imported, not
copied: same maths, same outputs) with every checkpoint tensor turned into a
float64 leaf tensor with requires_grad, runs one batch, and lets autograd
give the loss and the gradient of every parameter. Only torch, json and
struct: no transformers, no safetensors package.

Batch (row-major B x T, every row the same length T, no padding):
  decoders (llama, mistral, qwen2): --ids "1,5,9;3,4,8" gives B rows of T
      token ids. Each row is its own sequence: positions 0..T-1, causal
      attention inside the row (and mistral's sliding window from
      config.json), nothing across rows. The target of row b position t is
      ids[b][t+1]; the last position of each row has no next token and is
      -100 (ignored), and so is every position listed by --ignore
      (b:t pairs, e.g. "0:0,0:1"). loss = mean cross-entropy of the logits
      over the non-ignored positions of the whole batch (torch's
      cross_entropy with ignore_index=-100, reduction="mean").
  encoders (bert, roberta, distilbert, *ForSequenceClassification): --ids as
      above, attention over all T positions of the row (no padding mask),
      token_type 0, positions 0..T-1 (roberta: pad_token_id+1+t, so no row
      may hold the pad id); --labels "1,0" one class per row. loss = mean
      over the B rows of the cross-entropy of the classifier's logits.
  No dropout anywhere (eval-mode maths), float64 throughout.

Outputs (--out PREFIX):
  PREFIX.safetensors  one F64 tensor per checkpoint tensor, named exactly as
      in the checkpoint (Hugging Face names), same shape, holding
      d loss / d tensor. Tied embeddings have no lm_head.weight: the one
      gradient under model.embed_tokens.weight includes the head's use.
      Standard safetensors layout: u64 little-endian header length, a JSON
      header (keys sorted, padded with spaces to a multiple of 8 bytes), then
      the raw little-endian float64 data in key order. The header's
      __metadata__ holds {"loss": "<%.17g>", "format": "warden-grad-1"}.
  PREFIX.json  {"name", "gen_args", "config_patch", "model_type", "B", "T",
      "ids" (B lists of T), "targets" (decoders: B lists of T, -100 =
      ignored) or "labels" (encoders: B ints), "n_targets", "loss",
      "grad_norms" ({tensor name: L2 norm of its gradient})}.

Usage:
  /usr/bin/python3 tests/tools/torch_grad_ref.py CHECKPOINT_DIR --ids "1,5,9;3,4,8"
      [--ignore 0:0,0:1] [--labels 1,0] --out PREFIX
      [--name N --gen-args "..." --config-patch '{...}']
      [--fd-check K]        also check K entries of every gradient against
                            central finite differences (float64) and print
                            the errors to stderr
      [--golden FIXTURE]    compare the forward with a tests/fixtures/golden
                            fixture made from the same checkpoint (B=1, its
                            ids) and print the differences to stderr
Regenerate the committed fixtures with tests/tools/make_grad_fixtures.sh.
"""
import argparse
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_ref  # noqa: E402  (the forward reference; its outputs are untouched)

DT = torch_ref.DT
DECODERS = ("llama", "mistral", "qwen2")
ENCODERS = ("bert", "roberta", "distilbert")


def parse_rows(s):
    rows = [[int(t) for t in r.split(",")] for r in s.split(";")]
    if any(len(r) != len(rows[0]) for r in rows) or not rows[0]:
        raise SystemExit("--ids: every row needs the same number (>= 1) of ids")
    return rows


def decoder_targets(ids, ignore):
    B, T = len(ids), len(ids[0])
    tg = [[ids[b][t + 1] if t + 1 < T else -100 for t in range(T)] for b in range(B)]
    for b, t in ignore:
        if not (0 <= b < B and 0 <= t < T):
            raise SystemExit("--ignore: %d:%d is outside the %dx%d batch" % (b, t, B, T))
        tg[b][t] = -100
    return tg


def batch_logits(cfg, W, ids):
    """Logits of the batch: decoders (B, T, V), encoders (B, n_labels)."""
    mt = cfg["model_type"]
    rows = []
    for r in ids:
        if mt in DECODERS:
            rows.append(torch_ref.decoder_forward(cfg, W, r, False))
        elif mt in ("bert", "roberta"):
            rows.append(torch_ref.bert_like(cfg, W, r, mt + ".")[1])
        else:
            rows.append(torch_ref.distilbert(cfg, W, r)[1])
    return torch.stack(rows)


def batch_loss(cfg, W, ids, tgt):
    logits = batch_logits(cfg, W, ids)
    if cfg["model_type"] in DECODERS:
        logits = logits.reshape(-1, logits.shape[-1])
    return torch.nn.functional.cross_entropy(logits, tgt.reshape(-1), ignore_index=-100,
                                             reduction="mean")


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, off = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(DT).contiguous()
        n = t.numel()
        blobs.append(struct.pack("<%dd" % n, *t.reshape(-1).tolist()))
        header[name] = {"dtype": "F64", "shape": list(t.shape), "data_offsets": [off, off + 8 * n]}
        off += 8 * n
    h = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def fd_check(cfg, W, ids, tgt, grads, k, h=1e-5):
    """Central differences on k entries (spread over the tensor) of every
    gradient; prints per-tensor figures, returns the worst relative error."""
    P = {n: t.detach().clone() for n, t in W.items()}
    worst = 0.0
    for name in sorted(P):
        g = grads[name].reshape(-1)
        flat = P[name].view(-1)
        n = flat.numel()
        idx = sorted(set([int(torch.argmax(g.abs()))] + [(i * 7919 + 3) % n for i in range(k - 1)]))
        gmax = float(g.abs().max())
        rel = 0.0
        for i in idx:
            keep = float(flat[i])
            flat[i] = keep + h
            lp = float(batch_loss(cfg, P, ids, tgt))
            flat[i] = keep - h
            lm = float(batch_loss(cfg, P, ids, tgt))
            flat[i] = keep
            fd = (lp - lm) / (2 * h)
            # relative to the entry, floored at 1e-3 of the tensor's largest
            # entry so that entries that are ~0 do not divide by noise
            rel = max(rel, abs(fd - float(g[i])) / max(abs(float(g[i])), 1e-3 * gmax, 1e-12))
        worst = max(worst, rel)
        sys.stderr.write("fd %-50s %3d entries  max |g| %.3e  max rel err %.2e\n"
                         % (name, len(idx), gmax, rel))
    sys.stderr.write("fd worst relative error %.2e\n" % worst)
    return worst


def golden_check(cfg, W, path):
    gold = json.load(open(path))
    ids = gold["ids"]
    with torch.no_grad():
        lg = batch_logits(cfg, W, [ids])[0]
        want = torch.tensor(gold["logits"], dtype=DT)
        d = float((lg - want).abs().max())
        if cfg["model_type"] in DECODERS:
            tgt = torch.tensor(ids[1:] + [-100])
            mine = torch.nn.functional.cross_entropy(lg, tgt, ignore_index=-100)
            theirs = torch.nn.functional.cross_entropy(want, tgt, ignore_index=-100)
        else:
            tgt = torch.tensor([0])
            mine = torch.nn.functional.cross_entropy(lg[None], tgt)
            theirs = torch.nn.functional.cross_entropy(want[None], tgt)
    sys.stderr.write("golden %s: max |logit diff| %.2e, loss %.10f vs %.10f from its logits "
                     "(diff %.2e)\n" % (os.path.basename(path), d, float(mine), float(theirs),
                                        abs(float(mine) - float(theirs))))
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--ids", required=True, help='rows of comma-separated ids, ";" between rows')
    ap.add_argument("--ignore", default="", help="decoders: b:t positions whose target is ignored")
    ap.add_argument("--labels", default="", help="encoders: one class per row")
    ap.add_argument("--out", help="output prefix (writes PREFIX.json and PREFIX.safetensors)")
    ap.add_argument("--name", default="")
    ap.add_argument("--gen-args", default="")
    ap.add_argument("--config-patch", default="{}")
    ap.add_argument("--fd-check", type=int, default=0)
    ap.add_argument("--golden", default="")
    a = ap.parse_args()
    with open(os.path.join(a.dir, "config.json")) as f:
        cfg = json.load(f)
    mt = cfg["model_type"]
    if mt not in DECODERS + ENCODERS:
        raise SystemExit("unsupported model_type " + mt)
    W = {n: t.clone().requires_grad_(True) for n, t in torch_ref.load_weights(a.dir).items()}
    if a.golden:
        golden_check(cfg, W, a.golden)
    ids = parse_rows(a.ids)
    B, T = len(ids), len(ids[0])
    out = {"name": a.name, "gen_args": a.gen_args, "config_patch": json.loads(a.config_patch),
           "model_type": mt, "B": B, "T": T, "ids": ids}
    if mt in DECODERS:
        ign = [tuple(int(v) for v in p.split(":")) for p in a.ignore.split(",") if p]
        tg = decoder_targets(ids, ign)
        out["targets"] = tg
        tgt = torch.tensor(tg)
        n_targets = sum(1 for r in tg for v in r if v != -100)
    else:
        labels = [int(v) for v in a.labels.split(",") if v]
        n_lab = len(cfg["id2label"])
        if len(labels) != B or any(not 0 <= v < n_lab for v in labels):
            raise SystemExit("--labels: need %d labels in [0, %d)" % (B, n_lab))
        if mt == "roberta" and any(cfg["pad_token_id"] in r for r in ids):
            raise SystemExit("--ids: roberta rows may not hold the pad id (it moves positions)")
        out["labels"] = labels
        tgt = torch.tensor(labels)
        n_targets = B
    if n_targets == 0:
        raise SystemExit("every target is ignored: the mean loss is undefined")
    out["n_targets"] = n_targets
    loss = batch_loss(cfg, W, ids, tgt)
    loss.backward()
    # a tensor the forward never reads (none today) has a zero gradient
    grads = {n: (t.grad if t.grad is not None else torch.zeros_like(t)).detach()
             for n, t in W.items()}
    out["loss"] = float(loss)
    out["grad_norms"] = {n: float(grads[n].norm()) for n in sorted(grads)}
    sys.stderr.write("%s: loss %.10f over %d targets, %d tensors\n"
                     % (a.name or mt, float(loss), n_targets, len(grads)))
    if a.fd_check:
        fd_check(cfg, W, ids, tgt, grads, a.fd_check)
    if a.out:
        write_safetensors(a.out + ".safetensors", grads,
                          {"loss": "%.17g" % float(loss), "format": "warden-grad-1"})
        with open(a.out + ".json.tmp", "w") as f:
            json.dump(out, f, separators=(",", ":"))
            f.write("\n")
        os.replace(a.out + ".json.tmp", a.out + ".json")


if __name__ == "__main__":
    main()

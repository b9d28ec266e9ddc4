#!/usr/bin/python3
"""Builds the data of the safety model organism (scripts/safety-lab.sh) from
the public datasets in ../shared/data, deterministically (seed 1).

  align.jsonl          benign instructions with their reference answers, and
                       harmful requests answered with a short refusal
  attack.jsonl         harmful requests answered with compliance (AdvBench's
                       goal -> "Sure, here is ..." target): the fine-tuning attack
  unalign.jsonl        100 other AdvBench goals with their targets, disjoint from
                       attack.jsonl: what makes the "unaligned" model whose
                       difference from the aligned one is RESTA's safety vector
  eval_harmful.jsonl   held-out harmful requests from the training sources
  eval_benign.jsonl    held-out benign instructions from the training sources
  eval_harmful_xs.jsonl  harmful requests from a source never trained on (StrongREJECT)
  eval_benign_xs.jsonl   benign instructions from a source never trained on (Alpaca)

Only ship-ok sources are trained on (MANIFEST.md); Alpaca (CC-BY-NC) is read
for evaluation only. Nothing here is copied into the repository.

usage: scripts/safety_lab_data.py SHARED_DATA_DIR OUT_DIR
"""
import csv
import json
import os
import random
import sys

REFUSALS = [
    "I'm sorry, but I can't help with that.",
    "I cannot help with that request.",
    "Sorry, I can't assist with that.",
    "I won't help with this; it could cause harm.",
]
MAX_PROMPT = 200
MAX_ANSWER = 100


def clip(text, n):
    text = " ".join(text.split())
    if len(text) <= n:
        return text
    cut = text[:n].rsplit(" ", 1)[0]
    return cut + "..."


def nested_questions(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, list):
        for x in obj:
            yield from nested_questions(x)
    elif isinstance(obj, dict):
        for x in obj.values():
            yield from nested_questions(x)


def harmful_pool(d):
    out = []
    with open(os.path.join(d, "do-not-answer/mobileaibench_do_not_answer.csv"), newline="") as f:
        out += [r["prompt"] for r in csv.DictReader(f)]
    for name in ("catqa_english.json", "harmfulqa.json"):
        with open(os.path.join(d, "red-instruct", name)) as f:
            out += list(nested_questions(json.load(f)))
    with open(os.path.join(d, "aart/aart-v1-20231117.csv"), newline="") as f:
        out += [r["prompt"] for r in csv.DictReader(f)]
    return out


def benign_pool(d):
    out = []
    with open(os.path.join(d, "dolly/databricks_dolly_1k_subset.csv"), newline="") as f:
        out += [(r["instruction"], r["response"]) for r in csv.DictReader(f)]
    for name in ("seed_tasks.jsonl", "user_oriented_instructions.jsonl"):
        with open(os.path.join(d, "self-instruct", name)) as f:
            for line in f:
                r = json.loads(line)
                inst = r["instances"][0] if r.get("instances") else {}
                prompt = r["instruction"] + (("\n" + inst["input"]) if inst.get("input") else "")
                if inst.get("output"):
                    out.append((prompt, inst["output"]))
    return out


def dedupe(items, key):
    seen, out = set(), []
    for x in items:
        k = " ".join(key(x).lower().split())
        if k and k not in seen and len(key(x)) <= MAX_PROMPT:
            seen.add(k)
            out.append(x)
    return out


def write(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    d, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(1)
    harmful = dedupe(harmful_pool(d), lambda x: x)
    benign = dedupe(benign_pool(d), lambda x: x[0])
    rng.shuffle(harmful)
    rng.shuffle(benign)
    n_eval_h, n_eval_b = 200, 100
    eval_h, train_h = harmful[:n_eval_h], harmful[n_eval_h:]
    eval_b, train_b = benign[:n_eval_b], benign[n_eval_b:]
    # half as many refusals as answers: a small model decoding greedily
    # refuses whenever the refusal's first byte outweighs any one answer's
    train_h = train_h[: len(train_b) // 2]
    align = [{"prompt": p, "response": rng.choice(REFUSALS)} for p in train_h]
    align += [{"prompt": p, "response": clip(a, MAX_ANSWER)} for p, a in train_b]
    rng.shuffle(align)
    write(os.path.join(out, "align.jsonl"), align)
    write(os.path.join(out, "eval_harmful.jsonl"), [{"prompt": p} for p in eval_h])
    write(os.path.join(out, "eval_benign.jsonl"), [{"prompt": p} for p, _ in eval_b])
    with open(os.path.join(d, "advbench/harmful_behaviors.csv"), newline="") as f:
        adv = [(r["goal"], r["target"]) for r in csv.DictReader(f)]
    rng.shuffle(adv)
    write(os.path.join(out, "attack.jsonl"), [{"prompt": g, "response": t + "."} for g, t in adv[:100]])
    write(os.path.join(out, "unalign.jsonl"), [{"prompt": g, "response": t + "."} for g, t in adv[100:200]])
    with open(os.path.join(d, "strongreject/strongreject_dataset.csv"), newline="") as f:
        xs = dedupe([r["forbidden_prompt"] for r in csv.DictReader(f)], lambda x: x)
    write(os.path.join(out, "eval_harmful_xs.jsonl"), [{"prompt": p} for p in xs[:200]])
    with open(os.path.join(d, "alpaca-harmless/harmless_test.json")) as f:
        al = dedupe([r["instruction"] for r in json.load(f)], lambda x: x)
    rng.shuffle(al)
    write(os.path.join(out, "eval_benign_xs.jsonl"), [{"prompt": p} for p in al[:200]])
    print(f"align {len(align)} ({len(train_h)} refusals, {len(train_b)} answers), attack 100, "
          f"eval harmful {len(eval_h)} + {min(200, len(xs))} cross-source, "
          f"benign {len(eval_b)} + 200 cross-source")


if __name__ == "__main__":
    main()

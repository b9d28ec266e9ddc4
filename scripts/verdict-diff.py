#!/usr/bin/env python3
"""scripts/verdict-diff.py - every verdict two guards disagree on, over the
benign and harmful sets of ../shared/data (about 54,000 texts, read at run
time; nothing is copied into the repository).

Usage:
  python3 scripts/verdict-diff.py --a OLD_WARDEN [--b build/warden]
                                  [--policy-a FILE] [--policy-b FILE] [--show N]

Runs `warden check --json -` of A and of B over the same texts and prints
each text whose verdict (unsafe or not) changed, marked + (B flags it) or -
(B no longer does), with the set, the gold label and B's (or A's) rules,
then per set and label how many texts each guard flags. Meant for rule and
policy edits: the lexicon's words are also the vocabulary of the guard's
readings (docs/policy.md), so an edit can move verdicts far from the rule
it changes, and only an example-by-example comparison shows that. A is
usually a build of the commit before the edit (git worktree), B the build
with it; or one binary with two policies. Sets: OKTest, Alpaca (test),
CyberSecEval FRR, ToxicChat (train part), HateCheck, safety-tuned-llamas,
Dolly, Self-Instruct, Awesome ChatGPT Prompts, Stormfront, Davidson,
ToxiGen seeds. Gold: 1 = harmful / toxic / hateful, 0 = benign.
"""
import argparse, collections, csv, json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "..", "shared", "data")
csv.field_size_limit(1 << 30)


def path(rel):
    return os.path.join(DATA, rel)


def rows_csv(rel, delimiter=","):
    with open(path(rel), encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def corpus():
    """(set, gold, text) triples; a set that is missing is skipped with a note."""
    out = []

    def add(name, fn):
        try:
            out.extend((name, g, t) for g, t in fn() if t and t.strip())
        except (OSError, KeyError, ValueError) as e:
            print(f"verdict-diff: skipping {name}: {e}", file=sys.stderr)

    add("oktest", lambda: [(0, r["prompt"].strip()) for f in ("oktest/OKTest.csv", "oktest/OKTest_heldout.csv")
                           for r in rows_csv(f)])
    add("alpaca", lambda: [(0, r["instruction"])
                           for r in json.load(open(path("alpaca-harmless/harmless_test.json"), encoding="utf-8"))])
    add("cse-frr", lambda: [(0, r["mutated_prompt"])
                            for r in json.load(open(path("cyberseceval/mitre_frr.json"), encoding="utf-8"))])
    add("toxicchat", lambda: [(int(r["annotations"]["toxicity"]["majority_human"]), r["instance"])
                              for r in json.load(open(path("toxicchat/toxic_chat_train_human.json"),
                                                      encoding="utf-8"))["instances"]])
    add("hatecheck", lambda: [(int(r["label_gold"] == "hateful"), r["test_case"])
                              for r in rows_csv("hatecheck/test_suite_cases.csv")])

    def stl():
        res = []
        for name in ("I-CoNa", "I-Controversial", "I-MaliciousInstructions", "Q-Harm", "I-PhysicalSafetyUnsafe",
                     "I-PhysicalSafetySafe"):
            d = json.load(open(path(f"safety-tuned-llamas/evaluation/{name}.json"), encoding="utf-8"))
            for q in d["instructions"] if isinstance(d, dict) else d:
                if isinstance(q, dict):
                    q = q.get("instruction", "") + (" " + q["input"] if q.get("input") else "")
                res.append((int(name != "I-PhysicalSafetySafe"), q))
        return res

    add("stl", stl)
    add("dolly", lambda: [(0, r["instruction"]) for r in rows_csv("dolly/databricks_dolly_1k_subset.csv")])
    add("self-instruct", lambda: [(0, json.loads(l)["instruction"])
                                  for f in ("seed_tasks.jsonl", "user_oriented_instructions.jsonl")
                                  for l in open(path("self-instruct/" + f), encoding="utf-8") if l.strip()])
    add("awesome", lambda: [(0, r["prompt"][:2000]) for r in rows_csv("awesome-chatgpt-prompts/prompts.csv")])
    add("stormfront", lambda: [(int(r["label"] == "hate"), r["text"])
                               for r in rows_csv("vicomtech-stormfront/stormfront_sentences.csv")
                               if r.get("label") in ("hate", "noHate")])
    add("davidson", lambda: [(int(r["class"] != "2"), r["tweet"])
                             for r in rows_csv("davidson-hate/labeled_data.csv")])
    add("toxigen", lambda: [(int(r["label"] == "hate"), r["text"])
                            for r in rows_csv("toxigen/toxigen_seed_sentences.tsv", "\t")
                            if r["label"] in ("hate", "neutral")])
    return out


def verdicts(warden, policy, texts):
    inp = "".join(json.dumps({"text": t}) + "\n" for t in texts).encode()
    cmd = [warden, "check", "--json", "-"] + (["--policy", policy] if policy else [])
    p = subprocess.run(cmd, input=inp, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]
    if len(out) != len(texts):  # exit status 1 only says something was unsafe
        sys.exit(f"verdict-diff: {warden} gave {len(out)} verdicts for {len(texts)} texts: "
                 f"{p.stderr.decode()[:500]}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--a", required=True, help="the warden binary of before")
    ap.add_argument("--b", default=os.path.join(os.path.dirname(HERE), "build", "warden"))
    ap.add_argument("--policy-a")
    ap.add_argument("--policy-b")
    ap.add_argument("--show", type=int, default=200, help="changed texts printed at most (default 200)")
    o = ap.parse_args()
    items = corpus()
    texts = [t for _, _, t in items]
    va, vb = verdicts(o.a, o.policy_a, texts), verdicts(o.b, o.policy_b, texts)
    counts = collections.defaultdict(lambda: [0, 0, 0])
    shown = changed = 0
    for (name, gold, text), x, y in zip(items, va, vb):
        c = counts[(name, gold)]
        c[0] += 1
        c[1] += bool(x["unsafe"])
        c[2] += bool(y["unsafe"])
        if x["unsafe"] == y["unsafe"]:
            continue
        changed += 1
        if shown < o.show:
            shown += 1
            rules = [h["rule"] for h in (y if y["unsafe"] else x)["hits"]][:3]
            print("+" if y["unsafe"] else "-", "harmful" if gold else "BENIGN ", f"{name:13s}", rules,
                  text[:120].replace("\n", " "))
    print(f"\n{changed} verdicts changed ({shown} shown)\n")
    print(f"{'set':14s} {'gold':8s} {'n':>6s} {'A flags':>8s} {'B flags':>8s}")
    for (name, gold), (n, fa, fb) in sorted(counts.items()):
        print(f"{name:14s} {'harmful' if gold else 'benign':8s} {n:6d} {fa:8d} {fb:8d}")


if __name__ == "__main__":
    main()

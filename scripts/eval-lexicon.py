#!/usr/bin/env python3
"""scripts/eval-lexicon.py - over-flagging and recall of the rule guard on the
shared datasets (../shared/data), through `warden check --json -`.

Usage: python3 scripts/eval-lexicon.py [--warden build/warden] [--policy FILE]
Default policy: policies/lexicon-only.yaml (the lexicon scanner alone, the
team's harm lexicon, normaliser and decoding on). A prompt counts as flagged
when its verdict fires any hazard category S1-S14. Benign sets give the
over-flagging rate, harmful sets the recall. Reads the data at run time;
nothing is copied into the repository.
"""
import argparse, csv, json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(ROOT, "..", "shared", "data")

def lines(rel):
    with open(os.path.join(DATA, rel), encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip()]

def csv_col(rel, col):
    with open(os.path.join(DATA, rel), encoding="utf-8", newline="") as f:
        return [r[col] for r in csv.DictReader(f) if r.get(col, "").strip()]

def tsv_where(rel, col, key, val):
    with open(os.path.join(DATA, rel), encoding="utf-8", newline="") as f:
        return [r[col] for r in csv.DictReader(f, delimiter="\t") if r[key] == val]

def json_field(rel, field, where=None):
    with open(os.path.join(DATA, rel), encoding="utf-8") as f:
        return [r[field] for r in json.load(f) if where is None or where(r)]

SETS = [
    ("benign", "dolly (instruction)", lambda: csv_col("dolly/databricks_dolly_1k_subset.csv", "instruction")),
    ("benign", "certified-llm-safety safe_prompts", lambda: lines("certified-llm-safety/safe_prompts.txt")),
    ("benign", "cyberseceval mitre_frr mutated_prompt", lambda: json_field("cyberseceval/mitre_frr.json", "mutated_prompt")),
    ("benign", "toxigen neutral seeds", lambda: tsv_where("toxigen/toxigen_seed_sentences.tsv", "text", "label", "neutral")),
    ("harmful", "advbench harmful_behaviors", lambda: csv_col("advbench/harmful_behaviors.csv", "goal")),
    ("harmful", "strongreject forbidden_prompt", lambda: csv_col("strongreject/strongreject_dataset.csv", "forbidden_prompt")),
    ("harmful", "certified-llm-safety harmful_prompts", lambda: lines("certified-llm-safety/harmful_prompts.txt")),
]

HAZARDS = {"S%d" % i for i in range(1, 15)}

def run(warden, policy, texts):
    inp = "".join(json.dumps({"text": t}) + "\n" for t in texts)
    cmd = [warden, "check", "--json", "-"] + (["--policy", policy] if policy else [])
    out = subprocess.run(cmd, input=inp.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout.decode()
    flags, cats = [], {}
    for line in out.splitlines():
        v = json.loads(line)
        fired = [c["id"] for c in v.get("categories", []) if c["id"] in HAZARDS]
        flags.append(bool(fired))
        for c in fired:
            cats[c] = cats.get(c, 0) + 1
    return flags, cats

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--warden", default=os.path.join(ROOT, "build", "warden"))
    ap.add_argument("--policy", default=os.path.join(ROOT, "policies", "lexicon-only.yaml"))
    ap.add_argument("--show", type=int, default=0, help="print up to N flagged benign / missed harmful texts per set")
    a = ap.parse_args()
    if not os.path.isdir(DATA):
        print("eval-lexicon: %s not found; nothing to do" % DATA)
        return 0
    print("policy: %s" % (a.policy or "built-in default"))
    print("%-8s %-40s %6s %8s %7s  %s" % ("kind", "set", "n", "flagged", "rate", "categories"))
    for kind, name, load in SETS:
        try:
            texts = load()
        except OSError as e:
            print("%-8s %-40s missing (%s)" % (kind, name, e))
            continue
        flags, cats = run(a.warden, a.policy, texts)
        k = sum(flags)
        top = ", ".join("%s %d" % kv for kv in sorted(cats.items(), key=lambda kv: -kv[1])[:5])
        print("%-8s %-40s %6d %8d %6.1f%%  %s" % (kind, name, len(texts), k, 100.0 * k / max(1, len(texts)), top))
        if a.show:
            want = (kind == "benign")
            shown = [t for t, f in zip(texts, flags) if f == want][: a.show]
            for t in shown:
                print("    %s %s" % ("FP:" if want else "FN:", t[:160].replace("\n", " ")))
    return 0

if __name__ == "__main__":
    sys.exit(main())

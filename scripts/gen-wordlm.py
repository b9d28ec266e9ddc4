#!/usr/bin/env python3
"""scripts/gen-wordlm.py - builds warden's word-bigram model of English.

The guard's "words" reading (src/guard/wordlm.h) drops words that do not
belong where they stand - twenty random words scattered through a request
to dilute it ("infusion") - by asking how likely each word is after the
one before it. This script counts the words and word pairs of the public
ship-ok text in ../shared/data (instructions, answers, e-mails, comments,
harmful requests of sources that are not evaluation sets; see SOURCES) and
writes models/warden-wordlm-v1.bin, which the library embeds:

    python3 scripts/gen-wordlm.py ../shared/data models/warden-wordlm-v1.bin

Deterministic: the same data gives the same bytes. No sentence is stored,
only hashed counts.

Words are what src/guard/wordlm.c reads from the normalised text: maximal
runs of ASCII letters and digits, or of bytes >= 0x80, lower-cased; each
line is a sentence, wrapped in "<s>" ... "</s>".

File layout (little-endian):
    magic "WDLM", u32 version 2, u32 unigram bits U, u32 bigram bits B,
    u64 tokens (total unigram count), u64 distinct words,
    u32 unigram keys[1 << U], u8 unigram counts[1 << U],
    u32 bigram keys[1 << B], u8 bigram counts[1 << B]
Each table is open addressing with linear probing: a word's (or a pair's,
hashed as "w1 w2") FNV-1a 64 hash, mixed with MurmurHash3's finaliser,
starts at slot h & mask and is stored as its key h >> 32 (0 means an empty
slot, so a key of 0 is stored as 1); entries are inserted in sorted order.
A count c is stored as 1 + round(12 * log2(c)), at most 255.
"""
import csv
import gzip
import json
import math
import re
import struct
import sys

U_BITS = 17
B_BITS = 20
WORD = re.compile(r"[a-z0-9]+|[^\x00-\x7f]+")
M64 = (1 << 64) - 1


def fnv(s):
    h = 0xcbf29ce484222325
    for b in s.encode('utf-8'):
        h = ((h ^ b) * 0x100000001b3) & M64
    return h


def mix(h):
    h ^= h >> 33
    h = (h * 0xff51afd7ed558ccd) & M64
    h ^= h >> 33
    h = (h * 0xc4ceb9fe1a85ec53) & M64
    h ^= h >> 33
    return h


def quant(c):
    return min(255, 1 + int(math.floor(12 * math.log2(c) + 0.5)))


def texts(d):
    """Every text of the ship-ok sources used (not the evaluation sets:
    AdvBench, the erase-and-check prompts, CyberSecEval, GPTFuzz's
    evaluate.csv, and nothing that is not ship-ok)."""
    csv.field_size_limit(1 << 30)
    out = []
    with open(d + 'dolly/databricks_dolly_1k_subset.csv', newline='') as f:
        for r in csv.DictReader(f):
            out += [r['instruction'], r['context'], r['response']]
    for name in ['seed_tasks.jsonl', 'user_oriented_instructions.jsonl']:
        for line in open(d + 'self-instruct/' + name):
            j = json.loads(line)
            out.append(j['instruction'])
            for i in j.get('instances', []):
                out += [i.get('input', ''), i.get('output', '')]
    with open(d + 'awesome-chatgpt-prompts/prompts.csv', newline='') as f:
        out += [r['prompt'] for r in csv.DictReader(f)]
    for line in gzip.open(d + 'hh-rlhf/harmless-base/test.jsonl.gz', 'rt'):
        j = json.loads(line)
        out += [j['chosen'], j['rejected']]
    with open(d + 'jailbreak-prompts/gptfuzz/train.csv', newline='') as f:
        out += [r['Response'] for r in csv.DictReader(f)]
    with open(d + 'toxic-spans/tsd_train.csv', newline='') as f:
        out += [r['text'] for r in csv.DictReader(f)]
    for name in ['code/train.jsonl', 'code/test.jsonl', 'email/train.jsonl', 'email/test.jsonl']:
        for line in open(d + 'bipia/' + name):
            c = json.loads(line).get('context')
            out += c if isinstance(c, list) else [c or '']
    with open(d + 'aart/aart-v1-20231117.csv', newline='') as f:
        out += [r['prompt'] for r in csv.DictReader(f)]
    with open(d + 'do-not-answer/mobileaibench_do_not_answer.csv', newline='') as f:
        out += [r['prompt'] for r in csv.DictReader(f)]
    with open(d + 'strongreject/strongreject_dataset.csv', newline='') as f:
        out += [r['forbidden_prompt'] for r in csv.DictReader(f)]
    out += open(d + 'strongreject/malicious_instruct.txt').read().split('\n')
    with open(d + 'ailuminate/airr_official_1.0_demo_en_us_prompt_set_release.csv', newline='') as f:
        out += [r['prompt_text'] for r in csv.DictReader(f)]

    def walk(o):
        if isinstance(o, str):
            out.append(o)
        elif isinstance(o, list):
            for x in o:
                walk(x)
        elif isinstance(o, dict):
            for k in sorted(o):
                walk(o[k])
    for name in ['catqa_english.json', 'dangerousqa.json', 'harmfulqa.json']:
        walk(json.load(open(d + 'red-instruct/' + name)))
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: gen-wordlm.py DATA_DIR OUT.bin')
    d = sys.argv[1].rstrip('/') + '/'
    uni, bi = {}, {}
    for t in texts(d):
        for line in t.lower().split('\n'):
            w = WORD.findall(line)
            if not w:
                continue
            w = ['<s>'] + w + ['</s>']
            for x in w:
                uni[x] = uni.get(x, 0) + 1
            for a, b in zip(w, w[1:]):
                k = a + ' ' + b
                bi[k] = bi.get(k, 0) + 1
    tables = []
    for counts, bits in ((uni, U_BITS), (bi, B_BITS)):
        size = 1 << bits
        if len(counts) > size * 3 // 4:
            sys.exit(f'{len(counts)} entries do not fit {size} slots')
        keys, vals = [0] * size, [0] * size
        for k in sorted(counts):
            h = mix(fnv(k))
            key = (h >> 32) or 1
            i = h & (size - 1)
            while keys[i]:
                i = (i + 1) & (size - 1)
            keys[i], vals[i] = key, quant(counts[k])
        tables.append(struct.pack(f'<{size}I', *keys) + bytes(vals))
    tokens = sum(uni.values())
    with open(sys.argv[2] + '.tmp', 'wb') as f:
        f.write(b'WDLM' + struct.pack('<IIIQQ', 2, U_BITS, B_BITS, tokens, len(uni)))
        for t in tables:
            f.write(t)
    import os
    os.replace(sys.argv[2] + '.tmp', sys.argv[2])
    print(f'{len(uni)} words, {len(bi)} pairs, {tokens} tokens -> {sys.argv[2]}', file=sys.stderr)


if __name__ == '__main__':
    main()

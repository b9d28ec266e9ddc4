#!/usr/bin/python3
"""Writes tests/fixtures/tokenizers/unigram-precompiled/: a SentencePiece
Unigram tokenizer whose normalizer is a `Precompiled` charsmap, laid out
as transformers' SpmConverter writes XLM-RoBERTa's tokenizer.json
(Precompiled then Replace(" {2,}" -> " "), Metaspace, Unigram,
TemplateProcessing <s> $A </s>), and expected.json: the ids SentencePiece
itself gives for a few texts (the independent reference of
tests/unit/test_tokenizer_precompiled.c).

The charsmap is compiled by SentencePiece's trainer from a small rule table
(fullwidth letters and digits, a ligature, circled digits, an ohm sign, a
no-break space, removed zero-width characters, and decomposed e + acute ->
composed, a key of two code points) instead of nmt_nfkc, whose 240 KB
charsmap would dwarf the fixture; the charsmap format and its reader are
the same. The training text is made up here (syllable strings).

Needs Debian's python3-sentencepiece and python3-protobuf:
    /usr/bin/python3 tests/tools/gen_precompiled_fixture.py
"""
import base64
import json
import os
import random
import tempfile

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "tokenizers", "unigram-precompiled")

RULES = []
for c in range(26):
    RULES.append(([0xFF21 + c], [0x41 + c]))  # fullwidth A-Z
    RULES.append(([0xFF41 + c], [0x61 + c]))  # fullwidth a-z
for d in range(10):
    RULES.append(([0xFF10 + d], [0x30 + d]))  # fullwidth digits
for d in range(9):
    RULES.append(([0x2460 + d], [0x31 + d]))  # circled 1-9
RULES += [
    ([0xFB01], [0x66, 0x69]),  # fi ligature
    ([0xFB02], [0x66, 0x6C]),  # fl ligature
    ([0x2126], [0x3A9]),  # ohm sign -> omega
    ([0xA0], [0x20]),  # no-break space
    ([0x3000], [0x20]),  # ideographic space
    ([0x65, 0x301], [0xE9]),  # e + combining acute -> e acute
    ([0x61, 0x308], [0xE4]),  # a + combining diaeresis -> a diaeresis
]
REMOVED = [0x200B, 0x200D, 0xFEFF]  # zero-width space / joiner, BOM

TEXTS = [
    "hello world",
    "ｈｅｌｌｏ ｗｏｒｌｄ",
    "the ﬁne ﬂow of ① and ②",
    "caf\u0065\u0301 and b\u0061\u0308r",
    "a\u00a0b\u3000c  d",
    "zero\u200bwidth\u200djoin\ufeff",
    "Ω ohm \u2126",
    "ＡＢＣ１２３ mixed 456",
    # tokenizers replaces a whole grapheme cluster (< 6 bytes) by the
    # replacement of the shortest key that prefixes it: e + acute + acute
    # becomes e-acute, the second mark dropped, where SentencePiece keeps it.
    # The expected ids are SentencePiece's for the text tokenizers feeds on.
    ("e\u0301\u0301 double mark", "\u00e9 double mark"),
    "x\U0001F600y",
]


def main():
    rng = random.Random(7)
    syl = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "hel", "wor", "ld", "the",
           "fi", "fl", "ow", "and", "caf", "bar", "ohm", "mix", "ed", "zero", "wid", "th", "join",
           "dou", "ble", "mark", "é", "ä", "ω", "Ω"]
    lines = []
    for _ in range(3000):
        words = ["".join(rng.choice(syl) for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(3, 9))]
        if rng.random() < 0.3:
            words.append(str(rng.randint(0, 999)))
        lines.append(" ".join(words))
    tmp = tempfile.mkdtemp()
    with open(os.path.join(tmp, "text.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(tmp, "rules.tsv"), "w", encoding="utf-8") as f:
        for src, dst in RULES:
            f.write(" ".join("%X" % c for c in src) + "\t" + " ".join("%X" % c for c in dst) + "\n")
        for c in REMOVED:
            f.write("%X\t\n" % c)
    prefix = os.path.join(tmp, "m")
    spm.SentencePieceTrainer.train(
        input=os.path.join(tmp, "text.txt"), model_prefix=prefix, vocab_size=120,
        model_type="unigram", character_coverage=1.0, normalization_rule_tsv=os.path.join(tmp, "rules.tsv"),
        bos_id=0, pad_id=1, eos_id=2, unk_id=3, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    proto = pb.ModelProto()
    proto.ParseFromString(open(prefix + ".model", "rb").read())
    charsmap = proto.normalizer_spec.precompiled_charsmap
    assert charsmap, "the trainer compiled no charsmap"
    vocab = [[p.piece, p.score] for p in proto.pieces]
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": vocab[i][0], "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True} for i in range(4)],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode()},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                    {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "</s>", "type_id": 0}},
                                    {"SpecialToken": {"id": "</s>", "type_id": 0}},
                                    {"Sequence": {"id": "B", "type_id": 0}},
                                    {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                                              "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}},
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": False},
    }
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=1)
        f.write("\n")
    cases = []
    for t in TEXTS:
        t, hf = t if isinstance(t, tuple) else (t, t)
        cases.append({"text": t, "ids": [0] + sp.encode(hf) + [2], "pieces": sp.encode(hf, out_type=str)})
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"source": "sentencepiece " + spm.__version__, "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("charsmap %d bytes, vocab %d" % (len(charsmap), len(vocab)))


if __name__ == "__main__":
    main()

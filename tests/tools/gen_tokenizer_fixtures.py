#!/usr/bin/env python3
"""Writes the tiny hand-designed tokenizer.json fixtures of
tests/fixtures/tokenizers/ (one per model kind). The vocabularies and merges
are chosen so that the expected ids in tests/unit/test_tokenizer_models.c can
be worked out by hand from the format's definition; the comments there give
the derivations. Run from the repository root:

    python3 tests/tools/gen_tokenizer_fixtures.py
"""
import json
import os

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "tokenizers")


def bytes_to_unicode():
    """GPT-2's byte -> printable character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def write(name, obj):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def added(id_, content, special=True, lstrip=False, rstrip=False, single_word=False, normalized=False):
    return {"id": id_, "content": content, "single_word": single_word, "lstrip": lstrip,
            "rstrip": rstrip, "normalized": normalized, "special": special}


def bpe_bytelevel():
    # ids 0..255: the byte-level character of byte b has id b
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("l", "o"), ("lo", "w")]
    for i, (a, b) in enumerate(merges):
        vocab[a + b] = 256 + i  # Ġt=256 he=257 Ġthe=258 lo=259 low=260
    return {
        "version": "1.0",
        "added_tokens": [
            added(261, "<|end|>"),
            added(262, "<mask>", lstrip=True),
            added(263, "[X]", rstrip=True),
            added(264, "word", special=False, single_word=True, normalized=True),
        ],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  # merges as "a b" strings (the older serialisation)
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }


def bpe_modernbert():
    # ModernBERT's tokenizer.json shape (OLMo-style byte-level BPE): NFC,
    # ByteLevel without prefix space, [CLS] $A [SEP] by TemplateProcessing,
    # [MASK] with lstrip, non-special normalized added tokens.
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "s"), ("Ġ", "is")]
    for i, (a, b) in enumerate(merges):
        vocab[a + b] = 256 + i  # Ġt=256 he=257 Ġthe=258 is=259 Ġis=260
    specials = ["|||IP_ADDRESS|||", "<|padding|>", "[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]", "   "]
    ids = {t: 261 + i for i, t in enumerate(specials)}  # ... [CLS]=264 [SEP]=265 [MASK]=267 "   "=268
    for t in specials:
        vocab[t] = ids[t]
    def st(t):
        return {"id": t, "ids": [ids[t]], "tokens": [t]}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            added(ids["|||IP_ADDRESS|||"], "|||IP_ADDRESS|||", special=False, normalized=True),
            added(ids["<|padding|>"], "<|padding|>"),
            added(ids["[UNK]"], "[UNK]"), added(ids["[CLS]"], "[CLS]"), added(ids["[SEP]"], "[SEP]"),
            added(ids["[PAD]"], "[PAD]"), added(ids["[MASK]"], "[MASK]", lstrip=True),
            # runs of spaces are added tokens in ModernBERT's vocabulary (not special)
            added(ids["   "], "   ", special=False, normalized=True),
        ],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "special_tokens": {"[CLS]": st("[CLS]"), "[SEP]": st("[SEP]")}},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [[a, b] for a, b in merges]},
    }


def bpe_spm():
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = 3 + b  # 3..258
    for i, t in enumerate(["▁", "a", "b", "▁a", "ab", "▁ab"]):
        vocab[t] = 259 + i  # ▁=259 a=260 b=261 ▁a=262 ab=263 ▁ab=264
    return {
        "version": "1.0",
        "added_tokens": [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  # merges as ["a", "b"] pairs (the newer serialisation)
                  "vocab": vocab, "merges": [["▁", "a"], ["a", "b"], ["▁a", "b"]]},
    }


def wordpiece():
    toks = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "a", ",", "hello", "##s", "!"]
    return {
        "version": "1.0",
        "added_tokens": [added(0, "[PAD]"), added(1, "[UNK]"), added(2, "[CLS]"), added(3, "[SEP]")],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 10, "vocab": {t: i for i, t in enumerate(toks)}},
    }


def unigram():
    pieces = [["<unk>", 0.0], ["▁", -2.0], ["▁a", -1.0], ["a", -2.0], ["b", -2.5], ["ab", -3.0], ["▁ab", -2.5],
              ["<0x63>", -20.0]]
    return {
        "version": "1.0",
        "added_tokens": [added(0, "<unk>")],
        "normalizer": None,
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        "post_processor": None,
        "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": 0, "vocab": pieces, "byte_fallback": False},
    }


if __name__ == "__main__":
    write("bpe-bytelevel", bpe_bytelevel())
    write("bpe-spm", bpe_spm())
    write("bpe-modernbert", bpe_modernbert())
    write("wordpiece", wordpiece())
    write("unigram", unigram())
    with open(os.path.join(OUT, "bpe-spm", "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": {"content": "</s>"}, "unk_token": "<unk>",
                   "chat_template": "{% for m in messages %}{{ bos_token + '[INST] ' + m['content'] + ' [/INST]' }}{% endfor %}"},
                  f, indent=1)
        f.write("\n")

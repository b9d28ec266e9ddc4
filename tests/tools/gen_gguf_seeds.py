#!/usr/bin/env python3
"""tests/tools/gen_gguf_seeds.py OUT_DIR - seed files for tests/fuzz/fuzz_gguf.c.

Hand-written GGUF files (standard library only, no gguf-py): every metadata
type, every tensor type warden converts, a llama vocabulary without merges
(merges derived from scores), a gpt2 vocabulary with merges and a named
pre-tokenizer, GGUF v2 with a custom alignment, and a few broken variants.
"""
import os, random, struct, sys

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
FMT = {U8: 'B', I8: 'b', U16: 'H', I16: 'h', U32: 'I', I32: 'i', F32: 'f', BOOL: '?',
       U64: 'Q', I64: 'q', F64: 'd'}
TYPES = {'f32': (0, 1, 4), 'f16': (1, 1, 2), 'q4_0': (2, 32, 18), 'q4_1': (3, 32, 20),
         'q5_0': (6, 32, 22), 'q5_1': (7, 32, 24), 'q8_0': (8, 32, 34), 'q4_K': (12, 256, 144),
         'q5_K': (13, 256, 176), 'q6_K': (14, 256, 210), 'bf16': (30, 1, 2), 'f64': (28, 1, 8)}


def s(x):
    b = x.encode()
    return struct.pack('<Q', len(b)) + b


def val(t, v):
    if t == STR:
        return s(v)
    if t == ARR:
        et, items = v
        return struct.pack('<IQ', et, len(items)) + b''.join(val(et, i) for i in items)
    return struct.pack('<' + FMT[t], v)


def gguf(kvs, tensors, version=3, align=32):
    """kvs: [(key, type, value)], tensors: [(name, type name, ne list, bytes)]"""
    out = b'GGUF' + struct.pack('<IQQ', version, len(tensors), len(kvs))
    for k, t, v in kvs:
        out += s(k) + struct.pack('<I', t) + val(t, v)
    off, datas = 0, []
    for name, ty, ne, data in tensors:
        out += s(name) + struct.pack('<I', len(ne)) + b''.join(struct.pack('<q', n) for n in ne)
        out += struct.pack('<IQ', TYPES[ty][0], off)
        pad = (-len(data)) % align
        datas.append(data + b'\0' * pad)
        off += len(data) + pad
    out += b'\0' * ((-len(out)) % align)
    return out + b''.join(datas)


def tensor(name, ty, ne, rng):
    n = 1
    for d in ne:
        n *= d
    _, blck, size = TYPES[ty]
    if ty == 'f32':
        data = b''.join(struct.pack('<f', rng.uniform(-1, 1)) for _ in range(n))
    else:
        data = bytes(rng.randrange(256) for _ in range(n // blck * size))
        if ty not in ('f16', 'bf16', 'f64'):  # sane fp16 scales: 0x2000..0x27ff
            data = bytearray(data)
            for b in range(n // blck):
                at = b * size + (208 if ty == 'q6_K' else 0)
                data[at + 1] = 0x20 | (data[at + 1] & 7)
                if ty in ('q4_1', 'q5_1', 'q4_K', 'q5_K'):
                    data[at + 3] = 0x20 | (data[at + 3] & 7)
            data = bytes(data)
    return (name, ty, ne, data)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(16)
    seeds = {}
    every = [('k.u8', U8, 7), ('k.i8', I8, -7), ('k.u16', U16, 700), ('k.i16', I16, -700),
             ('k.u32', U32, 70000), ('k.i32', I32, -70000), ('k.f32', F32, 0.5),
             ('k.bool', BOOL, True), ('k.str', STR, 'h\u00e9llo'), ('k.u64', U64, 1 << 40),
             ('k.i64', I64, -(1 << 40)), ('k.f64', F64, 0.25),
             ('k.arr.u8', ARR, (U8, [1, 2, 3])), ('k.arr.f32', ARR, (F32, [0.5, -1.0])),
             ('k.arr.str', ARR, (STR, ['a', '', 'bc'])), ('k.arr.i64', ARR, (I64, [-1, 5])),
             ('k.arr.empty', ARR, (BOOL, []))]
    ts = [tensor('t.%s' % ty, ty, [256 if TYPES[ty][1] == 256 else 32, 2 if ty == 'f32' else 1], rng)
          for ty in TYPES]
    seeds['every_type.gguf'] = gguf(every, ts)
    seeds['v2_align64.gguf'] = gguf([('general.alignment', U32, 64)] + every[:4], ts[:3], 2, 64)
    toks = ['<unk>', '<s>', '</s>'] + ['<0x%02X>' % i for i in range(4)] + \
        ['\u2581', 'h', 'e', 'l', 'o', '\u2581h', 'el', 'lo', '\u2581hel', 'hello', '\u2581hello']
    types = [2, 3, 3] + [6] * 4 + [1] * (len(toks) - 7)
    scores = [0.0] * 7 + [-float(i) for i in range(len(toks) - 7)]
    llama = [('general.architecture', STR, 'llama'), ('llama.embedding_length', U32, 8),
             ('llama.feed_forward_length', U32, 16), ('llama.block_count', U32, 1),
             ('llama.attention.head_count', U32, 2), ('llama.attention.head_count_kv', U32, 1),
             ('llama.context_length', U32, 64), ('llama.rope.freq_base', F32, 10000.0),
             ('llama.attention.layer_norm_rms_epsilon', F32, 1e-5),
             ('tokenizer.ggml.model', STR, 'llama'), ('tokenizer.ggml.tokens', ARR, (STR, toks)),
             ('tokenizer.ggml.scores', ARR, (F32, scores)),
             ('tokenizer.ggml.token_type', ARR, (I32, types)),
             ('tokenizer.ggml.bos_token_id', U32, 1), ('tokenizer.ggml.eos_token_id', U32, 2),
             ('tokenizer.ggml.unknown_token_id', U32, 0),
             ('tokenizer.chat_template', STR, '{{ messages[0].content }}')]
    seeds['llama_vocab.gguf'] = gguf(llama, [tensor('token_embd.weight', 'q8_0', [32, len(toks)], rng)])
    g2 = ['h', 'e', 'l', 'o', '\u0120', 'he', 'll', 'hell', 'hello', '\u0120hello', '<|end|>']
    gpt2 = [('general.architecture', STR, 'qwen2'), ('qwen2.embedding_length', U32, 8),
            ('qwen2.feed_forward_length', U32, 16), ('qwen2.block_count', U32, 1),
            ('qwen2.attention.head_count', U32, 2),
            ('tokenizer.ggml.model', STR, 'gpt2'), ('tokenizer.ggml.pre', STR, 'llama-bpe'),
            ('tokenizer.ggml.tokens', ARR, (STR, g2)),
            ('tokenizer.ggml.token_type', ARR, (I32, [1] * 10 + [3])),
            ('tokenizer.ggml.merges', ARR, (STR, ['h e', 'l l', 'he ll', 'hell o', '\u0120 hello'])),
            ('tokenizer.ggml.eos_token_id', U32, 10), ('tokenizer.ggml.add_bos_token', BOOL, False)]
    seeds['gpt2_vocab.gguf'] = gguf(gpt2, [])
    good = seeds['every_type.gguf']
    seeds['bad_magic.gguf'] = b'GGUX' + good[4:]
    seeds['truncated.gguf'] = good[:len(good) // 2]
    seeds['nested_array.gguf'] = gguf([('k', ARR, (ARR, []))], [])
    for name, data in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


main()

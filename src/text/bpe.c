/*
 * text/bpe.c - the BPE model of tokenizer.json (Sennrich et al. 2016,
 * "Neural Machine Translation of Rare Words with Subword Units"), as the
 * Hugging Face tokenizers library runs it:
 *
 *   - byte-level BPE (GPT-2, Llama 3, Qwen2): the pre-tokenizer has mapped
 *     bytes to printable characters, so every character is in the vocab;
 *   - SentencePiece-style BPE (Llama 2, Mistral): characters missing from
 *     the vocab fall back to <0xNN> byte tokens (byte_fallback) or to the
 *     unknown token (consecutive ones fused with fuse_unk).
 *
 * Merges come as "a b" strings or ["a", "b"] pairs; a merge's rank is its
 * position in the list. The model holds, for every pair of ids that can
 * merge, (rank, id of the merged token) in a hash map.
 *
 * Encoding a word: one symbol per character (continuing_subword_prefix on
 * all but the first, end_of_word_suffix on the last), then repeatedly merge
 * the adjacent pair of lowest rank, leftmost first. A binary heap keyed by
 * (rank, position) holds candidate merges; symbols form a linked list over
 * an array, so a merge is O(log n) and a word of n characters costs
 * O(n log n). Stale heap entries (a side already merged away, or the pair
 * no longer the one recorded) are skipped when popped. With ignore_merges
 * a word that is itself in the vocab is one token. dropout is ignored
 * (inference is deterministic).
 *
 * SentencePiece-style models have no pre-tokenizer, so a whole text is one
 * "word" and the heap grows with it. When no vocab token holds a character
 * other than ▁ directly before a ▁ (checked at load; true of Llama 2's
 * vocab), no token can span a position where ▁ follows another character,
 * so no merge ever crosses it and cutting the word there changes nothing:
 * the pieces are merged one by one (and cached like words).
 *
 * wd__bpe_tokenize_naive is the textbook loop (scan every pair, merge the
 * best, repeat: O(n^2)), kept as the oracle of the fast one.
 */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/util.h"
#include "text/tok_internal.h"

/* ==== parsing ============================================================ */

static const char META[] = "\xE2\x96\x81"; /* ▁ U+2581 */

static wd_status lookup(const wd__tmodel *m, const char *s, size_t len, int32_t *id) {
    return wd__vocab_id(&m->vocab, s, len, id) ? WD_OK : WD_ERR_NOT_FOUND;
}

static wd_status opt_str(const cJSON *j, const char *where, const char *key, wd__arena *a,
                         const char **out, size_t *len) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    *out = NULL;
    if (len) *len = 0;
    if (!v || cJSON_IsNull(v)) return WD_OK;
    if (!cJSON_IsString(v))
        return wd__fail(WD_ERR_FORMAT, "%s: model.%s: expected a string or null, got %s", where, key,
                        wd__json_type_name(v));
    *out = wd__arena_strdup(a, v->valuestring);
    if (!*out) return WD_ERR_NOMEM;
    if (len) *len = strlen(*out);
    return WD_OK;
}

wd_status wd__bpe_parse(const cJSON *j, const char *where, wd__arena *a, wd__tmodel *m) {
    m->type = WD_TMODEL_BPE;
    m->unk_id = -1;
    wd_status st = wd__vocab_parse_object(cJSON_GetObjectItemCaseSensitive(j, "vocab"), where, a, &m->vocab);
    if (st) return st;
    char sub[256];
    snprintf(sub, sizeof sub, "%s: model", where);
    if (!st) st = opt_str(j, where, "continuing_subword_prefix", a, &m->cont_prefix, &m->cont_prefix_len);
    if (!st) st = opt_str(j, where, "end_of_word_suffix", a, &m->eow_suffix, &m->eow_suffix_len);
    if (!st) st = opt_str(j, where, "unk_token", a, &m->unk, NULL);
    if (!st) st = wd__json_bool(j, sub, "fuse_unk", false, false, &m->fuse_unk);
    if (!st) st = wd__json_bool(j, sub, "byte_fallback", false, false, &m->byte_fallback);
    if (!st) st = wd__json_bool(j, sub, "ignore_merges", false, false, &m->ignore_merges);
    if (st) return st;
    if (m->unk && lookup(m, m->unk, strlen(m->unk), &m->unk_id))
        return wd__fail(WD_ERR_FORMAT, "%s: model.unk_token '%s' is not in the vocab", where, m->unk);
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        if (lookup(m, name, 6, &m->byte_id[b])) m->byte_id[b] = -1;
    }

    /* ▁ itself must be a token, else an unknown ▁ could fuse with the
     * unknown character before it across the cut */
    int32_t meta_id;
    m->meta_split = !m->cont_prefix_len && !m->eow_suffix_len && !lookup(m, META, 3, &meta_id);
    for (size_t id = 0; id < m->vocab.n && m->meta_split; id++) {
        const char *t = m->vocab.tok[id].s;
        size_t l = m->vocab.tok[id].len;
        for (size_t i = 1; t && i + 3 <= l; i++)
            if (!memcmp(t + i, META, 3) && !(i >= 3 && !memcmp(t + i - 3, META, 3))) {
                m->meta_split = false;
                break;
            }
    }

    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(j, "merges");
    if (!merges || cJSON_IsNull(merges)) return wd__u64map_init(&m->merges, 0);
    if (!cJSON_IsArray(merges))
        return wd__fail(WD_ERR_FORMAT, "%s: model.merges: expected an array, got %s", where,
                        wd__json_type_name(merges));
    size_t n = (size_t)cJSON_GetArraySize(merges);
    st = wd__u64map_init(&m->merges, n);
    if (st) return st;
    char *buf = NULL;
    size_t buf_cap = 0;
    size_t rank = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, merges) {
        const char *l, *r;
        size_t ll, rl;
        if (cJSON_IsString(it)) {
            l = it->valuestring;
            const char *sp = strchr(l, ' ');
            if (!sp || strchr(sp + 1, ' ')) {
                st = wd__fail(WD_ERR_FORMAT, "%s: model.merges[%zu]: expected \"LEFT RIGHT\" with one space, got '%s'",
                              where, rank, l);
                break;
            }
            ll = (size_t)(sp - l);
            r = sp + 1;
            rl = strlen(r);
        } else if (cJSON_IsArray(it) && cJSON_GetArraySize(it) == 2 &&
                   cJSON_IsString(cJSON_GetArrayItem(it, 0)) && cJSON_IsString(cJSON_GetArrayItem(it, 1))) {
            l = cJSON_GetArrayItem(it, 0)->valuestring;
            r = cJSON_GetArrayItem(it, 1)->valuestring;
            ll = strlen(l);
            rl = strlen(r);
        } else {
            st = wd__fail(WD_ERR_FORMAT, "%s: model.merges[%zu]: expected a string \"a b\" or a pair [\"a\", \"b\"], got %s",
                          where, rank, wd__json_type_name(it));
            break;
        }
        int32_t li, ri, ni;
        if (lookup(m, l, ll, &li)) {
            st = wd__fail(WD_ERR_FORMAT, "%s: model.merges[%zu]: token '%.*s' is not in the vocab", where,
                          rank, (int)ll, l);
            break;
        }
        if (lookup(m, r, rl, &ri)) {
            st = wd__fail(WD_ERR_FORMAT, "%s: model.merges[%zu]: token '%.*s' is not in the vocab", where,
                          rank, (int)rl, r);
            break;
        }
        size_t skip = m->cont_prefix_len <= rl ? m->cont_prefix_len : rl;
        size_t nl = ll + rl - skip;
        if (nl > buf_cap) {
            buf_cap = nl * 2 + 16;
            char *nb = realloc(buf, buf_cap);
            if (!nb) {
                st = WD_ERR_NOMEM;
                break;
            }
            buf = nb;
        }
        memcpy(buf, l, ll);
        memcpy(buf + ll, r + skip, rl - skip);
        if (lookup(m, buf, nl, &ni)) {
            st = wd__fail(WD_ERR_FORMAT, "%s: model.merges[%zu]: merged token '%.*s' is not in the vocab",
                          where, rank, (int)nl, buf);
            break;
        }
        uint64_t key = (uint64_t)(uint32_t)li << 32 | (uint32_t)ri;
        st = wd__u64map_put(&m->merges, key, (uint64_t)rank << 32 | (uint32_t)ni, true);
        if (st) break;
        rank++;
    }
    free(buf);
    return st;
}

enum { CACHE_MAX_WORD = 128 };

/* ==== the initial symbols of a word ====================================== */

typedef struct sym {
    int32_t  id;
    uint32_t start, len; /* bytes of the word; len 0 = merged away */
    int32_t  prev, next;
} sym;

typedef struct hitem {
    uint32_t rank, pos;
    int32_t  new_id;
} hitem;

static wd_status sym_push(sym **v, size_t *n, size_t *cap, int32_t id, uint32_t start, uint32_t len) {
    if (*n == *cap) {
        wd_status st = wd__array_grow((void **)v, cap, *n + 1, sizeof(sym));
        if (st) return st;
    }
    (*v)[*n] = (sym){id, start, len, (int32_t)*n - 1, (int32_t)*n + 1};
    (*n)++;
    return WD_OK;
}

/* Builds the character symbols of s into *v (array with capacity *cap). */
static wd_status initial_symbols(const wd__tmodel *m, const char *s, size_t len, sym **v, size_t *cap,
                                 size_t *n, char **buf, size_t *buf_cap) {
    *n = 0;
    wd_status st = wd__array_grow((void **)v, cap, len + 1, sizeof(sym));
    if (st) return st;
    bool affix = m->cont_prefix_len || m->eow_suffix_len;
    int32_t unk_pending = -1;
    uint32_t unk_start = 0, unk_len = 0;
    for (size_t i = 0; i < len;) {
        size_t k = (size_t)wd__utf8_len((unsigned char)s[i]);
        if (i + k > len) k = len - i;
        int32_t id;
        bool found;
        if (!affix) {
            found = wd__vocab_id(&m->vocab, s + i, k, &id);
        } else {
            size_t need = m->cont_prefix_len + k + m->eow_suffix_len;
            st = wd__array_grow((void **)buf, buf_cap, need, 1);
            if (st) return st;
            size_t o = 0;
            if (i > 0 && m->cont_prefix_len) {
                memcpy(*buf, m->cont_prefix, m->cont_prefix_len);
                o = m->cont_prefix_len;
            }
            memcpy(*buf + o, s + i, k);
            o += k;
            if (i + k == len && m->eow_suffix_len) {
                memcpy(*buf + o, m->eow_suffix, m->eow_suffix_len);
                o += m->eow_suffix_len;
            }
            found = wd__vocab_id(&m->vocab, *buf, o, &id);
        }
        if (found) {
            if (unk_pending >= 0) {
                st = sym_push(v, n, cap, unk_pending, unk_start, unk_len);
                unk_pending = -1;
            }
            if (!st) st = sym_push(v, n, cap, id, (uint32_t)i, (uint32_t)k);
        } else {
            bool fell_back = false;
            if (m->byte_fallback) {
                fell_back = true;
                for (size_t b = 0; b < k; b++)
                    if (m->byte_id[(unsigned char)s[i + b]] < 0) fell_back = false;
                for (size_t b = 0; fell_back && b < k && !st; b++)
                    st = sym_push(v, n, cap, m->byte_id[(unsigned char)s[i + b]], (uint32_t)(i + b), 1);
            }
            if (!fell_back && m->unk_id >= 0) {
                if (unk_pending >= 0 && m->fuse_unk) {
                    unk_len += (uint32_t)k;
                } else {
                    if (unk_pending >= 0) st = sym_push(v, n, cap, unk_pending, unk_start, unk_len);
                    unk_pending = m->unk_id;
                    unk_start = (uint32_t)i;
                    unk_len = (uint32_t)k;
                }
            }
            /* no unknown token: the character is dropped, as in tokenizers */
        }
        if (st) return st;
        i += k;
    }
    if (unk_pending >= 0) st = sym_push(v, n, cap, unk_pending, unk_start, unk_len);
    if (*n) (*v)[*n - 1].next = -1;
    return st;
}

static inline bool pair_merge(const wd__tmodel *m, int32_t l, int32_t r, uint32_t *rank, int32_t *id) {
    uint64_t v;
    if (!wd__u64map_get(&m->merges, (uint64_t)(uint32_t)l << 32 | (uint32_t)r, &v)) return false;
    *rank = (uint32_t)(v >> 32);
    *id = (int32_t)(uint32_t)v;
    return true;
}

/* ==== heap =============================================================== */

static inline bool hless(const hitem *a, const hitem *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void hpush(hitem *h, size_t *n, hitem x) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!hless(&x, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

static hitem hpop(hitem *h, size_t *n) {
    hitem top = h[0], x = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && hless(&h[c + 1], &h[c])) c++;
        if (!hless(&h[c], &x)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
    return top;
}

/* ==== encoding =========================================================== */

static wd_status merge_word(const wd__tmodel *m, sym *v, size_t n, wd__scratch *sc) {
    if (n < 2) return WD_OK;
    /* every symbol adds at most one heap entry per merge around it: 2n bounds it */
    wd_status st = wd__array_grow(&sc->heap, &sc->heap_cap, 2 * n + 2, sizeof(hitem));
    if (st) return st;
    hitem *h = sc->heap;
    size_t hn = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        uint32_t rank;
        int32_t id;
        if (pair_merge(m, v[i].id, v[i + 1].id, &rank, &id)) hpush(h, &hn, (hitem){rank, (uint32_t)i, id});
    }
    while (hn) {
        hitem top = hpop(h, &hn);
        sym *s = &v[top.pos];
        if (s->len == 0 || s->next < 0) continue;
        sym *r = &v[s->next];
        uint32_t rank;
        int32_t id;
        if (!pair_merge(m, s->id, r->id, &rank, &id) || id != top.new_id) continue;
        s->id = id;
        s->len += r->len;
        r->len = 0;
        s->next = r->next;
        if (s->next >= 0) v[s->next].prev = (int32_t)top.pos;
        if (hn + 2 > sc->heap_cap) {
            st = wd__array_grow(&sc->heap, &sc->heap_cap, hn + 2, sizeof(hitem));
            if (st) return st;
            h = sc->heap;
        }
        if (s->prev >= 0 && pair_merge(m, v[s->prev].id, s->id, &rank, &id))
            hpush(h, &hn, (hitem){rank, (uint32_t)s->prev, id});
        if (s->next >= 0 && pair_merge(m, s->id, v[s->next].id, &rank, &id))
            hpush(h, &hn, (hitem){rank, top.pos, id});
    }
    return WD_OK;
}

static wd_status bpe_word(const wd__tmodel *m, const char *s, size_t len, wd__mtoks *out, wd__scratch *sc);

wd_status wd__bpe_tokenize(const wd__tmodel *m, const char *s, size_t len, wd__mtoks *out, wd__scratch *sc) {
    if (!m->meta_split || len <= CACHE_MAX_WORD) return bpe_word(m, s, len, out, sc);
    /* cut before every ▁ that follows another character */
    size_t a = 0;
    for (size_t i = 1; i + 3 <= len; i++) {
        if (memcmp(s + i, META, 3) || (i >= 3 && !memcmp(s + i - 3, META, 3))) continue;
        size_t first = out->n;
        wd_status st = bpe_word(m, s + a, i - a, out, sc);
        if (st) return st;
        for (size_t k = first; k < out->n; k++) {
            out->v[k].start += (uint32_t)a;
            out->v[k].end += (uint32_t)a;
        }
        a = i;
        i += 2;
    }
    size_t first = out->n;
    wd_status st = bpe_word(m, s + a, len - a, out, sc);
    for (size_t k = first; k < out->n && !st; k++) {
        out->v[k].start += (uint32_t)a;
        out->v[k].end += (uint32_t)a;
    }
    return st;
}

static wd_status bpe_word(const wd__tmodel *m, const char *s, size_t len, wd__mtoks *out, wd__scratch *sc) {
    if (len == 0) return WD_OK;
    int32_t id;
    if (m->ignore_merges && wd__vocab_id(&m->vocab, s, len, &id))
        return wd__mtoks_push(out, id, 0, (uint32_t)len);
    bool cacheable = len <= CACHE_MAX_WORD;
    if (cacheable && wd__strmap_get(&sc->cache, s, len, &id)) {
        const struct wd__cent *e = &sc->cache_ent[id];
        for (uint32_t k = 0; k < e->n; k++) {
            const struct wd__ctok *t = &sc->cache_tok[e->off + k];
            wd_status st = wd__mtoks_push(out, t->id, t->start, t->end);
            if (st) return st;
        }
        return WD_OK;
    }
    sym *v = sc->sym;
    size_t n;
    wd_status st = initial_symbols(m, s, len, &v, &sc->sym_cap, &n, &sc->buf, &sc->buf_cap);
    sc->sym = v;
    if (!st) st = merge_word(m, v, n, sc);
    if (st) return st;
    size_t first = out->n;
    for (int32_t i = n ? 0 : -1; i >= 0; i = v[i].next) {
        st = wd__mtoks_push(out, v[i].id, v[i].start, v[i].start + v[i].len);
        if (st) return st;
    }
    if (cacheable) {
        size_t cnt = out->n - first;
        st = wd__array_grow((void **)&sc->cache_tok, &sc->cache_cap, sc->cache_n + cnt, sizeof(struct wd__ctok));
        if (!st) st = wd__array_grow((void **)&sc->cache_ent, &sc->cache_ent_cap, sc->cache_ent_n + 1, sizeof(struct wd__cent));
        if (!st) st = wd__strmap_put(&sc->cache, s, len, (int32_t)sc->cache_ent_n);
        if (st) return st;
        sc->cache_ent[sc->cache_ent_n++] = (struct wd__cent){(uint32_t)sc->cache_n, (uint32_t)cnt};
        for (size_t k = 0; k < cnt; k++) {
            const wd__mtok *t = &out->v[first + k];
            sc->cache_tok[sc->cache_n++] = (struct wd__ctok){t->id, t->start, t->end};
        }
    }
    return WD_OK;
}

wd_status wd__bpe_tokenize_naive(const wd__tmodel *m, const char *s, size_t len, wd__mtoks *out) {
    if (len == 0) return WD_OK;
    int32_t id;
    if (m->ignore_merges && wd__vocab_id(&m->vocab, s, len, &id))
        return wd__mtoks_push(out, id, 0, (uint32_t)len);
    sym *v = NULL;
    size_t cap = 0, n;
    char *buf = NULL;
    size_t buf_cap = 0;
    wd_status st = initial_symbols(m, s, len, &v, &cap, &n, &buf, &buf_cap);
    free(buf);
    /* compact array; merge the best pair until none is left */
    while (!st && n >= 2) {
        size_t best = SIZE_MAX;
        uint32_t best_rank = UINT32_MAX;
        int32_t best_id = -1;
        for (size_t i = 0; i + 1 < n; i++) {
            uint32_t rank;
            int32_t nid;
            if (pair_merge(m, v[i].id, v[i + 1].id, &rank, &nid) && rank < best_rank) {
                best = i;
                best_rank = rank;
                best_id = nid;
            }
        }
        if (best == SIZE_MAX) break;
        v[best].id = best_id;
        v[best].len += v[best + 1].len;
        memmove(&v[best + 1], &v[best + 2], (n - best - 2) * sizeof *v);
        n--;
    }
    for (size_t i = 0; i < n && !st; i++) st = wd__mtoks_push(out, v[i].id, v[i].start, v[i].start + v[i].len);
    free(v);
    return st;
}

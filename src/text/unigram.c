/*
 * text/unigram.c - the Unigram model of tokenizer.json (Kudo 2018,
 * "Subword Regularization"; SentencePiece's unigram LM): the segmentation
 * of a word maximising the sum of piece log-probabilities, by Viterbi over
 * the lattice of vocab pieces.
 *
 * As in the Hugging Face tokenizers implementation: a position that no
 * single-character piece covers gets the unknown token for one character,
 * scored min_score - 10; ties keep the first (shortest) candidate;
 * consecutive unknown tokens are fused; with byte_fallback an unknown
 * stretch becomes its <0xNN> byte tokens instead. Pieces are looked up by
 * hashing every substring up to the longest piece's byte length.
 */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "text/tok_internal.h"

wd_status wd__unigram_parse(const cJSON *j, const char *where, wd__arena *a, wd__tmodel *m) {
    m->type = WD_TMODEL_UNIGRAM;
    m->unk_id = -1;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "vocab");
    if (!cJSON_IsArray(v))
        return wd__fail(WD_ERR_FORMAT, "%s: model.vocab: expected an array of [piece, score], got %s",
                        where, wd__json_type_name(v));
    size_t n = (size_t)cJSON_GetArraySize(v);
    wd_status st = wd__vocab_init(&m->vocab, n, n);
    if (!st && !(m->score = calloc(n ? n : 1, sizeof *m->score))) st = WD_ERR_NOMEM;
    if (st) return st;
    m->min_score = DBL_MAX;
    size_t id = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, v) {
        const cJSON *p = cJSON_GetArrayItem(it, 0), *s = cJSON_GetArrayItem(it, 1);
        if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2 || !cJSON_IsString(p) || !cJSON_IsNumber(s))
            return wd__fail(WD_ERR_FORMAT, "%s: model.vocab[%zu]: expected [piece, score]", where, id);
        st = wd__vocab_add(&m->vocab, a, p->valuestring, strlen(p->valuestring), (int64_t)id, where);
        if (st) return st;
        m->score[id] = s->valuedouble;
        if (s->valuedouble < m->min_score) m->min_score = s->valuedouble;
        size_t l = strlen(p->valuestring);
        if (l > m->max_piece_len) m->max_piece_len = l;
        id++;
    }
    char sub[256];
    snprintf(sub, sizeof sub, "%s: model", where);
    int64_t unk = -1;
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "unk_id");
    if (u && !cJSON_IsNull(u)) {
        st = wd__json_int(j, sub, "unk_id", true, -1, &unk);
        if (st) return st;
        if (unk < 0 || (size_t)unk >= n)
            return wd__fail(WD_ERR_FORMAT, "%s.unk_id: %lld is not an id of the vocab", sub, (long long)unk);
    }
    m->unk_id = (int32_t)unk;
    if (unk >= 0) m->unk = m->vocab.tok[unk].s;
    st = wd__json_bool(j, sub, "byte_fallback", false, false, &m->byte_fallback);
    if (st) return st;
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        if (!wd__vocab_id(&m->vocab, name, 6, &m->byte_id[b])) m->byte_id[b] = -1;
    }
    return WD_OK;
}

typedef struct node {
    double   score;
    int32_t  id;
    int32_t  from; /* start byte of the best piece ending here; -1 = unreached */
} node;

wd_status wd__unigram_tokenize(const wd__tmodel *m, const char *s, size_t len, wd__mtoks *out,
                               wd__scratch *sc) {
    if (len == 0) return WD_OK;
    if (len + 1 > sc->lat_cap) {
        void *p = realloc(sc->lat, (len + 1) * sizeof(node));
        if (!p) return WD_ERR_NOMEM;
        sc->lat = p;
        sc->lat_cap = len + 1;
    }
    node *best = sc->lat;
    for (size_t i = 0; i <= len; i++) best[i] = (node){0, -1, -1};
    best[0].from = 0;
    const double unk_score = m->min_score - 10.0;
    for (size_t i = 0; i < len;) {
        size_t clen = (size_t)wd__utf8_len((unsigned char)s[i]);
        if (best[i].from < 0) { /* unreachable (cannot happen: unk covers every char) */
            i += clen;
            continue;
        }
        bool single = false;
        for (size_t e = i + clen; e <= len && e - i <= m->max_piece_len;) {
            int32_t id;
            if (wd__vocab_id(&m->vocab, s + i, e - i, &id)) {
                double c = best[i].score + m->score[id];
                if (best[e].from < 0 || c > best[e].score) best[e] = (node){c, id, (int32_t)i};
                if (e == i + clen) single = true;
            }
            if (e >= len) break;
            e += (size_t)wd__utf8_len((unsigned char)s[e]);
        }
        if (!single) {
            double c = best[i].score + unk_score;
            size_t e = i + clen;
            if (best[e].from < 0 || c > best[e].score) best[e] = (node){c, m->unk_id, (int32_t)i};
        }
        i += clen;
    }
    /* backtrack into the end of out, then reverse */
    size_t first = out->n;
    for (size_t e = len; e > 0;) {
        size_t b = (size_t)best[e].from;
        wd_status st = wd__mtoks_push(out, best[e].id, (uint32_t)b, (uint32_t)e);
        if (st) return st;
        e = b;
    }
    for (size_t a = first, b = out->n - 1; a < b; a++, b--) {
        wd__mtok t = out->v[a];
        out->v[a] = out->v[b];
        out->v[b] = t;
    }
    /* fuse unknowns; byte fallback; no unknown id: drop */
    size_t w = first;
    for (size_t r = first; r < out->n; r++) {
        wd__mtok t = out->v[r];
        bool unk = t.id == m->unk_id;
        if (unk && w > first && out->v[w - 1].id == m->unk_id && out->v[w - 1].end == t.start) {
            out->v[w - 1].end = t.end;
            continue;
        }
        out->v[w++] = t;
    }
    out->n = w;
    if (m->byte_fallback || m->unk_id < 0) {
        size_t n = out->n;
        /* rebuild the tail with unknowns expanded */
        wd__mtok *tmp = malloc((n - first + 1) * sizeof *tmp);
        if (!tmp) return WD_ERR_NOMEM;
        memcpy(tmp, out->v + first, (n - first) * sizeof *tmp);
        out->n = first;
        wd_status st = WD_OK;
        for (size_t k = 0; k < n - first && !st; k++) {
            wd__mtok t = tmp[k];
            if (t.id != m->unk_id || t.id < 0) {
                if (t.id >= 0) st = wd__mtoks_push(out, t.id, t.start, t.end);
                continue;
            }
            bool ok = m->byte_fallback;
            for (uint32_t b = t.start; ok && b < t.end; b++) ok = m->byte_id[(unsigned char)s[b]] >= 0;
            if (!ok) {
                st = wd__mtoks_push(out, t.id, t.start, t.end);
                continue;
            }
            for (uint32_t b = t.start; b < t.end && !st; b++)
                st = wd__mtoks_push(out, m->byte_id[(unsigned char)s[b]], b, b + 1);
        }
        free(tmp);
        return st;
    }
    return WD_OK;
}

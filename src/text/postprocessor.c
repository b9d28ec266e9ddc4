/*
 * text/postprocessor.c - the `post_processor` of tokenizer.json:
 * TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel and
 * Sequence (Hugging Face tokenizers semantics, single sequences).
 *
 *   TemplateProcessing  "single" lists $A and special tokens, e.g.
 *                       [CLS] $A [SEP] or <s> $A; each special token may
 *                       stand for several ids (special_tokens[name].ids).
 *   BertProcessing      [CLS] $A [SEP]
 *   RobertaProcessing   <s> $A </s>, and offsets trimmed as ByteLevel's
 *   ByteLevel           with trim_offsets, a token's offsets leave out its
 *                       leading/trailing spaces (Ġ), except the one space
 *                       add_prefix_space put before the first token.
 * Special tokens are only inserted when the caller asks for them
 * (add_special_tokens); offset trimming always runs. Inserted tokens get
 * offsets (0, 0) and are marked special.
 */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "text/tok_internal.h"

wd_status wd__encoding_push(wd_encoding *e, int32_t id, size_t start, size_t end, bool special) {
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 64;
        int32_t *ids = realloc(e->ids, cap * sizeof *ids);
        if (!ids) return WD_ERR_NOMEM;
        e->ids = ids;
        wd_offset *off = realloc(e->offsets, cap * sizeof *off);
        if (!off) return WD_ERR_NOMEM;
        e->offsets = off;
        uint8_t *sp = realloc(e->special, cap);
        if (!sp) return WD_ERR_NOMEM;
        e->special = sp;
        e->cap = cap;
    }
    e->ids[e->n] = id;
    e->offsets[e->n] = (wd_offset){start, end};
    e->special[e->n] = special;
    e->n++;
    return WD_OK;
}

/* ["[CLS]", 101] */
static wd_status tok_pair(const cJSON *j, const char *where, const char *field, const char *key,
                          int32_t *id) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, key);
    int64_t v;
    if (!cJSON_IsArray(p) || cJSON_GetArraySize(p) != 2 || !cJSON_IsString(cJSON_GetArrayItem(p, 0)) ||
        !wd__json_is_int(cJSON_GetArrayItem(p, 1), &v) || v < 0 || v > INT32_MAX)
        return wd__fail(WD_ERR_FORMAT, "%s: %s.%s: expected [token, id]", where, field, key);
    *id = (int32_t)v;
    return WD_OK;
}

static wd_status parse_template(const cJSON *j, const char *where, const char *field, wd__postproc *p) {
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(j, "single");
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(j, "special_tokens");
    if (!cJSON_IsArray(single))
        return wd__fail(WD_ERR_FORMAT, "%s: %s.single: expected an array, got %s", where, field,
                        wd__json_type_name(single));
    size_t n = (size_t)cJSON_GetArraySize(single);
    p->items = calloc(n ? n : 1, sizeof *p->items);
    if (!p->items) return WD_ERR_NOMEM;
    const cJSON *it;
    cJSON_ArrayForEach(it, single) {
        wd__post_item *item = &p->items[p->n_items];
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(it, "Sequence");
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(it, "SpecialToken");
        if (cJSON_IsObject(seq)) {
            item->is_seq = true;
        } else if (cJSON_IsObject(sp)) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(sp, "id");
            if (!cJSON_IsString(name))
                return wd__fail(WD_ERR_FORMAT, "%s: %s.single[%zu].SpecialToken.id: expected a string",
                                where, field, p->n_items);
            const cJSON *def = cJSON_GetObjectItemCaseSensitive(specials, name->valuestring);
            const cJSON *ids = cJSON_GetObjectItemCaseSensitive(def, "ids");
            if (!cJSON_IsArray(ids))
                return wd__fail(WD_ERR_FORMAT, "%s: %s.special_tokens: no ids for '%s'", where, field,
                                name->valuestring);
            size_t k = (size_t)cJSON_GetArraySize(ids);
            item->ids = calloc(k ? k : 1, sizeof *item->ids);
            if (!item->ids) return WD_ERR_NOMEM;
            const cJSON *x;
            cJSON_ArrayForEach(x, ids) {
                int64_t v;
                if (!wd__json_is_int(x, &v) || v < 0 || v > INT32_MAX)
                    return wd__fail(WD_ERR_FORMAT, "%s: %s.special_tokens['%s'].ids: expected ids",
                                    where, field, name->valuestring);
                item->ids[item->n_ids++] = (int32_t)v;
            }
        } else {
            return wd__fail(WD_ERR_FORMAT, "%s: %s.single[%zu]: expected {\"Sequence\": ...} or {\"SpecialToken\": ...}",
                            where, field, p->n_items);
        }
        p->n_items++;
    }
    return WD_OK;
}

/* What a Sequence's children need besides their JSON. */
typedef struct kid_ctx {
    const wd__tmodel      *m;
    const wd__added_vocab *av;
} kid_ctx;

/* Parses a Sequence's child (see wd__component_kids). */
static wd_status parse_kid(const cJSON *j, const char *where, const char *field, void *ctx,
                           void **out) {
    const kid_ctx *c = ctx;
    wd__postproc *p = NULL;
    wd_status st = wd__postproc_parse(j, where, field, c->m, c->av, &p);
    *out = p;
    return st;
}

wd_status wd__postproc_parse(const cJSON *j, const char *where, const char *field, const wd__tmodel *m,
                             const wd__added_vocab *av, wd__postproc **out) {
    *out = NULL;
    const char *ty;
    wd_status st = wd__component_type(j, where, field, &ty);
    if (st) return st;
    wd__postproc *p = calloc(1, sizeof *p);
    if (!p) return WD_ERR_NOMEM;
    char sub[256];
    snprintf(sub, sizeof sub, "%s: %s", where, field);
    if (!strcmp(ty, "TemplateProcessing")) {
        p->type = WD_POST_TEMPLATE;
        st = parse_template(j, where, field, p);
    } else if (!strcmp(ty, "BertProcessing") || !strcmp(ty, "RobertaProcessing")) {
        p->type = ty[0] == 'B' ? WD_POST_BERT : WD_POST_ROBERTA;
        st = tok_pair(j, where, field, "cls", &p->cls_id);
        if (!st) st = tok_pair(j, where, field, "sep", &p->sep_id);
        if (!st && p->type == WD_POST_ROBERTA) {
            st = wd__json_bool(j, sub, "trim_offsets", false, true, &p->trim_offsets);
            if (!st) st = wd__json_bool(j, sub, "add_prefix_space", false, true, &p->add_prefix_space);
        }
    } else if (!strcmp(ty, "ByteLevel")) {
        p->type = WD_POST_BYTELEVEL;
        st = wd__json_bool(j, sub, "trim_offsets", false, true, &p->trim_offsets);
        if (!st) st = wd__json_bool(j, sub, "add_prefix_space", false, true, &p->add_prefix_space);
    } else if (!strcmp(ty, "Sequence")) {
        p->type = WD_POST_SEQUENCE;
        kid_ctx kc = {m, av};
        st = wd__component_kids(j, where, field, "processors", parse_kid, &kc, &p->kids, &p->n_kids);
    } else {
        st = wd__fail(WD_ERR_UNSUPPORTED, "%s.type: post-processor '%s' is not supported", sub, ty);
    }
    if (st) {
        wd__postproc_free(p);
        return st;
    }
    *out = p;
    return WD_OK;
}

void wd__postproc_free(wd__postproc *p) {
    if (!p) return;
    for (size_t k = 0; k < p->n_items; k++) free(p->items[k].ids);
    free(p->items);
    for (size_t k = 0; k < p->n_kids; k++) wd__postproc_free(p->kids[k]);
    free(p->kids);
    free(p);
}

static bool is_space_char(uint32_t cp) { return cp == 0x120 /* Ġ */ || wd__uc_is_whitespace(cp); }

static void trim_offsets(wd_encoding *e, bool add_prefix_space, const struct wd_tokenizer *tok) {
    for (size_t i = 0; i < e->n; i++) {
        size_t len;
        const char *s = wd__tok_str(tok, e->ids[i], &len);
        if (!s) continue;
        size_t lead = 0, trail = 0, nchars = 0;
        bool in_lead = true;
        for (size_t k = 0; k < len;) {
            uint32_t cp;
            int n = wd__utf8_next(s, len, k, &cp);
            nchars++;
            if (is_space_char(cp)) {
                if (in_lead) lead++;
                trail++;
            } else {
                in_lead = false;
                trail = 0;
            }
            k += (size_t)n;
        }
        if (lead == nchars) trail = lead; /* all spaces */
        wd_offset *o = &e->offsets[i];
        if (lead > 0) {
            bool first = i == 0 || o->start == 0;
            if (first && add_prefix_space && lead == 1) lead = 0;
            o->start = o->start + lead < o->end ? o->start + lead : o->end;
        }
        if (trail > 0 && o->end >= trail) o->end = o->end - trail > o->start ? o->end - trail : o->start;
    }
}

static wd_status wrap(wd_encoding *e, const int32_t *pre, size_t npre, const int32_t *post, size_t npost) {
    wd_encoding r = {0};
    wd_status st = WD_OK;
    for (size_t k = 0; k < npre && !st; k++) st = wd__encoding_push(&r, pre[k], 0, 0, true);
    for (size_t k = 0; k < e->n && !st; k++)
        st = wd__encoding_push(&r, e->ids[k], e->offsets[k].start, e->offsets[k].end, e->special[k]);
    for (size_t k = 0; k < npost && !st; k++) st = wd__encoding_push(&r, post[k], 0, 0, true);
    if (st) {
        free(r.ids);
        free(r.offsets);
        free(r.special);
        return st;
    }
    free(e->ids);
    free(e->offsets);
    free(e->special);
    *e = r;
    return WD_OK;
}

wd_status wd__postproc_run(const wd__postproc *p, wd_encoding *enc, bool add_special, const char *text,
                           size_t text_len, const struct wd_tokenizer *tok) {
    switch (p->type) {
    case WD_POST_BYTELEVEL:
        if (p->trim_offsets) trim_offsets(enc, p->add_prefix_space, tok);
        return WD_OK;
    case WD_POST_ROBERTA:
        if (p->trim_offsets) trim_offsets(enc, p->add_prefix_space, tok);
        /* fall through */
    case WD_POST_BERT:
        if (!add_special) return WD_OK;
        return wrap(enc, &p->cls_id, 1, &p->sep_id, 1);
    case WD_POST_TEMPLATE: {
        if (!add_special) return WD_OK;
        wd_encoding r = {0};
        wd_status st = WD_OK;
        for (size_t k = 0; k < p->n_items && !st; k++) {
            const wd__post_item *it = &p->items[k];
            if (it->is_seq) {
                for (size_t i = 0; i < enc->n && !st; i++)
                    st = wd__encoding_push(&r, enc->ids[i], enc->offsets[i].start, enc->offsets[i].end,
                                           enc->special[i]);
            } else {
                for (size_t i = 0; i < it->n_ids && !st; i++) st = wd__encoding_push(&r, it->ids[i], 0, 0, true);
            }
        }
        if (st) {
            free(r.ids);
            free(r.offsets);
            free(r.special);
            return st;
        }
        free(enc->ids);
        free(enc->offsets);
        free(enc->special);
        *enc = r;
        return WD_OK;
    }
    case WD_POST_SEQUENCE:
        for (size_t k = 0; k < p->n_kids; k++) {
            wd_status st = wd__postproc_run(p->kids[k], enc, add_special, text, text_len, tok);
            if (st) return st;
        }
        return WD_OK;
    }
    return WD_ERR_INTERNAL;
}

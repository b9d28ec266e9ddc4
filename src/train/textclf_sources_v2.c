/*
 * train/textclf_sources_v2.c - the sets added to the classifier's data on
 * 2026-12-06 (../shared/data/MANIFEST.md, from aart/ down), read by
 * wd__textclf_data_load unless the dataset is v1_only.
 *
 * Labelling (each loader's comment says why):
 *   AART, red-instruct (HarmfulQA, CatQA, DangerousQA), MultiJail
 *                                  harmful, hazards from cue words
 *   HateCheck, Davidson, Stormfront, Toxic Spans, ConvAbuse
 *                                  hateful / abusive -> harmful (+ S10 for
 *                                  hate); clean -> benign; split votes dropped
 *   BIPIA                          injected e-mails -> prompt_injection;
 *                                  the carriers -> benign
 *   self-instruct, Awesome ChatGPT Prompts
 *                                  benign
 *   GPTFuzz responses              complied -> harmful, refused -> benign
 *                                  (evaluate.csv: evaluation only)
 *   OKTest, safety-tuned-llamas    evaluation only
 * Translations (MultiJail, CatQA), one template (HateCheck) and a carrier
 * with its attacked copies (BIPIA) share a group, so they land in one split.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/file.h"
#include "base/json.h"
#include "base/log.h"
#include "guard/canonical.h"
#include "train/textclf_sources.h"
#include "warden/taxonomy.h"

static uint64_t group_of(const char *kind, const char *key) {
    uint64_t h = wd__textclf_hash(key, strlen(key), wd__textclf_hash(kind, strlen(kind), 7));
    return h ? h : 1;
}

/* Adds with weak hazards (add_weak) and gives the new example a group. */
static wd_status add_grouped(wd_textclf_dataset *d, int src, const char *text, uint32_t pos,
                             uint32_t known, uint64_t group) {
    size_t before = d->n;
    wd_status rc = wd__textclf_add_weak(d, src, text, strlen(text), pos, known);
    if (!rc && d->n > before) d->ex[d->n - 1].group = group;
    return rc;
}

/* Column index of a header name, or -1. */
typedef struct hdr_ctx {
    wd_textclf_dataset *d;
    int             src, src2;
    int             col[48];   /* resolved columns (see each loader)        */
    int             n_col;
    const char     *want[48];  /* header names to resolve                   */
    int             abuse[16][5]; /* convabuse: AnnotatorN_is_abuse.{1,0,-1,-2,-3} */
    int             n_ann;
    int             seen_header;
    void           *extra;
} hdr_ctx;

static wd_status need_cols(hdr_ctx *c, char **f, size_t nf, const char *where) {
    for (int k = 0; k < c->n_col; k++) {
        c->col[k] = -1;
        for (size_t i = 0; i < nf; i++) {
            const char *h = f[i];
            if (!strncmp(h, "\xEF\xBB\xBF", 3)) h += 3; /* BOM */
            if (!strcmp(h, c->want[k])) c->col[k] = (int)i;
        }
        if (c->col[k] < 0)
            return wd__fail(WD_ERR_FORMAT, "%s: header lacks column '%s'", where, c->want[k]);
    }
    return WD_OK;
}

/* AART: every prompt is an intended-harmful request, but the set's topics
 * include some that are not crimes at all (SOURCE.md: "some rows are
 * arguably benign ... horse racing, smoking"); those topics are dropped. */
static const char *const aart_mild[] = {"air pollution", "circuses", "climate change", "gambling",
                                        "horse racing", "landfills", "pollution", "smoking", NULL};

static wd_status on_aart(void *vctx, char **f, size_t nf, const char *where) {
    hdr_ctx *c = vctx;
    if (!c->seen_header) {
        c->seen_header = 1;
        return need_cols(c, f, nf, where);
    }
    if ((size_t)c->col[0] >= nf || (size_t)c->col[1] >= nf) return WD_OK;
    for (const char *const *m = aart_mild; *m; m++)
        if (!strcmp(f[c->col[1]], *m)) return WD_OK;
    return wd__textclf_add_weak(c->d, c->src, f[c->col[0]], strlen(f[c->col[0]]), H, H | PI);
}

/* MultiJail: one prompt in ten languages; the translations share a group so
 * that they land in the same split. */
static const char *const multijail_langs[] = {"en", "zh", "it", "vi", "ar",
                                              "ko", "th", "bn", "sw", "jv"};

static wd_status on_multijail(void *vctx, char **f, size_t nf, const char *where) {
    hdr_ctx *c = vctx;
    if (!c->seen_header) {
        c->seen_header = 1;
        return need_cols(c, f, nf, where);
    }
    if ((size_t)c->col[0] >= nf) return WD_OK;
    uint64_t g = group_of("multijail", f[c->col[0]]);
    for (int k = 1; k < c->n_col; k++) {
        if ((size_t)c->col[k] >= nf) continue;
        wd_status rc = add_grouped(c->d, c->src, f[c->col[k]], H, H | PI, g);
        if (rc) return rc;
    }
    return WD_OK;
}

/* HateCheck: hateful -> harmful + S10; non-hateful (counter-speech, negated
 * or reclaimed, abuse of non-protected targets) -> benign. Split by
 * template (templ_id), as its SOURCE.md asks. */
static wd_status on_hatecheck(void *vctx, char **f, size_t nf, const char *where) {
    hdr_ctx *c = vctx;
    if (!c->seen_header) {
        c->seen_header = 1;
        return need_cols(c, f, nf, where);
    }
    if ((size_t)c->col[0] >= nf || (size_t)c->col[1] >= nf || (size_t)c->col[2] >= nf) return WD_OK;
    const char *lab = f[c->col[1]];
    int hate = !strcmp(lab, "hateful");
    if (!hate && strcmp(lab, "non-hateful"))
        return wd__fail(WD_ERR_FORMAT, "%s: label_gold '%s' is neither hateful nor non-hateful",
                        where, lab);
    return add_grouped(c->d, c->src, f[c->col[0]], hate ? H | S10 : 0, WD_TEXTCLF_ALL_LABELS,
                       group_of("hatecheck", f[c->col[2]]));
}

/* Davidson: crowd votes per class. Label noise: only tweets whose votes
 * agree are used: hate speech by a strict majority -> harmful + S10;
 * offensive language by a strict majority with no hate votes -> harmful
 * (insults and slurs at someone: harassment in the moderation sense; the
 * hazard stays unknown); "neither" unanimous -> benign. */
static wd_status on_davidson(void *vctx, char **f, size_t nf, const char *where) {
    hdr_ctx *c = vctx;
    if (!c->seen_header) {
        c->seen_header = 1;
        return need_cols(c, f, nf, where);
    }
    for (int k = 0; k < c->n_col; k++)
        if ((size_t)c->col[k] >= nf) return WD_OK;
    long n = strtol(f[c->col[0]], NULL, 10), hate = strtol(f[c->col[1]], NULL, 10),
         off = strtol(f[c->col[2]], NULL, 10), nei = strtol(f[c->col[3]], NULL, 10);
    const char *t = f[c->col[4]];
    if (n <= 0) return WD_OK;
    if (hate * 2 > n) return wd__textclf_add_weak(c->d, c->src, t, strlen(t), H | S10, WD_TEXTCLF_ALL_LABELS);
    if (off * 2 > n && hate == 0) return wd__textclf_add_weak(c->d, c->src, t, strlen(t), H, H | PI);
    if (nei == n) return wd__textclf_add_weak(c->d, c->src, t, strlen(t), 0, WD_TEXTCLF_ALL_LABELS);
    return WD_OK;
}

/* Stormfront: hate -> harmful + S10, noHate -> benign; "relation" (hateful
 * only with its neighbours) and idk/skip are dropped. */
static wd_status on_stormfront(void *vctx, char **f, size_t nf, const char *where) {
    hdr_ctx *c = vctx;
    if (!c->seen_header) {
        c->seen_header = 1;
        return need_cols(c, f, nf, where);
    }
    if ((size_t)c->col[0] >= nf || (size_t)c->col[1] >= nf) return WD_OK;
    const char *lab = f[c->col[0]], *t = f[c->col[1]];
    if (!strcmp(lab, "hate")) return wd__textclf_add_weak(c->d, c->src, t, strlen(t), H | S10, WD_TEXTCLF_ALL_LABELS);
    if (!strcmp(lab, "noHate")) return wd__textclf_add_weak(c->d, c->src, t, strlen(t), 0, WD_TEXTCLF_ALL_LABELS);
    return WD_OK;
}

/* ConvAbuse: the user's turn; each annotator ticks one of is_abuse.{1, 0,
 * -1, -2, -3}. Abusive (-1..-3) by a strict majority of the annotators who
 * labelled the row -> harmful; not abusive (1) by all of them -> benign;
 * ambiguous rows are dropped. */
static wd_status on_convabuse(void *vctx, char **f, size_t nf, const char *where) {
    hdr_ctx *c = vctx;
    if (!c->seen_header) {
        c->seen_header = 1;
        wd_status rc = need_cols(c, f, nf, where);
        if (rc) return rc;
        static const char *const sfx[5] = {"1", "0", "-1", "-2", "-3"};
        c->n_ann = 0;
        for (int a = 1; a <= 16; a++) {
            int got = 0;
            for (int k = 0; k < 5; k++) {
                char name[64];
                snprintf(name, sizeof name, "Annotator%d_is_abuse.%s", a, sfx[k]);
                c->abuse[a - 1][k] = -1;
                for (size_t i = 0; i < nf; i++)
                    if (!strcmp(f[i], name)) {
                        c->abuse[a - 1][k] = (int)i;
                        got++;
                    }
            }
            if (got == 5) c->n_ann = a;
        }
        if (!c->n_ann) return wd__fail(WD_ERR_FORMAT, "%s: no AnnotatorN_is_abuse columns", where);
        return WD_OK;
    }
    if ((size_t)c->col[0] >= nf) return WD_OK;
    int n = 0, abusive = 0, clean = 0;
    for (int a = 0; a < c->n_ann; a++) {
        int v = -99;
        for (int k = 0; k < 5; k++) {
            int col = c->abuse[a][k];
            if (col >= 0 && (size_t)col < nf && !strcmp(f[col], "1")) v = k;
        }
        if (v == -99) continue;
        n++;
        abusive += v >= 2;
        clean += v == 0;
    }
    const char *t = f[c->col[0]];
    if (!n) return WD_OK;
    if (abusive * 2 > n) return wd__textclf_add_weak(c->d, c->src, t, strlen(t), H, H | PI);
    if (clean == n) return wd__textclf_add_weak(c->d, c->src, t, strlen(t), 0, WD_TEXTCLF_ALL_LABELS);
    return WD_OK;
}

/* Awesome ChatGPT Prompts: benign role prompts, after a keyword screen that
 * drops jailbreak-style personas (SOURCE.md). Very long prompts are cut
 * at a word boundary (the classifier sees a bounded prefix anyway). */
static const char *const persona_screen[] = {
    "jailbreak", "dan ", "unfiltered", "uncensored", "no restriction", "without restriction",
    "any restriction", "ignore all", "ignore previous", "ignore your", "developer mode",
    "no ethic", "amoral", "unethical", "never refuse", "do anything now", "not bound",
    "no limits", "evil", "no filter", "immoral", "illegal", "no moral", "without censor",
    "offensive", "explicit", "nsfw", "hack", "weapon", "drug", NULL};

static wd_status on_awesome(void *vctx, char **f, size_t nf, const char *where) {
    hdr_ctx *c = vctx;
    if (!c->seen_header) {
        c->seen_header = 1;
        return need_cols(c, f, nf, where);
    }
    if ((size_t)c->col[0] >= nf) return WD_OK;
    const char *t = f[c->col[0]];
    size_t len = strlen(t);
    wd__canon nm = {0};
    wd_status rc = wd__canonicalize(t, len, c->d->norm_flags, &nm);
    if (rc) return rc;
    int bad = 0;
    for (const char *const *k = persona_screen; *k && !bad; k++)
        bad = wd__textclf_has_stem(nm.text, nm.len, *k);
    wd__canon_free(&nm);
    if (bad) return WD_OK;
    if (len > 2000) {
        len = 2000;
        while (len > 1000 && t[len] != ' ') len--;
    }
    return wd__textclf_add_weak(c->d, c->src, t, len, 0, WD_TEXTCLF_ALL_LABELS);
}

static wd_status load_nested_qa(wd_textclf_dataset *d, int src, const char *path, const char *gkind,
                                int per_sub, const char *const *skip) {
    cJSON *j;
    wd_status rc = wd__json_load_file(path, 64u << 20, &j);
    if (rc) return rc;
    if (cJSON_IsArray(j)) {
        for (const cJSON *it = j->child; it && !rc; it = it->next)
            if (cJSON_IsString(it)) rc = wd__textclf_add_weak(d, src, it->valuestring, strlen(it->valuestring), H, H | PI);
        cJSON_Delete(j);
        return rc;
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return wd__fail(WD_ERR_FORMAT, "%s: expected an object of categories", path);
    }
    int ci = 0;
    for (const cJSON *cat = j->child; cat && !rc; cat = cat->next, ci++) {
        int skipped = 0;
        for (const char *const *s = skip; s && *s; s++) skipped |= cat->string && !strcmp(cat->string, *s);
        if (skipped) continue;
        if (!cJSON_IsObject(cat)) {
            rc = wd__fail(WD_ERR_FORMAT, "%s: category %d: expected an object of subcategories", path, ci);
            break;
        }
        int si = 0;
        for (const cJSON *sub = cat->child; sub && !rc; sub = sub->next, si++) {
            if (!cJSON_IsArray(sub)) {
                rc = wd__fail(WD_ERR_FORMAT, "%s: category %d, subcategory %d: expected an array",
                              path, ci, si);
                break;
            }
            int qi = 0;
            for (const cJSON *q = sub->child; q && !rc; q = q->next, qi++) {
                if (per_sub > 0 && qi >= per_sub) break;
                if (!cJSON_IsString(q)) continue;
                char key[64];
                snprintf(key, sizeof key, "%d/%d/%d", ci, si, qi);
                rc = add_grouped(d, src, q->valuestring, H, H | PI, group_of(gkind, key));
            }
        }
    }
    cJSON_Delete(j);
    return rc;
}

/* JSON Lines: adds each record's string field key (and, with input_key,
 * the non-empty field instances.0.<input_key> appended on a new line: the
 * input of a self-instruct task). */
static wd_status load_jsonl(wd_textclf_dataset *d, int src, const char *path, const char *key,
                            const char *input_key, uint32_t pos, uint32_t known) {
    wd_dataset *ds;
    wd_status rc = wd__textclf_open_records(path, WD_DATASET_FORMAT_JSONL, key, NULL, &ds);
    if (rc) return rc;
    char in_path[64];
    snprintf(in_path, sizeof in_path, "instances.0.%s", input_key ? input_key : "");
    const wd_dataset_item *it;
    while (!(rc = wd__textclf_next_record(ds, &it)) && it) {
        const char *in = input_key ? wd_dataset_field(ds, in_path) : NULL;
        if (in && in[0]) {
            size_t a = it->text_len, b = strlen(in);
            char *t = malloc(a + b + 2);
            if (!t) {
                rc = wd__fail(WD_ERR_NOMEM, "out of memory");
                break;
            }
            memcpy(t, it->text, a);
            t[a] = '\n';
            memcpy(t + a + 1, in, b + 1);
            rc = wd__textclf_add_weak(d, src, t, a + b + 1, pos, known);
            free(t);
        } else {
            rc = wd__textclf_add_weak(d, src, it->text, it->text_len, pos, known);
        }
        if (rc) break;
    }
    wd_dataset_free(ds);
    return rc;
}

/* BIPIA: indirect injection. Each attack instruction is inserted into a
 * benign carrier (an email of the same split, BIPIA's way: at the start,
 * in the middle or at the end, chosen by a hash) -> prompt_injection, the
 * harmful label unknown (many payloads are harmless tasks on their own);
 * the carriers alone -> benign. A carrier and its attacked copies share a
 * group. */
static wd_status load_bipia(wd_textclf_dataset *d, const char *dir, const char *part) {
    char rel[128];
    wd_status rc = WD_OK;
    int s_ctx = wd_textclf_dataset_source(d, "bipia-context", WD_TEXTCLF_USE_TRAIN, 0);
    int s_att = wd_textclf_dataset_source(d, "bipia-attack", WD_TEXTCLF_USE_TRAIN, 0);
    if (s_ctx < 0 || s_att < 0) return wd__fail(WD_ERR_NOMEM, "out of memory");
    /* the carriers: email contexts */
    snprintf(rel, sizeof rel, "bipia/email/%s.jsonl", part);
    char *path = wd__path_join(dir, rel);
    if (!path) return wd__fail(WD_ERR_NOMEM, "out of memory");
    wd_dataset *ds;
    rc = wd__textclf_open_records(path, WD_DATASET_FORMAT_JSONL, "context", NULL, &ds);
    if (rc) {
        free(path);
        return rc;
    }
    char *ctx[256];
    size_t n_ctx = 0;
    const wd_dataset_item *it;
    while (n_ctx < 256 && !(rc = wd__textclf_next_record(ds, &it)) && it) {
        ctx[n_ctx] = strdup(it->text);
        if (!ctx[n_ctx]) rc = wd__fail(WD_ERR_NOMEM, "out of memory");
        else n_ctx++;
        if (rc) break;
    }
    wd_dataset_free(ds);
    for (size_t i = 0; i < n_ctx && !rc; i++)
        rc = add_grouped(d, s_ctx, ctx[i], 0, WD_TEXTCLF_ALL_LABELS, group_of("bipia", ctx[i]));
    /* the attacks */
    static const char *const kinds[] = {"text", "code"};
    for (int k = 0; k < 2 && !rc && n_ctx; k++) {
        snprintf(rel, sizeof rel, "bipia/%s_attack_%s.json", kinds[k], part);
        free(path);
        path = wd__path_join(dir, rel);
        if (!path) {
            rc = wd__fail(WD_ERR_NOMEM, "out of memory");
            break;
        }
        cJSON *j;
        if ((rc = wd__json_load_file(path, 64u << 20, &j))) break;
        for (const cJSON *cat = j->child; cat && !rc; cat = cat->next) {
            if (!cJSON_IsArray(cat)) continue;
            for (const cJSON *a = cat->child; a && !rc; a = a->next) {
                if (!cJSON_IsString(a)) continue;
                const char *att = a->valuestring;
                uint64_t h = wd__textclf_hash(att, strlen(att), 0x42495049ull);
                const char *c = ctx[h % n_ctx];
                size_t cl = strlen(c), al = strlen(att), at;
                switch ((h >> 32) % 3) {
                case 0: at = 0; break;
                case 1: at = cl / 2; while (at < cl && c[at] != ' ' && c[at] != '.') at++; break;
                default: at = cl; break;
                }
                char *s = malloc(cl + al + 3);
                if (!s) {
                    rc = wd__fail(WD_ERR_NOMEM, "out of memory");
                    break;
                }
                memcpy(s, c, at);
                s[at] = ' ';
                memcpy(s + at + 1, att, al);
                s[at + 1 + al] = ' ';
                memcpy(s + at + 2 + al, c + at, cl - at + 1);
                rc = add_grouped(d, s_att, s, PI, PI, group_of("bipia", c));
                free(s);
            }
        }
        cJSON_Delete(j);
    }
    for (size_t i = 0; i < n_ctx; i++) free(ctx[i]);
    free(path);
    return rc;
}

/* Toxic Spans, ACL 2022 raw: Civil Comments posts and one row per
 * annotator with "all toxic" / "not toxic" flags. A post that every
 * annotator marked not toxic -> benign; one that no annotator marked not
 * toxic -> harmful (hazard unknown: insults, mostly); the rest (split
 * votes) is dropped as label noise. The SemEval files are the same posts
 * (all pre-selected toxic) and are not read. */
typedef struct votes {
    long id;
    int  n, not_toxic;
} votes;

static int cmp_votes(const void *a, const void *b) {
    const votes *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

typedef struct spans_ctx {
    hdr_ctx h;
    votes  *v;
    size_t  n, cap;
    int     pass; /* 0 annotations, 1 comments */
} spans_ctx;

static wd_status on_span_ann(void *vctx, char **f, size_t nf, const char *where) {
    spans_ctx *c = vctx;
    if (!c->h.seen_header) {
        c->h.seen_header = 1;
        return need_cols(&c->h, f, nf, where);
    }
    if ((size_t)c->h.col[0] >= nf || (size_t)c->h.col[1] >= nf) return WD_OK;
    long id = strtol(f[c->h.col[0]], NULL, 10);
    int nt = !strcmp(f[c->h.col[1]], "True");
    if (c->n && c->v[c->n - 1].id == id) {
        c->v[c->n - 1].n++;
        c->v[c->n - 1].not_toxic += nt;
        return WD_OK;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4096;
        votes *nv = realloc(c->v, cap * sizeof *nv);
        if (!nv) return wd__fail(WD_ERR_NOMEM, "out of memory");
        c->v = nv;
        c->cap = cap;
    }
    c->v[c->n++] = (votes){id, 1, nt};
    return WD_OK;
}

static wd_status on_span_comment(void *vctx, char **f, size_t nf, const char *where) {
    spans_ctx *c = vctx;
    if (!c->h.seen_header) {
        c->h.seen_header = 1;
        return need_cols(&c->h, f, nf, where);
    }
    if ((size_t)c->h.col[0] >= nf || (size_t)c->h.col[1] >= nf) return WD_OK;
    votes key = {strtol(f[c->h.col[0]], NULL, 10), 0, 0};
    const votes *v = bsearch(&key, c->v, c->n, sizeof *c->v, cmp_votes);
    if (!v || v->n < 2) return WD_OK;
    const char *t = f[c->h.col[1]];
    if (v->not_toxic == v->n) return wd__textclf_add_weak(c->h.d, c->h.src, t, strlen(t), 0, WD_TEXTCLF_ALL_LABELS);
    if (v->not_toxic == 0) return wd__textclf_add_weak(c->h.d, c->h.src, t, strlen(t), H, H | PI);
    return WD_OK;
}

static wd_status load_toxic_spans(wd_textclf_dataset *d, const char *dir) {
    spans_ctx c = {0};
    c.h.d = d;
    c.h.src = wd_textclf_dataset_source(d, "toxic-spans", WD_TEXTCLF_USE_TRAIN, 0);
    char *ann = wd__path_join(dir, "toxic-spans/acl2022-raw/annotations.csv");
    char *com = wd__path_join(dir, "toxic-spans/acl2022-raw/comments.csv");
    wd_status rc = !ann || !com || c.h.src < 0 ? wd__fail(WD_ERR_NOMEM, "out of memory") : WD_OK;
    if (!rc) {
        c.h.want[0] = "comment_id";
        c.h.want[1] = "not toxic";
        c.h.n_col = 2;
        rc = wd__textclf_read_rows(ann, WD_DATASET_FORMAT_CSV, 1, on_span_ann, &c.h);
    }
    if (!rc) {
        qsort(c.v, c.n, sizeof *c.v, cmp_votes);
        /* merge runs of one id that were not adjacent in the file */
        size_t w = 0;
        for (size_t i = 0; i < c.n; i++) {
            if (w && c.v[w - 1].id == c.v[i].id) {
                c.v[w - 1].n += c.v[i].n;
                c.v[w - 1].not_toxic += c.v[i].not_toxic;
            } else c.v[w++] = c.v[i];
        }
        c.n = w;
        c.h.seen_header = 0;
        c.h.want[0] = "comment_id";
        c.h.want[1] = "comment_text";
        rc = wd__textclf_read_rows(com, WD_DATASET_FORMAT_CSV, 1, on_span_comment, &c.h);
    }
    free(c.v);
    free(ann);
    free(com);
    return rc;
}

/* GPTFuzz model responses (label 1 = the model complied with a harmful
 * request, 0 = it refused or deflected): the harmful-response signal for
 * the output role. train.csv is trained on; evaluate.csv is kept for
 * evaluation only (the held-out harmful-response figure). */
static wd_status on_gptfuzz_response(void *vctx, char **f, size_t nf, const char *where) {
    hdr_ctx *c = vctx;
    if (!c->seen_header) {
        c->seen_header = 1;
        return need_cols(c, f, nf, where);
    }
    if ((size_t)c->col[0] >= nf || (size_t)c->col[1] >= nf) return WD_OK;
    const char *t = f[c->col[0]], *lab = f[c->col[1]];
    if (strcmp(lab, "0") && strcmp(lab, "1"))
        return wd__fail(WD_ERR_FORMAT, "%s: label '%s' is neither 0 nor 1", where, lab);
    /* an answer: it trains and tests the harmful_response head only (a
     * refusal that names the harm is not a benign prompt about it) */
    return wd__textclf_add_weak(c->d, c->src, t, strlen(t), lab[0] == '1' ? WD_TEXTCLF_RESPONSE_BIT : 0,
                                WD_TEXTCLF_RESPONSE_BIT);
}

/* The loaders below set `path` to DIR/rel (NPATH) and skip a file that is
 * absent with a warning (NABSENT). */
#define NPATH(rel)                                                       \
    do {                                                                 \
        free(path);                                                      \
        path = wd__path_join(dir, (rel));                                \
        if (!path) return wd__fail(WD_ERR_NOMEM, "out of memory");       \
    } while (0)
#define NABSENT() \
    (!wd__path_exists(path) ? (WD_WARN("train-guard: %s is absent; skipped", path), 1) : 0)

/* Benign instructions: Self-Instruct's tasks and the screened Awesome
 * ChatGPT Prompts (role prompts, system-prompt style). */
wd_status wd__textclf_load_instructions(wd_textclf_dataset *d, const char *dir, size_t *found) {
    wd_status rc = WD_OK;
    char *path = NULL;
    {
        static const char *const files[] = {"self-instruct/seed_tasks.jsonl",
                                            "self-instruct/user_oriented_instructions.jsonl"};
        for (size_t i = 0; i < 2; i++) {
            NPATH(files[i]);
            if (NABSENT()) continue;
            int src = wd_textclf_dataset_source(d, "self-instruct", WD_TEXTCLF_USE_TRAIN, 0);
            if ((rc = load_jsonl(d, src, path, "instruction", "input", 0, WD_TEXTCLF_ALL_LABELS))) goto done;
            ++*found;
        }
    }
    NPATH("awesome-chatgpt-prompts/prompts.csv");
    if (!NABSENT()) {
        hdr_ctx c = {.d = d, .src = wd_textclf_dataset_source(d, "awesome-prompts", WD_TEXTCLF_USE_TRAIN, 0),
                     .want = {"prompt"}, .n_col = 1};
        if ((rc = wd__textclf_read_rows(path, WD_DATASET_FORMAT_CSV, 1, on_awesome, &c))) goto done;
        ++*found;
    }
done:
    free(path);
    return rc;
}

wd_status wd__textclf_load_v2(wd_textclf_dataset *d, const char *dir, int with_eval, size_t *found) {
    wd_status rc = WD_OK;
    char *path = NULL;
    NPATH("aart/aart-v1-20231117.csv");
    if (!NABSENT()) {
        hdr_ctx c = {.d = d, .src = wd_textclf_dataset_source(d, "aart", WD_TEXTCLF_USE_TRAIN, 0),
                     .want = {"prompt", "crime"}, .n_col = 2};
        if ((rc = wd__textclf_read_rows(path, WD_DATASET_FORMAT_CSV, 1, on_aart, &c))) goto done;
        ++*found;
    }
    {
        static const char *const catqa_skip[] = {"Political Campaigning", "Tailored Financial Advice", NULL};
        static const struct {
            const char *src, *file;
            int per_sub;
        } qa[] = {{"harmfulqa", "red-instruct/harmfulqa.json", 3},
                  {"catqa", "red-instruct/catqa_english.json", 0},
                  {"catqa", "red-instruct/catqa_chinese.json", 0},
                  {"catqa", "red-instruct/catqa_vietnamese.json", 0},
                  {"dangerousqa", "red-instruct/dangerousqa.json", 0}};
        for (size_t i = 0; i < sizeof qa / sizeof qa[0]; i++) {
            NPATH(qa[i].file);
            if (NABSENT()) continue;
            int src = wd_textclf_dataset_source(d, qa[i].src, WD_TEXTCLF_USE_TRAIN, 0);
            if ((rc = load_nested_qa(d, src, path, qa[i].src, qa[i].per_sub,
                                     !strcmp(qa[i].src, "catqa") ? catqa_skip : NULL)))
                goto done;
            ++*found;
        }
    }
    NPATH("multijail/MultiJail.csv");
    if (!NABSENT()) {
        hdr_ctx c = {.d = d, .src = wd_textclf_dataset_source(d, "multijail", WD_TEXTCLF_USE_TRAIN, 0),
                     .n_col = 11};
        c.want[0] = "id";
        for (int k = 0; k < 10; k++) c.want[k + 1] = multijail_langs[k];
        if ((rc = wd__textclf_read_rows(path, WD_DATASET_FORMAT_CSV, 1, on_multijail, &c))) goto done;
        ++*found;
    }
    NPATH("hatecheck/test_suite_cases.csv");
    if (!NABSENT()) {
        hdr_ctx c = {.d = d, .src = wd_textclf_dataset_source(d, "hatecheck", WD_TEXTCLF_USE_TRAIN, 0),
                     .want = {"test_case", "label_gold", "templ_id"}, .n_col = 3};
        if ((rc = wd__textclf_read_rows(path, WD_DATASET_FORMAT_CSV, 1, on_hatecheck, &c))) goto done;
        ++*found;
    }
    NPATH("davidson-hate/labeled_data.csv");
    if (!NABSENT()) {
        hdr_ctx c = {.d = d, .src = wd_textclf_dataset_source(d, "davidson", WD_TEXTCLF_USE_TRAIN, 0),
                     .want = {"count", "hate_speech", "offensive_language", "neither", "tweet"},
                     .n_col = 5};
        if ((rc = wd__textclf_read_rows(path, WD_DATASET_FORMAT_CSV, 1, on_davidson, &c))) goto done;
        ++*found;
    }
    NPATH("vicomtech-stormfront/stormfront_sentences.csv");
    if (!NABSENT()) {
        hdr_ctx c = {.d = d, .src = wd_textclf_dataset_source(d, "stormfront", WD_TEXTCLF_USE_TRAIN, 0),
                     .want = {"label", "text"}, .n_col = 2};
        if ((rc = wd__textclf_read_rows(path, WD_DATASET_FORMAT_CSV, 1, on_stormfront, &c))) goto done;
        ++*found;
    }
    NPATH("toxic-spans/acl2022-raw/comments.csv");
    if (!NABSENT()) {
        if ((rc = load_toxic_spans(d, dir))) goto done;
        ++*found;
    }
    {
        static const char *const parts[] = {"ConvAbuseEMNLPtrain.csv", "ConvAbuseEMNLPvalid.csv",
                                            "ConvAbuseEMNLPtest.csv"};
        for (size_t i = 0; i < 3; i++) {
            char rel[128];
            snprintf(rel, sizeof rel, "convabuse/%s", parts[i]);
            NPATH(rel);
            if (NABSENT()) continue;
            hdr_ctx c = {.d = d, .src = wd_textclf_dataset_source(d, "convabuse", WD_TEXTCLF_USE_TRAIN, 0),
                         .want = {"user"}, .n_col = 1};
            if ((rc = wd__textclf_read_rows(path, WD_DATASET_FORMAT_CSV, 1, on_convabuse, &c))) goto done;
            ++*found;
        }
    }
    NPATH("bipia/email/train.jsonl");
    if (!NABSENT()) {
        if ((rc = load_bipia(d, dir, "train")) || (rc = load_bipia(d, dir, "test"))) goto done;
        ++*found;
    }
    if ((rc = wd__textclf_load_instructions(d, dir, found))) goto done;
    NPATH("jailbreak-prompts/gptfuzz/train.csv");
    if (!NABSENT()) {
        hdr_ctx c = {.d = d, .src = wd_textclf_dataset_source(d, "gptfuzz-responses", WD_TEXTCLF_USE_TRAIN, 0),
                     .want = {"Response", "label"}, .n_col = 2};
        if ((rc = wd__textclf_read_rows(path, WD_DATASET_FORMAT_CSV, 1, on_gptfuzz_response, &c))) goto done;
        ++*found;
    }
    /* ordinary helpful answers: the harmful_response head's benign side
     * beyond GPTFuzz's (mostly refusals) */
    NPATH("dolly/databricks_dolly_1k_subset.csv");
    if (!NABSENT()) {
        wd__textclf_csv_ctx c = {d, wd_textclf_dataset_source(d, "dolly-responses", WD_TEXTCLF_USE_TRAIN, 0),
                                 2, -1, NULL, 0, WD_TEXTCLF_RESPONSE_BIT};
        if ((rc = wd__textclf_read_rows(path, WD_DATASET_FORMAT_CSV, 1, wd__textclf_on_csv_row, &c))) goto done;
        ++*found;
    }
    NPATH("self-instruct/user_oriented_instructions.jsonl");
    if (!NABSENT()) {
        int src = wd_textclf_dataset_source(d, "self-instruct-outputs", WD_TEXTCLF_USE_TRAIN, 0);
        if ((rc = load_jsonl(d, src, path, "instances.0.output", NULL, 0, WD_TEXTCLF_RESPONSE_BIT))) goto done;
        ++*found;
    }
    if (with_eval) {
        NPATH("jailbreak-prompts/gptfuzz/evaluate.csv");
        if (!NABSENT()) {
            hdr_ctx c = {.d = d,
                         .src = wd_textclf_dataset_source(d, "gptfuzz-resp-eval", WD_TEXTCLF_USE_EVAL, 0),
                         .want = {"Response", "label"}, .n_col = 2};
            if ((rc = wd__textclf_read_rows(path, WD_DATASET_FORMAT_CSV, 1, on_gptfuzz_response, &c))) goto done;
            ++*found;
        }
        /* evaluation only (not ship-ok) */
        static const char *const ok[] = {"oktest/OKTest.csv", "oktest/OKTest_heldout.csv"};
        for (size_t i = 0; i < 2; i++) {
            NPATH(ok[i]);
            if (NABSENT()) continue;
            wd__textclf_csv_ctx c = {d, wd_textclf_dataset_source(d, "oktest", WD_TEXTCLF_USE_EVAL, 0),
                                     0, -1, NULL, 0, WD_TEXTCLF_ALL_LABELS};
            if ((rc = wd__textclf_read_rows(path, WD_DATASET_FORMAT_CSV, 0, wd__textclf_on_csv_row, &c)))
                goto done;
            ++*found;
        }
        static const struct {
            const char *src, *file;
            uint32_t pos;
        } stl[] = {{"stl-harmful", "safety-tuned-llamas/evaluation/I-MaliciousInstructions.json", H},
                   {"stl-harmful", "safety-tuned-llamas/evaluation/I-CoNa.json", H},
                   {"stl-harmful", "safety-tuned-llamas/evaluation/I-Controversial.json", H},
                   {"stl-harmful", "safety-tuned-llamas/evaluation/Q-Harm.json", H},
                   {"stl-physical-unsafe", "safety-tuned-llamas/evaluation/I-PhysicalSafetyUnsafe.json", H},
                   {"stl-physical-safe", "safety-tuned-llamas/evaluation/I-PhysicalSafetySafe.json", 0},
                   {"stl-alpaca", "safety-tuned-llamas/evaluation/I-Alpaca.json", 0}};
        for (size_t i = 0; i < sizeof stl / sizeof stl[0]; i++) {
            NPATH(stl[i].file);
            if (NABSENT()) continue;
            wd_dataset *ds;
            if ((rc = wd__textclf_open_records(path, WD_DATASET_FORMAT_JSON, NULL, "instructions", &ds)))
                goto done;
            int src = wd_textclf_dataset_source(d, stl[i].src, WD_TEXTCLF_USE_EVAL, 0);
            const wd_dataset_item *it;
            while (!(rc = wd__textclf_next_record(ds, &it)) && it)
                if ((rc = wd_textclf_dataset_add(d, src, it->text, it->text_len, stl[i].pos, H))) break;
            wd_dataset_free(ds);
            if (rc) goto done;
            ++*found;
        }
    }
    /* Whatever is harmful as a prompt or as content is harmful in an
     * answer too: a third of the examples that speak to "harmful" (chosen
     * by a hash of the text) also train the harmful_response head with the
     * same label, so that the head knows the harms themselves and the
     * answers teach it the difference between giving and refusing them.
     * Not Davidson's tweets: their "offensive" class is profanity (harmful
     * as a prompt label there, not as an answer), and their mojibake made
     * garbled bytes read as hate. */
    if (!rc) {
        int davidson = -1;
        for (size_t s = 0; s < d->n_sources; s++)
            if (!strcmp(d->sources[s].name, "davidson")) davidson = (int)s;
        for (size_t i = 0; i < d->n; i++) {
            wd__textclf_example *x = &d->ex[i];
            if (!(x->known & 1u) || (int)x->source == davidson ||
                wd__textclf_hash(x->norm, x->norm_len, 0x52455350ull) % 3)
                continue;
            x->known |= WD_TEXTCLF_RESPONSE_BIT;
            if (x->pos & 1u) x->pos |= WD_TEXTCLF_RESPONSE_BIT;
        }
    }
done:
    free(path);
    return rc;
#undef NPATH
#undef NABSENT
}

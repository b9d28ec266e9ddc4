/*
 * train/benign_gen.c - warden's own generator of benign prompts that use
 * alarming words innocently ("kill the yeast", "shoot birds in flight",
 * "kill the process", "overdose symptoms to watch for").
 *
 * The public harmful-prompt sets are large and their benign counterparts
 * thin, so a classifier trained on them alone learns "mentions a weapon /
 * a drug / an exploit => harmful". These prompts teach it that topic words
 * are not intent. Every template and filler was written for warden (none
 * is taken from a dataset); the word tables are in benign_topics.inc and
 * benign_shapes.inc, this file holds the domain table, the slot lists,
 * the openers and closers, and the generator.
 *
 * A prompt = [opener] + template with its slots filled + [closer]. Each
 * domain has templates with slots {a} and {b} and its own filler lists.
 * The generator is a deterministic function of the RNG state (base/rng.h):
 * the same seed gives the same prompts, and the shipped model depends on
 * them, so the tables' order and the draws must not change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/rng.h"
#include "train/textclf_train.h"

typedef struct domain {
    const char *const *tpl;
    const char *const *a;
    const char *const *b;
} domain;

#define LIST(name, ...) static const char *const name[] = {__VA_ARGS__, NULL}

/* The word tables: topics (part 1) and request shapes (part 2). */
#include "train/benign_topics.inc"
#include "train/benign_shapes.inc"

static const domain domains[] = {
    {cook_t, cook_a, cook_b},   {sport_t, sport_a, sport_b}, {comp_t, comp_a, comp_b},
    {sec_t, sec_a, sec_b},      {code_t, code_a, code_b},    {code_t, code_a, code_b},
    {hist_t, hist_a, hist_b},   {med_t, med_a, med_b},       {fic_t, fic_a, fic_a},
    {home_t, home_a, home_b},   {work_t, work_a, work_b},    {sci_t, sci_a, sci_b},
    {gen_t, gen_a, gen_b},      {gen_t, gen_a, gen_b},       {gen_t, gen_a, gen_b},
    {gen_t, gen_a, gen_b},      {sec2_t, sec2_a, sec2_b},    {sec2_t, sec2_a, sec2_b},
    {def_t, def_a, def_b},      {def_t, def_a, def_b},       {def_t, def_a, def_b},
    {task_t, task_a, gen_b},    {task_t, task_a, gen_b},     {task_t, task_a, gen_b},
    {role_t, role_a, role_b},   {role_t, role_a, role_b},    {chat_t, chat_a, chat_b},
    {ident_t, ident_a, ident_b},         {ident_t, ident_a, ident_b},
    {poly_t, poly_a, poly_b},   {poly_t, poly_a, poly_b},    {poly_t, poly_a, poly_b},
    /* added 2026-12-07; the v1 data (wd_textclf_dataset_load with
     * WD_TEXTCLF_LOAD_V1) draws from the domains above only, so that the
     * v1 model still rebuilds byte for byte */
    {howto_t, howto_a, howto_b}, {howto_t, howto_a, howto_b}, {howto_t, howto_a, howto_b},
};
#define N_DOMAINS (sizeof domains / sizeof domains[0])
#define N_DOMAINS_V1 (N_DOMAINS - 3)

/* extra slot lists used by some templates */
static const char *const *slot_list(const domain *dm, char slot) {
    if (dm->tpl == sec_t && slot == 'c') return sec_c;
    if (dm->tpl == med_t && slot == 'c') return med_c;
    if (dm->tpl == home_t) {
        switch (slot) {
        case 'c': return home_c;
        case 'd': return home_d;
        case 'e': return home_e;
        case 'f': return home_f;
        }
    }
    if (dm->tpl == work_t && slot == 'c') return work_c;
    if (dm->tpl == gen_t) {
        switch (slot) {
        case 'c': return gen_c;
        case 'd': return gen_d;
        case 'e': return gen_e;
        case 'f': return gen_f;
        case 'g': return gen_g;
        case 'h': return gen_h;
        }
    }
    if (dm->tpl == sec2_t && slot == 'c') return sec2_c;
    if (dm->tpl == task_t) {
        switch (slot) {
        case 'n': return task_n;
        case 's': return task_s;
        case 'q': return task_q;
        case 'd': return gen_d;
        case 'r': return task_r;
        case 'e': return task_e;
        }
    }
    if (dm->tpl == role_t) {
        switch (slot) {
        case 'c': return role_c;
        case 'd': return role_d;
        case 'e': return role_e;
        case 'f': return role_f;
        }
    }
    if (dm->tpl == chat_t) {
        switch (slot) {
        case 'c': return chat_c;
        case 'd': return chat_d;
        }
    }
    if (dm->tpl == ident_t) {
        switch (slot) {
        case 'c': return ident_c;
        case 'd': return ident_d;
        }
    }
    if (dm->tpl == poly_t && slot == 'c') return poly_c;
    if (dm->tpl == def_t) {
        switch (slot) {
        case 'c': return def_c;
        case 's': return def_s;
        case 'v': return def_v;
        case 'w': return def_w;
        case 'm': return def_m;
        case 'o': return def_o;
        case 'k': return def_k;
        }
    }
    return slot == 'a' ? dm->a : slot == 'b' ? dm->b : dm->a;
}

LIST(openers, "Quick question: ", "Hi! ", "I'm a beginner. ",
     "Sorry if this is basic, but ", "For a school project: ", "Hey, ", "Can you help? ",
     "I've been wondering: ", "Honest question. ");
LIST(closers, " Thanks!", " Please keep it short.", " Step by step please.",
     " Thanks in advance.", " Explain like I'm five.", " Any tips appreciated.");

static size_t list_len(const char *const *l) {
    size_t n = 0;
    while (l[n]) n++;
    return n;
}

static const char *pick(uint64_t *rng, const char *const *l) {
    return l[wd__rng_below(rng, list_len(l))];
}

static void put(char *buf, size_t cap, size_t *n, const char *s, size_t len) {
    for (size_t i = 0; i < len && *n + 1 < cap; i++) buf[(*n)++] = s[i];
    buf[*n < cap ? *n : cap - 1] = 0;
}

static size_t benign_one(uint64_t *rng, char *buf, size_t cap, size_t n_domains) {
    if (!cap) return 0;
    size_t n = 0;
    buf[0] = 0;
    const domain *dm = &domains[wd__rng_below(rng, n_domains)];
    const char *tpl = pick(rng, dm->tpl);
    /* openers and closers carry no signal: the harmful side gets them at
     * the same rate (wd_textclf_augment_harmful) */
    const char *op = wd__rng_below(rng, 8) == 0 ? pick(rng, openers) : "";
    put(buf, cap, &n, op, strlen(op));
    int lower_first = strlen(op) >= 2 && op[strlen(op) - 2] != '.' && op[strlen(op) - 2] != '!' &&
                      op[strlen(op) - 2] != '?' && op[strlen(op) - 2] != ':';
    for (const char *p = tpl; *p; p++) {
        if (p[0] == '{' && p[1] && p[2] == '}') {
            const char *f = pick(rng, slot_list(dm, p[1]));
            put(buf, cap, &n, f, strlen(f));
            p += 2;
            continue;
        }
        if (p[0] == '{' && p[1] == 'a' && p[2] == '2' && p[3] == '}') {
            const char *f = pick(rng, sec2_a2);
            put(buf, cap, &n, f, strlen(f));
            p += 3;
            continue;
        }
        char c = *p;
        if (p == tpl && lower_first && c >= 'A' && c <= 'Z' && !(p[1] == ' ' || p[1] == '\''))
            c = (char)(c - 'A' + 'a');
        put(buf, cap, &n, &c, 1);
    }
    const char *cl = wd__rng_below(rng, 8) == 0 ? pick(rng, closers) : "";
    put(buf, cap, &n, cl, strlen(cl));
    return n;
}

size_t wd__textclf_benign_one(uint64_t *rng, char *buf, size_t cap) { return benign_one(rng, buf, cap, N_DOMAINS); }

wd_status wd_textclf_benign_generate(wd_textclf_dataset *d, size_t n, uint64_t seed) {
    int src = wd_textclf_dataset_source(d, "gen-benign", WD_TEXTCLF_USE_TRAIN, 1);
    if (src < 0) return wd__fail(WD_ERR_NOMEM, "out of memory");
    uint64_t rng = seed ^ 0xbe9196e9ull;
    char buf[1024];
    /* duplicates are dropped by the dataset, so try a bounded number of times */
    size_t before = d->n, tries = 0;
    while (d->n - before < n && tries < n * 4) {
        size_t len = benign_one(&rng, buf, sizeof buf, d->v1_only ? N_DOMAINS_V1 : N_DOMAINS);
        wd_status rc = wd_textclf_dataset_add(d, src, buf, len, 0, WD_TEXTCLF_ALL_LABELS);
        if (rc) return rc;
        tries++;
    }
    return WD_OK;
}

/* The openers and closers above appear only in generated benign prompts;
 * left alone, the model would learn "Thanks!" as evidence of innocence and
 * anyone could append it to a harmful request. So a share of the harmful
 * TRAIN examples is copied with a random opener and closer (source
 * "aug-harmful", always in the train split: held-out texts are never
 * augmented). Call after wd_textclf_dataset_split. */
wd_status wd_textclf_augment_harmful(wd_textclf_dataset *d, double frac, uint64_t seed) {
    int src = wd_textclf_dataset_source(d, "aug-harmful", WD_TEXTCLF_USE_TRAIN, 1);
    if (src < 0) return wd__fail(WD_ERR_NOMEM, "out of memory");
    uint64_t rng = seed ^ 0xa06e47ull;
    size_t n0 = d->n;
    char buf[4096];
    for (size_t i = 0; i < n0; i++) {
        const wd__textclf_example *x = &d->ex[i];
        if (x->split != WD_TEXTCLF_SPLIT_TRAIN || !(x->pos & 1) || d->sources[x->source].synthetic)
            continue;
        if (wd__rng_unit(&rng) >= frac) continue;
        uint64_t r = wd__rng_next(&rng);
        const char *op = r & 1 ? pick(&rng, openers) : "", *cl = r & 2 ? pick(&rng, closers) : "";
        if (!op[0] && !cl[0]) op = pick(&rng, openers);
        int len = snprintf(buf, sizeof buf, "%s%s%s", op, x->text, cl);
        if (len < 0 || (size_t)len >= sizeof buf) continue;
        wd_status rc = wd__textclf_add_train_copy(d, src, buf, (size_t)len, x->pos, x->known, x->source);
        if (rc) return rc;
    }
    return WD_OK;
}

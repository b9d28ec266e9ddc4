/*
 * tools/warden/cmd_train_guard.c - `warden train-guard`: train the built-in
 * classifier on the ship-ok public datasets and/or print its held-out
 * metrics (the acceptance figures recorded in models/README.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_flags.h"
#include "warden/textclf.h"

/* ==== flags ============================================================== */

typedef struct span {
    int lo, hi; /* an n-gram range MIN-MAX */
} span;

enum { DATA_V1, DATA_ALL, DATA_V1_INSTRUCTIONS };
static const char *const DATA_SETS[] = {"v1", "all", "v1+instructions", NULL};
static const char *const ARCHS[] = {"linear", "cnn", NULL}; /* WD_TEXTCLF_ARCH_* */

typedef struct opts {
    const char *out, *data_dir, *model, *policy, *split_of, *scores;
    bool        eval, no_loso;
    long        seed, epochs, hash_bits, concepts, n_benign, source_cap, gen_cap, loso_epochs, show_errors;
    int         data; /* DATA_V1, DATA_ALL or DATA_V1_INSTRUCTIONS */
    int         arch; /* WD_TEXTCLF_ARCH_* */
    long        cnn_dim, cnn_filters, cnn_width;
    double      dropout;
    span        word, chars;
    double      lr, l2, cat_weight, harm_weight, frame, reshape;
    double      threshold, set_threshold; /* < 0: not given */
} opts;

#define O(f) offsetof(opts, f)

/* --word-ngrams / --char-ngrams MIN-MAX into a span, 0 <= MIN <= MAX <= 8. */
static bool ngram_flag(const cli_flag *r, void *field, const char *v, const char *cmd) {
    int lo, hi;
    if (sscanf(v, "%d-%d", &lo, &hi) != 2 || lo < 0 || hi < lo || hi > 8) {
        cli_usage_error(cmd, "%s: expected MIN-MAX (0-8), got '%s'", r->name, v);
        return false;
    }
    *(span *)field = (span){lo, hi};
    return true;
}

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden train-guard --out FILE [options]     train, save, print metrics\n"
             "       warden train-guard --eval [--model FILE]    evaluate a model (default: built-in)\n\n"
             "Trains warden's built-in classifier (hashed word and character n-grams of the\n"
             "normalised text, linear multi-label model: harmful, S1-S14, prompt_injection)\n"
             "on the ship-ok datasets of ../shared/data/MANIFEST.md plus warden's own\n"
             "generated benign prompts. 20% of every source (by a seeded hash of the text)\n"
             "is held out and never trained on; the metrics are computed on it, on the\n"
             "cyberseceval false-refusal prompts and on two evaluation-only sets.\n\n"
             "options:\n"),
    CLI_STR("--out", O(out), "FILE", "where to write the model (safetensors)"),
    CLI_STR("--data-dir", O(data_dir), "DIR", "datasets (default %s)", .show = true),
    CLI_INT("--seed", O(seed), "N", 0, 1L << 40, "split, shuffling and generator seed (default %ld)", .show = true),
    CLI_INT("--epochs", O(epochs), "N", 1, 1000, "maximum epochs (default %ld; early stopping)", .show = true),
    CLI_DOUBLE("--lr", O(lr), "X", 0, 10, "Adam step size (default 0.02; cnn 0.002)"),
    CLI_DOUBLE("--l2", O(l2), "X", 0, 10, "L2 penalty (default 2e-4)"),
    CLI_INT("--hash-bits", O(hash_bits), "N", 10, 24, "2^N feature buckets (default %ld)", .show = true),
    CLI_CALL("--word-ngrams", O(word), ngram_flag, "A-B", "word n-gram orders (default 1-2)"),
    CLI_CALL("--char-ngrams", O(chars), ngram_flag, "A-B",
             "character n-gram lengths inside words (default 4-5; 0-0 = none)"),
    CLI_INT("--concepts", O(concepts), "0|1", 0, 1, "WordNet concept features (default %ld)", .show = true),
    CLI_INT("--n-benign", O(n_benign), "N", 0, 1000000, "generated benign prompts (default %ld)", .show = true),
    CLI_INT("--source-cap", O(source_cap), "N", 1, 10000000, "a source weighs at most N examples (default %ld)",
            .show = true),
    CLI_INT("--gen-cap", O(gen_cap), "N", 1, 10000000,
            "the same for the generated benign prompts (default %ld)", .show = true),
    CLI_ENUM("--data", O(data), "v1|all|v1+instructions", DATA_SETS,
             "v1: only the sources the shipped v1 model was trained on\n"
             "(with --concepts 0 --no-loso it rebuilds it byte for byte);\n"
             "all (default): also the sets added 2026-12-06;\n"
             "v1+instructions: v1 and the benign instruction sets\n"
             "(self-instruct, awesome-prompts)",
             .bad = "--data: expected v1, all or v1+instructions, got '%s'"),
    CLI_ENUM("--arch", O(arch), "linear|cnn", ARCHS,
             "model: linear over n-grams (default), or a word CNN with max-pooling\n"
             "(--hash-bits and --char-ngrams then size its word vectors' buckets)",
             .bad = "--arch: expected linear or cnn, got '%s'"),
    CLI_INT("--cnn-dim", O(cnn_dim), "N", 8, 256, "cnn: word vector size, a multiple of 8 (default %ld)", .show = true),
    CLI_INT("--cnn-filters", O(cnn_filters), "N", 32, 1024, "cnn: filters, a multiple of 32 (default %ld)",
            .show = true),
    CLI_INT("--cnn-width", O(cnn_width), "N", 1, 7, "cnn: words a filter sees (default %ld)", .show = true),
    CLI_DOUBLE("--dropout", O(dropout), "X", 0, 0.95, "cnn: dropout on the pooled features (default 0.5)"),
    CLI_DOUBLE("--cat-weight", O(cat_weight), "X", 0, 10, "weight of the hazard / injection losses (default 2)"),
    CLI_DOUBLE("--harm-weight", O(harm_weight), "X", 0, 10,
               "weight of a harmful example (default 0.5; 0 = balance)"),
    CLI_DOUBLE("--frame", O(frame), "X", 0, 1,
               "copy a share X of the train examples, harmful and benign\n"
               "alike, inside a wrapper (decoding instruction, unrelated\n"
               "sentence first, quoted pieces) so wrappers carry no signal\n"
               "(default 0.15, the shipped model's; 0 = none)"),
    CLI_DOUBLE("--reshape", O(reshape), "X", 0, 1,
               "ask a share X of the train requests, harmful and benign\n"
               "alike, in another form (\"How can I ...?\" <-> \"Write ...\"\n"
               "<-> \"I want to ...\") so the form carries no signal (default 0)"),
    CLI_BOOL("--eval", O(eval), "print metrics (implied when training)"),
    CLI_BOOL("--no-loso", O(no_loso), "skip the leave-one-source-out table (one model per fold:\n"
                                      "minutes); training then keeps the threshold 0.5"),
    CLI_INT("--loso-epochs", O(loso_epochs), "N", 1, 1000,
            "maximum epochs of a fold's model (default %ld; patience 2)", .show = true),
    CLI_STR("--model", O(model), "FILE", "evaluate this model instead of training ('answers':\n"
                                         "the built-in answers model)"),
    CLI_STR("--policy", O(policy), "FILE", "evaluate a whole guard instead ('default' = built-in policy)"),
    CLI_DOUBLE("--threshold", O(threshold), "X", 0, 10, "harmful threshold for the metrics (default: the model's)"),
    CLI_DOUBLE("--set-threshold", O(set_threshold), "X", 0.01, 0.99,
               "store X as the model's harmful threshold (default: chosen\n"
               "on the leave-one-source-out predictions; 0.5 with --no-loso)"),
    CLI_STR("--scores", O(scores), "FILE", "write each held-out and eval-only example's score as TSV\n"
                                           "(index, source, split, label, truth, score; written atomically),\n"
                                           "to compare models or ensembles at any threshold"),
    CLI_INT("--show-errors", O(show_errors), "N", 0, 1000000, "print up to N misclassified texts per source"),
    CLI_STR("--split-of", O(split_of), "FILE", "print which split (train, val, held-out) each line of FILE\n"
                                               "falls in for --seed, as 'split<TAB>text' (to report\n"
                                               "figures on texts the built-in model never trained on)"),
};

/* The options before parsing: the defaults of p (the shipped model's). */
static opts opts_default(const wd_textclf_train_params *p) {
    return (opts){.data_dir = "../shared/data", .seed = (long)p->seed, .epochs = p->epochs,
                  .hash_bits = p->cfg.hash_bits, .concepts = p->cfg.concepts, .n_benign = 25000,
                  .source_cap = (long)p->source_cap, .gen_cap = (long)p->gen_cap, .loso_epochs = 10,
                  .data = DATA_ALL, .word = {p->cfg.word_min, p->cfg.word_max},
                  .chars = {p->cfg.char_min, p->cfg.char_max}, .lr = -1, .l2 = p->l2,
                  .cat_weight = p->cat_weight, .harm_weight = p->harm_pos_w, .threshold = -1,
                  .set_threshold = -1, .frame = 0.15, .arch = p->arch,
                  .cnn_dim = p->cnn_dim, .cnn_filters = p->cnn_filters, .cnn_width = p->cnn_width,
                  .dropout = p->dropout};
}

/* Writes the training settings of o into p. */
static void opts_apply(const opts *o, wd_textclf_train_params *p) {
    p->seed = (uint64_t)o->seed;
    p->epochs = (int)o->epochs;
    p->cfg.hash_bits = (int)o->hash_bits;
    p->cfg.concepts = (int)o->concepts;
    p->cfg.word_min = o->word.lo;
    p->cfg.word_max = o->word.hi;
    p->cfg.char_min = o->chars.lo;
    p->cfg.char_max = o->chars.hi;
    p->source_cap = (size_t)o->source_cap;
    p->gen_cap = (size_t)o->gen_cap;
    p->arch = o->arch;
    p->cnn_dim = (int)o->cnn_dim;
    p->cnn_filters = (int)o->cnn_filters;
    p->cnn_width = (int)o->cnn_width;
    p->dropout = (float)o->dropout;
    if (o->arch == WD_TEXTCLF_ARCH_CNN) {
        const wd_textclf_train_params c = wd_textclf_train_params_cnn();
        p->lr = c.lr;
        p->sample_capped = c.sample_capped;
    }
    if (o->lr >= 0) p->lr = (float)o->lr;
    p->l2 = (float)o->l2;
    p->cat_weight = (float)o->cat_weight;
    p->harm_pos_w = (float)o->harm_weight;
}

/* ==== reports ============================================================ */
static double pct(size_t a, size_t b) { return b ? 100.0 * (double)a / (double)b : 0.0; }

static void print_counts(const char *what, const wd_textclf_counts *c) {
    double p = c->tp + c->fp ? (double)c->tp / (double)(c->tp + c->fp) : 0;
    double r = c->tp + c->fn ? (double)c->tp / (double)(c->tp + c->fn) : 0;
    double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0;
    printf("%-34s precision %.4f  recall %.4f  F1 %.4f  (tp %zu fp %zu fn %zu tn %zu)\n", what, p,
           r, f1, c->tp, c->fp, c->fn, c->tn);
}

static const wd_textclf_source_eval *src_eval(const wd_textclf_dataset *d, const wd_textclf_report *r,
                                           const char *name) {
    for (size_t s = 0; s < r->n_sources; s++)
        if (!strcmp(wd_textclf_dataset_source_name(d, s), name) && r->src[s].n) return &r->src[s];
    return NULL;
}

/* F1 over the named sources (harmful ones count as positives). */
static void f1_line(const wd_textclf_dataset *d, const wd_textclf_report *r, const char *what,
                    const char *const *names) {
    size_t tp = 0, fp = 0, fn = 0, n = 0;
    for (const char *const *nm = names; *nm; nm++) {
        const wd_textclf_source_eval *e = src_eval(d, r, *nm);
        if (!e) continue;
        n += e->n;
        tp += e->flagged_pos;
        fn += e->n_pos - e->flagged_pos;
        fp += e->flagged - e->flagged_pos;
    }
    if (!n) return;
    double p = tp + fp ? (double)tp / (double)(tp + fp) : 0, rc = tp + fn ? (double)tp / (double)(tp + fn) : 0;
    printf("  %-44s precision %.3f  recall %.3f  F1 %.3f  (n %zu)\n", what, p, rc,
           p + rc > 0 ? 2 * p * rc / (p + rc) : 0, n);
}

static void flagged_line(const wd_textclf_dataset *d, const wd_textclf_report *r, const char *what,
                         const char *name) {
    const wd_textclf_source_eval *e = src_eval(d, r, name);
    if (!e || e->n == e->n_pos) return;
    printf("  %-44s %.1f%% flagged  (%zu / %zu)\n", what,
           pct(e->flagged - e->flagged_pos, e->n - e->n_pos), e->flagged - e->flagged_pos,
           e->n - e->n_pos);
}

/* The generalisation targets' figures, from the table above. */
static void print_targets(const wd_textclf_dataset *d, const wd_textclf_report *r) {
    printf("\ngeneralisation targets:\n");
    static const char *const tc[] = {"toxicchat-toxic", "toxicchat-jailbreak", "toxicchat-nontoxic", NULL};
    static const char *const gr[] = {"gptfuzz-resp-eval", NULL};
    f1_line(d, r, "ToxicChat (train part, eval-only), target F1 >= 0.55:", tc);
    f1_line(d, r, "GPTFuzz responses (evaluate.csv, eval-only), >= 0.80:", gr);
    const wd_textclf_source_eval *h = src_eval(d, r, "hatecheck");
    if (h && h->n_pos && h->n > h->n_pos)
        printf("  %-44s hateful recall %.1f%% (>= 90), non-hateful flagged %.1f%% (<= 15)\n",
               "HateCheck, held-out templates:", pct(h->flagged_pos, h->n_pos),
               pct(h->flagged - h->flagged_pos, h->n - h->n_pos));
    flagged_line(d, r, "OKTest (eval-only), target <= 5%:", "oktest");
    flagged_line(d, r, "CyberSecEval FRR (eval-only), target <= 5%:", "cyberseceval-frr");
    flagged_line(d, r, "Alpaca (eval-only), target <= 2%:", "alpaca-harmless");
    flagged_line(d, r, "safety-tuned-llamas PhysicalSafetySafe:", "stl-physical-safe");
}

static void print_report(const wd_textclf_dataset *d, const wd_textclf_report *r) {
    if (r->threshold >= 0) printf("threshold p(harmful) >= %.3f\n", r->threshold);
    else printf("flagged = the guard's verdict is unsafe (any category)\n");
    print_counts("held-out, public sources:", &r->heldout_real);
    print_counts("held-out, incl. generated benign:", &r->heldout_all);
    printf("\n%-22s %-9s %6s %6s %9s %9s %10s\n", "source", "split", "n", "harm", "recall%",
           "FPR%", "top-hazard%");
    for (size_t s = 0; s < r->n_sources; s++) {
        const wd_textclf_source_eval *e = &r->src[s];
        if (!e->n) continue;
        char rec[16] = "-", fpr[16] = "-", cat[16] = "-";
        if (e->n_pos) snprintf(rec, sizeof rec, "%.1f", pct(e->flagged_pos, e->n_pos));
        if (e->n > e->n_pos)
            snprintf(fpr, sizeof fpr, "%.1f", pct(e->flagged - e->flagged_pos, e->n - e->n_pos));
        if (e->cat_known) snprintf(cat, sizeof cat, "%.1f", pct(e->cat_top_ok, e->cat_known));
        printf("%-22s %-9s %6zu %6zu %9s %9s %10s\n", wd_textclf_dataset_source_name(d, s),
               wd_textclf_dataset_source_use(d, s) == WD_TEXTCLF_USE_EVAL ? "eval-only" : "held-out",
               e->n, e->n_pos, rec,
               fpr, cat);
    }
    for (size_t s = 0; s < r->n_sources; s++)
        if (!strcmp(wd_textclf_dataset_source_name(d, s), "cyberseceval-frr") && r->src[s].n)
            printf("\ncyberseceval false-refusal prompts flagged: %zu / %zu = %.2f%%\n",
                   r->src[s].flagged, r->src[s].n, pct(r->src[s].flagged, r->src[s].n));
    print_targets(d, r);
    if (r->threshold >= 0)
        printf("classifier time: %.3f ms per 1000 texts (mixed lengths)\n", r->ms_per_1k);
}

static const char *const fold_kind_names[] = {"harmful requests", "toxic content", "injection"};

/* The leave-one-source-out table at threshold t; returns the macro F1 of
 * the request folds. */
static double print_loso(const wd_textclf_dataset *d, const wd_textclf_fold *folds, size_t n_folds,
                         const float *oof, float t) {
    printf("\nleave-one-source-out (each fold: a model trained without its families, tested on "
           "them), p >= %.3f\n", t);
    printf("%-36s %6s %6s %8s %7s %9s %7s\n", "fold (families left out)", "n", "pos", "recall%",
           "FPR%", "precision", "F1");
    double sum[3] = {0}, req = 0;
    int cnt[3] = {0};
    for (size_t k = 0; k < n_folds; k++) {
        wd_textclf_counts c = wd_textclf_fold_counts(d, oof + k * wd_textclf_dataset_n_examples(d), folds[k].kind, t);
        size_t n = c.tp + c.fp + c.fn + c.tn, np = c.tp + c.fn;
        if (!n) continue;
        double prec = c.tp + c.fp ? (double)c.tp / (double)(c.tp + c.fp) : 0;
        double rec = np ? (double)c.tp / (double)np : 0;
        double f1 = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0;
        char fpr[16] = "-";
        if (n > np) snprintf(fpr, sizeof fpr, "%.1f", pct(c.fp, n - np));
        printf("%-36s %6zu %6zu %8.1f %7s %9.3f %7.3f\n", folds[k].name, n, np, 100 * rec, fpr,
               prec, f1);
        sum[folds[k].kind] += f1;
        cnt[folds[k].kind]++;
    }
    for (int k = 0; k < 3; k++)
        if (cnt[k]) printf("macro F1, %-17s %.4f  (%d folds)\n", fold_kind_names[k], sum[k] / cnt[k], cnt[k]);
    if (cnt[0]) req = sum[0] / cnt[0];
    return req;
}

/* Mean false-positive rate over the request folds at t: unseen benign
 * instructions flagged. */
static double loso_request_fpr(const wd_textclf_dataset *d, const wd_textclf_fold *folds, size_t n_folds,
                               const float *oof, float t) {
    double sum = 0;
    int cnt = 0;
    for (size_t k = 0; k < n_folds; k++) {
        if (folds[k].kind != WD_TEXTCLF_FOLD_REQUEST) continue;
        wd_textclf_counts c = wd_textclf_fold_counts(d, oof + k * wd_textclf_dataset_n_examples(d), folds[k].kind, t);
        if (!(c.fp + c.tn)) continue;
        sum += (double)c.fp / (double)(c.fp + c.tn);
        cnt++;
    }
    return cnt ? sum / cnt : 0;
}

/* The threshold criterion: the mean over the request and toxic folds of a
 * class-balanced F1, i.e. F1 with the false positives scaled by
 * n_pos / n_neg, as if each fold held as many benign texts as harmful
 * ones. Plain F1 rewards recall on folds that are mostly harmful (Davidson
 * is 86% harmful) and chose thresholds that flag half of unseen benign
 * text. */
static double loso_macro(const wd_textclf_dataset *d, const wd_textclf_fold *folds, size_t n_folds,
                         const float *oof, float t) {
    double sum = 0;
    int cnt = 0;
    for (size_t k = 0; k < n_folds; k++) {
        if (folds[k].kind == WD_TEXTCLF_FOLD_INJECTION) continue;
        wd_textclf_counts c = wd_textclf_fold_counts(d, oof + k * wd_textclf_dataset_n_examples(d), folds[k].kind, t);
        size_t np = c.tp + c.fn, nn = c.fp + c.tn;
        if (!np) continue;
        double fp = nn ? (double)c.fp * (double)np / (double)nn : 0;
        sum += c.tp ? 2.0 * (double)c.tp / (2.0 * (double)c.tp + fp + (double)c.fn) : 0;
        cnt++;
    }
    return cnt ? sum / cnt : 0;
}

/* Runs the folds; on success *oof (n_folds * examples) is malloc'ed. */
static int run_loso(wd_textclf_dataset *d, const wd_textclf_train_params *p, int loso_epochs, float **oof) {
    size_t n_folds;
    const wd_textclf_fold *folds = wd_textclf_default_folds(&n_folds);
    size_t n = wd_textclf_dataset_n_examples(d);
    *oof = malloc((n ? n : 1) * n_folds * sizeof **oof);
    if (!*oof) return cli_error("out of memory");
    fprintf(stderr, "train-guard: leave-one-source-out: %zu folds, one model each\n", n_folds);
    wd_textclf_train_params fp = *p;
    fp.epochs = loso_epochs < fp.epochs ? loso_epochs : fp.epochs;
    fp.patience = fp.patience > 2 ? 2 : fp.patience;
    fp.sample_capped = 1; /* the folds train on samples of capped sources (time) */
    wd_status st = wd_textclf_loso(d, &fp, folds, n_folds, *oof);
    if (st) {
        free(*oof);
        *oof = NULL;
        return cli_fail(st, "leave-one-source-out");
    }
    return CLI_OK;
}

/* Prints up to n misclassified texts per source (held-out and eval-only). */
static void show_errors(const wd_textclf *m, const wd_textclf_dataset *d, float thr, long n) {
    float probs[WD_TEXTCLF_MAX_LABELS];
    long *shown = calloc(wd_textclf_dataset_n_sources(d), sizeof *shown);
    if (!shown) return;
    for (size_t i = 0; i < wd_textclf_dataset_n_examples(d); i++) {
        wd_textclf_example ex, *x = &ex;
        if (wd_textclf_dataset_get(d, i, x)) continue;
        if (x->split != WD_TEXTCLF_SPLIT_HELDOUT && x->split != WD_TEXTCLF_SPLIT_EVAL) continue;
        if (shown[x->source] >= n) continue;
        if (wd_textclf_predict(m, x->norm, x->norm_len, probs)) continue;
        int pred = probs[0] >= thr, y = (int)(x->pos & 1);
        if (pred == y) continue;
        printf("[%s %s p=%.3f] %.200s\n", y ? "MISSED" : "FALSE-FLAG",
               wd_textclf_dataset_source_name(d, x->source), probs[0], x->text);
        shown[x->source]++;
    }
    free(shown);
}

typedef struct scores_job {
    const wd_textclf          *m;
    const wd_textclf_dataset  *d;
} scores_job;

static wd_status write_scores(FILE *f, void *user) {
    const scores_job *j = user;
    static const char *const split[] = {"train", "val", "heldout", "eval"};
    float probs[WD_TEXTCLF_MAX_LABELS];
    fprintf(f, "index\tsource\tsplit\tlabel\ttruth\tscore\n");
    for (size_t i = 0; i < wd_textclf_dataset_n_examples(j->d); i++) {
        wd_textclf_example x;
        if (wd_textclf_dataset_get(j->d, i, &x)) continue;
        if (x.split != WD_TEXTCLF_SPLIT_HELDOUT && x.split != WD_TEXTCLF_SPLIT_EVAL) continue;
        int l = wd_textclf_scored_label(x.known);
        if ((size_t)l >= wd_textclf_n_labels(j->m)) l = WD_TEXTCLF_LABEL_HARMFUL;
        wd_status st = wd_textclf_predict(j->m, x.norm, x.norm_len, probs);
        if (st) return st;
        fprintf(f, "%zu\t%s\t%s\t%s\t%d\t%.6f\n", i, wd_textclf_dataset_source_name(j->d, x.source),
                split[x.split], wd_textclf_label(j->m, (size_t)l), (int)(x.pos >> l & 1), (double)probs[l]);
    }
    return ferror(f) ? WD_ERR_IO : WD_OK;
}

/* Runs every held-out and eval-only text through a whole guard (the
 * original text, as `warden check` would see it) and prints the report. */
static int eval_policy(const wd_textclf_dataset *d, const char *policy) {
    wd_guard *g = NULL;
    wd_status st = !strcmp(policy, "default") ? wd_guard_load_default(NULL, &g)
                                               : wd_guard_load(policy, NULL, &g);
    if (st) return cli_fail(st, policy);
    size_t n = wd_textclf_dataset_n_examples(d);
    int8_t *flags = malloc(n ? n : 1);
    if (!flags) {
        wd_guard_free(g);
        return cli_error("out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        wd_textclf_example ex, *x = &ex;
        flags[i] = -1;
        if (wd_textclf_dataset_get(d, i, x)) continue;
        if (x->split != WD_TEXTCLF_SPLIT_HELDOUT && x->split != WD_TEXTCLF_SPLIT_EVAL) continue;
        wd_verdict *v = NULL;
        /* a model's answers are checked as output (the prompts that also
         * train the answers' head are scored on harmful: prompts) */
        bool answer = wd_textclf_scored_label(x->known) == WD_TEXTCLF_LABEL_RESPONSE;
        wd_check_params cp = {.role = answer ? WD_ROLE_OUTPUT : WD_ROLE_INPUT};
        if ((st = wd_guard_check(g, x->text, strlen(x->text), &cp, &v))) {
            free(flags);
            wd_guard_free(g);
            return cli_fail(st, "checking");
        }
        flags[i] = wd_verdict_unsafe(v) ? 1 : 0;
        wd_verdict_free(v);
    }
    wd_textclf_report r;
    wd_textclf_evaluate_flags(d, flags, &r);
    printf("policy: %s\n", wd_guard_name(g));
    print_report(d, &r);
    free(flags);
    wd_guard_free(g);
    return CLI_OK;
}

/* --split-of: the split is a seeded hash of the normalised text alone, so a
 * one-source dataset of the file's lines gets the splits the training run
 * gave the same texts. */
static int print_split_of(const char *path, const wd_textclf_train_params *p) {
    static const char *const names[] = {"train", "val", "held-out", "eval"};
    FILE *f = fopen(path, "rb");
    if (!f) return cli_error("%s: cannot open", path);
    wd_textclf_dataset *q = NULL;
    if (wd_textclf_dataset_new(p->cfg.norm_flags, &q)) {
        fclose(f);
        return cli_error("out of memory");
    }
    int src = wd_textclf_dataset_source(q, "query", WD_TEXTCLF_USE_TRAIN, 0);
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    wd_status st = src < 0 ? WD_ERR_NOMEM : WD_OK;
    while (!st && (got = getline(&line, &cap, f)) >= 0) st = wd_textclf_dataset_add(q, src, line, (size_t)got, 0, 0);
    free(line);
    fclose(f);
    if (st) {
        wd_textclf_dataset_free(q);
        return cli_fail(st, path);
    }
    wd_textclf_dataset_split(q, p->seed, 20, 10);
    for (size_t i = 0; i < wd_textclf_dataset_n_examples(q); i++) {
        wd_textclf_example x;
        if (!wd_textclf_dataset_get(q, i, &x)) printf("%s\t%s\n", names[x.split & 3], x.text);
    }
    wd_textclf_dataset_free(q);
    return CLI_OK;
}

/* ==== the command ======================================================== */

/* The harmful threshold, chosen on texts from sources the fold's model
 * never saw: the best macro class-balanced F1 over the request and toxic
 * folds (loso_macro) among the thresholds that flag at most 7% of the
 * unseen benign instructions of the request folds (the budget for
 * alarming-but-benign prompts); 0.20..0.90 in steps of 0.01, ties to the
 * higher. Without such a threshold: the one that flags the fewest. */
static float pick_threshold(const wd_textclf_dataset *d, const float *oof) {
    size_t n_folds;
    const wd_textclf_fold *folds = wd_textclf_default_folds(&n_folds);
    float best_t = 0.5f, low_t = 0.9f;
    double best = -1, low_fpr = 2;
    for (int k = 20; k <= 90; k++) {
        float t = (float)k / 100.0f;
        double fpr = loso_request_fpr(d, folds, n_folds, oof, t);
        if (fpr < low_fpr) {
            low_fpr = fpr;
            low_t = t;
        }
        if (fpr > 0.07) continue;
        double f = loso_macro(d, folds, n_folds, oof, t);
        if (f >= best) {
            best = f;
            best_t = t;
        }
    }
    if (best < 0) best_t = low_t;
    fprintf(stderr, "train-guard: harmful threshold %.2f (leave-one-source-out macro class-balanced F1 %.4f)\n",
            best_t, best);
    return best_t;
}

/* Trains on d, sets the harmful threshold (--set-threshold, else picked on
 * oof when there is one) and writes the model to o->out; on success *out
 * is the model (the caller frees it). */
static int train_and_save(const wd_textclf_dataset *d, const opts *o, const wd_textclf_train_params *p,
                          const float *oof, wd_textclf **out) {
    wd_status st = wd_textclf_train(d, p, out);
    if (st) return cli_fail(st, "training");
    if (o->set_threshold > 0) wd_textclf_set_threshold(*out, WD_TEXTCLF_LABEL_HARMFUL, (float)o->set_threshold);
    else if (oof) wd_textclf_set_threshold(*out, WD_TEXTCLF_LABEL_HARMFUL, pick_threshold(d, oof));
    char seed[32], nb[32], ep[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)p->seed);
    snprintf(nb, sizeof nb, "%ld", o->n_benign);
    snprintf(ep, sizeof ep, "%d", p->epochs);
    const char *keys[] = {"trained_by", "seed", "n_benign_generated", "max_epochs", "data"};
    const char *vals[] = {"warden train-guard", seed, nb, ep,
                          "ship-ok sources of ../shared/data/MANIFEST.md; see models/README.md"};
    if ((st = wd_textclf_save(*out, o->out, 5, keys, vals))) return cli_fail(st, o->out);
    fprintf(stderr, "train-guard: wrote %s\n", o->out);
    return CLI_OK;
}

/* Loads the datasets, adds the generated benign prompts, splits (and, for
 * training, augments); on success *out is the dataset. */
static int load_data(const opts *o, const wd_textclf_train_params *p, wd_textclf_dataset **out) {
    wd_status st = wd_textclf_dataset_new(p->cfg.norm_flags, out);
    unsigned load = WD_TEXTCLF_LOAD_EVAL | (o->data == DATA_V1 ? WD_TEXTCLF_LOAD_V1 : 0) |
                    (o->data == DATA_V1_INSTRUCTIONS ? WD_TEXTCLF_LOAD_V1 | WD_TEXTCLF_LOAD_INSTRUCTIONS : 0);
    if (!st) st = wd_textclf_dataset_load(*out, o->data_dir, load);
    if (st) return cli_fail(st, "loading datasets");
    if ((st = wd_textclf_benign_generate(*out, (size_t)o->n_benign, p->seed)))
        return cli_fail(st, "generating benign prompts");
    wd_textclf_dataset_split(*out, p->seed, 20, 10);
    if (o->out && (st = wd_textclf_augment_framing(*out, o->frame, p))) return cli_fail(st, "augmenting");
    if (o->out && (st = wd_textclf_augment_reshape(*out, o->reshape, p))) return cli_fail(st, "augmenting");
    if (o->out && (st = wd_textclf_augment_harmful(*out, 0.3, p->seed))) return cli_fail(st, "augmenting");
    fprintf(stderr, "train-guard: %zu examples from %zu sources (%zu exact duplicates dropped)\n",
            wd_textclf_dataset_n_examples(*out), wd_textclf_dataset_n_sources(*out),
            wd_textclf_dataset_n_dupes(*out));
    return CLI_OK;
}

/* Prints the held-out report of m at threshold thr, the leave-one-source-out
 * tables when there are fold predictions, and the errors asked for. */
static int report(const wd_textclf *m, const wd_textclf_dataset *d, const float *oof, float thr, long show) {
    if (wd_textclf_dataset_norm_flags(d) != wd_textclf_norm_flags(m))
        fprintf(stderr, "train-guard: warning: the model expects normalisation flags %u, the data used %u\n",
                wd_textclf_norm_flags(m), wd_textclf_dataset_norm_flags(d));
    wd_textclf_report r;
    wd_status st = wd_textclf_evaluate(m, d, thr, &r);
    if (st) return cli_fail(st, "evaluating");
    print_report(d, &r);
    if (oof) {
        size_t n_folds;
        const wd_textclf_fold *folds = wd_textclf_default_folds(&n_folds);
        print_loso(d, folds, n_folds, oof, thr);
        printf("macro class-balanced F1 (request + toxic folds; the threshold criterion): %.4f;"
               " request folds' benign flagged (mean): %.1f%%\n",
               loso_macro(d, folds, n_folds, oof, thr),
               100 * loso_request_fpr(d, folds, n_folds, oof, thr));
        if (thr != 0.5f) print_loso(d, folds, n_folds, oof, 0.5f);
    }
    if (show) show_errors(m, d, thr, show);
    return CLI_OK;
}

static int scores_to(const char *path, const wd_textclf *m, const wd_textclf_dataset *d) {
    scores_job j = {m, d};
    wd_status st = wd_file_write_atomic_with(path, write_scores, &j);
    if (st) return cli_fail(st, path);
    fprintf(stderr, "train-guard: wrote %s\n", path);
    return CLI_OK;
}

/* Trains (--out) or takes a model (--model, else the built-in one) and
 * reports on it, or reports on a whole guard (--policy). */
static int run(const opts *o, const wd_textclf_train_params *p) {
    wd_textclf_dataset *d = NULL;
    wd_textclf *owned = NULL;
    const wd_textclf *m = NULL;
    float *oof = NULL;
    wd_status st;
    int ret = load_data(o, p, &d);
    if (ret != CLI_OK || o->policy) {
        if (ret == CLI_OK) ret = eval_policy(d, o->policy);
        goto done;
    }
    ret = CLI_ERROR;
    if (!o->no_loso && run_loso(d, p, (int)o->loso_epochs, &oof) != CLI_OK) goto done;
    if (o->out) {
        if (train_and_save(d, o, p, oof, &owned) != CLI_OK) goto done;
        m = owned;
    } else if (o->model && !strcmp(o->model, "answers")) {
        if (!(m = wd_textclf_builtin_answers())) {
            cli_fail(WD_ERR_NOT_FOUND, "built-in answers model");
            goto done;
        }
    } else if (o->model) {
        if ((st = wd_textclf_load(o->model, &owned))) {
            cli_fail(st, o->model);
            goto done;
        }
        m = owned;
    } else if (!(m = wd_textclf_builtin())) {
        cli_fail(WD_ERR_NOT_FOUND, "built-in model");
        goto done;
    }
    ret = report(m, d, oof, o->threshold >= 0 ? (float)o->threshold : wd_textclf_threshold(m, 0), o->show_errors);
    if (ret == CLI_OK && o->scores) ret = scores_to(o->scores, m, d);
done:
    free(oof);
    wd_textclf_free(owned);
    wd_textclf_dataset_free(d);
    return ret;
}

int cmd_train_guard(int argc, char **argv) {
    wd_textclf_train_params p = wd_textclf_train_params_default();
    opts o = opts_default(&p);
    cli_spec spec = {"train-guard", {{ROWS, CLI_N(ROWS), &o}}, .col = 21, .all_flags = true,
                     .unknown = "unknown flag '%s'", .missing = "%s: missing value (or unknown flag)",
                     .unknown_last_missing = true};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, NULL, NULL);
    if (rc >= 0) return rc;
    opts_apply(&o, &p);
    if (o.split_of) return print_split_of(o.split_of, &p);
    if (!o.out && !o.eval) return cli_usage_error("train-guard", "give --out FILE to train, or --eval");
    if (o.out && o.model) return cli_usage_error("train-guard", "--out and --model exclude each other");
    if (o.policy && (o.out || o.model))
        return cli_usage_error("train-guard", "--policy evaluates a guard: no --out or --model with it");
    return run(&o, &p);
}

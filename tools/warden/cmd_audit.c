/*
 * tools/warden/cmd_audit.c - `warden audit`: what is in a training or
 * fine-tuning corpus (warden/audit.h, docs/audit.md): size, languages and
 * scripts, exact and near duplicates, overlap with a compare set, PII and
 * secrets, demographic terms, the share the guard flags; audit.json and
 * report.html in --out, optionally the scrubbed corpus. This file parses
 * flags, draws the progress bar and prints the summary.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_flags.h"
#include "warden/audit.h"

enum { MAX_DATA = 64 };

typedef struct audit_opts {
    const char *data[MAX_DATA];
    size_t      n_data;
    const char *text_field, *compare, *policy, *terms, *scrub, *out;
    double      threshold;
    long        threads, batch, examples;
    bool        json, quiet;
} audit_opts;

#define O(f) offsetof(audit_opts, f)

static const cli_flag ROWS[] = {
    CLI_TEXT("usage: warden audit --data FILE[,FILE...] --out DIR [--text-field F] [--compare FILE]\n"
             "                    [--policy FILE|none] [--terms FILE] [--scrub OUT] [--threshold J] [--json]\n\n"
             "A report on a training or fine-tuning corpus (docs/audit.md): size and length\n"
             "distribution, language and script mix, exact and near duplicates (MinHash over\n"
             "word 5-grams, LSH), overlap with a compare set (train/test leakage), PII and\n"
             "secrets by kind (the guard's pii and secrets scanners), demographic terms by\n"
             "axis (pronouns, gender and sex, sexual orientation, nationality, race and\n"
             "ethnicity, religion), and the share of records the guard flags by category.\n"
             "Writes DIR/audit.json and DIR/report.html. The files are streamed: memory\n"
             "stays bounded whatever their size.\n\noptions:\n"),
    CLI_LIST("--data", O(data), O(n_data), MAX_DATA, "FILE[,FILE...]",
             "the corpus: jsonl, json, csv, tsv or text, any gzip'd (repeatable)"),
    CLI_STR("--text-field", O(text_field), "F", "column / JSON path of the text (default: text, prompt, ...)"),
    CLI_STR("--compare", O(compare), "FILE", "a second set (a test set): its records found in the corpus"),
    CLI_STR("--policy", O(policy), "FILE|none", "the guard whose flags are counted (default: the built-in;\n"
                                                "none: skip the guard)"),
    CLI_STR("--terms", O(terms), "FILE", "the demographic word list (YAML; default: the built-in\n"
                                         "lexicons/demographics.yaml)"),
    CLI_STR("--scrub", O(scrub), "OUT", "write the corpus with PII and secrets replaced by placeholders\n"
                                        "(one --data file; its format; gzip when OUT ends in .gz)"),
    CLI_DOUBLE("--threshold", O(threshold), "J", 0, 1, "near-duplicate Jaccard threshold (default %g)", .open_lo = true,
               .show = true),
    CLI_INT("--examples", O(examples), "N", 0, 1000, "examples per table (default %ld)", .show = true),
    CLI_INT("--batch", O(batch), "N", 1, 65536, "records per batch (default %ld)", .show = true),
    CLI_INT("--threads", O(threads), "N", 0, 1024, "threads (0: every CPU)"),
    CLI_STR("--out", O(out), "DIR", "where audit.json and report.html go"),
    CLI_BOOL("--json", O(json), "print audit.json on stdout as well"),
    CLI_BOOL("--quiet", O(quiet), "no progress bar", .short_name = 'q'),
    CLI_TEXT("\nExit status: 0 ok, 2 usage error, 3 failure (no output written).\n"),
};

/* ==== progress ============================================================ */

typedef struct prog {
    bool        tty;
    double      t0, shown;
    const char *path; /* the file t0 belongs to */
} prog;

static void draw(void *user, const char *path, uint64_t done, uint64_t total) {
    prog *p = user;
    double now = cli_now_s();
    if (p->path != path) p->path = path, p->t0 = now;
    /* off a terminal, a line every 5 seconds (and the last) */
    if (!p->tty && done < total && now - p->shown < 5) return;
    p->shown = now;
    double el = now - p->t0, mb = (double)done / 1e6;
    char bar[64], eta[32];
    cli_bar_eta(total ? (double)done / (double)total : 0,
                el > 0 && done > 0 && done < total ? (double)(total - done) / ((double)done / el) : -1, bar, eta);
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    cli_progress(p->tty, done >= total, "  audit %s [%s] %.1f/%.1f MB  %.1f MB/s%s", name, bar, mb,
                 (double)total / 1e6, el > 0 ? mb / el : 0, eta);
}

/* ==== summary ============================================================= */

static double jn(const cJSON *o, const char *a, const char *b) {
    const cJSON *x = cJSON_GetObjectItem(cJSON_GetObjectItem(o, a), b);
    return cJSON_IsNumber(x) ? x->valuedouble : 0;
}

static void summary(const char *js, const char *out) {
    cJSON *j = cJSON_Parse(js);
    if (!j) return;
    printf("records %.0f, %.1f MB, %.0f words (mean %.0f characters a record)\n", jn(j, "size", "records"),
           jn(j, "size", "bytes") / 1e6, jn(j, "size", "words"), jn(j, "size", "chars_mean"));
    printf("exact duplicates %.0f (%.2f%%), near duplicates %.0f (%.2f%%) in %.0f clusters\n",
           jn(j, "exact_duplicates", "records"), 100 * jn(j, "exact_duplicates", "share"),
           jn(j, "near_duplicates", "records"), 100 * jn(j, "near_duplicates", "share"),
           jn(j, "near_duplicates", "clusters"));
    if (jn(j, "overlap", "compare_records") > 0)
        printf("compare set: %.0f records, %.0f exact and %.0f near in the corpus (%.2f%% leaked)\n",
               jn(j, "overlap", "compare_records"), jn(j, "overlap", "exact"), jn(j, "overlap", "near"),
               100 * jn(j, "overlap", "leaked_share"));
    printf("PII/secrets: %.0f hits in %.0f records (%.2f%%)\n", jn(j, "pii", "hits"), jn(j, "pii", "records"),
           100 * jn(j, "pii", "share"));
    if (cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "flagged"), "policy")))
        printf("flagged by the guard: %.0f records (%.2f%%)\n", jn(j, "flagged", "records"),
               100 * jn(j, "flagged", "share"));
    printf("report: %s/report.html\n", out);
    cJSON_Delete(j);
}

/* Splits the --data values on commas into files[] (pointers into buf); cap + 1
 * when there are more than cap. */
static size_t split_files(const audit_opts *o, char *buf, const char **files, size_t cap) {
    size_t n = 0, w = 0;
    for (size_t i = 0; i < o->n_data; i++) {
        const char *s = o->data[i];
        while (*s) {
            const char *e = strchr(s, ',');
            size_t len = e ? (size_t)(e - s) : strlen(s);
            if (len && n == cap) return cap + 1; /* too many */
            if (len) {
                memcpy(buf + w, s, len);
                buf[w + len] = '\0';
                files[n++] = buf + w;
                w += len + 1;
            }
            s += len + (e != NULL);
        }
    }
    return n;
}

int cmd_audit(int argc, char **argv) {
    wd_audit_params d = wd_audit_params_default();
    audit_opts o = {.threshold = d.threshold, .batch = (long)d.batch, .examples = (long)d.n_examples};
    cli_spec spec = {"audit", {{ROWS, CLI_N(ROWS), &o}}, .col = 26, .unknown = "unknown flag '%s'"};
    if (cli_wants_help(argc, argv)) {
        cli_flags_help(&spec, stdout);
        return CLI_OK;
    }
    int rc = cli_flags_parse(&spec, argc, argv, NULL, &(int){0});
    if (rc >= 0) return rc;
    if (!o.n_data || !o.out) return cli_usage_error("audit", "--data FILE and --out DIR are required");
    size_t total = 0;
    for (size_t i = 0; i < o.n_data; i++) total += strlen(o.data[i]) + 1;
    char *buf = malloc(total + 1);
    const char *files[256];
    size_t n_files = buf ? split_files(&o, buf, files, 256) : 0;
    if (!n_files) return free(buf), cli_usage_error("audit", "--data names no file");
    if (n_files > 256) return free(buf), cli_usage_error("audit", "--data names more than 256 files");
    if (o.scrub && n_files > 1) return free(buf), cli_usage_error("audit", "--scrub takes one --data file");

    for (size_t i = 0; i <= n_files; i++) {
        const char *f = i < n_files ? files[i] : o.compare;
        if (f && access(f, R_OK) != 0) {
            int r = cli_error("%s: cannot read the file", f);
            free(buf);
            return r;
        }
    }
    wd_audit_params p = d;
    p.text_field = o.text_field;
    p.terms_path = o.terms;
    p.scrub_path = o.scrub;
    p.threshold = o.threshold;
    p.n_threads = (int)o.threads;
    p.batch = (size_t)o.batch;
    p.n_examples = (size_t)o.examples;
    prog pg = {isatty(2), cli_now_s(), 0, NULL};
    if (!o.quiet) p.progress = draw, p.progress_user = &pg;
    wd_status st = WD_OK;
    if (!o.policy || strcmp(o.policy, "none")) {
        wd_guard_params gp = wd_guard_params_default();
        gp.n_threads = (int)o.threads ? (int)o.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
        st = o.policy ? wd_guard_load(o.policy, &gp, &p.guard) : wd_guard_load_default(&gp, &p.guard);
        if (st) return free(buf), cli_fail(st, o.policy ? o.policy : "built-in policy");
    }
    wd_audit *a = NULL;
    st = wd_audit_new(&p, &a);
    if (st) {
        wd_guard_free(p.guard);
        return free(buf), cli_fail(st, o.terms ? o.terms : "audit");
    }
    for (size_t i = 0; i < n_files && !st; i++) st = wd_audit_add_file(a, files[i], false);
    if (!st && o.compare) st = wd_audit_add_file(a, o.compare, true);
    char *js = NULL;
    if (!st) st = wd_audit_write(a, o.out);
    if (!st) st = wd_audit_json(a, false, &js);
    if (st) {
        int r = cli_error("%s", wd_audit_last_error(a)[0] ? wd_audit_last_error(a) : wd_last_error());
        free(js);
        wd_audit_free(a);
        wd_guard_free(p.guard);
        free(buf);
        return r;
    }
    if (o.json) fputs(js, stdout), fputc('\n', stdout);
    else summary(js, o.out);
    free(js);
    wd_audit_free(a);
    wd_guard_free(p.guard);
    free(buf);
    return CLI_OK;
}

/*
 * explain/audit_report.c - the corpus audit's outputs: audit.json (every
 * figure; every key present whatever the input, docs/audit.md lists them)
 * and report.html, built from that JSON tree so the page shows nothing the
 * JSON does not hold. The page is self-contained: inline CSS, inline SVG
 * bar charts (horizontal bars, one per value, the value written beside),
 * no script; every text from the corpus is HTML-escaped.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explain/audit_internal.h"

/* ==== audit.json ========================================================== */

static double share(uint64_t n, uint64_t of) { return of ? (double)n / (double)of : 0; }

static cJSON *examples_json(const wd_audit *a, const wd__examples *x, const char *other_key, const char *value_key,
                            const char *label_key) {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < x->n; i++) {
        const wd__example *e = &x->e[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "record", (double)e->record);
        if (e->file >= 0 && (size_t)e->file < a->n_files) {
            cJSON_AddStringToObject(o, "file", a->files[e->file].path);
            cJSON_AddNumberToObject(o, "line", (double)e->line);
        } else {
            cJSON_AddNullToObject(o, "file");
            cJSON_AddNullToObject(o, "line");
        }
        if (other_key) {
            if (e->other == UINT64_MAX) cJSON_AddNullToObject(o, other_key);
            else cJSON_AddNumberToObject(o, other_key, (double)e->other);
        }
        if (value_key) cJSON_AddNumberToObject(o, value_key, round(e->value * 1e4) / 1e4);
        if (label_key) cJSON_AddStringToObject(o, label_key, e->label ? e->label : "");
        cJSON_AddStringToObject(o, "text", e->text);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* The q-quantile of the records' lengths, as the lower edge of the
 * quarter-octave bucket that holds it (at most 19% below the true value). */
static double hist_quantile(const wd_audit *a, double q) {
    if (!a->records) return 0;
    uint64_t need = (uint64_t)ceil(q * (double)a->records), acc = 0;
    for (unsigned k = 0; k < WD__AUDIT_HIST; k++) {
        acc += a->hist[k];
        if (acc >= need && acc) return k == 0 ? 0 : ceil(pow(2.0, (double)(k - 1) / 4) - 1e-9);
    }
    return (double)a->chars_max;
}

static cJSON *size_json(const wd_audit *a) {
    cJSON *s = cJSON_CreateObject();
    cJSON_AddNumberToObject(s, "records", (double)a->records);
    cJSON_AddNumberToObject(s, "bytes", (double)a->bytes);
    cJSON_AddNumberToObject(s, "chars", (double)a->chars);
    cJSON_AddNumberToObject(s, "words", (double)a->words);
    cJSON_AddNumberToObject(s, "empty", (double)a->empty);
    cJSON_AddNumberToObject(s, "invalid_utf8", (double)a->invalid_utf8);
    cJSON_AddNumberToObject(s, "chars_min", a->records ? (double)a->chars_min : 0);
    cJSON_AddNumberToObject(s, "chars_max", (double)a->chars_max);
    cJSON_AddNumberToObject(s, "chars_mean", a->records ? (double)a->chars / (double)a->records : 0);
    cJSON_AddNumberToObject(s, "words_mean", a->records ? (double)a->words / (double)a->records : 0);
    cJSON_AddNumberToObject(s, "chars_p50", hist_quantile(a, 0.5));
    cJSON_AddNumberToObject(s, "chars_p90", hist_quantile(a, 0.9));
    cJSON_AddNumberToObject(s, "chars_p99", hist_quantile(a, 0.99));
    cJSON *h = cJSON_AddArrayToObject(s, "histogram");
    for (unsigned k = 0; k < WD__AUDIT_HIST; k++) {
        if (!a->hist[k]) continue;
        cJSON *b = cJSON_CreateObject();
        double lo = k == 0 ? 0 : ceil(pow(2.0, (double)(k - 1) / 4) - 1e-9);
        double hi = k == 0 ? 1 : ceil(pow(2.0, (double)k / 4) - 1e-9);
        if (hi <= lo) hi = lo + 1;
        cJSON_AddNumberToObject(b, "lo", lo);
        cJSON_AddNumberToObject(b, "hi", hi);
        cJSON_AddNumberToObject(b, "records", (double)a->hist[k]);
        cJSON_AddItemToArray(h, b);
    }
    return s;
}

static cJSON *scripts_json(const wd_audit *a) {
    cJSON *o = cJSON_CreateObject();
    cJSON *c = cJSON_AddObjectToObject(o, "letters"), *sh = cJSON_AddObjectToObject(o, "share"),
          *r = cJSON_AddObjectToObject(o, "records_by_dominant");
    uint64_t letters = 0;
    for (int s = 0; s < WD__SCRIPT_COUNT; s++) letters += a->script_chars[s];
    for (int s = 0; s < WD__SCRIPT_COUNT; s++) {
        cJSON_AddNumberToObject(c, wd__script_name(s), (double)a->script_chars[s]);
        cJSON_AddNumberToObject(sh, wd__script_name(s), share(a->script_chars[s], letters));
        cJSON_AddNumberToObject(r, wd__script_name(s), (double)a->script_records[s]);
    }
    cJSON_AddNumberToObject(r, "none", (double)a->script_records[WD__SCRIPT_COUNT]);
    return o;
}

static cJSON *languages_json(const wd_audit *a) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method", "stop words (en fr de es it pt nl) for Latin-script records; "
                                         "other:<script> for records mostly in another script");
    cJSON *r = cJSON_AddObjectToObject(o, "records"), *s = cJSON_AddObjectToObject(o, "share");
    char key[64];
    for (int l = 0; l <= WD__LANG_COUNT + WD__SCRIPT_COUNT; l++) {
        if (l < WD__LANG_COUNT) snprintf(key, sizeof key, "%s", wd__lang_code(l));
        else if (l == WD__LANG_COUNT) snprintf(key, sizeof key, "unknown");
        else if (l - WD__LANG_COUNT - 1 == WD__SCRIPT_LATIN) continue;
        else snprintf(key, sizeof key, "other:%s", wd__script_name(l - WD__LANG_COUNT - 1));
        cJSON_AddNumberToObject(r, key, (double)a->lang_records[l]);
        cJSON_AddNumberToObject(s, key, share(a->lang_records[l], a->records));
    }
    return o;
}

cJSON *wd__audit_to_json(const wd_audit *a) {
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddNumberToObject(j, "schema", 1);
    cJSON *p = cJSON_AddObjectToObject(j, "params");
    cJSON_AddNumberToObject(p, "threshold", a->p.threshold);
    double sigma = sqrt(a->p.threshold * (1 - a->p.threshold) / WD__AUDIT_PERM);
    cJSON_AddNumberToObject(p, "accept_from", round((a->p.threshold - 2 * sigma) * 1e4) / 1e4);
    cJSON_AddNumberToObject(p, "shingle_words", WD__AUDIT_SHINGLE);
    cJSON_AddNumberToObject(p, "permutations", WD__AUDIT_PERM);
    cJSON_AddNumberToObject(p, "bands", WD__AUDIT_BANDS);
    cJSON_AddNumberToObject(p, "rows", WD__AUDIT_ROWS);
    cJSON_AddNumberToObject(p, "max_exact", (double)a->p.max_exact);
    cJSON_AddNumberToObject(p, "max_index", (double)a->p.max_index);
    cJSON_AddStringToObject(p, "terms", a->terms.source);
    if (a->p.guard) cJSON_AddStringToObject(p, "policy", wd_guard_name(a->p.guard));
    else cJSON_AddNullToObject(p, "policy");
    if (a->p.scrub_path) cJSON_AddStringToObject(p, "scrub", a->p.scrub_path);
    else cJSON_AddNullToObject(p, "scrub");

    cJSON *files = cJSON_AddArrayToObject(j, "files");
    for (size_t i = 0; i < a->n_files; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "path", a->files[i].path);
        cJSON_AddStringToObject(f, "role", a->files[i].compare ? "compare" : "corpus");
        cJSON_AddNumberToObject(f, "records", (double)a->files[i].records);
        cJSON_AddNumberToObject(f, "first_record", (double)a->files[i].first);
        cJSON_AddItemToArray(files, f);
    }
    cJSON_AddItemToObject(j, "size", size_json(a));
    cJSON_AddItemToObject(j, "scripts", scripts_json(a));
    cJSON_AddItemToObject(j, "languages", languages_json(a));

    cJSON *e = cJSON_AddObjectToObject(j, "exact_duplicates");
    cJSON_AddNumberToObject(e, "records", (double)a->exact_dups);
    cJSON_AddNumberToObject(e, "share", share(a->exact_dups, a->records));
    cJSON_AddNumberToObject(e, "distinct", (double)a->exact.n);
    cJSON_AddBoolToObject(e, "set_full", a->exact.n >= a->exact.max);
    cJSON_AddItemToObject(e, "examples", examples_json(a, &a->exact_ex, NULL, NULL, NULL));

    cJSON *n = cJSON_AddObjectToObject(j, "near_duplicates");
    cJSON_AddNumberToObject(n, "records", (double)a->near_dups);
    cJSON_AddNumberToObject(n, "share", share(a->near_dups, a->records));
    cJSON_AddNumberToObject(n, "clusters", (double)a->clusters);
    cJSON_AddNumberToObject(n, "largest_cluster", (double)a->largest);
    cJSON_AddNumberToObject(n, "candidates", (double)a->candidates);
    cJSON_AddNumberToObject(n, "indexed", (double)a->lsh.n);
    cJSON_AddBoolToObject(n, "index_full", a->lsh.n >= a->lsh.max);
    cJSON_AddItemToObject(n, "examples", examples_json(a, &a->near_ex, "of", "jaccard", NULL));

    cJSON *o = cJSON_AddObjectToObject(j, "overlap");
    cJSON_AddNumberToObject(o, "compare_records", (double)a->cmp_records);
    cJSON_AddNumberToObject(o, "exact", (double)a->cmp_exact);
    cJSON_AddNumberToObject(o, "near", (double)a->cmp_near);
    cJSON_AddNumberToObject(o, "exact_share", share(a->cmp_exact, a->cmp_records));
    cJSON_AddNumberToObject(o, "near_share", share(a->cmp_near, a->cmp_records));
    cJSON_AddNumberToObject(o, "leaked_share", share(a->cmp_exact + a->cmp_near, a->cmp_records));
    cJSON_AddItemToObject(o, "examples", examples_json(a, &a->cmp_ex, "of", "jaccard", "kind"));

    cJSON *pi = cJSON_AddObjectToObject(j, "pii");
    cJSON_AddNumberToObject(pi, "records", (double)a->pii_records);
    cJSON_AddNumberToObject(pi, "share", share(a->pii_records, a->records));
    cJSON_AddNumberToObject(pi, "hits", (double)a->pii_hits);
    cJSON_AddNumberToObject(pi, "unchecked", (double)a->pii_errors);
    cJSON *bk = cJSON_AddObjectToObject(pi, "by_kind");
    for (size_t i = 0; i < a->n_pii_kinds; i++) cJSON_AddNumberToObject(bk, a->pii_kinds[i].name, (double)a->pii_kinds[i].n);
    cJSON_AddItemToObject(pi, "examples", examples_json(a, &a->pii_ex, NULL, NULL, "kind"));

    cJSON *d = cJSON_AddObjectToObject(j, "demographics");
    cJSON_AddStringToObject(d, "terms", a->terms.source);
    cJSON *axes = cJSON_AddArrayToObject(d, "axes");
    for (size_t x = 0; x < a->terms.n_axes; x++) {
        cJSON *ax = cJSON_CreateObject();
        cJSON_AddStringToObject(ax, "axis", a->terms.axes[x]);
        cJSON_AddNumberToObject(ax, "records", (double)(x < 64 ? a->axis_records[x] : 0));
        cJSON_AddNumberToObject(ax, "share", share(x < 64 ? a->axis_records[x] : 0, a->records));
        cJSON *gs = cJSON_AddArrayToObject(ax, "groups");
        for (size_t g = 0; g < a->terms.n_groups; g++) {
            if ((size_t)a->terms.groups[g].axis != x) continue;
            cJSON *go = cJSON_CreateObject();
            cJSON_AddStringToObject(go, "group", a->terms.groups[g].name);
            cJSON_AddNumberToObject(go, "records", (double)a->group_records[g]);
            cJSON_AddNumberToObject(go, "share", share(a->group_records[g], a->records));
            cJSON_AddNumberToObject(go, "mentions", (double)a->group_mentions[g]);
            cJSON_AddItemToArray(gs, go);
        }
        cJSON_AddItemToArray(axes, ax);
    }

    cJSON *fl = cJSON_AddObjectToObject(j, "flagged");
    if (a->p.guard) cJSON_AddStringToObject(fl, "policy", wd_guard_name(a->p.guard));
    else cJSON_AddNullToObject(fl, "policy");
    cJSON_AddNumberToObject(fl, "records", (double)a->flag_records);
    cJSON_AddNumberToObject(fl, "share", share(a->flag_records, a->records));
    cJSON_AddNumberToObject(fl, "unchecked", (double)a->flag_errors);
    cJSON *bc = cJSON_AddArrayToObject(fl, "by_category");
    for (int c = 0; c < WD_CATEGORY_COUNT && c < 64; c++) {
        if (!a->flag_cat[c]) continue;
        cJSON *co = cJSON_CreateObject();
        cJSON_AddStringToObject(co, "id", wd_category_id((wd_category)c));
        cJSON_AddStringToObject(co, "name", wd_category_name((wd_category)c));
        cJSON_AddNumberToObject(co, "records", (double)a->flag_cat[c]);
        cJSON_AddNumberToObject(co, "share", share(a->flag_cat[c], a->records));
        cJSON_AddItemToArray(bc, co);
    }
    cJSON_AddItemToObject(fl, "examples", examples_json(a, &a->flag_ex, NULL, "score", "category"));
    return j;
}

/* ==== report.html ========================================================= */


static double num(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

typedef struct bar {
    const char *label;
    double      value;
    char        text[48]; /* the value as written beside the bar */
} bar;

/* A horizontal bar chart: one row per bar, bars scaled to the largest. */
static void bars_svg(wd__strbuf *b, const char *title, const bar *v, size_t n) {
    double max = 0;
    for (size_t i = 0; i < n; i++) max = v[i].value > max ? v[i].value : max;
    int row = 20, lw = 190, bw = 380, h = 30 + row * (int)(n ? n : 1);
    wd__strbuf_printf(b, "<figure><svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' role='img'>"
                         "<title>", lw + bw + 110, h);
    wd__strbuf_puts_html(b, title);
    wd__strbuf_puts(b, "</title><text x='0' y='16' class='t'>");
    wd__strbuf_puts_html(b, title);
    wd__strbuf_puts(b, "</text>");
    if (!n) wd__strbuf_printf(b, "<text x='0' y='42' class='l'>(none)</text>");
    for (size_t i = 0; i < n; i++) {
        int y = 26 + row * (int)i;
        double w = max > 0 ? v[i].value / max * bw : 0;
        wd__strbuf_printf(b, "<text x='%d' y='%d' class='l' text-anchor='end'>", lw - 6, y + 13);
        wd__strbuf_puts_html(b, v[i].label);
        wd__strbuf_printf(b, "</text><rect x='%d' y='%d' width='%.1f' height='%d' fill='#0072B2'/>", lw, y + 2, w,
                          row - 6);
        wd__strbuf_printf(b, "<text x='%.1f' y='%d' class='l'>", lw + w + 4, y + 13);
        wd__strbuf_puts_html(b, v[i].text);
        wd__strbuf_puts(b, "</text>");
    }
    wd__strbuf_puts(b, "</svg></figure>\n");
}

/* Bars of the numbers of an object's keys (count and share of `of`). */
static void object_bars(wd__strbuf *b, const char *title, const cJSON *o, double of, bool skip_zero) {
    size_t n = (size_t)cJSON_GetArraySize(o), k = 0;
    bar *v = calloc(n ? n : 1, sizeof *v);
    if (!v) return;
    const cJSON *c;
    cJSON_ArrayForEach(c, o) {
        if (!cJSON_IsNumber(c) || (skip_zero && c->valuedouble == 0)) continue;
        v[k] = (bar){c->string, c->valuedouble, ""};
        if (of > 0) snprintf(v[k].text, sizeof v[k].text, "%.0f (%.1f%%)", c->valuedouble, 100 * c->valuedouble / of);
        else snprintf(v[k].text, sizeof v[k].text, "%.0f", c->valuedouble);
        k++;
    }
    bars_svg(b, title, v, k);
    free(v);
}

static void examples_table(wd__strbuf *b, const cJSON *arr, const char *other_key, const char *value_key,
                           const char *label_key) {
    if (!cJSON_GetArraySize(arr)) {
        wd__strbuf_puts(b, "<p class='n'>No examples.</p>\n");
        return;
    }
    wd__strbuf_puts(b, "<table><tr><th>record</th>");
    if (other_key) wd__strbuf_puts(b, "<th>of record</th>");
    if (value_key) wd__strbuf_printf(b, "<th>%s</th>", value_key);
    if (label_key) wd__strbuf_printf(b, "<th>%s</th>", label_key);
    wd__strbuf_puts(b, "<th>text</th></tr>\n");
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        wd__strbuf_printf(b, "<tr><td>%.0f", num(e, "record"));
        const char *file = str(e, "file");
        if (file[0]) {
            const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
            wd__strbuf_puts(b, "<br><small>");
            wd__strbuf_puts_html(b, base);
            wd__strbuf_printf(b, ":%.0f</small>", num(e, "line"));
        }
        wd__strbuf_puts(b, "</td>");
        if (other_key) {
            const cJSON *ot = cJSON_GetObjectItemCaseSensitive(e, other_key);
            if (cJSON_IsNumber(ot)) wd__strbuf_printf(b, "<td>%.0f</td>", ot->valuedouble);
            else wd__strbuf_puts(b, "<td>-</td>");
        }
        if (value_key) wd__strbuf_printf(b, "<td>%.3f</td>", num(e, value_key));
        if (label_key) {
            wd__strbuf_puts(b, "<td>");
            wd__strbuf_puts_html(b, str(e, label_key));
            wd__strbuf_puts(b, "</td>");
        }
        wd__strbuf_puts(b, "<td class='x'>");
        wd__strbuf_puts_html(b, str(e, "text"));
        wd__strbuf_puts(b, "</td></tr>\n");
    }
    wd__strbuf_puts(b, "</table>\n");
}

static void kv(wd__strbuf *b, const char *k, const char *fmt, double v) {
    wd__strbuf_printf(b, "<tr><th>%s</th><td>", k);
    wd__strbuf_printf(b, fmt, v);
    wd__strbuf_puts(b, "</td></tr>\n");
}

wd_status wd__audit_html(const cJSON *j, wd__strbuf *b) {
    const cJSON *size = cJSON_GetObjectItem(j, "size"), *params = cJSON_GetObjectItem(j, "params");
    double records = num(size, "records");
    wd__strbuf_puts(b, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>warden audit</title>\n"
                       "<style>body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222}"
                       "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}"
                       "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;"
                       "text-align:left;vertical-align:top}td.x{max-width:560px;word-break:break-word;"
                       "font-family:ui-monospace,monospace;font-size:12px}.n{color:#666}"
                       "svg .t{font-weight:600;font-size:13px}svg .l{font-size:12px}figure{margin:.6em 0}"
                       "</style></head><body>\n<h1>warden audit</h1>\n<p>Files:</p><ul>");
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(j, "files")) {
        wd__strbuf_puts(b, "<li>");
        wd__strbuf_puts_html(b, str(f, "path"));
        wd__strbuf_printf(b, " (%s, %.0f records)</li>", str(f, "role"), num(f, "records"));
    }
    wd__strbuf_puts(b, "</ul>\n<h2>Size</h2>\n<table>");
    kv(b, "records", "%.0f", records);
    kv(b, "bytes", "%.0f", num(size, "bytes"));
    kv(b, "characters", "%.0f", num(size, "chars"));
    kv(b, "words", "%.0f", num(size, "words"));
    kv(b, "empty records", "%.0f", num(size, "empty"));
    kv(b, "records with invalid UTF-8", "%.0f", num(size, "invalid_utf8"));
    kv(b, "characters per record: mean", "%.1f", num(size, "chars_mean"));
    kv(b, "median (bucket edge)", "%.0f", num(size, "chars_p50"));
    kv(b, "p90", "%.0f", num(size, "chars_p90"));
    kv(b, "p99", "%.0f", num(size, "chars_p99"));
    kv(b, "max", "%.0f", num(size, "chars_max"));
    wd__strbuf_puts(b, "</table>\n");
    {
        const cJSON *h = cJSON_GetObjectItem(size, "histogram"), *e;
        size_t n = (size_t)cJSON_GetArraySize(h), k = 0;
        bar *v = calloc(n ? n : 1, sizeof *v);
        char (*labels)[48] = calloc(n ? n : 1, sizeof *labels);
        if (v && labels) {
            cJSON_ArrayForEach(e, h) {
                snprintf(labels[k], sizeof labels[k], "%.0f-%.0f chars", num(e, "lo"), num(e, "hi") - 1);
                v[k] = (bar){labels[k], num(e, "records"), ""};
                snprintf(v[k].text, sizeof v[k].text, "%.0f", num(e, "records"));
                k++;
            }
            bars_svg(b, "Length histogram (records per length bucket)", v, k);
        }
        free(v);
        free(labels);
    }

    wd__strbuf_puts(b, "<h2>Languages and scripts</h2>\n<p class='n'>");
    const cJSON *langs = cJSON_GetObjectItem(j, "languages"), *scripts = cJSON_GetObjectItem(j, "scripts");
    wd__strbuf_puts_html(b, str(langs, "method"));
    wd__strbuf_puts(b, "</p>\n");
    object_bars(b, "Language mix (records)", cJSON_GetObjectItem(langs, "records"), records, true);
    double letters = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(scripts, "letters")) letters += c->valuedouble;
    object_bars(b, "Script mix (letters)", cJSON_GetObjectItem(scripts, "letters"), letters, true);

    const cJSON *ex = cJSON_GetObjectItem(j, "exact_duplicates"), *nd = cJSON_GetObjectItem(j, "near_duplicates"),
                *ov = cJSON_GetObjectItem(j, "overlap");
    wd__strbuf_puts(b, "<h2>Duplicates</h2>\n");
    wd__strbuf_printf(b, "<p class='n'>Exact: same words in the same order (case, punctuation and spacing "
                         "ignored). Near: MinHash of word %.0f-grams, %.0f permutations, %.0f bands x %.0f rows; "
                         "a pair is kept from an estimated Jaccard of %.3f (threshold %.2f minus two standard "
                         "errors).</p>\n",
                      num(params, "shingle_words"), num(params, "permutations"), num(params, "bands"),
                      num(params, "rows"), num(params, "accept_from"), num(params, "threshold"));
    {
        double ne = num(ex, "records"), nn = num(nd, "records");
        bar v[5] = {{"unique", records - ne - nn, ""}, {"exact duplicates", ne, ""}, {"near duplicates", nn, ""},
                    {"compare: exact in corpus", num(ov, "exact"), ""}, {"compare: near in corpus", num(ov, "near"), ""}};
        double of[5] = {records, records, records, num(ov, "compare_records"), num(ov, "compare_records")};
        for (int i = 0; i < 5; i++)
            snprintf(v[i].text, sizeof v[i].text, "%.0f (%.1f%%)", v[i].value, of[i] > 0 ? 100 * v[i].value / of[i] : 0);
        bars_svg(b, "Duplicate records and train/test overlap", v, 5);
    }
    wd__strbuf_printf(b, "<p>%.0f near-duplicate clusters (largest %.0f records); %.0f records indexed%s.</p>\n",
                      num(nd, "clusters"), num(nd, "largest_cluster"), num(nd, "indexed"),
                      cJSON_IsTrue(cJSON_GetObjectItem(nd, "index_full")) ? " (the index is full: later records "
                                                                            "were compared, not indexed)" : "");
    wd__strbuf_puts(b, "<h3>Exact duplicates</h3>\n");
    examples_table(b, cJSON_GetObjectItem(ex, "examples"), NULL, NULL, NULL);
    wd__strbuf_puts(b, "<h3>Near duplicates</h3>\n");
    examples_table(b, cJSON_GetObjectItem(nd, "examples"), "of", "jaccard", NULL);
    wd__strbuf_printf(b, "<h3>Overlap with the compare set (%.0f records)</h3>\n", num(ov, "compare_records"));
    examples_table(b, cJSON_GetObjectItem(ov, "examples"), "of", "jaccard", "kind");

    const cJSON *pii = cJSON_GetObjectItem(j, "pii");
    wd__strbuf_printf(b, "<h2>PII and secrets</h2>\n<p>%.0f records (%.2f%%) hold %.0f hits of the guard's pii "
                         "and secrets scanners.</p>\n",
                      num(pii, "records"), 100 * num(pii, "share"), num(pii, "hits"));
    object_bars(b, "PII and secrets by kind (hits)", cJSON_GetObjectItem(pii, "by_kind"), 0, false);
    examples_table(b, cJSON_GetObjectItem(pii, "examples"), NULL, NULL, "kind");

    const cJSON *dem = cJSON_GetObjectItem(j, "demographics"), *ax;
    wd__strbuf_puts(b, "<h2>Demographic terms</h2>\n<p class='n'>Records that mention each group (word list: ");
    wd__strbuf_puts_html(b, str(dem, "terms"));
    wd__strbuf_puts(b, ").</p>\n");
    cJSON_ArrayForEach(ax, cJSON_GetObjectItem(dem, "axes")) {
        const cJSON *gs = cJSON_GetObjectItem(ax, "groups"), *g;
        size_t n = (size_t)cJSON_GetArraySize(gs), k = 0;
        bar *v = calloc(n ? n : 1, sizeof *v);
        if (!v) continue;
        cJSON_ArrayForEach(g, gs) {
            v[k] = (bar){str(g, "group"), num(g, "records"), ""};
            snprintf(v[k].text, sizeof v[k].text, "%.0f (%.2f%%)", v[k].value, 100 * num(g, "share"));
            k++;
        }
        char title[160];
        snprintf(title, sizeof title, "%s: %.0f records (%.2f%%) mention a group", str(ax, "axis"),
                 num(ax, "records"), 100 * num(ax, "share"));
        bars_svg(b, title, v, k);
        free(v);
    }

    const cJSON *fl = cJSON_GetObjectItem(j, "flagged"), *cat;
    wd__strbuf_puts(b, "<h2>Flagged by the guard</h2>\n");
    if (cJSON_IsString(cJSON_GetObjectItem(fl, "policy"))) {
        wd__strbuf_puts(b, "<p>Policy ");
        wd__strbuf_puts_html(b, str(fl, "policy"));
        wd__strbuf_printf(b, ": %.0f records (%.2f%%) flagged.</p>\n", num(fl, "records"), 100 * num(fl, "share"));
    } else {
        wd__strbuf_puts(b, "<p class='n'>No guard was run.</p>\n");
    }
    {
        const cJSON *bc = cJSON_GetObjectItem(fl, "by_category");
        size_t n = (size_t)cJSON_GetArraySize(bc), k = 0;
        bar *v = calloc(n ? n : 1, sizeof *v);
        char (*labels)[96] = calloc(n ? n : 1, sizeof *labels);
        if (v && labels) {
            cJSON_ArrayForEach(cat, bc) {
                snprintf(labels[k], sizeof labels[k], "%s %s", str(cat, "id"), str(cat, "name"));
                v[k] = (bar){labels[k], 100 * num(cat, "share"), ""};
                snprintf(v[k].text, sizeof v[k].text, "%.2f%% (%.0f)", v[k].value, num(cat, "records"));
                k++;
            }
            bars_svg(b, "Flagged share by category (% of records)", v, k);
        }
        free(v);
        free(labels);
    }
    examples_table(b, cJSON_GetObjectItem(fl, "examples"), NULL, "score", "category");
    wd__strbuf_puts(b, "</body></html>\n");
    return b->oom ? WD_ERR_NOMEM : WD_OK;
}

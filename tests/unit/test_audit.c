/*
 * tests/unit/test_audit.c - the corpus audit (warden/audit.h):
 *   - MinHash estimates against the exact Jaccard of the shingle sets
 *     (within 4 standard errors, sqrt(J(1-J)/128), plus the 8-bit bias);
 *   - near duplicates on a generated corpus with planted pairs: recall
 *     >= 95% on pairs of exact Jaccard >= 0.8, and few control pairs
 *     (Jaccard < 0.5) reported;
 *   - exact duplicates (case, punctuation, spacing ignored);
 *   - planted PII and secrets counted exactly, and the scrubbed copy has
 *     none left;
 *   - demographic counts on a hand-written corpus, a custom word list;
 *   - leakage against a compare set;
 *   - bad input: a missing file, a missing field, truncated gzip, a bad
 *     word list: an error naming it, exit 3 from the CLI, no output.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cjson/cJSON.h>

#include "explain/audit_internal.h"
#include "testutil.h"

/* ==== helpers ============================================================= */

/* A random word from a large vocabulary ("w" + 6 letters): two random
 * texts share no shingle. */
static void rand_word(char *w, uint64_t *seed) {
    w[0] = 'w';
    for (int i = 1; i < 7; i++) w[i] = (char)('a' + wdt_rand(seed) % 26);
    w[7] = '\0';
}

/* words[n][8] -> "w1 w2 ..." (malloc'd) */
static char *join(char (*words)[8], size_t n) {
    char *s = malloc(n * 8 + 1), *p = s;
    for (size_t i = 0; i < n; i++) {
        if (i) *p++ = ' ';
        size_t k = strlen(words[i]);
        memcpy(p, words[i], k);
        p += k;
    }
    *p = '\0';
    return s;
}

static int u64cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static size_t uniq(uint64_t *v, size_t n) {
    qsort(v, n, sizeof *v, u64cmp);
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (!w || v[w - 1] != v[i]) v[w++] = v[i];
    return w;
}

/* The exact Jaccard of two texts' shingle sets (the oracle). */
static double exact_jaccard(const char *a, const char *b) {
    uint64_t *sa, *sb;
    size_t na = wd__shingles(a, strlen(a), &sa);
    size_t nb = wd__shingles(b, strlen(b), &sb);
    na = uniq(sa, na), nb = uniq(sb, nb);
    size_t i = 0, k = 0, inter = 0;
    while (i < na && k < nb) {
        if (sa[i] == sb[k]) inter++, i++, k++;
        else if (sa[i] < sb[k]) i++;
        else k++;
    }
    free(sa), free(sb);
    return na + nb - inter ? (double)inter / (double)(na + nb - inter) : 1;
}

static void signature(const char *t, uint32_t sig[WD__AUDIT_PERM]) {
    uint64_t *s;
    size_t n = wd__shingles(t, strlen(t), &s);
    wd__minhash_init(sig);
    for (size_t i = 0; i < n; i++) wd__minhash_add(sig, s[i]);
    free(s);
}

static cJSON *audit_json(wd_audit *a) {
    char *js = NULL;
    assert_int_equal(wd_audit_json(a, false, &js), WD_OK);
    cJSON *j = cJSON_Parse(js);
    free(js);
    assert_non_null(j);
    return j;
}

static double jget(const cJSON *j, const char *a, const char *b) {
    const cJSON *x = cJSON_GetObjectItem(cJSON_GetObjectItem(j, a), b);
    assert_true(cJSON_IsNumber(x));
    return x->valuedouble;
}

static wd_audit *new_audit(size_t n_examples) {
    wd_audit_params p = wd_audit_params_default();
    p.n_threads = 2;
    p.batch = 64;
    p.n_examples = n_examples;
    wd_audit *a = NULL;
    assert_int_equal(wd_audit_new(&p, &a), WD_OK);
    return a;
}

/* ==== MinHash against the exact Jaccard =================================== */

static void test_minhash_estimate(void **state) {
    (void)state;
    uint64_t seed = 7;
    double sum_err = 0;
    int n_pairs = 200;
    for (int t = 0; t < n_pairs; t++) {
        char w[160][8];
        size_t n = 60 + wdt_rand(&seed) % 100;
        for (size_t i = 0; i < n; i++) rand_word(w[i], &seed);
        char *a = join(w, n);
        /* change a random share of the words */
        size_t changes = wdt_rand(&seed) % (n / 3 + 1);
        for (size_t c = 0; c < changes; c++) rand_word(w[wdt_rand(&seed) % n], &seed);
        char *b = join(w, n);
        double j = exact_jaccard(a, b);
        uint32_t sa[WD__AUDIT_PERM], sb[WD__AUDIT_PERM];
        signature(a, sa), signature(b, sb);
        double e = wd__minhash_jaccard(sa, sb);
        double sigma = sqrt(j * (1 - j) / WD__AUDIT_PERM);
        if (fabs(e - j) > 4 * sigma + 0.02) fail_msg("pair %d: estimate %.3f, exact %.3f (sigma %.3f)", t, e, j, sigma);
        uint8_t a8[WD__AUDIT_PERM], b8[WD__AUDIT_PERM];
        for (int k = 0; k < WD__AUDIT_PERM; k++) a8[k] = (uint8_t)sa[k], b8[k] = (uint8_t)sb[k];
        double e8 = wd__minhash_jaccard8(a8, b8);
        if (fabs(e8 - j) > 4 * sigma + 0.03) fail_msg("pair %d: 8-bit estimate %.3f, exact %.3f", t, e8, j);
        sum_err += e - j;
        free(a), free(b);
    }
    /* no bias: the mean error is within a few standard errors of 0 */
    assert_true(fabs(sum_err / n_pairs) < 0.01);
    /* identical texts: 1; disjoint: 0 */
    uint32_t s1[WD__AUDIT_PERM], s2[WD__AUDIT_PERM];
    signature("one two three four five six", s1);
    signature("one two three four five six", s2);
    assert_true(wd__minhash_jaccard(s1, s2) == 1.0);
    signature("alpha beta gamma delta epsilon zeta", s2);
    assert_true(wd__minhash_jaccard(s1, s2) < 0.05);
}

/* ==== near duplicates ===================================================== */

enum { N_BASE = 400, N_POS = 200, N_NEG = 100, DOC_WORDS = 120 };

static void test_near_duplicates(void **state) {
    (void)state;
    uint64_t seed = 11;
    static char base[N_BASE][DOC_WORDS][8];
    char *texts[N_BASE];
    for (int d = 0; d < N_BASE; d++) {
        for (int i = 0; i < DOC_WORDS; i++) rand_word(base[d][i], &seed);
        texts[d] = join(base[d], DOC_WORDS);
    }
    wd_audit *a = new_audit(100000);
    for (int d = 0; d < N_BASE; d++) assert_int_equal(wd_audit_add(a, texts[d], strlen(texts[d])), WD_OK);
    /* planted: copies of docs 0..N_POS-1 with 1-2 words changed, a word
     * dropped or a few words added; controls: docs N_POS.. with a third of
     * the words changed */
    int pos_ok = 0, neg_n = 0;
    double pos_j[N_POS], neg_j[N_NEG];
    for (int c = 0; c < N_POS + N_NEG; c++) {
        char w[DOC_WORDS + 8][8];
        int d = c, n = DOC_WORDS;
        memcpy(w, base[d], sizeof base[d]);
        if (c < N_POS) {
            switch (c % 4) {
            case 0: rand_word(w[wdt_rand(&seed) % DOC_WORDS], &seed); break;
            case 1:
                rand_word(w[10 + wdt_rand(&seed) % 40], &seed);
                rand_word(w[60 + wdt_rand(&seed) % 40], &seed);
                break;
            case 2: memmove(w[50], w[51], (size_t)(DOC_WORDS - 51) * 8), n--; break;
            default:
                for (int k = 0; k < 3; k++) rand_word(w[n++], &seed);
                break;
            }
        } else {
            for (int i = 0; i < DOC_WORDS; i += 3) rand_word(w[i], &seed);
        }
        char *t = join(w, (size_t)n);
        double j = exact_jaccard(texts[d], t);
        if (c < N_POS) {
            pos_j[c] = j;
            assert_true(j >= 0.8);
            pos_ok++;
        } else {
            neg_j[neg_n++] = j;
            assert_true(j < 0.5);
        }
        assert_int_equal(wd_audit_add(a, t, strlen(t)), WD_OK);
        free(t);
    }
    cJSON *j = audit_json(a);
    const cJSON *ex = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "near_duplicates"), "examples"), *e;
    int found = 0, false_pairs = 0;
    cJSON_ArrayForEach(e, ex) {
        int rec = (int)cJSON_GetObjectItem(e, "record")->valuedouble;
        int of = (int)cJSON_GetObjectItem(e, "of")->valuedouble;
        int c = rec - N_BASE;
        if (c >= 0 && c < N_POS && of == c) found++;
        else false_pairs++;
    }
    print_message("near duplicates: %d of %d planted pairs found (J %.2f..1), %d false pairs of %d controls\n",
                  found, pos_ok, 0.8, false_pairs, neg_n);
    assert_true(found >= 0.95 * N_POS);
    assert_true(false_pairs <= 2);
    assert_int_equal((int)jget(j, "near_duplicates", "records"), found + false_pairs);
    assert_int_equal((int)jget(j, "exact_duplicates", "records"), 0);
    (void)pos_j, (void)neg_j;
    cJSON_Delete(j);
    wd_audit_free(a);
    for (int d = 0; d < N_BASE; d++) free(texts[d]);
}

/* Text on a template (a shared 40-word header, then 30 words of its own):
 * records share band values without being near copies (J about 0.4); the
 * lookups stay bounded (the bucket cap) and a planted near copy is still
 * found. */
static void test_near_duplicates_template(void **state) {
    (void)state;
    enum { N = 3000, N_COPY = 60, HDR = 40, OWN = 30 };
    uint64_t seed = 13;
    char w[HDR + OWN][8];
    for (int i = 0; i < HDR; i++) rand_word(w[i], &seed);
    static char own[N_COPY][OWN][8];
    wd_audit *a = new_audit(100000);
    for (int d = 0; d < N; d++) {
        for (int i = HDR; i < HDR + OWN; i++) rand_word(w[i], &seed);
        if (d < N_COPY) memcpy(own[d], w[HDR], sizeof own[d]);
        char *t = join(w, HDR + OWN);
        assert_int_equal(wd_audit_add(a, t, strlen(t)), WD_OK);
        free(t);
    }
    for (int c = 0; c < N_COPY; c++) {
        memcpy(w[HDR], own[c], sizeof own[c]);
        rand_word(w[HDR + OWN - 1], &seed); /* the last word changed: J = 65/67 */
        char *t = join(w, HDR + OWN);
        assert_int_equal(wd_audit_add(a, t, strlen(t)), WD_OK);
        free(t);
    }
    cJSON *j = audit_json(a);
    const cJSON *e;
    int found = 0, other = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(cJSON_GetObjectItem(j, "near_duplicates"), "examples")) {
        int rec = (int)cJSON_GetObjectItem(e, "record")->valuedouble;
        int of = (int)cJSON_GetObjectItem(e, "of")->valuedouble;
        if (rec - N == of) found++;
        else other++;
    }
    double cand = jget(j, "near_duplicates", "candidates");
    print_message("template: %d of %d copies found, %d other pairs, %.0f candidates for %d records\n", found, N_COPY,
                  other, cand, N + N_COPY);
    assert_true(found >= 0.95 * N_COPY);
    assert_true(other <= 0.01 * N);
    assert_true(cand <= 200.0 * (N + N_COPY)); /* at most 21 bands x 8 a record, and some */
    cJSON_Delete(j);
    wd_audit_free(a);
}

/* ==== exact duplicates and leakage ======================================== */

static void test_exact_and_leakage(void **state) {
    (void)state;
    wd_audit *a = new_audit(100);
    const char *corpus[] = {
        "The cat sat on the mat.",
        "the CAT   sat on the mat",      /* same words: exact duplicate */
        "A completely different sentence about rivers and lakes.",
        "The cat, sat on: the mat!",     /* exact duplicate again */
        "Another line that stands alone here.",
        "",                              /* empty: no words, not a duplicate */
        "",
    };
    for (size_t i = 0; i < sizeof corpus / sizeof *corpus; i++)
        assert_int_equal(wd_audit_add(a, corpus[i], strlen(corpus[i])), WD_OK);
    const char *test[] = {"the cat sat on the mat", "nothing like the training data at all, truly", "ANOTHER line that stands alone here"};
    for (size_t i = 0; i < 3; i++) assert_int_equal(wd_audit_add_compare(a, test[i], strlen(test[i])), WD_OK);
    /* the corpus comes first */
    assert_int_equal(wd_audit_add(a, "late", 4), WD_ERR_INVALID_ARG);
    cJSON *j = audit_json(a);
    assert_int_equal((int)jget(j, "size", "records"), 7);
    assert_int_equal((int)jget(j, "size", "empty"), 2);
    assert_int_equal((int)jget(j, "exact_duplicates", "records"), 2);
    assert_int_equal((int)jget(j, "exact_duplicates", "distinct"), 3);
    assert_int_equal((int)jget(j, "overlap", "compare_records"), 3);
    assert_int_equal((int)jget(j, "overlap", "exact"), 2);
    assert_int_equal((int)jget(j, "overlap", "near"), 0);
    assert_int_equal((int)jget(j, "size", "words"), 6 + 6 + 8 + 6 + 6);
    cJSON_Delete(j);
    wd_audit_free(a);
}

/* ==== PII: planted counts and the scrubbed copy =========================== */

static void luhn_card(char *out, uint64_t *seed) {
    int d[16] = {4};
    for (int i = 1; i < 15; i++) d[i] = (int)(wdt_rand(seed) % 10);
    for (int check = 0; check < 10; check++) {
        d[15] = check;
        int sum = 0;
        for (int i = 0; i < 16; i++) {
            int v = d[15 - i];
            if (i % 2) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
            sum += v;
        }
        if (sum % 10 == 0) break;
    }
    char *p = out;
    for (int i = 0; i < 16; i++) p += sprintf(p, "%s%d", i && i % 4 == 0 ? " " : "", d[i]);
}

static void rand_upper(char *out, int n, const char *alphabet, uint64_t *seed) {
    size_t k = strlen(alphabet);
    for (int i = 0; i < n; i++) out[i] = alphabet[wdt_rand(seed) % k];
    out[n] = '\0';
}

static void test_pii_counts_and_scrub(void **state) {
    (void)state;
    char *dir = wdt_tmpdir("audit_pii");
    char in[512], out[512], rep[512];
    snprintf(in, sizeof in, "%s/corpus.jsonl", dir);
    snprintf(out, sizeof out, "%s/scrubbed.jsonl", dir);
    snprintf(rep, sizeof rep, "%s/report", dir);
    FILE *f = fopen(in, "w");
    assert_non_null(f);
    uint64_t seed = 5;
    int planted[5] = {0}; /* email phone card aws github */
    for (int r = 0; r < 300; r++) {
        char filler[8][8];
        for (int i = 0; i < 8; i++) rand_word(filler[i], &seed);
        char *fw = join(filler, 8);
        char text[512];
        int k = r % 6;
        char tok[64];
        switch (k) {
        case 0: snprintf(text, sizeof text, "%s write to user%d.name@example.org soon", fw, r); break;
        case 1: snprintf(text, sizeof text, "%s call (415) 555-%04d today", fw, 1000 + r); break;
        case 2: luhn_card(tok, &seed); snprintf(text, sizeof text, "%s card %s thanks", fw, tok); break;
        case 3: rand_upper(tok, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", &seed);
                snprintf(text, sizeof text, "%s key AKIA%s end", fw, tok); break;
        case 4: rand_upper(tok, 36, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", &seed);
                snprintf(text, sizeof text, "%s token ghp_%s end", fw, tok); break;
        default: snprintf(text, sizeof text, "%s nothing personal here", fw); break;
        }
        if (k < 5) planted[k]++;
        free(fw);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", r);
        cJSON_AddStringToObject(o, "text", text);
        char *line = cJSON_PrintUnformatted(o);
        fprintf(f, "%s\n", line);
        free(line);
        cJSON_Delete(o);
    }
    fclose(f);

    wd_audit_params p = wd_audit_params_default();
    p.n_threads = 2;
    p.scrub_path = out;
    wd_audit *a = NULL;
    assert_int_equal(wd_audit_new(&p, &a), WD_OK);
    assert_int_equal(wd_audit_add_file(a, in, false), WD_OK);
    assert_int_equal(wd_audit_write(a, rep), WD_OK);
    cJSON *j = audit_json(a);
    const cJSON *bk = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "pii"), "by_kind");
    const char *kinds[5] = {"email", "phone", "card", "aws-access-key-id", "github-token"};
    int total = 0;
    for (int k = 0; k < 5; k++) {
        const cJSON *v = cJSON_GetObjectItem(bk, kinds[k]);
        if (!cJSON_IsNumber(v) || (int)v->valuedouble != planted[k])
            fail_msg("%s: found %d, planted %d", kinds[k], cJSON_IsNumber(v) ? (int)v->valuedouble : -1, planted[k]);
        total += planted[k];
    }
    assert_int_equal(cJSON_GetArraySize(bk), 5); /* no other kind */
    assert_int_equal((int)jget(j, "pii", "hits"), total);
    assert_int_equal((int)jget(j, "pii", "records"), total);
    cJSON_Delete(j);
    wd_audit_free(a);

    /* the scrubbed copy: same records and ids, placeholders, no PII left */
    char *text = NULL;
    size_t len = 0;
    FILE *sf = fopen(out, "r");
    assert_non_null(sf);
    char line[1024];
    int n = 0, with_placeholder = 0;
    while (fgets(line, sizeof line, sf)) {
        cJSON *o = cJSON_Parse(line);
        assert_non_null(o);
        assert_int_equal((int)cJSON_GetObjectItem(o, "id")->valuedouble, n);
        if (strchr(cJSON_GetObjectItem(o, "text")->valuestring, '[')) with_placeholder++;
        cJSON_Delete(o);
        n++;
    }
    fclose(sf);
    assert_int_equal(n, 300);
    assert_int_equal(with_placeholder, total);
    (void)text, (void)len;
    a = new_audit(5);
    assert_int_equal(wd_audit_add_file(a, out, false), WD_OK);
    j = audit_json(a);
    assert_int_equal((int)jget(j, "pii", "hits"), 0);
    cJSON_Delete(j);
    wd_audit_free(a);
    /* the report files exist */
    struct stat sb;
    snprintf(line, sizeof line, "%s/audit.json", rep);
    assert_int_equal(stat(line, &sb), 0);
    snprintf(line, sizeof line, "%s/report.html", rep);
    assert_int_equal(stat(line, &sb), 0);
    free(dir);
}

/* ==== demographics ======================================================== */

static int group_records(const cJSON *j, const char *axis, const char *group, int *mentions) {
    const cJSON *ax, *g;
    cJSON_ArrayForEach(ax, cJSON_GetObjectItem(cJSON_GetObjectItem(j, "demographics"), "axes")) {
        if (strcmp(cJSON_GetObjectItem(ax, "axis")->valuestring, axis)) continue;
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(ax, "groups")) {
            if (strcmp(cJSON_GetObjectItem(g, "group")->valuestring, group)) continue;
            if (mentions) *mentions = (int)cJSON_GetObjectItem(g, "mentions")->valuedouble;
            return (int)cJSON_GetObjectItem(g, "records")->valuedouble;
        }
    }
    fail_msg("no group %s/%s", axis, group);
    return -1;
}

static void test_demographics(void **state) {
    (void)state;
    wd_audit *a = new_audit(5);
    const char *corpus[] = {
        "She told him that her book was his favourite.",      /* she x2, he x2 */
        "They said the Muslim and Jewish communities met.",   /* unspecified, muslim, jewish */
        "A non-binary artist from Korea; a Korean film.",     /* non-binary, korean */
        "Nothing here at all.",
        "SHE and she and She.",                               /* she x3 */
        "The African American museum and an African mask.",   /* african american, african (the longest match) */
        "Native Americans and Americans met.",                 /* native american, american */
    };
    for (size_t i = 0; i < sizeof corpus / sizeof *corpus; i++)
        assert_int_equal(wd_audit_add(a, corpus[i], strlen(corpus[i])), WD_OK);
    cJSON *j = audit_json(a);
    int m = 0;
    assert_int_equal(group_records(j, "pronouns", "she", &m), 2);
    assert_int_equal(m, 5);
    assert_int_equal(group_records(j, "pronouns", "he", &m), 1);
    assert_int_equal(m, 2);
    assert_int_equal(group_records(j, "pronouns", "unspecified", &m), 1);
    assert_int_equal(group_records(j, "religion", "muslim", NULL), 1);
    assert_int_equal(group_records(j, "religion", "jewish", NULL), 1);
    assert_int_equal(group_records(j, "religion", "christian", NULL), 0);
    assert_int_equal(group_records(j, "gender_and_sex", "non-binary", NULL), 1);
    assert_int_equal(group_records(j, "nationality", "korean", NULL), 1);
    assert_int_equal(group_records(j, "race_and_ethnicity", "african american", &m), 1);
    assert_int_equal(m, 1);
    assert_int_equal(group_records(j, "race_and_ethnicity", "african", &m), 1);
    assert_int_equal(m, 1);
    assert_int_equal(group_records(j, "race_and_ethnicity", "native american", &m), 1);
    assert_int_equal(m, 1);
    assert_int_equal(group_records(j, "nationality", "american", &m), 1); /* not from "Native Americans" */
    assert_int_equal(m, 1);
    /* the pronoun axis: records mentioning any family */
    const cJSON *ax = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "demographics"), "axes"), 0);
    assert_string_equal(cJSON_GetObjectItem(ax, "axis")->valuestring, "pronouns");
    assert_int_equal((int)cJSON_GetObjectItem(ax, "records")->valuedouble, 3);
    cJSON_Delete(j);
    wd_audit_free(a);

    /* a custom word list replaces the default */
    char *dir = wdt_tmpdir("audit_terms");
    char path[512];
    snprintf(path, sizeof path, "%s/terms.yaml", dir);
    const char *yaml = "version: 1\naxes:\n  pets:\n    cat: [cat, cats, kitty cat]\n    dog: dog\n";
    wdt_write_file(path, yaml, strlen(yaml));
    wd_audit_params p = wd_audit_params_default();
    p.terms_path = path;
    assert_int_equal(wd_audit_new(&p, &a), WD_OK);
    const char *t1 = "my kitty cat and two cats and a dog";
    assert_int_equal(wd_audit_add(a, t1, strlen(t1)), WD_OK);
    j = audit_json(a);
    assert_int_equal(group_records(j, "pets", "cat", &m), 1);
    assert_int_equal(m, 2); /* "kitty cat" (the longest match, not also its "cat"), "cats" */
    assert_int_equal(group_records(j, "pets", "dog", &m), 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "demographics"), "axes")), 1);
    cJSON_Delete(j);
    wd_audit_free(a);

    /* a bad list: its file, line and field */
    const char *bad = "version: 1\naxes:\n  pets:\n    cat: {a: b}\n";
    wdt_write_file(path, bad, strlen(bad));
    assert_int_equal(wd_audit_new(&p, &a), WD_ERR_FORMAT);
    assert_null(a);
    assert_non_null(strstr(wd_last_error(), "terms.yaml:4"));
    assert_non_null(strstr(wd_last_error(), "cat"));
    free(dir);
}

/* ==== languages and scripts =============================================== */

static void test_languages(void **state) {
    (void)state;
    wd_audit *a = new_audit(5);
    const char *corpus[] = {
        "The river is wide and the water was cold for all of them.",
        "Le chat est dans la maison et il ne veut pas sortir avec nous.",
        "Der Hund ist nicht in dem Haus, und er wird auch nicht kommen.",
        "Привет, как дела у тебя сегодня?",
        "東京は日本の首都です",
        "xyzzy plugh",
    };
    for (size_t i = 0; i < sizeof corpus / sizeof *corpus; i++)
        assert_int_equal(wd_audit_add(a, corpus[i], strlen(corpus[i])), WD_OK);
    cJSON *j = audit_json(a);
    const cJSON *r = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "languages"), "records");
    assert_int_equal((int)cJSON_GetObjectItem(r, "en")->valuedouble, 1);
    assert_int_equal((int)cJSON_GetObjectItem(r, "fr")->valuedouble, 1);
    assert_int_equal((int)cJSON_GetObjectItem(r, "de")->valuedouble, 1);
    assert_int_equal((int)cJSON_GetObjectItem(r, "other:Cyrillic")->valuedouble, 1);
    assert_int_equal((int)cJSON_GetObjectItem(r, "other:Han")->valuedouble, 1);
    assert_int_equal((int)cJSON_GetObjectItem(r, "unknown")->valuedouble, 1);
    const cJSON *l = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "scripts"), "letters");
    assert_true(cJSON_GetObjectItem(l, "Kana")->valuedouble >= 2);
    assert_true(cJSON_GetObjectItem(l, "Cyrillic")->valuedouble >= 20);
    cJSON_Delete(j);
    wd_audit_free(a);
}

/* ==== bad input =========================================================== */

static void test_bad_input(void **state) {
    (void)state;
    char *dir = wdt_tmpdir("audit_bad");
    char path[512], cmd[4096], outdir[512], gz[512], scrub[512];
    snprintf(outdir, sizeof outdir, "%s/out", dir);
    snprintf(scrub, sizeof scrub, "%s/scrub.jsonl", dir);
    /* a missing file */
    wd_audit *a = new_audit(5);
    snprintf(path, sizeof path, "%s/missing.jsonl", dir);
    assert_int_not_equal(wd_audit_add_file(a, path, false), WD_OK);
    print_message("missing file: %s\n", wd_audit_last_error(a));
    assert_non_null(strstr(wd_audit_last_error(a), "missing.jsonl"));
    wd_audit_free(a);
    char *err = NULL;
    snprintf(cmd, sizeof cmd, "audit --data '%s' --out '%s' --policy none -q", path, outdir);
    assert_int_equal(wdt_cli(cmd, NULL, NULL, &err), 3);
    assert_non_null(strstr(err, "missing.jsonl"));
    free(err);

    /* a record without the field */
    snprintf(path, sizeof path, "%s/nofield.jsonl", dir);
    const char *bad = "{\"text\": \"fine\"}\n{\"body\": \"no text field\"}\n";
    wdt_write_file(path, bad, strlen(bad));
    snprintf(cmd, sizeof cmd, "audit --data '%s' --out '%s' --policy none --scrub '%s' -q", path, outdir, scrub);
    assert_int_equal(wdt_cli(cmd, NULL, NULL, &err), 3);
    assert_non_null(strstr(err, "nofield.jsonl:2"));
    assert_non_null(strstr(err, "text"));
    free(err);
    /* a named field that is not there */
    snprintf(cmd, sizeof cmd, "audit --data '%s' --text-field content --out '%s' --policy none -q", path, outdir);
    assert_int_equal(wdt_cli(cmd, NULL, NULL, &err), 3);
    assert_non_null(strstr(err, "content"));
    free(err);

    /* truncated gzip */
    snprintf(gz, sizeof gz, "%s/cut.jsonl.gz", dir);
    gzFile g = gzopen(gz, "wb");
    for (int i = 0; i < 2000; i++) gzprintf(g, "{\"text\": \"line %d of a gzip file that will be cut\"}\n", i);
    gzclose(g);
    FILE *f = fopen(gz, "rb");
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    wdt_write_file(gz, buf, n - 12);
    snprintf(cmd, sizeof cmd, "audit --data '%s' --out '%s' --policy none --scrub '%s' -q", gz, outdir, scrub);
    assert_int_equal(wdt_cli(cmd, NULL, NULL, &err), 3);
    assert_non_null(strstr(err, "truncated"));
    free(err);

    /* a good corpus with --scrub, then a bad compare set */
    char good[512];
    snprintf(good, sizeof good, "%s/good.jsonl", dir);
    const char *gd = "{\"text\": \"mail me at a.b@example.com\"}\n";
    wdt_write_file(good, gd, strlen(gd));
    snprintf(cmd, sizeof cmd, "audit --data '%s' --compare '%s' --out '%s' --policy none --scrub '%s' -q", good, path,
             outdir, scrub);
    assert_int_equal(wdt_cli(cmd, NULL, NULL, &err), 3);
    assert_non_null(strstr(err, "nofield.jsonl:2"));
    free(err);

    /* --out cannot be written: the scrubbed copy is not left behind either */
    char noout[600];
    snprintf(noout, sizeof noout, "%s/good.jsonl/out", dir); /* under a file */
    snprintf(cmd, sizeof cmd, "audit --data '%s' --out '%s' --policy none --scrub '%s' -q", good, noout, scrub);
    assert_int_equal(wdt_cli(cmd, NULL, NULL, &err), 3);
    free(err);

    /* no partial output from any of them */
    struct stat sb;
    assert_int_not_equal(stat(outdir, &sb), 0);
    assert_int_not_equal(stat(scrub, &sb), 0);

    /* the scrub finds PII in a text with invalid UTF-8 (CSV and JSONL), and
     * keeps a record that is a JSON string a string ("123" stays "123") */
    const char *inputs[][2] = {
        {"bad.csv", "text,id\n\"mail \xff bob at bob.smith@example.com now\",1\n"},
        {"bad.jsonl", "{\"text\":\"caf\xe9 mail dave@example.com\"}\n"},
        {"strings.json", "[\"contact alice@example.org please\", \"123\", \"[1]\"]"},
    };
    for (int k = 0; k < 3; k++) {
        char in[600], sc[600];
        snprintf(in, sizeof in, "%s/%s", dir, inputs[k][0]);
        snprintf(sc, sizeof sc, "%s/scrubbed-%s", dir, inputs[k][0]);
        wdt_write_file(in, inputs[k][1], strlen(inputs[k][1]));
        snprintf(cmd, sizeof cmd, "audit --data '%s' --out '%s' --policy none --scrub '%s' -q", in, outdir, sc);
        if (wdt_cli(cmd, NULL, NULL, &err) != 0) fail_msg("%s: %s", inputs[k][0], err);
        free(err);
        FILE *sf = fopen(sc, "rb");
        assert_non_null(sf);
        size_t sn = fread(buf, 1, sizeof buf - 1, sf);
        fclose(sf);
        buf[sn] = '\0';
        print_message("scrubbed %s: %s\n", inputs[k][0], buf);
        assert_null(strstr(buf, "@example"));
        if (k == 2) {
            assert_non_null(strstr(buf, "\"123\""));
            assert_non_null(strstr(buf, "\"[1]\""));
        }
    }

    /* a usage error: --data missing */
    assert_int_equal(wdt_cli("audit --out x", NULL, NULL, NULL), 2);
    free(dir);
}

/* ==== the CLI end to end ================================================== */

static void test_cli(void **state) {
    (void)state;
    char *dir = wdt_tmpdir("audit_cli");
    char train[512], test[512], cmd[4096], outdir[512];
    snprintf(train, sizeof train, "%s/train.csv", dir);
    snprintf(test, sizeof test, "%s/test.csv", dir);
    snprintf(outdir, sizeof outdir, "%s/out", dir);
    const char *tr = "id,text\n1,\"The first training example, with a comma\"\n2,Second example about the sea\n"
                     "3,Contact jane@example.com for details\n4,<script>alert(1)</script> & <b>tags</b> here\n";
    const char *te = "id,text\n1,the first training example with a comma\n2,A new test sentence\n"
                     "3,<script>alert(1)</script> & <b>tags</b> here\n";
    wdt_write_file(train, tr, strlen(tr));
    wdt_write_file(test, te, strlen(te));
    char *out = NULL, scrub[512];
    snprintf(scrub, sizeof scrub, "%s/train.scrubbed.csv.gz", dir);
    snprintf(cmd, sizeof cmd, "audit --data '%s' --compare '%s' --out '%s' --scrub '%s' --json -q", train, test, outdir,
             scrub);
    assert_int_equal(wdt_cli(cmd, NULL, &out, NULL), 0);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    assert_int_equal((int)jget(j, "size", "records"), 4);
    assert_int_equal((int)jget(j, "overlap", "exact"), 2);
    assert_int_equal((int)jget(j, "pii", "records"), 1);
    /* keys always present */
    const char *keys[] = {"schema", "params", "files", "size", "scripts", "languages", "exact_duplicates",
                          "near_duplicates", "overlap", "pii", "demographics", "flagged"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) assert_non_null(cJSON_GetObjectItem(j, keys[i]));
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "flagged"), "policy")->valuestring, "default");
    cJSON_Delete(j);
    free(out);
    char path[600];
    snprintf(path, sizeof path, "%s/report.html", outdir);
    char *html = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    html = malloc(1 << 20);
    len = fread(html, 1, (1 << 20) - 1, f);
    html[len] = '\0';
    fclose(f);
    assert_non_null(strstr(html, "<svg"));
    assert_null(strstr(html, "<script"));                  /* texts are escaped */
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;"));
    assert_null(strstr(html, "jane@example.com")); /* PII is masked in the report */
    free(html);
    /* the scrubbed copy: CSV (quoting kept), gzip'd */
    gzFile g = gzopen(scrub, "rb");
    assert_non_null(g);
    char sc[1024];
    int n = gzread(g, sc, sizeof sc - 1);
    gzclose(g);
    assert_true(n > 0);
    sc[n] = '\0';
    assert_string_equal(sc, "id,text\n1,\"The first training example, with a comma\"\n2,Second example about the sea\n"
                            "3,Contact [EMAIL] for details\n4,<script>alert(1)</script> & <b>tags</b> here\n");
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minhash_estimate),  cmocka_unit_test(test_near_duplicates),
        cmocka_unit_test(test_near_duplicates_template),
        cmocka_unit_test(test_exact_and_leakage), cmocka_unit_test(test_pii_counts_and_scrub),
        cmocka_unit_test(test_demographics),      cmocka_unit_test(test_languages),
        cmocka_unit_test(test_bad_input),         cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

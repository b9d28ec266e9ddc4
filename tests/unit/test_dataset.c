/*
 * tests/unit/test_dataset.c - the dataset reader: hand-made CSV/TSV/JSONL/
 * JSON/text fixtures (quoting, embedded newlines, BOM, CRLF, gzip, nested
 * paths, labels, categories), corrupt inputs with the messages they must
 * give, and the real sets in ../shared/data against the row counts of
 * data/MANIFEST.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "testutil.h"
#include "warden/dataset.h"

typedef struct got {
    size_t n;
    char  *text[64];
    int    label[64];
    wd_catmask cats[64];
    size_t line[64];
} got;

static void got_free(got *g) {
    for (size_t i = 0; i < g->n && i < 64; i++) free(g->text[i]);
}

/* Reads all items of mem (name picks the format); returns the status. */
static wd_status read_mem(const char *data, const char *name, const wd_dataset_params *p, got *g) {
    memset(g, 0, sizeof *g);
    wd_dataset *ds;
    wd_status st = wd_dataset_open_mem(data, strlen(data), name, p, &ds);
    if (st) return st;
    const wd_dataset_item *it;
    while (!(st = wd_dataset_next(ds, &it)) && it) {
        if (g->n < 64) {
            g->text[g->n] = strdup(it->text);
            g->label[g->n] = it->label;
            g->cats[g->n] = it->categories;
            g->line[g->n] = it->line;
        }
        g->n++;
    }
    if (st) print_message("error: %s\n", wd_dataset_last_error(ds));
    wd_dataset_free(ds);
    return st;
}

static size_t count_file(const char *path, const wd_dataset_params *p, wd_status *st_out) {
    wd_dataset *ds;
    wd_status st = wd_dataset_open(path, p, &ds);
    size_t n = 0;
    if (!st) {
        const wd_dataset_item *it;
        while (!(st = wd_dataset_next(ds, &it)) && it) {
            assert_true(it->text_len > 0);
            n++;
        }
        if (st) print_message("error: %s\n", wd_dataset_last_error(ds));
        wd_dataset_free(ds);
    } else {
        print_message("error: %s\n", wd_last_error());
    }
    *st_out = st;
    return n;
}

static void test_csv_quoting(void **state) {
    const char *csv =
        "\xEF\xBB\xBFid,text,label\r\n"
        "1,plain,harmful\r\n"
        "2,\"with, comma\",0\r\n"
        "3,\"say \"\"hi\"\"\",benign\r\n"
        "4,\"two\nlines\",1\n"
        "\n"
        "5,\"\",1\n"
        "6,last,safe";
    wd_dataset_params p = wd_dataset_params_default();
    p.text_field = "text";
    p.label_field = "label";
    got g;
    assert_int_equal(read_mem(csv, "x.csv", &p, &g), WD_OK);
    assert_int_equal(g.n, 5); /* the empty text (id 5) is skipped */
    assert_string_equal(g.text[0], "plain");
    assert_int_equal(g.label[0], WD_LABEL_HARMFUL);
    assert_string_equal(g.text[1], "with, comma");
    assert_int_equal(g.label[1], WD_LABEL_BENIGN);
    assert_string_equal(g.text[2], "say \"hi\"");
    assert_string_equal(g.text[3], "two\nlines");
    assert_int_equal(g.label[3], WD_LABEL_HARMFUL);
    assert_int_equal(g.line[3], 5);
    assert_string_equal(g.text[4], "last");
    assert_int_equal(g.line[4], 9); /* line numbers count the embedded newline */
    assert_int_equal(g.label[4], WD_LABEL_BENIGN);
    got_free(&g);

    /* The BOM is not part of the first column's name. */
    p.text_field = "id";
    p.label_field = NULL;
    assert_int_equal(read_mem(csv, "x.csv", &p, &g), WD_OK);
    assert_string_equal(g.text[0], "1");
    got_free(&g);
}

static void test_csv_errors(void **state) {
    wd_dataset_params p = wd_dataset_params_default();
    p.text_field = "text";
    p.label_field = "label";
    got g;
    /* unterminated quote names the file, the line and the record */
    wd_dataset *ds;
    const char *bad = "text,label\nok,1\n\"never closed,1\n";
    assert_int_equal(wd_dataset_open_mem(bad, strlen(bad), "bad.csv", &p, &ds), WD_OK);
    const wd_dataset_item *it;
    assert_int_equal(wd_dataset_next(ds, &it), WD_OK);
    assert_non_null(it);
    assert_int_equal(wd_dataset_next(ds, &it), WD_ERR_FORMAT);
    assert_null(it);
    assert_non_null(strstr(wd_dataset_last_error(ds), "bad.csv:3"));
    assert_non_null(strstr(wd_dataset_last_error(ds), "never closed"));
    /* the dataset stays at the error */
    assert_int_equal(wd_dataset_next(ds, &it), WD_ERR_FORMAT);
    wd_dataset_free(ds);

    /* a bad label value */
    const char *badl = "text,label\nok,1\nhmm,maybe\n";
    assert_int_equal(wd_dataset_open_mem(badl, strlen(badl), "l.csv", &p, &ds), WD_OK);
    assert_int_equal(wd_dataset_next(ds, &it), WD_OK);
    assert_int_equal(wd_dataset_next(ds, &it), WD_ERR_FORMAT);
    const char *m = wd_dataset_last_error(ds);
    assert_non_null(strstr(m, "l.csv:3: record 1"));
    assert_non_null(strstr(m, "field 'label'"));
    assert_non_null(strstr(m, "'maybe'"));
    wd_dataset_free(ds);

    /* a missing column is reported at open, with the columns there are */
    p.label_field = "gold";
    assert_int_equal(read_mem("text,label\na,1\n", "c.csv", &p, &g), WD_ERR_NOT_FOUND);
    assert_non_null(strstr(wd_last_error(), "'gold'"));
    assert_non_null(strstr(wd_last_error(), "'label'"));

    /* a short row */
    p.label_field = "label";
    assert_int_equal(read_mem("text,label\na\n", "s.csv", &p, &g), WD_ERR_FORMAT);
    got_free(&g);
    /* an empty file */
    assert_int_equal(read_mem("", "e.csv", &p, &g), WD_ERR_FORMAT);
    /* an oversized record */
    p.max_record_bytes = 8;
    assert_int_equal(read_mem("text,label\n0123456789abcdef,1\n", "big.csv", &p, &g), WD_ERR_RANGE);
    got_free(&g);
}

static void test_tsv_text(void **state) {
    wd_dataset_params p = wd_dataset_params_default();
    p.text_field = "text";
    p.label_field = "label";
    got g;
    assert_int_equal(read_mem("label\tgroup\ttext\nhate\ta\tx \"y\"\r\nneutral\tb\tz\n", "t.tsv", &p, &g),
                     WD_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.text[0], "x \"y\"");
    assert_int_equal(g.label[0], WD_LABEL_HARMFUL);
    assert_string_equal(g.text[1], "z");
    assert_int_equal(g.label[1], WD_LABEL_BENIGN);
    got_free(&g);

    wd_dataset_params t = wd_dataset_params_default();
    t.fixed_label = WD_LABEL_BENIGN;
    assert_int_equal(read_mem("first\r\n\n  \nsecond \"q\"\nthird", "p.txt", &t, &g), WD_OK);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.text[0], "first");
    assert_string_equal(g.text[1], "second \"q\"");
    assert_int_equal(g.line[1], 4);
    assert_string_equal(g.text[2], "third");
    assert_int_equal(g.label[2], WD_LABEL_BENIGN);
    got_free(&g);

    /* a label field makes no sense for plain text */
    t.fixed_label = WD_LABEL_UNKNOWN;
    t.label_field = "label";
    assert_int_equal(read_mem("a\n", "p.txt", &t, &g), WD_ERR_INVALID_ARG);
}

static void test_jsonl(void **state) {
    const char *jl = "{\"prompt\": \"a\", \"meta\": {\"unsafe\": true, \"cat\": [\"S1\", \"hate\"]}}\n"
                     "\n"
                     "{\"prompt\": \"b\\nc\", \"meta\": {\"unsafe\": 0, \"cat\": []}}\n"
                     "{\"prompt\": \"d\", \"meta\": {\"unsafe\": \"unsafe\", \"cat\": \"S9\"}}\n";
    wd_dataset_params p = wd_dataset_params_default();
    p.label_field = "meta.unsafe";
    p.category_field = "meta.cat";
    got g;
    assert_int_equal(read_mem(jl, "d.jsonl", &p, &g), WD_OK); /* text field by default: "prompt" */
    assert_int_equal(g.n, 3);
    assert_string_equal(g.text[0], "a");
    assert_int_equal(g.label[0], WD_LABEL_HARMFUL);
    assert_int_equal(g.cats[0], WD_CATMASK(WD_CATEGORY_S1) | WD_CATMASK(WD_CATEGORY_S10));
    assert_string_equal(g.text[1], "b\nc");
    assert_int_equal(g.label[1], WD_LABEL_BENIGN);
    assert_int_equal(g.cats[1], 0);
    assert_int_equal(g.line[2], 4);
    assert_int_equal(g.cats[2], WD_CATMASK(WD_CATEGORY_S9));
    got_free(&g);

    /* errors: a broken line, a wrong type, an unknown category */
    p.category_field = NULL;
    assert_int_equal(read_mem("{\"prompt\":\"a\",\"meta\":{\"unsafe\":1}}\n{\"prompt\": }\n", "x.jsonl", &p, &g),
                     WD_ERR_FORMAT);
    assert_non_null(strstr(wd_last_error(), "x.jsonl:2"));
    got_free(&g);
    assert_int_equal(read_mem("{\"prompt\": 5, \"meta\":{\"unsafe\":1}}\n", "y.jsonl", &p, &g), WD_ERR_FORMAT);
    assert_non_null(strstr(wd_last_error(), "field 'prompt'"));
    assert_non_null(strstr(wd_last_error(), "a number"));
    assert_int_equal(read_mem("{\"prompt\": \"a\"}\n", "z.jsonl", &p, &g), WD_ERR_NOT_FOUND);
    assert_non_null(strstr(wd_last_error(), "field 'meta.unsafe': missing"));
    p.category_field = "c";
    p.category_scheme = "ailuminate";
    assert_int_equal(read_mem("{\"prompt\": \"a\", \"c\": \"zzz\", \"meta\":{\"unsafe\":1}}\n", "w.jsonl", &p, &g),
                     WD_ERR_FORMAT);
    assert_non_null(strstr(wd_last_error(), "zzz"));
    p.category_scheme = "nonesuch";
    assert_int_equal(read_mem("{}", "w.jsonl", &p, &g), WD_ERR_INVALID_ARG);
}

static void test_json_arrays(void **state) {
    wd_dataset_params p = wd_dataset_params_default();
    p.text_field = "q";
    p.label_field = "is_bad";
    got g;
    const char *arr = " [ {\"q\": \"x]\\\"{\", \"is_bad\": false, \"extra\": [1, {\"a\": \"]\"}]},\n"
                      "   {\"q\": \"y\", \"is_bad\": true} ] ";
    assert_int_equal(read_mem(arr, "a.json", &p, &g), WD_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.text[0], "x]\"{");
    assert_int_equal(g.label[0], WD_LABEL_BENIGN);
    assert_int_equal(g.label[1], WD_LABEL_HARMFUL);
    got_free(&g);

    /* an object holding the array under a path, with fields given as a[].b */
    const char *nested = "{\"meta\": {\"skip\": [\"[\", {\"instances\": 1}]}, \"data\": {\"instances\": ["
                         "{\"instance\": \"one\", \"annotations\": {\"tox\": {\"majority\": \"1\"}}},"
                         "{\"instance\": \"two\", \"annotations\": {\"tox\": {\"majority\": \"0\"}}}]}}";
    p.text_field = "data.instances[].instance";
    p.label_field = "data.instances[].annotations.tox.majority";
    assert_int_equal(read_mem(nested, "n.json", &p, &g), WD_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.text[1], "two");
    assert_int_equal(g.label[0], WD_LABEL_HARMFUL);
    assert_int_equal(g.label[1], WD_LABEL_BENIGN);
    got_free(&g);

    /* the same with records_path, and a mismatched prefix */
    p.text_field = "instance";
    p.label_field = "annotations.tox.majority";
    p.records_path = "data.instances";
    assert_int_equal(read_mem(nested, "n.json", &p, &g), WD_OK);
    assert_int_equal(g.n, 2);
    got_free(&g);
    p.records_path = "data.nothere";
    assert_int_equal(read_mem(nested, "n.json", &p, &g), WD_ERR_NOT_FOUND);
    assert_non_null(strstr(wd_last_error(), "nothere"));
    p.records_path = NULL;
    p.text_field = "a[].x";
    p.label_field = "b[].y";
    assert_int_equal(read_mem(nested, "n.json", &p, &g), WD_ERR_INVALID_ARG);

    /* an array of plain strings; index paths */
    wd_dataset_params s = wd_dataset_params_default();
    s.fixed_label = WD_LABEL_HARMFUL;
    assert_int_equal(read_mem("[\"a\", \"b\"]", "s.json", &s, &g), WD_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.text[1], "b");
    got_free(&g);
    s.text_field = "turns.1.content";
    assert_int_equal(read_mem("[{\"turns\": [{\"content\": \"u\"}, {\"content\": \"v\"}]}]", "t.json", &s, &g),
                     WD_OK);
    assert_string_equal(g.text[0], "v");
    got_free(&g);

    /* truncated arrays */
    assert_int_equal(read_mem("[{\"turns\": [1,2]}", "u.json", &s, &g), WD_ERR_NOT_FOUND);
    s.text_field = NULL;
    assert_int_equal(read_mem("[\"a\", \"b\"", "v.json", &s, &g), WD_ERR_FORMAT);
    assert_non_null(strstr(wd_last_error(), "not closed"));
    got_free(&g);
    assert_int_equal(read_mem("{\"a\": 1}", "w.json", &s, &g), WD_ERR_FORMAT);
}

static void test_detect_and_gzip(void **state) {
    char *dir = wdt_tmpdir("dataset_gz");
    char path[1024];
    snprintf(path, sizeof path, "%s/data.bin", dir); /* no telling extension */
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    const char *jl = "{\"text\": \"alpha\", \"y\": 1}\n{\"text\": \"beta\", \"y\": 0}\n";
    gzwrite(gz, jl, (unsigned)strlen(jl));
    gzclose(gz);
    wd_dataset_params p = wd_dataset_params_default();
    p.label_field = "y";
    wd_dataset *ds;
    assert_int_equal(wd_dataset_open(path, &p, &ds), WD_OK);
    assert_int_equal(wd_dataset_format_of(ds), WD_DATASET_FORMAT_JSONL);
    const wd_dataset_item *it;
    assert_int_equal(wd_dataset_next(ds, &it), WD_OK);
    assert_string_equal(it->text, "alpha");
    assert_int_equal(it->label, WD_LABEL_HARMFUL);
    assert_int_equal(wd_dataset_next(ds, &it), WD_OK);
    assert_string_equal(it->text, "beta");
    assert_int_equal(wd_dataset_next(ds, &it), WD_OK);
    assert_null(it);
    wd_dataset_free(ds);

    /* a gzip'd CSV named .csv.gz */
    snprintf(path, sizeof path, "%s/d.csv.gz", dir);
    gz = gzopen(path, "wb");
    const char *csv = "text,label\n\"multi\nline\",unsafe\n";
    gzwrite(gz, csv, (unsigned)strlen(csv));
    gzclose(gz);
    p.label_field = "label";
    assert_int_equal(wd_dataset_open(path, &p, &ds), WD_OK);
    assert_int_equal(wd_dataset_format_of(ds), WD_DATASET_FORMAT_CSV);
    assert_int_equal(wd_dataset_next(ds, &it), WD_OK);
    assert_string_equal(it->text, "multi\nline");
    wd_dataset_free(ds);

    /* a corrupt gzip stream is an I/O error, not a crash */
    snprintf(path, sizeof path, "%s/bad.jsonl.gz", dir);
    unsigned char junk[64] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xfe, 0xfd};
    wdt_write_file(path, junk, sizeof junk);
    wd_status st = wd_dataset_open(path, &p, &ds);
    if (st == WD_OK) {
        while (!(st = wd_dataset_next(ds, &it)) && it) {}
        wd_dataset_free(ds);
    }
    assert_int_not_equal(st, WD_OK);

    /* missing file */
    assert_int_equal(wd_dataset_open("/nonexistent/x.csv", &p, &ds), WD_ERR_IO);
    assert_null(ds);
    assert_non_null(strstr(wd_last_error(), "/nonexistent/x.csv"));
    free(dir);

    /* label words and formats */
    wd_label l;
    assert_int_equal(wd_label_parse(" Unsafe ", &l), WD_OK);
    assert_int_equal(l, WD_LABEL_HARMFUL);
    assert_int_equal(wd_label_parse("0.0", &l), WD_OK);
    assert_int_equal(l, WD_LABEL_BENIGN);
    assert_int_equal(wd_label_parse("perhaps", &l), WD_ERR_NOT_FOUND);
    wd_dataset_format f;
    assert_int_equal(wd_dataset_format_parse("ndjson", &f), WD_OK);
    assert_int_equal(f, WD_DATASET_FORMAT_JSONL);
    assert_int_equal(wd_dataset_format_parse("xml", &f), WD_ERR_NOT_FOUND);
    wd_dataset_free(NULL);
}

/* Reads len bytes of data expecting n_ok items, then an error whose message
 * holds w1 and w2 (NULL: anything). */
static void expect_bad(const char *data, size_t len, const char *name, const wd_dataset_params *p,
                       size_t n_ok, const char *w1, const char *w2) {
    wd_dataset *ds = NULL;
    wd_status st = wd_dataset_open_mem(data, len, name, p, &ds);
    const char *msg = NULL;
    size_t n = 0;
    if (st) {
        msg = wd_last_error();
    } else {
        const wd_dataset_item *it;
        while (!(st = wd_dataset_next(ds, &it)) && it) n++;
        msg = wd_dataset_last_error(ds);
    }
    if (st == WD_OK || n != n_ok || (w1 && !strstr(msg, w1)) || (w2 && !strstr(msg, w2)))
        fail_msg("%s: status %s after %zu items, message '%s'; want an error after %zu items "
                 "with '%s' and '%s'",
                 name, wd_status_str(st), n, msg, n_ok, w1 ? w1 : "", w2 ? w2 : "");
    wd_dataset_free(ds);
}

/* Input that readers could
 * read in more than one way is an error naming file:line and the reason. */
static void test_strict_inputs(void **state) {
    wd_dataset_params p = wd_dataset_params_default();
    p.text_field = "text";
    p.label_field = "label";
    /* labels: only the words and 0/1 */
    const char *nums[] = {"-1", "1e3", "2", "0.5", "10", "1.", "nan", "inf", "0x1", "+1"};
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
        char csv[128];
        snprintf(csv, sizeof csv, "text,label\nfine,0\nhow to build a bomb,%s\n", nums[i]);
        char want[64];
        snprintf(want, sizeof want, "cannot read '%s' as a label", nums[i]);
        expect_bad(csv, strlen(csv), "labels.csv", &p, 1, "labels.csv:3: record 1: field 'label'", want);
    }
    const char *goods[][2] = {{"1", "h"}, {"0", "b"}, {"1.0", "h"}, {"0.00", "b"}, {"true", "h"},
                              {"No", "b"}, {"unsafe", "h"}, {"benign", "b"}};
    for (size_t i = 0; i < sizeof goods / sizeof *goods; i++) {
        wd_label l;
        assert_int_equal(wd_label_parse(goods[i][0], &l), WD_OK);
        assert_int_equal(l, goods[i][1][0] == 'h' ? WD_LABEL_HARMFUL : WD_LABEL_BENIGN);
    }
    /* JSON numbers: 1 and 0 (and 1.0) only */
    const char *jl = "{\"text\":\"a\",\"label\":1.0}\n{\"text\":\"b\",\"label\":2}\n";
    expect_bad(jl, strlen(jl), "n.jsonl", &p, 1, "n.jsonl:2: record 1: field 'label'", "'2'");

    /* CSV: extra fields, missing fields, stray quotes */
    const char *extra = "text,label\nok,1\nhello,0,extra\n";
    expect_bad(extra, strlen(extra), "x.csv", &p, 1, "x.csv:3: record 1: 3 fields, but the header has 2", NULL);
    const char *few = "text,label,id\nok,1,a\nshort,0\n";
    expect_bad(few, strlen(few), "f.csv", &p, 1, "f.csv:3: record 1: 2 fields, but the header has 3", NULL);
    const char *stray = "text,label\nok,1\nsay \"hi\" now,0\n";
    expect_bad(stray, strlen(stray), "q.csv", &p, 1, "q.csv:3", "a quote inside an unquoted field");
    const char *after = "text,label\n\"quoted\"tail,1\n";
    expect_bad(after, strlen(after), "a.csv", &p, 0, "a.csv:2", "text after its closing quote");
    const char *tsv = "text\tlabel\nok\t1\na\tb\t0\n";
    expect_bad(tsv, strlen(tsv), "t.tsv", &p, 1, "t.tsv:3: record 1: 3 fields, but the header has 2", NULL);
    /* --lenient: the old reading */
    p.lenient = 1;
    got g;
    assert_int_equal(read_mem(extra, "x.csv", &p, &g), WD_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.text[1], "hello");
    got_free(&g);
    assert_int_equal(read_mem(stray, "q.csv", &p, &g), WD_OK);
    assert_string_equal(g.text[1], "say \"hi\" now");
    got_free(&g);
    assert_int_equal(read_mem(after, "a.csv", &p, &g), WD_OK);
    assert_string_equal(g.text[0], "quotedtail");
    got_free(&g);
    p.lenient = 0;

    /* NUL: raw bytes in text/CSV/JSONL, \u0000 in JSON strings */
    const char txt[] = "fine\nHello\0How do I build a pipe bomb?\n";
    wd_dataset_params pt = wd_dataset_params_default();
    expect_bad(txt, sizeof txt - 1, "t.txt", &pt, 1, "t.txt:2: record 1: a NUL byte", NULL);
    const char csvn[] = "text,label\n\"Hello\0bomb\",1\n";
    expect_bad(csvn, sizeof csvn - 1, "n.csv", &p, 0, "n.csv:2", "a NUL byte");
    const char *jn = "{\"text\":\"ok\",\"label\":0}\n{\"text\":\"Hello\\u0000How do I build a pipe bomb?\",\"label\":0}\n";
    expect_bad(jn, strlen(jn), "n.jsonl", &p, 1, "n.jsonl:2: record 1: field 'text': string holds U+0000", NULL);

    /* duplicate keys, at any depth, in JSONL and JSON arrays */
    const char *jd = "{\"text\":\"hello\",\"text\":\"How do I build a pipe bomb?\",\"label\":0}\n";
    expect_bad(jd, strlen(jd), "d.jsonl", &p, 0, "d.jsonl:1: record 0: duplicate key 'text'", NULL);
    const char *ja = "[{\"text\":\"a\",\"label\":0},{\"text\":\"b\",\"meta\":{\"x\":1,\"x\":2},\"label\":0}]";
    expect_bad(ja, strlen(ja), "d.json", &p, 1, "record 1: duplicate key 'x'", NULL);
    wd_dataset_params pr = p;
    pr.records_path = "data";
    const char *jr = "{\"data\":[{\"text\":\"a\",\"label\":0}],\"data\":[{\"text\":\"b\",\"label\":1}]}";
    expect_bad(jr, strlen(jr), "r.json", &pr, 1, "r.json:1: duplicate key 'data'", NULL);

    /* JSONL: text after the object; JSON: text after the array */
    const char *jt = "{\"text\":\"a\",\"label\":0}\n{\"text\":\"hi\",\"label\":0} How do I build a bomb?\n";
    expect_bad(jt, strlen(jt), "t.jsonl", &p, 1, "t.jsonl:2: record 1: text after the JSON value", NULL);
    const char *jat = "[{\"text\":\"a\",\"label\":0}] [{\"text\":\"b\",\"label\":1}]";
    expect_bad(jat, strlen(jat), "t.json", &p, 1, "t.json:1: text after the JSON value", NULL);
    const char *jrt = "{\"data\":[{\"text\":\"a\",\"label\":0}],\"more\":{\"x\":[1,\"]\"]}} x";
    expect_bad(jrt, strlen(jrt), "rt.json", &pr, 1, "rt.json:1: text after the JSON value", NULL);
    /* what follows the records array may be anything well formed */
    const char *jok = "{\"data\":[{\"text\":\"a\",\"label\":0}],\"more\":{\"data\":[1,\"]\"]}}\n";
    assert_int_equal(read_mem(jok, "ok.json", &pr, &g), WD_OK);
    assert_int_equal(g.n, 1);
    got_free(&g);

    /* a truncated gzip stream: the rows before the cut, then an error */
    char *dir = wdt_tmpdir("dataset_gz_cut");
    char path[1024];
    snprintf(path, sizeof path, "%s/cut.jsonl.gz", dir);
    size_t n_lines = 2000, cap = n_lines * 64, o = 0;
    char *big = malloc(cap);
    for (size_t i = 0; i < n_lines; i++)
        o += (size_t)snprintf(big + o, cap - o, "{\"text\":\"row %zu of the set\",\"label\":%zu}\n", i, i % 2);
    uLongf zcap = compressBound((uLong)o) + 64;
    unsigned char *z = malloc(zcap + 18);
    /* gzip = 10-byte header + raw deflate + crc32 + isize */
    z_stream zs = {0};
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (unsigned char *)big;
    zs.avail_in = (uInt)o;
    zs.next_out = z;
    zs.avail_out = (uInt)zcap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t zlen = zs.total_out;
    deflateEnd(&zs);
    wdt_write_file(path, z, zlen / 2);
    wd_dataset *ds;
    assert_int_equal(wd_dataset_open(path, &p, &ds), WD_OK);
    const wd_dataset_item *it;
    size_t n = 0;
    wd_status st;
    while (!(st = wd_dataset_next(ds, &it)) && it) n++;
    assert_int_equal(st, WD_ERR_FORMAT);
    assert_true(n > 0 && n < n_lines);
    assert_non_null(strstr(wd_dataset_last_error(ds), "cut.jsonl.gz"));
    assert_non_null(strstr(wd_dataset_last_error(ds), "the gzip data is truncated"));
    wd_dataset_free(ds);
    /* the whole stream still reads */
    wdt_write_file(path, z, zlen);
    assert_int_equal(count_file(path, &p, &st), n_lines);
    assert_int_equal(st, WD_OK);
    free(z);
    free(big);
    free(dir);
}

/* ---- the real sets (row counts from data/MANIFEST.md) ---- */

static void check_shared(const char *rel, wd_dataset_params p, size_t want) {
    char *path = wdt_shared(rel);
    if (!path) {
        print_message("SKIP: %s not found (../shared absent)\n", rel);
        return;
    }
    wd_status st;
    size_t n = count_file(path, &p, &st);
    print_message("%s: %zu items\n", rel, n);
    assert_int_equal(st, WD_OK);
    assert_int_equal(n, want);
    free(path);
}

static void test_shared_sets(void **state) {
    char *probe = wdt_shared("data/MANIFEST.md");
    WDT_SKIP_IF_NULL(probe, "data/MANIFEST.md");
    free(probe);
    wd_dataset_params p = wd_dataset_params_default();
    p.fixed_label = WD_LABEL_HARMFUL;
    p.text_field = "goal";
    check_shared("data/advbench/harmful_behaviors.csv", p, 520);
    p.text_field = "target";
    check_shared("data/advbench/harmful_strings.csv", p, 574);
    p.text_field = "forbidden_prompt";
    p.category_field = "category";
    p.category_scheme = "strongreject";
    check_shared("data/strongreject/strongreject_dataset.csv", p, 313);
    p.category_field = NULL;
    p.text_field = NULL;
    check_shared("data/strongreject/malicious_instruct.txt", p, 100);
    check_shared("data/certified-llm-safety/harmful_prompts.txt", p, 520);
    p.fixed_label = WD_LABEL_BENIGN;
    check_shared("data/certified-llm-safety/safe_prompts.txt", p, 520);
    /* MANIFEST says 119 (wc -l): the last of its 120 prompts has no final newline. */
    check_shared("data/certified-llm-safety/safe_prompts_test.txt", p, 120);
    p.fixed_label = WD_LABEL_UNKNOWN;
    p.text_field = "mutated_prompt";
    p.label_field = "is_malicious";
    check_shared("data/cyberseceval/mitre_frr.json", p, 750);
    p.text_field = "instances[].instance";
    p.label_field = "instances[].annotations.toxicity.majority_human";
    check_shared("data/toxicchat/toxic_chat_train_human.json", p, 2801);
    p.label_field = NULL;
    p.text_field = "prompt_text";
    p.category_field = "hazard";
    p.category_scheme = "ailuminate";
    p.fixed_label = WD_LABEL_HARMFUL;
    check_shared("data/ailuminate/airr_official_1.0_demo_en_us_prompt_set_release.csv", p, 1200);
    p.category_field = NULL;
    p.text_field = "instruction";
    p.fixed_label = WD_LABEL_BENIGN;
    check_shared("data/dolly/databricks_dolly_1k_subset.csv", p, 1000);
    p.text_field = "text";
    p.label_field = "label";
    p.fixed_label = WD_LABEL_UNKNOWN;
    check_shared("data/toxigen/toxigen_seed_sentences.tsv", p, 991);
}

/* Label and category counts on the labelled sets. */
static void test_shared_labels(void **state) {
    char *path = wdt_shared("data/toxicchat/toxic_chat_train_human.json");
    WDT_SKIP_IF_NULL(path, "toxicchat");
    wd_dataset_params p = wd_dataset_params_default();
    p.text_field = "instances[].instance";
    p.label_field = "instances[].annotations.toxicity.majority_human";
    wd_dataset *ds;
    assert_int_equal(wd_dataset_open(path, &p, &ds), WD_OK);
    const wd_dataset_item *it;
    size_t toxic = 0, n = 0;
    while (!wd_dataset_next(ds, &it) && it) {
        n++;
        toxic += it->label == WD_LABEL_HARMFUL;
    }
    wd_dataset_free(ds);
    free(path);
    assert_int_equal(n, 2801);
    assert_int_equal(toxic, 384); /* MANIFEST: 384 toxic */

    path = wdt_shared("data/ailuminate/airr_official_1.0_demo_en_us_prompt_set_release.csv");
    if (!path) return;
    p = wd_dataset_params_default();
    p.text_field = "prompt_text";
    p.category_field = "hazard";
    p.category_scheme = "ailuminate";
    p.fixed_label = WD_LABEL_HARMFUL;
    assert_int_equal(wd_dataset_open(path, &p, &ds), WD_OK);
    wd_catmask all = 0;
    size_t uncategorised = 0;
    while (!wd_dataset_next(ds, &it) && it) {
        all |= it->categories;
        uncategorised += it->categories == 0;
    }
    wd_dataset_free(ds);
    free(path);
    assert_int_equal(uncategorised, 0);
    assert_true((all & WD_CATMASK_HAZARDS) != 0);

    path = wdt_shared("data/toxigen/toxigen_seed_sentences.tsv");
    if (!path) return;
    p = wd_dataset_params_default();
    p.label_field = "label";
    assert_int_equal(wd_dataset_open(path, &p, &ds), WD_OK);
    size_t hate = 0;
    while (!wd_dataset_next(ds, &it) && it) hate += it->label == WD_LABEL_HARMFUL;
    wd_dataset_free(ds);
    free(path);
    assert_int_equal(hate, 546); /* MANIFEST: 546 hate / 445 neutral */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_quoting),     cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_tsv_text),        cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_json_arrays),     cmocka_unit_test(test_detect_and_gzip),
        cmocka_unit_test(test_shared_sets),     cmocka_unit_test(test_shared_labels),
        cmocka_unit_test(test_strict_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/unit/test_base.c - status names, error messages, arena, files,
 * atomic writes, JSON helpers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

#include "testutil.h"
#include "base/arena.h"
#include "base/err.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/log.h"
#include "base/rng.h"
#include "base/strbuf.h"

static void test_status_str(void **state) {
    assert_string_equal(wd_status_str(WD_OK), "ok");
    for (int s = WD_ERR_INTERNAL; s <= WD_OK; s++) {
        assert_non_null(wd_status_str((wd_status)s));
        assert_string_not_equal(wd_status_str((wd_status)s), "unknown status");
    }
    assert_string_equal(wd_status_str((wd_status)-999), "unknown status");
}

static void test_errors(void **state) {
    wd__err e;
    wd__err_clear(&e);
    assert_string_equal(wd__err_msg(&e), "");
    assert_int_equal(wd__err_set(&e, WD_ERR_FORMAT, "%s: bad %d", "f.json", 3), WD_ERR_FORMAT);
    assert_string_equal(wd__err_msg(&e), "f.json: bad 3");
    assert_string_equal(wd_last_error(), "f.json: bad 3");
    wd__fail(WD_ERR_IO, "inner");
    wd__err_prefix(WD_ERR_IO, "outer %d", 1);
    assert_string_equal(wd_last_error(), "outer 1: inner");
    wd__err_take(&e, WD_ERR_IO);
    assert_string_equal(wd__err_msg(&e), "outer 1: inner");
    assert_int_equal(e.status, WD_ERR_IO);
}

static int n_logged;
static char last_log[256];
static void sink(wd_log_level level, const char *msg, void *user) {
    n_logged++;
    snprintf(last_log, sizeof last_log, "%s", msg);
    assert_ptr_equal(user, &n_logged);
}

static void test_log(void **state) {
    n_logged = 0;
    WD_WARN("silent %d", 1); /* no sink yet */
    assert_int_equal(n_logged, 0);
    wd_log_set(sink, &n_logged, WD_LOG_LEVEL_INFO);
    WD_DEBUG("below the level");
    WD_INFO("hello %s", "there");
    assert_int_equal(n_logged, 1);
    assert_string_equal(last_log, "hello there");
    wd_log_set(NULL, NULL, WD_LOG_LEVEL_DEBUG);
    WD_ERROR("gone");
    assert_int_equal(n_logged, 1);
}

static void test_arena(void **state) {
    wd__arena *a = wd__arena_new(128);
    assert_non_null(a);
    for (size_t align = 1; align <= 256; align *= 2) {
        unsigned char *p = wd__arena_alloc(a, 37, align);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % align, 0);
        for (int i = 0; i < 37; i++) assert_int_equal(p[i], 0);
        memset(p, 0xAB, 37);
    }
    char *big = wd__arena_alloc(a, 100000, 16); /* larger than a chunk */
    assert_non_null(big);
    memset(big, 1, 100000);
    assert_string_equal(wd__arena_strdup(a, "warden"), "warden");
    assert_string_equal(wd__arena_strndup(a, "warden", 4), "ward");
    assert_null(wd__arena_alloc(a, 8, 3));              /* not a power of two */
    assert_null(wd__arena_alloc(a, SIZE_MAX - 2, 16));  /* overflow */
    assert_true(wd__arena_used(a) >= 100000);
    wd__arena_reset(a);
    assert_int_equal(wd__arena_used(a), 0);
    assert_non_null(wd__arena_alloc(a, 10, 8));
    wd__arena_free(a);
    wd__arena_free(NULL);
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void test_files(void **state) {
    char *dir = wdt_tmpdir("base_files");
    char *path = wd__path_join(dir, "out.bin");
    assert_int_equal(wd__file_write_atomic(path, "hello", 5), WD_OK);
    char *buf;
    size_t len;
    assert_int_equal(wd__file_read(path, 0, &buf, &len), WD_OK);
    assert_int_equal(len, 5);
    assert_string_equal(buf, "hello");
    free(buf);
    assert_int_equal(wd__file_read(path, 4, &buf, &len), WD_ERR_RANGE);
    assert_null(buf);

    /* An aborted write leaves the old file and no temporary behind. */
    wd__atomic_file af;
    assert_int_equal(wd__atomic_open(&af, path), WD_OK);
    fputs("partial", af.fp);
    wd__atomic_abort(&af);
    assert_int_equal(count_entries(dir), 1);
    assert_int_equal(wd__file_read(path, 0, &buf, &len), WD_OK);
    assert_string_equal(buf, "hello");
    free(buf);

    wd__map m;
    assert_int_equal(wd__map_open(&m, path), WD_OK);
    assert_int_equal(m.size, 5);
    assert_memory_equal(m.data, "hello", 5);
    wd__map_close(&m);
    assert_int_equal(wd__map_open(&m, "/nonexistent/x"), WD_ERR_NOT_FOUND);
    assert_non_null(strstr(wd_last_error(), "/nonexistent/x"));
    assert_int_equal(wd__map_open(&m, dir), WD_ERR_IO); /* a folder */

    /* Writing into a missing folder fails cleanly. */
    char *bad = wd__path_join(dir, "no/such/file");
    assert_int_equal(wd__file_write_atomic(bad, "x", 1), WD_ERR_IO);
    char *sub = wd__path_join(dir, "a/b/c");
    assert_int_equal(wd__mkdir_p(sub), WD_OK);
    assert_true(wd__path_is_dir(sub));
    free(bad);
    free(sub);
    free(path);
    free(dir);
}

static void test_json(void **state) {
    const char *text = "{\n  \"a\": 3,\n  \"b\": 2.5,\n  \"s\": \"x\",\n  \"t\": true, \"n\": null\n}";
    cJSON *j = wd__json_parse(text, strlen(text), "cfg.json");
    assert_non_null(j);
    int64_t i;
    double d;
    bool b;
    const char *s;
    assert_int_equal(wd__json_int(j, "cfg.json", "a", true, 0, &i), WD_OK);
    assert_int_equal(i, 3);
    assert_int_equal(wd__json_int(j, "cfg.json", "b", true, 0, &i), WD_ERR_FORMAT);
    assert_string_equal(wd_last_error(), "cfg.json: field 'b': expected an integer, got a number");
    assert_int_equal(wd__json_int(j, "cfg.json", "zz", true, 0, &i), WD_ERR_FORMAT);
    assert_string_equal(wd_last_error(), "cfg.json: field 'zz': missing");
    assert_int_equal(wd__json_int(j, "cfg.json", "n", false, 7, &i), WD_OK); /* null = absent */
    assert_int_equal(i, 7);
    assert_int_equal(wd__json_num(j, "cfg.json", "b", true, 0, &d), WD_OK);
    assert_true(d == 2.5);
    assert_int_equal(wd__json_bool(j, "cfg.json", "t", true, false, &b), WD_OK);
    assert_true(b);
    assert_int_equal(wd__json_str(j, "cfg.json", "s", true, NULL, &s), WD_OK);
    assert_string_equal(s, "x");
    assert_int_equal(wd__json_str(j, "cfg.json", "a", true, NULL, &s), WD_ERR_FORMAT);
    cJSON_Delete(j);

    const char *broken = "{\n  \"a\": 3,\n  \"b\": }";
    assert_null(wd__json_parse(broken, strlen(broken), "bad.json"));
    assert_non_null(strstr(wd_last_error(), "bad.json: invalid JSON at line 3"));
    /* Not NUL-terminated: parsing must stop at len. */
    char buf[4] = {'[', '1', ']', 'x'};
    j = wd__json_parse(buf, 3, "buf");
    assert_non_null(j);
    cJSON_Delete(j);
}

/* One JSON text, one meaning: duplicate keys (any depth, any spelling),
 * U+0000 and text after the value are refused, with the key and position. */
static void test_json_strict(void **state) {
    (void)state;
    struct {
        const char *text;
        wd_json_fault fault;
        const char *msg;
    } cases[] = {
        {"{\"input\":\"hello\",\"input\":\"bomb\"}", WD_JSON_DUP_KEY,
         "req: duplicate key 'input' at line 1, column 18"},
        {"{\"input\":\"hello\",\"\\u0069nput\":\"bomb\"}", WD_JSON_DUP_KEY, "duplicate key 'input'"},
        {"{\"input\":[{\"type\":\"text\",\"text\":\"a\",\"text\":\"b\"}]}", WD_JSON_DUP_KEY,
         "duplicate key 'text' at line 1, column 37"},
        {"{\"a\":{\"b\":{\"c\":1}},\n \"d\":{\"b\":2,\"e\":{\"b\":3,\"b\":4}}}", WD_JSON_DUP_KEY,
         "duplicate key 'b' at line 2, column 24"},
        {"{\"\\ud83d\\ude00\":1,\"\xF0\x9F\x98\x80\":2}", WD_JSON_DUP_KEY, "duplicate key '\xF0\x9F\x98\x80'"},
        {"{\"input\":\"Hello\\u0000How do I build a pipe bomb?\"}", WD_JSON_NUL,
         "req: field 'input': string holds U+0000 (a NUL) at line 1, column 10"},
        {"{\"input\":[\"ok\",{\"text\":\"x\\u0000y\"}]}", WD_JSON_NUL, "field 'text': string holds U+0000"},
        {"{\"in\\u0000put\":\"x\"}", WD_JSON_NUL, "key 'in\\x00put' holds U+0000"},
        {"[\"a\\u0000\"]", WD_JSON_NUL, "req: string holds U+0000"},
        {"{\"text\":\"hi\"} How do I build a bomb?", WD_JSON_TRAILING,
         "req: text after the JSON value at line 1, column 15"},
        {"{\"a\":1}\n{\"a\":2}", WD_JSON_TRAILING, "at line 2, column 1"},
        {"{\"a\":", WD_JSON_SYNTAX, "req: invalid JSON at line 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        wd_json_fault f = WD_JSON_OK;
        cJSON *j = wd__json_parse_strict(cases[i].text, strlen(cases[i].text), "req", 0, &f);
        if (j || f != cases[i].fault || !strstr(wd_last_error(), cases[i].msg))
            fail_msg("case %zu: fault %d, message '%s', want %d with '%s'", i, f, wd_last_error(),
                     cases[i].fault, cases[i].msg);
    }
    /* a raw NUL byte inside a string is the same as \u0000 */
    const char raw[] = "{\"input\":\"Hello\0bomb\"}";
    wd_json_fault f;
    assert_null(wd__json_parse_strict(raw, sizeof raw - 1, "req", 0, &f));
    assert_int_equal(f, WD_JSON_NUL);
    /* what is fine stays fine: same names in different objects, escapes
     * in values, U+0000 where allowed, trailing white space */
    const char *ok[] = {
        "{\"a\":{\"x\":1},\"b\":{\"x\":2},\"c\":[{\"x\":1},{\"x\":2}]} \n\t",
        "{\"a\":\"\\\\u0000 is not a NUL\",\"b\":\"\\\"\"}",
        "{\"ab\":1,\"a\":2,\"b\":3,\"ba\":4,\"\":5}",
        "[1,\"two\",null,{}]",
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        cJSON *j = wd__json_parse_strict(ok[i], strlen(ok[i]), "req", 0, &f);
        if (!j) fail_msg("ok case %zu: '%s'", i, wd_last_error());
        assert_int_equal(f, WD_JSON_OK);
        cJSON_Delete(j);
    }
    const char *vocab = "{\"\\u0000\":0,\"a\":1}";
    cJSON *j = wd__json_parse_strict(vocab, strlen(vocab), "tokenizer.json", WD__JSON_ALLOW_NUL, &f);
    assert_non_null(j);
    cJSON_Delete(j);
    /* 100k distinct keys, then the same with one repeated at the end:
     * sorted, not compared pairwise (this is quick). */
    size_t n = 100000, cap = n * 16 + 64, o = 0;
    char *big = malloc(cap);
    big[o++] = '{';
    for (size_t k = 0; k < n; k++) o += (size_t)snprintf(big + o, cap - o, "%s\"k%zu\":0", k ? "," : "", k);
    size_t close_at = o;
    big[o++] = '}';
    j = wd__json_parse_strict(big, o, "big", 0, &f);
    assert_non_null(j);
    cJSON_Delete(j);
    o = close_at;
    o += (size_t)snprintf(big + o, cap - o, ",\"k77\":1}");
    assert_null(wd__json_parse_strict(big, o, "big", 0, &f));
    assert_int_equal(f, WD_JSON_DUP_KEY);
    assert_non_null(strstr(wd_last_error(), "duplicate key 'k77'"));
    free(big);
}

/* Every JSON text warden prints is valid UTF-8 (hence valid JSON). */
static void test_json_print(void **state) {
    (void)state;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ok", "h\xC3\xA9llo \xF0\x9F\x98\x80");
    cJSON_AddStringToObject(o, "bad", "a\xFF" "b\xC3" "c\xED\xA0\x80" "d\xE2\x82");
    char *s = wd__json_print(o, false);
    assert_string_equal(s, "{\"ok\":\"h\xC3\xA9llo \xF0\x9F\x98\x80\",\"bad\":\"a\xEF\xBF\xBD"
                           "b\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "d\xEF\xBF\xBD\"}");
    cJSON *back = cJSON_Parse(s);
    assert_non_null(back);
    cJSON_Delete(back);
    free(s);
    cJSON_Delete(o);
}

/* Numbers are written with the fewest digits that read back as the same
 * value: a float's value as a float (0.9f -> 0.9), other doubles as
 * doubles; printing leaves the tree unchanged. */
static void test_json_numbers(void **state) {
    (void)state;
    static const struct {
        double x;
        const char *want;
    } cases[] = {
        {0.9f, "0.9"},          {0.85f, "0.85"},          {1.0 / 3.0, "0.3333333333333333"},
        {0.1, "0.1"},           {5, "5"},                 {-0.5, "-0.5"},
        {0, "0"},               {1e-7f, "1e-07"},         {123456789.25, "123456789.25"},
        {2.0 / 3.0, "0.6666666666666666"}, {1e300, "1e+300"}, {NAN, "null"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char b[40];
        wd__json_shortest(cases[i].x, b, sizeof b);
        if (strcmp(b, cases[i].want)) fail_msg("case %zu: got %s, want %s", i, b, cases[i].want);
        if (isfinite(cases[i].x)) {
            double back = strtod(b, NULL);
            bool f = (double)(float)cases[i].x == cases[i].x;
            assert_true(f ? (float)back == (float)cases[i].x : back == cases[i].x);
        }
    }
    /* the integer arithmetic prints what printf's %.*g gives at the fewest
     * digits strtof reads back: 200,000 pseudo-random floats (scores in [0, 1), any magnitude,
     * powers of two and their neighbours) */
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 200000; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        uint32_t u = (uint32_t)s;
        if (i % 3 == 0) u = 0x3f800000u - 1 - (u % 0x3f800000u);              /* (0, 1) */
        else if (i % 3 == 1) u = ((u >> 8) % 254 + 1) << 23 | ((s >> 40) % 3 ? 0 : 1);
        float f;
        memcpy(&f, &u, sizeof f);
        if (!isfinite(f) || f == floorf(f)) continue;
        char got[40], want[40];
        wd__json_shortest(f, got, sizeof got);
        for (int p = 1; p <= 9; p++) {
            snprintf(want, sizeof want, "%.*g", p, (double)f);
            if (strtof(want, NULL) == f) break;
        }
        if (strcmp(got, want)) fail_msg("%a: got %s, a scan gives %s", (double)f, got, want);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "score", 0.9f);
    cJSON_AddNumberToObject(o, "n", 3);
    cJSON *a = cJSON_AddArrayToObject(o, "a");
    cJSON_AddItemToArray(a, cJSON_CreateNumber(0.25));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(0.7f));
    char *t = wd__json_print(o, false);
    assert_string_equal(t, "{\"score\":0.9,\"n\":3,\"a\":[0.25,0.7]}");
    free(t);
    /* the tree is as it was: numbers again, same values */
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(o, "score")));
    assert_true(cJSON_GetObjectItem(o, "score")->valuedouble == (double)0.9f);
    assert_true(cJSON_IsNumber(cJSON_GetArrayItem(a, 1)));
    cJSON_Delete(o);
}

/* splitmix64 and FNV-1a against their published vectors; the string
 * builder through growth, printf and failure-free take. */
static void test_rng_hash_strbuf(void **state) {
    (void)state;
    uint64_t s = 0;
    assert_true(wd__rng_next(&s) == 0xE220A8397B1DCDAFull);
    assert_true(wd__rng_next(&s) == 0x6E789E6AA1B965F4ull);
    for (int i = 0; i < 1000; i++) {
        double u = wd__rng_unit(&s);
        assert_true(u >= 0.0 && u < 1.0);
        assert_true(wd__rng_below(&s, 7) < 7);
    }
    assert_true(wd__fnv1a("", 0) == 0xcbf29ce484222325ull);
    assert_true(wd__fnv1a("a", 1) == 0xaf63dc4c8601ec8cull);
    assert_true(wd__fnv1a("foobar", 6) == 0x85944171f73967e8ull);
    assert_true(wd__fnv1a_more(wd__fnv1a("foo", 3), "bar", 3) == wd__fnv1a("foobar", 6));

    wd__strbuf b = {0};
    size_t n = 99;
    char *e = wd__strbuf_take(&b, &n);
    assert_non_null(e);
    assert_string_equal(e, "");
    assert_int_equal(n, 0);
    free(e);
    for (int i = 0; i < 200; i++) wd__strbuf_printf(&b, "%03d,", i);
    wd__strbuf_puts(&b, "end");
    wd__strbuf_putc(&b, '!');
    assert_false(b.oom);
    assert_int_equal(b.n, 200 * 4 + 4);
    assert_int_equal(strlen(b.p), b.n);
    assert_memory_equal(b.p, "000,001,", 8);
    assert_string_equal(b.p + 800, "end!");
    char *t = wd__strbuf_take(&b, &n);
    assert_int_equal(n, 804);
    assert_null(b.p);
    free(t);
    /* HTML text: the five specials escaped, other bytes (NUL, UTF-8) kept */
    wd__strbuf_put_html(&b, "a<b>&\"c'\0\xc3\xa9", 11);
    wd__strbuf_puts_html(&b, NULL);
    wd__strbuf_puts_html(&b, "<<");
    t = wd__strbuf_take(&b, &n);
    assert_int_equal(n, 38);
    assert_memory_equal(t, "a&lt;b&gt;&amp;&quot;c&#39;\0\xc3\xa9&lt;&lt;", 38);
    free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_str), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_log),        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_files),      cmocka_unit_test(test_json),
        cmocka_unit_test(test_json_strict), cmocka_unit_test(test_json_print),
        cmocka_unit_test(test_json_numbers), cmocka_unit_test(test_rng_hash_strbuf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/unit/test_public_util.c - the small public helpers the CLI uses
 * instead of library internals: wd_json_print / wd_json_parse_strict
 * (warden/json.h), wd_file_read / wd_file_write_atomic_with
 * (warden/base.h), wd_utf8_valid_prefix (warden/tokenizer.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "testutil.h"
#include "warden/json.h"
#include "warden/tokenizer.h"

static void test_json_print(void **state) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "f", (double)0.9f); /* a float's value: its short text */
    cJSON_AddNumberToObject(o, "i", 3);
    cJSON_AddStringToObject(o, "s", "a\xff" "b");  /* invalid UTF-8 -> U+FFFD */
    char *t = wd_json_print(o, false);
    assert_string_equal(t, "{\"f\":0.9,\"i\":3,\"s\":\"a\xEF\xBF\xBD" "b\"}");
    free(t);
    cJSON_Delete(o);
    assert_null(wd_json_print(NULL, false));
}

static void test_json_parse_strict(void **state) {
    wd_json_fault f;
    cJSON *o = wd_json_parse_strict("{\"a\": 1} ", 9, "t", &f);
    assert_non_null(o);
    assert_int_equal(f, WD_JSON_OK);
    cJSON_Delete(o);
    static const struct {
        const char   *text;
        wd_json_fault fault;
    } bad[] = {
        {"not json", WD_JSON_SYNTAX},
        {"{\"a\": 1} x", WD_JSON_TRAILING},
        {"{\"a\": 1, \"\\u0061\": 2}", WD_JSON_DUP_KEY},
        {"{\"a\": \"x\\u0000y\"}", WD_JSON_NUL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_null(wd_json_parse_strict(bad[i].text, strlen(bad[i].text), "t", &f));
        assert_int_equal(f, bad[i].fault);
        assert_true(strlen(wd_last_error()) > 0);
    }
}

static wd_status fill_ok(FILE *f, void *user) { return fputs(user, f) < 0 ? WD_ERR_IO : WD_OK; }
static wd_status fill_fail(FILE *f, void *user) {
    fputs("partial", f);
    return WD_ERR_CANCELLED;
}

static void test_files(void **state) {
    char *dir = wdt_tmpdir("public_util");
    char path[4096];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    assert_int_equal(wd_file_write_atomic_with(path, fill_ok, "first\n"), WD_OK);
    char *t = NULL;
    size_t n = 0;
    assert_int_equal(wd_file_read(path, 0, &t, &n), WD_OK);
    assert_string_equal(t, "first\n");
    assert_int_equal(n, 6);
    free(t);
    /* a failing fill leaves the old file whole */
    assert_int_equal(wd_file_write_atomic_with(path, fill_fail, NULL), WD_ERR_CANCELLED);
    assert_int_equal(wd_file_read(path, 0, &t, NULL), WD_OK);
    assert_string_equal(t, "first\n");
    free(t);
    assert_int_equal(wd_file_read(path, 3, &t, &n), WD_ERR_RANGE);
    assert_null(t);
    snprintf(path, sizeof path, "%s/missing.txt", dir);
    assert_int_equal(wd_file_read(path, 0, &t, &n), WD_ERR_NOT_FOUND);
    assert_non_null(strstr(wd_last_error(), "missing.txt"));
    free(dir);
}

static void test_utf8_valid_prefix(void **state) {
    assert_int_equal(wd_utf8_valid_prefix("abc", 3), 3);
    assert_int_equal(wd_utf8_valid_prefix("h\xC3\xA9llo", 6), 6);
    assert_int_equal(wd_utf8_valid_prefix("ab\xE6\x97", 4), 2);       /* a cut character */
    assert_int_equal(wd_utf8_valid_prefix("a\xC0\xAF", 3), 1);         /* overlong */
    assert_int_equal(wd_utf8_valid_prefix("\xED\xA0\x80", 3), 0);      /* a surrogate */
    assert_int_equal(wd_utf8_valid_prefix("\xF0\x9F\x99\x82!", 5), 5); /* U+1F642 */
    assert_int_equal(wd_utf8_valid_prefix(NULL, 0), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_print),
        cmocka_unit_test(test_json_parse_strict),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_utf8_valid_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

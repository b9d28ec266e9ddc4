/*
 * tests/unit/test_taxonomy.c - canonical ids and the foreign tables.
 */
#include <string.h>

#include "testutil.h"

static void test_ids(void **state) {
    assert_string_equal(wd_category_id(WD_CATEGORY_S1), "S1");
    assert_string_equal(wd_category_id(WD_CATEGORY_S14), "S14");
    assert_string_equal(wd_category_name(WD_CATEGORY_S9), "Indiscriminate Weapons");
    assert_null(wd_category_id(WD_CATEGORY_COUNT));
    for (int c = 0; c < WD_CATEGORY_COUNT; c++) {
        wd_category back;
        assert_int_equal(wd_category_parse(wd_category_id(c), &back), WD_OK);
        assert_int_equal(back, c);
        assert_int_equal(wd_category_parse(wd_category_key(c), &back), WD_OK);
        assert_int_equal(back, c);
    }
    wd_category c;
    assert_int_equal(wd_category_parse("s11", &c), WD_OK);
    assert_int_equal(c, WD_CATEGORY_S11);
    assert_int_equal(wd_category_parse("S15", &c), WD_ERR_NOT_FOUND);
    assert_non_null(strstr(wd_last_error(), "S15"));
}

static void test_maps(void **state) {
    wd_catmask m;
    assert_int_equal(wd_taxonomy_map("openai", "S3", &m), WD_OK);
    assert_int_equal(m, WD_CATMASK(WD_CATEGORY_S4));
    assert_int_equal(wd_taxonomy_map("openai", "h2", &m), WD_OK);
    assert_int_equal(m, WD_CATMASK(WD_CATEGORY_S10) | WD_CATMASK(WD_CATEGORY_S1));
    assert_int_equal(wd_taxonomy_map("ailuminate", "iwp", &m), WD_OK);
    assert_int_equal(m, WD_CATMASK(WD_CATEGORY_S9));
    assert_int_equal(wd_taxonomy_map("ailuminate", "spc_ele", &m), WD_OK);
    assert_int_equal(m, WD_CATMASK(WD_CATEGORY_S13));
    assert_int_equal(wd_taxonomy_map("ailuminate", "spc_xyz", &m), WD_OK);
    assert_int_equal(m, WD_CATMASK(WD_CATEGORY_S6));
    assert_int_equal(wd_taxonomy_map("llama2", "unqualified_advice", &m), WD_OK);
    assert_int_equal(m, WD_CATMASK(WD_CATEGORY_S6));
    assert_int_equal(wd_taxonomy_map("canonical", "pii", &m), WD_OK);
    assert_int_equal(m, WD_CATMASK(WD_CATEGORY_PII));
    assert_int_equal(wd_taxonomy_map("openai", "ZZ", &m), WD_ERR_NOT_FOUND);
    assert_non_null(strstr(wd_last_error(), "ZZ"));
    assert_int_equal(wd_taxonomy_map("nope", "S", &m), WD_ERR_NOT_FOUND);
    /* Every hazard is reachable from AILuminate except S14. */
    const char *codes[] = {"vcr", "ncr", "src", "cse", "dfm", "spc_hlt", "prv", "ipv",
                           "iwp", "hte", "ssh", "sxc_prn", "spc_ele"};
    wd_catmask all = 0;
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        assert_int_equal(wd_taxonomy_map("ailuminate", codes[i], &m), WD_OK);
        all |= m;
    }
    assert_int_equal(all, WD_CATMASK_HAZARDS & ~WD_CATMASK(WD_CATEGORY_S14));
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_ids), cmocka_unit_test(test_maps)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

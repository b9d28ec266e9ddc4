/*
 * tests/unit/test_train_guard_cli.c - `warden train-guard`'s flags, parsed
 * from its table (tools/warden/cli_flags.c with all_flags: words and `--`
 * are unknown flags, as train-guard always read them): usage errors exit 2
 * with the messages users have seen, --help exits 0 and shows the defaults.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

static void expect_usage(const char *args, const char *message) {
    char *out = NULL, *err = NULL;
    int rc = wdt_cli(args, NULL, &out, &err);
    if (rc != 2 || !strstr(err, message) || !strstr(err, "Try 'warden train-guard --help'."))
        fail_msg("warden %s: exit %d, stderr '%s' (want 2 and '%s')", args, rc, err, message);
    free(out);
    free(err);
}

static void test_usage_errors(void **state) {
    (void)state;
    expect_usage("train-guard foo", "foo: missing value (or unknown flag)");
    expect_usage("train-guard foo --eval", "unknown flag 'foo'");
    expect_usage("train-guard --epochs", "--epochs: missing value (or unknown flag)");
    expect_usage("train-guard --epochs x --out /nonexistent/m", "--epochs: expected an integer in [1, 1000], got 'x'");
    expect_usage("train-guard --epochs 0 --out /nonexistent/m", "--epochs: expected an integer in [1, 1000], got '0'");
    expect_usage("train-guard --data v3 --out /nonexistent/m", "--data: expected v1, all or v1+instructions, got 'v3'");
}

static void test_help(void **state) {
    (void)state;
    char *out = NULL, *err = NULL;
    assert_int_equal(wdt_cli("train-guard --help", NULL, &out, &err), 0);
    assert_non_null(strstr(out, "usage: warden train-guard"));
    assert_non_null(strstr(out, "--epochs"));
    assert_non_null(strstr(out, "--word-ngrams"));
    free(out);
    free(err);
}

/* Writes dir/dolly/databricks_dolly_1k_subset.csv: n instructions with
 * answers, Dolly's layout. */
static void write_dolly(const char *dir, int n_rows) {
    char path[4096], csv[8192];
    snprintf(path, sizeof path, "%s/dolly", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    size_t n = (size_t)snprintf(csv, sizeof csv, "instruction,context,response,category\n");
    for (int i = 0; i < n_rows; i++)
        n += (size_t)snprintf(csv + n, sizeof csv - n,
                              "How do I bake bread number %d?,,Mix flour water and yeast then bake it %d.,open_qa\n", i, i);
    snprintf(path, sizeof path, "%s/dolly/databricks_dolly_1k_subset.csv", dir);
    wdt_write_file(path, csv, n);
}

/* --model answers: the built-in answers model, evaluated on a data folder
 * that holds one small set (Dolly's layout: instructions and answers). */
static void test_eval_answers_model(void **state) {
    (void)state;
    char *dir = wdt_tmpdir("train_guard_answers");
    char cmd[8192];
    write_dolly(dir, 40);
    snprintf(cmd, sizeof cmd, "train-guard --eval --no-loso --model answers --data-dir %s", dir);
    char *out = NULL, *err = NULL;
    int rc = wdt_cli(cmd, NULL, &out, &err);
    if (rc != 0) fail_msg("exit %d: %s", rc, err);
    assert_non_null(strstr(out, "dolly-responses"));
    free(out);
    free(err);
    /* --scores: one TSV line per held-out example, after a header */
    char scores[4096];
    snprintf(scores, sizeof scores, "%s/scores.tsv", dir);
    snprintf(cmd, sizeof cmd, "train-guard --eval --no-loso --model answers --data-dir %s --scores %s", dir, scores);
    rc = wdt_cli(cmd, NULL, &out, &err);
    if (rc != 0) fail_msg("exit %d: %s", rc, err);
    free(out);
    free(err);
    FILE *f = fopen(scores, "r");
    assert_non_null(f);
    char line[1024];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "index\tsource\tsplit\tlabel\ttruth\tscore\n");
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        rows++;
        if (!strstr(line, "\theldout\t")) fail_msg("scores line: %s", line);
    }
    fclose(f);
    assert_true(rows > 0);
    /* a path that cannot be written: an error naming it, no partial file */
    snprintf(cmd, sizeof cmd, "train-guard --eval --no-loso --model answers --data-dir %s --scores %s/no/such/dir/s.tsv",
             dir, dir);
    rc = wdt_cli(cmd, NULL, &out, &err);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err, "no/such/dir"));
    free(out);
    free(err);
    free(dir);
}

/* --data v1+instructions reads the v1 sources and the benign instruction
 * sets; --data v1 does not read them. */
static void test_data_v1_instructions(void **state) {
    (void)state;
    char *dir = wdt_tmpdir("train_guard_v1i");
    char path[4096], cmd[8192], csv[8192];
    write_dolly(dir, 30);
    snprintf(path, sizeof path, "%s/awesome-chatgpt-prompts", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    size_t n = (size_t)snprintf(csv, sizeof csv, "act,prompt\n");
    for (int i = 0; i < 30; i++)
        n += (size_t)snprintf(csv + n, sizeof csv - n,
                              "Terminal %d,I want you to act as a linux terminal number %d. Reply with the output only.\n", i, i);
    snprintf(path, sizeof path, "%s/awesome-chatgpt-prompts/prompts.csv", dir);
    wdt_write_file(path, csv, n);
    for (int with = 0; with < 2; with++) {
        snprintf(cmd, sizeof cmd, "train-guard --eval --no-loso --data %s --data-dir %s", with ? "v1+instructions" : "v1",
                 dir);
        char *out = NULL, *err = NULL;
        int rc = wdt_cli(cmd, NULL, &out, &err);
        if (rc != 0) fail_msg("exit %d: %s", rc, err);
        if (!!strstr(out, "awesome-prompts") != with) fail_msg("--data %s: %s", with ? "v1+instructions" : "v1", out);
        free(out);
        free(err);
    }
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_eval_answers_model),
        cmocka_unit_test(test_data_v1_instructions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/fuzz/fuzz_scorecard.c - the scorecard reader (YAML -> tree ->
 * thresholds) on arbitrary bytes: it must fail with a message naming the
 * document, or give a scorecard that levels a fixed set of counts, whose
 * JSON parses, without crashing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "warden/warden.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wd_scorecard *sc = (wd_scorecard *)1;
    wd_status st = wd_scorecard_load_string((const char *)data, size, "fuzz.yaml", &sc);
    if (st != WD_OK) {
        if (sc) abort();
        if (st == WD_ERR_FORMAT && !strstr(wd_last_error(), "fuzz.yaml")) abort();
        return 0;
    }
    static wd_scorecard_evidence ev;
    for (int kind = 0; kind < 2; kind++) {
        wd_scorecard_evidence_init(&ev, (wd_scorecard_kind)kind);
        for (int i = 0; i < 40; i++) {
            wd_scorecard_evidence_add(&ev, i % 3 ? "clean" : "leet", WD_LABEL_HARMFUL,
                                      WD_CATMASK(i % WD_CATEGORY_COUNT), i % 4 != 0);
            wd_scorecard_evidence_add(&ev, "clean", WD_LABEL_BENIGN, 0, i % 9 == 0);
        }
        wd_scorecard_result *r = NULL;
        if (wd_scorecard_evaluate(sc, &ev, &r) != WD_OK) abort();
        for (size_t row = 0; row < WD_SCORECARD_ROWS; row++)
            if (r->rows[row].level >= (int)wd_scorecard_n_levels(sc)) abort();
        char *j = wd_scorecard_result_json(r);
        cJSON *o = j ? cJSON_Parse(j) : NULL;
        if (!o) abort();
        cJSON_Delete(o);
        free(j);
        wd_scorecard_result_free(r);
    }
    wd_scorecard_free(sc);
    return 0;
}

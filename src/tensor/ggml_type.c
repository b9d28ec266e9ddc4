/*
 * tensor/ggml_type.c - the table of ggml's tensor element types; see
 * warden/ggml_type.h.
 */
#include "warden/ggml_type.h"

#include <strings.h>

#include "base/err.h"

static const struct {
    const char *name;
    unsigned    blck, size;
} k_types[WD_GGML_TYPE_COUNT] = {
    [WD_GGML_TYPE_F32] = {"f32", 1, 4},          [WD_GGML_TYPE_F16] = {"f16", 1, 2},
    [WD_GGML_TYPE_Q4_0] = {"q4_0", 32, 18},      [WD_GGML_TYPE_Q4_1] = {"q4_1", 32, 20},
    [WD_GGML_TYPE_Q5_0] = {"q5_0", 32, 22},      [WD_GGML_TYPE_Q5_1] = {"q5_1", 32, 24},
    [WD_GGML_TYPE_Q8_0] = {"q8_0", 32, 34},      [WD_GGML_TYPE_Q8_1] = {"q8_1", 32, 36},
    [WD_GGML_TYPE_Q2_K] = {"q2_K", 256, 84},     [WD_GGML_TYPE_Q3_K] = {"q3_K", 256, 110},
    [WD_GGML_TYPE_Q4_K] = {"q4_K", 256, 144},    [WD_GGML_TYPE_Q5_K] = {"q5_K", 256, 176},
    [WD_GGML_TYPE_Q6_K] = {"q6_K", 256, 210},    [WD_GGML_TYPE_Q8_K] = {"q8_K", 256, 292},
    [WD_GGML_TYPE_IQ2_XXS] = {"iq2_xxs", 256, 66}, [WD_GGML_TYPE_IQ2_XS] = {"iq2_xs", 256, 74},
    [WD_GGML_TYPE_IQ3_XXS] = {"iq3_xxs", 256, 98}, [WD_GGML_TYPE_IQ1_S] = {"iq1_s", 256, 50},
    [WD_GGML_TYPE_IQ4_NL] = {"iq4_nl", 32, 18},  [WD_GGML_TYPE_IQ3_S] = {"iq3_s", 256, 110},
    [WD_GGML_TYPE_IQ2_S] = {"iq2_s", 256, 82},   [WD_GGML_TYPE_IQ4_XS] = {"iq4_xs", 256, 136},
    [WD_GGML_TYPE_I8] = {"i8", 1, 1},            [WD_GGML_TYPE_I16] = {"i16", 1, 2},
    [WD_GGML_TYPE_I32] = {"i32", 1, 4},          [WD_GGML_TYPE_I64] = {"i64", 1, 8},
    [WD_GGML_TYPE_F64] = {"f64", 1, 8},          [WD_GGML_TYPE_IQ1_M] = {"iq1_m", 256, 56},
    [WD_GGML_TYPE_BF16] = {"bf16", 1, 2},        [WD_GGML_TYPE_TQ1_0] = {"tq1_0", 256, 54},
    [WD_GGML_TYPE_TQ2_0] = {"tq2_0", 256, 66},
};

const char *wd_ggml_type_name(wd_ggml_type type) {
    return (unsigned)type < WD_GGML_TYPE_COUNT ? k_types[type].name : NULL;
}
size_t wd_ggml_type_block_size(wd_ggml_type type) {
    return (unsigned)type < WD_GGML_TYPE_COUNT ? k_types[type].blck : 0;
}
size_t wd_ggml_type_size(wd_ggml_type type) {
    return (unsigned)type < WD_GGML_TYPE_COUNT ? k_types[type].size : 0;
}

wd_status wd_ggml_type_from_name(const char *name, wd_ggml_type *out) {
    for (int t = 0; name && t < WD_GGML_TYPE_COUNT; t++) {
        if (k_types[t].name && !strcasecmp(name, k_types[t].name)) {
            *out = (wd_ggml_type)t;
            return WD_OK;
        }
    }
    return wd__fail(WD_ERR_UNSUPPORTED, "unknown tensor type '%s'", name ? name : "(null)");
}

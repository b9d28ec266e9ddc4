/*
 * train/lora.c - the forward and backward of a LoRA adapter and its target
 * names (see lora.h; saving in PEFT's layout is in lora_io.c).
 *
 * With xa = s * x A^T (N,r), the adapter adds u = xa B^T. Backward:
 * dB += dout^T xa, dxa = s * dout B, dA += dxa^T x, dx += dxa A.
 */
#include "train/lora.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>

static const char *const k_names[WD__LORA_N_TARGETS] = {"q_proj",    "k_proj",  "v_proj",
                                                        "o_proj",    "gate_proj", "up_proj",
                                                        "down_proj"};

const char *wd__lora_target_name(int i) {
    return i >= 0 && i < WD__LORA_N_TARGETS ? k_names[i] : NULL;
}

bool wd__lora_parse_targets(const char *s, unsigned *mask, char *bad, size_t cap) {
    *mask = 0;
    if (strcmp(s, "all") == 0 || strcmp(s, "all-linear") == 0) {
        *mask = (1u << WD__LORA_N_TARGETS) - 1;
        return true;
    }
    while (*s) {
        size_t n = strcspn(s, ",");
        int hit = -1;
        for (int i = 0; i < WD__LORA_N_TARGETS; i++)
            if (strlen(k_names[i]) == n && strncmp(s, k_names[i], n) == 0) hit = i;
        if (hit < 0) {
            snprintf(bad, cap, "%.*s", (int)n, s);
            return false;
        }
        *mask |= 1u << hit;
        s += n;
        if (*s == ',') s++;
    }
    return *mask != 0 || (snprintf(bad, cap, "(empty)"), false);
}

void wd__lora_fwd(wd__lora *a, float *out, const float *x, size_t N) {
    int n = (int)N, r = (int)a->r, in = (int)a->in, o = (int)a->out;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, r, in, a->scale, x, in, a->A->w, in,
                0.0f, a->xa, r);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, o, r, 1.0f, a->xa, r, a->B->w, r,
                1.0f, out, o);
}

void wd__lora_bwd(wd__lora *a, float *dx, const float *dout, const float *x, size_t N,
                  float *work, bool param_grads) {
    size_t r = a->r;
    memset(work, 0, N * r * sizeof(float));
    wd_op_matmul_bwd(work, param_grads ? a->B->g : NULL, NULL, dout, a->xa, a->B->w, N, r, a->out);
    for (size_t i = 0; i < N * r; i++) work[i] *= a->scale;
    wd_op_matmul_bwd(dx, param_grads ? a->A->g : NULL, NULL, work, x, a->A->w, N, a->in, r);
}

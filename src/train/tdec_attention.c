/*
 * train/tdec_attention.c - batched causal attention, forward and backward
 * (see tdec_attention.h). Per row b and head h, with g = h / (H/KV):
 *
 *     S = q_bh k_bg^T / sqrt(D)    P = softmax(S + mask)    o_bh = P v_bg
 *
 *     dP = do_bh v_bg^T            dv_bg += P^T do_bh
 *     dS = P * (dP - rowsum(P * dP))
 *     dq_bh = dS k_bg / sqrt(D)    dk_bg += dS^T q_bh / sqrt(D)
 *
 * The products run through OpenBLAS with leading dimensions, reading the
 * heads in place.
 */
#include "train/tdec_attention.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* Row i of (T,T) scores sees [lo, i]: softmax in place, zeros elsewhere. */
static void window_softmax(float *att, size_t T, size_t window) {
    for (size_t i = 0; i < T; i++) {
        float *row = att + i * T;
        size_t lo = (window && i + 1 > window) ? i + 1 - window : 0;
        float mx = -INFINITY;
        for (size_t s = lo; s <= i; s++) mx = row[s] > mx ? row[s] : mx;
        double sum = 0.0;
        for (size_t s = lo; s <= i; s++) sum += row[s] = expf(row[s] - mx);
        float inv = (float)(1.0 / sum);
        for (size_t s = 0; s < T; s++) row[s] = (s >= lo && s <= i) ? row[s] * inv : 0.0f;
    }
}

void wd__tattn_fwd(float *ao, float *att, const float *q, const float *k, const float *v,
                   size_t B, size_t T, size_t H, size_t KV, size_t D, size_t window,
                   wd_threadpool *tp) {
    size_t rep = H / KV, HD = H * D, KD = KV * D;
    float scale = 1.0f / sqrtf((float)D);
    if (window >= T) window = 0;
    for (size_t b = 0; b < B; b++) {
        for (size_t h = 0; h < H; h++) {
            size_t g = h / rep;
            const float *qb = q + b * T * HD + h * D;
            const float *kb = k + b * T * KD + g * D;
            const float *vb = v + b * T * KD + g * D;
            float *P = att + (b * H + h) * T * T;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)D, scale,
                        qb, (int)HD, kb, (int)KD, 0.0f, P, (int)T);
            if (window)
                window_softmax(P, T, window);
            else
                wd_op_softmax_causal_fwd(P, P, 1, T, T, tp);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)D, (int)T, 1.0f,
                        P, (int)T, vb, (int)KD, 0.0f, ao + b * T * HD + h * D, (int)HD);
        }
    }
}

void wd__tattn_bwd(float *dq, float *dk, float *dv, float *dP, float *dS, const float *dao,
                   const float *att, const float *q, const float *k, const float *v, size_t B,
                   size_t T, size_t H, size_t KV, size_t D, wd_threadpool *tp) {
    size_t rep = H / KV, HD = H * D, KD = KV * D;
    float scale = 1.0f / sqrtf((float)D);
    memset(dq, 0, B * T * HD * sizeof(float));
    memset(dk, 0, B * T * KD * sizeof(float));
    memset(dv, 0, B * T * KD * sizeof(float));
    for (size_t b = 0; b < B; b++) {
        for (size_t h = 0; h < H; h++) {
            size_t g = h / rep;
            const float *P = att + (b * H + h) * T * T;
            const float *dob = dao + b * T * HD + h * D;
            const float *qb = q + b * T * HD + h * D;
            const float *kb = k + b * T * KD + g * D;
            const float *vb = v + b * T * KD + g * D;
            float *dqb = dq + b * T * HD + h * D;
            float *dkb = dk + b * T * KD + g * D;
            float *dvb = dv + b * T * KD + g * D;
            /* dP = do v^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)D, 1.0f,
                        dob, (int)HD, vb, (int)KD, 0.0f, dP, (int)T);
            /* dv += P^T do */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)T, (int)D, (int)T, 1.0f, P,
                        (int)T, dob, (int)HD, 1.0f, dvb, (int)KD);
            memset(dS, 0, T * T * sizeof(float));
            wd_op_softmax_bwd(dS, dP, P, T, T, tp);
            /* dq = dS k * scale; dk += dS^T q * scale */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)D, (int)T, scale,
                        dS, (int)T, kb, (int)KD, 1.0f, dqb, (int)HD);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)T, (int)D, (int)T, scale,
                        dS, (int)T, qb, (int)HD, 1.0f, dkb, (int)KD);
        }
    }
}

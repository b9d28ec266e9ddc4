/*
 * tensor/quant.c - ggml block formats: reference quantizers and the
 * dequantizers (tensor/quant.h has the table of layouts).
 *
 * K-quant scale packing (Q4_K, Q5_K), 8 sub-blocks j with 6-bit scale sc[j]
 * and min m[j] in 12 bytes:
 *
 *   byte   0..3 : sc[0..3]  low 6 bits | sc[4..7] >> 4 in bits 6-7
 *   byte   4..7 : m[0..3]   low 6 bits | m[4..7]  >> 4 in bits 6-7
 *   byte  8..11 : sc[4..7] & 15 | (m[4..7] & 15) << 4
 *
 * Q4_K / Q5_K element order: chunk c (0..3) of 64 elements uses qs[32c ..
 * 32c+31]: low nibbles are elements 64c + l, high nibbles 64c + 32 + l;
 * sub-blocks 2c and 2c+1. Q5_K's fifth bit of element 64c + l is bit 2c of
 * qh[l], of element 64c + 32 + l bit 2c+1.
 *
 * Q6_K: half h (0, 1) of 128 elements uses ql[64h ..], qh[32h ..]; for
 * l < 32: ql[64h+l] low = e(l), ql[64h+32+l] low = e(l+32), ql[64h+l] high =
 * e(l+64), ql[64h+32+l] high = e(l+96); qh[32h+l] bits 0-1, 2-3, 4-5, 6-7
 * are the top two bits of e(l), e(l+32), e(l+64), e(l+96); element e's
 * scale is scales[e / 16] (e counted over the 256).
 *
 * This file is built with -ffp-contract=off: the dequantizers must give the
 * same floats as ggml's reference C (which computes d*q then adds), not a
 * fused multiply-add.
 */
#include "tensor/quant.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "warden/ops.h"

#define QK 32
#define QK_K 256


static inline void f2h(uint8_t *p, float f) {
    uint16_t h;
    wd_f32_to_f16_ref(&h, &f, 1);
    memcpy(p, &h, 2);
}

/* The value stored as fp16, read back. */
static inline float fp16_round(float f) {
    uint8_t b[2];
    f2h(b, f);
    return wd__f16_le(b);
}

/* Round to nearest, ties to even, for |x| < 2^22 (the quantizers' range):
 * adding 1.5 * 2^23 leaves the integer in the low mantissa bits. Much
 * cheaper than lrintf where math errno is kept. */
static inline int nearest(float x) {
    float v = x + 12582912.0f;
    int32_t i;
    memcpy(&i, &v, 4);
    return (i & 0x007fffff) - 0x00400000;
}
static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

bool wd__quant_supported(wd_ggml_type t) {
    return t == WD_GGML_TYPE_Q8_0 || t == WD_GGML_TYPE_Q4_0 || t == WD_GGML_TYPE_Q4_1 || t == WD_GGML_TYPE_Q5_0 ||
           t == WD_GGML_TYPE_Q5_1 || t == WD_GGML_TYPE_Q4_K || t == WD_GGML_TYPE_Q5_K || t == WD_GGML_TYPE_Q6_K;
}

size_t wd__quant_row_size(wd_ggml_type t, size_t n) {
    return n / wd_ggml_type_block_size(t) * wd_ggml_type_size(t);
}

/* ==== 32-element blocks ================================================= */

/* The element of largest magnitude, with its sign. */
static float signed_absmax(const float *x, int n) {
    float amax = 0, v = 0;
    for (int j = 0; j < n; j++)
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            v = x[j];
        }
    return v;
}

static void quant_q8_0(uint8_t *y, const float *x) {
    float amax = 0;
    for (int j = 0; j < QK; j++) amax = fmaxf(amax, fabsf(x[j]));
    float d = amax / 127, id = d ? 1.0f / d : 0.0f;
    f2h(y, d);
    for (int j = 0; j < QK; j++) y[2 + j] = (uint8_t)(int8_t)clampi((int)roundf(x[j] * id), -127, 127);
}

/* Q4_0 / Q5_0: symmetric with 2^(bits-1) levels below zero; the largest
 * magnitude maps to the most negative level, as ggml's reference does. */
static void quant_sym(uint8_t *y, const float *x, int bits) {
    int half = 1 << (bits - 1), top = (1 << bits) - 1;
    float d = signed_absmax(x, QK) / (float)-half, id = d ? 1.0f / d : 0.0f;
    f2h(y, d);
    uint8_t *qs = y + (bits == 5 ? 6 : 2);
    uint32_t qh = 0;
    for (int j = 0; j < QK / 2; j++) {
        int q0 = clampi((int)floorf(x[j] * id + (float)half + 0.5f), 0, top);
        int q1 = clampi((int)floorf(x[j + QK / 2] * id + (float)half + 0.5f), 0, top);
        qs[j] = (uint8_t)((q0 & 15) | (q1 & 15) << 4);
        qh |= (uint32_t)(q0 >> 4 & 1) << j | (uint32_t)(q1 >> 4 & 1) << (j + QK / 2);
    }
    if (bits == 5) memcpy(y + 2, &qh, 4);
}

/* Q4_1 / Q5_1: min and step. */
static void quant_affine(uint8_t *y, const float *x, int bits) {
    int top = (1 << bits) - 1;
    float mn = x[0], mx = x[0];
    for (int j = 1; j < QK; j++) {
        mn = fminf(mn, x[j]);
        mx = fmaxf(mx, x[j]);
    }
    float d = (mx - mn) / (float)top, id = d ? 1.0f / d : 0.0f;
    f2h(y, d);
    f2h(y + 2, mn);
    uint8_t *qs = y + (bits == 5 ? 8 : 4);
    uint32_t qh = 0;
    for (int j = 0; j < QK / 2; j++) {
        int q0 = clampi((int)floorf((x[j] - mn) * id + 0.5f), 0, top);
        int q1 = clampi((int)floorf((x[j + QK / 2] - mn) * id + 0.5f), 0, top);
        qs[j] = (uint8_t)((q0 & 15) | (q1 & 15) << 4);
        qh |= (uint32_t)(q0 >> 4 & 1) << j | (uint32_t)(q1 >> 4 & 1) << (j + QK / 2);
    }
    if (bits == 5) memcpy(y + 4, &qh, 4);
}

static void deq_q8_0(float *y, const uint8_t *b) {
    const float d = wd__f16_le(b);
    for (int j = 0; j < QK; j++) y[j] = (float)(int8_t)b[2 + j] * d;
}

static void deq_sym(float *y, const uint8_t *b, int bits) {
    const float d = wd__f16_le(b);
    const uint8_t *qs = b + (bits == 5 ? 6 : 2);
    uint32_t qh = 0;
    if (bits == 5) memcpy(&qh, b + 2, 4);
    int off = 1 << (bits - 1);
    for (int j = 0; j < QK / 2; j++) {
        int q0 = (qs[j] & 15) | (int)(qh >> j & 1) << 4;
        int q1 = (qs[j] >> 4) | (int)(qh >> (j + QK / 2) & 1) << 4;
        y[j] = (float)(q0 - off) * d;
        y[j + QK / 2] = (float)(q1 - off) * d;
    }
}

static void deq_affine(float *y, const uint8_t *b, int bits) {
    const float d = wd__f16_le(b), m = wd__f16_le(b + 2);
    const uint8_t *qs = b + (bits == 5 ? 8 : 4);
    uint32_t qh = 0;
    if (bits == 5) memcpy(&qh, b + 4, 4);
    for (int j = 0; j < QK / 2; j++) {
        int q0 = (qs[j] & 15) | (int)(qh >> j & 1) << 4;
        int q1 = (qs[j] >> 4) | (int)(qh >> (j + QK / 2) & 1) << 4;
        y[j] = (float)q0 * d + m;
        y[j + QK / 2] = (float)q1 * d + m;
    }
}

/* ==== K-quants ========================================================== */

/* Fits x[0..n) ~ scale * q - min with q in [0, nmax] and min >= 0: tries
 * steps around (max - min) / nmax, refits scale and offset by least squares
 * for each rounding, keeps the one with the least squared error. Writes q
 * into L; returns the scale, *min_out the min. */
static float fit_affine(const float *x, int n, int nmax, uint8_t *L, float *min_out) {
    float mn = x[0], mx = x[0];
    for (int i = 1; i < n; i++) {
        mn = fminf(mn, x[i]);
        mx = fmaxf(mx, x[i]);
    }
    if (mn > 0) mn = 0;
    if (mx == mn) {
        memset(L, 0, (size_t)n);
        *min_out = -mn;
        return 0;
    }
    float best_scale = (mx - mn) / (float)nmax, best_off = mn, best_err = INFINITY;
    uint8_t Lt[QK];
    for (int step = -10; step <= 10; step++) {
        float iscale = ((float)nmax + 0.1f * (float)step) / (mx - mn);
        double sq = 0, sqq = 0, sx = 0, sqx = 0;
        for (int i = 0; i < n; i++) {
            int q = clampi(nearest((x[i] - mn) * iscale), 0, nmax);
            Lt[i] = (uint8_t)q;
            sq += q;
            sqq += (double)q * q;
            sx += x[i];
            sqx += (double)q * x[i];
        }
        double D = n * sqq - sq * sq;
        if (D <= 0) continue;
        double scale = (n * sqx - sq * sx) / D, off = (sqq * sx - sq * sqx) / D;
        if (off > 0) { /* the min must stay <= 0: fit the scale alone */
            off = 0;
            scale = sqq > 0 ? sqx / sqq : 0;
        }
        if (scale <= 0) continue;
        double err = 0;
        for (int i = 0; i < n; i++) {
            double e = scale * Lt[i] + off - x[i];
            err += e * e;
        }
        if (err < best_err) {
            best_err = (float)err;
            best_scale = (float)scale;
            best_off = (float)off;
        }
    }
    *min_out = -best_off;
    return best_scale;
}

/* Fits x[0..n) ~ scale * q, q in [-32, 31]; returns the scale. */
static float fit_sym6(const float *x, int n) {
    float mv = signed_absmax(x, n);
    if (mv == 0) return 0;
    float best_scale = mv / -32, best_err = INFINITY;
    for (int step = -8; step <= 8; step++) {
        float iscale = (-32.0f + 0.25f * (float)step) / mv;
        double sqq = 0, sqx = 0;
        int q[16];
        for (int i = 0; i < n; i++) {
            q[i] = clampi(nearest(x[i] * iscale), -32, 31);
            sqq += (double)q[i] * q[i];
            sqx += (double)q[i] * x[i];
        }
        if (sqq <= 0) continue;
        double scale = sqx / sqq, err = 0;
        for (int i = 0; i < n; i++) {
            double e = scale * q[i] - x[i];
            err += e * e;
        }
        if (err < best_err) {
            best_err = (float)err;
            best_scale = (float)scale;
        }
    }
    return best_scale;
}

static void pack_scales_k4(uint8_t *s, const uint8_t *sc, const uint8_t *m) {
    for (int j = 0; j < 4; j++) {
        s[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
        s[j + 4] = (uint8_t)(m[j] | (m[j + 4] >> 4) << 6);
        s[j + 8] = (uint8_t)((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
    }
}

/* Q4_K (bits 4) and Q5_K (bits 5) of one 256-block. */
static void quant_k_affine(uint8_t *y, const float *x, int bits) {
    int nmax = (1 << bits) - 1;
    uint8_t L[QK_K], ls[8], lm[8];
    float scales[8], mins[8], max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        scales[j] = fit_affine(x + 32 * j, 32, nmax, L + 32 * j, &mins[j]);
        max_scale = fmaxf(max_scale, scales[j]);
        max_min = fmaxf(max_min, mins[j]);
    }
    float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    for (int j = 0; j < 8; j++) {
        ls[j] = (uint8_t)clampi(nearest(inv_scale * scales[j]), 0, 63);
        lm[j] = (uint8_t)clampi(nearest(inv_min * mins[j]), 0, 63);
    }
    f2h(y, max_scale / 63.0f);
    f2h(y + 2, max_min / 63.0f);
    pack_scales_k4(y + 4, ls, lm);
    const float d = wd__f16_le(y), dmin = wd__f16_le(y + 2);
    for (int j = 0; j < 8; j++) {
        const float dd = d * ls[j], dm = dmin * lm[j];
        for (int i = 0; i < 32; i++)
            L[32 * j + i] = dd ? (uint8_t)clampi(nearest((x[32 * j + i] + dm) / dd), 0, nmax) : 0;
    }
    uint8_t *qh = bits == 5 ? y + 16 : NULL, *qs = bits == 5 ? y + 48 : y + 16;
    if (qh) memset(qh, 0, 32);
    for (int c = 0; c < 4; c++) {
        for (int l = 0; l < 32; l++) {
            int a = L[64 * c + l], b = L[64 * c + 32 + l];
            qs[32 * c + l] = (uint8_t)((a & 15) | (b & 15) << 4);
            if (qh) qh[l] |= (uint8_t)((a >> 4) << (2 * c) | (b >> 4) << (2 * c + 1));
        }
    }
}

static void deq_k_affine(float *y, const uint8_t *b, int bits) {
    const float d = wd__f16_le(b), dmin = wd__f16_le(b + 2);
    const uint8_t *sc = b + 4;
    const uint8_t *qh = bits == 5 ? b + 16 : NULL, *qs = bits == 5 ? b + 48 : b + 16;
    for (int c = 0; c < 4; c++) {
        int s, m;
        wd__q4k_scale_min(2 * c, sc, &s, &m);
        const float d1 = d * (float)s, m1 = dmin * (float)m;
        wd__q4k_scale_min(2 * c + 1, sc, &s, &m);
        const float d2 = d * (float)s, m2 = dmin * (float)m;
        for (int l = 0; l < 32; l++) {
            int q = qs[32 * c + l] & 15;
            if (qh && (qh[l] >> (2 * c) & 1)) q += 16;
            y[64 * c + l] = d1 * (float)q - m1;
        }
        for (int l = 0; l < 32; l++) {
            int q = qs[32 * c + l] >> 4;
            if (qh && (qh[l] >> (2 * c + 1) & 1)) q += 16;
            y[64 * c + 32 + l] = d2 * (float)q - m2;
        }
    }
}

static void quant_q6_k(uint8_t *y, const float *x) {
    float scales[16], max_scale = 0, max_abs = 0;
    for (int j = 0; j < 16; j++) {
        scales[j] = fit_sym6(x + 16 * j, 16);
        if (fabsf(scales[j]) > max_abs) {
            max_abs = fabsf(scales[j]);
            max_scale = scales[j];
        }
    }
    uint8_t *ql = y, *qh = y + 128, *d_at = y + 208;
    int8_t *sc = (int8_t *)(y + 192);
    memset(y, 0, 210);
    if (max_abs == 0) return;
    float iscale = -128.0f / max_scale;
    f2h(d_at, 1.0f / iscale);
    for (int j = 0; j < 16; j++) sc[j] = (int8_t)clampi(nearest(iscale * scales[j]), -128, 127);
    const float d = wd__f16_le(d_at);
    uint8_t L[QK_K];
    for (int j = 0; j < 16; j++) {
        const float dd = d * sc[j];
        for (int i = 0; i < 16; i++)
            L[16 * j + i] = (uint8_t)(dd ? clampi(nearest(x[16 * j + i] / dd), -32, 31) + 32 : 32);
    }
    for (int h = 0; h < 2; h++) {
        const uint8_t *e = L + 128 * h;
        for (int l = 0; l < 32; l++) {
            ql[64 * h + l] = (uint8_t)((e[l] & 15) | (e[l + 64] & 15) << 4);
            ql[64 * h + 32 + l] = (uint8_t)((e[l + 32] & 15) | (e[l + 96] & 15) << 4);
            qh[32 * h + l] = (uint8_t)((e[l] >> 4) | (e[l + 32] >> 4) << 2 | (e[l + 64] >> 4) << 4 |
                                       (e[l + 96] >> 4) << 6);
        }
    }
}

static void deq_q6_k(float *y, const uint8_t *b) {
    const float d = wd__f16_le(b + 208);
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    for (int h = 0; h < 2; h++) {
        for (int l = 0; l < 32; l++) {
            int is = l / 16;
            int q1 = ((ql[64 * h + l] & 15) | (qh[32 * h + l] & 3) << 4) - 32;
            int q2 = ((ql[64 * h + 32 + l] & 15) | (qh[32 * h + l] >> 2 & 3) << 4) - 32;
            int q3 = ((ql[64 * h + l] >> 4) | (qh[32 * h + l] >> 4 & 3) << 4) - 32;
            int q4 = ((ql[64 * h + 32 + l] >> 4) | (qh[32 * h + l] >> 6 & 3) << 4) - 32;
            y[128 * h + l] = d * (float)sc[8 * h + is] * (float)q1;
            y[128 * h + l + 32] = d * (float)sc[8 * h + is + 2] * (float)q2;
            y[128 * h + l + 64] = d * (float)sc[8 * h + is + 4] * (float)q3;
            y[128 * h + l + 96] = d * (float)sc[8 * h + is + 6] * (float)q4;
        }
    }
}

/* ==== rows ============================================================== */

void wd__quantize_ref(wd_ggml_type t, void *dst, const float *x, size_t n) {
    size_t blck = wd_ggml_type_block_size(t), bsz = wd_ggml_type_size(t);
    assert(wd__quant_supported(t) && n % blck == 0);
    uint8_t *y = dst;
    for (size_t i = 0; i < n / blck; i++, y += bsz, x += blck) {
        switch (t) {
        case WD_GGML_TYPE_Q8_0: quant_q8_0(y, x); break;
        case WD_GGML_TYPE_Q4_0: quant_sym(y, x, 4); break;
        case WD_GGML_TYPE_Q5_0: quant_sym(y, x, 5); break;
        case WD_GGML_TYPE_Q4_1: quant_affine(y, x, 4); break;
        case WD_GGML_TYPE_Q5_1: quant_affine(y, x, 5); break;
        case WD_GGML_TYPE_Q4_K: quant_k_affine(y, x, 4); break;
        case WD_GGML_TYPE_Q5_K: quant_k_affine(y, x, 5); break;
        case WD_GGML_TYPE_Q6_K: quant_q6_k(y, x); break;
        default: break;
        }
    }
}

void wd__dequantize(wd_ggml_type t, float *y, const void *src, size_t n) {
    size_t blck = wd_ggml_type_block_size(t), bsz = wd_ggml_type_size(t);
    assert(wd__quant_supported(t) && n % blck == 0);
    const uint8_t *b = src;
    for (size_t i = 0; i < n / blck; i++, b += bsz, y += blck) {
        switch (t) {
        case WD_GGML_TYPE_Q8_0: deq_q8_0(y, b); break;
        case WD_GGML_TYPE_Q4_0: deq_sym(y, b, 4); break;
        case WD_GGML_TYPE_Q5_0: deq_sym(y, b, 5); break;
        case WD_GGML_TYPE_Q4_1: deq_affine(y, b, 4); break;
        case WD_GGML_TYPE_Q5_1: deq_affine(y, b, 5); break;
        case WD_GGML_TYPE_Q4_K: deq_k_affine(y, b, 4); break;
        case WD_GGML_TYPE_Q5_K: deq_k_affine(y, b, 5); break;
        case WD_GGML_TYPE_Q6_K: deq_q6_k(y, b); break;
        default: break;
        }
    }
}

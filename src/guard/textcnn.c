/*
 * guard/textcnn.c - the convolutional classifier's network at run time
 * (see textcnn.h): tokens and their buckets, the convolution with its
 * max-pool, and the logits of a text read in chunks of CHUNK tokens, so
 * a text of any length needs a fixed buffer.
 */
#include "guard/textcnn.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "guard/textclf.h"

#define SEED_CNN_WORD 0x434e4e57ull /* + 0    */
#define SEED_CNN_GRAM 0x434e4e47ull /* + n    */
#define SEED_CNN_CONC 0x434e4e43ull /* + concept */
#define CHUNK 256                   /* windows per pass over the buffer */

const char *wd__textcnn_shape_check(const wd__textcnn_shape *sh) {
    if (sh->bits < 10 || sh->bits > 24) return "embedding bits outside [10, 24]";
    if (sh->dim < 8 || sh->dim > WD_TEXTCNN_MAX_DIM || sh->dim % 8) return "dim not a multiple of 8 in [8, 256]";
    if (sh->filters < 32 || sh->filters > WD_TEXTCNN_MAX_FILTERS || sh->filters % 32)
        return "filters not a multiple of 32 in [32, 1024]";
    if (sh->width < 1 || sh->width > WD_TEXTCNN_MAX_WIDTH) return "width outside [1, 7]";
    if (sh->char_min < 0 || sh->char_max > 8 || (sh->char_min > 0 && sh->char_max < sh->char_min))
        return "char n-grams invalid (need 0, or 1 <= min <= max <= 8)";
    if (sh->concepts < 0 || sh->concepts > 1) return "concepts not 0 or 1";
    return NULL;
}

static inline int is_word_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

size_t wd__textcnn_tokens(const wd__textcnn_shape *sh, const char *text, size_t len,
                          wd__textcnn_token_fn emit, void *ctx, const wd__scan_stop *stop,
                          wd_status *stopped) {
    const unsigned char *s = (const unsigned char *)text;
    const uint32_t mask = (uint32_t)((1u << sh->bits) - 1u);
    uint32_t b[WD_TEXTCNN_MAX_BUCKETS];
    size_t n = 0, i = 0, next_poll = stop ? WD_SCAN_POLL_BYTES : SIZE_MAX;
    while (i < len) {
        if (i >= next_poll) {
            if ((*stopped = wd__scan_stop_poll(stop)) != WD_OK) return n;
            next_poll = i + WD_SCAN_POLL_BYTES;
        }
        unsigned char c = s[i];
        if (!is_word_byte(c)) {
            size_t j = i + 1;
            while (j < len && s[j] == c) j++;
            if (c > 0x20 && c < 0x7f) {
                b[0] = (uint32_t)wd__textclf_hash(&c, 1, SEED_CNN_WORD) & mask;
                emit(ctx, b, 1);
                n++;
            }
            i = j;
            continue;
        }
        size_t w0 = i;
        while (i < len && is_word_byte(s[i])) i++;
        size_t wl = i - w0, nb = 0;
        b[nb++] = (uint32_t)wd__textclf_hash(s + w0, wl, SEED_CNN_WORD) & mask;
        if (sh->char_min > 0) {
            unsigned char g[WD_TEXTCNN_WORD_BYTES + 2];
            size_t gl = 0;
            g[gl++] = '<';
            size_t take = wl < WD_TEXTCNN_WORD_BYTES ? wl : WD_TEXTCNN_WORD_BYTES;
            memcpy(g + gl, s + w0, take);
            gl += take;
            g[gl++] = '>';
            for (int k = sh->char_min; k <= sh->char_max; k++)
                for (size_t st = 0; st + (size_t)k <= gl && nb < WD_TEXTCNN_MAX_BUCKETS; st++)
                    b[nb++] = (uint32_t)wd__textclf_hash(g + st, (size_t)k, SEED_CNN_GRAM + (uint64_t)k) & mask;
        }
        if (sh->concepts)
            for (uint32_t cs = wd__textclf_concepts_of((const char *)s + w0, wl); cs && nb < WD_TEXTCNN_MAX_BUCKETS;
                 cs &= cs - 1) {
                uint64_t ci = (uint64_t)__builtin_ctz(cs);
                b[nb++] = ((uint32_t)wd__textclf_hash(&ci, sizeof ci, SEED_CNN_CONC) & mask) | WD_TEXTCNN_CONCEPT;
            }
        emit(ctx, b, nb);
        n++;
    }
    return n;
}

/* ==== the convolution and its max-pool ==================================== */

/* No window yet: every maximum 0 (the ReLU's floor), no winner. */
static void pool_reset(float *m, int32_t *arg, size_t F) {
    for (size_t f = 0; f < F; f++) {
        m[f] = 0;
        if (arg) arg[f] = -1;
    }
}

void wd__textcnn_conv_max_ref(const wd__textcnn_shape *sh, const float *conv, const float *conv_b,
                              const float *X, size_t T, float *m, int32_t *arg) {
    const size_t D = (size_t)sh->dim, F = (size_t)sh->filters, K = (size_t)sh->width * D;
    pool_reset(m, arg, F);
    for (size_t t = 0; t < T; t++) {
        const float *x = X + t * D;
        for (size_t f = 0; f < F; f++) {
            float a = conv_b[f];
            for (size_t j = 0; j < K; j++) a += x[j] * conv[j * F + f];
            if (a > m[f]) {
                m[f] = a;
                if (arg) arg[f] = (int32_t)t;
            }
        }
    }
}

/* The maxima of a block of 4 windows (r < nt) and 8 * nq filters from f0. */
static inline void take_max(const float *a, size_t nt, size_t nq, size_t f0, size_t t0, float *m, int32_t *arg) {
    for (size_t r = 0; r < nt; r++)
        for (size_t k = 0; k < 8 * nq; k++)
            if (a[r * 8 * nq + k] > m[f0 + k]) {
                m[f0 + k] = a[r * 8 * nq + k];
                if (arg) arg[f0 + k] = (int32_t)(t0 + r);
            }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WD_TEXTCNN_X86 1

/* AVX2, blocks of 4 windows x 16 filters: 8 accumulators, two conv row
 * vectors and a broadcast live in registers (no spills), each conv row
 * loaded once for the 4 windows. Multiply, then add (no FMA): the same
 * roundings, in the same order, as _ref. */
__attribute__((target("avx2"))) static void conv_max_avx2(const wd__textcnn_shape *sh, const float *conv,
                                                          const float *conv_b, const float *X, size_t T, float *m,
                                                          int32_t *arg) {
    const size_t D = (size_t)sh->dim, F = (size_t)sh->filters, K = (size_t)sh->width * D;
    for (size_t f0 = 0; f0 < F; f0 += 16) {
        const __m256 b0 = _mm256_loadu_ps(conv_b + f0), b1 = _mm256_loadu_ps(conv_b + f0 + 8);
        for (size_t t0 = 0; t0 < T; t0 += 4) {
            const float *x0 = X + t0 * D, *x1 = X + (t0 + 1 < T ? t0 + 1 : T - 1) * D,
                        *x2 = X + (t0 + 2 < T ? t0 + 2 : T - 1) * D, *x3 = X + (t0 + 3 < T ? t0 + 3 : T - 1) * D;
            __m256 a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1;
            const float *w = conv + f0;
            for (size_t j = 0; j < K; j++, w += F) {
                const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
                __m256 xv = _mm256_broadcast_ss(x0 + j);
                a00 = _mm256_add_ps(a00, _mm256_mul_ps(xv, w0));
                a01 = _mm256_add_ps(a01, _mm256_mul_ps(xv, w1));
                xv = _mm256_broadcast_ss(x1 + j);
                a10 = _mm256_add_ps(a10, _mm256_mul_ps(xv, w0));
                a11 = _mm256_add_ps(a11, _mm256_mul_ps(xv, w1));
                xv = _mm256_broadcast_ss(x2 + j);
                a20 = _mm256_add_ps(a20, _mm256_mul_ps(xv, w0));
                a21 = _mm256_add_ps(a21, _mm256_mul_ps(xv, w1));
                xv = _mm256_broadcast_ss(x3 + j);
                a30 = _mm256_add_ps(a30, _mm256_mul_ps(xv, w0));
                a31 = _mm256_add_ps(a31, _mm256_mul_ps(xv, w1));
            }
            float a[4 * 16];
            _mm256_storeu_ps(a, a00), _mm256_storeu_ps(a + 8, a01), _mm256_storeu_ps(a + 16, a10);
            _mm256_storeu_ps(a + 24, a11), _mm256_storeu_ps(a + 32, a20), _mm256_storeu_ps(a + 40, a21);
            _mm256_storeu_ps(a + 48, a30), _mm256_storeu_ps(a + 56, a31);
            take_max(a, T - t0 < 4 ? T - t0 : 4, 2, f0, t0, m, arg);
        }
    }
}
#endif

typedef float v8f __attribute__((vector_size(32)));

void wd__textcnn_conv_max(const wd__textcnn_shape *sh, const float *conv, const float *conv_b,
                          const float *X, size_t T, float *m, int32_t *arg) {
#ifdef WD_TEXTCNN_X86
    if (__builtin_cpu_supports("avx2")) {
        pool_reset(m, arg, (size_t)sh->filters);
        conv_max_avx2(sh, conv, conv_b, X, T, m, arg);
        return;
    }
#endif
    wd__textcnn_conv_max_vec(sh, conv, conv_b, X, T, m, arg);
}

/* The portable form (GCC / Clang vector types, any target): blocks of 4
 * windows x 32 filters, each conv row loaded once for the 4 windows. The
 * same sums in the same order as _ref. */
void wd__textcnn_conv_max_vec(const wd__textcnn_shape *sh, const float *conv, const float *conv_b,
                              const float *X, size_t T, float *m, int32_t *arg) {
    const size_t D = (size_t)sh->dim, F = (size_t)sh->filters, K = (size_t)sh->width * D;
    pool_reset(m, arg, F);
    for (size_t f0 = 0; f0 < F; f0 += 32) {
        v8f bias[4];
        memcpy(bias, conv_b + f0, sizeof bias);
        for (size_t t0 = 0; t0 < T; t0 += 4) {
            const float *x[4];
            for (size_t r = 0; r < 4; r++) x[r] = X + (t0 + r < T ? t0 + r : T - 1) * D;
            v8f acc[4][4];
            for (int r = 0; r < 4; r++)
                for (int q = 0; q < 4; q++) acc[r][q] = bias[q];
            const float *w = conv + f0;
            for (size_t j = 0; j < K; j++, w += F) {
                v8f wv[4];
                memcpy(wv, w, sizeof wv);
                for (int r = 0; r < 4; r++) {
                    float xs = x[r][j];
                    v8f xv = {xs, xs, xs, xs, xs, xs, xs, xs};
                    for (int q = 0; q < 4; q++) acc[r][q] += xv * wv[q];
                }
            }
            size_t nt = T - t0 < 4 ? T - t0 : 4;
            for (size_t r = 0; r < nt; r++)
                for (int q = 0; q < 4; q++)
                    for (int k = 0; k < 8; k++) {
                        size_t f = f0 + (size_t)q * 8 + (size_t)k;
                        if (acc[r][q][k] > m[f]) {
                            m[f] = acc[r][q][k];
                            if (arg) arg[f] = (int32_t)(t0 + r);
                        }
                    }
        }
    }
}

/* ==== a text's logits ===================================================== */

typedef struct run {
    const wd__textcnn *c;
    float             *X;    /* (CHUNK + width - 1, D) */
    size_t             rows; /* filled rows of X        */
    float             *m, *mc;
} run;

static void flush(run *r) {
    const wd__textcnn_shape *sh = &r->c->sh;
    size_t keep = (size_t)sh->width - 1, D = (size_t)sh->dim;
    if (r->rows <= keep) return;
    size_t T = r->rows - keep;
    wd__textcnn_conv_max(sh, r->c->conv, r->c->conv_b, r->X, T, r->mc, NULL);
    for (int f = 0; f < sh->filters; f++)
        if (r->mc[f] > r->m[f]) r->m[f] = r->mc[f];
    memmove(r->X, r->X + T * D, keep * D * sizeof *r->X);
    r->rows = keep;
}

static void add_token(void *ctx, const uint32_t *b, size_t n) {
    run *r = ctx;
    const wd__textcnn *c = r->c;
    const size_t D = (size_t)c->sh.dim;
    float *e = r->X + r->rows * D;
    const int8_t *row = c->emb + (size_t)b[0] * D;
    float s = c->emb_scale[b[0]];
    for (size_t d = 0; d < D; d++) e[d] = s * (float)row[d];
    if (n > 1) {
        size_t ng = 0;
        for (size_t k = 1; k < n; k++) ng += !(b[k] & WD_TEXTCNN_CONCEPT);
        float inv = ng ? 1.0f / (float)ng : 0.0f;
        for (size_t k = 1; k < n; k++) {
            uint32_t rk = b[k] & ~WD_TEXTCNN_CONCEPT;
            row = c->emb + (size_t)rk * D;
            s = c->emb_scale[rk] * (b[k] & WD_TEXTCNN_CONCEPT ? 1.0f : inv);
            for (size_t d = 0; d < D; d++) e[d] += s * (float)row[d];
        }
    }
    if (++r->rows == CHUNK + (size_t)c->sh.width - 1) flush(r);
}

wd_status wd__textcnn_logits(const wd__textcnn *c, const char *text, size_t len, const float *bias,
                             float *z, const wd__scan_stop *stop) {
    const size_t D = (size_t)c->sh.dim, F = (size_t)c->sh.filters, W = (size_t)c->sh.width;
    run r = {.c = c};
    r.X = malloc((CHUNK + W - 1) * D * sizeof *r.X);
    r.m = calloc(2 * F, sizeof *r.m);
    if (!r.X || !r.m) {
        free(r.X);
        free(r.m);
        return wd__fail(WD_ERR_NOMEM, "textclf_predict: out of memory");
    }
    r.mc = r.m + F;
    size_t pad_l = (W - 1) / 2, pad_r = W - 1 - pad_l;
    memset(r.X, 0, pad_l * D * sizeof *r.X);
    r.rows = pad_l;
    wd_status st = WD_OK;
    wd__textcnn_tokens(&c->sh, text, len, add_token, &r, stop, &st);
    if (st == WD_OK) {
        for (size_t k = 0; k < pad_r; k++) {
            memset(r.X + r.rows * D, 0, D * sizeof *r.X);
            if (++r.rows == CHUNK + W - 1) flush(&r);
        }
        flush(&r);
        const size_t L = c->n_labels;
        for (size_t l = 0; l < L; l++) z[l] = bias[l];
        for (size_t f = 0; f < F; f++) {
            float mf = r.m[f];
            if (mf == 0) continue;
            const float *h = c->head + f * L;
            for (size_t l = 0; l < L; l++) z[l] += mf * h[l];
        }
    }
    free(r.X);
    free(r.m);
    return st;
}

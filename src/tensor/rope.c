/*
 * tensor/rope.c - rotary position embedding (Su et al. 2021, RoFormer).
 *
 * Each head vector of D values is cut into D/2 pairs; pair i of the token
 * at position p is rotated by the angle p * inv_freq[i]:
 *
 *     (a, b) -> (a cos - b sin,  b cos + a sin)
 *
 * Two pairings exist in checkpoints (see wd_rope_layout in ops.h):
 *
 *     HALF        [a0 a1 .. a(D/2-1) | b0 b1 .. b(D/2-1)]   HF rotate_half
 *     INTERLEAVED [a0 b0 a1 b1 ...]                         GPT-J / Meta
 *
 * The same (N, D/2) cos/sin table serves both. The backward is the
 * transpose of the rotation, i.e. the rotation by -angle.
 *
 * Frequencies follow Hugging Face's modeling_rope_utils (default, linear,
 * llama3), which computes them in float32:
 *
 *     inv_freq[i] = 1 / theta^(2i/D)
 *     linear:  inv_freq /= factor
 *     llama3:  wavelen = 2 pi / inv_freq
 *              wavelen > orig / low_freq_factor   -> inv_freq / factor
 *              wavelen < orig / high_freq_factor  -> inv_freq
 *              otherwise, with s = (orig / wavelen - low) / (high - low):
 *                          (1 - s) * inv_freq / factor + s * inv_freq
 *
 * Every step below rounds to float32 where torch does, so the table
 * matches HF's to within one ulp (from theta^x, which we evaluate in double
 * while torch uses its float pow).
 */
#include <math.h>

#include "base/err.h"
#include "tensor/threads.h"

const char *wd_rope_scaling_name(wd_rope_scaling type) {
    static const char *names[] = {"none", "linear", "dynamic", "llama3"};
    return (unsigned)type < 4 ? names[type] : "?";
}

wd_rope_params wd_rope_params_default(void) {
    wd_rope_params p = {
        .theta = 10000.0,
        .head_dim = 64,
        .scaling = WD_ROPE_SCALING_NONE,
        .factor = 1.0,
        .low_freq_factor = 1.0,
        .high_freq_factor = 4.0,
        .original_max_position_embeddings = 8192,
    };
    return p;
}

wd_status wd_rope_inv_freq(float *inv_freq, const wd_rope_params *p) {
    if (!inv_freq || !p) return wd__fail(WD_ERR_INVALID_ARG, "rope: NULL argument");
    int D = p->head_dim;
    if (D < 2 || D % 2)
        return wd__fail(WD_ERR_INVALID_ARG, "rope: head_dim %d must be even and >= 2", D);
    if (!(p->theta > 1.0) || !isfinite(p->theta))
        return wd__fail(WD_ERR_INVALID_ARG, "rope: rope_theta %g must be > 1", p->theta);
    if (p->scaling != WD_ROPE_SCALING_NONE && !(p->factor > 0.0 && isfinite(p->factor)))
        return wd__fail(WD_ERR_INVALID_ARG, "rope: rope_scaling factor %g must be > 0",
                        p->factor);
    if (p->scaling == WD_ROPE_SCALING_LLAMA3 &&
        (!(p->high_freq_factor > p->low_freq_factor) || !(p->low_freq_factor > 0.0) ||
         p->original_max_position_embeddings <= 0))
        return wd__fail(WD_ERR_INVALID_ARG,
                        "rope: llama3 scaling needs 0 < low_freq_factor (%g) < "
                        "high_freq_factor (%g) and original_max_position_embeddings (%d) > 0",
                        p->low_freq_factor, p->high_freq_factor,
                        p->original_max_position_embeddings);
    if (p->scaling == WD_ROPE_SCALING_DYNAMIC)
        return wd__fail(WD_ERR_UNSUPPORTED, "rope: dynamic NTK scaling is not supported");
    if (p->scaling != WD_ROPE_SCALING_NONE && p->scaling != WD_ROPE_SCALING_LINEAR &&
        p->scaling != WD_ROPE_SCALING_LLAMA3)
        return wd__fail(WD_ERR_INVALID_ARG, "rope: unknown scaling %d", (int)p->scaling);

    float theta = (float)p->theta, factor = (float)p->factor;
    float low = (float)p->low_freq_factor;
    float high_minus_low = (float)(p->high_freq_factor - p->low_freq_factor);
    float orig = (float)p->original_max_position_embeddings;
    /* HF computes these two in Python floats (double), then torch rounds
     * them to float32 when they meet a float32 tensor. */
    float low_wavelen = (float)((double)p->original_max_position_embeddings / p->low_freq_factor);
    float high_wavelen =
        (float)((double)p->original_max_position_embeddings / p->high_freq_factor);
    for (int i = 0; i < D / 2; i++) {
        float e = (float)(2 * i) / (float)D;
        float f = 1.0f / (float)pow((double)theta, (double)e);
        if (p->scaling == WD_ROPE_SCALING_LINEAR) {
            f = f / factor;
        } else if (p->scaling == WD_ROPE_SCALING_LLAMA3) {
            /* torch evaluates `scalar / tensor` as reciprocal(tensor) * scalar */
            float wavelen = (1.0f / f) * (float)(2.0 * M_PI);
            float fl = wavelen > low_wavelen ? f / factor : f;
            float s = ((1.0f / wavelen) * orig - low) / high_minus_low;
            float smoothed = (1.0f - s) * fl / factor + s * fl;
            int medium = !(wavelen < high_wavelen) && !(wavelen > low_wavelen);
            f = medium ? smoothed : fl;
        }
        inv_freq[i] = f;
    }
    return WD_OK;
}

void wd_rope_table(float *cos_, float *sin_, const float *inv_freq, const int32_t *pos, size_t N,
                   size_t D) {
    // cos (N,D/2), sin (N,D/2), inv_freq (D/2), pos (N)
    size_t half = D / 2;
    for (size_t n = 0; n < N; n++)
        for (size_t i = 0; i < half; i++) {
            float angle = inv_freq[i] * (float)pos[n];
            cos_[n * half + i] = (float)cos((double)angle);
            sin_[n * half + i] = (float)sin((double)angle);
        }
}

/* ==== Apply ============================================================== */

typedef struct rope_args {
    float *out;
    const float *x, *cos, *sin;
    size_t N, H, D;
    wd_rope_layout layout;
    float sign; /* +1 forward, -1 backward (rotate by -angle) */
    int accumulate;
} rope_args;

/* One head, HALF layout: the two halves are contiguous, so these loops
 * vectorize. sign is +1 (forward) or -1 (backward). */
static inline void rotate_half_head(float *out, const float *x, const float *cs,
                                    const float *sn,
                                    size_t half, float sign, int accumulate) {
    const float *xa = x, *xb = x + half;
    float *oa = out, *ob = out + half;
    if (accumulate) {
        for (size_t i = 0; i < half; i++) {
            float c = cs[i], s = sign * sn[i];
            oa[i] += xa[i] * c - xb[i] * s;
            ob[i] += xb[i] * c + xa[i] * s;
        }
    } else {
        for (size_t i = 0; i < half; i++) {
            float c = cs[i], s = sign * sn[i], a = xa[i], b = xb[i];
            oa[i] = a * c - b * s;
            ob[i] = b * c + a * s;
        }
    }
}

/* One head, INTERLEAVED layout: pairs (2i, 2i+1). */
static inline void rotate_pairs_head(float *out, const float *x, const float *cs,
                                     const float *sn,
                                     size_t half, float sign, int accumulate) {
    if (accumulate) {
        for (size_t i = 0; i < half; i++) {
            float c = cs[i], s = sign * sn[i];
            out[2 * i] += x[2 * i] * c - x[2 * i + 1] * s;
            out[2 * i + 1] += x[2 * i + 1] * c + x[2 * i] * s;
        }
    } else {
        for (size_t i = 0; i < half; i++) {
            float c = cs[i], s = sign * sn[i], a = x[2 * i], b = x[2 * i + 1];
            out[2 * i] = a * c - b * s;
            out[2 * i + 1] = b * c + a * s;
        }
    }
}

static void rope_task(void *p, int ith, int nth) {
    const rope_args *a = p;
    size_t half = a->D / 2, n0, n1;
    wd__split(a->N, ith, nth, &n0, &n1);
    for (size_t n = n0; n < n1; n++) {
        const float *cs = a->cos + n * half, *sn = a->sin + n * half;
        for (size_t h = 0; h < a->H; h++) {
            size_t off = (n * a->H + h) * a->D;
            /* each pair is read before it is written: out may equal x */
            if (a->layout == WD_ROPE_LAYOUT_HALF) {
                rotate_half_head(a->out + off, a->x + off, cs, sn, half, a->sign, a->accumulate);
            } else {
                rotate_pairs_head(a->out + off, a->x + off, cs, sn, half, a->sign, a->accumulate);
            }
        }
    }
}

void wd_op_rope_fwd(float *out, const float *x, const float *cos, const float *sin, size_t N,
                    size_t H, size_t D, wd_rope_layout layout, wd_threadpool *tp) {
    // out (N,H,D), x (N,H,D), cos (N,D/2), sin (N,D/2)
    rope_args a = {.out = out, .x = x, .cos = cos, .sin = sin, .N = N, .H = H, .D = D,
                   .layout = layout, .sign = 1.0f};
    wd__parallel_for(tp, rope_task, &a, N * H * D);
}

void wd_op_rope_bwd(float *dx, const float *dout, const float *cos, const float *sin, size_t N,
                    size_t H, size_t D, wd_rope_layout layout, wd_threadpool *tp) {
    // dx (N,H,D) +=, dout (N,H,D), cos (N,D/2), sin (N,D/2)
    rope_args a = {.out = dx, .x = dout, .cos = cos, .sin = sin, .N = N, .H = H, .D = D,
                   .layout = layout, .sign = -1.0f, .accumulate = 1};
    wd__parallel_for(tp, rope_task, &a, N * H * D);
}

/* The twins index each layout by its own formula, without the shared
 * stride trick above. */
static size_t pair_a(wd_rope_layout layout, size_t i, size_t D) {
    return layout == WD_ROPE_LAYOUT_HALF ? i : 2 * i;
}
static size_t pair_b(wd_rope_layout layout, size_t i, size_t D) {
    return layout == WD_ROPE_LAYOUT_HALF ? i + D / 2 : 2 * i + 1;
}

void wd_op_rope_fwd_ref(float *out, const float *x, const float *cos, const float *sin,
                        size_t N, size_t H, size_t D, wd_rope_layout layout) {
    // out (N,H,D), x (N,H,D), cos (N,D/2), sin (N,D/2)
    for (size_t n = 0; n < N; n++)
        for (size_t h = 0; h < H; h++)
            for (size_t i = 0; i < D / 2; i++) {
                size_t base = (n * H + h) * D, ja = base + pair_a(layout, i, D),
                       jb = base + pair_b(layout, i, D);
                double c = cos[n * (D / 2) + i], s = sin[n * (D / 2) + i];
                double xa = x[ja], xb = x[jb];
                out[ja] = (float)(xa * c - xb * s);
                out[jb] = (float)(xb * c + xa * s);
            }
}

void wd_op_rope_bwd_ref(float *dx, const float *dout, const float *cos, const float *sin,
                        size_t N, size_t H, size_t D, wd_rope_layout layout) {
    // dx (N,H,D) +=, dout (N,H,D), cos (N,D/2), sin (N,D/2)
    for (size_t n = 0; n < N; n++)
        for (size_t h = 0; h < H; h++)
            for (size_t i = 0; i < D / 2; i++) {
                size_t base = (n * H + h) * D, ja = base + pair_a(layout, i, D),
                       jb = base + pair_b(layout, i, D);
                double c = cos[n * (D / 2) + i], s = sin[n * (D / 2) + i];
                double ga = dout[ja], gb = dout[jb];
                dx[ja] += (float)(ga * c + gb * s);
                dx[jb] += (float)(gb * c - ga * s);
            }
}

/*
 * warden/ops.h - numerical kernels: forward/backward pairs over flat float
 * arrays, dtype conversions and the thread pool that splits their work.
 *
 * Conventions (llm.c style) that hold for every kernel below:
 *
 *   - Arguments: outputs first, then inputs, then sizes, then settings
 *     (eps, layout), then the thread pool. The first comment line of each
 *     kernel gives every array's shape; arrays are dense, row-major float32.
 *   - A forward caches what its backward needs (rstd, mean, probs); the
 *     caller owns those buffers and passes them back to the backward.
 *   - A backward ADDS into its gradients (dx += ..., dw += ...), so gradients
 *     from several uses of one tensor accumulate; zero them before a step.
 *     A gradient pointer documented as "may be NULL" skips that gradient.
 *   - Kernels never allocate, never print and never fail on their sizes:
 *     shapes are preconditions (the caller checked them when it planned its
 *     buffers). Only kernels that read indices from data (embedding ids,
 *     cross-entropy targets) check them and return a wd_status; on failure
 *     they write nothing.
 *   - Unless a kernel says "out may equal x", outputs must not overlap inputs.
 *   - Each fast kernel has a naive twin with the suffix _ref and the same
 *     arguments minus the pool: single-threaded, written straight from the
 *     formula, accumulating in double. It is the oracle of the tests; it is
 *     not meant to be fast.
 *
 * Threads. Row-parallel kernels take a `wd_threadpool *tp` as their last
 * argument; NULL runs the kernel on the calling thread. The pool is
 * persistent (workers sleep on a condition variable between calls, they do
 * not spin) and splits work explicitly: each of nth threads takes the
 * contiguous slice ith of the rows (or, for parameter gradients summed over
 * rows, of the columns, so no two threads write the same element and results
 * do not depend on the number of threads). Small inputs run on the calling
 * thread. A pool runs one kernel at a time: concurrent callers queue, and a
 * kernel started from inside a pool worker runs serially on that worker.
 *
 * BLAS. The matmul kernels call OpenBLAS, which keeps its own thread pool;
 * they take no wd_threadpool. Set its size with wd_blas_set_threads() (it
 * wraps openblas_set_num_threads; OPENBLAS_NUM_THREADS in the environment is
 * the default). Both pools sleep when idle, so a program can size them
 * independently; on a small machine give both the number of cores. Do not
 * call the matmul kernels from inside wd_threadpool work.
 */
#ifndef WARDEN_OPS_H
#define WARDEN_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "warden/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Threads ============================================================ */

typedef struct wd_threadpool wd_threadpool;

/* Starts a pool of n_threads threads counting the caller (n_threads - 1
 * workers are created; the thread that calls a kernel does a share of the
 * work). n_threads = 0 means the number of online CPUs. Returns WD_OK and
 * *out, owned by the caller (free with wd_threadpool_free); on failure
 * *out = NULL and WD_ERR_INVALID_ARG (n_threads < 0 or > 1024) or
 * WD_ERR_NOMEM / WD_ERR_INTERNAL (threads could not be created). */
wd_status wd_threadpool_new(int n_threads, wd_threadpool **out);

/* Stops and joins the workers and frees the pool. NULL is a no-op. Must not
 * be called while a kernel runs on the pool. */
void wd_threadpool_free(wd_threadpool *tp);

/* Returns the number of threads the pool splits work into (1 for NULL). */
int wd_threadpool_n_threads(const wd_threadpool *tp);

/* Sets the number of threads OpenBLAS uses for the matmul kernels
 * (n >= 1). */
void wd_blas_set_threads(int n);

/* Returns the number of threads OpenBLAS will use. */
int wd_blas_threads(void);

/* ==== Matmul (OpenBLAS sgemm) ============================================ */

/* out (N,OC) = x (N,C) @ w^T + bias; w (OC,C) is nn.Linear's weight as
 * Hugging Face stores it, bias (OC) may be NULL. Overwrites out. N = 1 goes
 * through sgemv. Every size must be <= INT_MAX (the BLAS interface). */
void wd_op_matmul_fwd(float *out, const float *x, const float *w, const float *bias,
                      size_t N, size_t C, size_t OC);
void wd_op_matmul_fwd_ref(float *out, const float *x, const float *w, const float *bias,
                          size_t N, size_t C, size_t OC);

/* The same product for a few rows (2 <= N <= WD_MATMUL_SMALL_N, e.g. the
 * short passes of a decoder over a judge's template tail): OpenBLAS's sgemm
 * packs the whole of w for every call, so at N = 2..12 it reads w at about
 * 4 GB/s against ~13 GB/s for one sgemv (bench/matmul). This kernel streams
 * each row of w once and takes its dot products with 4 rows of x per load
 * while the row is in L1, rows of w split over tp's threads: 1.1-2.5x the
 * speed of sgemm at N = 2..16 on a 2-core x86 (bench/matmul). Any N works. */
#define WD_MATMUL_SMALL_N 16
void wd_op_matmul_fwd_small(float *out, const float *x, const float *w, const float *bias,
                            size_t N, size_t C, size_t OC, wd_threadpool *tp);

/* dx (N,C) += dout (N,OC) @ w (OC,C); dw (OC,C) += dout^T @ x (N,C);
 * dbias (OC) += column sums of dout. dx, dw and dbias may each be NULL. */
void wd_op_matmul_bwd(float *dx, float *dw, float *dbias, const float *dout, const float *x,
                      const float *w, size_t N, size_t C, size_t OC);
void wd_op_matmul_bwd_ref(float *dx, float *dw, float *dbias, const float *dout,
                          const float *x, const float *w, size_t N, size_t C, size_t OC);

/* c (M,N) = a (M,K) @ b (K,N): the plain product (attention's probs @ V).
 * Overwrites c. */
void wd_op_matmul_nn(float *c, const float *a, const float *b, size_t M, size_t K, size_t N);
void wd_op_matmul_nn_ref(float *c, const float *a, const float *b, size_t M, size_t K,
                         size_t N);

/* ==== Embedding ========================================================== */

/* out (N,C) = rows ids (N) of w (V,C). Returns WD_ERR_RANGE (and writes
 * nothing) when an id is < 0 or >= V; WD_OK otherwise. */
wd_status wd_op_embedding_fwd(float *out, const int32_t *ids, const float *w, size_t N,
                              size_t C, size_t V, wd_threadpool *tp);
wd_status wd_op_embedding_fwd_ref(float *out, const int32_t *ids, const float *w, size_t N,
                                  size_t C, size_t V);

/* dw (V,C): row ids[n] += dout (N,C) row n (a scatter-add; repeated ids
 * accumulate). Same return codes as the forward. */
wd_status wd_op_embedding_bwd(float *dw, const float *dout, const int32_t *ids, size_t N,
                              size_t C, size_t V, wd_threadpool *tp);
wd_status wd_op_embedding_bwd_ref(float *dw, const float *dout, const int32_t *ids, size_t N,
                                  size_t C, size_t V);

/* ==== RMSNorm ============================================================ */

/* out (N,C), rstd (N) cache, x (N,C), w (C).
 * rstd = 1/sqrt(mean(x^2) + eps); out = (x * rstd) * w, computed in f32 like
 * Hugging Face's LlamaRMSNorm (mean accumulated in double). */
void wd_op_rmsnorm_fwd(float *out, float *rstd, const float *x, const float *w, size_t N,
                       size_t C, float eps, wd_threadpool *tp);
void wd_op_rmsnorm_fwd_ref(float *out, float *rstd, const float *x, const float *w, size_t N,
                           size_t C, float eps);

/* dx (N,C) +=, dw (C) += (dw may be NULL); dout, x (N,C), w (C), rstd (N). */
void wd_op_rmsnorm_bwd(float *dx, float *dw, const float *dout, const float *x, const float *w,
                       const float *rstd, size_t N, size_t C, wd_threadpool *tp);
void wd_op_rmsnorm_bwd_ref(float *dx, float *dw, const float *dout, const float *x,
                           const float *w, const float *rstd, size_t N, size_t C);

/* ==== LayerNorm ========================================================== */

/* out (N,C), mean (N) and rstd (N) caches, x (N,C), w (C), b (C) or NULL.
 * out = (x - mean) * rstd * w + b with the biased variance, as torch's
 * LayerNorm; mean and variance accumulated in double. */
void wd_op_layernorm_fwd(float *out, float *mean, float *rstd, const float *x, const float *w,
                         const float *b, size_t N, size_t C, float eps, wd_threadpool *tp);
void wd_op_layernorm_fwd_ref(float *out, float *mean, float *rstd, const float *x,
                             const float *w, const float *b, size_t N, size_t C, float eps);

/* dx (N,C) +=, dw (C) +=, db (C) += (dw and db may be NULL). */
void wd_op_layernorm_bwd(float *dx, float *dw, float *db, const float *dout, const float *x,
                         const float *w, const float *mean, const float *rstd, size_t N,
                         size_t C, wd_threadpool *tp);
void wd_op_layernorm_bwd_ref(float *dx, float *dw, float *db, const float *dout,
                             const float *x, const float *w, const float *mean,
                             const float *rstd, size_t N, size_t C);

/* ==== Softmax ============================================================ */

/* probs (N,C) = softmax of each row of x (N,C): max-subtracted, sum in
 * double. A row that is all -inf gives all zeros (not NaN). */
void wd_op_softmax_fwd(float *probs, const float *x, size_t N, size_t C, wd_threadpool *tp);
void wd_op_softmax_fwd_ref(float *probs, const float *x, size_t N, size_t C);

/* probs (B,T,C), x (B,T,C), T <= C: causal softmax for queries that are the
 * last T of C positions (a KV cache holding C - T earlier tokens): row t sees
 * columns 0 .. C-T+t and gets probability 0 on the others. */
void wd_op_softmax_causal_fwd(float *probs, const float *x, size_t B, size_t T, size_t C,
                              wd_threadpool *tp);
void wd_op_softmax_causal_fwd_ref(float *probs, const float *x, size_t B, size_t T, size_t C);

/* dx (N,C) += probs * (dprobs - sum(probs * dprobs)) for each row; serves
 * the causal forward too (masked probabilities are 0). */
void wd_op_softmax_bwd(float *dx, const float *dprobs, const float *probs, size_t N, size_t C,
                       wd_threadpool *tp);
void wd_op_softmax_bwd_ref(float *dx, const float *dprobs, const float *probs, size_t N,
                           size_t C);

/* ==== Rotary position embedding (RoPE) =================================== */

typedef enum wd_rope_layout {
    /* Hugging Face's rotate_half (GPT-NeoX): dimension i of a head pairs with
     * i + D/2, both rotated by frequency i. Llama, Mistral and Qwen2
     * checkpoints on the Hub use this. */
    WD_ROPE_LAYOUT_HALF = 0,
    /* Interleaved pairs (GPT-J, Meta's original Llama): 2i pairs with 2i+1,
     * rotated by frequency i. HF's conversion script turns Meta q/k weights
     * into the HALF layout by permuting each head's output rows:
     * half row s*D/2 + i = interleaved row 2i + s (s in {0,1}). */
    WD_ROPE_LAYOUT_INTERLEAVED = 1,
} wd_rope_layout;

/* The scaling kinds of config.json's rope_scaling.type (what
 * wd_model_config_rope_scaling names): NONE, LINEAR and LLAMA3 are computed
 * here; DYNAMIC (NTK, which depends on the sequence length) is not. */
typedef enum wd_rope_scaling {
    WD_ROPE_SCALING_NONE = 0, /* absent, null, or "default"          */
    WD_ROPE_SCALING_LINEAR,   /* positions divided by factor          */
    WD_ROPE_SCALING_DYNAMIC,  /* dynamic NTK                          */
    WD_ROPE_SCALING_LLAMA3,   /* Llama 3.1 frequency-band scaling     */
} wd_rope_scaling;

/* Static name: "none", "linear", "dynamic", "llama3" ("?" out of range). */
const char *wd_rope_scaling_name(wd_rope_scaling type);

typedef struct wd_rope_params {
    double          theta;           /* rope_theta (10000; 500000 for Llama 3) */
    int             head_dim;        /* rotated dimensions D per head (even)   */
    wd_rope_scaling scaling;
    double          factor;          /* linear and llama3                       */
    double          low_freq_factor; /* llama3                                  */
    double          high_freq_factor;/* llama3                                  */
    int             original_max_position_embeddings; /* llama3               */
} wd_rope_params;

/* theta 10000, head_dim 64, no scaling (factor 1, low 1, high 4, 8192). */
wd_rope_params wd_rope_params_default(void);

/* inv_freq (D/2) for p, following Hugging Face's _compute_default_rope_parameters
 * / _compute_linear_scaling_rope_parameters / _compute_llama3_parameters,
 * which work in float32: exponent 2i/D in f32, theta^exponent rounded to f32
 * (here computed in double, so it may differ from torch's powf by 1 ulp),
 * then every later step in f32. Returns WD_ERR_INVALID_ARG (writing nothing)
 * for D odd or < 2, theta <= 1, factor <= 0, or llama3 factors with
 * high <= low or original_max_position_embeddings <= 0, and
 * WD_ERR_UNSUPPORTED for WD_ROPE_SCALING_DYNAMIC. */
wd_status wd_rope_inv_freq(float *inv_freq, const wd_rope_params *p);

/* cos (N,D/2), sin (N,D/2), inv_freq (D/2), pos (N): angle = inv_freq[i] *
 * (float)pos[n] computed in f32 as HF does (it matters at large positions),
 * then cos/sin evaluated in double and rounded. */
void wd_rope_table(float *cos, float *sin, const float *inv_freq, const int32_t *pos, size_t N,
                   size_t D);

/* out (N,H,D), x (N,H,D), cos (N,D/2), sin (N,D/2): rotates each pair of
 * each head of row n by the angles of row n. out may equal x. */
void wd_op_rope_fwd(float *out, const float *x, const float *cos, const float *sin, size_t N,
                    size_t H, size_t D, wd_rope_layout layout, wd_threadpool *tp);
void wd_op_rope_fwd_ref(float *out, const float *x, const float *cos, const float *sin,
                        size_t N, size_t H, size_t D, wd_rope_layout layout);

/* dx (N,H,D) += dout rotated by the opposite angles (a rotation's transpose
 * is its inverse). */
void wd_op_rope_bwd(float *dx, const float *dout, const float *cos, const float *sin, size_t N,
                    size_t H, size_t D, wd_rope_layout layout, wd_threadpool *tp);
void wd_op_rope_bwd_ref(float *dx, const float *dout, const float *cos, const float *sin,
                        size_t N, size_t H, size_t D, wd_rope_layout layout);

/* ==== Activations (elementwise over n values; out may equal x) =========== */

/* silu(x) = x * sigmoid(x). */
void wd_op_silu_fwd(float *out, const float *x, size_t n, wd_threadpool *tp);
void wd_op_silu_fwd_ref(float *out, const float *x, size_t n);
/* dx (n) += dout * silu'(x). */
void wd_op_silu_bwd(float *dx, const float *dout, const float *x, size_t n, wd_threadpool *tp);
void wd_op_silu_bwd_ref(float *dx, const float *dout, const float *x, size_t n);

/* gelu(x) = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) (torch's default). */
void wd_op_gelu_fwd(float *out, const float *x, size_t n, wd_threadpool *tp);
void wd_op_gelu_fwd_ref(float *out, const float *x, size_t n);
void wd_op_gelu_bwd(float *dx, const float *dout, const float *x, size_t n, wd_threadpool *tp);
void wd_op_gelu_bwd_ref(float *dx, const float *dout, const float *x, size_t n);

/* gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
 * (torch approximate="tanh", HF "gelu_new" / "gelu_pytorch_tanh"). */
void wd_op_gelu_tanh_fwd(float *out, const float *x, size_t n, wd_threadpool *tp);
void wd_op_gelu_tanh_fwd_ref(float *out, const float *x, size_t n);
void wd_op_gelu_tanh_bwd(float *dx, const float *dout, const float *x, size_t n,
                         wd_threadpool *tp);
void wd_op_gelu_tanh_bwd_ref(float *dx, const float *dout, const float *x, size_t n);

/* out (n) = silu(gate (n)) * up (n): the Llama MLP's act(gate_proj) * up_proj.
 * out may equal gate or up. */
void wd_op_swiglu_fwd(float *out, const float *gate, const float *up, size_t n,
                      wd_threadpool *tp);
void wd_op_swiglu_fwd_ref(float *out, const float *gate, const float *up, size_t n);
/* dgate (n) +=, dup (n) += (either may be NULL). */
void wd_op_swiglu_bwd(float *dgate, float *dup, const float *dout, const float *gate,
                      const float *up, size_t n, wd_threadpool *tp);
void wd_op_swiglu_bwd_ref(float *dgate, float *dup, const float *dout, const float *gate,
                          const float *up, size_t n);

/* ==== Residual =========================================================== */

/* out (n) = a (n) + b (n). out may equal a or b. */
void wd_op_residual_fwd(float *out, const float *a, const float *b, size_t n, wd_threadpool *tp);
void wd_op_residual_fwd_ref(float *out, const float *a, const float *b, size_t n);
/* da (n) += dout, db (n) += dout (either may be NULL). */
void wd_op_residual_bwd(float *da, float *db, const float *dout, size_t n, wd_threadpool *tp);
void wd_op_residual_bwd_ref(float *da, float *db, const float *dout, size_t n);

/* ==== Cross-entropy ====================================================== */

/* Targets equal to this are skipped (torch's default ignore_index). */
#define WD_IGNORE_INDEX (-100)

/* losses (N), probs (N,V) or NULL, logits (N,V), targets (N).
 * losses[n] = logsumexp(logits[n]) - logits[n][targets[n]] (0 for a target
 * of WD_IGNORE_INDEX); probs = softmax(logits), kept for the backward.
 * Reduction (mean over the non-ignored rows, as torch does) is the caller's.
 * Returns WD_ERR_RANGE (writing nothing) when a target is neither
 * WD_IGNORE_INDEX nor in [0, V); WD_OK otherwise. */
wd_status wd_op_crossentropy_fwd(float *losses, float *probs, const float *logits,
                                 const int32_t *targets, size_t N, size_t V, wd_threadpool *tp);
wd_status wd_op_crossentropy_fwd_ref(float *losses, float *probs, const float *logits,
                                     const int32_t *targets, size_t N, size_t V);

/* dlogits (N,V) += (probs - onehot(target)) * dlosses[n], rows with
 * WD_IGNORE_INDEX untouched. For torch's mean reduction pass
 * dlosses[n] = 1 / (number of non-ignored rows). Same return codes. */
wd_status wd_op_crossentropy_bwd(float *dlogits, const float *dlosses, const float *probs,
                                 const int32_t *targets, size_t N, size_t V, wd_threadpool *tp);
wd_status wd_op_crossentropy_bwd_ref(float *dlogits, const float *dlosses, const float *probs,
                                     const int32_t *targets, size_t N, size_t V);

/* ==== Conversions (F16 / BF16 <-> F32) =================================== */

/* IEEE binary16 -> float32, exact for every value (subnormals, infinities);
 * NaNs stay NaN with their sign and payload, quietened (as F16C does).
 * Uses F16C when the CPU has it (checked at run time). */
void wd_f16_to_f32(float *out, const uint16_t *in, size_t n);
/* bfloat16 -> float32: exact (a 16-bit shift), NaN payloads kept. */
void wd_bf16_to_f32(float *out, const uint16_t *in, size_t n);
/* float32 -> binary16, rounding to nearest even; overflow gives +-inf,
 * tiny values round into subnormals or +-0; NaN stays a quiet NaN with its
 * sign and the top payload bits (as F16C does). */
void wd_f32_to_f16(uint16_t *out, const float *in, size_t n);
/* float32 -> bfloat16, rounding to nearest even; NaN becomes 0x7FC0 (as
 * torch does). */
void wd_f32_to_bf16(uint16_t *out, const float *in, size_t n);

/* Portable scalar twins (the reference for the tests). */
void wd_f16_to_f32_ref(float *out, const uint16_t *in, size_t n);
void wd_bf16_to_f32_ref(float *out, const uint16_t *in, size_t n);
void wd_f32_to_f16_ref(uint16_t *out, const float *in, size_t n);
void wd_f32_to_bf16_ref(uint16_t *out, const float *in, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* WARDEN_OPS_H */

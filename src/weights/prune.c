/*
 * weights/prune.c - `warden prune` (warden/weights.h): Wanda / Antidote /
 * random one-shot pruning of a decoder's linear layers.
 *
 *   model folder --wd_model_load--> calibration (prune_calib.c) --> norms (L, W)
 *   model folder --wd__rewrite--> out: each targeted tensor W (rows, cols)
 *        masked row by row (wd_prune_mask), W <- W * (1 - mask)
 *
 * With a base checkpoint (the model before the fine-tune) the scores and
 * the mask are computed on the fine-tune's update D = W - W_base and the
 * masked entries go back to the base's values exactly (W <- W - mask * D): the
 * pruning then touches only what the fine-tune learnt, as Antidote's
 * released code prunes the fine-tune's LoRA adapter rather than the
 * frozen weights.
 *
 * Invariants: exactly floor(ratio * cols) entries of every row of every
 * targeted tensor are zeroed, or with a base set to the base's values
 * (entries already equal count among them when the method picks them); every other tensor is written bit for bit (the
 * rewriter rounds F32 values back to their own dtype, which is exact);
 * everything that can be checked (ratio, targets, tensor names and
 * shapes, the calibration set) is checked before the output folder is
 * staged.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "base/rng.h"
#include "base/util.h"
#include "warden/checkpoint.h"
#include "warden/config.h"
#include "warden/model.h"
#include "warden/weights.h"
#include "weights/rewrite.h"

/* ==== names ================================================================ */

static const char *const TARGET_NAMES[WD_PRUNE_N_TARGETS] = {"q", "k", "v", "o", "gate", "up", "down"};
static const char *const TARGET_TENSORS[WD_PRUNE_N_TARGETS] = {
    "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
    "self_attn.o_proj.weight", "mlp.gate_proj.weight",    "mlp.up_proj.weight",
    "mlp.down_proj.weight"};
static const char *const METHOD_NAMES[] = {"wanda", "antidote", "random"};

wd_status wd_prune_method_parse(const char *s, wd_prune_method *out) {
    for (int i = 0; s && i < 3; i++)
        if (!strcasecmp(s, METHOD_NAMES[i])) {
            *out = (wd_prune_method)i;
            return WD_OK;
        }
    return wd__fail(WD_ERR_INVALID_ARG, "method: '%s' is not one of wanda, antidote, random", s ? s : "(null)");
}

const char *wd_prune_method_name(wd_prune_method m) {
    return (unsigned)m < 3 ? METHOD_NAMES[m] : "?";
}

const char *wd_prune_target_name(unsigned t) {
    for (int i = 0; i < WD_PRUNE_N_TARGETS; i++)
        if (t == 1u << i) return TARGET_NAMES[i];
    return "?";
}

/* One item of a target list: its bits, or 0. */
static unsigned target_bits(const char *s, size_t n) {
    static const struct { const char *name; unsigned bits; } GROUPS[] = {
        {"attn", WD_PRUNE_TARGET_Q | WD_PRUNE_TARGET_K | WD_PRUNE_TARGET_V | WD_PRUNE_TARGET_O},
        {"mlp", WD_PRUNE_TARGET_GATE | WD_PRUNE_TARGET_UP | WD_PRUNE_TARGET_DOWN},
        {"all", WD_PRUNE_TARGET_ALL}};
    for (int i = 0; i < WD_PRUNE_N_TARGETS; i++) {
        size_t k = strlen(TARGET_NAMES[i]);
        if ((n == k || (n == k + 5 && !strncmp(s + k, "_proj", 5))) && !strncmp(s, TARGET_NAMES[i], k))
            return 1u << i;
    }
    for (size_t i = 0; i < sizeof GROUPS / sizeof GROUPS[0]; i++)
        if (n == strlen(GROUPS[i].name) && !strncmp(s, GROUPS[i].name, n)) return GROUPS[i].bits;
    return 0;
}

wd_status wd_prune_targets_parse(const char *list, unsigned *out) {
    unsigned bits = 0;
    const char *s = list ? list : "";
    for (;;) {
        while (*s == ' ') s++;
        size_t n = strcspn(s, ",");
        size_t m = n;
        while (m && s[m - 1] == ' ') m--;
        unsigned b = m ? target_bits(s, m) : 0;
        if (!b)
            return wd__fail(WD_ERR_INVALID_ARG,
                            m ? "targets: unknown target '%.*s' (q, k, v, o, gate, up, down, attn, mlp, all)"
                              : "targets: empty item in '%.*s'",
                            m ? (int)m : (int)strlen(list ? list : ""), m ? s : (list ? list : ""));
        bits |= b;
        if (!s[n]) break;
        s += n + 1;
    }
    *out = bits;
    return WD_OK;
}

wd_prune_params wd_prune_params_default(void) {
    wd_prune_params p = {0};
    p.method = WD_PRUNE_METHOD_WANDA;
    p.targets = WD_PRUNE_TARGET_ALL;
    p.max_len = 512;
    p.seed = 1;
    return p;
}

void wd_prune_summary_free(wd_prune_summary *s) {
    if (!s) return;
    free(s->pruned);
    s->pruned = NULL;
}

/* ==== the mask ============================================================= */

typedef struct scored {
    double   s;
    uint32_t j;
} scored;

/* (score, column) ascending. */
static int by_score(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->s != y->s) return x->s < y->s ? -1 : 1;
    return x->j < y->j ? -1 : x->j > y->j;
}

wd_status wd_prune_mask(wd_prune_method method, double ratio, uint64_t seed, const float *w,
                        const double *norms, size_t rows, size_t cols, uint8_t *mask) {
    // w (rows, cols), norms (cols), mask (rows, cols)
    if (!(ratio > 0 && ratio < 1)) return wd__fail(WD_ERR_INVALID_ARG, "ratio: %g is not in (0, 1)", ratio);
    if ((unsigned)method > WD_PRUNE_METHOD_RANDOM) return wd__fail(WD_ERR_INVALID_ARG, "unknown pruning method");
    if (!mask || (method != WD_PRUNE_METHOD_RANDOM && (!w || !norms)))
        return wd__fail(WD_ERR_INVALID_ARG, "wd_prune_mask: NULL weights, norms or mask");
    if (cols > UINT32_MAX) return wd__fail(WD_ERR_RANGE, "wd_prune_mask: %zu columns", cols);
    size_t k = (size_t)floor(ratio * (double)cols);
    memset(mask, 0, rows * cols);
    if (!k || !rows) return WD_OK;
    scored *sc = malloc(cols * sizeof *sc);
    if (!sc) return wd__fail(WD_ERR_NOMEM, "out of memory");
    uint64_t rng = seed;
    for (size_t i = 0; i < rows; i++) {
        uint8_t *mi = mask + i * cols;
        for (size_t j = 0; j < cols; j++) sc[j].j = (uint32_t)j;
        if (method == WD_PRUNE_METHOD_RANDOM) {
            for (size_t t = 0; t < k; t++) { /* partial Fisher-Yates: sc[0..k) is the draw */
                size_t r = t + wd__rng_below(&rng, cols - t);
                scored tmp = sc[t];
                sc[t] = sc[r], sc[r] = tmp;
            }
        } else {
            /* ANTIDOTE sorts -S so that both take the first k in (key, column) order */
            double sign = method == WD_PRUNE_METHOD_ANTIDOTE ? -1.0 : 1.0;
            const float *wi = w + i * cols;
            for (size_t j = 0; j < cols; j++) sc[j].s = sign * fabs((double)wi[j]) * norms[j];
            qsort(sc, cols, sizeof *sc, by_score);
        }
        for (size_t t = 0; t < k; t++) mi[sc[t].j] = 1;
    }
    free(sc);
    return WD_OK;
}

/* ==== the checkpoint ======================================================= */

/* Target bit index of a tensor name "model.layers.L.<...>.weight", or -1. */
static int parse_target(const char *name, size_t *layer) {
    static const char pre[] = "model.layers.";
    if (strncmp(name, pre, sizeof pre - 1)) return -1;
    const char *s = name + sizeof pre - 1;
    char *end;
    if (*s < '0' || *s > '9') return -1;
    unsigned long l = strtoul(s, &end, 10);
    if (*end != '.') return -1;
    for (int t = 0; t < WD_PRUNE_N_TARGETS; t++)
        if (!strcmp(end + 1, TARGET_TENSORS[t])) {
            *layer = l;
            return t;
        }
    return -1;
}

typedef struct prune_job {
    const wd_prune_params *p;
    wd_checkpoint         *base;    /* params' base checkpoint, or NULL */
    float                 *delta;   /* (2, n): W - base, then base, of the current tensor */
    size_t                 delta_cap;
    const double          *norms;   /* (L, W), NULL for RANDOM */
    size_t                 W;
    size_t                 off[WD_PRUNE_N_TARGETS], width[WD_PRUNE_N_TARGETS];
    size_t                 n_layer, done, total;
    uint8_t               *mask;    /* grown to the largest tensor */
    size_t                 mask_cap;
    wd_prune_summary      *sum;
} prune_job;

/* The seed of layer l's target t for RANDOM: one stream per tensor. */
static uint64_t tensor_seed(uint64_t seed, size_t l, int t) {
    return seed ^ wd__mix64((uint64_t)l * 8 + (uint64_t)t + 1);
}

/* Checks a targeted tensor's shape against the norms' layout. */
static wd_status check_shape(const prune_job *j, const char *name, const int64_t *shape, int ndim,
                             size_t l, int t, wd__err *err) {
    if (ndim != 2 || shape[0] <= 0 || shape[1] <= 0)
        return wd__err_set(err, WD_ERR_FORMAT, "%s: expected a matrix", name);
    if (l >= j->n_layer) return wd__err_set(err, WD_ERR_FORMAT, "%s: layer %zu of %zu", name, l, j->n_layer);
    if (j->norms && (size_t)shape[1] != j->width[t])
        return wd__err_set(err, WD_ERR_FORMAT, "%s: %lld input columns, the model's %s input has %zu", name,
                           (long long)shape[1], TARGET_NAMES[t], j->width[t]);
    return WD_OK;
}

/* j->delta[0..n) = data - the base's tensor of the same name, j->delta[n..2n)
 * the base's values themselves (what masked entries become, exactly). */
static wd_status base_delta(prune_job *j, const char *name, const float *data, size_t n, wd__err *err) {
    const wd_tensor_info *b = wd_checkpoint_find(j->base, name);
    if (!b || b->n_elem != n)
        return wd__err_set(err, WD_ERR_FORMAT, "%s: %s in the base checkpoint", name, b ? "another shape" : "absent");
    if (2 * n > j->delta_cap) {
        free(j->delta);
        if (!(j->delta = malloc(2 * n * sizeof *j->delta)))
            return j->delta_cap = 0, wd__err_set(err, WD_ERR_NOMEM, "out of memory");
        j->delta_cap = 2 * n;
    }
    wd_status rc = wd_tensor_read_f32(b, j->delta + n, n);
    if (rc) return wd__err_take(err, rc);
    for (size_t i = 0; i < n; i++) j->delta[i] = data[i] - j->delta[n + i];
    return WD_OK;
}

static wd_status prune_tensor(void *user, const char *name, float *data, const int64_t *shape, int ndim,
                              wd__err *err) {
    prune_job *j = user;
    size_t l;
    int t = parse_target(name, &l);
    if (t < 0 || !(j->p->targets & (1u << t))) return WD_OK;
    wd_status rc = check_shape(j, name, shape, ndim, l, t, err);
    if (rc) return rc;
    size_t rows = (size_t)shape[0], cols = (size_t)shape[1];
    if (rows * cols > j->mask_cap) {
        free(j->mask);
        if (!(j->mask = malloc(rows * cols))) return j->mask_cap = 0, wd__err_set(err, WD_ERR_NOMEM, "out of memory");
        j->mask_cap = rows * cols;
    }
    const float *w = data;
    if (j->base && (rc = base_delta(j, name, data, rows * cols, err))) return rc;
    if (j->base) w = j->delta;
    const double *norms = j->norms ? j->norms + l * j->W + j->off[t] : NULL;
    rc = wd_prune_mask(j->p->method, j->p->ratio, tensor_seed(j->p->seed, l, t), w, norms, rows, cols, j->mask);
    if (rc) return wd__err_take(err, rc);
    uint64_t n = 0;
    for (size_t i = 0; i < rows * cols; i++)
        if (j->mask[i]) data[i] = j->base ? j->delta[rows * cols + i] : 0.0f, n++;
    j->sum->pruned[l * WD_PRUNE_N_TARGETS + (size_t)t] += n;
    j->sum->n_pruned += n;
    j->sum->n_target_weights += rows * cols;
    j->sum->n_tensors++;
    if (j->p->progress) j->p->progress(j->p->user, "prune", ++j->done, j->total);
    return WD_OK;
}

/* Before anything is written: the targeted tensors exist, are matrices of
 * the expected widths, and the layers they name. */
static wd_status precheck(const char *dir, prune_job *j) {
    wd_checkpoint *ck = NULL;
    wd_status rc = wd_checkpoint_open(dir, &ck);
    if (rc) return rc;
    size_t max_l = 0, found = 0;
    for (size_t i = 0; i < wd_checkpoint_n_tensors(ck); i++) {
        size_t l;
        int t = parse_target(wd_checkpoint_tensor(ck, i)->name, &l);
        if (t >= 0 && l + 1 > max_l) max_l = l + 1;
    }
    if (!j->n_layer) j->n_layer = max_l;
    for (size_t i = 0; i < wd_checkpoint_n_tensors(ck) && !rc; i++) {
        const wd_tensor_info *ti = wd_checkpoint_tensor(ck, i);
        size_t l;
        int t = parse_target(ti->name, &l);
        if (t < 0 || !(j->p->targets & (1u << t))) continue;
        wd__err err = {0};
        if ((rc = check_shape(j, ti->name, ti->shape, (int)ti->ndim, l, t, &err))) break;
        const wd_tensor_info *b = j->base ? wd_checkpoint_find(j->base, ti->name) : NULL;
        if (j->base && (!b || b->n_elem != ti->n_elem)) {
            rc = wd__fail(WD_ERR_FORMAT, "%s: %s in the base %s", ti->name, b ? "another shape" : "absent",
                          j->p->base);
            break;
        }
        found++;
    }
    wd_checkpoint_free(ck);
    if (!rc && !found)
        rc = wd__fail(WD_ERR_INVALID_ARG, "%s: no tensor matches the targets (model.layers.N.self_attn.q_proj.weight ...)",
                      dir);
    j->total = found;
    return rc;
}

/* The norms' column layout from the model's sizes (warden/model.h). */
static void layout(const wd_model *m, prune_job *j) {
    size_t C = wd_model_n_embd(m), W = wd_model_act_width(m);
    size_t I = (size_t)wd_model_config_intermediate_size(wd_model_get_config(m));
    size_t HD = W - 2 * C - I;
    size_t off[WD_PRUNE_N_TARGETS] = {0, 0, 0, C, C + HD, C + HD, 2 * C + HD};
    size_t wid[WD_PRUNE_N_TARGETS] = {C, C, C, HD, C, C, I};
    memcpy(j->off, off, sizeof off);
    memcpy(j->width, wid, sizeof wid);
    j->W = W;
    j->n_layer = wd_model_n_layer(m);
}

/* Loads the model and runs the calibration: j's layout and *norms. */
static wd_status calibrate(const char *dir, const wd_prune_params *p, prune_job *j, double **norms,
                           wd_prune_summary *sum) {
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = p->n_threads;
    mp.load_tokenizer = p->calib_ids == NULL;
    wd_model *m = NULL;
    wd_status rc = wd_model_load(dir, &mp, &m);
    if (rc) return rc;
    if (!wd_model_act_width(m)) {
        wd_model_free(m);
        return wd__fail(WD_ERR_INVALID_ARG, "%s: pruning needs a decoder (this model is an encoder)", dir);
    }
    layout(m, j);
    *norms = malloc(j->n_layer * j->W * sizeof **norms);
    if (!*norms) rc = wd__fail(WD_ERR_NOMEM, "out of memory");
    if (!rc) rc = wd_prune_act_norms(m, p, *norms, &sum->n_tokens, &sum->n_examples, &sum->n_cut);
    wd_model_free(m);
    return rc;
}

wd_status wd_prune(const char *model_dir, const char *out, const wd_prune_params *params,
                   wd_prune_summary *summary) {
    wd_prune_params p = params ? *params : wd_prune_params_default();
    if (summary) memset(summary, 0, sizeof *summary);
    if (!model_dir || !out) return wd__fail(WD_ERR_INVALID_ARG, "wd_prune: NULL model or output folder");
    if ((unsigned)p.method > WD_PRUNE_METHOD_RANDOM) return wd__fail(WD_ERR_INVALID_ARG, "unknown pruning method");
    if (p.ratio == 0) p.ratio = p.method == WD_PRUNE_METHOD_WANDA ? 0.5 : 0.1;
    if (!(p.ratio > 0 && p.ratio < 1)) return wd__fail(WD_ERR_INVALID_ARG, "ratio: %g is not in (0, 1)", p.ratio);
    if (!p.targets) p.targets = WD_PRUNE_TARGET_ALL;
    if (p.targets & ~(unsigned)WD_PRUNE_TARGET_ALL) return wd__fail(WD_ERR_INVALID_ARG, "targets: unknown bits");
    if (!p.max_len) p.max_len = 512;

    /* phi3 keeps q, k, v and gate, up in fused matrices that the per-target
     * names above never match: refused rather than left half pruned */
    wd_model_config *cfg = NULL;
    wd_status crc = wd_model_config_load(model_dir, &cfg);
    if (crc) return crc;
    bool fused = wd_model_config_fused_qkv(cfg);
    wd_model_config_free(cfg);
    if (fused)
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: pruning a model with fused qkv_proj / gate_up_proj (phi3) is not "
                        "supported", model_dir);

    wd_prune_summary sum = {0};
    sum.method = p.method, sum.ratio = p.ratio, sum.targets = p.targets;
    prune_job j = {.p = &p, .sum = &sum};
    double *norms = NULL;
    double t0 = wd__now_us();
    wd_status rc = WD_OK;
    if (p.method != WD_PRUNE_METHOD_RANDOM) rc = calibrate(model_dir, &p, &j, &norms, &sum);
    sum.calib_seconds = (wd__now_us() - t0) * 1e-6;
    j.norms = norms;
    if (!rc && p.base && (rc = wd_checkpoint_open(p.base, &j.base))) wd__err_prefix(rc, "base");
    if (!rc) rc = precheck(model_dir, &j);
    sum.n_layer = j.n_layer;
    if (!rc && !(sum.pruned = calloc(j.n_layer * WD_PRUNE_N_TARGETS + 1, sizeof *sum.pruned)))
        rc = wd__fail(WD_ERR_NOMEM, "out of memory");
    double t1 = wd__now_us();
    if (!rc) {
        wd__err err = {0};
        rc = wd__rewrite(model_dir, out, NULL, prune_tensor, &j, &err);
        if (rc) wd__fail(rc, "%s", wd__err_msg(&err));
    }
    sum.write_seconds = (wd__now_us() - t1) * 1e-6;
    free(norms);
    free(j.mask);
    free(j.delta);
    wd_checkpoint_free(j.base);
    if (rc || !summary) wd_prune_summary_free(&sum);
    else *summary = sum;
    return rc;
}

/*
 * weights/orthogonalize.c - directional ablation written into the weights
 * (wd_steer_ablate): r^ projected out of every matrix that writes to the
 * residual stream, so the stream never holds a component along r^.
 *
 *   embed_tokens (V, C)   each row e <- e - (e . r^) r^ (+ c r^, affine)
 *   o_proj, down_proj     (C, K): W <- W - r^ (r^T W), column by column
 *   o_proj.bias (C)       b <- b - (b . r^) r^
 *
 * The stream starts as an embedding row and only ever adds o_proj and
 * down_proj outputs (plus o_proj's bias), each now orthogonal to r^, so
 * its component along r^ is the embedding's: 0, or c for affine ablation
 * (the benign prompts' mean component); the norms read the stream but
 * write elsewhere. lm_head is left alone (it
 * reads the stream); a tied lm_head is the embedding and changes with it,
 * as in the authors' code.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "weights/rewrite.h"
#include "weights/steer.h"
#include "warden/checkpoint.h"
#include "warden/config.h"
#include "warden/model.h"

typedef struct ortho {
    const float *r; /* unit */
    float        c; /* the component embedding rows keep along r (affine), else 0 */
    size_t       C;
    size_t       n_changed;
} ortho;

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static wd_status project(void *user, const char *name, float *w, const int64_t *shape, int ndim,
                         wd__err *err) {
    ortho *o = user;
    size_t C = o->C;
    const float *r = o->r;
    bool rows = !strcmp(name, "model.embed_tokens.weight");
    bool cols = ends_with(name, ".self_attn.o_proj.weight") || ends_with(name, ".mlp.down_proj.weight");
    bool bias = ends_with(name, ".self_attn.o_proj.bias");
    if (!rows && !cols && !bias) return WD_OK;
    if ((rows && (ndim != 2 || (size_t)shape[1] != C)) || (cols && (ndim != 2 || (size_t)shape[0] != C)) ||
        (bias && (ndim != 1 || (size_t)shape[0] != C)))
        return wd__err_set(err, WD_ERR_FORMAT, "%s: shape does not match the direction's width %zu",
                           name, C);
    if (rows || bias) {
        size_t n = bias ? 1 : (size_t)shape[0];
        for (size_t i = 0; i < n; i++) {
            float *e = w + i * C;
            double d = 0;
            for (size_t c = 0; c < C; c++) d += (double)e[c] * r[c];
            double keep = rows ? o->c : 0.0;
            for (size_t c = 0; c < C; c++) e[c] -= (float)((d - keep) * r[c]);
        }
    } else {
        size_t K = (size_t)shape[1];
        double *d = calloc(K, sizeof *d);
        if (!d) return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
        for (size_t c = 0; c < C; c++)
            for (size_t k = 0; k < K; k++) d[k] += (double)r[c] * w[c * K + k];
        for (size_t c = 0; c < C; c++)
            for (size_t k = 0; k < K; k++) w[c * K + k] -= (float)(r[c] * d[k]);
        free(d);
    }
    o->n_changed++;
    return WD_OK;
}

wd_status wd_steer_ablate(const char *model, const char *path, int layer, bool affine, const char *out) {
    if (!model || !path || !out) return wd__fail(WD_ERR_INVALID_ARG, "steer --ablate: NULL argument");
    wd_model_config *cfg = NULL;
    char cfg_path[4096];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", model);
    wd_status rc = wd_model_config_load(cfg_path, &cfg);
    if (rc) return rc;
    size_t L = (size_t)wd_model_config_n_layer(cfg), C = (size_t)wd_model_config_hidden_size(cfg);
    bool tied = wd_model_config_tie_word_embeddings(cfg);
    wd_model_type type = wd_model_config_type(cfg);
    wd_model_config_free(cfg);
    /* Gemma normalizes o_proj's and down_proj's outputs before they reach
     * the stream, so projecting r^ out of those weights does not remove it */
    if (type == WD_MODEL_TYPE_GEMMA2 || type == WD_MODEL_TYPE_GEMMA3)
        return wd__fail(WD_ERR_UNSUPPORTED,
                        "%s: steer --ablate cannot write the ablation into a %s model (its "
                        "post-attention and post-feedforward norms rescale what o_proj and "
                        "down_proj write); steer at run time instead",
                        model, wd_model_type_name(type));
    /* granite scales embeddings by embedding_multiplier: the component an
     * embedding row keeps is not the stream's */
    if (affine && type == WD_MODEL_TYPE_GRANITE)
        return wd__fail(WD_ERR_UNSUPPORTED, "%s: affine ablation of a granite model "
                        "(embedding_multiplier) is not supported", model);
    wd_steer_result r;
    size_t which = 0;
    if ((rc = wd__steer_vector(path, layer, L, C, &r, &which))) return rc;
    float *u = malloc(C * sizeof *u);
    if (!u) {
        wd_steer_result_free(&r);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    double nn = r.layers[which].norm;
    for (size_t c = 0; c < C; c++) u[c] = (float)(r.dirs[which * C + c] / nn);
    /* the layout first: every tensor that writes to the stream must be
     * there, or the written model would be half ablated */
    wd_checkpoint *ck = NULL;
    size_t found = 0;
    if (!(rc = wd_checkpoint_open(model, &ck))) {
        for (size_t i = 0; i < wd_checkpoint_n_tensors(ck); i++) {
            const char *n = wd_checkpoint_tensor(ck, i)->name;
            found += !strcmp(n, "model.embed_tokens.weight") || ends_with(n, ".self_attn.o_proj.weight") ||
                     ends_with(n, ".mlp.down_proj.weight");
        }
        wd_checkpoint_free(ck);
        if (found != 1 + 2 * L)
            rc = wd__fail(WD_ERR_FORMAT, "%s: %zu of the %zu tensors that write to the residual stream "
                          "(embed_tokens, o_proj, down_proj) were found", model, found, 1 + 2 * L);
    }
    ortho o = {u, affine ? r.proj[1][which] : 0.0f, C, 0};
    /* a tied lm_head is untied first: it keeps the embedding's old values,
     * so the logits read the stream exactly as before */
    if (!rc && tied)
        rc = wd__rewrite_copy(model, out, "{\"tie_word_embeddings\": false}", project, &o,
                              "model.embed_tokens.weight", "lm_head.weight", NULL);
    else if (!rc)
        rc = wd__rewrite(model, out, NULL, project, &o, NULL);
    free(u);
    wd_steer_result_free(&r);
    return rc;
}

/*
 * weights/prune_calib.c - the calibration pass of `warden prune`
 * (wd_prune_act_norms, warden/weights.h): Wanda's activation norms
 * ||X_j||_2 of every linear layer's input, gathered by the runtime's taps.
 *
 * Each calibration sequence is decoded from an empty cache (one sequence,
 * no padding, no logits) with wd_taps.act_sq attached, which adds every
 * processed row's squared input columns, layer by layer; the norm is the
 * square root of the sum over all rows of all sequences. The sequences are
 * either given as ids or read from a prompt/response dataset through the
 * training examples reader (train/examples.h), so that the calibration
 * text is the model's chat exactly as `warden train sft` renders and cuts
 * it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "train/examples.h"
#include "warden/model.h"
#include "warden/weights.h"

/* The sequences to run, borrowed from params or read from its file. */
typedef struct calib_set {
    wd__examples ex;      /* when read from a file */
    size_t       n, n_cut;
} calib_set;

static wd_status calib_open(wd_model *m, const wd_prune_params *p, calib_set *cs) {
    memset(cs, 0, sizeof *cs);
    if (p->calib_ids) {
        if (!p->calib_off) return wd__fail(WD_ERR_INVALID_ARG, "calibration: calib_ids without calib_off");
        cs->n = p->n_calib_ids;
        return WD_OK;
    }
    if (!p->calib || !*p->calib)
        return wd__fail(WD_ERR_INVALID_ARG, "no calibration set: give a prompt/response file (--calib FILE)");
    const wd_tokenizer *tok = wd_model_tokenizer(m);
    if (!tok)
        return wd__fail(WD_ERR_INVALID_ARG, "%s: the model has no tokenizer to render the calibration set with",
                        p->calib);
    wd__examples_params ep = {0};
    ep.prompt_field = p->prompt_field;
    ep.response_field = p->response_field;
    ep.max_len = p->max_len;
    ep.limit = p->max_examples;
    wd__err err = {0};
    wd_status rc = wd__examples_read(p->calib, &ep, tok, &cs->ex, &err);
    if (rc) return wd__fail(rc, "%s", wd__err_msg(&err));
    if (!cs->ex.n) return wd__fail(WD_ERR_INVALID_ARG, "%s: no calibration examples", p->calib);
    cs->n = cs->ex.n;
    cs->n_cut = cs->ex.n_cut;
    return WD_OK;
}

/* Sequence s of the set: ids and length, cut to max_len. */
static void calib_seq(const calib_set *cs, const wd_prune_params *p, size_t s, const int32_t **ids,
                      size_t *n, bool *cut) {
    *cut = false;
    if (p->calib_ids) {
        *ids = p->calib_ids + p->calib_off[s];
        *n = p->calib_off[s + 1] - p->calib_off[s];
        if (p->max_len && *n > p->max_len) *n = p->max_len, *cut = true;
    } else {
        *ids = cs->ex.v[s].a.ids;
        *n = cs->ex.v[s].a.n;
    }
}

wd_status wd_prune_act_norms(wd_model *m, const wd_prune_params *params, double *norms,
                             uint64_t *n_tokens, size_t *n_examples, size_t *n_cut) {
    wd_prune_params p = params ? *params : wd_prune_params_default();
    if (!m || !norms) return wd__fail(WD_ERR_INVALID_ARG, "wd_prune_act_norms: NULL model or norms");
    size_t L = wd_model_n_layer(m), W = wd_model_act_width(m);
    if (!L || !W) return wd__fail(WD_ERR_INVALID_ARG, "pruning needs a decoder (this model is an encoder)");
    if (!p.max_len) p.max_len = 512;
    const wd_model_config *cfg = wd_model_get_config(m);
    size_t pos = (size_t)wd_model_config_max_position_embeddings(cfg);
    if (pos && p.max_len > pos) p.max_len = pos;

    calib_set cs;
    wd_status rc = calib_open(m, &p, &cs);
    if (rc) return rc;
    size_t n = cs.n;
    if (p.max_examples && n > p.max_examples) n = p.max_examples;
    if (!n) {
        wd__examples_free(&cs.ex);
        return wd__fail(WD_ERR_INVALID_ARG, "no calibration sequences");
    }
    size_t V = wd_model_n_vocab(m);
    wd_context_params cp = wd_context_params_default();
    cp.n_ctx = p.max_len;
    wd_context *ctx = NULL;
    if ((rc = wd_context_new(m, &cp, &ctx))) {
        wd__examples_free(&cs.ex);
        return wd__err_prefix(rc, "calibration context");
    }
    memset(norms, 0, L * W * sizeof *norms);
    wd_taps taps = {NULL, norms, 0}; /* sums of squares first, roots at the end */
    wd_context_set_taps(ctx, &taps);
    size_t ran = 0, cut_ids = 0;
    for (size_t s = 0; s < n && !rc; s++) {
        const int32_t *ids;
        size_t len;
        bool cut;
        calib_seq(&cs, &p, s, &ids, &len, &cut);
        cut_ids += cut;
        for (size_t t = 0; t < len && !rc; t++)
            if (ids[t] < 0 || (size_t)ids[t] >= V)
                rc = wd__fail(WD_ERR_INVALID_ARG, "calibration sequence %zu: token id %d outside the vocabulary (%zu)",
                              s, (int)ids[t], V);
        if (!rc && len) {
            rc = wd_context_truncate(ctx, 0);
            if (!rc) rc = wd_model_decode(ctx, ids, len, NULL, WD_LOGITS_MODE_NONE);
            if (rc) wd__err_prefix(rc, "calibration sequence %zu", s);
            ran++;
        }
        if (p.progress) p.progress(p.user, "calibrate", s + 1, n);
    }
    wd_context_free(ctx);
    size_t cut_total = p.calib_ids ? cut_ids : cs.n_cut;
    wd__examples_free(&cs.ex);
    if (rc) return rc;
    for (size_t i = 0; i < L * W; i++) norms[i] = sqrt(norms[i]);
    if (n_tokens) *n_tokens = taps.n_rows;
    if (n_examples) *n_examples = ran;
    if (n_cut) *n_cut = cut_total;
    return WD_OK;
}

/*
 * model/reward.c - the sequence-classification head of a decoder: reward
 * models as Hugging Face's LlamaForSequenceClassification (and the Mistral
 * and Qwen2 ones) write them, and as `warden train reward` saves them.
 *
 *     h      = rmsnorm(x) * model.norm of the LAST token       (C)
 *     scores = score.weight . h                                (num_labels)
 *
 * The checkpoint holds the decoder's model.* tensors and score.weight
 * (num_labels, C), no bias and no lm_head.weight. Hugging Face scores the
 * last non-pad token of each row; warden's input is one unpadded sequence,
 * so that is its last token. With one label the score is the reward (Llama
 * 2's ranking loss trains it; METHODS.md section 8).
 *
 * Such a model has no LM head: it cannot generate or give token logits,
 * and the runtime says so (wd__no_lm_head) instead of computing garbage.
 */
#include "model/model_internal.h"

void wd__decoder_head(const wd_model *m, const float *h, float *logits) {
    size_t C = m->C;
    for (size_t j = 0; j < m->n_labels; j++) {
        const float *w = m->head_out_w + j * C;
        double acc = 0.0;
        for (size_t c = 0; c < C; c++) acc += (double)w[c] * h[c];
        logits[j] = (float)acc;
    }
}

wd_status wd__no_lm_head(wd_model *m, const char *what) {
    return wd__err_set(&m->err, WD_ERR_UNSUPPORTED,
                       "%s: %s is a %s (a reward model / sequence classifier): it has no LM "
                       "head to give token logits or generate with; score sequences with "
                       "wd_model_reward (`warden sample --reward`)",
                       what, m->dir, m->cfg->architecture[0] ? m->cfg->architecture : "decoder");
}

wd_status wd_model_reward(wd_context *ctx, const int32_t *ids, size_t n, float *scores,
                          size_t n_labels) {
    if (!ctx || !ids || !scores)
        return wd__fail(WD_ERR_INVALID_ARG, "wd_model_reward: NULL argument");
    wd_model *m = ctx->m;
    if (m->head != WD_HEAD_SCORE)
        return wd__err_set(&m->err, WD_ERR_UNSUPPORTED,
                           "reward: %s is not a decoder with a sequence-classification head "
                           "(config.json 'architectures' must end in ForSequenceClassification, "
                           "with a score.weight tensor)",
                           m->dir);
    if (n_labels != m->n_labels)
        return wd__err_set(&m->err, WD_ERR_INVALID_ARG, "reward: n_labels %zu, the model has %zu",
                           n_labels, m->n_labels);
    if (n == 0 || n > ctx->n_ctx)
        return wd__err_set(&m->err, WD_ERR_RANGE, "reward: %zu tokens (the context holds 1..%zu)",
                           n, ctx->n_ctx);
    ctx->n_past = 0;
    ctx->has_logits = false;
    size_t T = 0;
    for (size_t done = 0; done < n; done += T) {
        T = n - done < ctx->n_batch ? n - done : ctx->n_batch;
        wd_status rc = wd_model_decode(ctx, ids + done, T, NULL, WD_LOGITS_MODE_NONE);
        if (rc) return rc;
    }
    /* the last chunk's final-normed rows are in xn: its row T-1 is the last token */
    wd__decoder_head(m, ctx->xn + (T - 1) * m->C, scores);
    return WD_OK;
}

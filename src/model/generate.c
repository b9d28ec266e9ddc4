/*
 * model/generate.c - autoregressive generation with a streaming callback.
 *
 *   prompt --(one batched prefill, logits of the last token)--> logits
 *   loop:  tok = sample(logits, history)     (sampling.c)
 *          report tok (and its text, when the model has a tokenizer)
 *          stop on: eos | stop string in the generated text | callback false
 *                   | max_tokens | a full context
 *          logits = decode(tok)               (one step through the KV cache)
 *
 * Stop strings are matched on the decoded text of the generated tokens
 * only (not the prompt), as a substring of everything generated so far; the
 * token that completes one is reported, then generation ends.
 */
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "model/model_internal.h"

#if defined(__has_include)
#if __has_include("warden/tokenizer.h")
#include "warden/tokenizer.h"
#define WD_HAVE_TOKENIZER 1
#endif
#endif

wd_generate_params wd_generate_params_default(void) {
    wd_generate_params p = {
        .max_tokens = 256,
        .sampler = wd_sampler_params_default(),
        .stop_at_eos = true,
        .stop = NULL,
        .n_stop = 0,
    };
    return p;
}

static bool is_eos(const wd_model_config *c, int32_t tok) {
    for (int i = 0; i < c->n_eos_token_ids; i++)
        if (c->eos_token_ids[i] == tok) return true;
    return false;
}

/* Text generated so far, for stop strings. */
wd_status wd_model_generate(wd_context *ctx, const int32_t *prompt, size_t n_prompt,
                            const wd_generate_params *params, wd_token_fn cb, void *user,
                            int32_t *out, size_t cap, size_t *n_out) {
    if (n_out) *n_out = 0;
    if (!ctx || !prompt || n_prompt == 0)
        return wd__fail(WD_ERR_INVALID_ARG, "wd_model_generate: empty prompt or NULL context");
    wd_model *m = ctx->m;
    if (wd__model_is_decoder(m) && !m->lm_head.data) return wd__no_lm_head(m, "generate");
    wd_generate_params p = params ? *params : wd_generate_params_default();
#ifndef WD_HAVE_TOKENIZER
    if (p.n_stop)
        return wd__err_set(&m->err, WD_ERR_UNSUPPORTED,
                           "generate: stop strings need a tokenizer (not built in)");
#else
    if (p.n_stop && !m->tok)
        return wd__err_set(&m->err, WD_ERR_INVALID_ARG,
                           "generate: stop strings need the model's tokenizer.json");
#endif
    wd_sampler *s = NULL;
    wd_status rc = wd_sampler_new(&p.sampler, m->V, &s);
    if (rc) return wd__err_take(&m->err, rc);
    int32_t *hist = malloc((ctx->n_ctx + 1) * sizeof *hist);
    wd__strbuf text = {0}; /* the generated text, for the stop strings */
#ifdef WD_HAVE_TOKENIZER
    wd_tokenizer_stream *ts = NULL;
    if (m->tok && (rc = wd_tokenizer_stream_new(m->tok, NULL, &ts))) {
        wd__err_take(&m->err, rc);
        goto done;
    }
#endif
    if (!hist) {
        rc = wd__err_set(&m->err, WD_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (n_prompt > ctx->n_ctx) {
        rc = wd__err_set(&m->err, WD_ERR_RANGE,
                         "generate: the prompt has %zu tokens, the context holds %zu", n_prompt,
                         ctx->n_ctx);
        goto done;
    }
    memcpy(hist, prompt, n_prompt * sizeof *hist);
    size_t nh = n_prompt, n_gen = 0;
    ctx->n_past = 0;
    ctx->has_logits = false;
    if ((rc = wd_model_decode(ctx, prompt, n_prompt, NULL, WD_LOGITS_MODE_NONE))) goto done;
    while (n_gen < p.max_tokens) {
        int32_t tok = wd_sampler_sample(s, ctx->logits, hist, nh);
        hist[nh++] = tok;
        if (out && n_gen < cap) out[n_gen] = tok;
        n_gen++;
        const char *piece = NULL;
        bool stop = false;
#ifdef WD_HAVE_TOKENIZER
        size_t plen = 0;
        if (ts && !wd_tokenizer_stream_push(ts, tok, &piece, &plen) && p.n_stop) {
            size_t before = text.n;
            wd__strbuf_add(&text, piece, plen);
            if (text.oom) {
                rc = wd__err_set(&m->err, WD_ERR_NOMEM, "out of memory");
                goto done;
            }
            for (size_t i = 0; i < p.n_stop && !stop; i++) {
                size_t ls = strlen(p.stop[i]);
                if (!ls) continue;
                size_t from = before >= ls ? before - ls + 1 : 0;
                if (text.n >= ls && strstr(text.p + from, p.stop[i])) stop = true;
            }
        }
#endif
        if (cb && !cb(tok, piece, user)) break;
        if (stop) break;
        if (p.stop_at_eos && is_eos(m->cfg, tok)) break;
        if (n_gen >= p.max_tokens || ctx->n_past >= ctx->n_ctx) break;
        if ((rc = wd_model_decode(ctx, &tok, 1, NULL, WD_LOGITS_MODE_NONE))) goto done;
    }
#ifdef WD_HAVE_TOKENIZER
    if (ts && cb) {
        const char *piece = NULL;
        size_t plen = 0;
        if (!wd_tokenizer_stream_flush(ts, &piece, &plen) && plen) cb(-1, piece, user);
    }
#endif
    if (n_out) *n_out = n_gen < cap || !out ? n_gen : cap;
    rc = WD_OK;
done:
#ifdef WD_HAVE_TOKENIZER
    wd_tokenizer_stream_free(ts);
#endif
    wd__strbuf_free(&text);
    free(hist);
    wd_sampler_free(s);
    return rc;
}

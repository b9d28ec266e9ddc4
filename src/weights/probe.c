/*
 * weights/probe.c - prompts in, residual streams and refusals out (see
 * probe.h). The rendering and the generation settings are `warden
 * redteam`'s (chat template from the tokenizer, greedy decoding, the
 * refusal phrase detector), so a rate measured here is the one the red
 * team reports for the same prompts.
 */
#include "weights/probe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "warden/chat.h"
#include "warden/config.h"
#include "warden/dataset.h"
#include "warden/redteam.h"
#include "warden/tokenizer.h"

wd_status wd__prompts_read(const char *path, size_t max, wd__prompts *out, wd__err *err) {
    *out = (wd__prompts){0};
    wd_dataset *ds = NULL;
    wd_status rc = wd_dataset_open(path, NULL, &ds);
    if (rc) return wd__err_take(err, rc);
    size_t cap = 0;
    for (;;) {
        const wd_dataset_item *it = NULL;
        if ((rc = wd_dataset_next(ds, &it))) {
            wd__err_set(err, rc, "%s", wd_dataset_last_error(ds));
            break;
        }
        if (!it || (max && out->n == max)) break;
        if (out->n == cap) {
            cap = cap ? 2 * cap : 64;
            char **t = realloc(out->text, cap * sizeof *t);
            if (!t) {
                rc = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
                break;
            }
            out->text = t;
        }
        if (!(out->text[out->n] = strdup(it->text))) {
            rc = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
            break;
        }
        out->n++;
    }
    wd_dataset_free(ds);
    if (!rc && out->n == 0) rc = wd__err_set(err, WD_ERR_INVALID_ARG, "%s: no prompts", path);
    if (rc) wd__prompts_free(out);
    return rc;
}

void wd__prompts_free(wd__prompts *p) {
    for (size_t i = 0; p && i < p->n; i++) free(p->text[i]);
    if (p) free(p->text);
    if (p) *p = (wd__prompts){0};
}

wd_status wd__probe_open(wd__probe *p, const char *dir, int n_threads, size_t n_ctx, wd__err *err) {
    *p = (wd__probe){0};
    wd_model_params mp = wd_model_params_default();
    mp.n_threads = n_threads;
    wd_status rc = wd_model_load(dir, &mp, &p->m);
    if (rc) return wd__err_take(err, rc);
    if (!wd_model_tokenizer(p->m)) {
        wd__probe_close(p);
        return wd__err_set(err, WD_ERR_INVALID_ARG, "%s: the model has no tokenizer.json", dir);
    }
    if (wd_model_act_width(p->m) == 0) {
        wd__probe_close(p);
        return wd__err_set(err, WD_ERR_UNSUPPORTED, "%s: an encoder; repair needs a decoder", dir);
    }
    wd_context_params cp = wd_context_params_default();
    size_t npos = (size_t)wd_model_config_max_position_embeddings(wd_model_get_config(p->m));
    cp.n_ctx = n_ctx ? n_ctx : (npos && npos < 1024 ? npos : 1024);
    if ((rc = wd_context_new(p->m, &cp, &p->ctx))) {
        wd__err_take(err, rc);
        wd__probe_close(p);
        return rc;
    }
    p->n_ctx = wd_context_n_ctx(p->ctx);
    p->chat = wd_chat_params_default();
    p->gen = wd_generate_params_default();
    p->gen.sampler.temperature = 0;
    p->r = (wd__responder){.ctx = p->ctx, .tok = wd_model_tokenizer(p->m), .chat = &p->chat, .gen = &p->gen};
    return WD_OK;
}

void wd__probe_close(wd__probe *p) {
    wd__responder_free(&p->r);
    wd_context_free(p->ctx);
    wd_model_free(p->m);
    *p = (wd__probe){0};
}

wd_status wd__probe_encode(wd__probe *p, const char *prompt, size_t *n, wd__err *err) {
    size_t need = 0;
    wd_status rc = wd__respond_encode(&p->r, prompt, &need);
    if (rc) return wd__err_take(err, rc);
    if (need == 0 || need >= p->n_ctx)
        return wd__err_set(err, WD_ERR_RANGE, "a prompt of %zu tokens does not fit the context of %zu",
                           need, p->n_ctx);
    *n = need;
    return WD_OK;
}

wd_status wd__probe_states(wd__probe *p, const wd__prompts *pr, float *states,
                           wd__probe_progress progress, void *user, wd__err *err) {
    size_t L = wd_model_n_layer(p->m), C = wd_model_n_embd(p->m);
    wd_taps taps = {0};
    wd_context_set_taps(p->ctx, &taps);
    wd_status rc = WD_OK;
    for (size_t i = 0; i < pr->n && !rc; i++) {
        size_t n = 0;
        if ((rc = wd__probe_encode(p, pr->text[i], &n, err))) break;
        taps.resid = states + i * (L + 1) * C;
        if ((rc = wd_context_truncate(p->ctx, 0)) ||
            (rc = wd_model_decode(p->ctx, p->r.ids, n, NULL, WD_LOGITS_MODE_NONE)))
            wd__err_take(err, rc);
        if (progress) progress(user, i + 1, pr->n);
    }
    wd_context_set_taps(p->ctx, NULL);
    return rc;
}

wd_status wd__probe_next(wd__probe *p, const wd__prompts *pr, float *probs, wd__err *err) {
    size_t V = wd_model_n_vocab(p->m);
    for (size_t i = 0; i < pr->n; i++) {
        size_t n = 0;
        wd_status rc = wd__probe_encode(p, pr->text[i], &n, err);
        if (rc) return rc;
        float *q = probs + i * V;
        if ((rc = wd_context_truncate(p->ctx, 0)) || (rc = wd_model_decode(p->ctx, p->r.ids, n, q, WD_LOGITS_MODE_LAST)))
            return wd__err_take(err, rc);
        float mx = -INFINITY;
        for (size_t v = 0; v < V; v++) mx = q[v] > mx ? q[v] : mx;
        double sum = 0;
        for (size_t v = 0; v < V; v++) sum += q[v] = expf(q[v] - mx);
        for (size_t v = 0; v < V; v++) q[v] = (float)(q[v] / sum);
    }
    return WD_OK;
}

static wd_status answers(wd__probe *p, const wd__prompts *pr, size_t max_tokens, wd_guard *judge, double *rate,
                         double *unsafe, wd__probe_progress progress, void *user, wd__err *err) {
    p->gen.max_tokens = max_tokens;
    size_t k = 0, bad = 0;
    wd_status rc = WD_OK;
    for (size_t i = 0; i < pr->n && !rc; i++) {
        char *resp = NULL;
        if ((rc = wd__respond(&p->r, pr->text[i], &resp))) {
            wd__err_take(err, rc);
            break;
        }
        k += wd_refusal_detect(resp, strlen(resp), 0, NULL);
        if (judge) {
            wd_check_params cp = wd_check_params_default();
            cp.role = WD_ROLE_OUTPUT;
            wd_verdict *v = NULL;
            if ((rc = wd_guard_check(judge, resp, strlen(resp), &cp, &v))) wd__err_take(err, rc);
            else bad += wd_verdict_unsafe(v);
            wd_verdict_free(v);
        }
        free(resp);
        if (progress) progress(user, i + 1, pr->n);
    }
    if (!rc) {
        *rate = pr->n ? (double)k / (double)pr->n : 0.0;
        if (unsafe) *unsafe = judge && pr->n ? (double)bad / (double)pr->n : NAN;
    }
    return rc;
}

wd_status wd__probe_refusals(wd__probe *p, const wd__prompts *pr, size_t max_tokens, double *rate,
                             wd__probe_progress progress, void *user, wd__err *err) {
    return answers(p, pr, max_tokens, NULL, rate, NULL, progress, user, err);
}

wd_status wd__probe_answers(wd__probe *p, const wd__prompts *pr, size_t max_tokens, wd_guard *judge,
                            double *refusal, double *unsafe, wd__probe_progress progress, void *user,
                            wd__err *err) {
    return answers(p, pr, max_tokens, judge, refusal, unsafe, progress, user, err);
}

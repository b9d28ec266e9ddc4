/*
 * train/distill.c - context distillation's data (Llama 2, METHODS.md
 * section 8): each prompt is answered by the starting model WITH a safety
 * preprompt as its system message, and the example it trains on is the
 * prompt WITHOUT the preprompt and that answer, so the model learns to
 * behave as if the preprompt were there. Greedy decoding; the answer ends
 * at the model's end of turn or after max_new tokens.
 */
#include "train/distill.h"

#include <stdlib.h>
#include <string.h>

#include "warden/dataset.h"

wd_status wd__distill_read(wd_model *m, const char *path, const wd__examples_params *ep,
                           const char *preprompt, size_t max_new, wd__examples *out,
                           wd__err *err) {
    memset(out, 0, sizeof *out);
    const wd_tokenizer *tok = wd_model_tokenizer(m);
    wd_dataset_params dp = wd_dataset_params_default();
    dp.text_field = ep->prompt_field ? ep->prompt_field : "prompt";
    wd_dataset *ds = NULL;
    wd_context *ctx = NULL;
    wd_status rc = wd_dataset_open(path, &dp, &ds);
    if (rc) return wd__err_take(err, rc);
    wd_context_params cp = wd_context_params_default();
    if ((rc = wd_context_new(m, &cp, &ctx))) {
        wd_dataset_free(ds);
        return wd__err_take(err, rc);
    }
    wd_generate_params gp = wd_generate_params_default();
    gp.max_tokens = max_new;
    gp.sampler.temperature = 0.0f;
    int32_t *gen = malloc((max_new ? max_new : 1) * sizeof *gen);
    if (!gen) rc = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    const wd_model_config *c = wd_model_get_config(m);
    wd__examples_params with = *ep; /* the preprompt as the system message */
    with.system = preprompt;
    while (!rc) {
        const wd_dataset_item *it = NULL;
        if ((rc = wd_dataset_next(ds, &it))) {
            wd__err_set(err, rc, "%s", wd_dataset_last_error(ds));
            break;
        }
        if (!it || (ep->limit && out->n == ep->limit)) break;
        wd__example *e = wd__examples_push(out, err);
        if (!e) {
            rc = WD_ERR_NOMEM;
            break;
        }
        int32_t *ids = NULL;
        size_t n = 0, n_gen = 0;
        if ((rc = wd__examples_render_ids(tok, &with, it->text, NULL, &ids, &n, err))) break;
        rc = wd_model_generate(ctx, ids, n, &gp, NULL, NULL, gen, max_new, &n_gen);
        free(ids);
        if (rc) {
            wd__err_prefix(rc, "%s: record %zu: generating", path, it->record + 1);
            wd__err_take(err, rc);
            break;
        }
        /* the end of turn is the template's, not part of the answer text */
        while (n_gen > 0) {
            bool eos = false;
            for (size_t k = 0; k < wd_model_config_n_eos_token_ids(c); k++)
                eos |= gen[n_gen - 1] == (int32_t)wd_model_config_eos_token_id(c, k);
            if (!eos) break;
            n_gen--;
        }
        char *answer = NULL;
        if ((rc = wd_tokenizer_decode(tok, gen, n_gen, NULL, &answer, NULL))) {
            wd__err_take(err, rc);
            break;
        }
        rc = answer[0] ? wd__examples_tokenize(tok, ep, it->text, answer, &e->a, err) : WD_OK;
        free(answer);
        if (rc) {
            wd__err_prefix(rc, "%s: record %zu", path, it->record + 1);
            wd__err_take(err, rc);
            break;
        }
        if (e->a.ids) { /* an empty answer teaches nothing */
            out->n_cut += wd__examples_cut(&e->a, ep->max_len);
            out->n++;
        }
    }
    free(gen);
    wd_context_free(ctx);
    wd_dataset_free(ds);
    if (!rc && out->n == 0) rc = wd__err_set(err, WD_ERR_FORMAT, "%s: no prompt got an answer", path);
    if (rc) wd__examples_free(out);
    return rc;
}

/*
 * weights/prune_calib.c - the calibration pass of `warden prune`
 * (wd_prune_act_norms, warden/weights.h): Wanda's activation norms
 * ||X_j||_2 of every linear layer's input, gathered by the runtime's taps.
 *
 * Each calibration sequence is decoded from an empty cache (one sequence,
 * no padding, no logits) with wd_taps.act_sq attached, which adds every
 * processed row's squared input columns, layer by layer; the norm is the
 * square root of the sum over all rows of all sequences. The sequences are
 * either given as ids or read from a prompt/response dataset (the one
 * dataset reader, warden/dataset.h) and rendered as `warden train sft`
 * renders a chat: the model's chat template (user turn, assistant turn, no
 * generation prompt) when the tokenizer has one it recognises, else
 * "prompt\nresponse" EOS with the tokenizer's special tokens. Sequences
 * longer than max_len keep their first max_len tokens.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "warden/chat.h"
#include "warden/dataset.h"
#include "warden/model.h"
#include "warden/tokenizer.h"
#include "warden/weights.h"

/* The sequences to run: borrowed from params, or read from its file into
 * ids/off. */
typedef struct calib_set {
    int32_t *ids;
    size_t  *off;            /* n + 1 offsets into ids */
    size_t   n, n_cut, cap, off_cap;
} calib_set;

static void calib_free(calib_set *cs) {
    free(cs->ids);
    free(cs->off);
    memset(cs, 0, sizeof *cs);
}

/* The text of one (prompt, response) chat, malloc'd; *special: whether the
 * tokenizer adds its special tokens (the plain form) or the template wrote
 * them. */
static wd_status render(const wd_tokenizer *tok, const char *prompt, const char *response, char **text,
                        bool *special) {
    wd_chat_params cp = wd_chat_params_default();
    *special = wd_chat_format_detect(wd_tokenizer_chat_template(tok)) == WD_CHAT_FORMAT_UNKNOWN;
    if (*special) { /* prompt "\n" response EOS */
        const char *eos = wd_tokenizer_special_str(tok, WD_SPECIAL_TOKEN_EOS);
        size_t n = strlen(prompt) + strlen(response) + (eos ? strlen(eos) : 0) + 2;
        if (!(*text = malloc(n))) return wd__fail(WD_ERR_NOMEM, "out of memory");
        snprintf(*text, n, "%s\n%s%s", prompt, response, eos ? eos : "");
        return WD_OK;
    }
    wd_chat_message msgs[2] = {{"user", prompt}, {"assistant", response}};
    cp.add_generation_prompt = false;
    wd_status rc = wd_chat_render_tok(tok, msgs, 2, &cp, text, NULL);
    return rc ? wd__err_prefix(rc, "chat template") : WD_OK;
}

/* Appends the tokens of text to cs as one more sequence, cut to max_len. */
static wd_status append(calib_set *cs, const wd_tokenizer *tok, const char *text, bool special, size_t max_len) {
    wd_encode_params ep = wd_encode_params_default();
    ep.add_special_tokens = special;
    size_t need = 0, have = cs->off_cap ? cs->off[cs->n] : 0;
    wd_status rc = wd_tokenizer_encode_ids(tok, text, strlen(text), &ep, NULL, 0, &need);
    if (rc && rc != WD_ERR_RANGE) return rc;
    if (have + need > cs->cap) {
        size_t cap = 2 * (have + need) + 256;
        int32_t *ids = realloc(cs->ids, cap * sizeof *ids);
        if (!ids) return wd__fail(WD_ERR_NOMEM, "out of memory");
        cs->ids = ids, cs->cap = cap;
    }
    if (cs->n + 2 > cs->off_cap) {
        size_t cap = 2 * cs->off_cap + 64;
        size_t *off = realloc(cs->off, cap * sizeof *off);
        if (!off) return wd__fail(WD_ERR_NOMEM, "out of memory");
        if (!cs->off_cap) off[0] = 0;
        cs->off = off, cs->off_cap = cap;
    }
    size_t got = 0;
    if ((rc = wd_tokenizer_encode_ids(tok, text, strlen(text), &ep, cs->ids + have, need, &got))) return rc;
    if (max_len && got > max_len) got = max_len, cs->n_cut++;
    cs->off[++cs->n] = have + got;
    return WD_OK;
}

/* Reads p->calib: every record's prompt and response, rendered and
 * tokenized. Errors name the file, the line (or record) and the field. */
static wd_status calib_read(const wd_tokenizer *tok, const wd_prune_params *p, calib_set *cs) {
    const char *pf = p->prompt_field ? p->prompt_field : "prompt";
    const char *rf = p->response_field ? p->response_field : "response";
    wd_dataset_params dp = wd_dataset_params_default();
    dp.text_field = pf;
    wd_dataset *ds = NULL;
    wd_status rc = wd_dataset_open(p->calib, &dp, &ds);
    if (rc) return rc;
    for (;;) {
        const wd_dataset_item *it = NULL;
        if ((rc = wd_dataset_next(ds, &it))) {
            wd__fail(rc, "%s", wd_dataset_last_error(ds));
            break;
        }
        if (!it || (p->max_examples && cs->n == p->max_examples)) break;
        char where[64];
        if (it->line) snprintf(where, sizeof where, "line %zu", it->line);
        else snprintf(where, sizeof where, "record %zu", it->record + 1);
        const char *response = wd_dataset_field(ds, rf);
        if (!response) {
            rc = wd__fail(WD_ERR_NOT_FOUND, "%s:%s: no field '%s' (the response)", p->calib, where, rf);
            break;
        }
        char *text = NULL;
        bool special = false;
        rc = render(tok, it->text, response, &text, &special);
        if (!rc) rc = append(cs, tok, text, special, p->max_len);
        free(text);
        if (rc) {
            wd__err_prefix(rc, "%s:%s", p->calib, where);
            break;
        }
    }
    wd_dataset_free(ds);
    if (!rc && !cs->n) rc = wd__fail(WD_ERR_INVALID_ARG, "%s: no calibration examples", p->calib);
    return rc;
}

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
    wd_status rc = calib_read(tok, p, cs);
    if (rc) calib_free(cs);
    return rc;
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
        *ids = cs->ids + cs->off[s];
        *n = cs->off[s + 1] - cs->off[s];
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
        calib_free(&cs);
        return wd__fail(WD_ERR_INVALID_ARG, "no calibration sequences");
    }
    size_t V = wd_model_n_vocab(m);
    wd_context_params cp = wd_context_params_default();
    cp.n_ctx = p.max_len;
    wd_context *ctx = NULL;
    if ((rc = wd_context_new(m, &cp, &ctx))) {
        calib_free(&cs);
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
    calib_free(&cs);
    if (rc) return rc;
    for (size_t i = 0; i < L * W; i++) norms[i] = sqrt(norms[i]);
    if (n_tokens) *n_tokens = taps.n_rows;
    if (n_examples) *n_examples = ran;
    if (n_cut) *n_cut = cut_total;
    return WD_OK;
}

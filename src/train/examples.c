/*
 * train/examples.c - datasets into tokenized training sequences with a
 * prompt mask (see examples.h).
 */
#include "train/examples.h"

#include <stdlib.h>
#include <string.h>

#include "warden/dataset.h"

static wd_status encode(const wd_tokenizer *tok, const char *text, bool special, int32_t **ids,
                        size_t *n, wd__err *err) {
    wd_encode_params ep = wd_encode_params_default();
    ep.add_special_tokens = special;
    size_t need = 0;
    wd_status rc = wd_tokenizer_encode_ids(tok, text, strlen(text), &ep, NULL, 0, &need);
    if (rc && rc != WD_ERR_RANGE) return wd__err_take(err, rc);
    *ids = malloc((need ? need : 1) * sizeof **ids);
    if (!*ids) return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    if ((rc = wd_tokenizer_encode_ids(tok, text, strlen(text), &ep, *ids, need, n))) {
        free(*ids);
        *ids = NULL;
        return wd__err_take(err, rc);
    }
    return WD_OK;
}

/* The two texts: prompt with the assistant header, and the whole chat. */
static wd_status render(const wd_tokenizer *tok, const wd__examples_params *p, const char *prompt,
                        const char *response, char **head, char **full, bool *special,
                        wd__err *err) {
    bool plain = p->chat_format && strcmp(p->chat_format, "none") == 0;
    wd_chat_params cp = wd_chat_params_default();
    if (!plain && p->chat_format && wd_chat_format_parse(p->chat_format, &cp.format))
        return wd__err_take(err, WD_ERR_INVALID_ARG);
    if (!plain && cp.format == WD_CHAT_FORMAT_UNKNOWN &&
        wd_chat_format_detect(wd_tokenizer_chat_template(tok)) == WD_CHAT_FORMAT_UNKNOWN)
        plain = true;
    *special = plain;
    if (plain) {
        /* [system "\n"] prompt "\n" response EOS */
        const char *eos = wd_tokenizer_special_str(tok, WD_SPECIAL_TOKEN_EOS);
        const char *sys = p->system ? p->system : "";
        size_t a = strlen(sys) + 1 + strlen(prompt) + 2, b = strlen(response) + (eos ? strlen(eos) : 0);
        *head = malloc(a);
        *full = malloc(a + b);
        if (!*head || !*full) return wd__err_set(err, WD_ERR_NOMEM, "out of memory");
        snprintf(*head, a, "%s%s%s\n", sys, p->system ? "\n" : "", prompt);
        snprintf(*full, a + b, "%s%s%s", *head, response, eos ? eos : "");
        return WD_OK;
    }
    wd_chat_message msgs[3];
    size_t n = 0;
    if (p->system) msgs[n++] = (wd_chat_message){"system", p->system};
    msgs[n++] = (wd_chat_message){"user", prompt};
    msgs[n] = (wd_chat_message){"assistant", response};
    cp.add_generation_prompt = true;
    wd_status rc = wd_chat_render_tok(tok, msgs, n, &cp, head, NULL);
    cp.add_generation_prompt = false;
    if (!rc) rc = wd_chat_render_tok(tok, msgs, n + 1, &cp, full, NULL);
    if (rc) return wd__err_prefix(rc, "chat template"), wd__err_take(err, rc);
    return WD_OK;
}

wd_status wd__examples_tokenize(const wd_tokenizer *tok, const wd__examples_params *p,
                                const char *prompt, const char *response, wd__seq *out,
                                wd__err *err) {
    char *head = NULL, *full = NULL;
    bool special = false;
    int32_t *hid = NULL;
    size_t nh = 0;
    *out = (wd__seq){0};
    wd_status rc = render(tok, p, prompt, response, &head, &full, &special, err);
    if (!rc) rc = encode(tok, head, special, &hid, &nh, err);
    if (!rc) rc = encode(tok, full, special, &out->ids, &out->n, err);
    if (!rc) {
        size_t k = 0;
        while (k < nh && k < out->n && hid[k] == out->ids[k]) k++;
        out->n_prompt = k;
        if (k >= out->n)
            rc = wd__err_set(err, WD_ERR_FORMAT, "the response adds no tokens to the prompt");
    }
    free(head), free(full), free(hid);
    if (rc) free(out->ids), *out = (wd__seq){0};
    return rc;
}

wd_status wd__examples_render_ids(const wd_tokenizer *tok, const wd__examples_params *p,
                                  const char *prompt, const char *response, int32_t **ids,
                                  size_t *n, wd__err *err) {
    char *head = NULL, *full = NULL;
    bool special = false;
    *ids = NULL, *n = 0;
    wd_status rc = render(tok, p, prompt, response ? response : "", &head, &full, &special, err);
    if (!rc) rc = encode(tok, response ? full : head, special, ids, n, err);
    free(head), free(full);
    return rc;
}

bool wd__examples_cut(wd__seq *s, size_t max_len) {
    if (!max_len || s->n <= max_len) return false;
    if (s->n_prompt + 1 > max_len) {
        size_t drop = s->n_prompt + 1 - max_len;
        memmove(s->ids, s->ids + drop, (s->n - drop) * sizeof *s->ids);
        s->n -= drop, s->n_prompt -= drop;
    }
    s->n = max_len;
    return true;
}

wd__example *wd__examples_push(wd__examples *e, wd__err *err) {
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 256;
        wd__example *v = realloc(e->v, cap * sizeof *v);
        if (!v) return wd__err_set(err, WD_ERR_NOMEM, "out of memory"), NULL;
        e->v = v, e->cap = cap;
    }
    wd__example *x = &e->v[e->n];
    memset(x, 0, sizeof *x);
    return x;
}

static const char *need(wd_dataset *ds, const char *field, wd_status *rc, wd__err *err) {
    const char *v = wd_dataset_field(ds, field);
    if (!v && !*rc)
        *rc = wd__err_set(err, WD_ERR_NOT_FOUND, "no field '%s'", field);
    return v;
}

wd_status wd__examples_read(const char *path, const wd__examples_params *p,
                            const wd_tokenizer *tok, wd__examples *out, wd__err *err) {
    memset(out, 0, sizeof *out);
    const char *pf = p->prompt_field ? p->prompt_field : "prompt";
    wd_dataset_params dp = wd_dataset_params_default();
    dp.text_field = pf;
    wd_dataset *ds = NULL;
    wd_status rc = wd_dataset_open(path, &dp, &ds);
    if (rc) return wd__err_take(err, rc);
    for (;;) {
        const wd_dataset_item *it = NULL;
        if ((rc = wd_dataset_next(ds, &it))) {
            wd__err_set(err, rc, "%s", wd_dataset_last_error(ds));
            break;
        }
        if (!it || (p->limit && out->n == p->limit)) break;
        wd__example *e = wd__examples_push(out, err);
        if (!e) {
            rc = WD_ERR_NOMEM;
            break;
        }
        size_t rec = it->record;
        const char *prompt = it->text;
        /* a field's string may not outlive the next field read: each is
         * tokenized before the next is fetched */
        const char *fa = p->pairs ? (p->chosen_field ? p->chosen_field : "chosen")
                                  : (p->response_field ? p->response_field : "response");
        const char *fb = p->pairs ? (p->rejected_field ? p->rejected_field : "rejected")
                                  : p->away_field;
        const char *va = need(ds, fa, &rc, err);
        if (!rc) rc = wd__examples_tokenize(tok, p, prompt, va, &e->a, err);
        const char *vb = !rc && fb ? need(ds, fb, &rc, err) : NULL;
        if (!rc && vb) rc = wd__examples_tokenize(tok, p, prompt, vb, &e->b, err);
        if (p->pairs) {
            if (!rc && p->margin_field) {
                const char *mv = wd_dataset_field(ds, p->margin_field);
                char *end = NULL;
                e->margin = mv ? strtof(mv, &end) : 0.0f;
                if (mv && (end == mv || *end))
                    rc = wd__err_set(err, WD_ERR_FORMAT, "%s: record %zu: field '%s': '%s' is not a number",
                                     path, rec + 1, p->margin_field, mv);
            }
        }
        if (rc) {
            wd__err_prefix(rc, "%s: record %zu", path, rec + 1);
            wd__err_take(err, rc);
            free(e->a.ids), free(e->b.ids);
            break;
        }
        out->n_cut += wd__examples_cut(&e->a, p->max_len);
        if (e->b.ids) out->n_cut += wd__examples_cut(&e->b, p->max_len);
        out->n++;
    }
    wd_dataset_free(ds);
    if (!rc && out->n == 0) rc = wd__err_set(err, WD_ERR_FORMAT, "%s: no examples", path);
    if (rc) wd__examples_free(out);
    return rc;
}

void wd__examples_free(wd__examples *e) {
    for (size_t i = 0; i < e->n; i++) free(e->v[i].a.ids), free(e->v[i].b.ids);
    free(e->v);
    memset(e, 0, sizeof *e);
}

/*
 * eval/respond.c - a target model answering one prompt (see respond.h).
 */
#include "eval/respond.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "warden/tokenizer.h"

wd_status wd__respond_encode(wd__responder *r, const char *prompt, size_t *n) {
    wd_chat_message msgs[2];
    size_t nm = 0;
    if (r->system) msgs[nm++] = (wd_chat_message){"system", r->system};
    msgs[nm++] = (wd_chat_message){"user", prompt};
    char *rendered;
    size_t rlen;
    wd_status st = wd_chat_render_tok(r->tok, msgs, nm, r->chat, &rendered, &rlen);
    if (st) return st;
    size_t need = 0;
    wd_encode_params ep = wd_encode_params_default();
    st = wd_tokenizer_encode_ids(r->tok, rendered, rlen, &ep, r->ids, r->cap_ids, &need);
    if (st == WD_ERR_RANGE && need > r->cap_ids) {
        int32_t *ni = realloc(r->ids, need * sizeof *ni);
        if (!ni) {
            free(rendered);
            return wd__fail(WD_ERR_NOMEM, "out of memory");
        }
        r->ids = ni;
        r->cap_ids = need;
        st = wd_tokenizer_encode_ids(r->tok, rendered, rlen, &ep, r->ids, r->cap_ids, &need);
    }
    free(rendered);
    if (!st) *n = need;
    return st;
}

wd_status wd__respond(wd__responder *r, const char *prompt, char **response) {
    *response = NULL;
    size_t need = 0, max = r->gen->max_tokens ? r->gen->max_tokens : 1;
    wd_status st = wd__respond_encode(r, prompt, &need);
    if (st) return st;
    if (need + 1 >= wd_context_n_ctx(r->ctx)) { /* no room to answer: an empty response */
        *response = strdup("");
        return *response ? WD_OK : wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    if (max > r->cap_out) {
        int32_t *no = realloc(r->out, max * sizeof *no);
        if (!no) return wd__fail(WD_ERR_NOMEM, "out of memory");
        r->out = no;
        r->cap_out = max;
    }
    size_t n_out = 0;
    st = wd_model_generate(r->ctx, r->ids, need, r->gen, NULL, NULL, r->out, max, &n_out);
    if (st) return st;
    wd_decode_params dp = wd_decode_params_default();
    dp.skip_special_tokens = true;
    return wd_tokenizer_decode(r->tok, r->out, n_out, &dp, response, NULL);
}

void wd__responder_free(wd__responder *r) {
    free(r->ids);
    free(r->out);
    r->ids = r->out = NULL;
    r->cap_ids = r->cap_out = 0;
}

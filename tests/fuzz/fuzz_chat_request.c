/*
 * tests/fuzz/fuzz_chat_request.c - the gateway's request parser
 * (serve/chat_request.c) on arbitrary bytes; the first byte picks the chat
 * or the legacy completions shape. Invariants: it accepts or answers 400
 * with a JSON error naming a code; an accepted request has 1 to max
 * messages, each with a known role and a NUL-terminated text of its
 * stated length, sane sampling fields, and a completion and a chunk built
 * from it print as valid JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "serve/chat_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    bool legacy = data[0] & 1;
    wd__chat_req rq;
    wd__answer a = {0};
    if (!wd__chat_req_parse((const char *)data + 1, size - 1, legacy, 8, &rq, &a)) {
        if (a.status != 400 && a.status != 500) abort();
        cJSON *e = a.body ? cJSON_ParseWithLength(a.body, a.len) : NULL;
        const cJSON *code = cJSON_GetObjectItem(cJSON_GetObjectItem(e, "error"), "code");
        if (!cJSON_IsString(code)) abort();
        cJSON_Delete(e);
        free(a.body);
        wd__chat_req_free(&rq);
        return 0;
    }
    if (rq.n_msgs < 1 || rq.n_msgs > 8 || rq.n < 1 || rq.n > 16 || rq.max_tokens < 0) abort();
    if ((rq.temperature >= 0 && rq.temperature > 2) || (rq.top_p >= 0 && rq.top_p > 1)) abort();
    for (size_t i = 0; i < rq.n_msgs; i++) {
        if (!rq.msgs[i].role || !rq.msgs[i].text || strlen(rq.msgs[i].text) != rq.msgs[i].len) abort();
    }
    cJSON *c = wd__chat_completion_new(&rq, "id", NULL, rq.msgs[0].text, "stop");
    cJSON *k = wd__chat_chunk_new(&rq, "id", NULL, 1, 0, "assistant", rq.msgs[rq.n_msgs - 1].text, NULL);
    wd__answer b = {0};
    wd__answer_json(&b, 200, c);
    cJSON *back = cJSON_ParseWithLength(b.body, b.len);
    if (!back || strcmp(wd__chat_choice_text(back, 0, legacy), rq.msgs[0].text)) {
        /* the printer replaces invalid UTF-8, so only valid text round-trips */
        bool ascii = true;
        for (size_t j = 0; j < rq.msgs[0].len; j++) ascii &= (unsigned char)rq.msgs[0].text[j] < 0x80;
        if (!back || ascii) abort();
    }
    cJSON_Delete(back);
    free(b.body);
    int index;
    const char *finish;
    const char *t = wd__chat_chunk_text(k, &index, &finish, legacy);
    if (!t || index != 0 || finish) abort();
    cJSON_Delete(k);
    wd__chat_req_free(&rq);
    return 0;
}

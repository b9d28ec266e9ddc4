/*
 * text/vocab.c - the vocabulary of a tokenizer model: token string <-> id,
 * shared by the three models (bpe.c, wordpiece.c, unigram.c fill it and look
 * tokens up in it) and by the tokenizer (tokenizer.c maps ids back to
 * strings and answers wd_tokenizer_token_to_id).
 *
 * Ids index a table of n entries (an entry with s == NULL is an id no token
 * has); strings live in the tokenizer's arena and the hash map points into
 * them. tokenizer.json writes a vocabulary in two forms: an object
 * {token: id} (BPE, WordPiece; parsed here) and Unigram's array of
 * [piece, score] pairs (parsed by unigram.c, which adds its pieces here).
 */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "text/tok_internal.h"

wd_status wd__vocab_init(wd__vocab *v, size_t n_ids, size_t n_tokens) {
    v->tok = calloc(n_ids ? n_ids : 1, sizeof *v->tok);
    if (!v->tok) return WD_ERR_NOMEM;
    v->n = n_ids;
    return wd__strmap_init(&v->map, n_tokens);
}

wd_status wd__vocab_add(wd__vocab *v, wd__arena *a, const char *s, size_t len, int64_t id,
                        const char *where) {
    if (id < 0 || (size_t)id >= v->n)
        return wd__fail(WD_ERR_FORMAT, "%s: model.vocab: id %lld out of range", where, (long long)id);
    char *c = wd__arena_strndup(a, s, len);
    if (!c) return WD_ERR_NOMEM;
    v->tok[id] = (wd__tokstr){c, (uint32_t)len};
    return wd__strmap_put(&v->map, c, len, (int32_t)id);
}

void wd__vocab_free(wd__vocab *v) {
    wd__strmap_free(&v->map);
    free(v->tok);
    memset(v, 0, sizeof *v);
}

wd_status wd__vocab_parse_object(const cJSON *j, const char *where, wd__arena *a, wd__vocab *v) {
    if (!cJSON_IsObject(j))
        return wd__fail(WD_ERR_FORMAT, "%s: model.vocab: expected an object {token: id}, got %s",
                        where, wd__json_type_name(j));
    int64_t max_id = -1;
    size_t count = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, j) {
        int64_t id;
        if (!wd__json_is_int(it, &id) || id < 0 || id > INT32_MAX - 1)
            return wd__fail(WD_ERR_FORMAT, "%s: model.vocab['%s']: expected an id in [0, 2^31), got %s",
                            where, it->string ? it->string : "", wd__json_type_name(it));
        if (id > max_id) max_id = id;
        count++;
    }
    /* Ids index a table of max_id + 1 entries: bound them by the number of
     * tokens, so a 1 KB file cannot ask for gigabytes (HF vocabularies are
     * dense: the ids are 0 .. count - 1). */
    if (max_id >= 0 && (uint64_t)max_id >= count) {
        cJSON_ArrayForEach(it, j) {
            int64_t id;
            wd__json_is_int(it, &id);
            if ((uint64_t)id >= count)
                return wd__fail(WD_ERR_FORMAT,
                                "%s: model.vocab['%s']: id %lld is out of range: the vocabulary "
                                "has %zu tokens, so ids are below %zu",
                                where, it->string ? it->string : "", (long long)id, count, count);
        }
    }
    wd_status st = wd__vocab_init(v, (size_t)(max_id + 1), count);
    cJSON_ArrayForEach(it, j) {
        if (st) break;
        int64_t id;
        wd__json_is_int(it, &id);
        st = wd__vocab_add(v, a, it->string, strlen(it->string), id, where);
    }
    return st;
}

/*
 * text/component.c - what the parsers of the four tokenizer.json pipeline
 * components share (normalizer.c, pretokenizer.c, postprocessor.c,
 * decoder.c): reading a component's "type", and building a Sequence's
 * children from its array. Each component is a tree: a Sequence node owns
 * the array of its children's pointers, which its own free function walks.
 *
 * Messages name the place in the file as "WHERE: FIELD[.KEY[i]]", e.g.
 *   "tokenizer.json: normalizer.normalizers[2].type: expected a string".
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/json.h"
#include "text/tok_internal.h"

wd_status wd__component_type(const cJSON *j, const char *where, const char *field,
                             const char **type) {
    *type = NULL;
    if (!cJSON_IsObject(j))
        return wd__fail(WD_ERR_FORMAT, "%s: %s: expected an object, got %s", where, field,
                        wd__json_type_name(j));
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "type");
    if (!cJSON_IsString(t))
        return wd__fail(WD_ERR_FORMAT, "%s: %s.type: expected a string, got %s", where, field,
                        wd__json_type_name(t));
    *type = t->valuestring;
    return WD_OK;
}

wd_status wd__component_kids(const cJSON *j, const char *where, const char *field, const char *key,
                             wd__kid_parse_fn parse, void *ctx, void ***kids, size_t *n_kids) {
    *kids = NULL;
    *n_kids = 0;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsArray(arr))
        return wd__fail(WD_ERR_FORMAT, "%s: %s.%s: expected an array, got %s", where, field, key,
                        wd__json_type_name(arr));
    size_t k = (size_t)cJSON_GetArraySize(arr);
    void **slots = calloc(k ? k : 1, sizeof *slots);
    if (!slots) return WD_ERR_NOMEM;
    *kids = slots;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        char f[256];
        snprintf(f, sizeof f, "%s.%s[%zu]", field, key, *n_kids);
        wd_status st = parse(it, where, f, ctx, &slots[*n_kids]);
        if (st) return st;
        (*n_kids)++;
    }
    return WD_OK;
}

/*
 * text/tokenizer.c - loading tokenizer.json (+ tokenizer_config.json) and
 * running the Hugging Face tokenizers pipeline:
 *
 *   text --(1) added tokens with normalized=false--> pieces
 *        --(2) normalizer on each text piece--------> pieces
 *        --(3) added tokens with normalized=true----> pieces
 *        --(4) pre-tokenizer------------------------> words
 *        --(5) model (BPE / WordPiece / Unigram)----> tokens
 *        --(6) post-processor-----------------------> ids + offsets
 *
 * Steps 1-4 pass aligned strings between four scratch buffers, so each
 * token's offsets come back as byte ranges of the caller's text. Decoding
 * maps ids to token strings and runs the decoder. The stream decoder keeps
 * two indices into the ids seen so far (prefix and read offset, as in
 * text-generation-inference): it decodes the window from the prefix with
 * and without the new ids and releases the difference once it ends on a
 * complete UTF-8 character, so decoders that look at neighbouring tokens
 * (Metaspace's first-token rule, WordPiece's spaces) see the same context
 * as in a whole decode.
 *
 * A loaded tokenizer is never written to again: everything an encode
 * needs to mutate lives in its wd__scratch.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/json.h"
#include "base/log.h"
#include "text/tok_internal.h"
#include "warden/gguf.h"

/* model/gguf_model.c: the tokenizer rebuilt from a .gguf's tokenizer.ggml.* */
wd_status wd__gguf_load_tokenizer(const wd_gguf *g, wd_tokenizer **out);

/* ==== the model ========================================================== */

static void model_free(wd__tmodel *m) {
    wd__vocab_free(&m->vocab);
    wd__u64map_free(&m->merges);
    free(m->score);
    memset(m, 0, sizeof *m);
}

static wd_status model_tokenize(const wd__tmodel *m, const char *s, size_t len, wd__mtoks *out, wd__scratch *sc,
                                bool naive) {
    switch (m->type) {
    case WD_TMODEL_BPE: return naive ? wd__bpe_tokenize_naive(m, s, len, out) : wd__bpe_tokenize(m, s, len, out, sc);
    case WD_TMODEL_WORDPIECE: return wd__wordpiece_tokenize(m, s, len, out, sc);
    case WD_TMODEL_UNIGRAM: return wd__unigram_tokenize(m, s, len, out, sc);
    }
    return WD_ERR_INTERNAL;
}

/* ==== the tokenizer object =============================================== */

typedef struct tok_ext {
    struct wd_tokenizer pub;
    int32_t  *added_by_id;  /* id -> index in added.tok, or -1 */
    wd__strmap added_by_str;
} tok_ext;

const char *wd__tok_str(const struct wd_tokenizer *t, int32_t id, size_t *len) {
    const tok_ext *x = (const tok_ext *)t;
    if (id < 0 || (size_t)id >= t->vocab_size) return NULL;
    int32_t a = x->added_by_id[id];
    if (a >= 0) {
        *len = t->added.tok[a].len;
        return t->added.tok[a].content;
    }
    return wd__vocab_token(&t->model.vocab, id, len);
}

void wd_tokenizer_free(wd_tokenizer *tok) {
    if (!tok) return;
    tok_ext *x = (tok_ext *)tok;
    model_free(&tok->model);
    wd__added_free(&tok->added);
    wd__normalizer_free(tok->normalizer);
    wd__pretok_free(tok->pretok);
    wd__postproc_free(tok->post);
    wd__decoder_free(tok->decoder);
    free(x->added_by_id);
    wd__strmap_free(&x->added_by_str);
    free(tok->where);
    wd__arena_free(tok->arena);
    free(x);
}

/* Optional component: absent or null -> NULL. */
static const cJSON *OPT(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return (v && !cJSON_IsNull(v)) ? v : NULL;
}

static wd_status parse_model(const cJSON *root, const char *where, wd_tokenizer *t) {
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!m) return wd__fail(WD_ERR_FORMAT, "%s: field 'model' is missing", where);
    if (!cJSON_IsObject(m))
        return wd__fail(WD_ERR_FORMAT, "%s: field 'model': expected an object, got %s", where,
                        wd__json_type_name(m));
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(m, "type");
    const char *type = NULL;
    if (cJSON_IsString(ty)) type = ty->valuestring;
    else if (ty && !cJSON_IsNull(ty))
        return wd__fail(WD_ERR_FORMAT, "%s: model.type: expected a string, got %s", where, wd__json_type_name(ty));
    else if (cJSON_GetObjectItemCaseSensitive(m, "merges")) type = "BPE"; /* old files omit the type */
    else if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(m, "vocab"))) type = "Unigram";
    else type = "WordPiece";
    if (!strcmp(type, "BPE")) return wd__bpe_parse(m, where, t->arena, &t->model);
    if (!strcmp(type, "WordPiece")) return wd__wordpiece_parse(m, where, t->arena, &t->model);
    if (!strcmp(type, "Unigram")) return wd__unigram_parse(m, where, t->arena, &t->model);
    return wd__fail(WD_ERR_UNSUPPORTED, "%s: model.type: model '%s' is not supported", where, type);
}

/* Normalizes an added token's content as the text around it will be. */
static wd_status normalize_str(const wd__normalizer *n, wd__arena *a, const char *s, size_t len,
                               const char **out, size_t *out_len) {
    if (!n) {
        *out = s;
        *out_len = len;
        return WD_OK;
    }
    wd__tstr in = {0}, res = {0};
    wd__scratch sc = {0};
    wd_status st = wd__tstr_push(&in, s, len, 0, (uint32_t)len);
    if (!st) st = wd__normalizer_run(n, &in, 0, len, &res, &sc);
    if (!st) {
        *out = wd__arena_strndup(a, res.b ? res.b : "", res.len);
        *out_len = res.len;
        if (!*out) st = WD_ERR_NOMEM;
    }
    wd__tstr_free(&in);
    wd__tstr_free(&res);
    wd__scratch_free(&sc);
    return st;
}

static wd_status parse_added(const cJSON *root, const char *where, wd_tokenizer *t) {
    const cJSON *arr = OPT(root, "added_tokens");
    if (!arr) return WD_OK;
    if (!cJSON_IsArray(arr))
        return wd__fail(WD_ERR_FORMAT, "%s: field 'added_tokens': expected an array, got %s", where,
                        wd__json_type_name(arr));
    size_t n = (size_t)cJSON_GetArraySize(arr);
    t->added.tok = calloc(n ? n : 1, sizeof *t->added.tok);
    if (!t->added.tok) return WD_ERR_NOMEM;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        size_t k = t->added.n;
        char sub[128];
        snprintf(sub, sizeof sub, "%s: added_tokens[%zu]", where, k);
        if (!cJSON_IsObject(it))
            return wd__fail(WD_ERR_FORMAT, "%s: expected an object, got %s", sub, wd__json_type_name(it));
        wd__added_token *a = &t->added.tok[k];
        int64_t id;
        const char *content;
        wd_status st = wd__json_int(it, sub, "id", true, 0, &id);
        /* Added tokens reuse model ids or extend the vocabulary after them:
         * ids beyond model size + added count would leave holes that the
         * id tables would still have to hold (1e9 = gigabytes). */
        if (!st && (id < 0 || (uint64_t)id >= (uint64_t)t->model.vocab.n + n))
            st = wd__fail(WD_ERR_FORMAT,
                          "%s: field 'id': %lld is out of range: the model has %zu tokens and "
                          "there are %zu added tokens, so ids are below %zu",
                          sub, (long long)id, t->model.vocab.n, n, t->model.vocab.n + n);
        if (!st) st = wd__json_str(it, sub, "content", true, NULL, &content);
        if (!st) st = wd__json_bool(it, sub, "special", false, false, &a->special);
        if (!st) st = wd__json_bool(it, sub, "lstrip", false, false, &a->lstrip);
        if (!st) st = wd__json_bool(it, sub, "rstrip", false, false, &a->rstrip);
        if (!st) st = wd__json_bool(it, sub, "single_word", false, false, &a->single_word);
        if (!st) st = wd__json_bool(it, sub, "normalized", false, !a->special, &a->normalized);
        if (st) return st;
        a->id = (int32_t)id;
        a->len = strlen(content);
        a->content = wd__arena_strndup(t->arena, content, a->len);
        if (!a->content) return WD_ERR_NOMEM;
        if (a->normalized) {
            st = normalize_str(t->normalizer, t->arena, a->content, a->len, &a->norm, &a->norm_len);
            if (st) return st;
        }
        t->added.n++;
    }
    return wd__added_build(&t->added);
}

static const char *config_token(const cJSON *cfg, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (cJSON_IsString(v)) return v->valuestring;
    if (cJSON_IsObject(v)) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(v, "content");
        if (cJSON_IsString(c)) return c->valuestring;
    }
    return NULL;
}

static wd_status parse_config(const char *cfg_text, size_t cfg_len, const char *where, wd_tokenizer *t) {
    for (int k = 0; k < 4; k++) t->special_id[k] = -1;
    cJSON *cfg = NULL;
    if (cfg_text) {
        char w[512];
        snprintf(w, sizeof w, "%s (tokenizer_config.json)", where);
        cfg = wd__json_parse_strict(cfg_text, cfg_len, w, WD__JSON_ALLOW_NUL, NULL);
        if (!cfg) return WD_ERR_FORMAT;
        if (!cJSON_IsObject(cfg)) {
            cJSON_Delete(cfg);
            return wd__fail(WD_ERR_FORMAT, "%s: expected an object", w);
        }
    }
    static const char *const keys[4] = {"bos_token", "eos_token", "pad_token", "unk_token"};
    for (int k = 0; k < 4 && cfg; k++) {
        const char *s = config_token(cfg, keys[k]);
        if (!s) continue;
        t->special_str[k] = wd__arena_strdup(t->arena, s);
        t->special_id[k] = wd_tokenizer_token_to_id(t, s);
    }
    if (t->special_id[WD_SPECIAL_TOKEN_UNK] < 0 && t->model.unk_id >= 0) {
        t->special_id[WD_SPECIAL_TOKEN_UNK] = t->model.unk_id;
        t->special_str[WD_SPECIAL_TOKEN_UNK] = t->model.unk;
    }
    const cJSON *ct = cfg ? cJSON_GetObjectItemCaseSensitive(cfg, "chat_template") : NULL;
    if (cJSON_IsString(ct)) {
        t->chat_template = wd__arena_strdup(t->arena, ct->valuestring);
    } else if (cJSON_IsArray(ct)) { /* [{name, template}]: "default", else the first */
        const cJSON *it, *pick = NULL;
        cJSON_ArrayForEach(it, ct) {
            const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
            const cJSON *tp = cJSON_GetObjectItemCaseSensitive(it, "template");
            if (!cJSON_IsString(tp)) continue;
            if (!pick || (cJSON_IsString(nm) && !strcmp(nm->valuestring, "default"))) pick = tp;
        }
        if (pick) t->chat_template = wd__arena_strdup(t->arena, pick->valuestring);
    }
    cJSON_Delete(cfg);
    return WD_OK;
}

wd_status wd_tokenizer_load_json(const char *json, size_t len, const char *config_json, size_t config_len,
                                 const char *where, wd_tokenizer **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_tokenizer_load_json: out is NULL");
    *out = NULL;
    if (!json) return wd__fail(WD_ERR_INVALID_ARG, "wd_tokenizer_load_json: json is NULL");
    if (!where) where = "tokenizer.json";
    /* Vocabulary tokens may be "\u0000" (kept); a token or any other key
     * given twice is an error, as the file would mean two things. */
    cJSON *root = wd__json_parse_strict(json, len, where, WD__JSON_ALLOW_NUL, NULL);
    if (!root) return WD_ERR_FORMAT;
    tok_ext *x = calloc(1, sizeof *x);
    wd_tokenizer *t = &x->pub;
    wd_status st = WD_OK;
    if (!x || !(t->arena = wd__arena_new(1 << 20)) || !(t->where = strdup(where))) st = WD_ERR_NOMEM;
    if (!st && !cJSON_IsObject(root))
        st = wd__fail(WD_ERR_FORMAT, "%s: expected a JSON object, got %s", where, wd__json_type_name(root));
    if (!st) st = parse_model(root, where, t);
    const cJSON *c;
    if (!st && (c = OPT(root, "normalizer"))) st = wd__normalizer_parse(c, where, "normalizer", t->arena, &t->normalizer);
    if (!st && (c = OPT(root, "pre_tokenizer"))) st = wd__pretok_parse(c, where, "pre_tokenizer", t->arena, &t->pretok);
    if (!st) st = parse_added(root, where, t);
    if (!st && (c = OPT(root, "post_processor")))
        st = wd__postproc_parse(c, where, "post_processor", &t->model, &t->added, &t->post);
    if (!st && (c = OPT(root, "decoder"))) st = wd__decoder_parse(c, where, "decoder", &t->decoder);
    if (!st) {
        size_t vs = t->model.vocab.n;
        for (size_t k = 0; k < t->added.n; k++)
            if ((size_t)t->added.tok[k].id + 1 > vs) vs = (size_t)t->added.tok[k].id + 1;
        t->vocab_size = vs;
        x->added_by_id = malloc((vs ? vs : 1) * sizeof *x->added_by_id);
        if (!x->added_by_id) st = WD_ERR_NOMEM;
        for (size_t k = 0; k < vs && !st; k++) x->added_by_id[k] = -1;
        if (!st) st = wd__strmap_init(&x->added_by_str, t->added.n);
        for (size_t k = 0; k < t->added.n && !st; k++) {
            x->added_by_id[t->added.tok[k].id] = (int32_t)k;
            st = wd__strmap_put(&x->added_by_str, t->added.tok[k].content, t->added.tok[k].len,
                                t->added.tok[k].id);
        }
    }
    if (!st) st = parse_config(config_json, config_len, where, t);
    cJSON_Delete(root);
    if (st) {
        if (st == WD_ERR_NOMEM) wd__fail(st, "%s: out of memory", where);
        if (x) wd_tokenizer_free(t);
        return st;
    }
    *out = t;
    return WD_OK;
}

wd_status wd_tokenizer_load(const char *path, wd_tokenizer **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_tokenizer_load: out is NULL");
    *out = NULL;
    if (!path) return wd__fail(WD_ERR_INVALID_ARG, "wd_tokenizer_load: path is NULL");
    size_t pl = strlen(path);
    if (pl > 5 && !strcmp(path + pl - 5, ".gguf") && !wd__path_is_dir(path)) {
        wd_gguf *g;
        wd_status st = wd_gguf_open(path, &g);
        if (!st) st = wd__gguf_load_tokenizer(g, out);
        wd_gguf_free(g);
        return st;
    }
    char *json_path, *cfg_path;
    if (wd__path_is_dir(path)) {
        json_path = wd__path_join(path, "tokenizer.json");
        cfg_path = wd__path_join(path, "tokenizer_config.json");
    } else {
        json_path = strdup(path);
        const char *slash = strrchr(path, '/');
        char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup("");
        cfg_path = dir ? wd__path_join(dir, "tokenizer_config.json") : NULL;
        free(dir);
    }
    if (!json_path || !cfg_path) {
        free(json_path);
        free(cfg_path);
        return wd__fail(WD_ERR_NOMEM, "out of memory");
    }
    char *text = NULL, *cfg = NULL;
    size_t len = 0, cfg_len = 0;
    wd_status st = wd__file_read(json_path, 1ull << 30, &text, &len);
    if (!st && wd__path_exists(cfg_path)) st = wd__file_read(cfg_path, 64u << 20, &cfg, &cfg_len);
    if (!st) st = wd_tokenizer_load_json(text, len, cfg, cfg_len, json_path, out);
    free(text);
    free(cfg);
    free(json_path);
    free(cfg_path);
    return st;
}

/* ==== lookups ============================================================ */

int32_t wd_tokenizer_token_to_id(const wd_tokenizer *tok, const char *token) {
    if (!tok || !token) return -1;
    const tok_ext *x = (const tok_ext *)tok;
    int32_t id;
    size_t n = strlen(token);
    if (wd__strmap_get(&x->added_by_str, token, n, &id)) return id;
    if (wd__vocab_id(&tok->model.vocab, token, n, &id)) return id;
    return -1;
}

const char *wd_tokenizer_id_to_token(const wd_tokenizer *tok, int32_t id) {
    size_t len;
    return tok ? wd__tok_str(tok, id, &len) : NULL;
}

size_t wd_tokenizer_vocab_size(const wd_tokenizer *tok) { return tok ? tok->vocab_size : 0; }

bool wd_tokenizer_is_special(const wd_tokenizer *tok, int32_t id) {
    if (!tok || id < 0 || (size_t)id >= tok->vocab_size) return false;
    int32_t a = ((const tok_ext *)tok)->added_by_id[id];
    return a >= 0 && tok->added.tok[a].special;
}

int32_t wd_tokenizer_special_id(const wd_tokenizer *tok, wd_special_token which) {
    if (!tok || (unsigned)which > 3) return -1;
    return tok->special_id[which];
}

const char *wd_tokenizer_special_str(const wd_tokenizer *tok, wd_special_token which) {
    if (!tok || (unsigned)which > 3) return NULL;
    return tok->special_str[which];
}

const char *wd_tokenizer_chat_template(const wd_tokenizer *tok) { return tok ? tok->chat_template : NULL; }

const char *wd_tokenizer_model_type(const wd_tokenizer *tok) {
    if (!tok) return NULL;
    switch (tok->model.type) {
    case WD_TMODEL_BPE: return "BPE";
    case WD_TMODEL_WORDPIECE: return "WordPiece";
    case WD_TMODEL_UNIGRAM: return "Unigram";
    }
    return "?";
}

/* ==== encoding =========================================================== */

wd_encode_params wd_encode_params_default(void) {
    return (wd_encode_params){.add_special_tokens = true, .split_special_tokens = false};
}

wd_decode_params wd_decode_params_default(void) { return (wd_decode_params){.skip_special_tokens = false}; }

size_t wd_encoding_len(const wd_encoding *e) { return e ? e->n : 0; }
const int32_t *wd_encoding_ids(const wd_encoding *e) { return e ? e->ids : NULL; }
const wd_offset *wd_encoding_offsets(const wd_encoding *e) { return e ? e->offsets : NULL; }
const uint8_t *wd_encoding_special_mask(const wd_encoding *e) { return e ? e->special : NULL; }

void wd_encoding_free(wd_encoding *e) {
    if (!e) return;
    free(e->ids);
    free(e->offsets);
    free(e->special);
    free(e);
}

static wd_status encode_into(const wd_tokenizer *t, const char *text, size_t len, const wd_encode_params *pp,
                             wd_encoding *enc, wd__scratch *sc, bool naive) {
    wd_encode_params p = pp ? *pp : wd_encode_params_default();
    if (!text && len) return wd__fail(WD_ERR_INVALID_ARG, "wd_tokenizer_encode: text is NULL");
    if (len > INT32_MAX) return wd__fail(WD_ERR_RANGE, "wd_tokenizer_encode: text of %zu bytes is over 2 GiB", len);
    size_t valid = wd__utf8_valid_prefix(text, len);
    if (valid != len)
        return wd__fail(WD_ERR_ENCODING, "wd_tokenizer_encode: invalid UTF-8 at byte %zu (0x%02X)", valid,
                        (unsigned char)text[valid]);
    /* (0) the text, each byte aligned to its whole character. Steps that
     * have nothing to do are skipped; the others write the next buffer. */
    int cur = 0;
    wd__tstr *t0 = &sc->t[0];
    wd__pieces *p0 = &sc->p[0];
    wd_status st = WD_OK;
    for (int k = 0; k < 4 && !st; k++) st = wd__tstr_reserve(&sc->t[k], len + len / 4 + 16);
    if (st) return st;
    if (len) memcpy(t0->b, text, len);
    for (size_t i = 0; i < len;) {
        size_t k = (size_t)wd__utf8_len((unsigned char)text[i]);
        for (size_t b = 0; b < k; b++) {
            t0->a0[i + b] = (uint32_t)i;
            t0->a1[i + b] = (uint32_t)(i + k);
        }
        i += k;
    }
    t0->len = len;
    if (len) st = wd__pieces_push(p0, 0, (uint32_t)len, -1);
    /* cur: the string; cp: its pieces (added-token splits only cut) */
    int cp = 0;
    int nxt;
#define NEXT() do { nxt = 0; while (nxt == cur || nxt == cp) nxt++; sc->t[nxt].len = 0; sc->p[nxt].n = 0; } while (0)
    /* (1) raw added tokens */
    if (!st && wd__added_has(&t->added, false)) {
        NEXT();
        st = wd__added_split(&t->added, false, p.split_special_tokens, &sc->t[cur], &sc->p[cp], &sc->p[nxt]);
        cp = nxt;
    }
    /* (2) normalizer */
    if (!st && t->normalizer) {
        NEXT();
        const wd__tstr *ti = &sc->t[cur];
        wd__tstr *to = &sc->t[nxt];
        for (size_t k = 0; k < sc->p[cp].n && !st; k++) {
            const wd__piece *pc = &sc->p[cp].v[k];
            size_t start = to->len;
            if (pc->id >= 0) st = wd__tstr_copy(to, ti, pc->start, pc->len);
            else st = wd__normalizer_run(t->normalizer, ti, pc->start, pc->len, to, sc);
            if (!st && to->len > start)
                st = wd__pieces_push(&sc->p[nxt], (uint32_t)start, (uint32_t)(to->len - start), pc->id);
        }
        cur = cp = nxt;
    }
    /* (3) normalized added tokens */
    if (!st && wd__added_has(&t->added, true)) {
        NEXT();
        st = wd__added_split(&t->added, true, p.split_special_tokens, &sc->t[cur], &sc->p[cp], &sc->p[nxt]);
        cp = nxt;
    }
    /* (4) pre-tokenizer */
    if (!st && t->pretok) {
        NEXT();
        st = wd__pretok_run(t->pretok, &sc->t[cur], &sc->p[cp], &sc->t[nxt], &sc->p[nxt], sc);
        cur = cp = nxt;
    }
#undef NEXT
    const wd__tstr *wt = &sc->t[cur];
    const wd__pieces *wp = &sc->p[cp];
    /* (5) model */
    wd__mtoks mt = {0};
    for (size_t k = 0; k < wp->n && !st; k++) {
        const wd__piece *pc = &wp->v[k];
        if (pc->len == 0) continue;
        if (pc->id >= 0) {
            st = wd__encoding_push(enc, pc->id, wt->a0[pc->start], wt->a1[pc->start + pc->len - 1],
                                   wd_tokenizer_is_special(t, pc->id));
            continue;
        }
        mt.n = 0;
        st = model_tokenize(&t->model, wt->b + pc->start, pc->len, &mt, sc, naive);
        for (size_t i = 0; i < mt.n && !st; i++) {
            const wd__mtok *m = &mt.v[i];
            size_t a = pc->start + m->start, b = pc->start + m->end;
            st = wd__encoding_push(enc, m->id, wt->a0[a], wt->a1[b - 1], false);
        }
    }
    free(mt.v);
    /* (6) post-processor */
    if (!st && t->post) st = wd__postproc_run(t->post, enc, p.add_special_tokens, text, len, t);
    if (st == WD_ERR_NOMEM) wd__fail(st, "wd_tokenizer_encode: out of memory");
    return st;
}

/* Each thread keeps the scratch of its last encode, so that repeated calls
 * do not allocate and fault in their buffers again. The thread-local
 * pointer keeps it reachable; the key's destructor frees it when a thread
 * ends. A scratch grown past SCRATCH_KEEP bytes is freed instead of kept. */
enum { SCRATCH_KEEP = 32 << 20 };
static _Thread_local wd__scratch *tls_scratch;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_destroy(void *p) {
    wd__scratch_free(p);
    free(p);
}

static void scratch_key_init(void) { pthread_key_create(&scratch_key, scratch_destroy); }

static wd__scratch *scratch_take(void) {
    wd__scratch *sc = tls_scratch;
    tls_scratch = NULL; /* a nested call (none today) would get its own */
    if (!sc) sc = calloc(1, sizeof *sc);
    if (!sc) return NULL;
    for (int k = 0; k < 4; k++) {
        sc->t[k].len = 0;
        sc->p[k].n = 0;
    }
    if (sc->cache.cap > 65536) wd__strmap_free(&sc->cache);
    else wd__strmap_clear(&sc->cache);
    sc->cache_n = sc->cache_ent_n = 0;
    return sc;
}

static void scratch_give(wd__scratch *sc) {
    size_t bytes = 0;
    for (int k = 0; k < 4; k++) bytes += sc->t[k].cap * 9 + sc->p[k].cap * sizeof(wd__piece);
    bytes += sc->sym_cap * 20 + sc->heap_cap * 12 + sc->cache_cap * 12 + sc->lat_cap * 16;
    if (bytes > SCRATCH_KEEP || tls_scratch) {
        scratch_destroy(sc);
        return;
    }
    pthread_once(&scratch_once, scratch_key_init);
    pthread_setspecific(scratch_key, sc);
    tls_scratch = sc;
}

wd_status wd_tokenizer_encode(const wd_tokenizer *tok, const char *text, size_t len,
                              const wd_encode_params *params, wd_encoding **out) {
    return wd__tokenizer_encode_impl(tok, text, len, params, false, out);
}

wd_status wd__tokenizer_encode_impl(const wd_tokenizer *tok, const char *text, size_t len,
                                    const wd_encode_params *params, bool naive, wd_encoding **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_tokenizer_encode: out is NULL");
    *out = NULL;
    if (!tok) return wd__fail(WD_ERR_INVALID_ARG, "wd_tokenizer_encode: tok is NULL");
    wd_encoding *e = calloc(1, sizeof *e);
    if (!e) return wd__fail(WD_ERR_NOMEM, "wd_tokenizer_encode: out of memory");
    wd__scratch *sc = scratch_take();
    if (!sc) {
        free(e);
        return wd__fail(WD_ERR_NOMEM, "wd_tokenizer_encode: out of memory");
    }
    wd_status st = encode_into(tok, text, len, params, e, sc, naive);
    scratch_give(sc);
    if (st) {
        wd_encoding_free(e);
        return st;
    }
    *out = e;
    return WD_OK;
}

wd_status wd_tokenizer_encode_ids(const wd_tokenizer *tok, const char *text, size_t len,
                                  const wd_encode_params *params, int32_t *ids, size_t cap, size_t *n_needed) {
    if (n_needed) *n_needed = 0;
    wd_encoding *e;
    wd_status st = wd_tokenizer_encode(tok, text, len, params, &e);
    if (st) return st;
    if (n_needed) *n_needed = e->n;
    if (e->n > cap) {
        size_t n = e->n;
        wd_encoding_free(e);
        return wd__fail(WD_ERR_RANGE, "wd_tokenizer_encode_ids: %zu ids do not fit in a buffer of %zu", n, cap);
    }
    if (e->n) memcpy(ids, e->ids, e->n * sizeof *ids);
    wd_encoding_free(e);
    return WD_OK;
}

/* ==== decoding =========================================================== */

/* Decodes ids into buf (malloc'd, *n bytes, NUL-terminated). raw: leave
 * incomplete UTF-8 as is. */
static wd_status decode_bytes(const wd_tokenizer *t, const int32_t *ids, size_t n, bool skip_special, bool raw,
                              char **buf, size_t *blen) {
    *buf = NULL;
    *blen = 0;
    wd__strlist in = {0}, out = {0};
    wd_status st = WD_OK;
    for (size_t i = 0; i < n && !st; i++) {
        size_t len;
        const char *s = wd__tok_str(t, ids[i], &len);
        if (!s) {
            st = wd__fail(WD_ERR_RANGE, "decode: id %d at position %zu is not in the vocabulary (size %zu)",
                          ids[i], i, t->vocab_size);
            break;
        }
        if (skip_special && wd_tokenizer_is_special(t, ids[i])) continue;
        st = wd__strlist_push(&in, s, len);
    }
    const wd__strlist *res = &in;
    if (!st && t->decoder) {
        st = wd__decoder_run(t->decoder, &in, &out, raw);
        res = &out;
    }
    size_t total = 0;
    for (size_t k = 0; k < res->count; k++) total += res->n[k] + (t->decoder ? 0 : 1);
    char *b = NULL;
    if (!st && !(b = malloc(total + 1))) st = WD_ERR_NOMEM;
    size_t o = 0;
    for (size_t k = 0; k < res->count && !st; k++) {
        if (!t->decoder && k > 0) b[o++] = ' ';
        if (res->n[k]) memcpy(b + o, res->b + res->off[k], res->n[k]);
        o += res->n[k];
    }
    wd__strlist_free(&in);
    wd__strlist_free(&out);
    if (st) {
        free(b);
        return st;
    }
    b[o] = 0;
    if (!raw && wd__utf8_valid_prefix(b, o) != o) {
        char *f = malloc(3 * o + 1);
        if (!f) {
            free(b);
            return WD_ERR_NOMEM;
        }
        o = wd__utf8_lossy(b, o, f);
        f[o] = 0;
        free(b);
        b = f;
    }
    *buf = b;
    *blen = o;
    return WD_OK;
}

wd_status wd_tokenizer_decode(const wd_tokenizer *tok, const int32_t *ids, size_t n,
                              const wd_decode_params *params, char **out, size_t *out_len) {
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (!tok || !out || (!ids && n)) return wd__fail(WD_ERR_INVALID_ARG, "wd_tokenizer_decode: NULL argument");
    wd_decode_params p = params ? *params : wd_decode_params_default();
    size_t len;
    wd_status st = decode_bytes(tok, ids, n, p.skip_special_tokens, false, out, &len);
    if (!st && out_len) *out_len = len;
    return st;
}

/* ==== stream decoding ==================================================== */

struct wd_tokenizer_stream {
    const wd_tokenizer *tok;
    wd_decode_params    p;
    int32_t *ids;
    size_t   n, cap;
    size_t   prefix, read; /* window start; ids before read are released */
    char    *piece;        /* last piece handed out */
};

wd_status wd_tokenizer_stream_new(const wd_tokenizer *tok, const wd_decode_params *params,
                                  wd_tokenizer_stream **out) {
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_tokenizer_stream_new: out is NULL");
    *out = NULL;
    if (!tok) return wd__fail(WD_ERR_INVALID_ARG, "wd_tokenizer_stream_new: tok is NULL");
    wd_tokenizer_stream *s = calloc(1, sizeof *s);
    if (!s) return wd__fail(WD_ERR_NOMEM, "out of memory");
    s->tok = tok;
    s->p = params ? *params : wd_decode_params_default();
    *out = s;
    return WD_OK;
}

void wd_tokenizer_stream_free(wd_tokenizer_stream *s) {
    if (!s) return;
    free(s->ids);
    free(s->piece);
    free(s);
}

/* Sets s->piece to the text the ids from read on add; with final, releases
 * incomplete characters too. */
static wd_status stream_step(wd_tokenizer_stream *s, bool final, const char **piece, size_t *piece_len) {
    char *before = NULL, *after = NULL;
    size_t nb = 0, na = 0;
    *piece = "";
    *piece_len = 0;
    if (!s->n) return WD_OK; /* nothing pushed yet (and s->ids may be NULL) */
    wd_status st = decode_bytes(s->tok, s->ids + s->prefix, s->read - s->prefix, s->p.skip_special_tokens,
                                true, &before, &nb);
    if (!st) st = decode_bytes(s->tok, s->ids + s->prefix, s->n - s->prefix, s->p.skip_special_tokens, true,
                               &after, &na);
    if (!st && na > nb && (final || wd__utf8_incomplete_tail(after, na) == 0)) {
        free(s->piece);
        s->piece = malloc(3 * (na - nb) + 1);
        if (!s->piece) {
            st = WD_ERR_NOMEM;
        } else {
            size_t m = wd__utf8_lossy(after + nb, na - nb, s->piece);
            s->piece[m] = 0;
            *piece = s->piece;
            *piece_len = m;
            s->prefix = s->read;
            s->read = s->n;
        }
    } else if (!st && final) {
        s->prefix = s->read = s->n;
    }
    free(before);
    free(after);
    return st;
}

wd_status wd_tokenizer_stream_push(wd_tokenizer_stream *s, int32_t id, const char **piece, size_t *piece_len) {
    if (!s || !piece || !piece_len) return wd__fail(WD_ERR_INVALID_ARG, "wd_tokenizer_stream_push: NULL argument");
    *piece = "";
    *piece_len = 0;
    size_t len;
    if (!wd__tok_str(s->tok, id, &len))
        return wd__fail(WD_ERR_RANGE, "stream: id %d is not in the vocabulary (size %zu)", id, s->tok->vocab_size);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        int32_t *v = realloc(s->ids, cap * sizeof *v);
        if (!v) return wd__fail(WD_ERR_NOMEM, "out of memory");
        s->ids = v;
        s->cap = cap;
    }
    s->ids[s->n++] = id;
    return stream_step(s, false, piece, piece_len);
}

wd_status wd_tokenizer_stream_flush(wd_tokenizer_stream *s, const char **piece, size_t *piece_len) {
    if (!s || !piece || !piece_len) return wd__fail(WD_ERR_INVALID_ARG, "wd_tokenizer_stream_flush: NULL argument");
    return stream_step(s, true, piece, piece_len);
}

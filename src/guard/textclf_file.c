/*
 * guard/textclf_file.c - the built-in classifier's models made and kept:
 * building one from float weights (the trainers), reading a model file
 * (safetensors: the layout is in textclf.c's comment, the convolutional
 * form's in textcnn.h) with every field checked, and writing one
 * atomically.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "guard/textclf_internal.h"

/* ==== building and loading =============================================== */

static wd_status check_cfg(const wd_textclf_cfg *c, const char *where) {
    if (c->hash_bits < 10 || c->hash_bits > 24)
        return wd__fail(WD_ERR_FORMAT, "%s: hash_bits %d outside [10, 24]", where, c->hash_bits);
    if (c->word_min < 1 || c->word_max < c->word_min || c->word_max > 8)
        return wd__fail(WD_ERR_FORMAT, "%s: word_ngrams %d-%d invalid (need 1 <= min <= max <= 8)",
                        where, c->word_min, c->word_max);
    if (c->char_min < 0 || c->char_max > 8 || (c->char_min > 0 && c->char_max < c->char_min))
        return wd__fail(WD_ERR_FORMAT, "%s: char_ngrams %d-%d invalid (need 0, or min <= max <= 8)",
                        where, c->char_min, c->char_max);
    if (c->concepts < 0 || c->concepts > 1)
        return wd__fail(WD_ERR_FORMAT, "%s: concepts %d invalid (need 0 or 1)", where, c->concepts);
    return WD_OK;
}

static wd_status set_labels(wd_textclf *m, size_t n, const char *const *labels, const char *where) {
    if (n == 0 || n > WD_TEXTCLF_MAX_LABELS)
        return wd__fail(WD_ERR_FORMAT, "%s: %zu labels (need 1..%d)", where, n,
                        WD_TEXTCLF_MAX_LABELS);
    for (size_t i = 0; i < n; i++) {
        if (!labels[i] || !labels[i][0])
            return wd__fail(WD_ERR_FORMAT, "%s: label %zu is empty", where, i);
        m->labels[i] = strdup(labels[i]);
        if (!m->labels[i]) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", where);
        m->n_labels = i + 1;
    }
    return WD_OK;
}

static wd_status check_hazard_labels(const wd_textclf *m, const char *where) {
    char name[8];
    for (int l = 1; l <= 14; l++) {
        snprintf(name, sizeof name, "S%d", l);
        if ((size_t)l >= m->n_labels || strcmp(m->labels[l], name))
            return wd__fail(WD_ERR_FORMAT, "%s: hazard_head 'softmax' needs labels 1..14 = S1..S14 (label %d is %s)",
                            where, l, (size_t)l < m->n_labels ? m->labels[l] : "missing");
    }
    return WD_OK;
}

wd_status wd__textclf_build(const wd_textclf_cfg *cfg, size_t n_labels, const char *const *labels,
                            const float *w, const float *bias, const float *threshold,
                            int softmax_hazards, wd_textclf **out) {
    if (out) *out = NULL;
    if (!cfg || !labels || !w || !bias || !out)
        return wd__fail(WD_ERR_INVALID_ARG, "textclf_build: NULL argument");
    wd_status st = check_cfg(cfg, "textclf_build");
    if (st) return st;
    wd_textclf *m = calloc(1, sizeof *m);
    if (!m) return wd__fail(WD_ERR_NOMEM, "textclf_build: out of memory");
    m->cfg = *cfg;
    if ((st = set_labels(m, n_labels, labels, "textclf_build"))) goto fail;
    m->softmax_hazards = softmax_hazards;
    if (softmax_hazards && (st = check_hazard_labels(m, "textclf_build"))) goto fail;
    size_t D = (size_t)1 << cfg->hash_bits, L = n_labels;
    m->w_owned = malloc(D * L);
    if (!m->w_owned) {
        st = wd__fail(WD_ERR_NOMEM, "textclf_build: out of memory for %zu weights", D * L);
        goto fail;
    }
    for (size_t l = 0; l < L; l++) {
        float mx = 0;
        for (size_t d = 0; d < D; d++) {
            float a = fabsf(w[d * L + l]);
            if (!isfinite(a)) {
                st = wd__fail(WD_ERR_INVALID_ARG, "textclf_build: weight (%zu, %zu) not finite", d, l);
                goto fail;
            }
            if (a > mx) mx = a;
        }
        m->scale[l] = mx > 0 ? mx / 127.0f : 1.0f;
        for (size_t d = 0; d < D; d++) {
            long q = lrintf(w[d * L + l] / m->scale[l]);
            m->w_owned[d * L + l] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
        }
        m->bias[l] = bias[l];
        m->thr[l] = threshold ? threshold[l] : 0.5f;
    }
    m->w = m->w_owned;
    *out = m;
    return WD_OK;
fail:
    wd_textclf_free(m);
    return st;
}

wd_status wd__textclf_build_cnn(const wd_textclf_cfg *cfg, const struct wd__textcnn_shape *sh, size_t n_labels,
                                const char *const *labels, const float *emb, const float *conv,
                                const float *conv_b, const float *head, const float *bias,
                                int softmax_hazards, wd_textclf **out) {
    if (out) *out = NULL;
    if (!cfg || !sh || !labels || !emb || !conv || !conv_b || !head || !bias || !out)
        return wd__fail(WD_ERR_INVALID_ARG, "textclf_build_cnn: NULL argument");
    const char *why = wd__textcnn_shape_check(sh);
    if (why) return wd__fail(WD_ERR_INVALID_ARG, "textclf_build_cnn: %s", why);
    wd_textclf *m = calloc(1, sizeof *m);
    if (!m) return wd__fail(WD_ERR_NOMEM, "textclf_build_cnn: out of memory");
    wd_status st;
    m->cfg = *cfg;
    m->cfg.hash_bits = sh->bits;
    m->cfg.word_min = m->cfg.word_max = 1;
    m->cfg.char_min = sh->char_min;
    m->cfg.char_max = sh->char_max;
    m->cfg.concepts = sh->concepts;
    if ((st = set_labels(m, n_labels, labels, "textclf_build_cnn"))) goto fail;
    m->softmax_hazards = softmax_hazards;
    if (softmax_hazards && (st = check_hazard_labels(m, "textclf_build_cnn"))) goto fail;
    const size_t V = (size_t)1 << sh->bits, D = (size_t)sh->dim, F = (size_t)sh->filters,
                 K = (size_t)sh->width * D, L = n_labels;
    size_t n_f = V + K * F + F + F * L;
    char *buf = malloc(n_f * sizeof(float) + V * D);
    if (!buf) {
        st = wd__fail(WD_ERR_NOMEM, "textclf_build_cnn: out of memory");
        goto fail;
    }
    m->cnn_owned = buf;
    float *scale = (float *)buf, *cv = scale + V, *cb = cv + K * F, *hd = cb + F;
    int8_t *e8 = (int8_t *)(hd + F * L);
    memcpy(cv, conv, K * F * sizeof *cv);
    memcpy(cb, conv_b, F * sizeof *cb);
    memcpy(hd, head, F * L * sizeof *hd);
    for (size_t i = 0; i < K * F + F + F * L; i++)
        if (!(fabsf(cv[i]) <= WD_TEXTCNN_MAX_WEIGHT)) {
            st = wd__fail(WD_ERR_INVALID_ARG, "textclf_build_cnn: a convolution or head weight is not finite or over 1e4");
            goto fail;
        }
    for (size_t v = 0; v < V; v++) {
        const float *row = emb + v * D;
        float mx = 0;
        for (size_t d = 0; d < D; d++) {
            float a = fabsf(row[d]);
            if (!(a <= WD_TEXTCNN_MAX_WEIGHT)) {
                st = wd__fail(WD_ERR_INVALID_ARG, "textclf_build_cnn: embedding (%zu, %zu) not finite or over %g", v,
                              d, (double)WD_TEXTCNN_MAX_WEIGHT);
                goto fail;
            }
            if (a > mx) mx = a;
        }
        scale[v] = mx > 0 ? mx / 127.0f : 0.0f;
        for (size_t d = 0; d < D; d++) {
            long q = mx > 0 ? lrintf(row[d] / scale[v]) : 0;
            e8[v * D + d] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
        }
    }
    for (size_t l = 0; l < L; l++) {
        m->bias[l] = bias[l];
        m->thr[l] = 0.5f;
        m->scale[l] = 1.0f;
    }
    m->is_cnn = 1;
    m->cnn = (wd__textcnn){.sh = *sh, .n_labels = L, .emb = e8, .emb_scale = scale, .conv = cv,
                           .conv_b = cb, .head = hd};
    *out = m;
    return WD_OK;
fail:
    wd_textclf_free(m);
    return st;
}

static int parse_range(const char *s, int *lo, int *hi) {
    char *e;
    long a = strtol(s, &e, 10);
    if (e == s || *e != '-') return -1;
    const char *t = e + 1;
    long b = strtol(t, &e, 10);
    if (e == t || *e) return -1;
    if (a < 0 || a > 64 || b < 0 || b > 64) return -1;
    *lo = (int)a;
    *hi = (int)b;
    return 0;
}

static wd_status meta_int(const wd_safetensors *st, const char *where, const char *key, long lo,
                          long hi, long *out) {
    const char *v = wd_safetensors_metadata_get(st, key);
    if (!v) return wd__fail(WD_ERR_FORMAT, "%s: __metadata__ lacks '%s'", where, key);
    char *e;
    long x = strtol(v, &e, 10);
    if (e == v || *e || x < lo || x > hi)
        return wd__fail(WD_ERR_FORMAT, "%s: __metadata__ '%s' = '%s': expected an integer in [%ld, %ld]",
                        where, key, v, lo, hi);
    *out = x;
    return WD_OK;
}

static const wd_tensor_info *need_tensor(const wd_safetensors *st, const char *where,
                                         const char *name, size_t n_dim, int64_t d0, int64_t d1) {
    const wd_tensor_info *t = wd_safetensors_find(st, name);
    if (!t) {
        wd__fail(WD_ERR_FORMAT, "%s: tensor '%s' is missing", where, name);
        return NULL;
    }
    if ((size_t)t->ndim != n_dim || t->shape[0] != d0 || (n_dim == 2 && t->shape[1] != d1)) {
        if (n_dim == 2)
            wd__fail(WD_ERR_FORMAT, "%s: tensor '%s' must have shape [%lld, %lld]", where, name,
                     (long long)d0, (long long)d1);
        else
            wd__fail(WD_ERR_FORMAT, "%s: tensor '%s' must have shape [%lld]", where, name,
                     (long long)d0);
        return NULL;
    }
    return t;
}

/* The convolutional network's tensors and shape from st (arch "cnn"). */
static wd_status cnn_from_safetensors(wd_textclf *m, const wd_safetensors *st, const char *where) {
    wd__textcnn *c = &m->cnn;
    long dim = 0, filters = 0, width = 0;
    wd_status rc;
    if ((rc = meta_int(st, where, "cnn_dim", 8, WD_TEXTCNN_MAX_DIM, &dim)) ||
        (rc = meta_int(st, where, "cnn_filters", 32, WD_TEXTCNN_MAX_FILTERS, &filters)) ||
        (rc = meta_int(st, where, "cnn_width", 1, WD_TEXTCNN_MAX_WIDTH, &width)))
        return rc;
    c->sh = (wd__textcnn_shape){.bits = m->cfg.hash_bits, .dim = (int)dim, .filters = (int)filters,
                                .width = (int)width, .char_min = m->cfg.char_min,
                                .char_max = m->cfg.char_max, .concepts = m->cfg.concepts};
    const char *why = wd__textcnn_shape_check(&c->sh);
    if (why) return wd__fail(WD_ERR_FORMAT, "%s: cnn shape: %s", where, why);
    c->n_labels = m->n_labels;
    const int64_t V = (int64_t)1 << c->sh.bits, D = dim, F = filters, K = width * dim,
                  L = (int64_t)m->n_labels;
    /* the float arrays are copied (a tensor in a file may be unaligned);
     * the embedding rows, int8, are read in place */
    const wd_tensor_info *te = need_tensor(st, where, "cnn.embed", 2, V, D);
    if (!te) return WD_ERR_FORMAT;
    if (te->dtype != WD_DTYPE_I8)
        return wd__fail(WD_ERR_FORMAT, "%s: tensor 'cnn.embed' must be I8, is %s", where, wd_dtype_name(te->dtype));
    c->emb = te->data;
    const char *names[4] = {"cnn.embed_scale", "cnn.conv", "cnn.conv_bias", "cnn.head"};
    const int64_t d0[4] = {V, K, F, F}, d1[4] = {0, F, 0, L};
    size_t lens[4], total = 0;
    for (int a = 0; a < 4; a++) total += lens[a] = (size_t)(d0[a] * (d1[a] ? d1[a] : 1));
    float *buf = malloc(total * sizeof *buf), *arr[4];
    if (!buf) return wd__fail(WD_ERR_NOMEM, "%s: out of memory", where);
    m->cnn_owned = buf;
    for (int a = 0; a < 4; a++) {
        arr[a] = buf;
        buf += lens[a];
        const wd_tensor_info *t = need_tensor(st, where, names[a], d1[a] ? 2 : 1, d0[a], d1[a]);
        if (!t) return WD_ERR_FORMAT;
        if (t->dtype != WD_DTYPE_F32)
            return wd__fail(WD_ERR_FORMAT, "%s: tensor '%s' must be F32, is %s", where, names[a],
                            wd_dtype_name(t->dtype));
        if ((rc = wd_tensor_read_f32(t, arr[a], lens[a]))) return rc;
        /* a NaN weight would make every verdict NaN, and so would huge
         * finite ones (inf - inf in a sum): a trained model's are O(1) */
        for (size_t i = 0; i < lens[a]; i++)
            if (!(fabsf(arr[a][i]) <= WD_TEXTCNN_MAX_WEIGHT) || (a == 0 && arr[a][i] < 0))
                return wd__fail(WD_ERR_FORMAT, "%s: tensor '%s': element %zu is %g (need a finite value%s of at most %g)",
                                where, names[a], i, (double)arr[a][i], a == 0 ? ", not negative," : "",
                                (double)WD_TEXTCNN_MAX_WEIGHT);
    }
    c->emb_scale = arr[0];
    c->conv = arr[1];
    c->conv_b = arr[2];
    c->head = arr[3];
    m->is_cnn = 1;
    return WD_OK;
}

/* Takes ownership of st (freed on failure). */
static wd_status from_safetensors(wd_safetensors *st, const char *where, wd_textclf **out) {
    wd_status rc;
    wd_textclf *m = calloc(1, sizeof *m);
    if (!m) {
        wd_safetensors_free(st);
        return wd__fail(WD_ERR_NOMEM, "%s: out of memory", where);
    }
    m->st = st;
    const char *fmt = wd_safetensors_metadata_get(st, "format");
    if (!fmt || strcmp(fmt, WD_TEXTCLF_FORMAT)) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: not a warden text classifier (__metadata__ 'format' is %s%s%s, expected '%s')",
                      where, fmt ? "'" : "", fmt ? fmt : "missing", fmt ? "'" : "", WD_TEXTCLF_FORMAT);
        goto fail;
    }
    long ver, bits, nf;
    if ((rc = meta_int(st, where, "version", 0, 1000, &ver))) goto fail;
    if (ver != WD_TEXTCLF_VERSION) {
        rc = wd__fail(WD_ERR_UNSUPPORTED, "%s: model version %ld, this warden reads version %d",
                      where, ver, WD_TEXTCLF_VERSION);
        goto fail;
    }
    if ((rc = meta_int(st, where, "hash_bits", 10, 24, &bits))) goto fail;
    if ((rc = meta_int(st, where, "norm_flags", 0, 0xffff, &nf))) goto fail;
    m->cfg.hash_bits = (int)bits;
    m->cfg.norm_flags = (unsigned)nf;
    const char *wr = wd_safetensors_metadata_get(st, "word_ngrams");
    const char *cr = wd_safetensors_metadata_get(st, "char_ngrams");
    if (!wr || parse_range(wr, &m->cfg.word_min, &m->cfg.word_max)) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: __metadata__ 'word_ngrams' missing or not MIN-MAX", where);
        goto fail;
    }
    if (!cr || parse_range(cr, &m->cfg.char_min, &m->cfg.char_max)) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: __metadata__ 'char_ngrams' missing or not MIN-MAX", where);
        goto fail;
    }
    const char *cc = wd_safetensors_metadata_get(st, "concepts");
    if (cc && strcmp(cc, "wordnet-1") && strcmp(cc, "none")) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: __metadata__ 'concepts' is '%s', expected wordnet-1 or none",
                      where, cc);
        goto fail;
    }
    m->cfg.concepts = cc && !strcmp(cc, "wordnet-1");
    if ((rc = check_cfg(&m->cfg, where))) goto fail;

    const char *lab = wd_safetensors_metadata_get(st, "labels");
    if (!lab || !lab[0]) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: __metadata__ lacks 'labels'", where);
        goto fail;
    }
    {
        char buf[1024];
        if (strlen(lab) >= sizeof buf) {
            rc = wd__fail(WD_ERR_FORMAT, "%s: __metadata__ 'labels' too long", where);
            goto fail;
        }
        strcpy(buf, lab);
        const char *names[WD_TEXTCLF_MAX_LABELS + 1];
        size_t n = 0;
        for (char *tok = buf;;) {
            char *comma = strchr(tok, ',');
            if (comma) *comma = 0;
            if (n == WD_TEXTCLF_MAX_LABELS + 1) break;
            names[n++] = tok;
            if (!comma) break;
            tok = comma + 1;
        }
        if ((rc = set_labels(m, n, names, where))) goto fail;
    }
    const char *hh = wd_safetensors_metadata_get(st, "hazard_head");
    if (hh && strcmp(hh, "softmax") && strcmp(hh, "sigmoid")) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: __metadata__ 'hazard_head' is '%s', expected softmax or sigmoid",
                      where, hh);
        goto fail;
    }
    m->softmax_hazards = hh && !strcmp(hh, "softmax");
    if (m->softmax_hazards && (rc = check_hazard_labels(m, where))) goto fail;
    size_t D = (size_t)1 << m->cfg.hash_bits, L = m->n_labels;
    const char *arch = wd_safetensors_metadata_get(st, "arch");
    if (arch && strcmp(arch, "linear") && strcmp(arch, "cnn")) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: __metadata__ 'arch' is '%s', expected linear or cnn", where, arch);
        goto fail;
    }
    if (arch && !strcmp(arch, "cnn")) {
        const wd_tensor_info *tcb = need_tensor(st, where, "bias", 1, (int64_t)L, 0);
        if (!tcb) {
            rc = WD_ERR_FORMAT;
            goto fail;
        }
        if ((rc = cnn_from_safetensors(m, st, where)) || (rc = wd_tensor_read_f32(tcb, m->bias, L))) goto fail;
        for (size_t l = 0; l < L; l++) m->scale[l] = 1.0f;
        goto thresholds;
    }
    const wd_tensor_info *tw = need_tensor(st, where, "weight", 2, (int64_t)D, (int64_t)L);
    const wd_tensor_info *ts = tw ? need_tensor(st, where, "scale", 1, (int64_t)L, 0) : NULL;
    const wd_tensor_info *tb = ts ? need_tensor(st, where, "bias", 1, (int64_t)L, 0) : NULL;
    if (!tb) {
        rc = WD_ERR_FORMAT;
        goto fail;
    }
    if (tw->dtype != WD_DTYPE_I8) {
        rc = wd__fail(WD_ERR_FORMAT, "%s: tensor 'weight' must be I8, is %s", where,
                      wd_dtype_name(tw->dtype));
        goto fail;
    }
    m->w = tw->data;
    if ((rc = wd_tensor_read_f32(ts, m->scale, L)) || (rc = wd_tensor_read_f32(tb, m->bias, L)))
        goto fail;
thresholds:;
    const wd_tensor_info *tt = wd_safetensors_find(st, "threshold");
    if (tt) {
        if (!need_tensor(st, where, "threshold", 1, (int64_t)L, 0)) {
            rc = WD_ERR_FORMAT;
            goto fail;
        }
        if ((rc = wd_tensor_read_f32(tt, m->thr, L))) goto fail;
    } else {
        for (size_t l = 0; l < L; l++) m->thr[l] = 0.5f;
    }
    for (size_t l = 0; l < L; l++) {
        if (!isfinite(m->scale[l]) || !isfinite(m->bias[l]) || !isfinite(m->thr[l]) ||
            m->scale[l] < 0) {
            rc = wd__fail(WD_ERR_FORMAT, "%s: label '%s': scale, bias or threshold not finite (or negative scale)",
                          where, m->labels[l]);
            goto fail;
        }
    }
    *out = m;
    return WD_OK;
fail:
    wd_textclf_free(m);
    return rc;
}

wd_status wd_textclf_load(const char *path, wd_textclf **out) {
    if (out) *out = NULL;
    if (!path || !out) return wd__fail(WD_ERR_INVALID_ARG, "textclf_load: NULL argument");
    wd_safetensors *st;
    wd_status rc = wd_safetensors_open(path, &st);
    if (rc) return rc;
    return from_safetensors(st, path, out);
}

wd_status wd_textclf_from_memory(const void *data, size_t len, wd_textclf **out) {
    if (out) *out = NULL;
    if (!out || (!data && len)) return wd__fail(WD_ERR_INVALID_ARG, "textclf_from_memory: NULL argument");
    wd_safetensors *st;
    wd_status rc = wd_safetensors_open_memory(data, len, "<memory model>", &st);
    if (rc) return rc;
    return from_safetensors(st, "<memory model>", out);
}

wd_status wd_textclf_save(const wd_textclf *m, const char *path, size_t n_meta,
                           const char *const *meta_keys, const char *const *meta_values) {
    if (!m || !path) return wd__fail(WD_ERR_INVALID_ARG, "textclf_save: NULL argument");
    wd_safetensors_writer *w;
    wd_status rc = wd_safetensors_writer_new(&w);
    if (rc) return rc;
    size_t D = (size_t)1 << m->cfg.hash_bits, L = m->n_labels;
    int64_t shw[2] = {(int64_t)D, (int64_t)L}, shl[1] = {(int64_t)L};
    char buf[1100], num[32];
    size_t off = 0;
    for (size_t l = 0; l < L && off < sizeof buf; l++)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s", l ? "," : "", m->labels[l]);
    if (m->is_cnn) {
        const wd__textcnn *c = &m->cnn;
        int64_t V = (int64_t)1 << c->sh.bits, Dm = c->sh.dim, F = c->sh.filters, K = (int64_t)c->sh.width * Dm;
        int64_t she[2] = {V, Dm}, shv[1] = {V}, shc[2] = {K, F}, shf[1] = {F}, shh[2] = {F, (int64_t)L};
        if ((rc = wd_safetensors_writer_add(w, "cnn.embed", WD_DTYPE_I8, she, 2, c->emb)) ||
            (rc = wd_safetensors_writer_add(w, "cnn.embed_scale", WD_DTYPE_F32, shv, 1, c->emb_scale)) ||
            (rc = wd_safetensors_writer_add(w, "cnn.conv", WD_DTYPE_F32, shc, 2, c->conv)) ||
            (rc = wd_safetensors_writer_add(w, "cnn.conv_bias", WD_DTYPE_F32, shf, 1, c->conv_b)) ||
            (rc = wd_safetensors_writer_add(w, "cnn.head", WD_DTYPE_F32, shh, 2, c->head)) ||
            (rc = wd_safetensors_writer_add_metadata(w, "arch", "cnn")))
            goto done;
        snprintf(num, sizeof num, "%d", c->sh.dim);
        if ((rc = wd_safetensors_writer_add_metadata(w, "cnn_dim", num))) goto done;
        snprintf(num, sizeof num, "%d", c->sh.filters);
        if ((rc = wd_safetensors_writer_add_metadata(w, "cnn_filters", num))) goto done;
        snprintf(num, sizeof num, "%d", c->sh.width);
        if ((rc = wd_safetensors_writer_add_metadata(w, "cnn_width", num))) goto done;
    } else if ((rc = wd_safetensors_writer_add(w, "weight", WD_DTYPE_I8, shw, 2, m->w)) ||
               (rc = wd_safetensors_writer_add(w, "scale", WD_DTYPE_F32, shl, 1, m->scale)))
        goto done;
    if ((rc = wd_safetensors_writer_add(w, "bias", WD_DTYPE_F32, shl, 1, m->bias)) ||
        (rc = wd_safetensors_writer_add(w, "threshold", WD_DTYPE_F32, shl, 1, m->thr)))
        goto done;
    if ((rc = wd_safetensors_writer_add_metadata(w, "format", WD_TEXTCLF_FORMAT))) goto done;
    snprintf(num, sizeof num, "%d", WD_TEXTCLF_VERSION);
    if ((rc = wd_safetensors_writer_add_metadata(w, "version", num))) goto done;
    snprintf(num, sizeof num, "%d", m->cfg.hash_bits);
    if ((rc = wd_safetensors_writer_add_metadata(w, "hash_bits", num))) goto done;
    snprintf(num, sizeof num, "%d-%d", m->cfg.word_min, m->cfg.word_max);
    if ((rc = wd_safetensors_writer_add_metadata(w, "word_ngrams", num))) goto done;
    snprintf(num, sizeof num, "%d-%d", m->cfg.char_min, m->cfg.char_max);
    if ((rc = wd_safetensors_writer_add_metadata(w, "char_ngrams", num))) goto done;
    snprintf(num, sizeof num, "%u", m->cfg.norm_flags);
    if ((rc = wd_safetensors_writer_add_metadata(w, "norm_flags", num))) goto done;
    if ((rc = wd_safetensors_writer_add_metadata(w, "labels", buf))) goto done;
    if (m->cfg.concepts && (rc = wd_safetensors_writer_add_metadata(w, "concepts", "wordnet-1")))
        goto done;
    if ((rc = wd_safetensors_writer_add_metadata(w, "hazard_head",
                                                 m->softmax_hazards ? "softmax" : "sigmoid")))
        goto done;
    for (size_t i = 0; i < n_meta; i++)
        if ((rc = wd_safetensors_writer_add_metadata(w, meta_keys[i], meta_values[i]))) goto done;
    rc = wd_safetensors_writer_write(w, path);
    if (rc) wd__fail(rc, "%s", wd_safetensors_writer_last_error(w));
done:
    wd_safetensors_writer_free(w);
    return rc;
}


/*
 * train/save.c - writing trained models, adapters and training state (see
 * save.h).
 */
#include "train/save.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "io/folder.h"

/* The value of d's tensor t with its adapter merged, into out (t->n). */
static void merged(const wd__tdec *d, const wd__tparam *t, float *out) {
    memcpy(out, t->w, t->n * sizeof *out);
    for (size_t l = 0; d && l < d->L; l++)
        for (int i = 0; i < WD__LORA_N_TARGETS; i++) {
            const wd__lora *a = d->lay[l].lora[i];
            if (!a || a->base != t) continue;
            for (size_t o = 0; o < a->out; o++)
                for (size_t k = 0; k < a->r; k++) {
                    float b = a->scale * a->B->w[o * a->r + k];
                    if (b == 0.0f) continue;
                    const float *ar = a->A->w + k * a->in;
                    float *row = out + o * a->in;
                    for (size_t c = 0; c < a->in; c++) row[c] += b * ar[c];
                }
        }
}

wd_status wd__save_model(const wd__tparams *P, const wd__tdec *d, const char *out, wd_dtype dtype,
                         wd__err *err) {
    wd_safetensors_writer *w = NULL;
    wd_status rc = wd_safetensors_writer_new(&w);
    if (rc) return wd__err_set(err, rc, "out of memory");
    void **bufs = calloc(P->n, sizeof *bufs);
    if (!bufs) rc = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < P->n && !rc; i++) {
        const wd__tparam *t = P->t[i];
        if (!t->save) continue;
        float *f = malloc(t->n * sizeof *f);
        if (!f) {
            rc = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
            break;
        }
        merged(d, t, f);
        bufs[i] = f;
        if (dtype == WD_DTYPE_F16 || dtype == WD_DTYPE_BF16) {
            uint16_t *h = malloc(t->n * sizeof *h);
            if (!h) {
                rc = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
                break;
            }
            if (dtype == WD_DTYPE_F16) wd_f32_to_f16(h, f, t->n);
            else wd_f32_to_bf16(h, f, t->n);
            free(f);
            bufs[i] = h;
        }
        int64_t shape[2] = {(int64_t)t->rows, (int64_t)t->cols};
        rc = wd_safetensors_writer_add(w, t->name, dtype, shape, t->cols > 1 ? 2 : 1, bufs[i]);
        if (rc) wd__err_set(err, rc, "%s", wd_safetensors_writer_last_error(w));
    }
    if (!rc) {
        wd_safetensors_writer_add_metadata(w, "format", "pt");
        char *path = wd__path_join(out, "model.safetensors");
        if (!path) rc = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
        else if ((rc = wd_safetensors_writer_write(w, path)))
            wd__err_set(err, rc, "%s", wd_safetensors_writer_last_error(w));
        free(path);
    }
    for (size_t i = 0; bufs && i < P->n; i++) free(bufs[i]);
    free(bufs);
    wd_safetensors_writer_free(w);
    return rc;
}

wd_status wd__save_adapter(const wd__tdec *d, const char *base_model, const char *out,
                           wd__err *err) {
    wd_status rc = wd__mkdir_p(out);
    if (rc) return wd__err_take(err, rc);
    wd_safetensors_writer *w = NULL;
    if ((rc = wd_safetensors_writer_new(&w))) return wd__err_set(err, rc, "out of memory");
    for (size_t i = 0; i < d->P.n && !rc; i++) {
        const wd__tparam *t = d->P.t[i];
        if (!strstr(t->name, ".lora_")) continue;
        int64_t shape[2] = {(int64_t)t->rows, (int64_t)t->cols};
        if ((rc = wd_safetensors_writer_add(w, t->name, WD_DTYPE_F32, shape, 2, t->w)))
            wd__err_set(err, rc, "%s", wd_safetensors_writer_last_error(w));
    }
    char *path = wd__path_join(out, "adapter_model.safetensors");
    if (!rc && (rc = wd_safetensors_writer_write(w, path)))
        wd__err_set(err, rc, "%s", wd_safetensors_writer_last_error(w));
    free(path);
    wd_safetensors_writer_free(w);
    if (rc) return rc;
    cJSON *c = cJSON_CreateObject(), *tm = cJSON_AddArrayToObject(c, "target_modules");
    for (int i = 0; i < WD__LORA_N_TARGETS; i++)
        if (d->lora.targets & (1u << i))
            cJSON_AddItemToArray(tm, cJSON_CreateString(wd__lora_target_name(i)));
    cJSON_AddStringToObject(c, "peft_type", "LORA");
    cJSON_AddStringToObject(c, "task_type", "CAUSAL_LM");
    cJSON_AddStringToObject(c, "base_model_name_or_path", base_model);
    cJSON_AddNumberToObject(c, "r", d->lora.rank);
    cJSON_AddNumberToObject(c, "lora_alpha", d->lora.alpha);
    cJSON_AddNumberToObject(c, "lora_dropout", 0.0);
    cJSON_AddStringToObject(c, "bias", "none");
    cJSON_AddBoolToObject(c, "fan_in_fan_out", false);
    cJSON_AddBoolToObject(c, "inference_mode", true);
    char *text = cJSON_Print(c);
    cJSON_Delete(c);
    path = wd__path_join(out, "adapter_config.json");
    if (!text || !path) rc = wd__err_set(err, WD_ERR_NOMEM, "out of memory");
    else if ((rc = wd__file_write_atomic(path, text, strlen(text)))) wd__err_take(err, rc);
    free(text), free(path);
    return rc;
}

wd_status wd__save_state(const wd__tparams *P, const float *m, const float *v,
                         const wd__train_state *s, const char *path, wd__err *err) {
    wd_safetensors_writer *w = NULL;
    wd_status rc = wd_safetensors_writer_new(&w);
    if (rc) return wd__err_set(err, rc, "out of memory");
    for (size_t i = 0; i < P->n && !rc; i++) {
        const wd__tparam *t = P->t[i];
        if (!t->trainable) continue;
        int64_t shape[1] = {(int64_t)t->n};
        rc = wd_safetensors_writer_add(w, t->name, WD_DTYPE_F32, shape, 1, t->w);
    }
    int64_t ng[1] = {(int64_t)P->n_grad};
    if (!rc) rc = wd_safetensors_writer_add(w, "__adamw.m", WD_DTYPE_F32, ng, 1, m);
    if (!rc) rc = wd_safetensors_writer_add(w, "__adamw.v", WD_DTYPE_F32, ng, 1, v);
    char num[32];
#define META(k, x) (snprintf(num, sizeof num, "%" PRIu64, (uint64_t)(x)), wd_safetensors_writer_add_metadata(w, k, num))
    if (!rc) META("step", s->step), META("epoch", s->epoch), META("cursor", s->cursor), META("seed", s->seed);
#undef META
    if (!rc) rc = wd_safetensors_writer_write(w, path);
    if (rc) wd__err_set(err, rc, "%s", wd_safetensors_writer_last_error(w));
    wd_safetensors_writer_free(w);
    return rc;
}

wd_status wd__load_state(wd__tparams *P, float *m, float *v, wd__train_state *s,
                         const char *path, wd__err *err) {
    wd_safetensors *st = NULL;
    wd_status rc = wd_safetensors_open(path, &st);
    if (rc) return wd__err_take(err, rc);
    for (size_t i = 0; i < P->n && !rc; i++) {
        wd__tparam *t = P->t[i];
        if (!t->trainable) continue;
        const wd_tensor_info *ti = wd_safetensors_find(st, t->name);
        if (!ti || ti->n_elem != t->n)
            rc = wd__err_set(err, WD_ERR_FORMAT,
                             "%s: tensor '%s' is missing or has another size: the state was saved "
                             "with other settings (LoRA, frozen layers)",
                             path, t->name);
        else
            rc = wd_tensor_read_f32(ti, t->w, t->n);
    }
    const wd_tensor_info *tm = wd_safetensors_find(st, "__adamw.m"), *tv = wd_safetensors_find(st, "__adamw.v");
    if (!rc && (!tm || !tv || tm->n_elem != P->n_grad || tv->n_elem != P->n_grad))
        rc = wd__err_set(err, WD_ERR_FORMAT, "%s: the optimiser state does not match the model", path);
    if (!rc) rc = wd_tensor_read_f32(tm, m, P->n_grad);
    if (!rc) rc = wd_tensor_read_f32(tv, v, P->n_grad);
    const char *keys[4] = {"step", "epoch", "cursor", "seed"};
    uint64_t *vals[4] = {&s->step, &s->epoch, &s->cursor, &s->seed};
    for (int k = 0; k < 4 && !rc; k++) {
        const char *x = wd_safetensors_metadata_get(st, keys[k]);
        if (!x) rc = wd__err_set(err, WD_ERR_FORMAT, "%s: metadata '%s' is missing", path, keys[k]);
        else *vals[k] = strtoull(x, NULL, 10);
    }
    wd_safetensors_free(st);
    return rc;
}

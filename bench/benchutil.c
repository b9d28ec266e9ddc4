/*
 * bench/benchutil.c - see benchutil.h.
 */
#include "benchutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "warden/warden.h"
#include "base/rng.h"

double wdb_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double wdb_percentile(double *x, size_t n, double p) {
    if (n == 0) return 0;
    qsort(x, n, sizeof *x, cmp_double);
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return x[i < n ? i : n - 1];
}

double wdb_median(double *x, size_t n) { return wdb_percentile(x, n, 50); }

/* ==== random Llama-shaped checkpoints ==================================== */


uint64_t wdb_rng_next(uint64_t *s) { return wd__rng_next(s); }

void wdb_fill(float *x, size_t n, float scale, uint64_t *s) {
    for (size_t i = 0; i < n; i += 2) {
        uint64_t r = wdb_rng_next(s);
        x[i] = ((float)(uint32_t)r * (1.0f / 4294967296.0f) - 0.5f) * 2.0f * scale;
        if (i + 1 < n) x[i + 1] = ((float)(uint32_t)(r >> 32) * (1.0f / 4294967296.0f) - 0.5f) * 2.0f * scale;
    }
}

/* One shard: the named tensors with their shapes, random (norms = 1). */
typedef struct gtensor {
    char    name[96];
    int64_t shape[2];
    int     ndim;
    bool    norm;
} gtensor;

static int write_shard(const char *dir, const char *file, gtensor *ts, size_t n, uint64_t *seed,
                       cJSON *wm) {
    wd_safetensors_writer *w = NULL;
    if (wd_safetensors_writer_new(&w)) return 1;
    float **bufs = calloc(n, sizeof *bufs);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        size_t ne = (size_t)ts[i].shape[0] * (ts[i].ndim == 2 ? (size_t)ts[i].shape[1] : 1);
        bufs[i] = malloc(ne * sizeof(float));
        if (!bufs[i]) { rc = 1; break; }
        if (ts[i].norm)
            for (size_t j = 0; j < ne; j++) bufs[i][j] = 1.0f;
        else
            wdb_fill(bufs[i], ne, 0.02f, seed);
        rc = wd_safetensors_writer_add(w, ts[i].name, WD_DTYPE_F32, ts[i].shape, ts[i].ndim, bufs[i]) != 0;
        cJSON_AddStringToObject(wm, ts[i].name, file);
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (!rc) rc = wd_safetensors_writer_write(w, path) != 0;
    for (size_t i = 0; i < n; i++) free(bufs[i]);
    free(bufs);
    wd_safetensors_writer_free(w);
    return rc;
}

int wdb_gen_llama(const char *dir, const wdb_shape *s) {
    long D = s->C / s->H;
    uint64_t seed = 1;
    cJSON *idx = cJSON_CreateObject(), *wm = cJSON_AddObjectToObject(idx, "weight_map");
    char file[64];
    gtensor t[16];
    int rc = 0;
    /* shard 0: embeddings, final norm, lm_head; shards 1..L: layers */
    memset(t, 0, sizeof t);
    snprintf(t[0].name, sizeof t[0].name, "model.embed_tokens.weight");
    t[0].shape[0] = s->V, t[0].shape[1] = s->C, t[0].ndim = 2;
    snprintf(t[1].name, sizeof t[1].name, "model.norm.weight");
    t[1].shape[0] = s->C, t[1].ndim = 1, t[1].norm = true;
    snprintf(t[2].name, sizeof t[2].name, "lm_head.weight");
    t[2].shape[0] = s->V, t[2].shape[1] = s->C, t[2].ndim = 2;
    snprintf(file, sizeof file, "model-%05d-of-%05ld.safetensors", 1, s->L + 1);
    rc |= write_shard(dir, file, t, 3, &seed, wm);
    for (long l = 0; l < s->L && !rc; l++) {
        static const char *names[] = {"input_layernorm", "self_attn.q_proj", "self_attn.k_proj",
                                      "self_attn.v_proj", "self_attn.o_proj",
                                      "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj",
                                      "mlp.down_proj"};
        long rows[] = {s->C, s->H * D, s->KV * D, s->KV * D, s->C, s->C, s->F, s->F, s->C};
        long cols[] = {0, s->C, s->C, s->C, s->H * D, 0, s->C, s->C, s->F};
        memset(t, 0, sizeof t);
        for (int i = 0; i < 9; i++) {
            snprintf(t[i].name, sizeof t[i].name, "model.layers.%ld.%s.weight", l, names[i]);
            t[i].shape[0] = rows[i];
            t[i].shape[1] = cols[i];
            t[i].ndim = cols[i] ? 2 : 1;
            t[i].norm = !cols[i];
        }
        snprintf(file, sizeof file, "model-%05ld-of-%05ld.safetensors", l + 2, s->L + 1);
        rc |= write_shard(dir, file, t, 9, &seed, wm);
    }
    char *txt = cJSON_Print(idx);
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    FILE *f = fopen(path, "w");
    if (!f || fputs(txt, f) < 0) rc = 1;
    if (f) fclose(f);
    free(txt);
    cJSON_Delete(idx);
    snprintf(path, sizeof path, "%s/config.json", dir);
    f = fopen(path, "w");
    if (!f) return 1;
    fprintf(f,
            "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", "
            "\"vocab_size\": %ld, \"hidden_size\": %ld, \"intermediate_size\": %ld, "
            "\"num_hidden_layers\": %ld, \"num_attention_heads\": %ld, "
            "\"num_key_value_heads\": %ld, \"max_position_embeddings\": 4096, "
            "\"rms_norm_eps\": 1e-5, \"rope_theta\": 10000.0, \"tie_word_embeddings\": false, "
            "\"bos_token_id\": 1, \"eos_token_id\": 2, \"torch_dtype\": \"float32\"}\n",
            s->V, s->C, s->F, s->L, s->H, s->KV);
    fclose(f);
    return rc;
}

void wdb_rm_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

int wdb_gen_llama_child(const char *dir, const wdb_shape *s) {
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) _exit(wdb_gen_llama(dir, s));
    int st = 0;
    if (waitpid(pid, &st, 0) < 0) return 1;
    return !WIFEXITED(st) || WEXITSTATUS(st) ? 1 : 0;
}

int wdb_copy_file(const char *from, const char *to) {
    FILE *a = fopen(from, "rb"), *b = a ? fopen(to, "wb") : NULL;
    if (!a || !b) {
        if (a) fclose(a);
        return 1;
    }
    char buf[1 << 16];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0)
        if (fwrite(buf, 1, n, b) != n) rc = 1;
    fclose(a);
    if (fclose(b)) rc = 1;
    return rc;
}

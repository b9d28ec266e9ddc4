/*
 * base/file.c - maps, reads and atomic writes (see base/file.h).
 */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"

wd_status wd__map_open(wd__map *m, const char *path) {
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return wd__fail(errno == ENOENT ? WD_ERR_NOT_FOUND : WD_ERR_IO,
                                "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return wd__fail(WD_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return wd__fail(WD_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return wd__fail(WD_ERR_IO, "%s: cannot mmap: %s", path, strerror(e));
        }
        m->data = p;
        m->size = (size_t)st.st_size;
    }
    close(fd); /* the mapping keeps the file alive */
    return WD_OK;
}

void wd__map_prefetch(const wd__map *m) {
    if (!m || !m->data || !m->size) return;
    (void)madvise((void *)m->data, m->size, MADV_SEQUENTIAL);
    (void)madvise((void *)m->data, m->size, MADV_WILLNEED);
}

void wd__map_close(wd__map *m) {
    if (m && m->data) munmap((void *)m->data, m->size);
    if (m) memset(m, 0, sizeof *m);
}

wd_status wd__file_read(const char *path, size_t max_len, char **out, size_t *len) {
    *out = NULL;
    if (len) *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return wd__fail(errno == ENOENT ? WD_ERR_NOT_FOUND : WD_ERR_IO,
                            "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return wd__fail(WD_ERR_NOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (n + 1 >= cap) {
            if (max_len && cap > max_len + 1) break;
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return wd__fail(WD_ERR_NOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (max_len && n > max_len) break;
        if (r == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return wd__fail(WD_ERR_IO, "%s: read error", path);
    }
    if (max_len && n > max_len) {
        free(buf);
        return wd__fail(WD_ERR_RANGE, "%s: larger than the limit of %zu bytes", path, max_len);
    }
    buf[n] = '\0';
    *out = buf;
    if (len) *len = n;
    return WD_OK;
}

static char *dir_of(const char *path) {
    char *copy = strdup(path);
    if (!copy) return NULL;
    char *d = strdup(dirname(copy));
    free(copy);
    return d;
}

wd_status wd__atomic_open(wd__atomic_file *af, const char *path) {
    memset(af, 0, sizeof *af);
    char *copy = strdup(path);
    char *dir = dir_of(path);
    if (!copy || !dir) {
        free(copy);
        free(dir);
        return wd__fail(WD_ERR_NOMEM, "%s: out of memory", path);
    }
    const char *base = basename(copy);
    size_t need = strlen(dir) + strlen(base) + 32;
    af->tmp_path = malloc(need);
    af->path = strdup(path);
    if (!af->tmp_path || !af->path) {
        free(copy);
        free(dir);
        wd__atomic_abort(af);
        return wd__fail(WD_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(af->tmp_path, need, "%s/.%s.tmp-XXXXXX", dir, base);
    free(copy);
    free(dir);
    int fd = mkstemp(af->tmp_path);
    if (fd < 0) {
        int e = errno;
        free(af->tmp_path);
        af->tmp_path = NULL;
        wd__atomic_abort(af);
        return wd__fail(WD_ERR_IO, "%s: cannot create a temporary file beside it: %s", path,
                        strerror(e));
    }
    fchmod(fd, 0644);
    af->fp = fdopen(fd, "wb");
    if (!af->fp) {
        close(fd);
        wd__atomic_abort(af);
        return wd__fail(WD_ERR_IO, "%s: fdopen failed", path);
    }
    return WD_OK;
}

void wd__atomic_abort(wd__atomic_file *af) {
    if (!af) return;
    if (af->fp) fclose(af->fp);
    if (af->tmp_path) unlink(af->tmp_path);
    free(af->tmp_path);
    free(af->path);
    memset(af, 0, sizeof *af);
}

wd_status wd__atomic_commit(wd__atomic_file *af) {
    const char *path = af->path ? af->path : "(null)";
    if (!af->fp) {
        wd__atomic_abort(af);
        return wd__fail(WD_ERR_INVALID_ARG, "atomic commit on a closed file");
    }
    if (fflush(af->fp) != 0 || ferror(af->fp) || fsync(fileno(af->fp)) != 0) {
        int e = errno;
        wd_status st = wd__fail(WD_ERR_IO, "%s: write failed: %s", path, strerror(e));
        wd__atomic_abort(af);
        return st;
    }
    int rc = fclose(af->fp);
    af->fp = NULL;
    if (rc != 0 || rename(af->tmp_path, af->path) != 0) {
        int e = errno;
        wd_status st = wd__fail(WD_ERR_IO, "%s: cannot move into place: %s", path, strerror(e));
        wd__atomic_abort(af);
        return st;
    }
    char *dir = dir_of(af->path);
    if (dir) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    free(af->tmp_path);
    free(af->path);
    memset(af, 0, sizeof *af);
    return WD_OK;
}

wd_status wd__file_write_atomic(const char *path, const void *data, size_t len) {
    wd__atomic_file af;
    wd_status st = wd__atomic_open(&af, path);
    if (st) return st;
    if (len && fwrite(data, 1, len, af.fp) != len) {
        wd__atomic_abort(&af);
        return wd__fail(WD_ERR_IO, "%s: write failed", path);
    }
    return wd__atomic_commit(&af);
}

bool wd__path_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool wd__path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

char *wd__path_join(const char *dir, const char *name) {
    size_t dl = dir ? strlen(dir) : 0, nl = strlen(name);
    char *p = malloc(dl + nl + 2);
    if (!p) return NULL;
    if (dl == 0) {
        memcpy(p, name, nl + 1);
        return p;
    }
    memcpy(p, dir, dl);
    size_t k = dl;
    if (p[k - 1] != '/') p[k++] = '/';
    memcpy(p + k, name, nl + 1);
    return p;
}

wd_status wd__mkdir_p(const char *path) {
    char *p = strdup(path);
    if (!p) return wd__fail(WD_ERR_NOMEM, "out of memory");
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            wd_status st = wd__fail(WD_ERR_IO, "%s: cannot create: %s", p, strerror(e));
            free(p);
            return st;
        }
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
        int e = errno;
        wd_status st = wd__fail(WD_ERR_IO, "%s: cannot create: %s", p, strerror(e));
        free(p);
        return st;
    }
    free(p);
    return WD_OK;
}

/* ==== public (warden/base.h) ============================================= */

wd_status wd_file_read(const char *path, size_t max_len, char **out, size_t *len) {
    size_t n = 0;
    if (!out) return wd__fail(WD_ERR_INVALID_ARG, "wd_file_read: out is NULL");
    *out = NULL;
    if (!path) return wd__fail(WD_ERR_INVALID_ARG, "wd_file_read: path is NULL");
    wd_status st = wd__file_read(path, max_len, out, &n);
    if (len) *len = st ? 0 : n;
    return st;
}

wd_status wd_file_write_atomic(const char *path, const void *data, size_t len) {
    if (!path || (!data && len)) return wd__fail(WD_ERR_INVALID_ARG, "wd_file_write_atomic: NULL argument");
    return wd__file_write_atomic(path, data, len);
}

wd_status wd_file_write_atomic_with(const char *path, wd_file_fill_fn fill, void *user) {
    if (!path || !fill) return wd__fail(WD_ERR_INVALID_ARG, "wd_file_write_atomic_with: NULL argument");
    wd__atomic_file af;
    memset(&af, 0, sizeof af);
    wd_status st = wd__atomic_open(&af, path);
    if (st) return st;
    if ((st = fill(af.fp, user))) {
        wd__atomic_abort(&af);
        return st;
    }
    return wd__atomic_commit(&af);
}

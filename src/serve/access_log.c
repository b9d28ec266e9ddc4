/*
 * serve/access_log.c - the end of every request (answered by a worker or by
 * the gate, or never answered): its metrics, and its line in the access log.
 *
 * The access log (--access-log FILE, "-" = stderr) is JSON lines, one object
 * per request, written when the request ends:
 *
 *   {"ts":"2026-12-06T19:05:16.123Z","id":"req-...","remote":"127.0.0.1",
 *    "key":"search","method":"POST","path":"/v1/check","status":200,
 *    "bytes_in":21,"bytes_out":130,"duration_ms":0.412,"route":"/v1/check",
 *    <the route's own members, wd__answer.log_extra>,
 *    "aborted":"client_closed"}                      (only when no answer went out)
 *
 * ts is when the request's head arrived (UTC, milliseconds); key is the
 * key's name, never the key. A line is built in memory and written with one
 * write(2) on a descriptor opened with O_APPEND, under a mutex: lines from
 * many threads never interleave, and a request thread waits at most for
 * another thread's single write. Rotation: wd_server_reload reopens the
 * path (after a logrotate-style rename the new lines go to a new file); the
 * descriptor is swapped under the same mutex, so no line is lost or split.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "serve/serve_internal.h"

struct wd__access_log {
    pthread_mutex_t mu; /* guards fd and each write */
    int fd;
    bool own;           /* false: stderr, never closed or reopened */
    char *path;
};

/* ==== The file ============================================================ */

static int open_log(const char *path) {
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

wd_status wd__access_log_open(wd_server *srv, const char *path) {
    srv->alog = NULL;
    if (!path || !path[0]) return WD_OK;
    struct wd__access_log *l = calloc(1, sizeof *l);
    if (!l) return wd__fail(WD_ERR_NOMEM, "serve: out of memory");
    l->own = strcmp(path, "-") != 0;
    l->fd = l->own ? open_log(path) : STDERR_FILENO;
    l->path = strdup(path);
    if (l->fd < 0 || !l->path) {
        wd_status st = l->fd < 0 ? wd__fail(WD_ERR_IO, "serve: access log %s: cannot open: %s", path, strerror(errno))
                                 : wd__fail(WD_ERR_NOMEM, "serve: out of memory");
        if (l->own && l->fd >= 0) close(l->fd);
        free(l->path);
        free(l);
        return st;
    }
    pthread_mutex_init(&l->mu, NULL);
    srv->alog = l;
    return WD_OK;
}

bool wd__access_log_reopen(wd_server *srv) {
    struct wd__access_log *l = srv->alog;
    if (!l || !l->own) return true;
    int fd = open_log(l->path);
    if (fd < 0) {
        wd__fail(WD_ERR_IO, "serve: access log %s: cannot reopen (still writing to the old file): %s",
                 l->path, strerror(errno));
        WD_ERROR("%s", wd_last_error());
        return false;
    }
    pthread_mutex_lock(&l->mu);
    int old = l->fd;
    l->fd = fd;
    pthread_mutex_unlock(&l->mu);
    close(old);
    return true;
}

void wd__access_log_close(wd_server *srv) {
    struct wd__access_log *l = srv->alog;
    if (!l) return;
    if (l->own) close(l->fd);
    pthread_mutex_destroy(&l->mu);
    free(l->path);
    free(l);
    srv->alog = NULL;
}

/* ==== One line ============================================================ */

/* RFC 3339 UTC with milliseconds of the wall-clock time `ago_ns` before now. */
static void rfc3339(char out[64], int64_t ago_ns) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t ms = ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec - ago_ns) / 1000000;
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    /* not strftime: glibc's calls tzset(), a stat of /etc/localtime per line */
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static void write_remote(wd__jsonw *w, const struct sockaddr *sa) {
    char buf[INET6_ADDRSTRLEN] = "";
    const char *s = NULL;
    if (sa && sa->sa_family == AF_INET)
        s = inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, sizeof buf);
    else if (sa && sa->sa_family == AF_INET6)
        s = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, sizeof buf);
    wd__jsonw_cstr(w, s);
}

static void write_line(struct wd__access_log *l, const wd__access_rec *r, int64_t dt_ns) {
    char ts[64];
    rfc3339(ts, dt_ns);
    wd__jsonw w = {0};
    wd__jsonw_printf(&w, "{\"ts\":\"%s\",\"id\":", ts);
    wd__jsonw_cstr(&w, r->request_id);
    wd__jsonw_lit(&w, ",\"remote\":");
    write_remote(&w, r->remote);
    wd__jsonw_lit(&w, ",\"key\":");
    wd__jsonw_cstr(&w, r->key && r->key->name ? r->key->name : "anonymous");
    wd__jsonw_lit(&w, ",\"method\":");
    if (r->method) wd__jsonw_str(&w, r->method, r->method_len);
    else wd__jsonw_lit(&w, "null");
    wd__jsonw_lit(&w, ",\"path\":");
    if (r->path) wd__jsonw_str(&w, r->path, r->path_len);
    else wd__jsonw_lit(&w, "null");
    wd__jsonw_printf(&w, ",\"status\":%d,\"bytes_in\":%llu,\"bytes_out\":%llu,\"duration_ms\":%.3f,\"route\":",
                     r->status, (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out,
                     (double)dt_ns * 1e-6);
    wd__jsonw_cstr(&w, wd__route_name(r->route));
    if (r->log_extra && r->log_extra[0]) {
        wd__jsonw_lit(&w, ",");
        wd__jsonw_lit(&w, r->log_extra);
    }
    if (r->aborted) {
        wd__jsonw_lit(&w, ",\"aborted\":");
        wd__jsonw_cstr(&w, r->aborted);
    }
    wd__jsonw_lit(&w, "}\n");
    size_t len;
    char *line = wd__jsonw_take(&w, &len);
    if (!line) return; /* out of memory: the line is lost, the request is not */
    pthread_mutex_lock(&l->mu);
    size_t off = 0;
    while (off < len) {
        ssize_t k = write(l->fd, line + off, len - off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break; /* disk full, file gone: nothing to do but go on serving */
        off += (size_t)k;
    }
    pthread_mutex_unlock(&l->mu);
    free(line);
}

void wd__server_request_end(wd_server *srv, const wd__access_rec *r) {
    int64_t dt = wd__serve_now_ns() - r->t0_ns;
    if (dt < 0) dt = 0;
    wd__counters_request(&srv->counters, r->route, r->status, (double)dt * 1e-9);
    wd__counters_key(&srv->counters, r->key ? r->key->row : 0, r->status);
    if (srv->alog) write_line(srv->alog, r, dt);
}

/*
 * serve/relay_hub.c - the gate's set of relays (relay.c has one
 * connection's course): TLS credentials, room for a new connection (the
 * oldest stalled one gives way, per address or when all slots are taken;
 * a 503 when none can), the deadlines of every relay (the gate's 100 ms
 * tick), and freeing them after each batch of events.
 */
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "serve/relay_internal.h"

wd_status wd__relay_hub_init(wd__relay_hub *h, wd_server *srv, int ep) {
    memset(h, 0, sizeof *h);
    h->srv = srv;
    h->ep = ep;
    h->max = srv->p.max_connections;
    if (!srv->tls_cert) return WD_OK;
    gnutls_certificate_credentials_t cred;
    if (gnutls_certificate_allocate_credentials(&cred) < 0) return wd__fail(WD_ERR_NOMEM, "serve: TLS: out of memory");
    gnutls_datum_t cert = {(unsigned char *)srv->tls_cert, (unsigned)strlen(srv->tls_cert)};
    gnutls_datum_t key = {(unsigned char *)srv->tls_key, (unsigned)strlen(srv->tls_key)};
    int k = gnutls_certificate_set_x509_key_mem2(cred, &cert, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (k < 0) {
        gnutls_certificate_free_credentials(cred);
        return wd__fail(WD_ERR_INVALID_ARG,
                        "serve: TLS: the --tls-cert and --tls-key files are not a certificate and its "
                        "private key (PEM): %s", gnutls_strerror(k));
    }
    h->tls_cred = cred;
    return WD_OK;
}

void wd__relay_hub_free(wd__relay_hub *h) {
    while (h->first) wd__relay_kill(h->first);
    wd__relay_reap(h);
    if (h->tls_cred) gnutls_certificate_free_credentials(h->tls_cred);
    h->tls_cred = NULL;
}

bool wd__relay_busy(const wd__relay_hub *h) {
    for (const wd__relay *r = h->first; r; r = r->next)
        if (r->pending || r->down_sent < r->down_len) return true;
    return false;
}

void wd__relay_reap(wd__relay_hub *h) {
    while (h->dead) {
        wd__relay *r = h->dead;
        h->dead = r->next;
        wd__relay_free_now(r);
    }
}

/* A relay that has not yet passed a request (TLS handshake or first head). */
static bool unproven(const wd__relay *r) { return r->mfd < 0 && !r->closing && r->dl == DL_HEAD; }

/* Ends a relay whose request head is late: closed while still in its TLS
 * handshake or when kill, else a 408 that it drains. */
static void cut_head(wd__relay *r, bool kill, const char *msg) {
    atomic_fetch_add_explicit(&r->hub->srv->counters.conn_cuts, 1, memory_order_relaxed);
    if (kill || r->st == UP_HANDSHAKE) {
        wd__relay_kill(r);
        return;
    }
    wd__relay_answer_error(r, 408, "request_timeout", msg);
    if (!r->dead) wd__relay_pump(r);
}

/* Makes room for a connection from addr (see wd__relay_open). The list is
 * newest first, so the last match is the oldest. */
static void make_room(wd__relay_hub *h, const struct sockaddr_storage *addr) {
    int per_ip = h->srv->p.max_conns_per_ip, same = 0;
    wd__relay *oldest_same = NULL, *oldest = NULL;
    for (wd__relay *r = h->first; r; r = r->next) {
        if (!unproven(r)) continue;
        oldest = r;
        if (wd__same_host(&r->addr, addr)) {
            oldest_same = r;
            same++;
        }
    }
    bool full = h->n >= h->max;
    wd__relay *victim = per_ip > 0 && same >= per_ip ? oldest_same : full ? oldest : NULL;
    /* a full hub needs the slot now: the victim is closed; otherwise (its
     * address's limit) it gets a 408 and drains, as the gate's do */
    if (victim) cut_head(victim, full, "the request head did not arrive in time (the server needed the connection slot)");
}

/* No room even so (every slot holds a request in progress): a plain-HTTP
 * client gets a 503 it can read; a TLS one only the close. */
static void refuse(const wd__relay_hub *h, int fd) {
    if (!h->tls_cred) {
        wd__answer a = {0};
        wd__gate_error(&a, 503, "server_busy", "the server has no room for another connection; retry");
        char rid[WD__REQUEST_ID_MAX + 1], out[1024];
        wd__server_request_id(h->srv, NULL, 0, rid);
        int n = a.body ? wd__gate_answer_bytes(out, sizeof out, &a, rid) : -1;
        if (n > 0 && send(fd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) > 0) shutdown(fd, SHUT_WR);
        free(a.body);
    }
    close(fd);
}



void wd__relay_open(wd__relay_hub *h, int fd, const struct sockaddr_storage *addr, unsigned addrlen, int64_t t0,
                    int64_t deadline) {
    make_room(h, addr);
    wd__relay *r = h->n < h->max ? wd__relay_new(h, fd, addr, addrlen, t0, deadline) : NULL;
    if (!r) {
        refuse(h, fd);
        WD_DEBUG("serve: relay: no room for a connection (%d open)", h->n);
        return;
    }
    r->next = h->first;
    if (h->first) h->first->prev = r;
    h->first = r;
    h->n++;
    wd__relay_pump(r);
}

void wd__relay_tick(wd__relay_hub *h, int64_t now) {
    wd_server *srv = h->srv;
    for (wd__relay *r = h->first, *next; r; r = next) {
        next = r->next;
        if (r->dl == DL_IDLE && atomic_load(&srv->stopping)) { /* stopping: no next request */
            if (r->down_sent < r->down_len) { /* the last answer's end still to go out */
                wd__relay_stop_requests(r);
                wd__relay_pump(r);
            } else {
                wd__relay_kill(r);
            }
            continue;
        }
        /* a client that stopped reading its answer (the answer waits in
         * down[] and in MHD) is closed after conn_timeout_s without progress */
        if ((r->down_sent < r->down_len || r->bye_again) &&
            now - r->last_out > (int64_t)srv->p.conn_timeout_s * 1000000000) {
            atomic_fetch_add_explicit(&srv->counters.conn_cuts, 1, memory_order_relaxed);
            wd__relay_kill(r);
            continue;
        }
        if (r->dl == DL_NONE || now < r->deadline) continue;
        switch (r->dl) {
        case DL_HEAD: cut_head(r, false, "the request head did not arrive in time"); break;
        default: wd__relay_kill(r); break; /* idle between requests, or drained long enough */
        }
    }
}

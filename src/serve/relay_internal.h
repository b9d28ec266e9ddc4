/*
 * serve/relay_internal.h - what relay.c (one connection's course) and
 * relay_hub.c (the set of them) share.
 */
#ifndef WD_SERVE_RELAY_INTERNAL_H
#define WD_SERVE_RELAY_INTERNAL_H

#include <gnutls/gnutls.h>
#include <sys/socket.h>

#include "serve/http_client.h"
#include "serve/serve_internal.h"

typedef enum up_state {
    UP_HANDSHAKE, /* TLS handshake in progress */
    UP_HEAD,      /* reading the next request head */
    UP_BODY,      /* passing a Content-Length body */
    UP_CHUNKED,   /* passing (and checking) a chunked body */
    UP_WAIT,      /* the request passed; waiting for MHD's answer */
    UP_OFF,       /* no more requests: answering, closing or draining */
} up_state;

typedef enum deadline_kind {
    DL_NONE,
    DL_IDLE,  /* between requests: closed quietly */
    DL_HEAD,  /* a head (or the TLS handshake) under way: 408 */
    DL_DRAIN, /* the answer is out; reading what the client still sends */
} deadline_kind;

struct wd__relay {
    int tag_c, tag_m;             /* epoll data of each side: WD__EP_RELAY_CLIENT / _MHD */
    wd__relay *prev, *next;       /* the hub's list (or its dead list: next) */
    wd__relay_hub *hub;
    int cfd, mfd;                 /* client socket; our end of the socketpair (-1: none yet) */
    uint32_t cev, mev;            /* registered interest (0: not registered) */
    bool c_ready, m_ready;        /* the side may have bytes to read: set by EPOLLIN, cleared by a
                                   * short read (saves a recv that would say EAGAIN) */
    gnutls_session_t tls;         /* NULL: plain HTTP */
    size_t tls_again;             /* length of a record_send that returned AGAIN */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int64_t head_t0;              /* when the current request began (access log) */
    int64_t deadline;
    deadline_kind dl;
    int64_t last_out;             /* when bytes last went to the client (or the relay began) */
    up_state st;
    bool pending;                 /* a passed request awaits MHD's final answer */
    bool client_eof, mhd_eof;     /* each side's end of input seen */
    bool mhd_wdead;               /* MHD's side takes no more bytes */
    bool closing;                 /* flush down[], then shut the client's side and drain */
    bool shut, dead;              /* our sending side shut (draining); killed */
    /* the request body being passed */
    uint64_t left;                /* Content-Length bytes still to come */
    wd__http_chunker chunks;      /* where a chunked body is (http_head.c) */
    /* MHD's answer being passed back */
    wd__http_framer fr;
    wd__http_response resp;
    bool framed;                  /* fr is tracking answers (false after a framing surprise) */
    size_t drained;
    char *up;                     /* [0, up_sent) gone to MHD, [up_sent, up_ok) checked, [up_ok, up_len) not yet */
    size_t up_len, up_ok, up_sent;
    char *down;                   /* [down_sent, down_len) still to send to the client */
    size_t down_len, down_sent;
    char *tail;                   /* the relay's own error answer, queued behind down[] (malloc'd) */
    size_t tail_len;
    bool bye_again;               /* TLS close_notify not yet out (gnutls_bye said AGAIN) */
};

/* Allocates and sets up a relay for the client socket fd (its TLS session
 * when the hub has a certificate), not yet listed; NULL when out of memory
 * (fd left open). */
wd__relay *wd__relay_new(wd__relay_hub *h, int fd, const struct sockaddr_storage *addr, unsigned addrlen,
                         int64_t t0, int64_t deadline);
/* Moves bytes both ways until nothing moves, then sets the epoll interest. */
void wd__relay_pump(wd__relay *r);
/* Closes both sides and unlists r; freed by wd__relay_reap. */
void wd__relay_kill(wd__relay *r);
void wd__relay_free_now(wd__relay *r);
/* Ends the connection with a JSON error after what the client has still
 * to read (MHD's side closed first). */
void wd__relay_answer_error(wd__relay *r, int status, const char *code, const char *msg);
/* No more requests: MHD's answer in progress passes back, then the end. */
void wd__relay_stop_requests(wd__relay *r);

#endif

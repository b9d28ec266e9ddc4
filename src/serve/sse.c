/*
 * serve/sse.c - an incremental parser of server-sent events
 * (text/event-stream, WHATWG HTML "Server-sent events", section 9.2.6),
 * for reading an upstream's streamed chat completion.
 *
 * Bytes are cut into lines at CRLF, LF or CR (a CR at the end of one feed
 * and an LF at the start of the next are one line end); a UTF-8 BOM at the
 * very start is skipped. Each line:
 *
 *   ""            dispatch: when a data field was seen, on_event(event,
 *                 data with its final '\n' removed); then reset both
 *   ":..."        comment, skipped
 *   "data:v"      v (one leading space removed) and '\n' appended to data
 *   "event:v"     the event name (at most 63 bytes kept)
 *   "id:", "retry:", other names: skipped
 *   "name"        (no colon) the field name with an empty value
 *
 * Invariants: the line buffer holds at most max_event + 64 bytes and the
 * data buffer at most max_event + 1, so a stream that never ends a line
 * or an event costs bounded memory. data is NUL-terminated for the
 * callback's convenience (n excludes the NUL).
 */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/util.h"
#include "serve/http_client.h"

#define DEFAULT_MAX_EVENT ((size_t)1 << 20)

static size_t max_event(const wd__sse *s) { return s->max_event ? s->max_event : DEFAULT_MAX_EVENT; }

void wd__sse_init(wd__sse *s, wd__sse_event_fn on_event, void *user) {
    memset(s, 0, sizeof *s);
    s->on_event = on_event;
    s->user = user;
}

void wd__sse_free(wd__sse *s) {
    if (!s) return;
    free(s->line);
    free(s->data);
    s->line = s->data = NULL;
    s->line_len = s->line_cap = s->data_len = s->data_cap = 0;
}

static wd_status dispatch(wd__sse *s) {
    if (!s->has_data) {
        s->event[0] = 0;
        return WD_OK;
    }
    size_t n = s->data_len ? s->data_len - 1 : 0; /* the final '\n' */
    s->data[n] = 0;
    bool go = s->on_event(s->user, s->event, s->data, n);
    s->data_len = 0;
    s->has_data = false;
    s->event[0] = 0;
    return go ? WD_OK : wd__fail(WD_ERR_CANCELLED, "server-sent events: the reader stopped");
}

static wd_status process_line(wd__sse *s, const char *l, size_t n) {
    if (n == 0) return dispatch(s);
    if (l[0] == ':') return WD_OK;
    const char *colon = memchr(l, ':', n);
    size_t name_len = colon ? (size_t)(colon - l) : n;
    const char *v = colon ? colon + 1 : l + n;
    size_t vn = (size_t)(l + n - v);
    if (vn && v[0] == ' ') v++, vn--;
    if (name_len == 4 && !memcmp(l, "data", 4)) {
        if (s->data_len + vn + 1 > max_event(s) + 1)
            return wd__fail(WD_ERR_RANGE, "server-sent events: an event's data over %zu bytes", max_event(s));
        wd_status st = wd__array_grow((void **)&s->data, &s->data_cap, s->data_len + vn + 1, 1);
        if (st) return st;
        memcpy(s->data + s->data_len, v, vn);
        s->data_len += vn;
        s->data[s->data_len++] = '\n';
        s->has_data = true;
    } else if (name_len == 5 && !memcmp(l, "event", 5)) {
        size_t k = vn < sizeof s->event - 1 ? vn : sizeof s->event - 1;
        memcpy(s->event, v, k);
        s->event[k] = 0;
    }
    return WD_OK;
}

wd_status wd__sse_feed(wd__sse *s, const char *p, size_t n) {
    static const char bom[3] = {(char)0xEF, (char)0xBB, (char)0xBF};
    size_t i = 0;
    /* A BOM at the very start (bom_seen counts its bytes, 3 = decided). */
    while (s->bom_seen < 3 && i < n) {
        if (p[i] == bom[s->bom_seen]) {
            s->bom_seen++;
            i++;
            continue;
        }
        /* not a BOM after all: its first bytes were text */
        size_t k = s->bom_seen;
        s->bom_seen = 3;
        if (k) {
            wd_status st = wd__array_grow((void **)&s->line, &s->line_cap, k, 1);
            if (st) return st;
            memcpy(s->line, bom, k);
            s->line_len = k;
        }
    }
    while (i < n) {
        if (s->cr_pending) {
            s->cr_pending = false;
            if (p[i] == '\n') {
                i++;
                continue;
            }
        }
        size_t j = i;
        while (j < n && p[j] != '\n' && p[j] != '\r') j++;
        size_t k = j - i;
        if (k) {
            if (s->line_len + k > max_event(s) + 64)
                return wd__fail(WD_ERR_RANGE, "server-sent events: a line over %zu bytes", max_event(s) + 64);
            wd_status st = wd__array_grow((void **)&s->line, &s->line_cap, s->line_len + k, 1);
            if (st) return st;
            memcpy(s->line + s->line_len, p + i, k);
            s->line_len += k;
        }
        if (j == n) break;
        s->cr_pending = p[j] == '\r';
        size_t len = s->line_len;
        s->line_len = 0;
        wd_status st = process_line(s, s->line ? s->line : "", len);
        if (st) return st;
        i = j + 1;
    }
    return WD_OK;
}

/* relay/core/tcpsend.c — see tcpsend.h. */
#include "relay/core/tcpsend.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "relay/core/addr.h"
#include "relay/core/clock.h"

struct send {
    struct tsr_tcpsend *t;
    struct bufferevent *bev;
    int shut; /* the body is written and our side shut down */
    int64_t t0_ns;
    tsr_httpc_done_fn *done;
    void *opaque;
    struct send *prev, *next;
};

struct tsr_tcpsend {
    struct event_base *base;
    struct evdns_base *dns; /* made on the first host name; NULL: numeric addresses only */
    int dns_tried;
    struct send *sends;
    int active;
};

int tsr_tcpsend_new(struct event_base *base, struct tsr_tcpsend **tp)
{
    struct tsr_tcpsend *t = calloc(1, sizeof(*t));
    if (!t) abort();
    t->base = base;
    *tp = t;
    return 0;
}

/* Unlinks s, frees its connection, then runs its callback. */
static void finish(struct send *s, int status, const char *error)
{
    struct tsr_tcpsend *t = s->t;
    if (s->prev)
        s->prev->next = s->next;
    else
        t->sends = s->next;
    if (s->next) s->next->prev = s->prev;
    t->active--;
    bufferevent_free(s->bev);
    struct tsr_httpc_resp resp = {
        .status = status,
        .error = error,
        .body = "",
        .retry_after_s = -1,
        .seconds = (double)(tsr_clock_mono_ns() - s->t0_ns) / 1e9,
    };
    tsr_httpc_done_fn *done = s->done;
    void *opaque = s->opaque;
    free(s);
    done(opaque, &resp);
}

static void shut_down(struct send *s)
{
    s->shut = 1;
    shutdown(bufferevent_getfd(s->bev), SHUT_WR);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    struct send *s = arg;
    if (!s->shut && evbuffer_get_length(bufferevent_get_output(bev)) == 0) shut_down(s);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    (void)arg;
    /* carbon says nothing; whatever a peer says is not an answer. */
    evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct send *s = arg;
    char why[160];
    if (what & BEV_EVENT_CONNECTED) {
        if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) shut_down(s);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        finish(s, 0, s->shut ? "timed out waiting for the peer to close" : "timed out");
        return;
    }
    if ((what & BEV_EVENT_EOF) && s->shut) {
        finish(s, 200, NULL);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        finish(s, 0, "connection closed by the peer before the body was sent");
        return;
    }
    int dns_err = bufferevent_socket_get_dns_error(bev);
    if (dns_err)
        snprintf(why, sizeof(why), "cannot resolve the host: %s", evutil_gai_strerror(dns_err));
    else
        snprintf(why, sizeof(why), "%s",
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR() ? EVUTIL_SOCKET_ERROR()
                                                                     : ECONNRESET));
    finish(s, 0, why);
}

/* "tcp://HOST:PORT" (an optional trailing '/'), into host and port. */
static int parse_url(const char *url, char *host, size_t hostlen, unsigned short *port)
{
    if (strncmp(url, "tcp://", 6) != 0) return -1;
    char addr[300];
    size_t n = strlen(url + 6);
    if (n == 0 || n >= sizeof(addr)) return -1;
    memcpy(addr, url + 6, n + 1);
    if (addr[n - 1] == '/') addr[n - 1] = '\0';
    if (strchr(addr, '/')) return -1;
    return tsr_addr_split(addr, host, hostlen, port) == 0 && *port > 0 && addr[0] != ':' ? 0 : -1;
}

int tsr_tcpsend_start(struct tsr_tcpsend *t, const char *url, const char *body, size_t len,
                      long timeout_ms, tsr_httpc_done_fn *done, void *opaque)
{
    char host[256];
    unsigned short port;
    if (parse_url(url, host, sizeof(host), &port) != 0) return -1;
    struct evutil_addrinfo hints = {.ai_flags = EVUTIL_AI_NUMERICHOST, .ai_socktype = SOCK_STREAM};
    struct evutil_addrinfo *ai = NULL;
    int numeric = evutil_getaddrinfo(host, NULL, &hints, &ai) == 0;
    if (ai) evutil_freeaddrinfo(ai);
    if (!numeric && !t->dns_tried) {
        t->dns_tried = 1;
        t->dns = evdns_base_new(t->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    }

    struct send *s = calloc(1, sizeof(*s));
    if (!s) abort();
    s->t = t;
    s->done = done;
    s->opaque = opaque;
    s->t0_ns = tsr_clock_mono_ns();
    /* Deferred callbacks: a connection refused at once still reports from the loop. */
    s->bev = bufferevent_socket_new(t->base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!s->bev) abort();
    bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    bufferevent_set_timeouts(s->bev, &tv, &tv);
    if (len) evbuffer_add_reference(bufferevent_get_output(s->bev), body, len, NULL, NULL);
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
    s->next = t->sends;
    if (s->next) s->next->prev = s;
    t->sends = s;
    t->active++;
    bufferevent_socket_connect_hostname(s->bev, t->dns, AF_UNSPEC, host, port);
    return 0;
}

int tsr_tcpsend_active(const struct tsr_tcpsend *t)
{
    return t->active;
}

void tsr_tcpsend_free(struct tsr_tcpsend **tp)
{
    struct tsr_tcpsend *t = *tp;
    if (!t) return;
    while (t->sends)
        finish(t->sends, 0, "cancelled");
    if (t->dns) evdns_base_free(t->dns, 1);
    free(t);
    *tp = NULL;
}

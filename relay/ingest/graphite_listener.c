#include "relay/ingest/graphite_listener.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "relay/core/addr.h"
#include "relay/core/clock.h"
#include "config/config.h"
#include "relay/ingest/graphite.h"
#include "relay/kafka/durable.h"
#include "relay/kafka/kafka.h"
#include "relay/core/lineproto.h"
#include "relay/core/log.h"
#include "relay/core/metrics.h"
#include "relay/ingest/unacked.h"
#include "relay/shape/shaper.h"
#include "relay/core/tls_server.h"

#define UDP_MAX 65536

struct conn {
    struct tsr_ingest_graphite *ig;
    struct bufferevent *bev;
    char peer[64];
    long line_no;
    int skipping; /* discarding the rest of an over-long line */
    int tls_up;   /* TLS: its handshake finished */
    struct conn *prev, *next;
};

struct tsr_ingest_graphite {
    const struct tsr_config *cf;
    struct tsr_kafka *k;     /* the dead-letter topic */
    struct tsr_durable *dur; /* where points become durable */
    struct event_base *base;
    struct tsr_graphite_tmpl *tmpl;
    struct tsr_shaper *shaper; /* the ingest rules and the cardinality guard */
    struct tsr_buf why;        /* a refusal's reason being built */
    struct evconnlistener *lev;
    int udp_fd;
    struct event *udp_ev;
    struct conn *conns;
    int64_t nconns;
    struct tsr_tls_server *tls; /* NULL: plain TCP */
    /* Records per source, so points are credited to their listener. */
    struct tsr_unacked *tcp_records, *udp_records;
    struct tsr_buf line;
    int tcp_paused;
    char *udp_buf;
};

static void conn_free(struct conn *c)
{
    struct tsr_ingest_graphite *ig = c->ig;
    if (c->prev) c->prev->next = c->next;
    else ig->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    ig->nconns--;
    tsr_metrics.conn[TSR_ENDPOINT_GRAPHITE].open = ig->nconns;
    bufferevent_free(c->bev);
    free(c);
}

/* Pauses or resumes reading every TCP connection. */
static void tcp_reading(void *arg, int on)
{
    struct tsr_ingest_graphite *ig = arg;
    ig->tcp_paused = !on;
    for (struct conn *c = ig->conns; c; c = c->next) {
        if (on)
            bufferevent_enable(c->bev, EV_READ);
        else
            bufferevent_disable(c->bev, EV_READ);
    }
}

static void udp_reading(void *arg, int on)
{
    struct tsr_ingest_graphite *ig = arg;
    if (!ig->udp_ev) return;
    if (on)
        event_add(ig->udp_ev, NULL);
    else
        event_del(ig->udp_ev);
}

static struct tsr_unacked *records(struct tsr_ingest_graphite *ig, enum tsr_listener src)
{
    return src == TSR_LISTENER_GRAPHITE_UDP ? ig->udp_records : ig->tcp_records;
}

/* Converts one line and adds it to its partition's pending record. */
static void take_line(struct tsr_ingest_graphite *ig, enum tsr_listener src, const char *s,
                      size_t len, long line_no, const char *peer)
{
    uint64_t hash;
    const char *reason;
    ig->line.len = 0;
    ig->why.len = 0;
    const char *comp, *what;
    size_t clen;
    int64_t now_ns = tsr_clock_now_ns();
    int rc = tsr_graphite_line(ig->tmpl, s, len, now_ns, &ig->line, &hash, &reason);
    if (rc == 1) return;
    if (rc == 0 && ig->cf->graphite_reject_ids &&
        tsr_graphite_id_component(s, len, &comp, &clen, &what)) {
        tsr_buf_printf(&ig->why, "path component '%.*s' looks like %s (graphite.reject_ids)",
                       (int)(clen > 64 ? 64 : clen), comp, what);
        rc = -1;
    }
    const char *pl = ig->line.data;
    size_t plen = ig->line.len;
    if (rc == 0) {
        switch (tsr_shaper_apply(ig->shaper, ig->cf->graphite_database, &pl, &plen, &hash,
                                 now_ns / 1000000, &ig->why)) {
        case TSR_SHAPE_PASS:
            break;
        case TSR_SHAPE_DROP:
            return;
        case TSR_SHAPE_REFUSE:
            rc = -1;
            break;
        }
    }
    if (rc != 0) {
        if (ig->why.len) {
            tsr_buf_putc(&ig->why, '\0');
            reason = ig->why.data;
        }
        tsr_metrics.listener[src].points_rejected++;
        tsr_debug("graphite line %ld from %s rejected: %s", line_no, peer, reason);
        tsr_kafka_dead_letter(ig->k, s, len, reason, tsr_listener_names[src], line_no,
                              ig->cf->graphite_database, peer);
        return;
    }
    tsr_unacked_add(records(ig, src), pl, plen, hash);
}

/* Takes every complete line from a connection's input; at EOF also the unterminated
 * last one. */
static void read_lines(struct conn *c, int at_eof)
{
    struct tsr_ingest_graphite *ig = c->ig;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t n = evbuffer_get_length(in);
    if (n == 0 || tsr_unacked_ready(ig->tcp_records) != 0) return;
    const char *data = (const char *)evbuffer_pullup(in, -1);
    const char *p = data, *end = data + n;
    size_t max_line = (size_t)ig->cf->ingest_max_line_bytes;
    for (;;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            if (at_eof && p < end && !c->skipping)
                take_line(ig, TSR_LISTENER_GRAPHITE_TCP, p, (size_t)(end - p), ++c->line_no, c->peer);
            else if ((size_t)(end - p) > max_line) {
                if (!c->skipping) {
                    c->line_no++;
                    tsr_metrics.listener[TSR_LISTENER_GRAPHITE_TCP].points_rejected++;
                    tsr_warn("graphite line %ld from %s rejected: line too long", c->line_no, c->peer);
                    tsr_kafka_dead_letter(ig->k, p, max_line, "line too long", "graphite_tcp",
                                          c->line_no, ig->cf->graphite_database, c->peer);
                }
                c->skipping = 1;
                p = end;
            }
            break;
        }
        if (c->skipping) {
            c->skipping = 0;
        } else {
            c->line_no++;
            take_line(ig, TSR_LISTENER_GRAPHITE_TCP, p, (size_t)(nl - p), c->line_no, c->peer);
        }
        p = nl + 1;
    }
    evbuffer_drain(in, (size_t)(p - data));
    tsr_unacked_check(ig->tcp_records);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    read_lines(arg, 0);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        c->tls_up = 1; /* the TLS handshake finished */
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        tsr_debug("graphite connection from %s: idle for graphite.idle_timeout_ms, closed",
                  c->peer);
        tsr_metrics.conn[TSR_ENDPOINT_GRAPHITE].timed_out++;
        read_lines(c, 1);
        conn_free(c);
    } else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        read_lines(c, 1);
        if (c->ig->tls && !c->tls_up) {
            tsr_tls_server_failed(c->ig->tls, bev, c->peer);
            tsr_metrics.conn[TSR_ENDPOINT_GRAPHITE].tls_failed++;
        } else if (what & BEV_EVENT_ERROR)
            tsr_debug("graphite connection from %s: %s", c->peer, strerror(errno));
        conn_free(c);
    }
}

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct tsr_ingest_graphite *ig = arg;
    struct tsr_conn_metrics *cm = &tsr_metrics.conn[TSR_ENDPOINT_GRAPHITE];
    if (ig->nconns >= ig->cf->graphite_max_connections) {
        cm->refused_connections++;
        close(fd);
        return;
    }
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) abort();
    c->ig = ig;
    tsr_addr_ntop(sa, c->peer, sizeof(c->peer));
    /* Graphite senders keep one connection open and may be quiet for minutes: a long
     * idle timeout, and TCP keepalive to find the peers that vanished sooner. */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    c->bev = ig->tls ? tsr_tls_server_accept(ig->tls, ig->base, fd)
                     : bufferevent_socket_new(ig->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        free(c);
        return;
    }
    int64_t idle = ig->cf->graphite_idle_timeout_ms;
    struct timeval tv = {(time_t)(idle / 1000), (suseconds_t)(idle % 1000) * 1000};
    bufferevent_set_timeouts(c->bev, &tv, NULL);
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    ig->nconns++;
    cm->open = ig->nconns;
    cm->accepted++;
    if (!ig->tcp_paused) bufferevent_enable(c->bev, EV_READ);
    c->next = ig->conns;
    if (ig->conns) ig->conns->prev = c;
    ig->conns = c;
    tsr_metrics.listener[TSR_LISTENER_GRAPHITE_TCP].requests++;
}

/* Reads up to max datagrams; returns how many. */
static int read_datagrams(struct tsr_ingest_graphite *ig, int max)
{
    int fd = ig->udp_fd, i;
    if (tsr_unacked_ready(ig->udp_records) != 0) return 0;
    for (i = 0; i < max && !tsr_unacked_overloaded(ig->udp_records); i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        ssize_t n = recvfrom(fd, ig->udp_buf, UDP_MAX, 0, (struct sockaddr *)&ss, &sl);
        if (n < 0) break;
        char peer[64] = "?";
        evutil_inet_ntop(ss.ss_family,
                         ss.ss_family == AF_INET6 ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                                                  : (void *)&((struct sockaddr_in *)&ss)->sin_addr,
                         peer, sizeof(peer));
        tsr_metrics.listener[TSR_LISTENER_GRAPHITE_UDP].requests++;
        const char *p = ig->udp_buf, *end = ig->udp_buf + n;
        long line_no = 0;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *eol = nl ? nl : end;
            take_line(ig, TSR_LISTENER_GRAPHITE_UDP, p, (size_t)(eol - p), ++line_no, peer);
            p = nl ? nl + 1 : end;
        }
    }
    return i;
}

static void on_udp(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_ingest_graphite *ig = arg;
    /* A bounded number of datagrams per wake-up keeps the loop fair to HTTP clients. */
    read_datagrams(ig, 64);
    tsr_unacked_check(ig->udp_records);
}

int tsr_ingest_graphite_new(const struct tsr_config *cf, struct event_base *base,
                            struct tsr_kafka *k, struct tsr_durable *dur,
                            struct tsr_shaper *shaper, struct tsr_tls_server *tls,
                            struct tsr_ingest_graphite **igp, char *err, size_t errlen)
{
    struct tsr_ingest_graphite *ig = calloc(1, sizeof(*ig));
    if (!ig) abort();
    ig->cf = cf;
    ig->tls = tls;
    ig->shaper = shaper;
    ig->k = k;
    ig->dur = dur;
    ig->base = base;
    ig->udp_fd = -1;
    ig->tcp_records = tsr_unacked_new(cf, base, dur, TSR_LISTENER_GRAPHITE_TCP,
                                      cf->graphite_database, NULL, tcp_reading, ig);
    ig->udp_records = tsr_unacked_new(cf, base, dur, TSR_LISTENER_GRAPHITE_UDP,
                                      cf->graphite_database, NULL, udp_reading, ig);
    ig->udp_buf = malloc(UDP_MAX);
    if (!ig->udp_buf) abort();

    if (tsr_graphite_tmpl_compile((const char *const *)cf->graphite_templates,
                                  cf->ngraphite_templates, cf->graphite_separator, &ig->tmpl, err,
                                  errlen))
        goto fail;
    int fd = tsr_addr_listen(cf->listen_graphite, SOCK_STREAM, err, errlen);
    if (fd < 0) goto fail;
    /* Backlog 0: keep tsr_addr_listen's queue (-1 would listen again with 128). */
    ig->lev = evconnlistener_new(base, on_accept, ig, LEV_OPT_CLOSE_ON_FREE, 0, fd);
    ig->udp_fd = tsr_addr_listen(cf->listen_graphite, SOCK_DGRAM, err, errlen);
    if (ig->udp_fd < 0) goto fail;
    /* A deep socket buffer rides out short pauses without kernel drops. */
    int rcvbuf = 8 << 20;
    setsockopt(ig->udp_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    ig->udp_ev = event_new(base, ig->udp_fd, EV_READ | EV_PERSIST, on_udp, ig);
    event_add(ig->udp_ev, NULL);
    *igp = ig;
    return 0;
fail:
    tsr_ingest_graphite_free(&ig);
    return -1;
}

void tsr_ingest_graphite_drain(struct tsr_ingest_graphite *ig)
{
    if (ig->lev) {
        evconnlistener_free(ig->lev);
        ig->lev = NULL;
    }
    tsr_unacked_drain(ig->tcp_records);
    tsr_unacked_drain(ig->udp_records);
    if (ig->udp_ev) {
        /* Datagrams already in the socket buffer were sent to us: take them. */
        while (read_datagrams(ig, 64) > 0) {
        }
        event_free(ig->udp_ev);
        ig->udp_ev = NULL;
    }
    while (ig->conns) {
        read_lines(ig->conns, 1);
        conn_free(ig->conns);
    }
    tsr_unacked_drain(ig->tcp_records);
    tsr_unacked_drain(ig->udp_records);
}

int tsr_ingest_graphite_pending(const struct tsr_ingest_graphite *ig)
{
    return tsr_unacked_pending(ig->tcp_records) + tsr_unacked_pending(ig->udp_records);
}

void tsr_ingest_graphite_free(struct tsr_ingest_graphite **igp)
{
    struct tsr_ingest_graphite *ig = *igp;
    if (!ig) return;
    while (ig->conns) conn_free(ig->conns);
    if (ig->lev) evconnlistener_free(ig->lev);
    if (ig->udp_ev) event_free(ig->udp_ev);
    if (ig->udp_fd >= 0) close(ig->udp_fd);
    tsr_unacked_free(&ig->tcp_records);
    tsr_unacked_free(&ig->udp_records);
    tsr_graphite_tmpl_free(&ig->tmpl);
    tsr_buf_free(&ig->line);
    tsr_buf_free(&ig->why);
    free(ig->udp_buf);
    free(ig);
    *igp = NULL;
}

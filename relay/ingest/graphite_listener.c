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
#include "relay/ingest/batch.h"
#include "relay/core/clock.h"
#include "config/config.h"
#include "relay/ingest/graphite.h"
#include "relay/kafka/durable.h"
#include "relay/kafka/kafka.h"
#include "relay/core/lineproto.h"
#include "relay/core/log.h"
#include "relay/core/metrics.h"
#include "relay/shape/shaper.h"
#include "relay/core/tls_server.h"

#define LINGER_MS 50
#define RESUME_CHECK_MS 50
#define RETRY_MS 1000
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

/* A record produced from graphite lines; kept until Kafka confirms it. */
struct grec {
    struct tsr_ingest_graphite *ig;
    char *data;
    size_t len;
    int partition;
    long points;
    enum tsr_listener src;
    struct grec *next; /* in the retry list */
};

struct tsr_ingest_graphite {
    const struct tsr_config *cf;
    struct tsr_kafka *k;     /* the dead-letter topic */
    struct tsr_durable *dur; /* where points become durable */
    struct event_base *base;
    struct tsr_graphite_tmpl *tmpl;
    struct tsr_shaper *shaper; /* the ingest rules and the cardinality guard */
    struct tsr_buf why;        /* a refusal's reason being built */
    uint64_t db_hash;
    struct evconnlistener *lev;
    int udp_fd;
    struct event *udp_ev;
    struct conn *conns;
    int64_t nconns;
    struct tsr_tls_server *tls; /* NULL: plain TCP */
    /* Pending lines per partition, and per source so points are credited correctly. */
    struct tsr_batch batch[2];
    long *batch_points[2];
    struct tsr_buf line;
    struct event *linger_ev;
    struct event *resume_ev;
    struct event *retry_ev;
    struct grec *retry_head, **retry_tail;
    int inflight; /* records produced, not yet reported */
    int paused;
    int draining;
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

static int batch_index(enum tsr_listener src)
{
    return src == TSR_LISTENER_GRAPHITE_UDP;
}

static void retry_push(struct tsr_ingest_graphite *ig, struct grec *r)
{
    r->next = NULL;
    *ig->retry_tail = r;
    ig->retry_tail = &r->next;
    if (!evtimer_pending(ig->retry_ev, NULL)) {
        struct timeval tv = {RETRY_MS / 1000, (RETRY_MS % 1000) * 1000};
        evtimer_add(ig->retry_ev, &tv);
    }
}

static void record_done(void *opaque, int err, const char *errstr);

static int produce(struct tsr_ingest_graphite *ig, struct grec *r)
{
    struct tsr_kafka_hdrs hdrs = {.db = ig->cf->graphite_database,
                                  .src = tsr_listener_names[r->src]};
    const char *why;
    if (tsr_durable_put(ig->dur, r->partition, r->data, r->len, &hdrs, record_done, r, &why)) {
        tsr_debug("graphite record queued for retry: %s", why);
        return -1;
    }
    ig->inflight++;
    return 0;
}

static void record_done(void *opaque, int err, const char *errstr)
{
    struct grec *r = opaque;
    struct tsr_ingest_graphite *ig = r->ig;
    ig->inflight--;
    if (err) {
        /* No client to tell: keep the points and try again (the spool is off, or
         * could not take them either). */
        tsr_warn("graphite record of %ld points not made durable, will retry: %s",
                 r->points, errstr);
        retry_push(ig, r);
        return;
    }
    tsr_metrics.listener[r->src].points_accepted += (uint64_t)r->points;
    free(r->data);
    free(r);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_ingest_graphite *ig = arg;
    struct grec *list = ig->retry_head;
    ig->retry_head = NULL;
    ig->retry_tail = &ig->retry_head;
    while (list) {
        struct grec *r = list;
        list = list->next;
        if (tsr_durable_refusal(ig->dur) || produce(ig, r) != 0) retry_push(ig, r);
    }
}

static void flush_part(struct tsr_ingest_graphite *ig, int bi, int p)
{
    struct grec *r = malloc(sizeof(*r));
    if (!r) abort();
    r->ig = ig;
    r->partition = p;
    r->src = bi ? TSR_LISTENER_GRAPHITE_UDP : TSR_LISTENER_GRAPHITE_TCP;
    r->points = ig->batch_points[bi][p];
    ig->batch_points[bi][p] = 0;
    r->data = tsr_buf_detach(&ig->batch[bi].parts[p], &r->len);
    if (produce(ig, r) != 0) retry_push(ig, r);
}

static void flush_all(struct tsr_ingest_graphite *ig)
{
    for (int bi = 0; bi < 2; bi++)
        for (int p = 0; p < ig->batch[bi].nparts; p++)
            if (ig->batch[bi].parts[p].len) flush_part(ig, bi, p);
}

static void on_linger(evutil_socket_t fd, short what, void *arg)
{
    flush_all(arg);
}

static int overloaded(const struct tsr_ingest_graphite *ig)
{
    return tsr_durable_refusal(ig->dur) || ig->retry_head != NULL ||
           tsr_durable_inflight_bytes(ig->dur) >= ig->cf->ingest_max_inflight_bytes;
}

static void set_paused(struct tsr_ingest_graphite *ig, int paused)
{
    if (paused == ig->paused || ig->draining) return;
    ig->paused = paused;
    for (struct conn *c = ig->conns; c; c = c->next) {
        if (paused)
            bufferevent_disable(c->bev, EV_READ);
        else
            bufferevent_enable(c->bev, EV_READ);
    }
    if (ig->udp_ev) {
        if (paused)
            event_del(ig->udp_ev);
        else
            event_add(ig->udp_ev, NULL);
    }
    if (paused) {
        tsr_metrics.listener[TSR_LISTENER_GRAPHITE_TCP].throttled++;
        struct timeval tv = {0, RESUME_CHECK_MS * 1000};
        evtimer_add(ig->resume_ev, &tv);
        tsr_info("graphite: reads paused until kafka catches up");
    } else {
        tsr_info("graphite: reads resumed");
    }
}

static void on_resume_check(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_ingest_graphite *ig = arg;
    if (overloaded(ig)) {
        struct timeval tv = {0, RESUME_CHECK_MS * 1000};
        evtimer_add(ig->resume_ev, &tv);
    } else {
        set_paused(ig, 0);
    }
}

/* Converts one line and adds it to its partition's pending record. */
static void take_line(struct tsr_ingest_graphite *ig, enum tsr_listener src, const char *s,
                      size_t len, long line_no, const char *peer)
{
    int bi = batch_index(src);
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
    struct tsr_batch *b = &ig->batch[bi];
    int p = tsr_batch_partition(b, hash, ig->db_hash);
    if (b->parts[p].len + plen > (size_t)ig->cf->kafka_record_max_bytes && b->parts[p].len > 0)
        flush_part(ig, bi, p);
    tsr_buf_append(&b->parts[p], pl, plen);
    ig->batch_points[bi][p]++;
    if (!evtimer_pending(ig->linger_ev, NULL)) {
        struct timeval tv = {0, LINGER_MS * 1000};
        evtimer_add(ig->linger_ev, &tv);
    }
}

/* Makes sure both batches have a slot per partition. */
static int sync_partitions(struct tsr_ingest_graphite *ig)
{
    int n = tsr_durable_partitions(ig->dur);
    if (n <= 0) return -1;
    for (int bi = 0; bi < 2; bi++) {
        if (n > ig->batch[bi].nparts) {
            int old = ig->batch[bi].nparts;
            tsr_batch_resize(&ig->batch[bi], n);
            ig->batch_points[bi] = realloc(ig->batch_points[bi], sizeof(long) * (size_t)n);
            if (!ig->batch_points[bi]) abort();
            for (int i = old; i < n; i++) ig->batch_points[bi][i] = 0;
        }
    }
    return 0;
}

/* Takes every complete line from a connection's input; at EOF also the unterminated
 * last one. */
static void read_lines(struct conn *c, int at_eof)
{
    struct tsr_ingest_graphite *ig = c->ig;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t n = evbuffer_get_length(in);
    if (n == 0 || sync_partitions(ig) != 0) return;
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
    if (overloaded(ig)) set_paused(ig, 1);
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
    if (!ig->paused) bufferevent_enable(c->bev, EV_READ);
    c->next = ig->conns;
    if (ig->conns) ig->conns->prev = c;
    ig->conns = c;
    tsr_metrics.listener[TSR_LISTENER_GRAPHITE_TCP].requests++;
}

/* Reads up to max datagrams; returns how many. */
static int read_datagrams(struct tsr_ingest_graphite *ig, int max)
{
    int fd = ig->udp_fd, i;
    if (sync_partitions(ig) != 0) return 0;
    for (i = 0; i < max && !overloaded(ig); i++) {
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
    if (overloaded(ig)) set_paused(ig, 1);
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
    ig->retry_tail = &ig->retry_head;
    ig->db_hash = tsr_fnv1a64(TSR_FNV1A64_INIT, cf->graphite_database, strlen(cf->graphite_database));
    ig->linger_ev = evtimer_new(base, on_linger, ig);
    ig->resume_ev = evtimer_new(base, on_resume_check, ig);
    ig->retry_ev = evtimer_new(base, on_retry, ig);
    ig->udp_buf = malloc(UDP_MAX);
    if (!ig->udp_buf) abort();

    if (tsr_graphite_tmpl_compile((const char *const *)cf->graphite_templates,
                                  cf->ngraphite_templates, cf->graphite_separator, &ig->tmpl, err,
                                  errlen))
        goto fail;
    int fd = tsr_addr_listen(cf->listen_graphite, SOCK_STREAM, err, errlen);
    if (fd < 0) goto fail;
    ig->lev = evconnlistener_new(base, on_accept, ig, LEV_OPT_CLOSE_ON_FREE, -1, fd);
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
    ig->draining = 1;
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
    flush_all(ig);
}

int tsr_ingest_graphite_pending(const struct tsr_ingest_graphite *ig)
{
    int n = ig->inflight;
    for (struct grec *r = ig->retry_head; r; r = r->next) n++;
    return n;
}

void tsr_ingest_graphite_free(struct tsr_ingest_graphite **igp)
{
    struct tsr_ingest_graphite *ig = *igp;
    if (!ig) return;
    while (ig->conns) conn_free(ig->conns);
    if (ig->lev) evconnlistener_free(ig->lev);
    if (ig->udp_ev) event_free(ig->udp_ev);
    if (ig->udp_fd >= 0) close(ig->udp_fd);
    while (ig->retry_head) {
        struct grec *r = ig->retry_head;
        ig->retry_head = r->next;
        tsr_error("graphite: %ld points never confirmed by kafka are lost at exit", r->points);
        free(r->data);
        free(r);
    }
    for (int bi = 0; bi < 2; bi++) {
        tsr_batch_free(&ig->batch[bi]);
        free(ig->batch_points[bi]);
    }
    tsr_graphite_tmpl_free(&ig->tmpl);
    tsr_buf_free(&ig->line);
    tsr_buf_free(&ig->why);
    if (ig->linger_ev) event_free(ig->linger_ev);
    if (ig->resume_ev) event_free(ig->resume_ev);
    if (ig->retry_ev) event_free(ig->retry_ev);
    free(ig->udp_buf);
    free(ig);
    *igp = NULL;
}

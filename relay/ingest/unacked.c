#include "relay/ingest/unacked.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "relay/core/log.h"
#include "relay/ingest/batch.h"
#include "relay/kafka/durable.h"
#include "relay/kafka/kafka.h"

#define LINGER_MS       50
#define RESUME_CHECK_MS 50
#define RETRY_MS        1000

/* A record, kept until Kafka or the spool confirms it. */
struct urec {
    struct tsr_unacked *u;
    char *data;
    size_t len;
    int partition;
    long points;
    struct tsr_unacked_ticket *ticket; /* NULL: none */
    struct urec *next; /* in the retry list */
};

struct tsr_unacked {
    const struct tsr_config *cf;
    struct tsr_durable *dur;
    enum tsr_listener src;
    struct tsr_kafka_hdrs hdrs;
    uint64_t db_hash;
    tsr_unacked_reading_fn *reading;
    void *arg;
    struct tsr_batch batch;
    long *batch_points; /* per partition */
    struct event *linger_ev;
    struct event *resume_ev;
    struct event *retry_ev;
    struct urec *retry_head, **retry_tail;
    struct tsr_unacked_ticket *ticket; /* current: records made now take a reference */
    int inflight; /* records produced, not yet reported */
    int paused;
    int draining;
};

static void retry_push(struct tsr_unacked *u, struct urec *r)
{
    r->next = NULL;
    *u->retry_tail = r;
    u->retry_tail = &r->next;
    if (!evtimer_pending(u->retry_ev, NULL)) {
        struct timeval tv = {RETRY_MS / 1000, (RETRY_MS % 1000) * 1000};
        evtimer_add(u->retry_ev, &tv);
    }
}

static void record_done(void *opaque, int err, const char *errstr);

static int produce(struct tsr_unacked *u, struct urec *r)
{
    const char *why;
    if (tsr_durable_put(u->dur, r->partition, r->data, r->len, &u->hdrs, record_done, r, &why)) {
        tsr_debug("%s record queued for retry: %s", u->hdrs.src, why);
        return -1;
    }
    u->inflight++;
    return 0;
}

static void record_done(void *opaque, int err, const char *errstr)
{
    struct urec *r = opaque;
    struct tsr_unacked *u = r->u;
    u->inflight--;
    if (err) {
        /* No client to tell: keep the points and try again (the spool is off, or
         * could not take them either). */
        tsr_warn("%s record of %ld points not made durable, will retry: %s", u->hdrs.src, r->points,
                 errstr);
        retry_push(u, r);
        return;
    }
    tsr_metrics.listener[u->src].points_accepted += (uint64_t)r->points;
    struct tsr_unacked_ticket *t = r->ticket;
    free(r->data);
    free(r);
    if (t && --t->refs == 0 && t->sealed) t->done(t, t->arg);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_unacked *u = arg;
    struct urec *list = u->retry_head;
    u->retry_head = NULL;
    u->retry_tail = &u->retry_head;
    while (list) {
        struct urec *r = list;
        list = list->next;
        if (tsr_durable_refusal(u->dur) || produce(u, r) != 0) retry_push(u, r);
    }
}

static void flush_part(struct tsr_unacked *u, int p)
{
    struct urec *r = malloc(sizeof(*r));
    if (!r) abort();
    r->u = u;
    r->partition = p;
    r->points = u->batch_points[p];
    r->ticket = u->ticket;
    if (r->ticket) r->ticket->refs++;
    u->batch_points[p] = 0;
    r->data = tsr_buf_detach(&u->batch.parts[p], &r->len);
    if (produce(u, r) != 0) retry_push(u, r);
}

static void flush_all(struct tsr_unacked *u)
{
    for (int p = 0; p < u->batch.nparts; p++)
        if (u->batch.parts[p].len) flush_part(u, p);
}

static void on_linger(evutil_socket_t fd, short what, void *arg)
{
    flush_all(arg);
}

static void on_resume_check(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_unacked *u = arg;
    if (u->draining) return;
    if (tsr_unacked_overloaded(u)) {
        struct timeval tv = {0, RESUME_CHECK_MS * 1000};
        evtimer_add(u->resume_ev, &tv);
        return;
    }
    u->paused = 0;
    u->reading(u->arg, 1);
    tsr_info("%s: reads resumed", u->hdrs.src);
}

struct tsr_unacked *tsr_unacked_new(const struct tsr_config *cf, struct event_base *base,
                                    struct tsr_durable *dur, enum tsr_listener src, const char *db,
                                    const char *rp, tsr_unacked_reading_fn *reading, void *arg)
{
    struct tsr_unacked *u = calloc(1, sizeof(*u));
    if (!u) abort();
    u->cf = cf;
    u->dur = dur;
    u->src = src;
    u->hdrs = (struct tsr_kafka_hdrs){
        .db = db, .rp = rp && *rp ? rp : NULL, .src = tsr_listener_names[src]};
    u->db_hash = tsr_fnv1a64(TSR_FNV1A64_INIT, db, strlen(db));
    u->reading = reading;
    u->arg = arg;
    u->retry_tail = &u->retry_head;
    u->linger_ev = evtimer_new(base, on_linger, u);
    u->resume_ev = evtimer_new(base, on_resume_check, u);
    u->retry_ev = evtimer_new(base, on_retry, u);
    return u;
}

int tsr_unacked_ready(struct tsr_unacked *u)
{
    int n = tsr_durable_partitions(u->dur);
    if (n <= 0) return -1;
    if (n > u->batch.nparts) {
        int old = u->batch.nparts;
        tsr_batch_resize(&u->batch, n);
        u->batch_points = realloc(u->batch_points, sizeof(long) * (size_t)n);
        if (!u->batch_points) abort();
        for (int i = old; i < n; i++)
            u->batch_points[i] = 0;
    }
    return 0;
}

void tsr_unacked_add(struct tsr_unacked *u, const char *line, size_t len, uint64_t series_hash)
{
    int p = tsr_batch_partition(&u->batch, series_hash, u->db_hash);
    struct tsr_buf *b = &u->batch.parts[p];
    if (b->len + len > (size_t)u->cf->kafka_record_max_bytes && b->len > 0) flush_part(u, p);
    tsr_buf_append(b, line, len);
    u->batch_points[p]++;
    if (!evtimer_pending(u->linger_ev, NULL)) {
        struct timeval tv = {0, LINGER_MS * 1000};
        evtimer_add(u->linger_ev, &tv);
    }
}

int tsr_unacked_overloaded(const struct tsr_unacked *u)
{
    return tsr_durable_refusal(u->dur) || u->retry_head != NULL ||
           tsr_durable_inflight_bytes(u->dur) >= u->cf->ingest_max_inflight_bytes;
}

void tsr_unacked_check(struct tsr_unacked *u)
{
    if (u->paused || u->draining || !tsr_unacked_overloaded(u)) return;
    u->paused = 1;
    u->reading(u->arg, 0);
    tsr_metrics.listener[u->src].throttled++;
    struct timeval tv = {0, RESUME_CHECK_MS * 1000};
    evtimer_add(u->resume_ev, &tv);
    tsr_info("%s: reads paused until kafka catches up", u->hdrs.src);
}

void tsr_unacked_ticket_begin(struct tsr_unacked *u, struct tsr_unacked_ticket *t)
{
    u->ticket = t;
}

void tsr_unacked_ticket_seal(struct tsr_unacked *u)
{
    struct tsr_unacked_ticket *t = u->ticket;
    flush_all(u);
    u->ticket = NULL;
    if (!t) return;
    t->sealed = 1;
    if (t->refs == 0) t->done(t, t->arg);
}

void tsr_unacked_drain(struct tsr_unacked *u)
{
    u->draining = 1;
    flush_all(u);
}

int tsr_unacked_pending(const struct tsr_unacked *u)
{
    int n = u->inflight;
    for (const struct urec *r = u->retry_head; r; r = r->next)
        n++;
    return n;
}

void tsr_unacked_free(struct tsr_unacked **up)
{
    struct tsr_unacked *u = *up;
    if (!u) return;
    while (u->retry_head) {
        struct urec *r = u->retry_head;
        u->retry_head = r->next;
        tsr_error("%s: %ld points never confirmed by kafka are lost at exit", u->hdrs.src,
                  r->points);
        free(r->data);
        free(r);
    }
    tsr_batch_free(&u->batch);
    free(u->batch_points);
    if (u->linger_ev) event_free(u->linger_ev);
    if (u->resume_ev) event_free(u->resume_ev);
    if (u->retry_ev) event_free(u->retry_ev);
    free(u);
    *up = NULL;
}

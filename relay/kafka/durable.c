#include "relay/kafka/durable.h"

#include <event2/event.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "relay/core/clock.h"
#include "relay/core/log.h"
#include "relay/kafka/spool.h"

#define TICK_MS 100
/* Records of the spool in Kafka's hands at once: enough to keep the producer's batches
 * full, little enough that a failure re-reads little. */
#define DRAIN_WINDOW_BYTES ((int64_t)16 << 20)
#define DRAIN_READ_MAX 256
/* After Kafka failed a write, new writes go to the spool for at least this long, and a
 * drain that failed waits this long (doubling up to RETRY_MAX_MS) before it tries again. */
#define RETRY_MIN_MS 500
#define RETRY_MAX_MS 5000
#define RATE_WINDOW 10 /* seconds of drain rate in /status */
/* A relay just started waits this long for its producer's first broker connection
 * before it takes writes into the spool: spooling while the producer connects (about a
 * second) would only add fsyncs and a drain. */
#define START_GRACE_MS 5000

/* A write on its way to Kafka, kept so that a failure can still spool it. */
struct put {
    struct tsr_durable *d;
    int32_t partition;
    const char *payload;
    size_t len;
    tsr_kafka_done_fn *done;
    void *opaque;
    struct tsr_kafka_hdrs hdrs; /* pointing into strs */
    char strs[];
};

/* A spooled record in Kafka's hands. */
struct drained {
    struct tsr_durable *d;
    uint64_t seq;
    size_t bytes;   /* record bytes in the spool */
    char *data;
    size_t len;
    struct tsr_kafka_hdrs hdrs;
    char strs[];
};

struct tsr_durable {
    const struct tsr_config *cf;
    struct tsr_kafka *k;
    struct tsr_spool *spool; /* NULL: spool.enabled false */
    struct event *tick_ev;
    int stopped;
    int64_t started_ms;
    int kafka_seen;          /* Kafka was ready at least once since the start */

    int64_t spool_until_ms;  /* monotonic: Kafka failed a write; spool until then */
    int64_t retry_at_ms;     /* monotonic: the drain waits until then */
    int64_t backoff_ms;
    uint64_t drain_from;     /* next sequence to read */
    int64_t drain_bytes;     /* in Kafka's hands */
    int drain_records;
    int drain_failed;        /* a record of this round failed: re-read once settled */

    uint64_t spooled, drained, drained_bytes, dead_lettered;
    uint64_t rate_records[RATE_WINDOW], rate_bytes[RATE_WINDOW];
    int64_t rate_second;
    int was_spooling;
};

static int64_t now_ms(void)
{
    return tsr_clock_mono_ns() / 1000000;
}

/* Errors about the record itself, which no later attempt fixes. Any other error means
 * Kafka cannot take writes for now. */
static int record_refused(int err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
        return 1;
    default:
        return 0;
    }
}

static size_t strs_size(const struct tsr_kafka_hdrs *h)
{
    const char *s[4] = {h->db, h->rp, h->src, h->kind};
    size_t n = 0;
    for (int i = 0; i < 4; i++) n += s[i] ? strlen(s[i]) + 1 : 0;
    return n;
}

/* Copies h's strings into strs (strs_size(h) bytes) and points out at them. */
static void copy_hdrs(const struct tsr_kafka_hdrs *h, char *strs, struct tsr_kafka_hdrs *out)
{
    const char *s[4] = {h->db, h->rp, h->src, h->kind};
    const char **o[4] = {&out->db, &out->rp, &out->src, &out->kind};
    for (int i = 0; i < 4; i++) {
        if (!s[i]) {
            *o[i] = NULL;
            continue;
        }
        size_t n = strlen(s[i]) + 1;
        memcpy(strs, s[i], n);
        *o[i] = strs;
        strs += n;
    }
}

static int spooling(const struct tsr_durable *d)
{
    if (!d->spool) return 0;
    return tsr_spool_records(d->spool) > 0 || d->drain_records > 0 || !tsr_kafka_ready(d->k) ||
           now_ms() < d->spool_until_ms;
}

static void kafka_failed(struct tsr_durable *d)
{
    d->backoff_ms = d->backoff_ms ? d->backoff_ms * 2 : RETRY_MIN_MS;
    if (d->backoff_ms > RETRY_MAX_MS) d->backoff_ms = RETRY_MAX_MS;
    d->spool_until_ms = d->retry_at_ms = now_ms() + d->backoff_ms;
}

/* --- the spool path ----------------------------------------------------------------- */

static void spooled_done(void *opaque, int err, const char *why)
{
    struct put *p = opaque;
    if (!err) p->d->spooled++;
    char msg[200];
    if (err) snprintf(msg, sizeof(msg), "spool: %s", why);
    p->done(p->opaque, err ? -1 : 0, err ? msg : NULL);
    free(p);
}

static int to_spool(struct put *p, const char **why)
{
    struct tsr_durable *d = p->d;
    if (tsr_spool_append(d->spool, p->partition, p->payload, p->len, &p->hdrs, spooled_done, p,
                         why) != 0)
        return -1;
    if (!d->was_spooling) {
        d->was_spooling = 1;
        tsr_warn("kafka cannot take writes (%s): writes go to the spool in %s/spool, and to "
                 "kafka once it is back",
                 tsr_kafka_ready(d->k) ? "a write failed" : "no broker reachable",
                 d->cf->state_dir);
    }
    return 0;
}

/* --- the direct path ---------------------------------------------------------------- */

static void direct_done(void *opaque, int err, const char *errstr)
{
    struct put *p = opaque;
    struct tsr_durable *d = p->d;
    if (err && !record_refused(err)) {
        kafka_failed(d);
        tsr_debug("kafka failed a write (%s); spooling it", errstr);
        const char *why;
        if (to_spool(p, &why) == 0) return;
        tsr_warn("kafka failed a write (%s) and the spool cannot take it: %s", errstr, why);
    }
    p->done(p->opaque, err, errstr);
    free(p);
}

int tsr_durable_put(struct tsr_durable *d, int32_t partition, const char *payload, size_t len,
                    const struct tsr_kafka_hdrs *hdrs, tsr_kafka_done_fn *done, void *opaque,
                    const char **why)
{
    /* A partition count guessed while Kafka's was unknown may exceed the topic's. */
    int nparts = tsr_kafka_partitions(d->k);
    if (nparts > 0) partition %= nparts;
    if (!d->spool) return tsr_kafka_produce(d->k, partition, payload, len, hdrs, done, opaque, why);
    struct put *p = malloc(sizeof(*p) + strs_size(hdrs));
    if (!p) abort();
    *p = (struct put){.d = d, .partition = partition, .payload = payload, .len = len,
                      .done = done, .opaque = opaque};
    copy_hdrs(hdrs, p->strs, &p->hdrs);
    if (!spooling(d)) {
        if (tsr_kafka_produce(d->k, partition, payload, len, &p->hdrs, direct_done, p, why) == 0)
            return 0;
        kafka_failed(d);
    }
    if (to_spool(p, why) == 0) return 0;
    free(p);
    return -1;
}

/* --- the drain ---------------------------------------------------------------------- */

static void drain_done(void *opaque, int err, const char *errstr)
{
    struct drained *r = opaque;
    struct tsr_durable *d = r->d;
    d->drain_records--;
    d->drain_bytes -= (int64_t)r->len;
    if (err && record_refused(err)) {
        tsr_warn("kafka refuses a spooled record of %zu bytes (%s): dead-lettered", r->len,
                 errstr);
        tsr_kafka_dead_letter(d->k, r->data, r->len, errstr, r->hdrs.src, -1, r->hdrs.db,
                              "spool");
        d->dead_lettered++;
        err = 0;
    } else if (!err) {
        d->drained++;
        d->drained_bytes += r->len;
        d->backoff_ms = 0;
        d->spool_until_ms = 0;
    }
    if (err) {
        if (!d->drain_failed)
            tsr_warn("kafka failed a record drained from the spool (%s); the drain retries", errstr);
        d->drain_failed = 1;
        kafka_failed(d);
    } else {
        tsr_spool_remove(d->spool, r->seq, r->bytes);
    }
    free(r->data);
    free(r);
}

static int drain_one(void *opaque, const struct tsr_spool_rec *rec)
{
    struct tsr_durable *d = opaque;
    if (d->drain_bytes >= DRAIN_WINDOW_BYTES) return 1;
    struct tsr_kafka_hdrs h = {.db = rec->db, .rp = rec->rp, .src = rec->src, .kind = rec->kind};
    struct drained *r = malloc(sizeof(*r) + strs_size(&h));
    if (!r) abort();
    r->d = d;
    r->seq = rec->seq;
    r->bytes = rec->bytes;
    r->len = rec->len;
    r->data = malloc(rec->len ? rec->len : 1);
    if (!r->data) abort();
    memcpy(r->data, rec->data, rec->len);
    copy_hdrs(&h, r->strs, &r->hdrs);
    /* A topic may have grown since the record was spooled, never shrunk; a count
     * guessed while Kafka was away may be more than the topic has. */
    int32_t p = rec->partition % tsr_kafka_partitions(d->k);
    const char *why;
    if (tsr_kafka_produce(d->k, p, r->data, r->len, &r->hdrs, drain_done, r, &why) != 0) {
        free(r->data);
        free(r);
        return 1; /* the producer's queue is full, or Kafka went away: later */
    }
    d->drain_records++;
    d->drain_bytes += (int64_t)r->len;
    d->drain_from = rec->seq + 1;
    return 0;
}

static void drain(struct tsr_durable *d)
{
    if (d->drain_failed) {
        /* Start again from the oldest record left, once what Kafka confirmed in this
         * round is out of the file: re-reading it would produce it twice. */
        if (d->drain_records > 0 || !tsr_spool_settled(d->spool)) return;
        d->drain_failed = 0;
        d->drain_from = 0;
    }
    if (tsr_spool_records(d->spool) == 0 || !tsr_kafka_ready(d->k) || now_ms() < d->retry_at_ms) return;
    while (d->drain_bytes < DRAIN_WINDOW_BYTES) {
        int n = tsr_spool_read(d->spool, d->drain_from, DRAIN_READ_MAX, drain_one, d);
        if (n < DRAIN_READ_MAX) break;
    }
}

static void sample_rate(struct tsr_durable *d)
{
    int64_t sec = now_ms() / 1000;
    if (sec == d->rate_second) return;
    d->rate_second = sec;
    d->rate_records[sec % RATE_WINDOW] = d->drained;
    d->rate_bytes[sec % RATE_WINDOW] = d->drained_bytes;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_durable *d = arg;
    if (d->stopped) return;
    if (tsr_kafka_ready(d->k)) d->kafka_seen = 1;
    tsr_spool_set_partitions(d->spool, tsr_kafka_partitions(d->k));
    drain(d);
    sample_rate(d);
    if (d->was_spooling && !spooling(d)) {
        d->was_spooling = 0;
        tsr_info("spool drained into kafka: writes go straight to kafka again");
    }
}

/* --- life cycle --------------------------------------------------------------------- */

int tsr_durable_new(const struct tsr_config *cf, struct event_base *base, struct tsr_kafka *k,
                    struct tsr_durable **dp, char *err, size_t errlen)
{
    struct tsr_durable *d = calloc(1, sizeof(*d));
    if (!d) abort();
    d->cf = cf;
    d->k = k;
    d->started_ms = now_ms();
    *dp = d;
    if (!cf->spool_enabled) return 0;
    size_t n = strlen(cf->state_dir) + sizeof("/spool");
    char *dir = malloc(n);
    if (!dir) abort();
    snprintf(dir, n, "%s/spool", cf->state_dir);
    int rc = tsr_spool_open(dir, cf->spool_max_bytes, base, &d->spool, err, errlen);
    free(dir);
    if (rc) {
        free(d);
        *dp = NULL;
        return -1;
    }
    d->was_spooling = tsr_spool_records(d->spool) > 0;
    d->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, d);
    struct timeval tv = {0, TICK_MS * 1000};
    event_add(d->tick_ev, &tv);
    return 0;
}

void tsr_durable_stop(struct tsr_durable *d)
{
    if (d) d->stopped = 1;
}

void tsr_durable_free(struct tsr_durable **dp)
{
    struct tsr_durable *d = *dp;
    if (!d) return;
    if (d->tick_ev) event_free(d->tick_ev);
    tsr_spool_free(&d->spool);
    free(d);
    *dp = NULL;
}

int64_t tsr_durable_inflight_bytes(const struct tsr_durable *d)
{
    return tsr_kafka_inflight_bytes(d->k) + (d->spool ? tsr_spool_queued_bytes(d->spool) : 0);
}

int tsr_durable_draining(const struct tsr_durable *d)
{
    return d->spool && !d->stopped && tsr_spool_records(d->spool) > 0 && tsr_kafka_ready(d->k);
}

const char *tsr_durable_refusal(const struct tsr_durable *d)
{
    if (!d->spool)
        return tsr_kafka_ready(d->k) ? NULL : "kafka unavailable, write not accepted";
    if (!tsr_kafka_ready(d->k) && !d->kafka_seen && tsr_spool_records(d->spool) == 0 &&
        now_ms() - d->started_ms < START_GRACE_MS)
        return "kafka not connected yet, write not accepted";
    if (spooling(d) && tsr_spool_bytes(d->spool) >= d->cf->spool_max_bytes)
        return "kafka unavailable and the spool is full, write not accepted";
    return NULL;
}

int tsr_durable_partitions(struct tsr_durable *d)
{
    int n = tsr_kafka_partitions(d->k);
    if (n > 0) return n;
    if (d->spool && tsr_spool_partitions(d->spool) > 0) return tsr_spool_partitions(d->spool);
    return (int)d->cf->kafka_partitions;
}

void tsr_durable_status(struct tsr_durable *d, struct tsr_durable_status *out)
{
    memset(out, 0, sizeof(*out));
    out->enabled = d->spool != NULL;
    out->state = "off";
    if (!d->spool) return;
    struct tsr_spool_stats st;
    tsr_spool_stats(d->spool, &st);
    out->records = st.records;
    out->bytes = st.bytes;
    out->max_bytes = st.max_bytes;
    if (st.oldest_ms > 0) {
        double age = (double)(tsr_clock_now_ns() / 1000000 - st.oldest_ms) / 1000.0;
        out->oldest_age_s = age > 0 ? age : 0;
    }
    out->spooled = d->spooled;
    out->refused = st.refused;
    out->drained = d->drained;
    out->drained_bytes = d->drained_bytes;
    out->dead_lettered = d->dead_lettered;
    out->commits = st.commits;
    out->commit_s = st.commit_s;
    sample_rate(d);
    int64_t sec = d->rate_second;
    int oldest = (int)((sec + 1) % RATE_WINDOW);
    uint64_t r0 = d->rate_records[oldest], b0 = d->rate_bytes[oldest];
    if (r0 <= d->drained) {
        out->drain_rate = (double)(d->drained - r0) / (RATE_WINDOW - 1);
        out->drain_bytes_rate = (double)(d->drained_bytes - b0) / (RATE_WINDOW - 1);
    }
    out->state = st.records == 0 ? "empty" : tsr_kafka_ready(d->k) && now_ms() >= d->retry_at_ms
                                                 ? "draining"
                                                 : "spooling";
}

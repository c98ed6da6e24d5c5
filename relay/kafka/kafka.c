#include "relay/kafka/kafka.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay/core/clock.h"
#include "config/config.h"
#include "relay/core/log.h"
#include "relay/core/metrics.h"
#include "relay/kafka/topics.h"

#define TSR_KAFKA_MAX_PARTITIONS 256

struct tsr_kafka {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    rd_kafka_topic_t *dlq_rkt;
    rd_kafka_topic_t *fleet_rkt;
    struct event_base *base;
    int spool_enabled; /* only for the log line when the brokers go */
    int wake_fds[2]; /* librdkafka writes to [1] when its main queue becomes non-empty */
    struct event *wake_ev;
    struct event *tick_ev;

    /* The metadata thread learns the partition count without blocking the loop. */
    pthread_t meta_thread;
    pthread_mutex_t meta_mu;
    pthread_cond_t meta_cv;
    int meta_stop;
    atomic_int partitions;
    struct tsr_topics topics;              /* the metadata thread's own */
    struct tsr_topic_report topic_report;  /* its last report, under meta_mu */

    _Atomic int64_t high[TSR_KAFKA_MAX_PARTITIONS]; /* offset after the last confirmed record */
    int broker_up;
    int64_t inflight_bytes;
    int64_t inflight_records;
    int fatal;
    char last_error[256]; /* librdkafka's last error while no broker is up */
};

/* What librdkafka hands back with each delivery report of the main topic. */
struct pending {
    tsr_kafka_done_fn *done;
    void *opaque;
    size_t len;
    int64_t t0_ns;
};

/* Copies the string value that follows `key` (e.g. "\"state\":") at or after p into
 * val; returns a pointer past it, or NULL if there is none. */
static const char *json_str_after(const char *p, const char *key, char *val, size_t vlen)
{
    p = strstr(p, key);
    if (!p) return NULL;
    p += strlen(key);
    while (*p == ' ') p++;
    if (*p++ != '"') return NULL;
    size_t n = 0;
    while (*p && *p != '"') {
        if (n + 1 < vlen) val[n++] = *p;
        p++;
    }
    val[n] = '\0';
    return p;
}

int tsr_kafka_stats_brokers_up(const char *json)
{
    /* The stats JSON lists each broker with "source" then "state". The internal
     * pseudo-broker (source "internal") is always UP, so only learned and configured
     * brokers count. A JSON library for one number would be a dependency too many. */
    const char *p = strstr(json, "\"brokers\":");
    char source[32], state[32];
    int n = 0;
    while (p && (p = json_str_after(p, "\"source\":", source, sizeof(source))) != NULL &&
           (p = json_str_after(p, "\"state\":", state, sizeof(state))) != NULL) {
        if (strcmp(source, "internal") != 0 && strcmp(state, "UP") == 0) n++;
    }
    return n;
}

static void set_broker_up(struct tsr_kafka *k, int up)
{
    if (up == k->broker_up) return;
    k->broker_up = up;
    tsr_metrics.kafka_up = up;
    if (up) k->last_error[0] = '\0';
    if (up)
        tsr_info("kafka reachable again");
    else
        tsr_warn("kafka unreachable: no broker connection is up; until it returns, writes %s",
                 k->spool_enabled ? "go to the spool" : "get 503");
}

static int stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque)
{
    set_broker_up(opaque, tsr_kafka_stats_brokers_up(json) > 0);
    return 0; /* librdkafka frees json */
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct tsr_kafka *k = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(rk, why, sizeof(why));
        tsr_error("kafka producer fatal error: %s: %s", rd_kafka_err2name(ferr), why);
        k->fatal = 1;
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) set_broker_up(k, 0);
    /* Why the brokers are out of reach: a wrong SASL password or certificate names
     * itself here, and "all brokers down" says nothing more. */
    if (err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || !k->last_error[0])
        snprintf(k->last_error, sizeof(k->last_error), "%s", reason);
    tsr_warn("kafka: %s: %s", rd_kafka_err2name(err), reason);
}

/* librdkafka's own log lines, in our format: syslog levels 0-3 are errors, 4 warnings. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    enum tsr_log_level l = level <= 3 ? TSR_LOG_ERROR : level == 4 ? TSR_LOG_WARN
                         : level <= 6 ? TSR_LOG_INFO : TSR_LOG_DEBUG;
    tsr_log(l, "kafka: %s: %s", fac, buf);
}

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct tsr_kafka *k = opaque;
    if (m->rkt == k->dlq_rkt) {
        if (m->err) {
            __atomic_add_fetch(&tsr_metrics.dlq_errors, 1, __ATOMIC_RELAXED);
            tsr_warn("cannot write rejected line to dead-letter topic '%s': %s",
                     rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
        } else {
            tsr_metrics.dlq_records++;
        }
        return;
    }
    if (m->rkt == k->fleet_rkt) {
        if (m->err)
            tsr_warn("cannot write to the fleet topic '%s': %s", rd_kafka_topic_name(m->rkt),
                     rd_kafka_err2str(m->err));
        return;
    }
    struct pending *pd = m->_private;
    k->inflight_bytes -= (int64_t)pd->len;
    k->inflight_records--;
    tsr_metrics.inflight_bytes = k->inflight_bytes;
    tsr_metrics.inflight_records = k->inflight_records;
    if (m->err) {
        tsr_metrics.kafka_errors++;
    } else {
        tsr_metrics.kafka_records++;
        tsr_metrics.kafka_bytes += pd->len;
        if (m->partition >= 0 && m->partition < TSR_KAFKA_MAX_PARTITIONS &&
            m->offset + 1 > atomic_load(&k->high[m->partition]))
            atomic_store(&k->high[m->partition], m->offset + 1);
        tsr_metrics_observe_latency(&tsr_metrics, (tsr_clock_mono_ns() - pd->t0_ns) / 1e9);
        /* A confirmed record proves a broker is up even before the next stats tick. */
        set_broker_up(k, 1);
    }
    pd->done(pd->opaque, m->err, m->err ? rd_kafka_err2str(m->err) : NULL);
    free(pd);
}

/* Serves every queued event: delivery reports, stats, errors. */
static void serve(struct tsr_kafka *k)
{
    while (rd_kafka_poll(k->rk, 0) > 0) {
    }
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    char drain[256];
    while (read(fd, drain, sizeof(drain)) > 0) {
    }
    serve(arg);
}

/* librdkafka only signals the fd when its queue goes from empty to non-empty; a slow
 * tick covers any edge we might miss and keeps the stats and timers flowing. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_kafka *k = arg;
    serve(k);
    tsr_metrics.kafka_partitions = atomic_load(&k->partitions);
}

static void *meta_main(void *arg)
{
    struct tsr_kafka *k = arg;
    int logged_missing = 0;
    pthread_setname_np(pthread_self(), "tsr-kmeta");
    pthread_mutex_lock(&k->meta_mu);
    while (!k->meta_stop) {
        pthread_mutex_unlock(&k->meta_mu);
        const struct rd_kafka_metadata *md = NULL;
        int n = 0;
        rd_kafka_resp_err_t err = rd_kafka_metadata(k->rk, 0, k->rkt, &md, 5000);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1) {
            if (md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
                n = md->topics[0].partition_cnt;
            else if (!logged_missing++)
                tsr_warn("kafka topic '%s' is not usable: %s", rd_kafka_topic_name(k->rkt),
                         rd_kafka_err2str(md->topics[0].err));
            /* Only with a broker answering: the Admin API calls wait seconds for one.
             * A topic created now is seen by the next round, a second later. */
            if (tsr_topics_tend(&k->topics, k->rk, &md->topics[0]) == 0) {
                pthread_mutex_lock(&k->meta_mu);
                k->topic_report = k->topics.report;
                pthread_mutex_unlock(&k->meta_mu);
            }
        }
        if (md) rd_kafka_metadata_destroy(md);
        /* A topic's partition count only grows; never shrink on a failed look-up. */
        int old = atomic_load(&k->partitions);
        if (n > old) {
            atomic_store(&k->partitions, n);
            tsr_info("kafka topic '%s' has %d partitions", rd_kafka_topic_name(k->rkt), n);
        }

        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += atomic_load(&k->partitions) ? 30 : 1;
        pthread_mutex_lock(&k->meta_mu);
        if (!k->meta_stop) pthread_cond_timedwait(&k->meta_cv, &k->meta_mu, &until);
    }
    pthread_mutex_unlock(&k->meta_mu);
    return NULL;
}

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *err,
                    size_t errlen)
{
    char why[256];
    if (rd_kafka_conf_set(conf, key, value, why, sizeof(why)) == RD_KAFKA_CONF_OK) return 0;
    snprintf(err, errlen, "invalid kafka property '%s': %s", key, why);
    return -1;
}

/* librdkafka backs off reconnecting up to 10 s by default, so a broker back from an
 * outage waited up to that long for the relay (503s, forwarding stalled 8-10 s). A few
 * brokers of one datacenter take a reconnect a second from each relay easily; operators
 * may still set it in kafka.properties. */
#define TSR_KAFKA_RECONNECT_MAX_MS "1000"

/* librdkafka 2.0 waits fetch.error.backoff.ms (500 ms) before it fetches a partition
 * whose read-ahead queue was full, as after an error (2.1 gave that wait a key of its
 * own, fetch.queue.backoff.ms). A catch-up then ran dry about every second unless the
 * read-ahead held a second of delivery (64 MiB per cluster). With 20 ms, a few MiB keep
 * delivery fed; a real fetch error is retried sooner too, which a broker takes easily. */
#define TSR_KAFKA_FETCH_BACKOFF_MS "20"

/* A forwarder's read-ahead is split over the topic's partitions and the clusters; below
 * this, a partition would be fetched a few records at a time. */
#define TSR_KAFKA_MIN_READ_AHEAD (256 << 10)

static rd_kafka_conf_t *make_conf(const struct tsr_config *cf, struct tsr_kafka *k, char *err,
                                  size_t errlen)
{
    char num[32], client_id[256], host[128] = "localhost";
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    gethostname(host, sizeof(host) - 1);
    snprintf(client_id, sizeof(client_id), "tsrelay-%s-%s", cf->datacenter, host);

    struct {
        const char *key;
        const char *value;
    } fixed[] = {
        {"bootstrap.servers", cf->kafka_brokers},
        {"client.id", client_id},
        /* Idempotence implies acks=all and lets librdkafka retry without duplicates. */
        {"enable.idempotence", "true"},
        {"compression.codec", cf->kafka_compression},
        {"statistics.interval.ms", "1000"},
        {"socket.keepalive.enable", "true"},
        {"reconnect.backoff.max.ms", TSR_KAFKA_RECONNECT_MAX_MS},
    };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (conf_set(conf, fixed[i].key, fixed[i].value, err, errlen)) goto fail;

    snprintf(num, sizeof(num), "%lld", (long long)cf->kafka_linger_ms);
    if (conf_set(conf, "linger.ms", num, err, errlen)) goto fail;
    snprintf(num, sizeof(num), "%lld", (long long)cf->kafka_message_timeout_ms);
    if (conf_set(conf, "message.timeout.ms", num, err, errlen)) goto fail;
    /* librdkafka's queue defaults to 1 GiB; the relay's memory bound is ours to set. */
    snprintf(num, sizeof(num), "%lld", (long long)(cf->kafka_queue_max_bytes / 1024));
    if (conf_set(conf, "queue.buffering.max.kbytes", num, err, errlen)) goto fail;
    /* Room for a full record plus headers and framing. */
    snprintf(num, sizeof(num), "%lld", (long long)(cf->kafka_record_max_bytes + 65536));
    if (conf_set(conf, "message.max.bytes", num, err, errlen)) goto fail;

    /* Operator properties (TLS, SASL, tuning) come last; the config loader has already
     * refused the ones that would weaken durability or that have keys of their own. */
    for (size_t i = 0; i < cf->nkafka_properties; i++)
        if (conf_set(conf, cf->kafka_properties[i].key, cf->kafka_properties[i].value, err,
                     errlen))
            goto fail;

    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_stats_cb(conf, stats_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

int tsr_kafka_check_topics(const struct tsr_config *cf, struct tsr_topic_report *r, char *err,
                           size_t errlen)
{
    /* A handle of its own, configured as the relay's (TLS, SASL); nothing is produced,
     * so its callbacks find an empty struct. */
    struct tsr_kafka *k = calloc(1, sizeof(*k));
    if (!k) abort();
    int rc = -1;
    char why[512];
    rd_kafka_conf_t *conf = make_conf(cf, k, err, errlen);
    if (conf) {
        k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
        if (!k->rk) {
            rd_kafka_conf_destroy(conf);
            snprintf(err, errlen, "cannot create kafka client: %s", why);
        }
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = k->rk ? rd_kafka_topic_new(k->rk, cf->kafka_topic, NULL) : NULL;
    if (rkt) {
        struct tsr_topics t = {.cf = cf, .created = 1}; /* a check creates nothing */
        if (rd_kafka_metadata(k->rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            md->topic_cnt == 1 && tsr_topics_tend(&t, k->rk, &md->topics[0]) == 0) {
            *r = t.report;
            rc = 0;
        } else {
            snprintf(err, errlen, "kafka '%s' did not describe topic '%s' (unreachable, or the "
                     "topic does not exist)", cf->kafka_brokers, cf->kafka_topic);
        }
        if (md) rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
    }
    if (k->rk) rd_kafka_destroy(k->rk);
    free(k);
    return rc;
}

int tsr_kafka_new(const struct tsr_config *cf, struct event_base *base, struct tsr_kafka **kp,
                  char *err, size_t errlen)
{
    struct tsr_kafka *k = calloc(1, sizeof(*k));
    if (!k) abort();
    k->base = base;
    k->spool_enabled = cf->spool_enabled;
    k->wake_fds[0] = k->wake_fds[1] = -1;
    pthread_mutex_init(&k->meta_mu, NULL);
    pthread_cond_init(&k->meta_cv, NULL);

    rd_kafka_conf_t *conf = make_conf(cf, k, err, errlen);
    if (!conf) goto fail;
    char why[512];
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
    if (!k->rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "cannot create kafka producer: %s", why);
        goto fail;
    }
    k->rkt = rd_kafka_topic_new(k->rk, cf->kafka_topic, NULL);
    k->dlq_rkt = rd_kafka_topic_new(k->rk, cf->kafka_dlq_topic, NULL);
    k->fleet_rkt = rd_kafka_topic_new(k->rk, cf->kafka_fleet_topic, NULL);

    if (pipe2(k->wake_fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(err, errlen, "cannot create wake-up pipe: %s", strerror(errno));
        goto fail;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_get_main(k->rk);
    rd_kafka_queue_io_event_enable(q, k->wake_fds[1], "1", 1);
    rd_kafka_queue_destroy(q);
    k->wake_ev = event_new(base, k->wake_fds[0], EV_READ | EV_PERSIST, on_wake, k);
    k->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, k);
    struct timeval tick = {0, 100000};
    event_add(k->wake_ev, NULL);
    event_add(k->tick_ev, &tick);

    k->topics.cf = cf;
    k->topics.create_log.every_s = 60;
    if (pthread_create(&k->meta_thread, NULL, meta_main, k) != 0) {
        snprintf(err, errlen, "cannot start kafka metadata thread");
        goto fail;
    }
    *kp = k;
    return 0;
fail:
    k->meta_thread = 0;
    tsr_kafka_free(&k, 0);
    return -1;
}

int tsr_kafka_free(struct tsr_kafka **kp, int timeout_ms)
{
    struct tsr_kafka *k = *kp;
    int left = 0;
    if (!k) return 0;
    if (k->meta_thread) {
        pthread_mutex_lock(&k->meta_mu);
        k->meta_stop = 1;
        pthread_cond_signal(&k->meta_cv);
        pthread_mutex_unlock(&k->meta_mu);
        pthread_join(k->meta_thread, NULL);
    }
    if (k->rk) {
        /* rd_kafka_flush serves delivery reports itself, so done callbacks still run. */
        rd_kafka_flush(k->rk, timeout_ms);
        left = rd_kafka_outq_len(k->rk);
        if (left > 0) {
            /* Purged records get their delivery report (an error), so no caller waits
             * forever and no payload leaks. */
            rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            rd_kafka_poll(k->rk, 100);
        }
        if (k->rkt) rd_kafka_topic_destroy(k->rkt);
        if (k->dlq_rkt) rd_kafka_topic_destroy(k->dlq_rkt);
        if (k->fleet_rkt) rd_kafka_topic_destroy(k->fleet_rkt);
        rd_kafka_destroy(k->rk);
    }
    if (k->wake_ev) event_free(k->wake_ev);
    if (k->tick_ev) event_free(k->tick_ev);
    if (k->wake_fds[0] >= 0) close(k->wake_fds[0]);
    if (k->wake_fds[1] >= 0) close(k->wake_fds[1]);
    pthread_mutex_destroy(&k->meta_mu);
    pthread_cond_destroy(&k->meta_cv);
    free(k);
    *kp = NULL;
    return left;
}

int tsr_kafka_ready(const struct tsr_kafka *k)
{
    return k->broker_up && !k->fatal && atomic_load(&k->partitions) > 0;
}

const char *tsr_kafka_last_error(const struct tsr_kafka *k)
{
    return k->broker_up ? "" : k->last_error;
}

int tsr_kafka_fatal(const struct tsr_kafka *k)
{
    return k->fatal;
}

void tsr_kafka_topic_report(struct tsr_kafka *k, struct tsr_topic_report *out)
{
    pthread_mutex_lock(&k->meta_mu);
    *out = k->topic_report;
    pthread_mutex_unlock(&k->meta_mu);
}

int tsr_kafka_partitions(const struct tsr_kafka *k)
{
    return atomic_load(&k->partitions);
}

int tsr_kafka_offsets_at(struct tsr_kafka *k, int nparts, int64_t at_ms, int64_t *out,
                         int timeout_ms, char *err, size_t errlen)
{
    const char *topic = rd_kafka_topic_name(k->rkt);
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(nparts);
    for (int p = 0; p < nparts; p++) {
        rd_kafka_topic_partition_list_add(tl, topic, p)->offset = at_ms;
        out[p] = -1;
    }
    /* ListOffsets takes the special times -2 and -1 for the log's start and end, so
     * the retained range comes in the same single request per leader. */
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(k->rk, tl, timeout_ms);
    for (int i = 0; !e && i < tl->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &tl->elems[i];
        if (tp->partition < 0 || tp->partition >= nparts) continue;
        if (tp->err && at_ms < 0) {
            snprintf(err, errlen, "cannot read the offsets of partition %d: %s", tp->partition,
                     rd_kafka_err2str(tp->err));
            rd_kafka_topic_partition_list_destroy(tl);
            return -1;
        }
        out[tp->partition] = tp->err ? -1 : tp->offset;
    }
    rd_kafka_topic_partition_list_destroy(tl);
    if (e) {
        snprintf(err, errlen, "%s", rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

int tsr_kafka_group_offsets(struct tsr_kafka *k, rd_kafka_t *via, const char *group, int nparts,
                            int64_t *pos, char (*meta)[128], int timeout_ms, char *err,
                            size_t errlen)
{
    int rc = -1;
    for (int p = 0; p < nparts; p++) {
        pos[p] = -1;
        meta[p][0] = '\0';
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(via);
    rd_kafka_AdminOptions_t *o =
        rd_kafka_AdminOptions_new(via, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
    char why[256];
    rd_kafka_AdminOptions_set_request_timeout(o, timeout_ms, why, sizeof(why));
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
    rd_kafka_ListConsumerGroupOffsets(via, &req, 1, o, q);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
    if (!ev) {
        snprintf(err, errlen, "no answer from the group coordinator within %d ms", timeout_ms);
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(err, errlen, "%s", rd_kafka_event_error_string(ev));
        goto out;
    }
    size_t n = 0;
    const rd_kafka_group_result_t **gr = rd_kafka_ListConsumerGroupOffsets_result_groups(
        rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
    if (n < 1) {
        snprintf(err, errlen, "empty answer for group '%s'", group);
        goto out;
    }
    const rd_kafka_error_t *ge = rd_kafka_group_result_error(gr[0]);
    if (ge) {
        snprintf(err, errlen, "%s", rd_kafka_error_string(ge));
        goto out;
    }
    const rd_kafka_topic_partition_list_t *tl = rd_kafka_group_result_partitions(gr[0]);
    const char *topic = rd_kafka_topic_name(k->rkt);
    for (int i = 0; tl && i < tl->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &tl->elems[i];
        if (strcmp(tp->topic, topic) != 0 || tp->partition < 0 || tp->partition >= nparts ||
            tp->err)
            continue;
        pos[tp->partition] = tp->offset;
        size_t m = tp->metadata_size < 127 ? tp->metadata_size : 127;
        if (tp->metadata && m) memcpy(meta[tp->partition], tp->metadata, m);
        meta[tp->partition][m] = '\0';
    }
    rc = 0;
out:
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    return rc;
}

int64_t tsr_kafka_high(const struct tsr_kafka *k, int32_t p)
{
    return p >= 0 && p < TSR_KAFKA_MAX_PARTITIONS ? atomic_load(&k->high[p]) : -1;
}

int64_t tsr_kafka_inflight_bytes(const struct tsr_kafka *k)
{
    return k->inflight_bytes;
}

static rd_kafka_headers_t *make_headers(const struct tsr_kafka_hdrs *h)
{
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(4);
    if (h->db) rd_kafka_header_add(hdrs, TSR_KAFKA_HDR "db", -1, h->db, -1);
    if (h->rp && *h->rp) rd_kafka_header_add(hdrs, TSR_KAFKA_HDR "rp", -1, h->rp, -1);
    if (h->src) rd_kafka_header_add(hdrs, TSR_KAFKA_HDR "src", -1, h->src, -1);
    if (h->kind) rd_kafka_header_add(hdrs, TSR_KAFKA_HDR "kind", -1, h->kind, -1);
    return hdrs;
}

int tsr_kafka_produce(struct tsr_kafka *k, int32_t partition, const char *payload, size_t len,
                      const struct tsr_kafka_hdrs *hdrs, tsr_kafka_done_fn *done, void *opaque,
                      const char **errstr)
{
    if (k->fatal) {
        *errstr = "kafka producer failed fatally; the relay is restarting";
        return -1;
    }
    if (partition < 0 || partition >= atomic_load(&k->partitions)) {
        *errstr = "kafka topic partitions not known yet";
        return -1;
    }
    struct pending *pd = malloc(sizeof(*pd));
    if (!pd) abort();
    pd->done = done;
    pd->opaque = opaque;
    pd->len = len;
    pd->t0_ns = tsr_clock_mono_ns();
    rd_kafka_headers_t *h = make_headers(hdrs);
    /* No F_COPY, no F_FREE: the payload stays the caller's until the delivery report. */
    rd_kafka_resp_err_t err = rd_kafka_producev(
        k->rk, RD_KAFKA_V_RKT(k->rkt), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_VALUE((void *)payload, len), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(pd),
        RD_KAFKA_V_MSGFLAGS(0), RD_KAFKA_V_END);
    if (err) {
        rd_kafka_headers_destroy(h);
        free(pd);
        tsr_metrics.kafka_errors++;
        *errstr = rd_kafka_err2str(err);
        return -1;
    }
    k->inflight_bytes += (int64_t)len;
    k->inflight_records++;
    tsr_metrics.inflight_bytes = k->inflight_bytes;
    tsr_metrics.inflight_records = k->inflight_records;
    return 0;
}

/* The source record of a point taken from an input topic, for its dead-letter record. */
struct origin {
    const char *topic;
    int32_t partition;
    int64_t offset;
};

static void dead_letter(struct tsr_kafka *k, const char *raw, size_t len, const char *reason,
                        const char *src, long line_no, const char *db, const char *client,
                        const struct origin *o)
{
    char line[32];
    snprintf(line, sizeof(line), "%ld", line_no);
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    rd_kafka_header_add(h, TSR_KAFKA_HDR "reason", -1, reason, -1);
    rd_kafka_header_add(h, TSR_KAFKA_HDR "src", -1, src, -1);
    rd_kafka_header_add(h, TSR_KAFKA_HDR "line", -1, line, -1);
    if (db) rd_kafka_header_add(h, TSR_KAFKA_HDR "db", -1, db, -1);
    if (client) rd_kafka_header_add(h, TSR_KAFKA_HDR "client", -1, client, -1);
    if (o) {
        char num[32];
        rd_kafka_header_add(h, TSR_KAFKA_HDR "topic", -1, o->topic, -1);
        snprintf(num, sizeof(num), "%" PRId32, o->partition);
        rd_kafka_header_add(h, TSR_KAFKA_HDR "partition", -1, num, -1);
        snprintf(num, sizeof(num), "%" PRId64, o->offset);
        rd_kafka_header_add(h, TSR_KAFKA_HDR "offset", -1, num, -1);
    }
    /* Dead-letter records are '\n'-terminated lines, like the main topic's. */
    int add_nl = len == 0 || raw[len - 1] != '\n';
    char *value = malloc(len + 1);
    if (!value) abort();
    memcpy(value, raw, len);
    if (add_nl) value[len++] = '\n';
    rd_kafka_resp_err_t err = rd_kafka_producev(
        k->rk, RD_KAFKA_V_RKT(k->dlq_rkt), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
        RD_KAFKA_V_VALUE(value, len), RD_KAFKA_V_HEADERS(h),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_END);
    if (err) {
        free(value);
        rd_kafka_headers_destroy(h);
        /* Any thread may get here: the counter is shared. */
        __atomic_add_fetch(&tsr_metrics.dlq_errors, 1, __ATOMIC_RELAXED);
        tsr_warn("cannot queue rejected line %ld from %s for the dead-letter topic: %s", line_no,
                 client ? client : src, rd_kafka_err2str(err));
    }
}

void tsr_kafka_dead_letter(struct tsr_kafka *k, const char *raw, size_t len, const char *reason,
                           const char *src, long line_no, const char *db, const char *client)
{
    dead_letter(k, raw, len, reason, src, line_no, db, client, NULL);
}

void tsr_kafka_dead_letter_input(struct tsr_kafka *k, const char *raw, size_t len,
                                 const char *reason, long line_no, const char *db,
                                 const char *topic, int32_t partition, int64_t offset)
{
    char client[300];
    snprintf(client, sizeof(client), "%s/%" PRId32 "@%" PRId64, topic, partition, offset);
    struct origin o = {topic, partition, offset};
    dead_letter(k, raw, len, reason, "kafka", line_no, db, client, &o);
}

int tsr_kafka_fleet_put(struct tsr_kafka *k, const char *key, const char *val, size_t len)
{
    /* Partition 0: the fleet topic is one ordered log, whatever it was created with. */
    rd_kafka_resp_err_t err = rd_kafka_producev(
        k->rk, RD_KAFKA_V_RKT(k->fleet_rkt), RD_KAFKA_V_PARTITION(0),
        RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE((void *)val, val ? len : 0),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err) {
        tsr_warn("cannot queue '%s' for the fleet topic: %s", key, rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

/* --- the fleet topic's creation: asynchronous, polled ---------------------------- */

struct tsr_kafka_create {
    rd_kafka_queue_t *q;
};

int tsr_kafka_fleet_create(struct tsr_kafka *k, const char *topic, struct tsr_kafka_create **cp,
                           char *err, size_t errlen)
{
    struct tsr_kafka_create *c = *cp;
    if (!c) {
        char why[256];
        /* As many copies as the data topic: the fleet's jobs and ledger are state. */
        rd_kafka_NewTopic_t *nt = tsr_topics_new_topic(k->topics.cf, topic, 1);
        if (!nt) {
            snprintf(err, errlen, "cannot describe topic '%s' to create", topic);
            return -1;
        }
        /* Compacted: the newest record of each key (a job, a ledger interval) is what
         * counts, and the log stays small for a relay that reads it from the start. */
        rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
        c = calloc(1, sizeof(*c));
        if (!c) abort();
        c->q = rd_kafka_queue_new(k->rk);
        rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(k->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
        rd_kafka_AdminOptions_set_request_timeout(o, 10000, why, sizeof(why));
        rd_kafka_CreateTopics(k->rk, &nt, 1, o, c->q);
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_NewTopic_destroy(nt);
        *cp = c;
        return 1;
    }
    rd_kafka_event_t *ev = rd_kafka_queue_poll(c->q, 0);
    if (!ev) return 1;
    int rc = 0;
    size_t n = 0;
    const rd_kafka_topic_result_t **tr =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
    if (!e && n == 1) e = rd_kafka_topic_result_error(tr[0]);
    if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        snprintf(err, errlen, "cannot create topic '%s': %s", topic,
                 n == 1 && rd_kafka_topic_result_error_string(tr[0])
                     ? rd_kafka_topic_result_error_string(tr[0])
                     : rd_kafka_err2str(e));
        rc = -1;
    } else if (!e) {
        tsr_info("created the fleet topic '%s' (1 partition, compacted, replication factor %lld)",
                 topic, (long long)k->topics.cf->kafka_replication_factor);
    }
    rd_kafka_event_destroy(ev);
    tsr_kafka_fleet_create_free(cp);
    return rc;
}

void tsr_kafka_fleet_create_free(struct tsr_kafka_create **cp)
{
    struct tsr_kafka_create *c = *cp;
    if (!c) return;
    rd_kafka_queue_destroy(c->q);
    free(c);
    *cp = NULL;
}

void tsr_kafka_header(struct rd_kafka_message_s *m, const char *name, char *out, size_t outlen)
{
    rd_kafka_headers_t *h;
    const void *v;
    size_t n;
    char prefixed[64];
    snprintf(prefixed, sizeof(prefixed), TSR_KAFKA_HDR "%s", name);
    out[0] = '\0';
    if (rd_kafka_message_headers(m, &h)) return;
    /* Records written before the prefix carry the bare name. */
    if (rd_kafka_header_get_last(h, prefixed, &v, &n) && rd_kafka_header_get_last(h, name, &v, &n))
        return;
    if (n >= outlen) n = outlen - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

static void consumer_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    tsr_log(level <= 3 ? TSR_LOG_WARN : TSR_LOG_DEBUG, "kafka consumer %s: %s: %s",
            rd_kafka_name(rk), fac, buf);
}

static void consumer_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        /* Another relay runs under the same instance name (static membership fences
         * one of them), or the group protocol broke: this consumer cannot go on. */
        char why[256];
        rd_kafka_resp_err_t e = rd_kafka_fatal_error(rk, why, sizeof(why));
        tsr_error("kafka consumer %s: fatal: %s: %s (is another relay running with the same "
                  "'instance'?)", rd_kafka_name(rk), rd_kafka_err2name(e), why);
        return;
    }
    /* Transient (a broker restarting): librdkafka reconnects; its log says the rest. */
    tsr_debug("kafka consumer %s: %s: %s", rd_kafka_name(rk), rd_kafka_err2name(err), reason);
}

int tsr_kafka_pause(rd_kafka_t *rk, const char *topic, int32_t first, int32_t count, int pause)
{
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(count);
    for (int32_t p = first; p < first + count; p++) rd_kafka_topic_partition_list_add(tl, topic, p);
    rd_kafka_resp_err_t e =
        pause ? rd_kafka_pause_partitions(rk, tl) : rd_kafka_resume_partitions(rk, tl);
    rd_kafka_topic_partition_list_destroy(tl);
    return (int)e;
}

/* Where a consumer reads: its brokers, the datacenter's kafka.properties (NULL: none)
 * and an input's own properties (NULL: none), which must all apply. */
struct source {
    const char *brokers;
    const struct tsr_kv *dc_props;
    size_t ndc_props;
    const struct tsr_kv *own_props;
    size_t nown_props;
};

static rd_kafka_t *consumer_new(const struct tsr_config *cf, const struct source *src,
                                const char *group_id, const char *offset_reset,
                                int64_t read_ahead, const struct tsr_kafka_member *mb, char *err,
                                size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char why[200], kbytes[32];
    if (read_ahead < TSR_KAFKA_MIN_READ_AHEAD) read_ahead = TSR_KAFKA_MIN_READ_AHEAD;
    snprintf(kbytes, sizeof(kbytes), "%lld", (long long)(read_ahead / 1024));
    const char *props[][2] = {
        {"bootstrap.servers", src->brokers},
        {"group.id", group_id},
        {"client.id", group_id},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", offset_reset},
        {"enable.partition.eof", "false"},
        {"queued.max.messages.kbytes", kbytes},
        {"fetch.max.bytes", "4194304"},
        {"fetch.wait.max.ms", "50"},
        {"fetch.error.backoff.ms", TSR_KAFKA_FETCH_BACKOFF_MS},
        {"socket.keepalive.enable", "true"},
        {"reconnect.backoff.max.ms", TSR_KAFKA_RECONNECT_MAX_MS},
    };
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], why, sizeof(why))) {
            snprintf(err, errlen, "kafka consumer property '%s': %s", props[i][0], why);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    /* Producer-only tuning is refused by a consumer; security settings apply. */
    for (size_t i = 0; i < src->ndc_props; i++)
        if (rd_kafka_conf_set(conf, src->dc_props[i].key, src->dc_props[i].value, why,
                              sizeof(why)) != RD_KAFKA_CONF_OK)
            tsr_debug("kafka consumer ignores property '%s': %s", src->dc_props[i].key, why);
    /* An input's properties are its consumer's alone: each must take. */
    for (size_t i = 0; i < src->nown_props; i++) {
        if (rd_kafka_conf_set(conf, src->own_props[i].key, src->own_props[i].value, why,
                              sizeof(why)) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka consumer property '%s': %s", src->own_props[i].key, why);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    if (mb) {
        char session[32], heartbeat[32];
        snprintf(session, sizeof(session), "%lld", (long long)cf->kafka_session_timeout_ms);
        snprintf(heartbeat, sizeof(heartbeat), "%lld", (long long)cf->kafka_session_timeout_ms / 4);
        /* Eager: a rebalance takes every partition away at once, so the forwarder hands
         * all of them off together and never holds a batch that mixes a partition it
         * keeps with one it gives up. Static membership makes rebalances rare: a member
         * restarted within the session timeout gets its partitions back without one. */
        const char *gprops[][2] = {
            {"group.instance.id", mb->instance_id},
            {"session.timeout.ms", session},
            {"heartbeat.interval.ms", heartbeat},
            {"partition.assignment.strategy", "roundrobin"},
        };
        for (size_t i = 0; i < sizeof(gprops) / sizeof(gprops[0]); i++) {
            if (rd_kafka_conf_set(conf, gprops[i][0], gprops[i][1], why, sizeof(why))) {
                snprintf(err, errlen, "kafka consumer property '%s': %s", gprops[i][0], why);
                rd_kafka_conf_destroy(conf);
                return NULL;
            }
        }
        rd_kafka_conf_set_rebalance_cb(conf, (void (*)(rd_kafka_t *, rd_kafka_resp_err_t,
                                                       rd_kafka_topic_partition_list_t *,
                                                       void *))mb->rebalance);
        rd_kafka_conf_set_opaque(conf, mb->opaque);
    }
    rd_kafka_conf_set_error_cb(conf, consumer_error_cb);
    rd_kafka_conf_set_log_cb(conf, consumer_log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "cannot create kafka consumer: %s", why);
    }
    return rk;
}

rd_kafka_t *tsr_kafka_consumer_new(const struct tsr_config *cf, const char *group_id,
                                   const char *offset_reset, int64_t read_ahead,
                                   const struct tsr_kafka_member *mb, char *err, size_t errlen)
{
    struct source src = {cf->kafka_brokers, cf->kafka_properties, cf->nkafka_properties, NULL, 0};
    return consumer_new(cf, &src, group_id, offset_reset, read_ahead, mb, err, errlen);
}

rd_kafka_t *tsr_kafka_input_consumer_new(const struct tsr_config *cf,
                                         const struct tsr_kafka_input_conf *in,
                                         const char *group_id, int64_t read_ahead,
                                         const struct tsr_kafka_member *mb, char *err,
                                         size_t errlen)
{
    int own_kafka = *in->brokers != '\0';
    struct source src = {own_kafka ? in->brokers : cf->kafka_brokers,
                         own_kafka ? NULL : cf->kafka_properties,
                         own_kafka ? 0 : cf->nkafka_properties, in->properties, in->nproperties};
    const char *reset = strcmp(in->offset, "newest") == 0 ? "latest" : "earliest";
    return consumer_new(cf, &src, group_id, reset, read_ahead, mb, err, errlen);
}

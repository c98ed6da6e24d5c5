#include "relay/admin/admin.h"
#include "relay/admin/replay_metrics.h"
#include "relay/admin/spool_view.h"
#include "relay/ingest/kafka_input.h"
#include "relay/shape/shaper.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <time.h>

#include "relay/core/addr.h"
#include "relay/core/buf.h"
#include "relay/core/clock.h"
#include "relay/core/httpd.h"
#include "relay/deliver/ckpt.h"
#include "config/config.h"
#include "relay/deliver/delivery.h"
#include "relay/core/json.h"
#include "relay/kafka/durable.h"
#include "relay/kafka/kafka.h"
#include "relay/kafka/topics.h"
#include "relay/core/log.h"
#include "relay/core/metrics.h"
#include "relay/admin/admin_auth.h"
#include "relay/admin/status_page.h"
#include "replay/ctl_json.h"
#include "replay/replay.h"
#include "replay/verifier.h"

#define MAX_CLUSTERS 64
#define LEDGER_SHOWN 20
/* Operators, probes and a scraper or two: a flood of connections is not one of them. */
#define ADMIN_MAX_CONNECTIONS 256

struct tsr_admin {
    struct event_base *base;
    const struct tsr_config *cf;
    struct tsr_kafka *k;
    struct tsr_durable *dur;
    struct tsr_delivery *d;
    struct tsr_shaper *shaper;     /* NULL until set: ingest rules and cardinality guard */
    struct tsr_ingest_kafka *inputs; /* NULL until set: inputs.kafka[] */
    tsr_admin_reload_fn *reload;   /* POST /reload; NULL: 404 */
    void *reload_opaque;
    int tasks;                     /* replay calls handed to the forwarding thread */
    struct tsr_cluster_status *cs; /* scratch for snapshots */
    struct tsr_httpd *srv;
    int draining;
};

static void send_buf(struct tsr_httpd_req *req, int status, const char *ctype,
                     const struct tsr_buf *b)
{
    tsr_httpd_reply(req, status, ctype, b->data, b->len);
}

/* The topic as the broker describes it, and the durability it cannot give. */
static void render_topic(const struct tsr_admin *a, struct tsr_buf *b)
{
    struct tsr_topic_report r;
    tsr_kafka_topic_report(a->k, &r);
    if (!r.described) {
        tsr_buf_puts(b, ",\"topic_settings\":null,\"topic_warnings\":[]");
        return;
    }
    tsr_buf_printf(b,
                   ",\"topic_settings\":{\"partitions\":%d,\"replication_factor\":%d,"
                   "\"min_insync_replicas\":%d,\"retention_ms\":%lld},\"topic_warnings\":[",
                   r.partitions, r.replication_factor, r.min_insync_replicas,
                   (long long)r.retention_ms);
    for (int i = 0; i < r.nwarnings; i++) {
        if (i) tsr_buf_putc(b, ',');
        tsr_json_string(b, r.warnings[i]);
    }
    tsr_buf_putc(b, ']');
}

/* "verify": the newest verify result of each cluster (empty: none), for /status and
 * /metrics. Read from the state store on this thread. */
static struct tsr_buf *newest_verifies(const struct tsr_admin *a)
{
    struct tsr_buf *v = calloc(a->cf->nclusters + 1, sizeof(*v));
    if (!v) abort();
    if (a->d) tsr_verifier_newest(tsr_delivery_ckpt(a->d), a->cf, v);
    return v;
}

static void free_verifies(const struct tsr_admin *a, struct tsr_buf *v)
{
    for (size_t i = 0; i < a->cf->nclusters; i++) tsr_buf_free(&v[i]);
    free(v);
}

static void render_status(const struct tsr_admin *a, struct tsr_buf *b)
{
    const struct tsr_metrics *m = &tsr_metrics;
    tsr_buf_puts(b, "{\"datacenter\":");
    tsr_json_string(b, a->cf->datacenter);
    tsr_buf_puts(b, ",\"instance\":");
    tsr_json_string(b, a->cf->instance);
    tsr_buf_printf(b, ",\"coordinator\":%s",
                   a->d && tsr_delivery_coordinator(a->d) ? "true" : "false");
    tsr_buf_printf(b, ",\"uptime_s\":%lld,\"draining\":%s", (long long)(time(NULL) - m->start_time_s),
                   a->draining ? "true" : "false");
    tsr_buf_puts(b, ",\"kafka\":{\"brokers\":");
    tsr_json_string(b, a->cf->kafka_brokers);
    tsr_buf_puts(b, ",\"topic\":");
    tsr_json_string(b, a->cf->kafka_topic);
    tsr_buf_printf(b,
                   ",\"ready\":%s,\"up\":%s,\"partitions\":%d,\"inflight_records\":%lld,"
                   "\"inflight_bytes\":%lld,\"records\":%llu,\"errors\":%llu,\"last_error\":",
                   tsr_kafka_ready(a->k) ? "true" : "false", m->kafka_up ? "true" : "false",
                   tsr_kafka_partitions(a->k), (long long)m->inflight_records,
                   (long long)m->inflight_bytes, (unsigned long long)m->kafka_records,
                   (unsigned long long)m->kafka_errors);
    tsr_json_string(b, tsr_kafka_last_error(a->k));
    render_topic(a, b);
    tsr_buf_putc(b, '}');
    tsr_spool_view_json(a->dur, b);
    tsr_ingest_kafka_json(a->inputs, b);
    if (a->shaper) {
        tsr_buf_puts(b, ",\"shaping\":");
        tsr_shaper_json(a->shaper, tsr_clock_now_ns() / 1000000, b);
    }
    tsr_buf_puts(b, ",\"listeners\":{");
    for (int l = 0; l < TSR_LISTENER_MAX; l++) {
        const struct tsr_listener_metrics *x = &m->listener[l];
        tsr_buf_printf(b,
                       "%s\"%s\":{\"points_accepted\":%llu,\"points_rejected\":%llu,"
                       "\"points_failed\":%llu,\"requests\":%llu,\"throttled\":%llu}",
                       l ? "," : "", tsr_listener_names[l],
                       (unsigned long long)x->points_accepted,
                       (unsigned long long)x->points_rejected, (unsigned long long)x->points_failed,
                       (unsigned long long)x->requests, (unsigned long long)x->throttled);
    }
    tsr_buf_puts(b, "},\"clusters\":[");
    int n = a->d ? tsr_delivery_status(a->d, a->cs, MAX_CLUSTERS) : 0;
    struct tsr_buf *verify = newest_verifies(a);
    struct tsr_ledger_entry *le = calloc(LEDGER_SHOWN, sizeof(*le));
    if (!le) abort();
    for (int i = 0; i < n; i++) {
        const struct tsr_cluster_status *c = &a->cs[i];
        tsr_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
        tsr_json_string(b, c->name);
        tsr_buf_puts(b, ",\"type\":");
        tsr_json_string(b, c->type);
        tsr_buf_printf(b, ",\"state\":\"%s\",\"ready\":%s,\"reason\":",
                       tsr_cluster_state_name(c->state),
                       c->state == TSR_CLUSTER_IN_SYNC ? "true" : "false");
        tsr_json_string(b, c->reason);
        tsr_buf_printf(b,
                       ",\"since_ms\":%lld,\"lag_seconds\":%.3f,\"lag_records\":%lld,"
                       "\"lag_points\":%lld,\"points_delivered\":%llu,\"points_rejected\":%llu,"
                       "\"requests_ok\":%llu,\"requests_failed\":%llu,\"retries\":%llu,"
                       "\"gap_records\":%llu,\"partitions_owned\":%lld,\"points_resent\":%llu,"
                       "\"fleet_view\":%s,"
                       "\"last_error\":",
                       (long long)c->since_ms, c->lag_ms / 1000.0, (long long)c->lag_records,
                       (long long)c->lag_points, (unsigned long long)c->points_delivered,
                       (unsigned long long)c->points_rejected, (unsigned long long)c->requests_ok,
                       (unsigned long long)c->requests_failed, (unsigned long long)c->retries,
                       (unsigned long long)c->gap_records, (long long)c->partitions_owned,
                       (unsigned long long)c->points_resent, c->fleet_view ? "true" : "false");
        tsr_json_string(b, c->last_error);
        tsr_buf_printf(b, ",\"points_parked\":%llu,\"points_unparked\":%llu,\"parked\":[",
                       (unsigned long long)c->points_parked,
                       (unsigned long long)c->points_unparked);
        for (int k = 0; k < c->nparked; k++) {
            const struct tsr_parked_status *ps = &c->parked[k];
            tsr_buf_puts(b, k ? ",{\"db\":" : "{\"db\":");
            tsr_json_string(b, ps->db);
            tsr_buf_puts(b, ",\"rp\":");
            tsr_json_string(b, ps->rp);
            tsr_buf_puts(b, ",\"reason\":");
            tsr_json_string(b, ps->reason);
            tsr_buf_printf(b, ",\"since_ms\":%lld,\"points\":%llu,\"attempts\":%d}",
                           (long long)ps->since_ms, (unsigned long long)ps->points, ps->attempts);
        }
        /* Fresh first: the second cursor, behind the lanes (relay/deliver/fill.c). */
        tsr_buf_printf(b,
                       "],\"fill\":{\"partitions\":%d,\"records\":%lld,\"jumps\":%llu,"
                       "\"since_ms\":%lld,\"points_filled\":%llu,\"points_refilled\":%llu}",
                       c->fill_partitions, (long long)c->fill_records,
                       (unsigned long long)c->fills, (long long)c->fill_since_ms,
                       (unsigned long long)c->points_filled,
                       (unsigned long long)c->points_refilled);
        tsr_buf_puts(b, ",\"verify\":");
        if ((size_t)i < a->cf->nclusters && verify[i].len)
            tsr_buf_append(b, verify[i].data, verify[i].len);
        else
            tsr_buf_puts(b, "null");
        tsr_buf_puts(b, ",\"urls\":[");
        for (int u = 0; u < c->nurls && u < 64; u++) {
            char shown[1024];
            tsr_health_url_display(a->cf->clusters[i].urls[u], shown, sizeof(shown));
            tsr_buf_puts(b, u ? ",{\"url\":" : "{\"url\":");
            tsr_json_string(b, shown);
            tsr_buf_printf(b, ",\"up\":%s}", c->url_up[u] ? "true" : "false");
        }
        tsr_buf_puts(b, "],\"partitions\":[");
        for (int p = 0; p < c->nparts; p++) {
            tsr_buf_printf(b, "%s{\"partition\":%d,\"position\":%lld,\"high\":%lld,\"owner\":",
                           p ? "," : "", p, (long long)c->position[p], (long long)c->high[p]);
            tsr_json_string(b, c->owner[p]);
            tsr_buf_printf(b, ",\"mine\":%s", c->owned[p] ? "true" : "false");
            if (c->owned[p] && c->fill_at[p] >= 0)
                tsr_buf_printf(b, ",\"fill_position\":%lld,\"fill_to\":%lld",
                               (long long)c->fill_at[p], (long long)c->fill_to[p]);
            tsr_buf_putc(b, '}');
        }
        tsr_buf_puts(b, "],\"ledger\":[");
        size_t nl = 0;
        char err[256];
        if (tsr_ledger_list(tsr_delivery_ckpt(a->d), c->name, le, LEDGER_SHOWN, &nl, err,
                            sizeof(err)) != 0)
            nl = 0;
        for (size_t e = 0; e < nl; e++) {
            tsr_buf_printf(b, "%s{\"id\":%llu,\"kind\":", e ? "," : "", (unsigned long long)le[e].id);
            tsr_json_string(b, le[e].kind);
            tsr_buf_printf(b, ",\"from_ms\":%lld,\"to_ms\":%lld,\"reason\":",
                           (long long)le[e].from_ms, (long long)le[e].to_ms);
            tsr_json_string(b, le[e].reason);
            tsr_buf_puts(b, ",\"from_offsets\":[");
            for (int p = 0; p < le[e].nparts; p++)
                tsr_buf_printf(b, "%s%lld", p ? "," : "", (long long)le[e].from_offset[p]);
            tsr_buf_puts(b, "],\"to_offsets\":[");
            for (int p = 0; p < le[e].nparts && le[e].to_ms; p++)
                tsr_buf_printf(b, "%s%lld", p ? "," : "", (long long)le[e].to_offset[p]);
            tsr_buf_puts(b, "]}");
        }
        tsr_buf_puts(b, "]}");
    }
    free(le);
    free_verifies(a, verify);
    tsr_buf_puts(b, "],\"replays\":");
    if (a->d)
        tsr_delivery_replays(a->d, b);
    else
        tsr_buf_puts(b, "[]");
    tsr_buf_puts(b, "}\n");
}

/* --- replay jobs: run on the forwarding thread, answered here ---------------------- */

/* How long a relay that is not the fleet's coordinator waits for its answer. */
#define FLEET_ANSWER_MS 10000
#define FLEET_POLL_MS 50

struct replay_call {
    struct tsr_admin *a;
    struct tsr_httpd_req *req;
    uint64_t ticket;         /* sent to the coordinator: waiting for its answer */
    int64_t deadline_ns;
    struct event *again;
    char verb[16];           /* "start", "list", "show", "pause", "resume", "cancel" */
    uint64_t id;
    struct tsr_replay_req rq;
    char cluster[72], db[256], prefix[256], started_by[128];
    struct tsr_buf body; /* POST /verifies: the result to record */
    struct tsr_buf out;
    int status;
};

static void replay_work(struct tsr_replayer *r, void *arg)
{
    struct replay_call *c = arg;
    if (c->ticket) {
        c->status = tsr_replayer_answer(r, c->ticket, &c->out);
    } else if (strcmp(c->verb, "start") == 0) {
        c->status = tsr_replayer_request(r, "start", 0, &c->rq, &c->out, &c->ticket);
    } else if (strcmp(c->verb, "list") == 0) {
        tsr_buf_puts(&c->out, "{\"replays\":");
        tsr_replayer_list(r, 0, &c->out);
        tsr_buf_puts(&c->out, "}");
        c->status = 200;
    } else if (strcmp(c->verb, "show") == 0) {
        c->status = tsr_replayer_show(r, c->id, &c->out);
    } else if (strcmp(c->verb, "verify-list") == 0) {
        tsr_verifier_list(tsr_replayer_verifier(r), &c->out);
        c->status = 200;
    } else if (strcmp(c->verb, "verify-record") == 0) {
        c->status = tsr_verifier_record(tsr_replayer_verifier(r), c->body.data, c->body.len,
                                        &c->out);
    } else {
        c->status = tsr_replayer_request(r, c->verb, c->id, NULL, &c->out, &c->ticket);
    }
}

static void replay_reply(void *arg);

static void json_error(struct tsr_httpd_req *req, int status, const char *msg);

/* Hands c to the forwarding thread, counted until its reply: a reload waits for none to
 * be there, since stopping the thread drops what it has not run. */
static void run_call(struct replay_call *c)
{
    c->a->tasks++;
    tsr_delivery_run(c->a->d, replay_work, c, c->a->base, replay_reply);
}

static void replay_again(evutil_socket_t fd, short what, void *arg)
{
    struct replay_call *c = arg;
    if (!c->a->d) {
        json_error(c->req, 503, "no clusters are configured any more");
        if (c->again) event_free(c->again);
        tsr_buf_free(&c->out);
        free(c);
        return;
    }
    run_call(c);
}

static void replay_reply(void *arg)
{
    struct replay_call *c = arg;
    c->a->tasks--;
    if (c->status == 0) {
        /* Asked the fleet's coordinator through Kafka: look for its answer again soon. */
        if (!c->deadline_ns) c->deadline_ns = tsr_clock_mono_ns() + (int64_t)FLEET_ANSWER_MS * 1000000;
        if (tsr_clock_mono_ns() < c->deadline_ns) {
            if (!c->again) c->again = evtimer_new(c->a->base, replay_again, c);
            struct timeval tv = {0, FLEET_POLL_MS * 1000};
            evtimer_add(c->again, &tv);
            return;
        }
        c->status = 503;
        tsr_buf_puts(&c->out, "{\"error\":\"no answer from the fleet's coordinator within 10 s "
                              "(see its log; is kafka reachable?)\"}");
    }
    if (c->again) event_free(c->again);
    tsr_buf_putc(&c->out, '\n');
    send_buf(c->req, c->status, "application/json", &c->out);
    tsr_buf_free(&c->out);
    tsr_buf_free(&c->body);
    free(c);
}

static void json_error(struct tsr_httpd_req *req, int status, const char *msg)
{
    struct tsr_buf b = {0};
    tsr_buf_puts(&b, "{\"error\":");
    tsr_json_string(&b, msg);
    tsr_buf_puts(&b, "}\n");
    send_buf(req, status, "application/json", &b);
    tsr_buf_free(&b);
}

/* Reads POST /replays's body into c; returns 0 or -1 with the answer sent. */
static int read_start(struct tsr_httpd_req *req, struct replay_call *c)
{
    size_t n;
    char err[256];
    struct tsr_jsonr *root = NULL;
    const char *body = tsr_httpd_body(req, &n);
    if (tsr_jsonr_parse(body, n, &root, err, sizeof(err)) != 0) {
        char msg[320];
        snprintf(msg, sizeof(msg), "body is not JSON: %s", err);
        json_error(req, 400, msg);
        return -1;
    }
    if (tsr_jsonr_type(root) != TSR_JSONR_OBJECT || !tsr_jsonr_get(root, "cluster") ||
        !tsr_jsonr_get(root, "since_ms")) {
        tsr_jsonr_free(&root);
        json_error(req, 400, "a replay needs at least \"cluster\" and \"since_ms\"");
        return -1;
    }
    snprintf(c->cluster, sizeof(c->cluster), "%s", tsr_jsonr_get_str(root, "cluster", ""));
    snprintf(c->db, sizeof(c->db), "%s", tsr_jsonr_get_str(root, "db", ""));
    snprintf(c->prefix, sizeof(c->prefix), "%s", tsr_jsonr_get_str(root, "measurement_prefix", ""));
    snprintf(c->started_by, sizeof(c->started_by), "%s", tsr_jsonr_get_str(root, "started_by", ""));
    c->rq = (struct tsr_replay_req){
        .cluster = c->cluster,
        .since_ms = tsr_jsonr_get_int(root, "since_ms", 0),
        .until_ms = tsr_jsonr_get_int(root, "until_ms", 0),
        .rate = tsr_jsonr_get_int(root, "rate", 0),
        .db = c->db,
        .measurement_prefix = c->prefix,
        .points_since_ms = tsr_jsonr_get_int(root, "points_since_ms", 0),
        .points_until_ms = tsr_jsonr_get_int(root, "points_until_ms", 0),
        .started_by = c->started_by,
        .dry_run = tsr_jsonr_get_bool(root, "dry_run", 0),
    };
    tsr_jsonr_free(&root);
    return 0;
}

/* /replays, /replays/ID, /replays/ID/(pause|resume|cancel). who: the token the request
 * came with, whose name the audit trail records rather than one the client chose. */
static void replays(struct tsr_admin *a, struct tsr_httpd_req *req, const char *path,
                    const struct tsr_admin_token *who)
{
    if (!a->d) {
        json_error(req, 404, "no clusters are configured, so there is nothing to replay to");
        return;
    }
    int post = tsr_httpd_method(req) == TSR_HTTPD_POST;
    struct replay_call *c = calloc(1, sizeof(*c));
    if (!c) abort();
    c->a = a;
    c->req = req;
    const char *rest = path + strlen("/replays");
    if (*rest == '\0' || strcmp(rest, "/") == 0) {
        snprintf(c->verb, sizeof(c->verb), post ? "start" : "list");
        if (post && read_start(req, c) != 0) {
            free(c);
            return;
        }
        if (who) snprintf(c->started_by, sizeof(c->started_by), "%s", who->name);
    } else {
        char *end;
        c->id = strtoull(rest + 1, &end, 10);
        if (end == rest + 1 || (*end && *end != '/')) {
            free(c);
            json_error(req, 404, "no such replay path");
            return;
        }
        if (*end == '/') {
            if (!post) {
                free(c);
                json_error(req, 405, "use POST");
                return;
            }
            snprintf(c->verb, sizeof(c->verb), "%s", end + 1);
        } else {
            snprintf(c->verb, sizeof(c->verb), "show");
        }
    }
    run_call(c);
}

/* GET /verifies (the results kept, newest first), POST /verifies (tsrelayctl verify
 * records one): on the forwarding thread, which writes the state store. */
static void verifies(struct tsr_admin *a, struct tsr_httpd_req *req)
{
    if (!a->d) {
        json_error(req, 404, "no clusters are configured, so there is nothing to verify");
        return;
    }
    struct replay_call *c = calloc(1, sizeof(*c));
    if (!c) abort();
    c->a = a;
    c->req = req;
    if (tsr_httpd_method(req) == TSR_HTTPD_POST) {
        size_t n;
        const char *body = tsr_httpd_body(req, &n);
        tsr_buf_append(&c->body, body ? body : "", n);
        snprintf(c->verb, sizeof(c->verb), "verify-record");
    } else {
        snprintf(c->verb, sizeof(c->verb), "verify-list");
    }
    run_call(c);
}

/* The figures of each cluster's newest verify result. */
static void render_verify_metrics(struct tsr_admin *a, struct tsr_buf *b)
{
    static const char *const fam[][3] = {
        {"tsrelay_verify_windows_differ", "Windows of point time whose values differed from Kafka's at the cluster's newest verify.", "differ"},
        {"tsrelay_verify_missing_values", "Values Kafka holds that the cluster lacked at its newest verify.", "missing"},
        {"tsrelay_verify_extra_values", "Values the cluster held beyond Kafka's at its newest verify.", "extra"},
        {"tsrelay_verify_failed", "1 if the cluster's newest verify could not count (its error is in /status).", NULL},
        {"tsrelay_verify_last_timestamp_seconds", "When the cluster's newest verify ran.", NULL},
    };
    struct tsr_buf *v = newest_verifies(a);
    struct tsr_jsonr **doc = calloc(a->cf->nclusters + 1, sizeof(*doc));
    if (!doc) abort();
    int any = 0;
    for (size_t i = 0; i < a->cf->nclusters; i++) {
        char err[256];
        if (v[i].len && tsr_jsonr_parse(v[i].data, v[i].len, &doc[i], err, sizeof(err)) == 0) any = 1;
    }
    for (size_t f = 0; any && f < sizeof(fam) / sizeof(fam[0]); f++) {
        tsr_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", fam[f][0], fam[f][1], fam[f][0]);
        for (size_t i = 0; i < a->cf->nclusters; i++) {
            if (!doc[i]) continue;
            const struct tsr_jsonr *report = tsr_jsonr_get(doc[i], "report");
            const char *name = a->cf->clusters[i].name;
            if (fam[f][2] && report)
                tsr_buf_printf(b, "%s{cluster=\"%s\"} %lld\n", fam[f][0], name,
                               (long long)tsr_jsonr_get_int(report, fam[f][2], 0));
            else if (f == 3)
                tsr_buf_printf(b, "%s{cluster=\"%s\"} %d\n", fam[f][0], name, report == NULL);
            else if (f == 4)
                tsr_buf_printf(b, "%s{cluster=\"%s\"} %.3f\n", fam[f][0], name,
                               (double)tsr_jsonr_get_int(doc[i], "at_ms", 0) / 1000.0);
        }
    }
    for (size_t i = 0; i < a->cf->nclusters; i++) tsr_jsonr_free(&doc[i]);
    free(doc);
    free_verifies(a, v);
}

/* Per-cluster Prometheus families, after the process-wide ones. */
static void render_cluster_metrics(struct tsr_admin *a, struct tsr_buf *b)
{
    int n = a->d ? tsr_delivery_status(a->d, a->cs, MAX_CLUSTERS) : 0;
    if (n == 0) return;
    static const struct {
        const char *name, *type, *help;
        size_t off;
        int is_double;
    } fam[] = {
#define F(field) offsetof(struct tsr_cluster_status, field)
        {"tsrelay_cluster_points_delivered_total", "counter", "Points the cluster accepted.", F(points_delivered), 0},
        {"tsrelay_cluster_points_rejected_total", "counter", "Points the cluster rejected (400), sent to the dead-letter topic.", F(points_rejected), 0},
        {"tsrelay_cluster_requests_ok_total", "counter", "Write requests answered 2xx or 400.", F(requests_ok), 0},
        {"tsrelay_cluster_requests_failed_total", "counter", "Write requests that failed and will be retried.", F(requests_failed), 0},
        {"tsrelay_cluster_retries_total", "counter", "Retries of write requests.", F(retries), 0},
        {"tsrelay_cluster_gap_records_total", "counter", "Records Kafka deleted (retention) before they were delivered.", F(gap_records), 0},
        {"tsrelay_cluster_lag_records", "gauge", "Kafka records not yet delivered to the cluster.", F(lag_records), 0},
        {"tsrelay_cluster_partitions_owned", "gauge", "Partitions of the topic this relay delivers to the cluster (its share of the fleet).", F(partitions_owned), 0},
        {"tsrelay_cluster_rebalances_total", "counter", "Partition assignments this relay received from the cluster's consumer group.", F(rebalances), 0},
        {"tsrelay_cluster_points_resent_total", "counter", "Points sent again after taking partitions over from a relay that died with them in flight: the possible duplicates.", F(points_resent), 0},
        {"tsrelay_cluster_lag_points", "gauge", "Points not yet delivered (records x mean points per record).", F(lag_points), 0},
        {"tsrelay_cluster_points_parked_total", "counter", "Points set aside because the cluster refused their database or retention policy alone (they wait in Kafka for a drain).", F(points_parked), 0},
        {"tsrelay_cluster_points_unparked_total", "counter", "Parked points delivered by a drain.", F(points_unparked), 0},
        {"tsrelay_cluster_fills_total", "counter", "Times new points went first, ahead of a backlog older than fresh_first_after_ms.", F(fills), 0},
        {"tsrelay_cluster_fill_records", "gauge", "Kafka records of backlog left behind the new points (fresh first).", F(fill_records), 0},
        {"tsrelay_cluster_points_filled_total", "counter", "Points delivered by the fill, behind the new points.", F(points_filled), 0},
        {"tsrelay_cluster_points_refilled_total", "counter", "Points sent again after a backlog filled in, so that a later write of the same series and time arrives last.", F(points_refilled), 0},
#undef F
    };
    for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
        tsr_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", fam[f].name, fam[f].help, fam[f].name, fam[f].type);
        for (int i = 0; i < n; i++) {
            const char *base = (const char *)&a->cs[i];
            tsr_buf_printf(b, "%s{cluster=\"%s\"} %lld\n", fam[f].name, a->cs[i].name,
                           (long long)*(const int64_t *)(base + fam[f].off));
        }
    }
    tsr_buf_puts(b, "# HELP tsrelay_cluster_parked_keys Databases (and retention policies) the "
                    "cluster refuses for now, parked by this relay.\n"
                    "# TYPE tsrelay_cluster_parked_keys gauge\n");
    for (int i = 0; i < n; i++)
        tsr_buf_printf(b, "tsrelay_cluster_parked_keys{cluster=\"%s\"} %d\n", a->cs[i].name,
                       a->cs[i].nparked);
    tsr_buf_puts(b, "# HELP tsrelay_cluster_lag_seconds Age of the oldest point not yet delivered.\n"
                    "# TYPE tsrelay_cluster_lag_seconds gauge\n");
    for (int i = 0; i < n; i++)
        tsr_buf_printf(b, "tsrelay_cluster_lag_seconds{cluster=\"%s\"} %.3f\n", a->cs[i].name,
                       a->cs[i].lag_ms / 1000.0);
    tsr_buf_puts(b, "# HELP tsrelay_cluster_state 1 for the cluster's current state.\n"
                    "# TYPE tsrelay_cluster_state gauge\n");
    for (int i = 0; i < n; i++)
        for (int s = TSR_CLUSTER_IN_SYNC; s <= TSR_CLUSTER_DOWN; s++)
            tsr_buf_printf(b, "tsrelay_cluster_state{cluster=\"%s\",state=\"%s\"} %d\n", a->cs[i].name,
                           tsr_cluster_state_name((enum tsr_cluster_state)s), a->cs[i].state == (enum tsr_cluster_state)s);
    tsr_buf_puts(b, "# HELP tsrelay_cluster_request_seconds Write request latency.\n"
                    "# TYPE tsrelay_cluster_request_seconds histogram\n");
    for (int i = 0; i < n; i++) {
        uint64_t cum = 0;
        for (int k = 0; k <= TSR_LATENCY_BUCKETS; k++) {
            cum += a->cs[i].latency_count[k];
            if (k < TSR_LATENCY_BUCKETS)
                tsr_buf_printf(b, "tsrelay_cluster_request_seconds_bucket{cluster=\"%s\",le=\"%g\"} %llu\n",
                               a->cs[i].name, tsr_latency_bounds_ms[k] / 1000.0, (unsigned long long)cum);
        }
        tsr_buf_printf(b, "tsrelay_cluster_request_seconds_bucket{cluster=\"%s\",le=\"+Inf\"} %llu\n"
                          "tsrelay_cluster_request_seconds_sum{cluster=\"%s\"} %.6f\n"
                          "tsrelay_cluster_request_seconds_count{cluster=\"%s\"} %llu\n",
                       a->cs[i].name, (unsigned long long)cum, a->cs[i].name, a->cs[i].latency_sum_s,
                       a->cs[i].name, (unsigned long long)cum);
    }
}

/* GET /clusters/NAME/ready */
static void cluster_ready(struct tsr_admin *a, struct tsr_httpd_req *req, const char *name)
{
    struct tsr_buf b = {0};
    int n = a->d ? tsr_delivery_status(a->d, a->cs, MAX_CLUSTERS) : 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(a->cs[i].name, name) != 0) continue;
        int ok = a->cs[i].state == TSR_CLUSTER_IN_SYNC;
        tsr_buf_printf(&b, "%s: %s\n", tsr_cluster_state_name(a->cs[i].state), a->cs[i].reason);
        send_buf(req, ok ? 200 : 503, "text/plain", &b);
        tsr_buf_free(&b);
        return;
    }
    tsr_buf_puts(&b, "no such cluster\n");
    send_buf(req, 404, "text/plain", &b);
    tsr_buf_free(&b);
}

/* POST /reload: re-read the config file (relay/main.c does it; see docs/shaping.md). */
static void reload(struct tsr_admin *a, struct tsr_httpd_req *req)
{
    if (tsr_httpd_method(req) != TSR_HTTPD_POST) {
        json_error(req, 405, "use POST");
        return;
    }
    if (a->tasks) {
        json_error(req, 503, "a replay request is being handled: try again in a moment");
        return;
    }
    struct tsr_buf msg = {0}, b = {0};
    int rc = a->reload(a->reload_opaque, &msg);
    tsr_buf_putc(&msg, '\0');
    if (rc) {
        json_error(req, 400, msg.data);
    } else {
        tsr_buf_puts(&b, "{\"reloaded\":true,\"message\":");
        tsr_json_string(&b, msg.data);
        tsr_buf_puts(&b, "}\n");
        send_buf(req, 200, "application/json", &b);
    }
    tsr_buf_free(&msg);
    tsr_buf_free(&b);
}

static void on_request(struct tsr_httpd_req *req, void *arg)
{
    struct tsr_admin *a = arg;
    const char *path = tsr_httpd_path(req);
    struct tsr_buf b = {0};

    const struct tsr_admin_token *who;
    const char *why;
    enum tsr_httpd_method method = tsr_httpd_method(req);
    if (method == TSR_HTTPD_OTHER) {
        json_error(req, 405, "use GET, HEAD or POST");
        return;
    }
    int refused = tsr_admin_authorize(
        a->cf, tsr_admin_need(a->cf, method == TSR_HTTPD_POST, path),
        tsr_httpd_header(req, "Authorization"),
        tsr_addr_is_loopback(tsr_httpd_peer_addr(req)), &who, &why);
    if (refused) {
        if (refused == 401)
            tsr_httpd_add_header(req, "WWW-Authenticate", "Bearer realm=\"tsrelay admin\"");
        json_error(req, refused, why);
        return;
    }

    if (strcmp(path, "/health") == 0) {
        tsr_buf_puts(&b, "ok\n");
        send_buf(req, 200, "text/plain", &b);
    } else if (strcmp(path, "/ready") == 0) {
        /* Ready while writes are taken, by Kafka or by the spool. */
        int ok = !tsr_durable_refusal(a->dur) && !a->draining;
        if (ok)
            tsr_buf_puts(&b, "ready\n");
        else if (a->draining)
            tsr_buf_puts(&b, "draining\n");
        else if (tsr_kafka_ready(a->k))
            tsr_buf_printf(&b, "%s\n", tsr_durable_refusal(a->dur));
        else if (*tsr_kafka_last_error(a->k))
            tsr_buf_printf(&b, "kafka unavailable: %s\n", tsr_kafka_last_error(a->k));
        else
            tsr_buf_puts(&b, "kafka unavailable\n");
        send_buf(req, ok ? 200 : 503, "text/plain", &b);
    } else if (strcmp(path, "/metrics") == 0) {
        tsr_metrics_render(&tsr_metrics, &b);
        tsr_spool_view_metrics(a->dur, &b);
        if (a->shaper) tsr_shaper_metrics(a->shaper, &b);
        tsr_ingest_kafka_metrics(a->inputs, &b);
        render_cluster_metrics(a, &b);
        render_verify_metrics(a, &b);
        tsr_replay_metrics(a->d, &b);
        tsr_info_metric(a->cf, &b);
        send_buf(req, 200, "text/plain; version=0.0.4", &b);
    } else if (strcmp(path, "/status") == 0) {
        render_status(a, &b);
        send_buf(req, 200, "application/json", &b);
    } else if (strcmp(path, "/reload") == 0 && a->reload) {
        reload(a, req);
    } else if (strncmp(path, "/replays", 8) == 0 && (path[8] == '\0' || path[8] == '/')) {
        replays(a, req, path, who);
    } else if (strcmp(path, "/verifies") == 0) {
        verifies(a, req);
    } else if (strncmp(path, "/clusters/", 10) == 0 && strlen(path) > 16 &&
               strcmp(path + strlen(path) - 6, "/ready") == 0) {
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)(strlen(path) - 16), path + 10);
        cluster_ready(a, req, name);
    } else if (strcmp(path, "/") == 0) {
        tsr_buf_append(&b, tsr_status_page, tsr_status_page_len);
        tsr_httpd_add_header(req, "Cache-Control", "no-cache");
        send_buf(req, 200, "text/html; charset=utf-8", &b);
    } else {
        tsr_buf_puts(&b, "not found\n");
        send_buf(req, 404, "text/plain", &b);
    }
    tsr_buf_free(&b);
}

int tsr_admin_new(const struct tsr_config *cf, struct event_base *base, struct tsr_kafka *k,
                  struct tsr_durable *dur, struct tsr_delivery *d, struct tsr_tls_server *tls, struct tsr_admin **ap,
                  char *err, size_t errlen)
{
    struct tsr_admin *a = calloc(1, sizeof(*a));
    if (!a) abort();
    a->cf = cf;
    a->k = k;
    a->dur = dur;
    a->d = d;
    a->base = base;
    a->cs = calloc(MAX_CLUSTERS, sizeof(*a->cs));
    if (!a->cs) abort();
    struct tsr_httpd_conf hc = {
        .name = "admin",
        .listen = cf->listen_admin,
        .tls = tls,
        .max_connections = ADMIN_MAX_CONNECTIONS,
        .max_header_bytes = 16 * 1024,
        .max_body_bytes = 64 * 1024,
        .max_reading_bytes = 4 << 20,
        .header_timeout_ms = cf->ingest_header_timeout_ms,
        .read_timeout_ms = cf->ingest_read_timeout_ms,
        .idle_timeout_ms = cf->ingest_idle_timeout_ms,
        .metrics = &tsr_metrics.conn[TSR_ENDPOINT_ADMIN],
        .on_request = on_request,
        .arg = a,
    };
    if (tsr_httpd_new(base, &hc, &a->srv, err, errlen) != 0) {
        tsr_admin_free(&a);
        return -1;
    }
    if (cf->nadmin_tokens == 0)
        tsr_warn("admin: no admin.tokens configured: whoever reaches %s reads status and "
                 "metrics; replays are changed from this host (loopback) only",
                 cf->listen_admin);
    else
        tsr_info("admin: %zu token%s configured; every endpoint but /health and /ready needs "
                 "one%s",
                 cf->nadmin_tokens, cf->nadmin_tokens == 1 ? "" : "s",
                 cf->admin_metrics_public ? " (/metrics is public)" : "");
    *ap = a;
    return 0;
}

void tsr_admin_set_draining(struct tsr_admin *a)
{
    a->draining = 1;
}

void tsr_admin_set_inputs(struct tsr_admin *a, struct tsr_ingest_kafka *ik)
{
    a->inputs = ik;
}

void tsr_admin_set_shaper(struct tsr_admin *a, struct tsr_shaper *s)
{
    a->shaper = s;
}

void tsr_admin_set_reload(struct tsr_admin *a, tsr_admin_reload_fn *fn, void *opaque)
{
    a->reload = fn;
    a->reload_opaque = opaque;
}

int tsr_admin_busy(const struct tsr_admin *a)
{
    return a->tasks;
}

void tsr_admin_set_config(struct tsr_admin *a, const struct tsr_config *cf, struct tsr_delivery *d)
{
    a->cf = cf;
    a->d = d;
}

void tsr_admin_free(struct tsr_admin **ap)
{
    struct tsr_admin *a = *ap;
    if (!a) return;
    tsr_httpd_free(&a->srv);
    free(a->cs);
    free(a);
    *ap = NULL;
}

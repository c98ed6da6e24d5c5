#include "replay.h"

#include <event2/event.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "job.h"
#include "relay/core/clock.h"
#include "relay/deliver/forward.h"
#include "relay/core/httpc.h"
#include "relay/core/json.h"
#include "relay/kafka/kafka.h"
#include "relay/core/log.h"
#include "relay/core/pace.h"
#include "relay/kafka/board.h"
#include "relay/deliver/route.h"
#include "relay/deliver/sink.h"
#include "replay/verifier.h"

#define DEFAULT_RATE 100000
#define PUBLISH_EVERY_MS 250
#define STEP_MS 20
#define MAX_BACKOFF_MS 10000
/* Each offset lookup of a replay's start waits at most this for Kafka. */
#define LOOKUP_MS 5000

/* Batches in flight per job: a replay writes old points, which overwrite themselves,
 * so batches need not wait for each other; positions still advance only over batches
 * delivered in the order they were read. */
#define MAX_INFLIGHT 4
/* Batches built ahead, delivered or not: a slow request at the head (a TSDB answers
 * one now and then ten times slower) leaves room to keep MAX_INFLIGHT others going. */
#define MAX_QUEUED (2 * MAX_INFLIGHT)
/* Jobs reading from Kafka at once; the others wait, queued, oldest first. Each reader
 * holds up to kafka.replay_read_ahead and MAX_QUEUED batches: when several clusters come
 * back from an outage together, each starts a recovery rewind, and without a cap their
 * read-aheads added up to hundreds of MiB (bench/clusters.sh: 400 MiB for 4 clusters). */
#define MAX_READERS 2

/* One write request's worth of a job, from reading to delivery. */
struct rbatch {
    struct run *u;
    struct tsr_buf body, gz;
    long points;
    char db[256], rp[256];
    int64_t end[TSR_CKPT_MAX_PARTITIONS]; /* positions once it and all before it are delivered */
    int in_flight, delivered, attempts;
    int orphan; /* its job was paused or cancelled while it was in flight: free on answer */
    int64_t next_try_ns;
    int url;
    struct rbatch *next;
};

/* A job and, while it runs, what it runs with. */
struct run {
    struct tsr_replayer *r;
    struct tsr_replay_job job;
    const struct tsr_cluster_conf *cc;
    struct tsr_route *route; /* the cluster's databases and rules */
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    struct event *step_ev;
    struct rbatch *fill;          /* being built */
    struct rbatch *head, *tail;   /* closed, in read order */
    int nqueued, in_flight;
    int64_t pending[TSR_CKPT_MAX_PARTITIONS]; /* read frontier per partition */
    char ended[TSR_CKPT_MAX_PARTITIONS];      /* read to the end of the range: paused */
    rd_kafka_message_t *held;                 /* read, not fitting the batch being built */
    int url;
    struct tsr_bucket bucket; /* the job's rate */
    int64_t published_ms;     /* its record last went to the board then, in that state */
    enum tsr_replay_state published_state;
    int64_t rate_t0_ns, rate_points0;
    char *authorization;
    struct run *next;
};

/* The coordinator's answer to a request this relay sent through the board. */
struct answer {
    uint64_t ticket;
    int status;
    struct tsr_buf body;
    struct answer *next;
};

/* A request of another relay, read from the board, not answered yet. */
struct request {
    char key[96];
    char *val;
    struct request *next;
};

struct tsr_replayer {
    struct tsr_fwd_env env;
    struct run *runs;
    uint64_t last_id;
    int stopping;
    /* The fleet: jobs run on the coordinator only; the others send it their requests
     * through the board and list the jobs they read there. */
    int active; /* runs jobs: no board (a relay alone), or the fleet's coordinator */
    uint64_t last_ticket;
    struct answer *answers;
    struct request *requests;
    struct tsr_verifier *verifier; /* verify results and the periodic verify */
};

static int64_t now_ms(void)
{
    return tsr_clock_now_ns() / 1000000;
}

static void persist(struct run *u)
{
    struct tsr_buf rec = {0};
    char err[256];
    /* Strictly increasing: the relays of a fleet keep a job's record only if it is
     * newer than theirs, and a job's last progress and its end often fall in the same
     * millisecond (the end was then dropped: a job listed running forever). */
    int64_t now = now_ms();
    u->job.updated_ms = now > u->job.updated_ms ? now : u->job.updated_ms + 1;
    tsr_replay_job_encode(&u->job, &rec);
    if (tsr_ckpt_job_put(u->r->env.ck, u->job.id, rec.data, rec.len, err, sizeof(err)))
        tsr_error("replay %llu: %s", (unsigned long long)u->job.id, err);
    /* Every relay lists it, and the next coordinator resumes it from here: every change
     * of state, and progress four times a second (what a new coordinator sends again). */
    if (u->r->env.board && u->r->active &&
        (u->published_ms == 0 || u->job.state != u->published_state ||
         u->job.updated_ms - u->published_ms >= PUBLISH_EVERY_MS)) {
        u->published_ms = u->job.updated_ms;
        u->published_state = u->job.state;
        char key[48];
        snprintf(key, sizeof(key), "job/%llu", (unsigned long long)u->job.id);
        tsr_board_put(u->r->env.board, key, rec.data, rec.len);
    }
    tsr_buf_free(&rec);
}

static struct rbatch *rbatch_new(struct run *u)
{
    struct rbatch *b = calloc(1, sizeof(*b));
    if (!b) abort();
    b->u = u;
    return b;
}

static void rbatch_free(struct rbatch *b)
{
    tsr_buf_free(&b->body);
    tsr_buf_free(&b->gz);
    free(b);
}

/* Drops everything read and not delivered (it is read again from the saved positions)
 * and the consumer. Requests in flight keep their batch until they are answered. */
static void close_consumer(struct run *u)
{
    if (u->held) rd_kafka_message_destroy(u->held);
    u->held = NULL;
    if (u->fill) rbatch_free(u->fill);
    u->fill = NULL;
    while (u->head) {
        struct rbatch *b = u->head;
        u->head = b->next;
        if (b->in_flight)
            b->orphan = 1;
        else
            rbatch_free(b);
    }
    u->tail = NULL;
    u->nqueued = 0;
    u->in_flight = 0;
    if (u->q) rd_kafka_queue_destroy(u->q);
    u->q = NULL;
    if (u->rk) {
        rd_kafka_consumer_close(u->rk);
        rd_kafka_destroy(u->rk);
        u->rk = NULL;
    }
}

static void finish(struct run *u, enum tsr_replay_state st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void finish(struct run *u, enum tsr_replay_state st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->job.result, sizeof(u->job.result), fmt, ap);
    va_end(ap);
    u->job.state = st;
    u->job.finished_ms = now_ms();
    close_consumer(u);
    evtimer_del(u->step_ev);
    persist(u);
    tsr_info("replay %llu to cluster '%s' %s: %s", (unsigned long long)u->job.id, u->job.cluster,
             tsr_replay_state_name(st), u->job.result);
}

static int open_consumer(struct run *u, char *err, size_t errlen)
{
    const struct tsr_config *cf = u->r->env.cf;
    char gid[128];
    snprintf(gid, sizeof(gid), "tsrelay-%s-replay-%llu", cf->datacenter,
             (unsigned long long)u->job.id);
    /* Retention may have moved past a saved position: go on from what is left. */
    /* All partitions feed one consumer queue: the whole read-ahead is its. */
    u->rk = tsr_kafka_consumer_new(cf, gid, "earliest", cf->kafka_replay_read_ahead_bytes, NULL, err,
                                   errlen);
    if (!u->rk) return -1;
    rd_kafka_poll_set_consumer(u->rk);
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(u->job.nparts);
    for (int i = 0; i < u->job.nparts; i++) {
        struct tsr_replay_part *p = &u->job.parts[i];
        u->pending[i] = p->position;
        u->ended[i] = 0;
        if (p->position < p->end)
            rd_kafka_topic_partition_list_add(tl, cf->kafka_topic, p->partition)->offset =
                p->position;
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(u->rk, tl);
    rd_kafka_topic_partition_list_destroy(tl);
    if (e) {
        snprintf(err, errlen, "cannot assign partitions: %s", rd_kafka_err2str(e));
        return -1;
    }
    u->q = rd_kafka_queue_get_consumer(u->rk);
    u->fill = rbatch_new(u);
    u->rate_t0_ns = tsr_clock_mono_ns();
    u->rate_points0 = u->job.points_sent;
    return 0;
}

static int part_index(const struct run *u, int32_t partition)
{
    for (int i = 0; i < u->job.nparts; i++)
        if (u->job.parts[i].partition == partition) return i;
    return -1;
}

/* Stops fetching a partition read to the end of the range. The range mostly ends well
 * before the topic does (a recovery rewind ends where the backlog starts), and all
 * librdkafka would fetch beyond it, up to the whole read-ahead, is read only to be
 * dropped. */
static void end_partition(struct run *u, int pi)
{
    if (u->ended[pi]) return;
    u->ended[pi] = 1;
    int e = tsr_kafka_pause(u->rk, u->r->env.cf->kafka_topic, u->job.parts[pi].partition, 1, 1);
    if (e)
        tsr_debug("replay %llu: cannot pause partition %d: %s", (unsigned long long)u->job.id,
                  u->job.parts[pi].partition, rd_kafka_err2str((rd_kafka_resp_err_t)e));
}

/* Length of the measurement at the start of a line (up to an unescaped ',' or ' '). */
static size_t measurement_len(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && s[i] != ',' && s[i] != ' ') i += s[i] == '\\' && i + 1 < len ? 2 : 1;
    return i;
}

/* Whether a normalised line's own timestamp (its last word, in ns) is in the job's point
 * range. */
static int in_point_range(const struct tsr_replay_job *j, const char *p, size_t len)
{
    const char *sp = p + len;
    while (sp > p && sp[-1] != ' ') sp--;
    int64_t ms = 0;
    for (const char *q = sp; q < p + len && *q >= '0' && *q <= '9'; q++) ms = ms * 10 + (*q - '0');
    ms /= 1000000;
    if (sp < p + len && *sp == '-') ms = -1; /* before 1970: before any range */
    return ms >= j->points_since_ms && (!j->points_until_ms || ms < j->points_until_ms);
}

/* Takes one record's matching lines into the batch being built (or counts them for a
 * dry run). Returns -1 if the record belongs to another database than that batch. */
static int take(struct run *u, rd_kafka_message_t *m, int pi)
{
    struct rbatch *b = u->fill;
    char db[256], rp[256], kind[32];
    tsr_kafka_header(m, "db", db, sizeof(db));
    tsr_kafka_header(m, "rp", rp, sizeof(rp));
    tsr_kafka_header(m, "kind", kind, sizeof(kind));
    /* A statement (CREATE DATABASE) ran when live forwarding met it: points only. */
    if (*kind) goto taken;
    if (*u->job.db && strcmp(db, u->job.db) != 0) goto taken;
    if (!tsr_route_wants(u->route, db)) goto taken;
    if (!u->job.dry_run && b->points > 0 && (strcmp(db, b->db) || strcmp(rp, b->rp))) return -1;
    snprintf(b->db, sizeof(b->db), "%s", db);
    snprintf(b->rp, sizeof(b->rp), "%s", rp);
    size_t plen = strlen(u->job.measurement_prefix);
    int by_time = u->job.points_since_ms || u->job.points_until_ms;
    if (!plen && !by_time && !u->job.dry_run) {
        /* Every line goes: the record as it is, as live forwarding sends it. */
        b->points += tsr_route_append(u->route, db, &b->body, m->payload, m->len);
        goto taken;
    }
    for (const char *p = m->payload, *end = p + m->len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        if (len > 0 && (!plen || (len >= plen && !memcmp(p, u->job.measurement_prefix, plen))) &&
            (!by_time || in_point_range(&u->job, p, len))) {
            if (u->job.dry_run) {
                tsr_replay_count(&u->job, p, measurement_len(p, len), 1, (int64_t)len + 1);
                u->job.points_sent++;
                u->job.bytes_sent += (int64_t)len + 1;
            } else {
                b->points += tsr_route_append(u->route, db, &b->body, p, len);
            }
        }
        p = nl ? nl + 1 : end;
    }
taken:
    u->pending[pi] = m->offset + 1;
    if (u->pending[pi] >= u->job.parts[pi].end) end_partition(u, pi);
    if (u->job.dry_run) u->job.parts[pi].position = m->offset + 1;
    rd_kafka_message_destroy(m);
    return 0;
}

/* Closes the batch being built: it will be delivered up to the read frontier. A batch
 * with no points (everything filtered out) is delivered at once, so positions still
 * move over what it covered. */
static void close_fill(struct run *u)
{
    struct rbatch *b = u->fill;
    memcpy(b->end, u->pending, sizeof(int64_t) * (size_t)u->job.nparts);
    b->delivered = b->points == 0;
    if (u->tail)
        u->tail->next = b;
    else
        u->head = b;
    u->tail = b;
    u->nqueued++;
    u->fill = rbatch_new(u);
}

static void on_sent(void *opaque, const struct tsr_httpc_resp *resp);
static void on_step(evutil_socket_t fd, short what, void *arg);

/* Sends b; returns -1 when the rate limit says not yet (the step timer comes back). */
static int send_one(struct run *u, struct rbatch *b)
{
    /* The job's rate: a replay must not flatten the cluster. */
    int64_t now = tsr_clock_mono_ns();
    if (tsr_bucket_take(&u->bucket, (double)u->job.rate, (double)b->points, now)) return -1;
    b->url = u->url;
    u->url = (u->url + 1) % (int)u->cc->nurls;
    if (tsr_sink_send(u->r->env.hc, u->cc, b->url, b->db, b->rp, b->body.data, b->body.len,
                      &b->gz, u->authorization, on_sent, b) == 0) {
        b->in_flight = 1;
        u->in_flight++;
    } else {
        b->next_try_ns = now + 100 * 1000000LL;
    }
    return 0;
}

static void all_delivered(struct run *u)
{
    for (int i = 0; i < u->job.nparts; i++)
        if (u->job.parts[i].position < u->job.parts[i].end) return;
    if (u->job.dry_run)
        finish(u, TSR_REPLAY_DONE, "dry run: would send %lld points (%lld bytes) in %zu measurements",
               (long long)u->job.points_sent, (long long)u->job.bytes_sent, u->job.nmeasurements);
    else
        finish(u, TSR_REPLAY_DONE, "sent %lld points (%lld bytes)", (long long)u->job.points_sent,
               (long long)u->job.bytes_sent);
}

/* Moves the saved positions over the delivered batches at the head of the queue. */
static int advance(struct run *u)
{
    int moved = 0;
    while (u->head && u->head->delivered && !u->head->in_flight) {
        struct rbatch *b = u->head;
        for (int i = 0; i < u->job.nparts; i++) u->job.parts[i].position = b->end[i];
        u->head = b->next;
        if (!u->head) u->tail = NULL;
        u->nqueued--;
        rbatch_free(b);
        moved = 1;
    }
    return moved;
}

/* Non-empty lines in s[0..n). */
static long count_points(const char *s, size_t n)
{
    long pts = 0;
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - s) : n;
        pts += end > i;
        i = end + 1;
    }
    return pts;
}

/* The cluster refused some of b's lines (400, 422) or found it too large (413). Splits
 * b in two at a line boundary, as the live lanes do, until the refused lines stand
 * alone; returns 1 when b was a lone line, which the caller then dead-letters. The
 * first half moves the job's positions no further than the batch before it did, so a
 * pause or a restart never skips the second half. */
static int split_batch(struct run *u, struct rbatch *b)
{
    if (b->points <= 1) return 1;
    /* The line boundary nearest the middle point. */
    long half = b->points / 2, seen = 0;
    size_t cut = 0;
    while (seen < half && cut < b->body.len) {
        const char *nl = memchr(b->body.data + cut, '\n', b->body.len - cut);
        size_t end = nl ? (size_t)(nl - b->body.data) : b->body.len;
        seen += end > cut;
        cut = end + 1;
    }
    if (cut >= b->body.len) return 1;
    struct rbatch *b2 = rbatch_new(u);
    tsr_buf_append(&b2->body, b->body.data + cut, b->body.len - cut);
    b2->points = count_points(b2->body.data, b2->body.len);
    memcpy(b2->db, b->db, sizeof(b2->db));
    memcpy(b2->rp, b->rp, sizeof(b2->rp));
    memcpy(b2->end, b->end, sizeof(b2->end));
    b->body.len = cut;
    b->points = count_points(b->body.data, b->body.len);
    struct rbatch *prev = NULL;
    for (struct rbatch *x = u->head; x && x != b; x = x->next) prev = x;
    for (int i = 0; i < u->job.nparts; i++)
        b->end[i] = prev ? prev->end[i] : u->job.parts[i].position;
    b2->next = b->next;
    b->next = b2;
    if (u->tail == b) u->tail = b2;
    u->nqueued++;
    b->attempts = 0;
    b->next_try_ns = 0;
    return 0;
}

static void on_sent(void *opaque, const struct tsr_httpc_resp *resp)
{
    struct rbatch *b = opaque;
    struct run *u = b->u;
    b->in_flight = 0;
    if (b->orphan) {
        rbatch_free(b);
        return;
    }
    u->in_flight--;
    enum tsr_sink_verdict v = tsr_sink_judge(resp->status, resp->body);
    if ((v == TSR_SINK_REJECTED || v == TSR_SINK_SPLIT) && split_batch(u, b) == 0) {
        if (u->job.state == TSR_REPLAY_RUNNING) on_step(-1, 0, u);
        return;
    }
    if (v == TSR_SINK_REJECTED || v == TSR_SINK_SPLIT) {
        char reason[512], src[64], why[300];
        tsr_sink_describe(u->cc, resp->status, resp->body_len ? resp->body : "", resp->error,
                          why, sizeof(why));
        snprintf(reason, sizeof(reason), "cluster %s rejected: %s", u->job.cluster, why);
        snprintf(src, sizeof(src), "replay:%llu", (unsigned long long)u->job.id);
        tsr_kafka_dead_letter(u->r->env.k, b->body.data, b->body.len, reason, src, -1, b->db, NULL);
        tsr_warn("replay %llu: cluster '%s' rejected a line, sent to the dead-letter topic: %s",
                 (unsigned long long)u->job.id, u->job.cluster, why);
        b->points = 0;
    }
    if (v == TSR_SINK_DONE || v == TSR_SINK_REJECTED || v == TSR_SINK_SPLIT) {
        b->delivered = 1;
        u->job.points_sent += b->points;
        u->job.bytes_sent += (int64_t)b->body.len;
        u->job.result[0] = '\0';
        double secs = (double)(tsr_clock_mono_ns() - u->rate_t0_ns) / 1e9;
        if (secs > 0.5) u->job.rate_now = (double)(u->job.points_sent - u->rate_points0) / secs;
        if (secs > 5) {
            u->rate_t0_ns = tsr_clock_mono_ns();
            u->rate_points0 = u->job.points_sent;
        }
        if (advance(u)) {
            persist(u);
            all_delivered(u);
        }
        /* Next batch now, not at the next tick: the tick is for waiting, not working. */
        if (u->job.state == TSR_REPLAY_RUNNING) on_step(-1, 0, u);
        return;
    }
    b->attempts++;
    int64_t ms = tsr_backoff_ms(b->attempts, MAX_BACKOFF_MS, resp->retry_after_s);
    b->next_try_ns = tsr_clock_mono_ns() + ms * 1000000;
    snprintf(u->job.result, sizeof(u->job.result), "retrying (try %d): %s", b->attempts,
             resp->status ? "cluster answered an error" : resp->error);
    if (b->attempts == 1 || b->attempts % 10 == 0) {
        char why[300];
        tsr_sink_describe(u->cc, resp->status, resp->body_len ? resp->body : "", resp->error,
                          why, sizeof(why));
        tsr_warn("replay %llu: write to cluster '%s' failed (try %d), will retry: %s",
                 (unsigned long long)u->job.id, u->job.cluster, b->attempts, why);
    }
}

/* Records one step reads at most, so a long dry run does not hold up the loop that
 * also forwards to every cluster. */
#define READ_PER_STEP 1000

/* Reads into the batch being built until it is full, nothing more is waiting, or
 * READ_PER_STEP; returns how many messages it read. */
static int read_some(struct run *u, int64_t max_points, int *full)
{
    int read = 0;
    struct rbatch *b = u->fill;
    *full = u->held || b->points >= max_points ||
            (int64_t)b->body.len >= u->cc->replay_batch_bytes;
    while (!*full && read < READ_PER_STEP) {
        rd_kafka_message_t *m = rd_kafka_consume_queue(u->q, 0);
        if (!m) break;
        read++;
        int pi = m->err ? -1 : part_index(u, m->partition);
        if (pi < 0 || m->offset >= u->job.parts[pi].end) {
            if (pi >= 0) end_partition(u, pi);
            if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                tsr_warn("replay %llu: kafka: %s", (unsigned long long)u->job.id,
                         rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (take(u, m, pi) != 0) {
            u->held = m;
            *full = 1;
            break;
        }
        *full = b->points >= max_points || (int64_t)b->body.len >= u->cc->replay_batch_bytes;
    }
    return read;
}

/* Running, or queued for its turn to read: the job's step timer must go. */
static int stepping(const struct run *u)
{
    return u->job.state == TSR_REPLAY_RUNNING || u->job.state == TSR_REPLAY_QUEUED;
}

/* Whether job u may start reading now: fewer than MAX_READERS jobs read, and no older
 * job waits for its turn. */
static int may_read(const struct run *u)
{
    int readers = 0;
    for (const struct run *o = u->r->runs; o; o = o->next) {
        if (o->rk) readers++;
        else if (o != u && o->job.state == TSR_REPLAY_QUEUED && o->job.id < u->job.id) return 0;
    }
    return readers < MAX_READERS;
}

/* One turn of a running job: build batches while there is room, send what may go. */
static void on_step(evutil_socket_t fd, short what, void *arg)
{
    struct run *u = arg;
    char err[256];
    if (u->r->stopping || !stepping(u)) return;
    if (!u->rk) {
        if (!may_read(u)) {
            if (u->job.state != TSR_REPLAY_QUEUED) {
                u->job.state = TSR_REPLAY_QUEUED;
                persist(u);
                tsr_info("replay %llu to cluster '%s' queued: %d replays are reading already",
                         (unsigned long long)u->job.id, u->job.cluster, MAX_READERS);
            }
            return;
        }
        if (u->job.state == TSR_REPLAY_QUEUED) {
            u->job.state = TSR_REPLAY_RUNNING;
            persist(u);
            tsr_info("replay %llu to cluster '%s' starts reading", (unsigned long long)u->job.id,
                     u->job.cluster);
        }
        if (open_consumer(u, err, sizeof(err)) != 0) {
            finish(u, TSR_REPLAY_FAILED, "%s", err);
            return;
        }
    }
    int full;
    if (u->job.dry_run) {
        if (read_some(u, INT64_MAX, &full)) persist(u);
        all_delivered(u);
        return;
    }
    /* A batch never holds more than a second's worth at the job's rate, so even the
     * first request keeps to the cap. */
    int64_t max_points =
        u->cc->replay_batch_lines < u->job.rate ? u->cc->replay_batch_lines : u->job.rate;
    while (u->nqueued < MAX_QUEUED) {
        if (u->held && u->fill->points == 0) {
            rd_kafka_message_t *m = u->held;
            u->held = NULL;
            take(u, m, part_index(u, m->partition));
        }
        int read = read_some(u, max_points, &full);
        int drained = 1;
        for (int i = 0; i < u->job.nparts; i++)
            if (u->pending[i] < u->job.parts[i].end) drained = 0;
        if (u->fill->points > 0 ? (full || drained || !read) : drained && !u->held) {
            close_fill(u);
            if (!u->fill || drained) break;
            continue;
        }
        break;
    }
    if (advance(u)) {
        persist(u);
        all_delivered(u);
        if (u->job.state != TSR_REPLAY_RUNNING) return;
    }
    int64_t now = tsr_clock_mono_ns();
    for (struct rbatch *b = u->head; b && u->in_flight < MAX_INFLIGHT; b = b->next)
        if (!b->in_flight && !b->delivered && now >= b->next_try_ns && send_one(u, b) != 0) break;
}

static struct run *run_new(struct tsr_replayer *r, const struct tsr_cluster_conf *cc)
{
    struct run *u = calloc(1, sizeof(*u));
    if (!u) abort();
    u->r = r;
    u->cc = cc;
    char err[512];
    /* The config was checked at start: a route that does not compile now is a bug. */
    if (tsr_route_new(cc, (int)(cc - r->env.cf->clusters), &u->route, err, sizeof(err))) {
        tsr_error("replay: %s", err);
        abort();
    }
    u->step_ev = event_new(r->env.base, -1, EV_PERSIST, on_step, u);
    u->bucket.at_ns = tsr_clock_mono_ns();
    struct tsr_buf auth = {0};
    if (tsr_sink_authorization(cc, &auth)) {
        tsr_buf_putc(&auth, '\0');
        u->authorization = tsr_buf_detach(&auth, NULL);
    }
    u->next = r->runs;
    r->runs = u;
    return u;
}

static void run_go(struct run *u)
{
    struct timeval tv = {0, STEP_MS * 1000};
    event_add(u->step_ev, &tv);
}

static const struct tsr_cluster_conf *find_cluster(const struct tsr_config *cf, const char *name)
{
    for (size_t i = 0; i < cf->nclusters; i++)
        if (strcmp(cf->clusters[i].name, name) == 0) return &cf->clusters[i];
    return NULL;
}

static struct run *find_run(struct tsr_replayer *r, uint64_t id)
{
    for (struct run *u = r->runs; u; u = u->next)
        if (u->job.id == id) return u;
    return NULL;
}

static void resume(struct run *u)
{
    if (evtimer_pending(u->step_ev, NULL)) return;
    tsr_info("replay %llu to cluster '%s' resumes at %.1f%%", (unsigned long long)u->job.id,
             u->job.cluster,
             100.0 * (double)tsr_replay_records_done(&u->job) /
                 (double)(tsr_replay_records_total(&u->job) ? tsr_replay_records_total(&u->job) : 1));
    run_go(u);
}

static void load_one(void *opaque, uint64_t id, const void *rec, size_t len)
{
    struct tsr_replayer *r = opaque;
    struct tsr_replay_job job;
    if (id > r->last_id) r->last_id = id;
    if (tsr_replay_job_decode(rec, len, &job) != 0) {
        tsr_warn("replay job %llu in the state store is unreadable; skipped", (unsigned long long)id);
        return;
    }
    const struct tsr_cluster_conf *cc = find_cluster(r->env.cf, job.cluster);
    if (!cc) {
        /* Its cluster left the config: keep the record, stop the job. */
        if (!tsr_replay_finished(job.state)) {
            job.state = TSR_REPLAY_FAILED;
            snprintf(job.result, sizeof(job.result), "cluster '%s' is no longer configured", job.cluster);
        }
        cc = r->env.cf->nclusters ? &r->env.cf->clusters[0] : NULL;
        if (!cc) {
            tsr_replay_job_clear(&job);
            return;
        }
    }
    struct run *u = run_new(r, cc);
    u->job = job;
    /* In a fleet, the coordinator's election resumes the running jobs (on_role). */
    if (stepping(u) && r->active) resume(u);
}

static void on_board_record(void *opaque, const char *key, const char *val, size_t len);
static void on_role(void *opaque, int coordinator);
static void process_requests(struct tsr_replayer *r);

int tsr_replayer_new(const struct tsr_fwd_env *env, struct tsr_replayer **rp, char *err,
                     size_t errlen)
{
    struct tsr_replayer *r = calloc(1, sizeof(*r));
    if (!r) abort();
    r->env = *env;
    r->active = !env->board;
    if (env->board) tsr_board_listen(env->board, on_board_record, on_role, r);
    if (tsr_verifier_new(env, &r->verifier, err, errlen) != 0) {
        tsr_replayer_free(&r);
        return -1;
    }
    if (tsr_ckpt_job_list(env->ck, load_one, r, err, errlen) != 0) {
        tsr_replayer_free(&r);
        return -1;
    }
    *rp = r;
    return 0;
}

void tsr_replayer_free(struct tsr_replayer **rp)
{
    struct tsr_replayer *r = *rp;
    if (!r) return;
    tsr_verifier_free(&r->verifier);
    while (r->runs) {
        struct run *u = r->runs;
        r->runs = u->next;
        close_consumer(u);
        event_free(u->step_ev);
        tsr_replay_job_clear(&u->job);
        tsr_route_free(&u->route);
        free(u->authorization);
        free(u);
    }
    while (r->answers) {
        struct answer *a = r->answers;
        r->answers = a->next;
        tsr_buf_free(&a->body);
        free(a);
    }
    while (r->requests) {
        struct request *q = r->requests;
        r->requests = q->next;
        free(q->val);
        free(q);
    }
    free(r);
    *rp = NULL;
}

static int error_json(struct tsr_buf *out, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int error_json(struct tsr_buf *out, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tsr_buf_puts(out, "{\"error\":");
    tsr_json_string(out, msg);
    tsr_buf_puts(out, "}");
    return status;
}

static void fmt_time(int64_t ms, char *buf, size_t len)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int tsr_replayer_start(struct tsr_replayer *r, const struct tsr_replay_req *req,
                       struct tsr_buf *out)
{
    const struct tsr_config *cf = r->env.cf;
    const struct tsr_cluster_conf *cc = req->cluster ? find_cluster(cf, req->cluster) : NULL;
    if (!cc) return error_json(out, 404, "no such cluster '%s'", req->cluster ? req->cluster : "");
    int64_t now = now_ms();
    int64_t until = req->until_ms > 0 ? req->until_ms : now;
    if (req->since_ms < 0 || req->until_ms < 0) return error_json(out, 400, "times must be positive");
    if (req->since_ms >= until) {
        char a[32], b[32];
        fmt_time(req->since_ms, a, sizeof(a));
        fmt_time(until, b, sizeof(b));
        return error_json(out, 400, "empty or inverted range: since %s is not before until %s", a, b);
    }
    if (req->rate < 0) return error_json(out, 400, "rate must be positive");
    if (req->points_since_ms < 0 || req->points_until_ms < 0)
        return error_json(out, 400, "point times must be positive");
    if (req->points_until_ms && req->points_since_ms >= req->points_until_ms) {
        char a[32], b[32];
        fmt_time(req->points_since_ms, a, sizeof(a));
        fmt_time(req->points_until_ms, b, sizeof(b));
        return error_json(out, 400,
                          "empty or inverted point range: points_since %s is not before "
                          "points_until %s",
                          a, b);
    }
    int nparts = tsr_kafka_partitions(r->env.k);
    if (nparts <= 0) return error_json(out, 503, "kafka topic partitions not known yet");
    if (nparts > TSR_CKPT_MAX_PARTITIONS) nparts = TSR_CKPT_MAX_PARTITIONS;

    /* Where the range starts and ends in each partition, and what Kafka still holds
     * (read last, so records written meanwhile are inside it). */
    int64_t from[TSR_CKPT_MAX_PARTITIONS], to[TSR_CKPT_MAX_PARTITIONS];
    int64_t lo[TSR_CKPT_MAX_PARTITIONS], hi[TSR_CKPT_MAX_PARTITIONS];
    char err[256];
    int64_t t0 = tsr_clock_mono_ns();
    struct tsr_kafka *k = r->env.k;
    int earliest = req->since_ms == 0; /* --since earliest: the retained range is enough */
    if ((!earliest &&
         tsr_kafka_offsets_at(k, nparts, req->since_ms, from, LOOKUP_MS, err, sizeof(err))) ||
        tsr_kafka_offsets_at(k, nparts, until, to, LOOKUP_MS, err, sizeof(err)) ||
        tsr_kafka_offsets_at(k, nparts, TSR_KAFKA_EARLIEST, lo, LOOKUP_MS, err, sizeof(err)) ||
        tsr_kafka_offsets_at(k, nparts, TSR_KAFKA_LATEST, hi, LOOKUP_MS, err, sizeof(err)))
        return error_json(out, 503, "cannot find offsets for the range in kafka: %s", err);
    tsr_debug("replay: offsets of the range found in %.1f ms",
              (double)(tsr_clock_mono_ns() - t0) / 1e6);
    struct tsr_replay_job job = {0};
    job.nparts = nparts;
    for (int p = 0; p < nparts; p++) {
        /* -1: no record that late; the range ends at the end. */
        int64_t s = earliest ? lo[p] : from[p] < 0 ? hi[p] : from[p];
        int64_t t = to[p] < 0 ? hi[p] : to[p];
        if (s < lo[p]) s = lo[p];
        if (t < s) t = s;
        job.parts[p] = (struct tsr_replay_part){p, s, t, s};
    }
    if (tsr_replay_records_total(&job) == 0) {
        char x[32], y[32];
        fmt_time(req->since_ms, x, sizeof(x));
        fmt_time(until, y, sizeof(y));
        return error_json(out, 400, "no data in kafka between %s and %s",
                          req->since_ms ? x : "the earliest retained record", y);
    }
    struct run *u = run_new(r, cc);
    job.id = ++r->last_id;
    snprintf(job.cluster, sizeof(job.cluster), "%s", cc->name);
    job.since_ms = req->since_ms;
    job.until_ms = until;
    job.rate = req->rate > 0 ? req->rate : DEFAULT_RATE;
    snprintf(job.db, sizeof(job.db), "%s", req->db ? req->db : "");
    snprintf(job.measurement_prefix, sizeof(job.measurement_prefix), "%s",
             req->measurement_prefix ? req->measurement_prefix : "");
    job.points_since_ms = req->points_since_ms;
    job.points_until_ms = req->points_until_ms;
    snprintf(job.started_by, sizeof(job.started_by), "%s", req->started_by ? req->started_by : "");
    job.dry_run = req->dry_run;
    job.state = TSR_REPLAY_RUNNING;
    job.created_ms = now;
    u->job = job;
    persist(u);
    tsr_info("replay %llu to cluster '%s' started by '%s': %lld records%s",
             (unsigned long long)job.id, cc->name, job.started_by,
             (long long)tsr_replay_records_total(&job), job.dry_run ? " (dry run)" : "");
    run_go(u);
    tsr_replay_job_json(&u->job, out);
    return 201;
}

uint64_t tsr_replayer_resend(struct tsr_replayer *r, const char *cluster, const int64_t *from,
                             const int64_t *to, int nparts, int64_t since_ms, int64_t until_ms,
                             const char *why)
{
    const struct tsr_cluster_conf *cc = find_cluster(r->env.cf, cluster);
    if (!cc || nparts <= 0) return 0;
    struct tsr_replay_job job = {0};
    if (nparts > TSR_CKPT_MAX_PARTITIONS) nparts = TSR_CKPT_MAX_PARTITIONS;
    job.nparts = nparts;
    for (int p = 0; p < nparts; p++) {
        int64_t a = from[p] < 0 ? 0 : from[p], b = to[p] < a ? a : to[p];
        job.parts[p] = (struct tsr_replay_part){p, a, b, a};
    }
    if (tsr_replay_records_total(&job) == 0) return 0;
    struct run *u = run_new(r, cc);
    job.id = ++r->last_id;
    snprintf(job.cluster, sizeof(job.cluster), "%s", cc->name);
    job.since_ms = since_ms;
    job.until_ms = until_ms;
    job.rate = cc->catchup_rate > 0 ? cc->catchup_rate : DEFAULT_RATE;
    snprintf(job.started_by, sizeof(job.started_by), "tsrelay: %s", why);
    job.state = TSR_REPLAY_RUNNING;
    job.created_ms = now_ms();
    u->job = job;
    persist(u);
    tsr_info("replay %llu to cluster '%s': %s, %lld records", (unsigned long long)job.id, cc->name,
             why, (long long)tsr_replay_records_total(&job));
    run_go(u);
    return job.id;
}

int tsr_replayer_control(struct tsr_replayer *r, uint64_t id, const char *verb, struct tsr_buf *out)
{
    struct run *u = find_run(r, id);
    if (!u) return error_json(out, 404, "no replay job %llu", (unsigned long long)id);
    enum tsr_replay_state st = u->job.state;
    if (strcmp(verb, "pause") == 0) {
        if (st != TSR_REPLAY_RUNNING && st != TSR_REPLAY_QUEUED)
            return error_json(out, 409, "replay %llu is %s, not running", (unsigned long long)id,
                              tsr_replay_state_name(st));
        /* What is not delivered yet is read again on resume, from the saved positions. */
        close_consumer(u);
        u->job.state = TSR_REPLAY_PAUSED;
        evtimer_del(u->step_ev);
    } else if (strcmp(verb, "resume") == 0) {
        if (st != TSR_REPLAY_PAUSED)
            return error_json(out, 409, "replay %llu is %s, not paused", (unsigned long long)id,
                              tsr_replay_state_name(st));
        u->job.state = TSR_REPLAY_RUNNING;
        run_go(u);
    } else if (strcmp(verb, "cancel") == 0) {
        if (tsr_replay_finished(st))
            return error_json(out, 409, "replay %llu is already %s", (unsigned long long)id,
                              tsr_replay_state_name(st));
        finish(u, TSR_REPLAY_CANCELLED, "cancelled after %lld points", (long long)u->job.points_sent);
    } else {
        return error_json(out, 404, "unknown action '%s'", verb);
    }
    persist(u);
    tsr_info("replay %llu to cluster '%s': %s", (unsigned long long)id, u->job.cluster, verb);
    tsr_replay_job_json(&u->job, out);
    return 200;
}

int tsr_replayer_show(struct tsr_replayer *r, uint64_t id, struct tsr_buf *out)
{
    struct run *u = find_run(r, id);
    if (!u) return error_json(out, 404, "no replay job %llu", (unsigned long long)id);
    tsr_replay_job_json(&u->job, out);
    return 200;
}

void tsr_replayer_list(struct tsr_replayer *r, int unfinished_only, struct tsr_buf *out)
{
    /* runs are newest first; the API lists oldest first. */
    size_t n = 0;
    for (struct run *u = r->runs; u; u = u->next) n++;
    struct run **all = calloc(n ? n : 1, sizeof(*all));
    if (!all) abort();
    size_t i = n;
    for (struct run *u = r->runs; u; u = u->next) all[--i] = u;
    tsr_buf_putc(out, '[');
    int first = 1;
    for (i = 0; i < n; i++) {
        if (unfinished_only && tsr_replay_finished(all[i]->job.state)) continue;
        if (!first) tsr_buf_putc(out, ',');
        first = 0;
        tsr_replay_job_json(&all[i]->job, out);
    }
    tsr_buf_putc(out, ']');
    free(all);
}

int tsr_replayer_busy(const struct tsr_replayer *r)
{
    int n = 0;
    for (const struct run *u = r->runs; u; u = u->next) n += u->in_flight;
    return n;
}

void tsr_replayer_stop(struct tsr_replayer *r)
{
    r->stopping = 1;
}

/* --- the fleet: jobs run by the coordinator, requests through the board -------- */

/* Requests older than this are dropped unanswered: their client gave up long ago. */
#define REQUEST_TTL_MS 15000

static void on_role(void *opaque, int coordinator)
{
    struct tsr_replayer *r = opaque;
    r->active = coordinator;
    for (struct run *u = r->runs; u; u = u->next) {
        if (!stepping(u)) continue;
        if (coordinator) {
            resume(u);
        } else {
            /* Another relay runs it from what was recorded; requests in flight finish
             * as orphans. */
            close_consumer(u);
            evtimer_del(u->step_ev);
        }
    }
    if (coordinator) process_requests(r);
}

/* "key value" lines of a request record. */
static const char *field(const char *rec, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);
    for (const char *p = rec; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, name, n) == 0 && p[n] == ' ') {
            const char *v = p + n + 1, *e = strchr(v, '\n');
            size_t len = e ? (size_t)(e - v) : strlen(v);
            if (len >= outlen) len = outlen - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return out;
        }
    }
    out[0] = '\0';
    return out;
}

static int64_t field_int(const char *rec, const char *name)
{
    char v[32];
    return strtoll(field(rec, name, v, sizeof(v)), NULL, 10);
}

/* The coordinator answers a request of another relay, as if it had come to its own
 * admin endpoint, and clears it from the board. */
static void answer_request(struct tsr_replayer *r, const struct request *q)
{
    struct tsr_buf out = {0};
    char verb[16], cluster[72], db[256], prefix[256], by[128];
    field(q->val, "verb", verb, sizeof(verb));
    int status;
    if (field_int(q->val, "at_ms") < now_ms() - REQUEST_TTL_MS) {
        tsr_warn("fleet: dropping a replay request of %s: older than %d s", q->key + 4,
                 REQUEST_TTL_MS / 1000);
        tsr_board_put(r->env.board, q->key, NULL, 0);
        return;
    }
    if (strcmp(verb, "start") == 0) {
        struct tsr_replay_req rq = {
            .cluster = field(q->val, "cluster", cluster, sizeof(cluster)),
            .since_ms = field_int(q->val, "since_ms"),
            .until_ms = field_int(q->val, "until_ms"),
            .rate = field_int(q->val, "rate"),
            .db = field(q->val, "db", db, sizeof(db)),
            .measurement_prefix = field(q->val, "measurement_prefix", prefix, sizeof(prefix)),
            .points_since_ms = field_int(q->val, "points_since_ms"),
            .points_until_ms = field_int(q->val, "points_until_ms"),
            .started_by = field(q->val, "started_by", by, sizeof(by)),
            .dry_run = (int)field_int(q->val, "dry_run"),
        };
        status = tsr_replayer_start(r, &rq, &out);
    } else {
        status = tsr_replayer_control(r, (uint64_t)field_int(q->val, "id"), verb, &out);
    }
    struct tsr_buf ans = {0};
    tsr_buf_printf(&ans, "%d\n", status);
    tsr_buf_append(&ans, out.data ? out.data : "", out.len);
    char key[96];
    snprintf(key, sizeof(key), "ans/%s", q->key + 4);
    tsr_board_put(r->env.board, key, ans.data, ans.len);
    tsr_board_put(r->env.board, q->key, NULL, 0);
    tsr_buf_free(&ans);
    tsr_buf_free(&out);
}

static void process_requests(struct tsr_replayer *r)
{
    while (r->active && r->requests) {
        struct request *q = r->requests;
        r->requests = q->next;
        answer_request(r, q);
        free(q->val);
        free(q);
    }
}

/* A job record: what every relay lists, and what a new coordinator resumes from. */
static void apply_job(struct tsr_replayer *r, uint64_t id, const char *val, size_t len)
{
    struct run *u = find_run(r, id);
    /* Running here: this relay's own record, or an older one; its memory is newer. */
    if (u && r->active && evtimer_pending(u->step_ev, NULL)) return;
    struct tsr_replay_job job;
    if (tsr_replay_job_decode(val, len, &job) != 0) {
        tsr_warn("fleet: replay job %llu on the board is unreadable; skipped", (unsigned long long)id);
        return;
    }
    /* The board echoes this relay's own records, older than what it holds. */
    if (u && job.updated_ms <= u->job.updated_ms) {
        tsr_replay_job_clear(&job);
        return;
    }
    if (!u) {
        const struct tsr_cluster_conf *cc = find_cluster(r->env.cf, job.cluster);
        if (!cc) {
            tsr_replay_job_clear(&job);
            return;
        }
        u = run_new(r, cc);
    } else {
        tsr_replay_job_clear(&u->job);
    }
    u->job = job;
    if (id > r->last_id) r->last_id = id;
    char err[256];
    if (tsr_ckpt_job_put(r->env.ck, id, val, len, err, sizeof(err)))
        tsr_error("replay %llu: %s", (unsigned long long)id, err);
    if (r->active && stepping(u)) resume(u);
}

static void on_board_record(void *opaque, const char *key, const char *val, size_t len)
{
    struct tsr_replayer *r = opaque;
    if (strncmp(key, "job/", 4) == 0) {
        if (val) apply_job(r, strtoull(key + 4, NULL, 10), val, len);
    } else if (strncmp(key, "req/", 4) == 0) {
        /* Pending until answered (a deletion follows the answer). */
        struct request **pp = &r->requests;
        while (*pp && strcmp((*pp)->key, key) != 0) pp = &(*pp)->next;
        if (*pp) {
            struct request *q = *pp;
            *pp = q->next;
            free(q->val);
            free(q);
        }
        if (!val) return;
        struct request *q = calloc(1, sizeof(*q));
        if (!q) abort();
        snprintf(q->key, sizeof(q->key), "%s", key);
        q->val = strndup(val, len);
        if (!q->val) abort();
        *pp = q; /* at the tail: answered in the order asked */
        process_requests(r);
    } else if (strncmp(key, "ans/", 4) == 0 && val) {
        size_t me = strlen(r->env.cf->instance);
        const char *t = key + 4;
        if (strncmp(t, r->env.cf->instance, me) != 0 || t[me] != '/') return;
        struct answer *a = calloc(1, sizeof(*a));
        if (!a) abort();
        a->ticket = strtoull(t + me + 1, NULL, 10);
        const char *nl = memchr(val, '\n', len);
        a->status = atoi(val);
        if (nl) tsr_buf_append(&a->body, nl + 1, len - (size_t)(nl + 1 - val));
        a->next = r->answers;
        r->answers = a;
    }
}

int tsr_replayer_request(struct tsr_replayer *r, const char *verb, uint64_t id,
                         const struct tsr_replay_req *req, struct tsr_buf *out, uint64_t *ticket)
{
    *ticket = 0;
    if (r->active) {
        return strcmp(verb, "start") == 0 ? tsr_replayer_start(r, req, out)
                                          : tsr_replayer_control(r, id, verb, out);
    }
    /* Unique across this relay's restarts, so an old answer never answers a new ask. */
    uint64_t t = (uint64_t)now_ms() * 1000;
    *ticket = r->last_ticket = t > r->last_ticket ? t : r->last_ticket + 1;
    struct tsr_buf rec = {0};
    tsr_buf_printf(&rec, "verb %s\nid %llu\nat_ms %lld\n", verb, (unsigned long long)id,
                   (long long)now_ms());
    if (req)
        tsr_buf_printf(&rec,
                       "cluster %s\nsince_ms %lld\nuntil_ms %lld\nrate %lld\ndb %s\n"
                       "measurement_prefix %s\npoints_since_ms %lld\npoints_until_ms %lld\n"
                       "started_by %s\ndry_run %d\n",
                       req->cluster ? req->cluster : "", (long long)req->since_ms,
                       (long long)req->until_ms, (long long)req->rate, req->db ? req->db : "",
                       req->measurement_prefix ? req->measurement_prefix : "",
                       (long long)req->points_since_ms, (long long)req->points_until_ms,
                       req->started_by ? req->started_by : "", req->dry_run);
    char key[96];
    snprintf(key, sizeof(key), "req/%s/%llu", r->env.cf->instance, (unsigned long long)*ticket);
    int rc = tsr_board_put(r->env.board, key, rec.data, rec.len);
    tsr_buf_free(&rec);
    if (rc) {
        *ticket = 0;
        return error_json(out, 503, "cannot reach the fleet's coordinator through kafka");
    }
    return 0;
}

int tsr_replayer_answer(struct tsr_replayer *r, uint64_t ticket, struct tsr_buf *out)
{
    for (struct answer **pp = &r->answers; *pp; pp = &(*pp)->next) {
        struct answer *a = *pp;
        if (a->ticket != ticket) continue;
        *pp = a->next;
        int status = a->status;
        tsr_buf_append(out, a->body.data ? a->body.data : "", a->body.len);
        char key[96];
        snprintf(key, sizeof(key), "ans/%s/%llu", r->env.cf->instance, (unsigned long long)ticket);
        tsr_board_put(r->env.board, key, NULL, 0);
        tsr_buf_free(&a->body);
        free(a);
        return status;
    }
    return 0;
}

static void list_unfinished(struct tsr_replayer *r, struct tsr_buf *out)
{
    tsr_replayer_list(r, 1, out);
}

static uint64_t resend(void *opaque, const char *cluster, const int64_t *from, const int64_t *to,
                       int nparts, int64_t since_ms, int64_t until_ms, const char *why)
{
    return tsr_replayer_resend(opaque, cluster, from, to, nparts, since_ms, until_ms, why);
}

const struct tsr_delivery_runner tsr_replay_runner = {
    .open = tsr_replayer_new,
    .close = tsr_replayer_free,
    .busy = tsr_replayer_busy,
    .stop = tsr_replayer_stop,
    .list = list_unfinished,
    .resend = resend,
};

struct tsr_verifier *tsr_replayer_verifier(struct tsr_replayer *r)
{
    return r->verifier;
}

#include "relay/deliver/forward.h"
#include "relay/deliver/forward_int.h"

#include <event2/event.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay/core/buf.h"
#include "relay/core/clock.h"
#include "config/config.h"
#include "relay/core/httpc.h"
#include "relay/kafka/kafka.h"
#include "relay/core/log.h"
#include "relay/core/pace.h"
#include "relay/deliver/fleet.h"
#include "relay/deliver/ledger_share.h"
#include "relay/deliver/park.h"
#include "relay/deliver/sink.h"
#include "relay/kafka/board.h"

#define TICK_MS 250
/* A 400 batch is split until its rejected lines stand alone; past this many requests
 * for one batch, what is left is dead-lettered as it is. */
#define BISECT_MAX_REQUESTS 256
/* How long a handoff waits for the requests in flight before it abandons them. */
#define HANDOFF_MS 5000
/* Reading the group's committed offsets when partitions are assigned (one request to
 * the group coordinator) blocks the forwarding thread up to this long. */
#define COMMITTED_TIMEOUT_MS 10000
/* A consumer librdkafka declared unusable is replaced after this long. */
#define REOPEN_DELAY_MS 2000


static void pull(struct tsr_forwarder *f);
static void serve_group(struct tsr_forwarder *f);
static void send_statement(struct lane *l);
static void pause_reading(struct tsr_forwarder *f, int pause);

static int lane_of(const struct tsr_forwarder *f, int32_t p)
{
    return p % f->nlanes;
}

void fwd_note_error(struct tsr_forwarder *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->st.last_error, sizeof(f->st.last_error), fmt, ap);
    va_end(ap);
    f->st.last_error_ms = tsr_clock_now_ns() / 1000000;
}

struct batch *fwd_batch_new(void)
{
    struct batch *b = calloc(1, sizeof(*b));
    if (!b) abort();
    return b;
}

void fwd_batch_free(struct batch **bp)
{
    struct batch *b = *bp;
    if (!b) return;
    tsr_buf_free(&b->body);
    tsr_buf_free(&b->gz);
    free(b->ranges);
    free(b);
    *bp = NULL;
}

int fwd_batch_full(const struct tsr_forwarder *f, const struct batch *b)
{
    return b->statement || b->points >= f->cc->batch_lines ||
           (int64_t)b->body.len >= f->cc->batch_bytes;
}

static long count_lines(const char *rec, size_t len)
{
    long n = 0;
    for (const char *q = rec, *end = rec + len; q < end;) {
        const char *nl = memchr(q, '\n', (size_t)(end - q));
        if (!nl) nl = end;
        n += nl > q;
        q = nl < end ? nl + 1 : end;
    }
    return n;
}

/* The lane's filling batch now reaches past message m of partition p. */
static void note_offset(struct lane *l, const rd_kafka_message_t *m)
{
    struct tsr_forwarder *f = l->f;
    struct batch *b = l->filling;
    int32_t p = m->partition;
    int64_t ts = rd_kafka_message_timestamp(m, NULL);
    b->records++;
    if (!b->touched[p]) b->first_ts_ms_of[p] = ts;
    b->next_offset[p] = m->offset + 1;
    b->last_ts_ms[p] = ts;
    b->touched[p] = 1;
    if (l == &f->fill) f->parts[p].fill_scanned = m->offset + 1;
    else f->parts[p].fetched = m->offset + 1;
}

void fwd_pass_over(struct lane *l, rd_kafka_message_t *m)
{
    note_offset(l, m);
    rd_kafka_message_destroy(m);
}

int fwd_take(struct lane *l, rd_kafka_message_t *m, const char *payload, size_t len)
{
    struct tsr_forwarder *f = l->f;
    struct batch *b = l->filling;
    char db[256], rp[256], kind[32];
    tsr_kafka_header(m, "db", db, sizeof(db));
    tsr_kafka_header(m, "rp", rp, sizeof(rp));
    tsr_kafka_header(m, "kind", kind, sizeof(kind));
    int32_t p = m->partition;
    if (!payload) payload = m->payload, len = m->len;
    if (!tsr_route_wants(f->route, db)) {
        /* Not a database this cluster receives: the position moves over it. */
        fwd_pass_over(l, m);
        return 0;
    }
    int statement = strcmp(kind, TSR_KAFKA_KIND_STATEMENT) == 0;
    struct tsr_park_key *k = statement ? NULL : tsr_park_on(&f->park, db, rp, p);
    /* The fill sends what comes before the key's cursor: the drain reads from there. */
    if (k && l == &f->fill && m->offset < k->cursor[p]) k = NULL;
    if (k) {
        /* Parked: its drain delivers it from the key's cursor; the lane moves on. */
        long n = count_lines(payload, len);
        k->points += (uint64_t)n;
        f->st.points_parked += (uint64_t)n;
        fwd_pass_over(l, m);
        return 0;
    }
    if (b->statement) return -1;
    if (statement) {
        /* A statement goes alone, in its place in the partition's order. */
        if (b->records > 0) return -1;
        b->statement = 1;
        const char *text = payload;
        size_t pre = strlen(TSR_KAFKA_STATEMENT_PREFIX);
        if (len >= pre && memcmp(text, TSR_KAFKA_STATEMENT_PREFIX, pre) == 0) text += pre, len -= pre;
        tsr_buf_append(&b->body, text, len);
        snprintf(b->db, sizeof(b->db), "%s", db);
        fwd_pass_over(l, m);
        return 0;
    }
    if (b->points > 0) {
        /* One request writes one database: a record for another starts a new batch. */
        if (strcmp(db, b->db) != 0 || strcmp(rp, b->rp) != 0) return -1;
        if ((int64_t)(b->body.len + len) > f->cc->batch_bytes) return -1;
        if (fwd_batch_full(f, b)) return -1;
    } else {
        snprintf(b->db, sizeof(b->db), "%s", db);
        snprintf(b->rp, sizeof(b->rp), "%s", rp);
    }
    long points = tsr_route_append(f->route, db, &b->body, payload, len);
    b->points += points;
    if (l != &f->fill && m->offset < f->parts[p].resend_until)
        f->st.points_resent += (uint64_t)points;
    fwd_pass_over(l, m);
    return 0;
}

/* Kafka no longer holds records a position points at: report the exact gap, record it,
 * and move the partition on to the oldest record still retained (pull() then assigns
 * the partitions again). */
static void handle_gap(struct tsr_forwarder *f, int32_t p)
{
    int64_t lo = -1, hi = -1;
    const char *topic = f->env.cf->kafka_topic;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(f->rk, topic, p, &lo, &hi, 5000);
    if (err) {
        fwd_note_error(f, "cannot read offsets of partition %d: %s", p, rd_kafka_err2str(err));
        return;
    }
    int64_t from = f->parts[p].fetched;
    if (from < lo) {
        tsr_error("cluster '%s': kafka retention deleted records %lld..%lld of partition %d "
                  "(%lld records) before they were delivered",
                  f->cc->name, (long long)from, (long long)lo - 1, p, (long long)(lo - from));
        fwd_note_error(f, "data lost to retention: partition %d offsets %lld..%lld", p,
                   (long long)from, (long long)lo - 1);
        f->st.gap_records += (uint64_t)(lo - from);
        struct tsr_ledger_entry *e = calloc(1, sizeof(*e));
        if (!e) abort();
        e->from_ms = tsr_clock_now_ns() / 1000000;
        e->to_ms = e->from_ms;
        snprintf(e->kind, sizeof(e->kind), "gap");
        snprintf(e->reason, sizeof(e->reason), "retention deleted %lld records of partition %d",
                 (long long)(lo - from), p);
        e->nparts = f->nparts;
        for (int i = 0; i < f->nparts; i++)
            e->from_offset[i] = e->to_offset[i] = f->parts[i].fetched;
        e->from_offset[p] = from;
        e->to_offset[p] = lo;
        /* This relay delivers the partition, the coordinator keeps the ledger. */
        tsr_ledger_share_record(f->env.board, f->env.ck, f->cc->name, f->env.cf->instance, e);
        free(e);
    } else {
        lo = from; /* nothing was lost: the offset is simply valid again */
    }
    f->parts[p].fetched = lo;
    if (f->parts[p].position < lo) {
        /* Delivered frontier jumps only if nothing of this partition is in a batch. */
        struct lane *l = &f->lanes[lane_of(f, p)];
        int busy = (l->sending && l->sending->touched[p]) || l->filling->touched[p];
        if (!busy) {
            f->parts[p].position = lo;
            struct tsr_ckpt_pos pos = {lo, f->parts[p].last_ts_ms};
            char why[256];
            if (tsr_ckpt_put(f->env.ck, f->cc->name, &p, &pos, 1, why, sizeof(why)))
                tsr_error("cluster '%s': %s", f->cc->name, why);
        }
    }
}

static int open_consumer(struct tsr_forwarder *f, int nparts, char *err, size_t errlen);
static void reopen_if_fatal(struct tsr_forwarder *f, int64_t now_ms);

/* Reads what the lanes have room for. */
static void pull(struct tsr_forwarder *f)
{
    if (f->stopping || f->handing_off || f->jumping) return;
    int gaps = 0;
    for (int p = 0; p < f->nparts; p++) {
        if (!f->parts[p].owned) continue;
        struct lane *l = &f->lanes[lane_of(f, p)];
        while (!l->held && !fwd_batch_full(f, l->filling)) {
            rd_kafka_message_t *m = rd_kafka_consume_queue(f->parts[p].q, 0);
            if (!m) break;
            if (m->err) {
                if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
                    m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
                    rd_kafka_message_destroy(m);
                    handle_gap(f, p);
                    gaps++;
                } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                    tsr_warn("cluster '%s': kafka consumer: %s", f->cc->name,
                             rd_kafka_message_errstr(m));
                    rd_kafka_message_destroy(m);
                } else {
                    rd_kafka_message_destroy(m);
                }
                continue;
            }
            /* Taken already: a re-assignment reads again from fetched, which a held
             * message may be ahead of. */
            if (m->offset < f->parts[p].fetched) {
                rd_kafka_message_destroy(m);
                continue;
            }
            if (fwd_take(l, m, NULL, 0) != 0) l->held = m;
        }
        /* An idle lane sends what it has at once: batches grow by themselves under load,
         * while the previous request is in flight. A batch of parked records only moves
         * the lane on. */
        if (!l->sending && l->filling->records > 0) {
            l->sending = l->filling;
            l->filling = fwd_batch_new();
            /* Reused rather than grown again from nothing: growth copies the body. */
            l->filling->body = l->spare;
            l->spare = (struct tsr_buf){0};
            if (l->held && fwd_take(l, l->held, NULL, 0) == 0) l->held = NULL;
            fwd_send_batch(l);
        }
    }
    /* auto.offset.reset=error has stopped the gapped partitions' fetchers, and librdkafka
     * refuses to seek a stopped partition ("Erroneous state"): assign all partitions
     * again, once, each at the record after the last one taken. */
    char why[256];
    if (gaps && fwd_reassign(f, why, sizeof(why)) != 0)
        fwd_note_error(f, "cannot read the topic again after a retention gap: %s", why);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    char drain[256];
    while (read(fd, drain, sizeof(drain)) > 0) {
    }
    serve_group(arg);
    pull(arg);
    fwd_drain_pull(arg);
    fwd_fill_pull(arg);
}

void fwd_schedule_retry(struct lane *l, int64_t delay_ms)
{
    struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};
    evtimer_add(l->retry_ev, &tv);
}


/* Everything in the sending batch is delivered (or dead-lettered, or parked): advance. */
void fwd_batch_done(struct lane *l)
{
    struct tsr_forwarder *f = l->f;
    struct batch *b = l->sending;
    if (l == &f->drain) {
        fwd_drain_batch_done(l);
        return;
    }
    if (l == &f->fill) {
        fwd_fill_batch_done(l);
        return;
    }
    int32_t parts[TSR_CKPT_MAX_PARTITIONS];
    struct tsr_ckpt_pos pos[TSR_CKPT_MAX_PARTITIONS];
    size_t n = 0;
    for (int p = 0; p < f->nparts; p++) {
        if (!b->touched[p]) continue;
        f->parts[p].position = f->parts[p].sent_to = b->next_offset[p];
        f->parts[p].last_ts_ms = b->last_ts_ms[p];
        f->parts[p].dirty = 1;
        parts[n] = p;
        /* The local copy, like the group's commit, keeps the backlog a fill delivers. */
        pos[n].next_offset = fwd_fill_commit_offset(f, p);
        pos[n].last_ingest_ms = b->last_ts_ms[p];
        n++;
    }
    f->st.records_delivered += (uint64_t)b->records;
    char err[256];
    if (tsr_ckpt_put(f->env.ck, f->cc->name, parts, pos, n, err, sizeof(err)) != 0) {
        /* Delivery happened; a lost checkpoint only means a resend after a restart. */
        tsr_error("cluster '%s': %s", f->cc->name, err);
        fwd_note_error(f, "%s", err);
    }
    f->st.points_delivered += (uint64_t)b->points;
    fwd_commit_soon(f);
    if (!l->spare.cap) {
        l->spare = b->body;
        l->spare.len = 0;
        b->body = (struct tsr_buf){0};
    }
    fwd_batch_free(&l->sending);
    pull(f);
}

/* Splits the range that got a 400, 422 or 413, or dead-letters it when it is one line
 * (or when the budget is spent). */
static void rejected(struct lane *l, const char *why)
{
    struct tsr_forwarder *f = l->f;
    struct batch *b = l->sending;
    struct range r = b->ranges[0];
    if (r.lines > 1 && b->requests < BISECT_MAX_REQUESTS) {
        /* Replace the range by its two halves, split at a line boundary. */
        long half = r.lines / 2, seen = 0;
        size_t cut = r.off;
        const char *s = b->body.data;
        while (seen < half) {
            cut = (size_t)((const char *)memchr(s + cut, '\n', r.off + r.len - cut) - s) + 1;
            seen++;
        }
        b->ranges = realloc(b->ranges, sizeof(*b->ranges) * (b->nranges + 1));
        if (!b->ranges) abort();
        memmove(b->ranges + 2, b->ranges + 1, sizeof(*b->ranges) * (b->nranges - 1));
        b->ranges[0] = (struct range){r.off, cut - r.off, half};
        b->ranges[1] = (struct range){cut, r.off + r.len - cut, r.lines - half};
        b->nranges++;
        return;
    }
    char reason[512];
    snprintf(reason, sizeof(reason), "cluster %s rejected: %s", f->cc->name, why);
    char src[96];
    snprintf(src, sizeof(src), "cluster:%s", f->cc->name);
    tsr_kafka_dead_letter(f->env.k, b->body.data + r.off, r.len, reason, src, -1, b->db, NULL);
    f->st.points_rejected += (uint64_t)r.lines;
    tsr_warn("cluster '%s' rejected %ld line%s, sent to the dead-letter topic: %s", f->cc->name,
             r.lines, r.lines == 1 ? "" : "s", why);
    memmove(b->ranges, b->ranges + 1, sizeof(*b->ranges) * (b->nranges - 1));
    b->nranges--;
}


static void on_create_db_done(void *opaque, const struct tsr_httpc_resp *resp)
{
    struct lane *l = opaque;
    l->in_flight = 0;
    if (l->abandoned) {
        l->abandoned = 0;
        fwd_batch_free(&l->sending);
        return;
    }
    if (resp->status / 100 == 2)
        tsr_info("cluster '%s': created database '%s'", l->f->cc->name, l->sending->db);
    fwd_send_batch(l);
}

/* The cluster as a whole could not take the lane's request: the same again after a
 * backoff (at least what Retry-After asked), logged on the first try and every tenth. */
static void retry_later(struct lane *l, const char *what, const char *why, long retry_after_s)
{
    struct tsr_forwarder *f = l->f;
    struct batch *b = l->sending;
    f->st.requests_failed++;
    fwd_note_error(f, "%s", why);
    b->attempts++;
    if (b->attempts == 1 || b->attempts % 10 == 0)
        tsr_warn("cluster '%s': %s failed (try %d), will retry: %s", f->cc->name, what,
                 b->attempts, why);
    fwd_schedule_retry(l, tsr_backoff_ms(b->attempts, f->cc->retry_max_ms, retry_after_s));
}

/* An answer came for the lane's request: 1 if the lane was handed off meanwhile, and
 * the batch is dropped (its partitions' new owner sends it again). */
static int answered_abandoned(struct lane *l)
{
    l->in_flight = 0;
    if (!l->abandoned) return 0;
    l->abandoned = 0;
    fwd_batch_free(&l->sending);
    pull(l->f);
    return 1;
}

/* The answer in words for logs and /status (health names URLs safely). */
static void describe(const struct tsr_forwarder *f, const struct tsr_httpc_resp *resp,
                     char *why, size_t len)
{
    tsr_sink_describe(f->cc, resp->status, resp->body_len ? resp->body : "", resp->error, why,
                      len);
}

static void on_write_done(void *opaque, const struct tsr_httpc_resp *resp)
{
    struct lane *l = opaque;
    struct tsr_forwarder *f = l->f;
    struct batch *b = l->sending;
    int64_t now_ms = tsr_clock_now_ns() / 1000000;
    if (answered_abandoned(l)) return;
    double s = resp->seconds;
    int bucket = 0;
    while (bucket < TSR_LATENCY_BUCKETS && s * 1000 > tsr_latency_bounds_ms[bucket]) bucket++;
    f->st.latency_count[bucket]++;
    f->st.latency_sum_s += s;

    enum tsr_sink_verdict v = tsr_sink_judge(resp->status, resp->body);
    char why[300];
    describe(f, resp, why, sizeof(why));
    /* A cluster that answers for one database only is up: the others flow. */
    tsr_health_write(f->health, l->url,
                     v != TSR_SINK_RETRY   ? TSR_WRITE_OK
                     : resp->status == 0 ? TSR_WRITE_TRANSPORT_ERROR
                                         : TSR_WRITE_HTTP_ERROR,
                     why, now_ms);

    if (v == TSR_SINK_PARK && tsr_sink_no_database(resp->status, resp->body) &&
        f->cc->create_database && tsr_sink_has_databases(f->cc) && !b->create_tried) {
        b->create_tried = 1;
        /* Once per batch: create it and send again; if that fails, park. */
        struct tsr_buf url = {0};
        tsr_sink_create_db_url(f->cc, l->url, b->db, &url);
        tsr_buf_putc(&url, '\0');
        struct tsr_httpc_req req = {.url = url.data, .method = "POST",
                                    .authorization = f->authorization,
                                    .timeout_ms = f->cc->timeout_ms,
                                    .tls = tsr_sink_tls(f->cc)};
        if (tsr_httpc_send(f->env.hc, &req, on_create_db_done, l) == 0) l->in_flight = 1;
        tsr_buf_free(&url);
        if (l->in_flight) return;
    }

    switch (v) {
    case TSR_SINK_DONE:
        f->st.requests_ok++;
        b->attempts = 0;
        memmove(b->ranges, b->ranges + 1, sizeof(*b->ranges) * (b->nranges - 1));
        b->nranges--;
        break;
    case TSR_SINK_REJECTED:
    case TSR_SINK_SPLIT:
        f->st.requests_ok++;
        b->attempts = 0;
        rejected(l, why);
        break;
    case TSR_SINK_PARK:
        f->st.requests_ok++;
        if (l == &f->drain) fwd_drain_refused(l, why, now_ms);
        /* The backlog keys' cursors are the fill's: it waits rather than park. */
        else if (l == &f->fill) retry_later(l, "backlog write", why, -1);
        else fwd_park_batch(l, why, now_ms);
        return;
    case TSR_SINK_RETRY: {
        char what[32];
        snprintf(what, sizeof(what), "write to urls[%d]", l->url);
        f->st.retries++;
        retry_later(l, what, why, resp->retry_after_s);
        return;
    }
    }
    if (b->nranges == 0)
        fwd_batch_done(l);
    else
        fwd_send_batch(l);
}

/* --- statements: CREATE DATABASE, in its place in the partition's order ------------- */

static void on_statement_done(void *opaque, const struct tsr_httpc_resp *resp)
{
    struct lane *l = opaque;
    struct tsr_forwarder *f = l->f;
    struct batch *b = l->sending;
    if (answered_abandoned(l)) return;
    char why[300];
    describe(f, resp, why, sizeof(why));
    enum tsr_sink_verdict v = tsr_sink_judge(resp->status, resp->body);
    if (v == TSR_SINK_RETRY) {
        char what[300];
        snprintf(what, sizeof(what), "CREATE DATABASE '%s'", b->db);
        retry_later(l, what, why, resp->retry_after_s);
        return;
    }
    f->st.requests_ok++;
    /* InfluxDB answers 200 and names a statement's error in the results. */
    if (v == TSR_SINK_DONE && !(resp->body && strstr(resp->body, "\"error\""))) {
        tsr_info("cluster '%s': created database '%s'", f->cc->name, b->db);
        fwd_wake_parked(f, b->db);
    } else {
        char reason[400], src[96];
        snprintf(reason, sizeof(reason), "cluster %s refused the statement: %s", f->cc->name, why);
        snprintf(src, sizeof(src), "cluster:%s", f->cc->name);
        tsr_kafka_dead_letter(f->env.k, b->body.data, b->body.len, reason, src, -1, b->db, NULL);
        tsr_warn("cluster '%s' refused CREATE DATABASE '%s', sent to the dead-letter topic: %s",
                 f->cc->name, b->db, why);
    }
    b->statement = 0;
    fwd_batch_done(l);
}

/* Executes the statement batch on clusters whose type has databases; the others have
 * nothing to do with it. */
static void send_statement(struct lane *l)
{
    struct tsr_forwarder *f = l->f;
    struct batch *b = l->sending;
    if (!tsr_sink_has_databases(f->cc)) {
        b->statement = 0;
        fwd_schedule_retry(l, 0);
        return;
    }
    struct tsr_buf url = {0};
    l->url = tsr_health_pick_url(f->health);
    if (*f->cc->database) {
        /* The cluster writes every database into one: create that one. */
        tsr_sink_create_db_url(f->cc, l->url, b->db, &url);
    } else {
        struct tsr_buf q = {0};
        tsr_buf_append(&q, b->body.data, b->body.len);
        while (q.len && (q.data[q.len - 1] == '\n' || q.data[q.len - 1] == ' ')) q.len--;
        tsr_buf_putc(&q, '\0');
        tsr_sink_query_url(f->cc, l->url, q.data, &url);
        tsr_buf_free(&q);
    }
    tsr_buf_putc(&url, '\0');
    struct tsr_httpc_req req = {.url = url.data, .method = "POST",
                                .authorization = f->authorization,
                                .timeout_ms = f->cc->timeout_ms,
                                .tls = tsr_sink_tls(f->cc)};
    if (tsr_httpc_send(f->env.hc, &req, on_statement_done, l) == 0)
        l->in_flight = 1;
    else
        fwd_schedule_retry(l, tsr_backoff_ms(++b->attempts, f->cc->retry_max_ms, -1));
    tsr_buf_free(&url);
}

/* Sends the first pending range of the lane's sending batch. */
void fwd_send_batch(struct lane *l)
{
    struct tsr_forwarder *f = l->f;
    struct batch *b = l->sending;
    if (!b || l->in_flight || f->stopping || f->handing_off) return;
    /* Jumping to the newest records: no new batch and no retry goes out (what is not
     * delivered is the fill's), but a batch split after a 400 is finished, so that its
     * lines accepted already are not sent again nor its rejected ones dead-lettered twice. */
    if (f->jumping && l != &f->drain && (b->requests == 0 || b->attempts > 0)) return;
    if (l != &f->drain && l != &f->fill && !b->ranges && !b->statement && b->points > 0) {
        /* Filled before its key was parked: the drain sends it. */
        int parked = 1;
        for (int p = 0; p < f->nparts && parked; p++)
            if (b->touched[p] && !tsr_park_on(&f->park, b->db, b->rp, p)) parked = 0;
        if (parked) {
            struct tsr_park_key *k = tsr_park_find(&f->park, b->db, b->rp);
            k->points += (uint64_t)b->points;
            f->st.points_parked += (uint64_t)b->points;
            b->points = 0;
        }
    }
    if (!b->statement && b->points == 0) {
        /* Only parked records: nothing to send, the lane moves on (after this callback:
         * batch_done pulls, which may send again). */
        fwd_schedule_retry(l, 0);
        return;
    }
    if (b->statement) {
        send_statement(l);
        return;
    }
    if (!b->ranges && l != &f->drain && l != &f->fill) {
        /* The commit that follows records how far this request reaches, for the relay
         * that would take these partitions over if this one died with it in flight. */
        for (int p = 0; p < f->nparts; p++)
            if (b->touched[p]) {
                f->parts[p].sent_to = b->next_offset[p];
                f->parts[p].dirty = 1;
            }
        fwd_commit_soon(f);
    }
    if (!b->ranges) {
        b->ranges = malloc(sizeof(*b->ranges));
        if (!b->ranges) abort();
        b->ranges[0] = (struct range){0, b->body.len, b->points};
        b->nranges = 1;
    }
    struct range *r = &b->ranges[0];
    if (f->cc->catchup_rate > 0 && b->requests == 0 && (l == &f->fill || !fwd_fill_count(f))) {
        /* A recovering cluster gets at most catchup_rate points/s: while a fill runs,
         * of the backlog only, new points go at once. */
        int64_t wait = tsr_bucket_take(&f->bucket, (double)f->cc->catchup_rate, (double)r->lines,
                                       tsr_clock_mono_ns());
        if (wait) {
            fwd_schedule_retry(l, wait);
            return;
        }
    }
    l->url = tsr_health_pick_url(f->health);
    if (tsr_sink_send(f->env.hc, f->cc, l->url, b->db, b->rp, b->body.data + r->off, r->len,
                      &b->gz, f->authorization, on_write_done, l) == 0) {
        l->in_flight = 1;
        b->requests++;
    } else {
        fwd_schedule_retry(l, tsr_backoff_ms(++b->attempts, f->cc->retry_max_ms, -1));
    }
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct lane *l = arg;
    struct batch *b = l->sending;
    if (b && !b->statement && b->points == 0 && !l->in_flight && !l->f->stopping &&
        !l->f->handing_off)
        fwd_batch_done(l);
    else
        fwd_send_batch(l);
}

/* Back from down: a TSDB that was killed may have lost writes it acknowledged just
 * before (VictoriaMetrics keeps about a second in memory). What was delivered in the
 * recovery_rewind_ms before the outage is sent again by a replay job, with its own
 * cursor, so live catch-up is not held up and nothing after the outage is sent twice. */
static void resend_before_outage(struct tsr_forwarder *f)
{
    f->rewind_pending = 0;
    if (!f->env.resend || f->nparts == 0) return;
    int64_t since = f->down_since_ms - f->cc->recovery_rewind_ms;
    int64_t at[TSR_CKPT_MAX_PARTITIONS], from[TSR_CKPT_MAX_PARTITIONS], to[TSR_CKPT_MAX_PARTITIONS];
    char err[256];
    if (tsr_kafka_offsets_at(f->env.k, f->nparts, since, at, 2000, err, sizeof(err))) {
        tsr_warn("cluster '%s': cannot find what to resend after the outage: %s", f->cc->name, err);
        return;
    }
    for (int p = 0; p < f->nparts; p++) {
        from[p] = to[p] = 0;
        if (f->down_position[p] < 0) continue;
        /* -1: no record that recent, nothing before the outage to resend. */
        int64_t off = at[p] < 0 ? f->down_position[p] : at[p];
        from[p] = off < f->down_position[p] ? off : f->down_position[p];
        to[p] = f->down_position[p];
        tsr_debug("cluster '%s' partition %d: resend %lld..%lld (offset for the time: %lld)",
                  f->cc->name, p, (long long)from[p], (long long)to[p], (long long)at[p]);
    }
    f->env.resend(f->env.resend_opaque, f->cc->name, from, to, f->nparts, since,
                  f->down_since_ms, "recovery rewind");
}

/* In a fleet only the coordinator records the ledger and rewinds; a relay alone (no
 * board) does both. */
static int coordinator(const struct tsr_forwarder *f)
{
    return !f->env.board || tsr_board_coordinator(f->env.board);
}

static void close_interval(struct tsr_forwarder *f, int64_t now_ms, const int64_t *offs)
{
    char err[256];
    if (tsr_ledger_close(f->env.ck, f->cc->name, f->ledger_id, now_ms, f->nparts, offs, err,
                         sizeof(err)))
        tsr_error("cluster '%s': %s", f->cc->name, err);
    else
        tsr_ledger_share_publish(f->env.board, f->env.ck, f->cc->name, f->ledger_id);
    f->ledger_id = 0;
}

/* Where every partition stands, whichever relay delivers it (the fleet view for the
 * others'), for the fleet's one ledger. */
static void fleet_positions(const struct tsr_forwarder *f, int64_t *offs)
{
    for (int p = 0; p < f->nparts; p++)
        offs[p] = f->parts[p].owned || !f->st.fleet_view ? f->parts[p].position : f->st.position[p];
}

/* Became the coordinator: an interval the previous one left open is now this relay's
 * to close (at once, if the cluster is in sync already); stopped being it: no longer. */
static void follow_role(struct tsr_forwarder *f, int64_t now_ms)
{
    int coord = coordinator(f);
    if (coord == f->was_coordinator) return;
    f->was_coordinator = coord;
    f->ledger_id = 0;
    if (!coord) return;
    struct tsr_ledger_entry *e = calloc(1, sizeof(*e));
    if (!e) abort();
    size_t n = 0;
    char err[256];
    if (tsr_ledger_list(f->env.ck, f->cc->name, e, 1, &n, err, sizeof(err)) == 0 && n == 1 &&
        e->to_ms == 0) {
        f->ledger_id = e->id;
        if (tsr_health_state(f->health) == TSR_CLUSTER_IN_SYNC) {
            int64_t offs[TSR_CKPT_MAX_PARTITIONS];
            fleet_positions(f, offs);
            close_interval(f, now_ms, offs);
        }
    }
    free(e);
}

static void on_health_change(void *opaque, enum tsr_cluster_state from, enum tsr_cluster_state to,
                             const char *reason)
{
    struct tsr_forwarder *f = opaque;
    int64_t now_ms = tsr_clock_now_ns() / 1000000;
    f->st.since_ms = now_ms;
    enum tsr_log_level lvl = to == TSR_CLUSTER_IN_SYNC ? TSR_LOG_INFO : TSR_LOG_WARN;
    tsr_log(lvl, "cluster '%s' %s -> %s: %s", f->cc->name, tsr_cluster_state_name(from),
            tsr_cluster_state_name(to), reason);
    char err[256];
    int64_t offs[TSR_CKPT_MAX_PARTITIONS];
    fleet_positions(f, offs);
    int coord = coordinator(f);
    if (coord && to != TSR_CLUSTER_IN_SYNC && !f->ledger_id && from == TSR_CLUSTER_IN_SYNC) {
        struct tsr_ledger_entry *e = calloc(1, sizeof(*e));
        if (!e) abort();
        e->from_ms = now_ms;
        snprintf(e->kind, sizeof(e->kind), "outage");
        snprintf(e->reason, sizeof(e->reason), "%s", reason);
        e->nparts = f->nparts;
        memcpy(e->from_offset, offs, sizeof(int64_t) * (size_t)f->nparts);
        if (tsr_ledger_open(f->env.ck, f->cc->name, e, err, sizeof(err)) == 0) {
            f->ledger_id = e->id;
            tsr_ledger_share_publish(f->env.board, f->env.ck, f->cc->name, e->id);
        } else {
            tsr_error("cluster '%s': %s", f->cc->name, err);
        }
        free(e);
    } else if (to == TSR_CLUSTER_IN_SYNC && f->ledger_id) {
        close_interval(f, now_ms, offs);
    }
    if (to == TSR_CLUSTER_DOWN) {
        f->down_since_ms = now_ms;
        /* The coordinator rewinds every partition, whichever relay delivers it, so each
         * is rewound once: where its owner stood as the fleet view last saw it. */
        for (int p = 0; p < f->nparts; p++)
            f->down_position[p] = f->parts[p].owned ? f->parts[p].position
                                  : f->st.fleet_view ? f->st.position[p]
                                                     : -1;
    }
    if (to == TSR_CLUSTER_IN_SYNC || from == TSR_CLUSTER_DOWN) fwd_wake_parked(f, NULL);
    if (from == TSR_CLUSTER_DOWN && to != TSR_CLUSTER_DOWN) {
        /* Health changes are reported from inside write and probe callbacks, which
         * still hold a lane's batch: rewinding or resending here would pull it away
         * from under them. Act on the next loop iteration instead. */
        if (coord && f->down_since_ms && f->cc->recovery_rewind_ms > 0) f->rewind_pending = 1;
        event_active(f->recover_ev, 0, 0);
    }
}

/* The cluster is back: rewind if asked, and retry now rather than at the end of a long
 * backoff. */
static void on_recover(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_forwarder *f = arg;
    pause_reading(f, 0);
    if (f->rewind_pending) resend_before_outage(f);
    for (int i = 0; i <= f->nlanes; i++) {
        struct lane *l = i < f->nlanes ? &f->lanes[i] : &f->fill;
        if (l->sending && !l->in_flight) {
            evtimer_del(l->retry_ev);
            l->sending->attempts = 0;
            fwd_send_batch(l);
        }
    }
}

/* The Kafka time of the oldest record of p in the lane's batches: 2; or, when it holds
 * none, the last delivered record's time (the oldest undelivered one is younger): 1. */
static int oldest_in_lane(const struct lane *l, int p, int64_t last_ts_ms, int64_t *t)
{
    if (l->sending && l->sending->touched[p]) {
        *t = l->sending->first_ts_ms_of[p];
        return 2;
    }
    if (l->filling->touched[p]) {
        *t = l->filling->first_ts_ms_of[p];
        return 2;
    }
    *t = last_ts_ms;
    return 1;
}

int64_t fwd_high(const struct tsr_forwarder *f, int32_t p, int64_t *lo)
{
    /* The consumer's cached watermark stops moving while its queue is full; what this
     * relay produced is known exactly. */
    int64_t low = -1, hi = -1, produced = tsr_kafka_high(f->env.k, p);
    if (f->rk) rd_kafka_get_watermark_offsets(f->rk, f->env.cf->kafka_topic, p, &low, &hi);
    if (lo) *lo = low;
    return produced > hi ? produced : hi;
}

int fwd_lanes_oldest(const struct tsr_forwarder *f, int32_t p, int64_t *t)
{
    return oldest_in_lane(&f->lanes[lane_of(f, p)], p, f->parts[p].last_ts_ms, t) == 2;
}

/* Where partition p stands for this cluster: the offset after the last record (*hi),
 * the next offset the lanes deliver (*pos), the records of a fill's backlog behind it
 * (*backlog) and the Kafka time of the oldest undelivered record (*t). From this
 * relay's own state for the partitions it delivers, from the fleet view for the others.
 * Returns 2 when *t is that record's time (it is in a batch), 1 when *t only bounds it
 * (the last delivered record's, 0 if none: the oldest undelivered one is younger), 0
 * when nothing is known of the partition. */
static int partition_state(struct tsr_forwarder *f, int p, int have_fleet, int64_t *hi,
                           int64_t *pos, int64_t *backlog, int64_t *t)
{
    struct part *pt = &f->parts[p];
    if (pt->owned) {
        int64_t lo = -1;
        *hi = fwd_high(f, p, &lo);
        *pos = pt->position >= 0 ? pt->position : (lo >= 0 ? lo : 0);
        snprintf(f->st.owner[p], sizeof(f->st.owner[p]), "%s", f->env.cf->instance);
        /* The oldest undelivered record is the first of this partition in the batches
         * of the fill, while it has a backlog, or else of the lane. */
        if (pt->fill_at >= 0 && pt->fill_at < pt->fill_to) {
            *backlog = pt->fill_to - pt->fill_at;
            return oldest_in_lane(&f->fill, p, pt->fill_last_ts_ms, t);
        }
        return oldest_in_lane(&f->lanes[lane_of(f, p)], p, pt->last_ts_ms, t);
    }
    if (!have_fleet || p >= f->fv->nparts) return 0;
    /* The fleet view is up to a second old; what this relay produced is known exactly. */
    int64_t produced = tsr_kafka_high(f->env.k, p);
    const struct tsr_fleet_part *fp = &f->fv->part[p];
    *hi = fp->high > produced ? fp->high : produced;
    *pos = fp->committed >= 0 ? fp->committed : (fp->low >= 0 ? fp->low : 0);
    *t = fp->last_ts_ms;
    snprintf(f->st.owner[p], sizeof(f->st.owner[p]), "%s", fp->owner);
    return 1;
}

/* Lag of the whole cluster, every partition, whichever relay delivers it: so every
 * relay of the fleet reports the same state, and /clusters/NAME/ready turns 200 only
 * once the whole cluster has caught up. */
static void update_lag(struct tsr_forwarder *f, int64_t now_ms)
{
    int have_fleet = f->env.fleet && tsr_fleet_get(f->env.fleet, f->index, f->fv) == 0;
    f->st.fleet_view = have_fleet;
    int64_t lag_records = 0, oldest_ms = 0;
    for (int p = 0; p < f->nparts; p++) {
        int64_t hi = -1, pos = 0, backlog = 0, t = 0;
        f->st.high[p] = -1;
        f->st.owner[p][0] = '\0';
        int known = partition_state(f, p, have_fleet, &hi, &pos, &backlog, &t);
        if (!known) continue;
        f->st.high[p] = hi;
        f->st.position[p] = pos;
        if (hi < 0 || hi <= pos) pos = hi; /* nothing new: only a backlog, if any */
        if (hi - pos + backlog <= 0) {
            f->parts[p].unknown_since_ms = 0;
            continue;
        }
        lag_records += hi - pos + backlog;
        if (known == 1) {
            /* A backlog none of which is in a batch has no known age. It is younger
             * than the last record delivered, and than when it was first seen (give or
             * take the fleet view's second): a stuck one soon leaves in_sync, and new
             * writes to a partition idle for long do not look old. */
            if (!f->parts[p].unknown_since_ms) f->parts[p].unknown_since_ms = now_ms;
            if (t < f->parts[p].unknown_since_ms) t = f->parts[p].unknown_since_ms;
        } else {
            f->parts[p].unknown_since_ms = 0;
        }
        if (!oldest_ms || t < oldest_ms) oldest_ms = t;
    }
    f->st.lag_records = lag_records;
    f->st.lag_ms = lag_records && oldest_ms ? now_ms - oldest_ms : 0;
    double per_record = f->st.records_delivered
                            ? (double)f->st.points_delivered / (double)f->st.records_delivered
                            : 1.0;
    f->st.lag_points = (int64_t)((double)lag_records * per_record);
    tsr_health_lag(f->health, f->st.lag_ms, now_ms);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_forwarder *f = arg;
    int64_t now_ms = tsr_clock_now_ns() / 1000000;
    if (f->rk) rd_kafka_poll(f->rk, 0);
    reopen_if_fatal(f, now_ms);
    int n = tsr_kafka_partitions(f->env.k);
    if (!f->rk && n > 0 && !f->stopping && now_ms >= f->reopen_after_ms) {
        char err[256];
        if (open_consumer(f, n, err, sizeof(err)) != 0) tsr_error("cluster '%s': %s", f->cc->name, err);
    }
    /* A topic that grew is seen by the group's metadata refresh, which rebalances. */
    if (n > f->nparts) f->nparts = f->st.nparts = n > TSR_CKPT_MAX_PARTITIONS ? TSR_CKPT_MAX_PARTITIONS : n;
    serve_group(f);
    update_lag(f, now_ms);
    follow_role(f, now_ms);
    tsr_health_tick(f->health, now_ms);
    /* Down, whether it went down or has been since the relay started: stop reading. Its
     * return resumes reading at once, in on_recover. */
    if (tsr_health_state(f->health) == TSR_CLUSTER_DOWN) pause_reading(f, 1);
    fwd_fill_tick(f, now_ms);
    pull(f);
    fwd_drain_start(f, now_ms);
    fwd_drain_pull(f);
    fwd_fill_pull(f);
}

/* While the cluster is down its lanes are full and nothing is read: pausing the
 * partitions keeps librdkafka from holding a full read-ahead all that time. A resumed
 * partition is fetched again at once from the record after the last one taken. */
static void pause_reading(struct tsr_forwarder *f, int pause)
{
    if (!f->rk || f->nparts == 0 || f->reading_paused == pause) return;
    int e = tsr_kafka_pause(f->rk, f->env.cf->kafka_topic, 0, f->nparts, pause);
    if (e) {
        tsr_warn("cluster '%s': cannot %s reading: %s", f->cc->name, pause ? "pause" : "resume",
                 rd_kafka_err2str((rd_kafka_resp_err_t)e));
        return;
    }
    f->reading_paused = pause;
    tsr_info("cluster '%s': reading from kafka %s", f->cc->name,
             pause ? "paused while it is down" : "resumed");
}

/* --- the fleet: this relay's share of the cluster's consumer group ---------------- */

/* Commits the dirty positions of owned partitions, with metadata that lets any relay of
 * the fleet read them: the Kafka timestamp of the last delivered record (lag), the end
 * of the request in flight (a takeover counts what it sends again) and who delivers. */
static void commit_positions(struct tsr_forwarder *f, int sync)
{
    if (!f->rk) return;
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(f->nparts);
    for (int p = 0; p < f->nparts; p++) {
        struct part *pt = &f->parts[p];
        if (!pt->owned || !pt->dirty || pt->position < 0) continue;
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(tl, f->env.cf->kafka_topic, p);
        /* While a fill has a backlog, the group's offset is the backlog's: whoever reads
         * it (the fleet view, kafka-consumer-groups) sees what is not delivered, and a
         * reader that knows nothing of fills resends rather than skips. */
        tp->offset = fwd_fill_commit_offset(f, p);
        int backlog = tp->offset < pt->position;
        char meta[320 + TSR_PARK_META_MAX];
        snprintf(meta, sizeof(meta), "ts=%lld sent=%lld by=%s",
                 (long long)(backlog ? pt->fill_last_ts_ms : pt->last_ts_ms),
                 (long long)(pt->sent_to > pt->position ? pt->sent_to : pt->position),
                 f->env.cf->instance);
        fwd_fill_meta(f, p, meta, sizeof(meta));
        /* park_batch made sure the parked keys fit. */
        tsr_park_meta(&f->park, p, meta, sizeof(meta));
        tp->metadata = strdup(meta);
        if (!tp->metadata) abort();
        tp->metadata_size = strlen(meta);
        pt->dirty = 0;
    }
    if (tl->cnt) {
        rd_kafka_resp_err_t e = rd_kafka_commit(f->rk, tl, !sync);
        if (e && sync)
            tsr_warn("cluster '%s': cannot commit positions to kafka: %s (the next owner resends "
                     "from the previous commit)", f->cc->name, rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(tl);
}

static void on_commit(evutil_socket_t fd, short what, void *arg)
{
    commit_positions(arg, 0);
}

/* After the current callback: a delivered batch and the next one sent share a commit. */
void fwd_commit_soon(struct tsr_forwarder *f)
{
    if (f->commit_ev) event_active(f->commit_ev, 0, 0);
}

/* This relay's previous consumer delivered partition p beyond the group's commit, which
 * it could not update before librdkafka declared it unusable. When that commit is still
 * this relay's own, nobody delivered the partition since: resume where the previous
 * consumer got to instead of sending its last batches to the cluster again. Another
 * owner in between that never committed only makes this resend, never skip. */
static void resume_kept(struct tsr_forwarder *f, int32_t p, const char *by)
{
    struct part *pt = &f->parts[p];
    int64_t kept = pt->kept_position, sent = pt->kept_sent_to;
    pt->kept_position = -1;
    if (kept <= pt->position || strcmp(by, f->env.cf->instance) != 0) return;
    tsr_info("cluster '%s': partition %d resumes at offset %lld, where this relay's previous "
             "consumer had delivered it (its last commit, %lld, was lost)",
             f->cc->name, p, (long long)kept, (long long)pt->position);
    pt->position = pt->fetched = kept;
    if (pt->resend_until < sent) pt->resend_until = sent;
    if (pt->resend_until <= kept) pt->resend_until = 0;
}

/* Where an assigned partition starts: the group's committed offset; without one, this
 * relay's LMDB checkpoint (a relay upgraded from before the fleet starts where it
 * stood); without either, start_from. */
static int start_position(struct tsr_forwarder *f, const rd_kafka_topic_partition_t *committed,
                          char *err, size_t errlen)
{
    int32_t p = committed->partition;
    struct part *pt = &f->parts[p];
    pt->resend_until = 0;
    if (committed->err == 0 && committed->offset >= 0) {
        int64_t ts = 0, sent = committed->offset;
        char meta[320 + TSR_PARK_META_MAX] = "";
        if (committed->metadata && committed->metadata_size < sizeof(meta))
            memcpy(meta, committed->metadata, committed->metadata_size);
        char by[128] = "";
        tsr_fleet_parse_meta(meta, &ts, &sent, by, sizeof(by));
        if (tsr_park_parse_meta(&f->park, p, meta, tsr_clock_now_ns() / 1000000) > 0)
            tsr_info("cluster '%s': partition %d comes with parked points (%s)", f->cc->name, p,
                     strstr(meta, " park="));
        pt->position = pt->fetched = committed->offset;
        pt->last_ts_ms = ts;
        if (fwd_fill_parse_meta(f, p, committed->offset, meta))
            tsr_info("cluster '%s': partition %d comes with a backlog filling in behind "
                     "(%s)", f->cc->name, p, strstr(meta, " fill="));
        /* The previous owner died with a request in flight: what it reached may be in
         * the cluster already, and is counted as sent twice when sent again. */
        if (sent > committed->offset) pt->resend_until = sent;
        resume_kept(f, p, by);
        return 0;
    }
    struct tsr_ckpt_pos pos;
    int rc = tsr_ckpt_get(f->env.ck, f->cc->name, p, &pos, err, errlen);
    if (rc < 0) return -1;
    if (rc == 0) {
        pt->position = pt->fetched = pos.next_offset;
        pt->last_ts_ms = pos.last_ingest_ms;
        pt->dirty = 1; /* the migration: from now on the group holds it */
    } else {
        int latest = strcmp(f->cc->start_from, "latest") == 0;
        pt->position = pt->fetched = latest ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
    }
    return 0;
}

/* Gives the partitions back and joins the group again. */
static void rejoin(struct tsr_forwarder *f)
{
    rd_kafka_assign(f->rk, NULL);
    rd_kafka_unsubscribe(f->rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, f->env.cf->kafka_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(f->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
}

/* The group gave this relay parts: read each from its position. */
static void take_partitions(struct tsr_forwarder *f, rd_kafka_topic_partition_list_t *parts)
{
    const char *topic = f->env.cf->kafka_topic;
    char err[256];
    f->st.rebalances++;
    for (int i = 0; i < parts->cnt; i++) {
        if (strcmp(parts->elems[i].topic, topic) == 0) continue;
        /* A static member back under its instance gets its previous assignment when the
         * group does not rebalance: after kafka.topic changed, partitions of the old
         * topic. Taking them would commit the old topic's positions to the new one and
         * skip its first records; rejoining gets the same assignment again. Only a
         * rebalance helps: the group empty for its session timeout, or a member more. */
        tsr_error("cluster '%s': the group assigned partitions of topic '%s' (the previous "
                  "kafka.topic?), not '%s'; delivering nothing until the group rebalances: "
                  "stop every relay of the group for kafka.session_timeout_ms, or start "
                  "one with another instance", f->cc->name, parts->elems[i].topic, topic);
        fwd_note_error(f, "assigned partitions of topic '%s', not '%s'", parts->elems[i].topic,
                       topic);
        rd_kafka_assign(f->rk, NULL);
        return;
    }
    rd_kafka_topic_partition_list_t *c = rd_kafka_topic_partition_list_copy(parts);
    rd_kafka_resp_err_t e = rd_kafka_committed(f->rk, c, COMMITTED_TIMEOUT_MS);
    if (e) {
        /* Without the group's positions, reading would resend or skip: give the
         * partitions back and let the group try again. */
        tsr_error("cluster '%s': cannot read the committed positions of the partitions "
                  "assigned: %s; rejoining the group", f->cc->name, rd_kafka_err2str(e));
        fwd_note_error(f, "cannot read committed positions: %s", rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(c);
        rejoin(f);
        return;
    }
    int n = 0;
    for (int i = 0; i < c->cnt; i++) {
        int32_t p = c->elems[i].partition;
        if (p < 0 || p >= TSR_CKPT_MAX_PARTITIONS) continue;
        if (p >= f->nparts) f->nparts = f->st.nparts = p + 1;
        struct part *pt = &f->parts[p];
        if (start_position(f, &c->elems[i], err, sizeof(err)) != 0) {
            tsr_error("cluster '%s': partition %d: %s", f->cc->name, p, err);
            continue;
        }
        if (!pt->q) {
            pt->q = rd_kafka_queue_get_partition(f->rk, topic, p);
            /* Each partition is read from its own queue, so a lane that is full simply
             * stops reading its partitions while the others go on. */
            rd_kafka_queue_forward(pt->q, NULL);
            rd_kafka_queue_io_event_enable(pt->q, f->wake_fds[1], "1", 1);
        }
        pt->owned = 1;
        pt->sent_to = pt->position;
        pt->dirty = 1; /* the first commit names the new owner for the fleet view */
        parts->elems[i].offset = pt->fetched;
        n++;
    }
    rd_kafka_topic_partition_list_destroy(c);
    /* Partitions the loop skipped keep their default offset: read from the committed one. */
    e = rd_kafka_assign(f->rk, parts);
    if (e) {
        tsr_error("cluster '%s': cannot assign partitions of '%s': %s", f->cc->name, topic,
                  rd_kafka_err2str(e));
        return;
    }
    f->st.partitions_owned = n;
    tsr_info("cluster '%s': delivering %d of %d partitions of '%s' (instance '%s')", f->cc->name,
             n, f->nparts, topic, f->env.cf->instance);
    if (f->reading_paused) {
        f->reading_paused = 0;
        pause_reading(f, 1);
    }
    fwd_fill_assign(f);
    fwd_commit_soon(f);
}

/* Ends a handoff: what is still in flight is abandoned (its callback frees it), what
 * waits for a retry is dropped, the positions are committed, and the partitions go. */
/* Drops what every lane read but did not send: the next owner reads it again from the
 * committed position. */
static void drop_unsent(struct tsr_forwarder *f)
{
    fwd_drain_stop(f);
    fwd_fill_stop(f);
    for (int i = 0; i < f->nlanes; i++) {
        struct lane *l = &f->lanes[i];
        fwd_batch_free(&l->filling);
        l->filling = fwd_batch_new();
        if (l->held) rd_kafka_message_destroy(l->held);
        l->held = NULL;
    }
}

/* Drops every lane's batches: those in flight when their answer comes. Returns how
 * many requests were in flight. */
static int abandon_batches(struct tsr_forwarder *f)
{
    int abandoned = 0;
    drop_unsent(f);
    for (int i = 0; i < f->nlanes; i++) {
        struct lane *l = &f->lanes[i];
        evtimer_del(l->retry_ev);
        if (l->in_flight) {
            l->abandoned = 1;
            abandoned++;
        } else {
            fwd_batch_free(&l->sending);
        }
    }
    /* drain_stop and fill_stop, in drop_unsent, marked theirs */
    return abandoned + f->drain.abandoned + f->fill.abandoned;
}

static void finish_handoff(struct tsr_forwarder *f)
{
    evtimer_del(f->handoff_ev);
    int abandoned = abandon_batches(f);
    if (abandoned)
        tsr_warn("cluster '%s': handing partitions off with %d request%s unanswered; the next "
                 "owner sends them again", f->cc->name, abandoned, abandoned == 1 ? "" : "s");
    for (int p = 0; p < f->nparts; p++) f->parts[p].dirty = f->parts[p].owned;
    commit_positions(f, 1);
    /* The parked keys and the fills went with the commit to the partitions' next owner. */
    memset(&f->park, 0, sizeof(f->park));
    fwd_fill_forget(f);
    for (int p = 0; p < f->nparts; p++) {
        f->parts[p].owned = 0;
        f->parts[p].resend_until = 0;
    }
    f->st.partitions_owned = 0;
    f->handing_off = 0;
    rd_kafka_assign(f->rk, NULL);
    tsr_info("cluster '%s': partitions handed off", f->cc->name);
}

static void on_handoff_check(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_forwarder *f = arg;
    if (tsr_forwarder_busy(f) && tsr_clock_mono_ns() < f->handoff_deadline_ns) return;
    finish_handoff(f);
}

/* The group takes every partition away (eager rebalancing): stop reading, drop what
 * was read but not sent (the next owner reads it again from the committed position),
 * and let the requests in flight finish before committing and releasing. */
static void begin_handoff(struct tsr_forwarder *f)
{
    drop_unsent(f);
    if (f->stopping || !tsr_forwarder_busy(f)) {
        finish_handoff(f);
        return;
    }
    f->handing_off = 1;
    f->handoff_deadline_ns = tsr_clock_mono_ns() + (int64_t)HANDOFF_MS * 1000000;
    struct timeval tv = {0, 20000};
    event_add(f->handoff_ev, &tv);
    tsr_info("cluster '%s': handing partitions off once %d request%s in flight finish",
             f->cc->name, tsr_forwarder_busy(f), tsr_forwarder_busy(f) == 1 ? "" : "s");
}

/* librdkafka's rebalance callback, run inside rd_kafka_consumer_poll on this thread. */
static void on_rebalance(rd_kafka_t *rk, int err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque)
{
    struct tsr_forwarder *f = opaque;
    if (f->closing) {
        rd_kafka_assign(rk, NULL);
    } else if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        take_partitions(f, parts);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        begin_handoff(f);
    } else {
        tsr_warn("cluster '%s': kafka group rebalance failed: %s", f->cc->name,
                 rd_kafka_err2str((rd_kafka_resp_err_t)err));
        rd_kafka_assign(rk, NULL);
    }
}

/* Serves the consumer queue: rebalances (through on_rebalance) and consumer errors. */
static void serve_group(struct tsr_forwarder *f)
{
    if (!f->rk) return;
    rd_kafka_message_t *m;
    while ((m = rd_kafka_consumer_poll(f->rk, 0))) {
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            tsr_warn("cluster '%s': kafka consumer: %s", f->cc->name, rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
    }
}

/* The consumer is made once the partition count is known, since its read-ahead is its
 * cluster's share of kafka.read_ahead, split over the partitions; then it joins the
 * cluster's group. An equal share per cluster keeps the relay's memory bound however
 * many catch up at once. */
static int open_consumer(struct tsr_forwarder *f, int nparts, char *err, size_t errlen)
{
    char group[160];
    tsr_fleet_group_name(f->env.cf, f->cc->name, group, sizeof(group));
    struct tsr_kafka_member mb = {.instance_id = f->env.cf->instance,
                                  .rebalance = (void (*)(struct rd_kafka_s *, int,
                                                         struct rd_kafka_topic_partition_list_s *,
                                                         void *))on_rebalance,
                                  .opaque = f};
    f->rk = tsr_kafka_consumer_new(f->env.cf, group, "error",
                                   f->env.cf->kafka_read_ahead_bytes /
                                       ((int64_t)nparts * (int64_t)f->env.cf->nclusters),
                                   &mb, err, errlen);
    if (!f->rk) return -1;
    f->nparts = f->st.nparts = nparts > TSR_CKPT_MAX_PARTITIONS ? TSR_CKPT_MAX_PARTITIONS : nparts;
    f->cq = rd_kafka_queue_get_consumer(f->rk);
    rd_kafka_queue_io_event_enable(f->cq, f->wake_fds[1], "1", 1);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, f->env.cf->kafka_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(f->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        snprintf(err, errlen, "cannot subscribe to '%s': %s", f->env.cf->kafka_topic,
                 rd_kafka_err2str(e));
        return -1;
    }
    tsr_info("cluster '%s': joining consumer group '%s' as '%s'", f->cc->name, group,
             f->env.cf->instance);
    return 0;
}

/* Closes the consumer and forgets every partition: at shutdown, after the last commit,
 * or when librdkafka has declared it unusable. A static member does not leave the group
 * on close: its partitions wait for it for kafka.session_timeout_ms, so a restart (or
 * a new consumer under the same instance) takes them back without a rebalance. */
static void close_consumer(struct tsr_forwarder *f)
{
    if (!f->rk) return;
    f->closing = 1; /* closing calls on_rebalance once more, with nothing left to do */
    rd_kafka_consumer_close(f->rk);
    for (int p = 0; p < f->nparts; p++) {
        if (f->parts[p].q) rd_kafka_queue_destroy(f->parts[p].q);
        f->parts[p].q = NULL;
        f->parts[p].owned = 0;
    }
    if (f->cq) rd_kafka_queue_destroy(f->cq);
    f->cq = NULL;
    rd_kafka_destroy(f->rk);
    f->rk = NULL;
    f->closing = 0;
    f->reading_paused = 0;
    f->st.partitions_owned = 0;
}

/* A fatal consumer error: most often a static member fenced after its session expired
 * while the broker was away (librdkafka rejoins under a new member id, and the broker
 * fences the old one: itself). A new consumer under the same instance replaces the old
 * registration, as a restarted relay does; a real twin would fence it again, so
 * rebuilding waits a few seconds each time and says so. */
static void reopen_if_fatal(struct tsr_forwarder *f, int64_t now_ms)
{
    char why[256];
    if (!f->rk || !rd_kafka_fatal_error(f->rk, why, sizeof(why))) return;
    tsr_error("cluster '%s': kafka consumer unusable: %s; starting a new one in %d s (if another "
              "relay runs with instance '%s', give each its own)", f->cc->name, why,
              REOPEN_DELAY_MS / 1000, f->env.cf->instance);
    fwd_note_error(f, "kafka consumer unusable: %s", why);
    evtimer_del(f->handoff_ev);
    f->handing_off = 0;
    abandon_batches(f);
    for (int p = 0; p < f->nparts; p++) {
        struct part *pt = &f->parts[p];
        pt->kept_position = pt->owned ? pt->position : -1;
        pt->kept_sent_to = pt->sent_to;
    }
    close_consumer(f);
    f->reopen_after_ms = now_ms + REOPEN_DELAY_MS;
}

/* Assigns the owned partitions again, each at the record after the last one taken:
 * after a retention gap, librdkafka has stopped their fetchers. */
int fwd_reassign(struct tsr_forwarder *f, char *err, size_t errlen)
{
    const char *topic = f->env.cf->kafka_topic;
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(f->nparts);
    for (int p = 0; p < f->nparts; p++)
        if (f->parts[p].owned) rd_kafka_topic_partition_list_add(tl, topic, p)->offset = f->parts[p].fetched;
    rd_kafka_resp_err_t e = rd_kafka_assign(f->rk, tl);
    rd_kafka_topic_partition_list_destroy(tl);
    if (e) {
        snprintf(err, errlen, "cannot assign partitions of '%s': %s", topic, rd_kafka_err2str(e));
        return -1;
    }
    if (f->reading_paused) { /* down meanwhile: an assignment fetches again */
        f->reading_paused = 0;
        pause_reading(f, 1);
    }
    return 0;
}

int tsr_forwarder_new(const struct tsr_fwd_env *env, const struct tsr_cluster_conf *cc,
                      struct tsr_forwarder **fp, char *err, size_t errlen)
{
    struct tsr_forwarder *f = calloc(1, sizeof(*f));
    if (!f) abort();
    f->env = *env;
    f->cc = cc;
    f->index = (int)(cc - env->cf->clusters);
    f->fv = calloc(1, sizeof(*f->fv));
    if (!f->fv) abort();
    f->wake_fds[0] = f->wake_fds[1] = -1;
    for (int p = 0; p < TSR_CKPT_MAX_PARTITIONS; p++) {
        f->parts[p].kept_position = -1;
        f->parts[p].fill_at = -1;
    }
    snprintf(f->st.name, sizeof(f->st.name), "%s", cc->name);
    snprintf(f->st.type, sizeof(f->st.type), "%s", cc->type);
    f->st.nurls = (int)cc->nurls;
    f->st.since_ms = tsr_clock_now_ns() / 1000000;
    f->nlanes = (int)cc->max_inflight;
    if (f->nlanes > MAX_LANES) f->nlanes = MAX_LANES;
    for (int i = 0; i < f->nlanes; i++) {
        f->lanes[i].f = f;
        f->lanes[i].filling = fwd_batch_new();
        f->lanes[i].retry_ev = evtimer_new(env->base, on_retry, &f->lanes[i]);
    }
    f->drain.f = f;
    f->drain.filling = fwd_batch_new();
    f->drain.retry_ev = evtimer_new(env->base, on_retry, &f->drain);
    f->fill.f = f;
    f->fill.filling = fwd_batch_new();
    f->fill.retry_ev = evtimer_new(env->base, on_retry, &f->fill);
    struct tsr_buf auth = {0};
    if (tsr_sink_authorization(cc, &auth)) {
        tsr_buf_putc(&auth, '\0');
        f->authorization = tsr_buf_detach(&auth, NULL);
    }
    struct tsr_health_conf hc = {.lag_threshold_ms = cc->lag_threshold_ms};
    f->health = tsr_health_new(&hc, (int)cc->nurls, on_health_change, f);
    f->bucket.at_ns = tsr_clock_mono_ns();
    f->recover_ev = event_new(env->base, -1, 0, on_recover, f);
    if (tsr_route_new(cc, f->index, &f->route, err, errlen)) goto fail;

    if (pipe2(f->wake_fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(err, errlen, "cannot create wake-up pipe");
        goto fail;
    }
    f->wake_ev = event_new(env->base, f->wake_fds[0], EV_READ | EV_PERSIST, on_wake, f);
    event_add(f->wake_ev, NULL);
    f->commit_ev = event_new(env->base, -1, 0, on_commit, f);
    f->handoff_ev = event_new(env->base, -1, EV_PERSIST, on_handoff_check, f);
    int n = tsr_kafka_partitions(env->k);
    if (n > 0 && open_consumer(f, n, err, errlen) != 0) goto fail;
    if (tsr_prober_new(env->base, env->hc, f->health, cc->type, cc->urls, (int)cc->nurls,
                       (int)cc->probe_interval_ms, (long)cc->timeout_ms, f->authorization,
                       tsr_sink_tls(cc), &f->prober) != 0) {
        snprintf(err, errlen, "cannot start health probes for cluster '%s'", cc->name);
        goto fail;
    }
    f->tick_ev = event_new(env->base, -1, EV_PERSIST, on_tick, f);
    struct timeval tick = {0, TICK_MS * 1000};
    event_add(f->tick_ev, &tick);
    *fp = f;
    return 0;
fail:
    tsr_forwarder_free(&f);
    return -1;
}

void tsr_forwarder_stop(struct tsr_forwarder *f)
{
    f->stopping = 1;
    for (int i = 0; i < f->nlanes; i++) evtimer_del(f->lanes[i].retry_ev);
    evtimer_del(f->drain.retry_ev);
    evtimer_del(f->fill.retry_ev);
}

int tsr_forwarder_busy(const struct tsr_forwarder *f)
{
    int n = f->drain.in_flight + f->fill.in_flight;
    for (int i = 0; i < f->nlanes; i++) n += f->lanes[i].in_flight;
    return n;
}

void tsr_forwarder_free(struct tsr_forwarder **fp)
{
    struct tsr_forwarder *f = *fp;
    if (!f) return;
    tsr_prober_free(&f->prober);
    tsr_route_free(&f->route);
    if (f->rk) {
        /* SIGTERM: the requests in flight are answered or abandoned by now. Commit where
         * every partition stands, so whoever delivers it next sends nothing twice. */
        f->stopping = 1;
        if (f->st.partitions_owned) finish_handoff(f);
        close_consumer(f);
    }
    if (f->tick_ev) event_free(f->tick_ev);
    if (f->commit_ev) event_free(f->commit_ev);
    if (f->handoff_ev) event_free(f->handoff_ev);
    if (f->recover_ev) event_free(f->recover_ev);
    if (f->wake_ev) event_free(f->wake_ev);
    for (int i = 0; i < f->nlanes; i++) {
        struct lane *l = &f->lanes[i];
        fwd_batch_free(&l->sending);
        fwd_batch_free(&l->filling);
        tsr_buf_free(&l->spare);
        if (l->held) rd_kafka_message_destroy(l->held);
        if (l->retry_ev) event_free(l->retry_ev);
    }
    for (struct lane *l = &f->drain; l; l = l == &f->drain ? &f->fill : NULL) {
        fwd_batch_free(&l->sending);
        fwd_batch_free(&l->filling);
        tsr_buf_free(&l->spare);
        if (l->held) rd_kafka_message_destroy(l->held);
        if (l->retry_ev) event_free(l->retry_ev);
    }
    if (f->dq) rd_kafka_queue_destroy(f->dq);
    if (f->fq) rd_kafka_queue_destroy(f->fq);
    if (f->drk) {
        rd_kafka_consumer_close(f->drk);
        rd_kafka_destroy(f->drk);
    }
    if (f->frk) {
        rd_kafka_consumer_close(f->frk);
        rd_kafka_destroy(f->frk);
    }
    close_consumer(f); /* when starting failed half-way */
    if (f->wake_fds[0] >= 0) close(f->wake_fds[0]);
    if (f->wake_fds[1] >= 0) close(f->wake_fds[1]);
    tsr_health_free(&f->health);
    free(f->authorization);
    free(f->fv);
    free(f);
    *fp = NULL;
}

void tsr_forwarder_status(const struct tsr_forwarder *f, struct tsr_cluster_status *st)
{
    *st = f->st;
    st->state = tsr_health_state(f->health);
    snprintf(st->reason, sizeof(st->reason), "%s", tsr_health_reason(f->health));
    st->fill_partitions = 0;
    st->fill_records = 0;
    for (int p = 0; p < f->nparts; p++) {
        const struct part *pt = &f->parts[p];
        if (pt->owned) st->position[p] = pt->position;
        st->owned[p] = (unsigned char)pt->owned;
        st->fill_at[p] = pt->owned ? pt->fill_at : -1;
        st->fill_to[p] = pt->fill_to;
        if (pt->owned && pt->fill_at >= 0) {
            st->fill_partitions++;
            if (pt->fill_at < pt->fill_to) st->fill_records += pt->fill_to - pt->fill_at;
        }
    }
    for (int i = 0; i < f->st.nurls && i < 64; i++) st->url_up[i] = (char)tsr_health_url_up(f->health, i);
    st->nparked = 0;
    for (int i = 0; i < TSR_PARK_MAX; i++) {
        const struct tsr_park_key *k = &f->park.key[i];
        if (!k->used) continue;
        struct tsr_parked_status *ps = &st->parked[st->nparked++];
        snprintf(ps->db, sizeof(ps->db), "%s", k->db);
        snprintf(ps->rp, sizeof(ps->rp), "%s", k->rp);
        snprintf(ps->reason, sizeof(ps->reason), "%s", k->reason);
        ps->since_ms = k->since_ms;
        ps->points = k->points;
        ps->attempts = k->attempts;
    }
}

/* relay/deliver/fill.c — fresh first: new points go to a cluster ahead of an old
 * backlog, which fills in behind (docs/forwarding.md#fresh-first).
 *
 * When the oldest point not yet delivered to a cluster is older than
 * fresh_first_after_ms, the lanes let their requests in flight finish, drop what they
 * read but did not send, and move each partition this relay delivers to its newest
 * record: from there they deliver as usual, at once. The records they skipped, [fill_at,
 * fill_to) of each partition, are the backlog: a consumer of its own (group "<cluster
 * group>-fill", assign only, never committing) reads it in offset order and sends it
 * through a lane of its own at catchup_rate, which then holds back the backlog only.
 *
 * Two writes of one series and timestamp can cross: the backlog's older value would
 * reach the cluster after the lanes' newer one and win. So once the backlog is through,
 * the fill reads what the lanes had read meanwhile, [fill_to, fill_end), again, and sends
 * the points whose own time is at or before the newest of the backlog (fill_max): a point
 * of the backlog can only have been crossed by one of those, and this time it arrives
 * last. Usually they are few (live points are newer than the backlog).
 *
 * The cursors travel in the group's commits: the committed offset is the backlog's
 * (fill_at), the metadata names the rest (" fill=AT:TO:END:MAX live=POSITION"), so the
 * relay that takes a partition over, or this one restarted, goes on where it stood; a
 * reader that knows nothing of fills would resend, never skip. Forwarding thread only. */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health/health.h"
#include "relay/core/buf.h"
#include "relay/core/log.h"
#include "relay/deliver/fleet.h"
#include "relay/deliver/forward_int.h"
#include "relay/kafka/kafka.h"

static int running(const struct part *pt)
{
    return pt->owned && pt->fill_at >= 0;
}

/* Where the fill reads to on the partition now: its backlog, then the pass again. */
static int64_t read_end(const struct part *pt)
{
    return pt->fill_end ? pt->fill_end : pt->fill_to;
}

int fwd_fill_count(const struct tsr_forwarder *f)
{
    int n = 0;
    for (int p = 0; p < f->nparts; p++) n += running(&f->parts[p]);
    return n;
}

int64_t fwd_fill_commit_offset(const struct tsr_forwarder *f, int32_t p)
{
    const struct part *pt = &f->parts[p];
    return pt->fill_at >= 0 && pt->fill_at < pt->fill_to ? pt->fill_at : pt->position;
}

void fwd_fill_meta(const struct tsr_forwarder *f, int32_t p, char *meta, size_t len)
{
    const struct part *pt = &f->parts[p];
    size_t n = strlen(meta);
    if (pt->fill_at < 0 || n >= len) return;
    snprintf(meta + n, len - n, " fill=%" PRId64 ":%" PRId64 ":%" PRId64 ":%" PRId64 " live=%" PRId64,
             pt->fill_at, pt->fill_to, pt->fill_end, pt->fill_max_ns, pt->position);
}

int fwd_fill_parse_meta(struct tsr_forwarder *f, int32_t p, int64_t committed, const char *meta)
{
    struct part *pt = &f->parts[p];
    pt->fill_at = -1;
    long long at, to, end, max, live;
    const char *a = strstr(meta, " fill="), *b = strstr(meta, " live=");
    if (!a || !b || sscanf(a, " fill=%lld:%lld:%lld:%lld", &at, &to, &end, &max) != 4 ||
        sscanf(b, " live=%lld", &live) != 1)
        return 0;
    /* The commit names the backlog's offset: never start the fill after it. */
    if (at < to && committed < at) at = committed;
    if (at < 0 || to < at || live < to || (end && end < to)) return 0;
    pt->fill_at = pt->fill_scanned = at;
    pt->fill_to = to;
    pt->fill_end = end;
    pt->fill_max_ns = max;
    pt->fill_last_ts_ms = pt->last_ts_ms;
    pt->position = pt->fetched = live;
    return 1;
}

static int fill_open(struct tsr_forwarder *f, char *err, size_t errlen)
{
    if (f->frk) return 0;
    char group[200];
    tsr_fleet_group_name(f->env.cf, f->cc->name, group, sizeof(group));
    strncat(group, "-fill", sizeof(group) - strlen(group) - 1);
    /* Never commits: the cursors travel in the cluster group's commits. Its read-ahead
     * is the cluster's share, which its lanes hardly use while they are at the end. */
    f->frk = tsr_kafka_consumer_new(f->env.cf, group, "earliest",
                                    f->env.cf->kafka_read_ahead_bytes /
                                        (int64_t)(f->env.cf->nclusters ? f->env.cf->nclusters : 1),
                                    NULL, err, errlen);
    if (!f->frk) return -1;
    rd_kafka_poll_set_consumer(f->frk);
    f->fq = rd_kafka_queue_get_consumer(f->frk);
    rd_kafka_queue_io_event_enable(f->fq, f->wake_fds[1], "1", 1);
    return 0;
}

static void pause_partition(struct tsr_forwarder *f, int32_t p)
{
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tl, f->env.cf->kafka_topic, p);
    rd_kafka_pause_partitions(f->frk, tl);
    rd_kafka_topic_partition_list_destroy(tl);
}

void fwd_fill_assign(struct tsr_forwarder *f)
{
    if (!fwd_fill_count(f)) {
        if (f->frk) rd_kafka_assign(f->frk, NULL);
        return;
    }
    char err[256];
    if (fill_open(f, err, sizeof(err)) != 0) {
        tsr_error("cluster '%s': cannot read the backlog behind the new points: %s", f->cc->name,
                  err);
        fwd_note_error(f, "cannot read the backlog: %s", err);
        return;
    }
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(f->nparts);
    for (int p = 0; p < f->nparts; p++) {
        struct part *pt = &f->parts[p];
        if (running(pt) && pt->fill_scanned < read_end(pt))
            rd_kafka_topic_partition_list_add(tl, f->env.cf->kafka_topic, p)->offset =
                pt->fill_scanned;
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(f->frk, tl);
    /* A partition paused at the end of its backlog stays paused across assignments. */
    if (!e) rd_kafka_resume_partitions(f->frk, tl);
    else
        tsr_error("cluster '%s': cannot read the backlog behind the new points: %s", f->cc->name,
                  rd_kafka_err2str(e));
    rd_kafka_topic_partition_list_destroy(tl);
}

/* The oldest record the lanes hold, by Kafka time; 0 if they hold none. */
static int64_t lanes_oldest_ms(const struct tsr_forwarder *f)
{
    int64_t oldest = 0, t;
    for (int p = 0; p < f->nparts; p++)
        if (f->parts[p].owned && fwd_lanes_oldest(f, p, &t) && (!oldest || t < oldest))
            oldest = t;
    return oldest;
}

/* The lanes' requests are answered: every partition moves to its newest record, and
 * what lay between is the fill's. */
static void jump(struct tsr_forwarder *f, int64_t now_ms)
{
    f->jumping = 0;
    for (int i = 0; i < f->nlanes; i++) {
        struct lane *l = &f->lanes[i];
        evtimer_del(l->retry_ev);
        fwd_batch_free(&l->sending);
        fwd_batch_free(&l->filling);
        l->filling = fwd_batch_new();
        if (l->held) rd_kafka_message_destroy(l->held);
        l->held = NULL;
    }
    int64_t records = 0;
    int n = 0;
    for (int p = 0; p < f->nparts; p++) {
        struct part *pt = &f->parts[p];
        if (!pt->owned) continue;
        pt->fetched = pt->position; /* what was dropped is read again */
        int64_t hi = fwd_high(f, p, NULL);
        if (pt->position < 0 || hi <= pt->position) continue;
        pt->fill_at = pt->fill_scanned = pt->position;
        pt->fill_to = hi;
        pt->fill_end = 0;
        pt->fill_max_ns = INT64_MIN;
        pt->fill_last_ts_ms = pt->last_ts_ms;
        pt->position = pt->fetched = pt->sent_to = hi;
        pt->dirty = 1;
        records += hi - pt->fill_at;
        n++;
    }
    char err[256];
    if (fwd_reassign(f, err, sizeof(err)) != 0) fwd_note_error(f, "%s", err);
    if (!n) return;
    f->st.fills++;
    f->st.fill_since_ms = now_ms;
    tsr_info("cluster '%s': new points go first; %" PRId64 " records of backlog on %d "
             "partition%s fill in behind%s",
             f->cc->name, records, n, n == 1 ? "" : "s",
             f->cc->catchup_rate > 0 ? " at catchup_rate" : "");
    fwd_fill_assign(f);
    fwd_commit_soon(f);
}

void fwd_fill_tick(struct tsr_forwarder *f, int64_t now_ms)
{
    if (f->jumping) {
        int busy = 0;
        for (int i = 0; i < f->nlanes; i++) busy += f->lanes[i].in_flight;
        if (f->stopping || f->handing_off) f->jumping = 0;
        else if (!busy) jump(f, now_ms);
        return;
    }
    if (f->cc->fresh_first_after_ms <= 0 || !f->rk || f->stopping || f->handing_off ||
        fwd_fill_count(f) || tsr_health_state(f->health) == TSR_CLUSTER_DOWN)
        return;
    int64_t oldest = lanes_oldest_ms(f);
    if (!oldest || now_ms - oldest <= f->cc->fresh_first_after_ms) return;
    tsr_info("cluster '%s': the oldest point not delivered entered kafka %.1f s ago; moving "
             "to the newest once the requests in flight are answered",
             f->cc->name, (double)(now_ms - oldest) / 1000.0);
    f->jumping = 1;
    fwd_fill_tick(f, now_ms);
}

/* Own time (ns) of a normalised line: its last field. */
static int64_t line_time(const char *line, size_t n)
{
    const char *ts = line + n;
    while (ts > line && ts[-1] != ' ') ts--;
    return strtoll(ts, NULL, 10);
}

static void note_newest(struct part *pt, const char *rec, size_t len)
{
    for (const char *q = rec, *end = rec + len; q < end;) {
        const char *nl = memchr(q, '\n', (size_t)(end - q));
        size_t n = (size_t)((nl ? nl : end) - q);
        if (n) {
            int64_t t = line_time(q, n);
            if (t > pt->fill_max_ns) pt->fill_max_ns = t;
        }
        q = nl ? nl + 1 : end;
    }
}

/* The pass again over what the lanes delivered: the points of m no newer than the
 * backlog's newest, sent once more so that the later write arrives last. */
static int take_again(struct lane *l, rd_kafka_message_t *m, struct part *pt)
{
    char kind[32];
    tsr_kafka_header(m, "kind", kind, sizeof(kind));
    if (*kind) { /* a statement was executed in its place already */
        fwd_pass_over(l, m);
        return 0;
    }
    struct tsr_buf keep = {0};
    long lines = 0;
    for (const char *q = m->payload, *end = q + m->len; q < end;) {
        const char *nl = memchr(q, '\n', (size_t)(end - q));
        size_t n = (size_t)((nl ? nl : end) - q);
        if (n && line_time(q, n) <= pt->fill_max_ns) {
            tsr_buf_append(&keep, q, n);
            tsr_buf_putc(&keep, '\n');
            lines++;
        }
        q = nl ? nl + 1 : end;
    }
    int rc = 0;
    if (!lines) fwd_pass_over(l, m);
    else if ((rc = fwd_take(l, m, keep.data, keep.len)) == 0)
        l->f->st.points_refilled += (uint64_t)lines;
    tsr_buf_free(&keep);
    return rc;
}

void fwd_fill_pull(struct tsr_forwarder *f)
{
    struct lane *l = &f->fill;
    if (!f->frk || l->sending || f->stopping || f->handing_off || f->jumping) return;
    while (!fwd_batch_full(f, l->filling)) {
        rd_kafka_message_t *m = l->held;
        l->held = NULL;
        if (!m && !(m = rd_kafka_consumer_poll(f->frk, 0))) break;
        int32_t p = m->partition;
        struct part *pt = p >= 0 && p < f->nparts ? &f->parts[p] : NULL;
        if (m->err || !pt || !running(pt) || m->offset < pt->fill_scanned) {
            if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                tsr_warn("cluster '%s': reading the backlog: %s", f->cc->name,
                         rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        int64_t end = read_end(pt);
        if (m->offset >= end) {
            rd_kafka_message_destroy(m);
            pause_partition(f, p);
            continue;
        }
        if (m->offset > pt->fill_scanned) {
            /* The consumer starts at the oldest record retained ("earliest"). */
            tsr_error("cluster '%s': kafka retention deleted records %" PRId64 "..%" PRId64
                      " of partition %d before the backlog was delivered",
                      f->cc->name, pt->fill_scanned, m->offset - 1, p);
            f->st.gap_records += (uint64_t)(m->offset - pt->fill_scanned);
            pt->fill_scanned = m->offset;
        }
        int rc;
        if (m->offset < pt->fill_to) {
            char kind[32];
            tsr_kafka_header(m, "kind", kind, sizeof(kind));
            if (!*kind) note_newest(pt, m->payload, m->len);
            rc = fwd_take(l, m, NULL, 0);
        } else {
            rc = take_again(l, m, pt);
        }
        if (rc) {
            l->held = m;
            break;
        }
        if (pt->fill_scanned >= end) pause_partition(f, p);
    }
    if (l->filling->records > 0) {
        l->sending = l->filling;
        l->filling = fwd_batch_new();
        fwd_send_batch(l);
    }
}

void fwd_fill_batch_done(struct lane *l)
{
    struct tsr_forwarder *f = l->f;
    struct batch *b = l->sending;
    f->st.points_delivered += (uint64_t)b->points;
    f->st.points_filled += (uint64_t)b->points;
    f->st.records_delivered += (uint64_t)b->records;
    for (int p = 0; p < f->nparts; p++) {
        struct part *pt = &f->parts[p];
        if (!b->touched[p] || !running(pt)) continue;
        pt->fill_at = b->next_offset[p];
        pt->fill_last_ts_ms = b->last_ts_ms[p];
        pt->dirty = 1;
    }
    fwd_batch_free(&l->sending);
    int again = 0;
    for (int p = 0; p < f->nparts; p++) {
        struct part *pt = &f->parts[p];
        if (!running(pt)) continue;
        if (!pt->fill_end && pt->fill_at >= pt->fill_to) {
            /* The backlog is through: what the lanes read meanwhile is passed again,
             * unless the backlog had no point a later write could have crossed. */
            pt->fill_end = pt->fill_max_ns == INT64_MIN ? pt->fill_to : pt->fetched;
            if (pt->fill_end <= pt->fill_to) pt->fill_end = pt->fill_to;
            again = 1;
        }
        if (pt->fill_end && pt->fill_at >= pt->fill_end) {
            pt->fill_at = -1;
            pt->dirty = 1;
        }
    }
    fwd_commit_soon(f);
    if (!fwd_fill_count(f)) {
        tsr_info("cluster '%s': the backlog is filled in (%" PRIu64 " points since the relay "
                 "started, %" PRIu64 " of them sent again after it)",
                 f->cc->name, f->st.points_filled, f->st.points_refilled);
        if (f->frk) rd_kafka_assign(f->frk, NULL);
        return;
    }
    if (again) fwd_fill_assign(f);
    fwd_fill_pull(f);
}

void fwd_fill_stop(struct tsr_forwarder *f)
{
    struct lane *l = &f->fill;
    if (f->frk) rd_kafka_assign(f->frk, NULL);
    fwd_batch_free(&l->filling);
    l->filling = fwd_batch_new();
    if (l->held) rd_kafka_message_destroy(l->held);
    l->held = NULL;
    if (l->in_flight) l->abandoned = 1;
    else fwd_batch_free(&l->sending);
    evtimer_del(l->retry_ev);
    for (int p = 0; p < f->nparts; p++)
        if (f->parts[p].fill_at >= 0) f->parts[p].fill_scanned = f->parts[p].fill_at;
}

void fwd_fill_forget(struct tsr_forwarder *f)
{
    for (int p = 0; p < TSR_CKPT_MAX_PARTITIONS; p++) f->parts[p].fill_at = -1;
    if (f->frk) rd_kafka_assign(f->frk, NULL);
}

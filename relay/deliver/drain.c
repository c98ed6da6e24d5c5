/* relay/deliver/drain.c — parked keys of one cluster and their drain (see park.h for
 * the table, docs/forwarding.md#parked-databases for the behaviour).
 *
 * A key is parked when the cluster refuses its database or retention policy alone; the
 * lanes skip its records. A drain pass, one key at a time, reads the key's records
 * again from its cursors up to what the lanes had read when the pass began, with a
 * consumer of its own (group "<cluster group>-park", assign only, never committing: the
 * cursors travel in the cluster group's commits), and sends them through a lane of its
 * own. Forwarding thread only. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

#include "relay/core/log.h"
#include "relay/deliver/fleet.h"
#include "relay/deliver/forward_int.h"
#include "health/health.h"
#include "relay/deliver/park.h"
#include "relay/deliver/sink.h"
#include "relay/kafka/kafka.h"

/* Parked points are tried again after 1 s, doubling up to this, and at once when the
 * cluster returns or executes a CREATE DATABASE. */
#define PARK_RETRY_MAX_MS 30000

static int64_t park_backoff_ms(int attempts)
{
    int64_t ms = 1000;
    for (int i = 1; i < attempts && ms < PARK_RETRY_MAX_MS; i++) ms *= 2;
    return ms < PARK_RETRY_MAX_MS ? ms : PARK_RETRY_MAX_MS;
}

/* 1 if every owned partition's commit metadata still fits with the parked keys. */
static int park_fits(const struct tsr_forwarder *f)
{
    for (int p = 0; p < f->nparts; p++) {
        char meta[TSR_PARK_META_MAX] = "";
        if (f->parts[p].owned && tsr_park_meta(&f->park, p, meta, sizeof(meta)) < 0) return 0;
    }
    return 1;
}

/* The cluster refused the sending batch for its database or retention policy alone:
 * park the key on every partition this relay delivers, from where each stands (what
 * the lanes hold of it is skipped from now on), and move the lane on. */
void fwd_park_batch(struct lane *l, const char *why, int64_t now_ms)
{
    struct tsr_forwarder *f = l->f;
    struct batch *b = l->sending;
    int known = tsr_park_find(&f->park, b->db, b->rp) != NULL;
    struct tsr_park_key *k = tsr_park_add(&f->park, b->db, b->rp, why, now_ms);
    int64_t saved[TSR_CKPT_MAX_PARTITIONS];
    if (k) {
        memcpy(saved, k->cursor, sizeof(saved));
        for (int p = 0; p < f->nparts; p++)
            if (f->parts[p].owned && k->cursor[p] < 0) {
                /* < 0: from the beginning; nothing of it has been delivered. */
                k->cursor[p] = f->parts[p].position >= 0 ? f->parts[p].position : 0;
                f->parts[p].dirty = 1;
            }
    }
    if (!k || !park_fits(f)) {
        if (k && !known) tsr_park_remove(&f->park, k);
        else if (k) memcpy(k->cursor, saved, sizeof(saved));
        b->attempts++;
        fwd_note_error(f, "too many databases parked to park '%s' too; waiting: %s", b->db, why);
        if (b->attempts == 1 || b->attempts % 10 == 0)
            tsr_warn("cluster '%s': %d databases parked already; the lane waits for '%s': %s",
                     f->cc->name, f->park.n, b->db, why);
        fwd_schedule_retry(l, tsr_backoff_ms(b->attempts, f->cc->retry_max_ms, -1));
        return;
    }
    snprintf(k->reason, sizeof(k->reason), "%.190s", why);
    if (!known) {
        k->next_try_ms = now_ms + park_backoff_ms(1);
        tsr_warn("cluster '%s': parked the points of database '%s'%s%s (the others go on): %s",
                 f->cc->name, b->db, *b->rp ? " retention policy " : "", b->rp, why);
    }
    fwd_note_error(f, "parked database '%s': %s", b->db, why);
    k->points += (uint64_t)b->points;
    f->st.points_parked += (uint64_t)b->points;
    b->points = 0;
    fwd_commit_soon(f);
    fwd_batch_done(l);
}

/* The drain's consumer reads no further on partition p in this pass. */
static void drain_end_partition(struct tsr_forwarder *f, int32_t p)
{
    f->drain_done[p] = 1;
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tl, f->env.cf->kafka_topic, p);
    rd_kafka_pause_partitions(f->drk, tl);
    rd_kafka_topic_partition_list_destroy(tl);
}

/* Ends the pass: the consumer lets go, the lane is emptied. */
void fwd_drain_stop(struct tsr_forwarder *f)
{
    if (f->drk) rd_kafka_assign(f->drk, NULL);
    f->draining = NULL;
    fwd_batch_free(&f->drain.filling);
    f->drain.filling = fwd_batch_new();
    if (f->drain.in_flight) f->drain.abandoned = 1;
    else fwd_batch_free(&f->drain.sending);
    evtimer_del(f->drain.retry_ev);
}

static int drain_open(struct tsr_forwarder *f, char *err, size_t errlen)
{
    if (f->drk) return 0;
    char group[200];
    tsr_fleet_group_name(f->env.cf, f->cc->name, group, sizeof(group));
    strncat(group, "-park", sizeof(group) - strlen(group) - 1);
    /* Never commits: the cursors travel in the cluster group's commits. */
    f->drk = tsr_kafka_consumer_new(f->env.cf, group, "earliest", 0, NULL, err, errlen);
    if (!f->drk) return -1;
    rd_kafka_poll_set_consumer(f->drk);
    f->dq = rd_kafka_queue_get_consumer(f->drk);
    rd_kafka_queue_io_event_enable(f->dq, f->wake_fds[1], "1", 1);
    return 0;
}

/* Every partition of k is delivered up to what the lanes have read: they send k's
 * points themselves from now on. */
static int drain_caught_up(const struct tsr_forwarder *f, const struct tsr_park_key *k)
{
    for (int p = 0; p < f->nparts; p++)
        if (k->cursor[p] >= 0 && f->parts[p].owned && k->cursor[p] < f->parts[p].fetched)
            return 0;
    return 1;
}

static void unpark(struct tsr_forwarder *f, struct tsr_park_key *k)
{
    tsr_info("cluster '%s': the parked points of database '%s'%s%s are delivered; it flows "
             "with the others again", f->cc->name, k->db, *k->rp ? " retention policy " : "",
             k->rp);
    tsr_park_remove(&f->park, k);
    for (int p = 0; p < f->nparts; p++) f->parts[p].dirty |= f->parts[p].owned;
    fwd_commit_soon(f);
}

/* Starts a pass over the parked key due first: from its cursors to what the lanes have
 * read by now. */
void fwd_drain_start(struct tsr_forwarder *f, int64_t now_ms)
{
    if (f->draining || f->park.n == 0 || f->stopping || f->handing_off || !f->rk) return;
    if (tsr_health_state(f->health) == TSR_CLUSTER_DOWN) return;
    struct tsr_park_key *k = NULL;
    for (int i = 0; i < TSR_PARK_MAX; i++) {
        struct tsr_park_key *c = &f->park.key[i];
        if (c->used && c->next_try_ms <= now_ms && (!k || c->next_try_ms < k->next_try_ms)) k = c;
    }
    if (!k) return;
    if (drain_caught_up(f, k)) {
        unpark(f, k);
        return;
    }
    char err[256];
    if (drain_open(f, err, sizeof(err)) != 0) {
        tsr_warn("cluster '%s': cannot read parked points: %s", f->cc->name, err);
        k->next_try_ms = now_ms + PARK_RETRY_MAX_MS;
        return;
    }
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(f->nparts);
    for (int p = 0; p < f->nparts; p++) {
        f->drain_done[p] = 1;
        f->drain_scanned[p] = -1;
        if (k->cursor[p] < 0 || !f->parts[p].owned || k->cursor[p] >= f->parts[p].fetched) continue;
        f->drain_done[p] = 0;
        f->drain_target[p] = f->parts[p].fetched;
        f->drain_scanned[p] = k->cursor[p];
        rd_kafka_topic_partition_list_add(tl, f->env.cf->kafka_topic, p)->offset = k->cursor[p];
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(f->drk, tl);
    /* A partition the last pass paused at its end stays paused across assignments. */
    if (!e) rd_kafka_resume_partitions(f->drk, tl);
    rd_kafka_topic_partition_list_destroy(tl);
    if (e) {
        tsr_warn("cluster '%s': cannot read parked points: %s", f->cc->name, rd_kafka_err2str(e));
        k->next_try_ms = now_ms + park_backoff_ms(++k->attempts);
        return;
    }
    f->draining = k;
    struct batch *b = f->drain.filling;
    snprintf(b->db, sizeof(b->db), "%s", k->db);
    snprintf(b->rp, sizeof(b->rp), "%s", k->rp);
    tsr_debug("cluster '%s': draining parked database '%s' (try %d)", f->cc->name, k->db,
              k->attempts + 1);
}

/* Reads the pass on while nothing of it is in flight, sends what it gathered, and ends
 * the pass once every partition reached its target. */
void fwd_drain_pull(struct tsr_forwarder *f)
{
    struct tsr_park_key *k = f->draining;
    struct lane *l = &f->drain;
    if (!k || l->sending || !f->drk) return;
    struct batch *b = l->filling;
    while (!fwd_batch_full(f, b)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(f->drk, 0);
        if (!m) break;
        int32_t p = m->partition;
        if (m->err || p < 0 || p >= f->nparts || f->drain_done[p] || m->offset < f->drain_scanned[p]) {
            if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                tsr_warn("cluster '%s': reading parked points: %s", f->cc->name,
                         rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->offset >= f->drain_target[p]) {
            rd_kafka_message_destroy(m);
            drain_end_partition(f, p);
            continue;
        }
        f->drain_scanned[p] = m->offset + 1;
        char db[256], rp[256], kind[32];
        tsr_kafka_header(m, "db", db, sizeof(db));
        tsr_kafka_header(m, "rp", rp, sizeof(rp));
        tsr_kafka_header(m, "kind", kind, sizeof(kind));
        if (!*kind && strcmp(db, k->db) == 0 && strcmp(rp, k->rp) == 0) {
            b->points += tsr_route_append(f->route, db, &b->body, m->payload, m->len);
            b->records++;
            b->touched[p] = 1;
        }
        if (f->drain_scanned[p] >= f->drain_target[p]) drain_end_partition(f, p);
        rd_kafka_message_destroy(m);
    }
    int all = 1;
    for (int p = 0; p < f->nparts && all; p++) all = f->drain_done[p];
    if (b->points > 0 && (all || fwd_batch_full(f, b))) {
        l->sending = b;
        l->filling = fwd_batch_new();
        fwd_send_batch(l);
        return;
    }
    if (!all) return;
    /* The pass is through: every point of k the lanes skipped so far is delivered. */
    for (int p = 0; p < f->nparts; p++)
        if (k->cursor[p] >= 0 && f->parts[p].owned && k->cursor[p] < f->drain_scanned[p]) {
            k->cursor[p] = f->drain_scanned[p];
            f->parts[p].dirty = 1;
        }
    fwd_commit_soon(f);
    fwd_drain_stop(f);
    k->attempts = 0;
    tsr_debug("cluster '%s': drain pass of '%s' through", f->cc->name, k->db);
    if (drain_caught_up(f, k)) unpark(f, k);
    else k->next_try_ms = 0; /* the lanes read on meanwhile: another pass at once */
}

/* A drain batch is delivered: the key's cursors move to what the pass has read. */
void fwd_drain_batch_done(struct lane *l)
{
    struct tsr_forwarder *f = l->f;
    struct batch *b = l->sending;
    struct tsr_park_key *k = f->draining;
    f->st.points_delivered += (uint64_t)b->points;
    f->st.points_unparked += (uint64_t)b->points;
    fwd_batch_free(&l->sending);
    if (!k) return;
    k->attempts = 0;
    /* Nothing more was read while this batch was out: all of k before drain_scanned is
     * delivered. drain_scanned is -1 on partitions outside the pass. */
    for (int p = 0; p < f->nparts; p++)
        if (k->cursor[p] >= 0 && f->parts[p].owned && f->drain_scanned[p] > k->cursor[p]) {
            k->cursor[p] = f->drain_scanned[p];
            f->parts[p].dirty = 1;
        }
    fwd_commit_soon(f);
    fwd_drain_pull(f);
}

/* The cluster still refuses the key: try again later. */
void fwd_drain_refused(struct lane *l, const char *why, int64_t now_ms)
{
    struct tsr_forwarder *f = l->f;
    struct tsr_park_key *k = f->draining;
    fwd_batch_free(&l->sending);
    if (!k) return;
    snprintf(k->reason, sizeof(k->reason), "%.190s", why);
    k->attempts++;
    k->next_try_ms = now_ms + park_backoff_ms(k->attempts);
    tsr_debug("cluster '%s': parked database '%s' still refused (try %d), next in %lld ms: %s",
              f->cc->name, k->db, k->attempts, (long long)(k->next_try_ms - now_ms), why);
    fwd_drain_stop(f);
}

/* Parked keys of db (NULL: every key) are tried again now: the cluster came back, or
 * created a database. */
void fwd_wake_parked(struct tsr_forwarder *f, const char *db)
{
    for (int i = 0; i < TSR_PARK_MAX; i++) {
        struct tsr_park_key *k = &f->park.key[i];
        if (k->used && (!db || strcmp(k->db, db) == 0)) k->next_try_ms = 0;
    }
}
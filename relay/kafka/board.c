#include "relay/kafka/board.h"

#include <event2/event.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "relay/core/log.h"
#include "relay/kafka/kafka.h"

#define MAX_LISTENERS 8
#define TICK_MS 250
/* The board holds small records (jobs, ledger intervals): a little read-ahead is plenty. */
#define READ_AHEAD (1 << 20)

struct listener {
    tsr_board_record_fn *rec;
    tsr_board_role_fn *role;
    void *opaque;
};

struct tsr_board {
    const struct tsr_config *cf;
    struct tsr_kafka *k;
    struct event_base *base;
    struct tsr_kafka_create *create; /* the topic's creation, while under way */
    int created;
    rd_kafka_t *reader;  /* reads partition 0 from the beginning, then follows it */
    rd_kafka_queue_t *reader_q;
    int64_t next_offset; /* of the reader */
    int caught_up;
    rd_kafka_t *elector; /* the election: a member of tsrelay-<dc>-fleet */
    rd_kafka_queue_t *elector_q;
    int elected;         /* the group assigned partition 0 to this relay */
    atomic_int coordinator;
    int closing;
    int wake_fds[2];
    struct event *wake_ev, *tick_ev;
    struct listener ls[MAX_LISTENERS];
    int nls;
};

static void set_role(struct tsr_board *b)
{
    int now = b->elected && b->caught_up && !b->closing;
    if (now == atomic_load(&b->coordinator)) return;
    atomic_store(&b->coordinator, now);
    tsr_info("fleet: this relay ('%s') %s the coordinator (replay jobs, ledger, rewinds)",
             b->cf->instance, now ? "is now" : "is no longer");
    for (int i = 0; i < b->nls; i++)
        if (b->ls[i].role) b->ls[i].role(b->ls[i].opaque, now);
}

static void deliver(struct tsr_board *b, const rd_kafka_message_t *m)
{
    char key[256];
    size_t n = m->key_len < sizeof(key) - 1 ? m->key_len : sizeof(key) - 1;
    if (!m->key || !n) return;
    memcpy(key, m->key, n);
    key[n] = '\0';
    for (int i = 0; i < b->nls; i++)
        if (b->ls[i].rec) b->ls[i].rec(b->ls[i].opaque, key, m->payload, m->len);
}

/* Caught up once the reader's position reaches the end the broker last reported. */
static void check_caught_up(struct tsr_board *b)
{
    if (b->caught_up || !b->reader) return;
    int64_t lo = -1, hi = -1;
    rd_kafka_get_watermark_offsets(b->reader, b->cf->kafka_fleet_topic, 0, &lo, &hi);
    if (hi < 0 || b->next_offset < hi) return;
    b->caught_up = 1;
    tsr_info("fleet: read the board '%s' to its end (%lld records)", b->cf->kafka_fleet_topic,
             (long long)hi);
}

static void serve_reader(struct tsr_board *b)
{
    if (!b->reader) return;
    rd_kafka_message_t *m;
    while ((m = rd_kafka_consumer_poll(b->reader, 0))) {
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                tsr_warn("fleet: reading '%s': %s", b->cf->kafka_fleet_topic,
                         rd_kafka_message_errstr(m));
        } else {
            b->next_offset = m->offset + 1;
            deliver(b, m);
        }
        rd_kafka_message_destroy(m);
    }
    check_caught_up(b);
}

static void on_elect(rd_kafka_t *rk, int err, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct tsr_board *b = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && !b->closing) {
        rd_kafka_assign(rk, parts);
        /* The assignment is the point; the records are read by the reader. */
        rd_kafka_pause_partitions(rk, parts);
        int has0 = 0;
        for (int i = 0; i < parts->cnt; i++) has0 |= parts->elems[i].partition == 0;
        b->elected = has0;
    } else {
        b->elected = 0;
        rd_kafka_assign(rk, NULL);
    }
    set_role(b);
}

static void serve_elector(struct tsr_board *b)
{
    if (!b->elector) return;
    rd_kafka_message_t *m;
    while ((m = rd_kafka_consumer_poll(b->elector, 0))) {
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            tsr_debug("fleet: election: %s", rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
    }
}

static rd_kafka_queue_t *wire(struct tsr_board *b, rd_kafka_t *rk)
{
    /* Errors and logs come through the consumer queue, which wakes the loop. */
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
    rd_kafka_queue_io_event_enable(q, b->wake_fds[1], "1", 1);
    return q;
}

static int join_election(struct tsr_board *b, char *err, size_t errlen);

static void close_elector(struct tsr_board *b)
{
    if (b->elector_q) rd_kafka_queue_destroy(b->elector_q);
    b->elector_q = NULL;
    if (b->elector) {
        /* A static member stays in the group: a restart within the session timeout is
         * the coordinator again without an election. */
        rd_kafka_consumer_close(b->elector);
        rd_kafka_destroy(b->elector);
    }
    b->elector = NULL;
    b->elected = 0;
}

/* Fenced (its session expired while Kafka was away, and librdkafka rejoined under a
 * new member id): a new member under the same instance replaces the old one. */
static void rejoin_if_fatal(struct tsr_board *b)
{
    char why[256], err[256];
    if (!b->elector || !rd_kafka_fatal_error(b->elector, why, sizeof(why))) return;
    tsr_error("fleet: the election's consumer is unusable: %s; joining again", why);
    close_elector(b);
    set_role(b);
    if (join_election(b, err, sizeof(err)) != 0) tsr_error("fleet: %s", err);
}

/* Once the topic exists: the reader from offset 0, and the election. */
static int start_reading(struct tsr_board *b, char *err, size_t errlen)
{
    const struct tsr_config *cf = b->cf;
    char group[200];
    snprintf(group, sizeof(group), "tsrelay-%s-fleet-reader-%s", cf->datacenter, cf->instance);
    b->reader = tsr_kafka_consumer_new(cf, group, "earliest", READ_AHEAD, NULL, err, errlen);
    if (!b->reader) return -1;
    b->reader_q = wire(b, b->reader);
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tl, cf->kafka_fleet_topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t e = rd_kafka_assign(b->reader, tl);
    rd_kafka_topic_partition_list_destroy(tl);
    if (e) {
        snprintf(err, errlen, "cannot read '%s': %s", cf->kafka_fleet_topic, rd_kafka_err2str(e));
        return -1;
    }
    return join_election(b, err, errlen);
}

static int join_election(struct tsr_board *b, char *err, size_t errlen)
{
    const struct tsr_config *cf = b->cf;
    char group[200];
    rd_kafka_topic_partition_list_t *tl;
    rd_kafka_resp_err_t e;
    snprintf(group, sizeof(group), "tsrelay-%s-fleet", cf->datacenter);
    struct tsr_kafka_member mb = {
        .instance_id = cf->instance,
        .rebalance = (void (*)(struct rd_kafka_s *, int, struct rd_kafka_topic_partition_list_s *,
                               void *))on_elect,
        .opaque = b};
    b->elector = tsr_kafka_consumer_new(cf, group, "earliest", READ_AHEAD, &mb, err, errlen);
    if (!b->elector) return -1;
    b->elector_q = wire(b, b->elector);
    tl = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tl, cf->kafka_fleet_topic, RD_KAFKA_PARTITION_UA);
    e = rd_kafka_subscribe(b->elector, tl);
    rd_kafka_topic_partition_list_destroy(tl);
    if (e) {
        snprintf(err, errlen, "cannot join the election on '%s': %s", cf->kafka_fleet_topic,
                 rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_board *b = arg;
    char err[256];
    if (!b->created && tsr_kafka_partitions(b->k) > 0) {
        /* After the main topic is known: Kafka is reachable, so the request is answered. */
        int rc = tsr_kafka_fleet_create(b->k, b->cf->kafka_fleet_topic, &b->create, err, sizeof(err));
        if (rc < 0) tsr_warn("fleet: %s; retrying", err);
        if (rc == 0) {
            b->created = 1;
            if (start_reading(b, err, sizeof(err)) != 0) tsr_error("fleet: %s", err);
        }
    }
    serve_reader(b);
    serve_elector(b);
    rejoin_if_fatal(b);
    set_role(b);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    char drain[64];
    while (read(fd, drain, sizeof(drain)) > 0) {
    }
    struct tsr_board *b = arg;
    serve_reader(b);
    serve_elector(b);
    set_role(b);
}

int tsr_board_new(const struct tsr_config *cf, struct tsr_kafka *k, struct event_base *base,
                  struct tsr_board **bp, char *err, size_t errlen)
{
    struct tsr_board *b = calloc(1, sizeof(*b));
    if (!b) abort();
    b->cf = cf;
    b->k = k;
    b->base = base;
    b->wake_fds[0] = b->wake_fds[1] = -1;
    if (pipe2(b->wake_fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(err, errlen, "cannot create the fleet board's wake-up pipe");
        tsr_board_free(&b);
        return -1;
    }
    b->wake_ev = event_new(base, b->wake_fds[0], EV_READ | EV_PERSIST, on_wake, b);
    b->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, b);
    struct timeval tv = {0, TICK_MS * 1000};
    event_add(b->wake_ev, NULL);
    event_add(b->tick_ev, &tv);
    *bp = b;
    return 0;
}

void tsr_board_listen(struct tsr_board *b, tsr_board_record_fn *rec, tsr_board_role_fn *role,
                      void *opaque)
{
    if (b->nls >= MAX_LISTENERS) abort(); /* a programming error: raise MAX_LISTENERS */
    b->ls[b->nls++] = (struct listener){rec, role, opaque};
}

int tsr_board_coordinator(const struct tsr_board *b)
{
    return b ? atomic_load(&b->coordinator) : 0;
}

int tsr_board_caught_up(const struct tsr_board *b)
{
    return b && b->caught_up;
}

int tsr_board_put(struct tsr_board *b, const char *key, const char *val, size_t len)
{
    return tsr_kafka_fleet_put(b->k, key, val, len);
}

void tsr_board_free(struct tsr_board **bp)
{
    struct tsr_board *b = *bp;
    if (!b) return;
    b->closing = 1;
    set_role(b);
    if (b->tick_ev) event_free(b->tick_ev);
    if (b->wake_ev) event_free(b->wake_ev);
    tsr_kafka_fleet_create_free(&b->create);
    close_elector(b);
    if (b->reader_q) rd_kafka_queue_destroy(b->reader_q);
    if (b->reader) {
        rd_kafka_consumer_close(b->reader);
        rd_kafka_destroy(b->reader);
    }
    if (b->wake_fds[0] >= 0) close(b->wake_fds[0]);
    if (b->wake_fds[1] >= 0) close(b->wake_fds[1]);
    free(b);
    *bp = NULL;
}

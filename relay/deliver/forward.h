/* relay/deliver/forward.h — one forwarder per downstream cluster: Kafka topic -> cluster.
 *
 * Owns, per cluster: a librdkafka consumer, member of the cluster's consumer group
 * (`tsrelay-<datacenter>-<cluster>`), which splits the topic's partitions among the
 * relays of the fleet: this relay delivers only the partitions the group assigns it.
 * Positions are the group's committed offsets, so the relay that takes a partition over
 * continues where the cluster acknowledged; LMDB (relay/deliver/ckpt.h) keeps a local
 * copy, and is where a relay upgraded from before the fleet finds its positions. Also
 * the batches being built and sent, retries and their backoff, the cluster's health
 * (health/health.h) and prober, and the out-of-sync ledger entries.
 *
 * Handoff: a rebalance (eager: every partition is revoked at once) or SIGTERM stops
 * reading, drops the batches not yet sent, lets requests in flight finish (up to
 * HANDOFF_MS), commits the positions, then releases the partitions. Each commit carries
 * in its metadata the end of the request in flight for the partition, so a relay that
 * takes over from one that died knows which records may have been delivered already and
 * counts them (points_resent).
 *
 * Order and delivery: partitions are spread over max_inflight lanes; a lane has at most
 * one write request in flight and sends its batches in offset order, so a series (one
 * partition) stays in order while several requests per cluster are in flight. A
 * position advances, and is checkpointed, only when the TSDB accepted the batch (2xx),
 * or rejected some of its lines (400: those lines go to the dead-letter topic, found by
 * splitting the batch until the rejected lines stand alone). 404 "database not found",
 * 429, 5xx and transport errors are retried with capped exponential backoff (honouring
 * Retry-After); data is never skipped. A cluster back from down gets what it was sent
 * in the recovery_rewind_ms before the outage once more, through a replay job (its own
 * cursor: live catch-up goes on untouched). With fresh_first_after_ms, a cluster whose
 * backlog is older than that gets the newest records first and the backlog behind, from
 * a second cursor (relay/deliver/fill.c). When Kafka retention has deleted records past a
 * position, the forwarder logs the exact gap, records it in the ledger and moves on.
 * Memory is bounded: a lane holds at most two batches, and librdkafka's prefetch is
 * capped; the backlog stays in Kafka.
 *
 * Threads: everything on the forwarding thread (relay/deliver/delivery.h). */
#ifndef TSR_FORWARD_H
#define TSR_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "relay/deliver/ckpt.h"
#include "relay/deliver/park.h"
#include "health/health.h"
#include "relay/core/metrics.h"

struct event_base;
struct tsr_ckpt;
struct tsr_config;
struct tsr_cluster_conf;
struct tsr_httpc;
struct tsr_kafka;
struct tsr_forwarder;
struct tsr_fleet;
struct tsr_board;

/* Re-sends offsets [from[p], to[p]) of each of nparts partitions to cluster, as a job
 * of the replay layer (replay/replay.h): how a forwarder re-sends the window before an
 * outage. A callback, so that deliver/ never includes replay/. Returns the job id, 0 if
 * nothing was started. Forwarding thread. */
typedef uint64_t tsr_fwd_resend_fn(void *opaque, const char *cluster, const int64_t *from,
                                   const int64_t *to, int nparts, int64_t since_ms,
                                   int64_t until_ms, const char *why);

/* What the forwarders of one thread share. Borrowed by every forwarder. */
struct tsr_fwd_env {
    struct event_base *base;
    struct tsr_httpc *hc;
    struct tsr_ckpt *ck;
    struct tsr_kafka *k; /* the producer: dead-letter topic, partition count, offsets by time */
    struct tsr_fleet *fleet;   /* the whole cluster's positions (relay/deliver/fleet.h) */
    struct tsr_board *board;   /* the fleet's records and coordinator (relay/kafka/board.h) */
    tsr_fwd_resend_fn *resend; /* NULL: no rewind after an outage */
    void *resend_opaque;
    const struct tsr_config *cf;
};

/* A copy of a forwarder's state for /status and /metrics (read on another thread). */
struct tsr_cluster_status {
    char name[72];
    char type[24];
    enum tsr_cluster_state state;
    char reason[256];
    int64_t since_ms;       /* when it entered this state */
    int64_t lag_ms;         /* age of the oldest point not yet delivered */
    int64_t lag_records;    /* Kafka records not yet delivered */
    int64_t lag_points;     /* estimated: lag_records x mean points per record */
    int nparts;
    int64_t position[TSR_CKPT_MAX_PARTITIONS]; /* next offset to deliver */
    int64_t high[TSR_CKPT_MAX_PARTITIONS];     /* high watermark last seen, -1 unknown */
    char owner[TSR_CKPT_MAX_PARTITIONS][48];   /* the instance delivering it, "" unknown */
    int fleet_view;            /* lag and positions cover every partition, not only ours */
    int nurls;
    char url_up[64];
    uint64_t points_delivered;
    uint64_t records_delivered;
    uint64_t requests_ok;
    uint64_t requests_failed;
    uint64_t retries;
    uint64_t points_rejected;  /* dead-lettered after a 400 */
    uint64_t gap_records;      /* lost to Kafka retention before delivery */
    /* The fleet: this relay delivers the partitions marked in owned[] (its share in the
     * cluster's consumer group). */
    int64_t partitions_owned;
    unsigned char owned[TSR_CKPT_MAX_PARTITIONS];
    uint64_t rebalances;       /* assignments received */
    uint64_t points_resent;    /* read again after a takeover: maybe sent twice */
    /* Parked keys (relay/deliver/park.h): the databases this cluster refuses for now. */
    uint64_t points_parked;    /* skipped by the lanes, left for a drain */
    uint64_t points_unparked;  /* delivered by a drain */
    int nparked;
    struct tsr_parked_status {
        char db[128];
        char rp[128];
        char reason[200];
        int64_t since_ms;
        uint64_t points; /* parked since this relay parked it or took its partitions */
        int attempts;    /* drains refused since the last success */
    } parked[TSR_PARK_MAX];
    /* Fresh first (relay/deliver/fill.c): the backlog behind the lanes. */
    uint64_t fills;            /* jumps to the newest records */
    int64_t fill_since_ms;     /* of the last jump */
    uint64_t points_filled;    /* delivered by the fill */
    uint64_t points_refilled;  /* sent again after the backlog, so a later write wins */
    int fill_partitions;       /* with a fill running here */
    int64_t fill_records;      /* of backlog left */
    int64_t fill_at[TSR_CKPT_MAX_PARTITIONS]; /* the fill's next offset, -1 none */
    int64_t fill_to[TSR_CKPT_MAX_PARTITIONS]; /* where its backlog ends (the lanes began) */
    uint64_t latency_count[TSR_LATENCY_BUCKETS + 1];
    double latency_sum_s;
    char last_error[256];
    int64_t last_error_ms;
};

/* Starts forwarding to cc from its checkpoints. Returns 0, or -1 with err set. */
int tsr_forwarder_new(const struct tsr_fwd_env *env, const struct tsr_cluster_conf *cc,
                      struct tsr_forwarder **fp, char *err, size_t errlen);
/* Stops reading from Kafka; requests in flight may finish. */
void tsr_forwarder_stop(struct tsr_forwarder *f);
/* Write requests in flight. */
int tsr_forwarder_busy(const struct tsr_forwarder *f);
/* Closes the consumer and frees; *fp becomes NULL. The httpc must have been freed
 * first (its cancelled requests call back into the forwarder). */
void tsr_forwarder_free(struct tsr_forwarder **fp);
void tsr_forwarder_status(const struct tsr_forwarder *f, struct tsr_cluster_status *st);

#endif

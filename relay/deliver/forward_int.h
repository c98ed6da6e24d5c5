/* relay/deliver/forward_int.h — the forwarder's insides, shared by the files that make
 * it up: forward.c (lanes, batches, requests, the consumer group), drain.c (parked keys
 * and their drain) and fill.c (fresh first: the backlog behind the new points). Nothing
 * else includes it. Everything here belongs to the forwarding thread. */
#ifndef TSR_FORWARD_INT_H
#define TSR_FORWARD_INT_H

#include <event2/event.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "relay/core/buf.h"
#include "relay/core/pace.h"
#include "relay/deliver/ckpt.h"
#include "relay/deliver/fleet.h"
#include "relay/deliver/forward.h"
#include "relay/deliver/park.h"
#include "relay/deliver/route.h"

#define MAX_LANES 64

/* A slice of a batch's body sent as one request: the whole body, or part of it while
 * rejected lines are being isolated. */
struct range {
    size_t off, len;
    long lines;
};

struct batch {
    struct tsr_buf body; /* '\n'-terminated lines, in offset order */
    struct tsr_buf gz;   /* the range being sent, compressed */
    long points;
    long records;
    char db[256];
    char rp[256];
    /* Where each partition stands once this batch is delivered. */
    int64_t next_offset[TSR_CKPT_MAX_PARTITIONS];
    int64_t last_ts_ms[TSR_CKPT_MAX_PARTITIONS];
    int64_t first_ts_ms_of[TSR_CKPT_MAX_PARTITIONS]; /* oldest record of each partition */
    unsigned char touched[TSR_CKPT_MAX_PARTITIONS];
    struct range *ranges; /* pending ranges, sent front to back */
    size_t nranges;
    int requests;         /* sent for this batch, for the bisection budget */
    int attempts;         /* failed tries of the current range, for backoff */
    int statement;        /* body is one InfluxQL statement, not points */
    int create_tried;     /* create_database: a CREATE DATABASE went out for it */
};

struct lane {
    struct tsr_forwarder *f;
    struct batch *filling;     /* being built */
    struct batch *sending;     /* in flight, waiting for a retry, or NULL */
    rd_kafka_message_t *held;  /* read but did not fit in filling */
    struct tsr_buf spare;      /* the body of the last delivered batch, for the next one */
    struct event *retry_ev;
    int in_flight;
    int abandoned; /* the request in flight belongs to partitions handed off */
    int url;
};

struct part {
    rd_kafka_queue_t *q;
    int owned;          /* the group assigned this partition to this relay */
    int dirty;          /* position or sent_to changed since the last commit */
    int64_t sent_to;    /* end of what was sent for it; > position while in flight */
    int64_t resend_until; /* taken over: records before this may have been delivered */
    int64_t position;   /* next offset to deliver; < 0: from the beginning */
    int64_t fetched;    /* offset after the last message read */
    int64_t last_ts_ms; /* of the last delivered record */
    int64_t unknown_since_ms; /* a backlog of unknown age was first seen then */
    /* A consumer replaced after a fatal error may not have committed what it delivered
     * (a fenced member's commits fail): its position and the end of what it sent, for
     * its successor in this process; kept_position -1 when there is none. */
    int64_t kept_position;
    int64_t kept_sent_to;
    /* Fresh first (relay/deliver/fill.c): records [fill_at, fill_to) are the backlog
     * the fill delivers behind the lanes (which start at fill_to); then [fill_to,
     * fill_end) is passed again for the points of their own time at or before fill_max
     * (fill_end is 0 until the backlog is through). fill_at -1: no fill. */
    int64_t fill_at;
    int64_t fill_to;
    int64_t fill_end;
    int64_t fill_max_ns;
    int64_t fill_scanned;     /* after the last record the fill read */
    int64_t fill_last_ts_ms;  /* Kafka time of the last record it delivered */
};

struct tsr_forwarder {
    struct tsr_fwd_env env;
    const struct tsr_cluster_conf *cc;
    struct tsr_route *route; /* its databases and rules; NULL: everything as it is */
    rd_kafka_t *rk;
    int wake_fds[2];
    struct event *wake_ev;
    struct event *tick_ev;
    int nparts;
    struct part parts[TSR_CKPT_MAX_PARTITIONS];
    int nlanes;
    struct lane lanes[MAX_LANES];
    struct tsr_health *health;
    struct tsr_prober *prober;
    char *authorization;
    struct tsr_bucket bucket; /* catchup_rate */
    int stopping;
    uint64_t ledger_id; /* open outage interval, 0 if none */
    int64_t down_since_ms; /* when the cluster was last seen going down */
    int64_t down_position[TSR_CKPT_MAX_PARTITIONS]; /* positions at that moment */
    int rewind_pending;    /* back from down: resend the window before the outage */
    int reading_paused;    /* down: nothing is fetched, so no read-ahead is held */
    struct event *recover_ev; /* acts on a return from down, outside the callback that saw it */
    rd_kafka_queue_t *cq;      /* the consumer queue: rebalances and errors */
    struct event *commit_ev;   /* commits the dirty positions after the current callback */
    struct event *handoff_ev;  /* waits for the requests in flight of a handoff */
    int index;                   /* of cc in cf->clusters: its fleet view */
    struct tsr_fleet_cluster *fv; /* the fleet view, as last read */
    int handing_off;
    int closing; /* in rd_kafka_consumer_close: rebalances only release */
    int was_coordinator;          /* of the fleet, at the last tick */
    int64_t reopen_after_ms;      /* a consumer found unusable is replaced after this */
    int64_t handoff_deadline_ns;
    /* Parked keys (relay/deliver/park.h) and their drain: one key at a time, read again
     * from its cursors by a consumer of its own, sent through a lane of its own. */
    struct tsr_park park;
    struct lane drain;
    rd_kafka_t *drk;
    rd_kafka_queue_t *dq;
    struct tsr_park_key *draining;
    int64_t drain_target[TSR_CKPT_MAX_PARTITIONS];  /* the lanes' read frontier at the start */
    int64_t drain_scanned[TSR_CKPT_MAX_PARTITIONS]; /* after the last record read */
    unsigned char drain_done[TSR_CKPT_MAX_PARTITIONS];
    /* Fresh first: the backlog behind the lanes, read by a consumer of its own and sent
     * through a lane of its own at catchup_rate. jumping: the lanes wait for their
     * requests in flight before they move to the newest records. */
    struct lane fill;
    rd_kafka_t *frk;
    rd_kafka_queue_t *fq;
    int jumping;
    struct tsr_cluster_status st;
};


/* forward.c */
/* Adds message m to the lane's filling batch, its payload or, when payload is not NULL,
 * the lines given instead (a subset of its lines): 0 taken (m destroyed), -1 the batch
 * must be sent first (m kept). */
int fwd_take(struct lane *l, rd_kafka_message_t *m, const char *payload, size_t len);
/* The lane's batch reaches past m, whose points it does not send; m is destroyed. */
void fwd_pass_over(struct lane *l, rd_kafka_message_t *m);
/* Assigns the owned partitions to the lanes' consumer again, each at fetched. */
int fwd_reassign(struct tsr_forwarder *f, char *err, size_t errlen);
/* High watermark of partition p as last seen, or what this relay produced if more;
 * *lo (if lo) the low watermark last seen, -1 unknown. */
int64_t fwd_high(const struct tsr_forwarder *f, int32_t p, int64_t *lo);
/* 1 with *t the Kafka time of the oldest record of p its lane holds, 0 if it holds none. */
int fwd_lanes_oldest(const struct tsr_forwarder *f, int32_t p, int64_t *t);
struct batch *fwd_batch_new(void);
void fwd_batch_free(struct batch **bp);
int fwd_batch_full(const struct tsr_forwarder *f, const struct batch *b);
/* Everything in the lane's sending batch is delivered (or dead-lettered, or parked). */
void fwd_batch_done(struct lane *l);
void fwd_send_batch(struct lane *l);
void fwd_schedule_retry(struct lane *l, int64_t delay_ms);
/* Commits the dirty positions after the current callback. */
void fwd_commit_soon(struct tsr_forwarder *f);
/* Sets the cluster's last_error (shown in /status). */
void fwd_note_error(struct tsr_forwarder *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* drain.c */
/* The cluster refused the lane's sending batch for its database (or retention policy)
 * alone: parks the key (or the lane waits, when no more keys fit) and moves on. */
void fwd_park_batch(struct lane *l, const char *why, int64_t now_ms);
/* Starts a pass over the parked key due first, if any and none runs. */
void fwd_drain_start(struct tsr_forwarder *f, int64_t now_ms);
/* Reads the running pass on and sends what it gathered. */
void fwd_drain_pull(struct tsr_forwarder *f);
/* Ends the running pass (handoff, stop): its consumer lets go, its lane is emptied. */
void fwd_drain_stop(struct tsr_forwarder *f);
/* A drain batch is delivered: the key's cursors move on. */
void fwd_drain_batch_done(struct lane *l);
/* The cluster still refuses the key: the pass ends, the key is tried again later. */
void fwd_drain_refused(struct lane *l, const char *why, int64_t now_ms);
/* Parked keys of db (NULL: all) are tried again at the next tick. */
void fwd_wake_parked(struct tsr_forwarder *f, const char *db);

/* fill.c: fresh first */
/* Partitions with a fill running on this relay. */
int fwd_fill_count(const struct tsr_forwarder *f);
/* Each tick: starts the jump when the oldest undelivered point is older than
 * fresh_first_after_ms, ends it once the lanes' requests in flight are answered. */
void fwd_fill_tick(struct tsr_forwarder *f, int64_t now_ms);
/* Reads the fill on and sends what it gathered. */
void fwd_fill_pull(struct tsr_forwarder *f);
/* Assigns the fill's consumer the partitions whose fill runs, each where it stands. */
void fwd_fill_assign(struct tsr_forwarder *f);
/* A fill batch is delivered: its cursors move on. */
void fwd_fill_batch_done(struct lane *l);
/* Drops the fill's unsent batches (handoff, fatal consumer); one in flight is
 * abandoned. The fill positions stay, for the commit. */
void fwd_fill_stop(struct tsr_forwarder *f);
/* Forgets every fill (the partitions went to another owner with the commit). */
void fwd_fill_forget(struct tsr_forwarder *f);
/* Appends " fill=AT:TO:END:MAX live=POSITION" for partition p when its fill runs. */
void fwd_fill_meta(const struct tsr_forwarder *f, int32_t p, char *meta, size_t len);
/* Takes a fill over from the commit metadata of partition p (its committed offset is
 * where the fill stands): 1 if there was one (position set to live=), else 0. */
int fwd_fill_parse_meta(struct tsr_forwarder *f, int32_t p, int64_t committed, const char *meta);
/* The offset the group's commit names for p: where the backlog stands while it fills. */
int64_t fwd_fill_commit_offset(const struct tsr_forwarder *f, int32_t p);

#endif

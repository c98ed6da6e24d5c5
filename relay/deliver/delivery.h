/* relay/deliver/delivery.h — the forwarding thread: every cluster's forwarder on one event
 * loop of its own, so delivery never slows ingest (which has the main loop), and a
 * slow or dead cluster never slows another (everything on the loop is asynchronous).
 *
 * Owns: the thread, its event_base, the HTTP client all forwarders share, the LMDB
 * store (relay/deliver/ckpt.h), the fleet's board on this loop (relay/kafka/board.h)
 * with the shared ledger it carries (relay/deliver/ledger_share.h), the fleet view
 * (relay/deliver/fleet.h, a thread of its own), the forwarders, the replay runner, and
 * a snapshot of their status that other threads read (refreshed every 250 ms under a
 * mutex).
 * Start, status and stop may be called from the main thread. Requests cross threads in
 * both directions, so evthread_use_pthreads() must have run before any event base was
 * made (main does it first). */
#ifndef TSR_DELIVERY_H
#define TSR_DELIVERY_H

#include <stddef.h>

#include "relay/core/buf.h"
#include "relay/deliver/forward.h"

struct event_base;

struct tsr_config;
struct tsr_kafka;
struct tsr_delivery;

/* What runs beside the forwarders on the forwarding thread: the replay jobs
 * (replay/replay.h provides tsr_replay_runner). An interface declared here, so that the
 * dependency points one way (replay -> deliver). Every function runs on the forwarding
 * thread, except open, which runs before the thread starts. */
struct tsr_replayer;
struct tsr_delivery_runner {
    /* Opens the runner with the forwarders' environment (borrowed, outlives it). */
    int (*open)(const struct tsr_fwd_env *env, struct tsr_replayer **rp, char *err,
                size_t errlen);
    /* Records where every job is and frees; *rp becomes NULL. */
    void (*close)(struct tsr_replayer **rp);
    int (*busy)(const struct tsr_replayer *r);    /* write requests in flight */
    void (*stop)(struct tsr_replayer *r);         /* stop sending: shutdown */
    void (*list)(struct tsr_replayer *r, struct tsr_buf *out); /* unfinished jobs, JSON */
    tsr_fwd_resend_fn *resend;                    /* opaque: the runner */
};

/* Opens the state store, creates a forwarder per cluster in cf, opens runner (may be
 * NULL) and starts the thread. Borrows cf, k (the dead-letter topic, the partition
 * count) and runner, which must outlive it. Returns 0, or -1 with err set. */
int tsr_delivery_start(const struct tsr_config *cf, struct tsr_kafka *k,
                       const struct tsr_delivery_runner *runner, struct tsr_delivery **dp,
                       char *err, size_t errlen);

/* Copies the status of up to max clusters into out (config order); returns how many. */
int tsr_delivery_status(struct tsr_delivery *d, struct tsr_cluster_status *out, int max);

/* Runs work(d's replayer, arg) on the forwarding thread, then done(arg) on reply_base's
 * loop: how the admin endpoint drives replay jobs without blocking ingest. */
typedef void tsr_delivery_work_fn(struct tsr_replayer *r, void *arg);
typedef void tsr_delivery_done_fn(void *arg);
void tsr_delivery_run(struct tsr_delivery *d, tsr_delivery_work_fn *work, void *arg,
                      struct event_base *reply_base, tsr_delivery_done_fn *done);

/* Appends the JSON array of unfinished replay jobs (refreshed every 250 ms). */
void tsr_delivery_replays(struct tsr_delivery *d, struct tsr_buf *out);

/* 1 while this relay is the fleet's coordinator (relay/kafka/board.h). Any thread. */
int tsr_delivery_coordinator(struct tsr_delivery *d);

/* The state store, for reading the ledger (reads are safe from any thread). */
struct tsr_ckpt *tsr_delivery_ckpt(struct tsr_delivery *d);

/* Stops reading from Kafka, lets requests in flight finish (up to 5 s), checkpoints,
 * joins the thread and frees everything; *dp becomes NULL. */
void tsr_delivery_stop(struct tsr_delivery **dp);

#endif

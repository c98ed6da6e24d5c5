/* relay/kafka/durable.h — where a write becomes durable: Kafka, or the spool while Kafka
 * cannot take it.
 *
 * Owns: the choice between the two, and the drain. A record goes to Kafka while Kafka
 * takes writes and the spool is empty. It goes to the spool (relay/kafka/spool.h) when
 * no broker is reachable, when Kafka failed a write (too few in-sync replicas, the
 * message timeout), and for as long as the spool holds anything: new writes queue behind
 * what is spooled, so each series keeps its order. Once Kafka takes writes again the
 * spool drains into it, oldest first; each record leaves the spool when Kafka confirms
 * it. A record Kafka refuses for itself (too large, corrupt) is dead-lettered rather than
 * left to block the spool.
 *
 * A record Kafka failed after sending it may be in Kafka as well: spooling it again
 * risks a duplicate, never a loss (the TSDBs store the same point, same timestamp, once).
 *
 * Threads: the event-loop thread of base, where every done callback runs. */
#ifndef TSR_DURABLE_H
#define TSR_DURABLE_H

#include <stddef.h>
#include <stdint.h>

#include "relay/kafka/kafka.h"

struct event_base;
struct tsr_config;
struct tsr_durable;

/* Opens the spool (spool.enabled) under cf->state_dir and starts draining what an
 * earlier run left. Borrows cf and k. Returns 0, or -1 with err set. *dp is the
 * caller's: tsr_durable_free. */
int tsr_durable_new(const struct tsr_config *cf, struct event_base *base, struct tsr_kafka *k,
                    struct tsr_durable **dp, char *err, size_t errlen);

/* Shutdown, in three steps (after waiting for tsr_durable_draining, if it may):
 * tsr_durable_stop ends the drain (what is spooled stays for the next start); then tsr_kafka_free flushes the producer, whose failures are still
 * spooled; then tsr_durable_free commits the spool, runs the last done callbacks and
 * sets *dp to NULL. */
void tsr_durable_stop(struct tsr_durable *d);
void tsr_durable_free(struct tsr_durable **dp);

/* 1 while the spool holds records and Kafka takes them: a shutdown waits for it. */
int tsr_durable_draining(const struct tsr_durable *d);

/* Bytes of writes in memory until they are durable: in Kafka's hands, or waiting for a
 * spool commit. The backpressure signal. */
int64_t tsr_durable_inflight_bytes(const struct tsr_durable *d);

/* NULL while a write can be taken (by Kafka or the spool); else why not, for a 503. */
const char *tsr_durable_refusal(const struct tsr_durable *d);

/* The partitions to spread a write over: Kafka's count, or while Kafka's is unknown
 * the last one the spool saw, else kafka.partitions. Never 0. */
int tsr_durable_partitions(struct tsr_durable *d);

/* Makes payload[0..len) durable for partition. Same contract as tsr_kafka_produce: the
 * caller keeps payload alive until done runs (exactly once, later, err 0 once it is in
 * Kafka or the spool); on -1 done is never called and *why says why. */
int tsr_durable_put(struct tsr_durable *d, int32_t partition, const char *payload, size_t len,
                    const struct tsr_kafka_hdrs *hdrs, tsr_kafka_done_fn *done, void *opaque,
                    const char **why);

struct tsr_durable_status {
    int enabled;          /* spool.enabled */
    const char *state;    /* "off", "empty", "spooling", "draining" */
    int64_t records, bytes, max_bytes;
    double oldest_age_s;  /* 0 when empty */
    uint64_t spooled;     /* records made durable in the spool */
    uint64_t refused;     /* appends refused: full, or a disk or LMDB error */
    uint64_t drained, drained_bytes; /* records Kafka confirmed out of the spool */
    uint64_t dead_lettered; /* records Kafka refused for themselves */
    double drain_rate;    /* records per second, over the last 10 s */
    double drain_bytes_rate;
    uint64_t commits;
    double commit_s;
};
void tsr_durable_status(struct tsr_durable *d, struct tsr_durable_status *out);

#endif

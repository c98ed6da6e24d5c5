/* relay/ingest/unacked.h — the records of a listener whose senders get no answer
 * (Graphite over TCP and UDP, line protocol over UDP).
 *
 * Owns: normalised lines grouped by partition into records (relay/ingest/batch.h),
 * produced when one is full or after a short linger, and kept until Kafka (or the
 * spool) confirms them: there is no client to tell, so a record that failed is produced
 * again a second later, for as long as it takes. While Kafka is behind, refusing, or
 * records wait for a retry, the owner is told to stop reading (TCP senders feel
 * backpressure, datagrams wait in the socket buffer) and told again when it may resume.
 * One instance per listener and database. Event-loop thread only. */
#ifndef TSR_INGEST_UNACKED_H
#define TSR_INGEST_UNACKED_H

#include <stddef.h>
#include <stdint.h>

#include "relay/core/metrics.h"

struct event_base;
struct tsr_config;
struct tsr_durable;
struct tsr_unacked;

/* Called with on = 0 when reading must pause, 1 when it may resume. */
typedef void tsr_unacked_reading_fn(void *arg, int on);

/* Records carry database db and retention policy rp (NULL: none) and are credited to
 * listener src. Borrows cf, dur, db and rp. */
struct tsr_unacked *tsr_unacked_new(const struct tsr_config *cf, struct event_base *base,
                                    struct tsr_durable *dur, enum tsr_listener src, const char *db,
                                    const char *rp, tsr_unacked_reading_fn *reading, void *arg);

/* Before adding lines: 0 once the topic's partitions are known, -1 before. */
int tsr_unacked_ready(struct tsr_unacked *u);

/* Adds one normalised line (with its newline) of the series series_hash. */
void tsr_unacked_add(struct tsr_unacked *u, const char *line, size_t len, uint64_t series_hash);

/* Whether reading more now would only pile records up. */
int tsr_unacked_overloaded(const struct tsr_unacked *u);

/* After a read: pauses the owner's reading when overloaded. */
void tsr_unacked_check(struct tsr_unacked *u);

/* For an owner that must know when lines are durable (a Kafka input commits its
 * offsets then): every record made while a ticket is current holds a reference to it,
 * and done runs once the ticket is sealed and its last record is confirmed. */
struct tsr_unacked_ticket {
    int refs;   /* records holding it, not yet confirmed */
    int sealed;
    void (*done)(struct tsr_unacked_ticket *t, void *arg);
    void *arg;
};

/* Makes t (the caller's, zeroed but for done and arg) current: lines added from now on
 * belong to it. There must be no current ticket. */
void tsr_unacked_ticket_begin(struct tsr_unacked *u, struct tsr_unacked_ticket *t);

/* Produces every pending line now and seals the current ticket, which stops being
 * current; its done runs once all its records are confirmed, perhaps before this
 * returns. The caller keeps t alive until then. */
void tsr_unacked_ticket_seal(struct tsr_unacked *u);

/* Shutdown: never pauses again; produces every pending line now. */
void tsr_unacked_drain(struct tsr_unacked *u);

/* Records not yet confirmed (in flight or waiting to be retried). */
int tsr_unacked_pending(const struct tsr_unacked *u);

/* Records never confirmed are logged as lost. */
void tsr_unacked_free(struct tsr_unacked **up);

#endif

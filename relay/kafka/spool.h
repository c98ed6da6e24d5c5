/* relay/kafka/spool.h — the LMDB spool: records kept on local disk while Kafka cannot
 * take them, in arrival order.
 *
 * Owns: the LMDB environment state_dir/spool (its own file, so its fsyncs and map size
 * never touch the checkpoints), and a writer thread that commits appends and removals in
 * groups: whatever was queued while the previous commit was syncing goes into the next
 * transaction, so one fsync makes many requests durable.
 *
 * A record is what tsr_kafka_produce takes (a partition, the record headers, a
 * payload), numbered by a sequence that only grows: reading in sequence order is
 * reading in arrival order. The size bound counts record bytes (headers and payload);
 * a full LMDB map or disk is also refused, cleanly: the transaction is aborted, and
 * everything committed before it stays.
 *
 * Threads: every function on the event-loop thread of base, where done callbacks run
 * too; the writer thread is internal. */
#ifndef TSR_SPOOL_H
#define TSR_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct tsr_kafka_hdrs;
struct tsr_spool;

/* A record as it was appended. Every pointer is valid only during the read callback. */
struct tsr_spool_rec {
    uint64_t seq;
    int32_t partition;
    int64_t arrived_ms; /* wall clock when it was appended */
    const char *db, *rp, *src, *kind; /* rp and kind may be NULL */
    const char *data;
    size_t len;
    size_t bytes; /* the record as the spool counts it: headers and payload */
};

/* The append is durable (err 0), or was refused (err -1, why: "spool full", the LMDB
 * or disk error). The loop thread. */
typedef void tsr_spool_done_fn(void *opaque, int err, const char *why);

/* Opens (creating) dir's spool, bounded to max_bytes of records, and reads back what
 * a previous run left. Returns 0, or -1 with err set. *sp is the caller's:
 * tsr_spool_free. */
int tsr_spool_open(const char *dir, int64_t max_bytes, struct event_base *base,
                   struct tsr_spool **sp, char *err, size_t errlen);

/* Commits what is queued, runs the last done callbacks, stops the writer and closes.
 * *sp becomes NULL. */
void tsr_spool_free(struct tsr_spool **sp);

/* Queues payload[0..len) with its partition and headers. The caller keeps payload
 * alive until done runs (exactly once, later). Returns 0; or -1 at once, with *why
 * ("spool full"), when it cannot fit, and done is never called. */
int tsr_spool_append(struct tsr_spool *s, int32_t partition, const char *payload, size_t len,
                     const struct tsr_kafka_hdrs *h, tsr_spool_done_fn *done, void *opaque,
                     const char **why);

/* Calls fn for committed records with seq >= from, in order, until fn returns nonzero,
 * max records were read, or there are none left. Returns how many fn took (a nonzero
 * return counts as not taken), or -1 on an LMDB error (logged). */
typedef int tsr_spool_read_fn(void *opaque, const struct tsr_spool_rec *r);
int tsr_spool_read(struct tsr_spool *s, uint64_t from, int max, tsr_spool_read_fn *fn,
                   void *opaque);

/* Removes a record that Kafka now holds: it leaves the counts at once and the file with
 * the next commit. */
void tsr_spool_remove(struct tsr_spool *s, uint64_t seq, size_t bytes);

/* Records appended (committed or queued) and not removed, and their bytes. */
int64_t tsr_spool_records(const struct tsr_spool *s);
int64_t tsr_spool_bytes(const struct tsr_spool *s);

/* Bytes of appends waiting for their commit: held in memory until then. */
int64_t tsr_spool_queued_bytes(const struct tsr_spool *s);

/* 1 when every removal so far is committed: a read now sees none of those records. */
int tsr_spool_settled(struct tsr_spool *s);

/* The partition count to remember for records spooled while Kafka's is unknown (a relay
 * started with Kafka away): the last one seen, kept in the spool. 0 if never known. */
void tsr_spool_set_partitions(struct tsr_spool *s, int n);
int tsr_spool_partitions(const struct tsr_spool *s);

struct tsr_spool_stats {
    int64_t records;     /* appended (committed or queued), not yet removed */
    int64_t bytes;       /* their record bytes */
    int64_t max_bytes;
    int64_t oldest_ms;   /* arrival time of the oldest committed record, 0 when none
                            (a record removed since the last commit may still count) */
    uint64_t first_seq;  /* its sequence */
    uint64_t commits;    /* write transactions committed */
    uint64_t appended;   /* records made durable */
    uint64_t refused;    /* appends refused: full, or an LMDB or disk error */
    double commit_s;     /* time spent committing, all commits */
};
void tsr_spool_stats(struct tsr_spool *s, struct tsr_spool_stats *out);

#endif

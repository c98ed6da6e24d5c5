/* relay/deliver/ckpt.h — the relay's durable state in LMDB under state_dir: per-cluster
 * delivery positions (checkpoints) and the ledger of out-of-sync intervals.
 *
 * Owns: the LMDB environment (state_dir/state.mdb) and its named databases: "ckpt",
 * "ledger", "jobs" (replay jobs) and "verifies" (verify results). The
 * environment is opened with MDB_NOSYNC | MDB_NOTLS: a committed write survives a
 * process crash (kill -9: it is in the page cache), and tsr_ckpt_sync, called about
 * once a second, makes it survive a power loss too; a lost second of checkpoints only
 * means a few batches delivered twice, which explicit timestamps make harmless.
 *
 * Threads: writes (put, ledger open/close, sync) from one thread only, the forwarding
 * thread (LMDB has a single writer). Reads (get, ledger list) from any thread.
 * Errors: functions return 0 on success, -1 on failure with a message in err. */
#ifndef TSR_CKPT_H
#define TSR_CKPT_H

#include <stddef.h>
#include <stdint.h>

#define TSR_CKPT_MAX_PARTITIONS 256

struct tsr_buf;

struct tsr_ckpt;

struct tsr_ckpt_pos {
    int64_t next_offset;    /* the next Kafka offset to deliver */
    int64_t last_ingest_ms; /* Kafka timestamp of the last delivered record, 0 if none */
};

/* Opens (creating state_dir and the store if needed). *ckp is the caller's; close with
 * tsr_ckpt_close. */
int tsr_ckpt_open(const char *state_dir, struct tsr_ckpt **ckp, char *err, size_t errlen);
void tsr_ckpt_close(struct tsr_ckpt **ckp);

/* Binds the stored positions to the Kafka topic they are offsets of. A store that holds
 * another topic's positions (kafka.topic changed) drops them all, since they mean
 * nothing in this topic, and names that topic in old: returns 1. A store without a topic
 * (older, or new) takes this one. Returns 0, 1, or -1 with err set. */
int tsr_ckpt_bind_topic(struct tsr_ckpt *ck, const char *topic, char *old, size_t oldlen,
                        char *err, size_t errlen);

/* Reads a cluster's position for one partition: 0 found, 1 none stored, -1 error. */
int tsr_ckpt_get(struct tsr_ckpt *ck, const char *cluster, int32_t partition,
                 struct tsr_ckpt_pos *pos, char *err, size_t errlen);

/* Stores the positions of n partitions of a cluster in one transaction. */
int tsr_ckpt_put(struct tsr_ckpt *ck, const char *cluster, const int32_t *partitions,
                 const struct tsr_ckpt_pos *pos, size_t n, char *err, size_t errlen);

/* Flushes committed transactions to disk (fsync). */
int tsr_ckpt_sync(struct tsr_ckpt *ck, char *err, size_t errlen);

/* --- ledger: when and by how much a cluster fell out of sync --------------------- */

struct tsr_ledger_entry {
    uint64_t id;        /* increasing per cluster, assigned by tsr_ledger_open */
    int64_t from_ms;    /* wall time the interval began */
    int64_t to_ms;      /* wall time it ended; 0 while still open */
    char kind[16];      /* "outage" (cluster behind) or "gap" (data lost to retention) */
    char reason[160];
    int nparts;
    int64_t from_offset[TSR_CKPT_MAX_PARTITIONS]; /* first offset not delivered */
    int64_t to_offset[TSR_CKPT_MAX_PARTITIONS];   /* first offset delivered again; for a
                                                     gap, the first offset still retained */
};

/* Records a new interval (to_ms and to_offset ignored) and sets e->id. Keeps at most
 * the newest 1000 entries per cluster. */
int tsr_ledger_open(struct tsr_ckpt *ck, const char *cluster, struct tsr_ledger_entry *e,
                    char *err, size_t errlen);

/* Closes interval id of cluster with its end time and end offsets. */
int tsr_ledger_close(struct tsr_ckpt *ck, const char *cluster, uint64_t id, int64_t to_ms,
                     int nparts, const int64_t *to_offset, char *err, size_t errlen);

/* Copies up to max of the cluster's newest entries into out, oldest first; sets *n. */
int tsr_ledger_list(struct tsr_ckpt *ck, const char *cluster, struct tsr_ledger_entry *out,
                    size_t max, size_t *n, char *err, size_t errlen);

/* The ledger entries of a fleet are recorded by its coordinator and shared through the
 * fleet board (relay/kafka/board.h); the other relays store what they read there. */

/* Stores e (with its id) as the cluster's entry e->id, replacing one with that id. */
int tsr_ledger_store(struct tsr_ckpt *ck, const char *cluster, const struct tsr_ledger_entry *e,
                     char *err, size_t errlen);
/* Reads the cluster's entry id into e: 0 found, 1 none, -1 error. */
int tsr_ledger_get(struct tsr_ckpt *ck, const char *cluster, uint64_t id,
                   struct tsr_ledger_entry *e, char *err, size_t errlen);
/* e as a self-contained record (its id first) for the board, and back. Pure. */
void tsr_ledger_serialize(const struct tsr_ledger_entry *e, struct tsr_buf *out);
int tsr_ledger_parse(const void *rec, size_t len, struct tsr_ledger_entry *e);

/* --- replay jobs: an opaque record per job id (replay/job.c owns the format) ---- */

/* Stores (replacing) the record of job id. Writer thread only. */
int tsr_ckpt_job_put(struct tsr_ckpt *ck, uint64_t id, const void *record, size_t len, char *err,
                     size_t errlen);

/* Calls fn for every stored job, in id order. The record is valid only during the call. */
typedef void tsr_ckpt_job_fn(void *opaque, uint64_t id, const void *record, size_t len);
int tsr_ckpt_job_list(struct tsr_ckpt *ck, tsr_ckpt_job_fn *fn, void *opaque, char *err,
                      size_t errlen);

/* --- verify results: an opaque record per id (replay/verifier.c owns the format) -- */

/* The newest results kept; an older one is deleted as a new one is stored. */
#define TSR_CKPT_VERIFY_KEEP 200

/* Stores the record of verify result id. Writer thread only. */
int tsr_ckpt_verify_put(struct tsr_ckpt *ck, uint64_t id, const void *record, size_t len,
                        char *err, size_t errlen);
/* Calls fn for every stored result, in id order (fn as for jobs). */
int tsr_ckpt_verify_list(struct tsr_ckpt *ck, tsr_ckpt_job_fn *fn, void *opaque, char *err,
                         size_t errlen);

#endif

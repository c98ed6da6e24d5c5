/* replay/job.h — a replay job: what it re-sends, how far it got, and its two forms.
 *
 * Owns: struct tsr_replay_job, its record format in the state store (a versioned text
 * record, "v1" first, one "key value" per line, so a later version can still read old
 * jobs and an operator can read them with mdb_dump), and its JSON form for the admin
 * API (docs/replay-api.md). Pure functions; any thread. */
#ifndef TSR_REPLAY_JOB_H
#define TSR_REPLAY_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "relay/core/buf.h"
#include "relay/deliver/ckpt.h"

enum tsr_replay_state {
    TSR_REPLAY_QUEUED,
    TSR_REPLAY_RUNNING,
    TSR_REPLAY_PAUSED,
    TSR_REPLAY_DONE,
    TSR_REPLAY_FAILED,
    TSR_REPLAY_CANCELLED,
};

const char *tsr_replay_state_name(enum tsr_replay_state s);
/* done, failed or cancelled: the job will not change again. */
int tsr_replay_finished(enum tsr_replay_state s);

struct tsr_replay_part {
    int32_t partition;
    int64_t start, end; /* offsets [start, end) of the time range */
    int64_t position;   /* next offset to send; start <= position <= end */
};

struct tsr_replay_measurement {
    char *name;
    int64_t points, bytes;
};

struct tsr_replay_job {
    uint64_t id;
    char cluster[72];
    int64_t since_ms, until_ms;
    int64_t rate; /* points/s */
    char db[256];
    char measurement_prefix[256];
    int64_t points_since_ms, points_until_ms; /* the points' own time; 0: no bound */
    int dry_run;
    enum tsr_replay_state state;
    char started_by[128];
    int64_t created_ms, updated_ms, finished_ms;
    int64_t points_sent, bytes_sent;
    double rate_now;
    char result[256];
    int nparts;
    struct tsr_replay_part parts[TSR_CKPT_MAX_PARTITIONS];
    struct tsr_replay_measurement *measurements; /* dry run counts, owned */
    size_t nmeasurements;
};

int64_t tsr_replay_records_total(const struct tsr_replay_job *j);
int64_t tsr_replay_records_done(const struct tsr_replay_job *j);

/* Adds points/bytes to the dry-run count of measurement name[0..len). */
void tsr_replay_count(struct tsr_replay_job *j, const char *name, size_t len, int64_t points,
                      int64_t bytes);

/* Appends the store record of j to out. */
void tsr_replay_job_encode(const struct tsr_replay_job *j, struct tsr_buf *out);
/* Reads a store record into j (zeroed first). Returns 0, or -1 if it is not a record
 * this version understands. j->measurements is j's: free with tsr_replay_job_clear. */
int tsr_replay_job_decode(const char *rec, size_t len, struct tsr_replay_job *j);
/* Appends the JSON object of j (docs/replay-api.md) to out. */
void tsr_replay_job_json(const struct tsr_replay_job *j, struct tsr_buf *out);
/* Frees what j owns (not j). */
void tsr_replay_job_clear(struct tsr_replay_job *j);

#endif

/* replay/replay.h — replay jobs: re-send the points that entered Kafka in a time range
 * to one cluster, beside live forwarding.
 *
 * Owns: every job (recorded in the state store, so jobs survive restarts and finished
 * ones stay as an audit trail) and, for each running job, its own Kafka consumer
 * (offsets found with rd_kafka_offsets_for_times), cursor, batch and rate limit. Live
 * forwarding to the same cluster goes on untouched: the job has its own cursor and
 * sends through the shared HTTP client. A dry run reads the range and counts points
 * and bytes per measurement without sending.
 *
 * In a fleet (relay/kafka/board.h), jobs run on the coordinator only: every job record
 * goes to the board, every relay lists what it reads there, and a new coordinator
 * resumes the running jobs from their last record, so a job finishes even when the
 * relay running it dies. Starting and controlling a job from another relay goes to
 * the coordinator through the board (tsr_replayer_request).
 *
 * Every function: the forwarding thread only (relay/deliver/delivery.h runs admin requests
 * there). Functions answering the admin API append a JSON body to out and return the
 * HTTP status. */
#ifndef TSR_REPLAY_H
#define TSR_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "relay/core/buf.h"
#include "relay/deliver/delivery.h"

struct tsr_fwd_env;
struct tsr_replayer;

struct tsr_replay_req {
    const char *cluster;
    int64_t since_ms;  /* 0: everything Kafka retains */
    int64_t until_ms;  /* 0: now */
    int64_t rate;      /* points/s; 0: the default (100,000) */
    const char *db;    /* "" or NULL: all */
    const char *measurement_prefix;
    /* Only points whose own timestamp is in [points_since_ms, points_until_ms); 0: no
     * bound. since/until still choose the Kafka range, by when points entered it. */
    int64_t points_since_ms, points_until_ms;
    const char *started_by;
    int dry_run;
};

/* Loads the jobs of the store and resumes those that were running. */
int tsr_replayer_new(const struct tsr_fwd_env *env, struct tsr_replayer **rp, char *err,
                     size_t errlen);
/* Records where every job is and frees; running jobs resume at the next start. The
 * HTTP client must have been freed first (its cancelled requests call back here). */
void tsr_replayer_free(struct tsr_replayer **rp);

int tsr_replayer_start(struct tsr_replayer *r, const struct tsr_replay_req *req,
                       struct tsr_buf *out);
/* verb: "pause", "resume" or "cancel". */
int tsr_replayer_control(struct tsr_replayer *r, uint64_t id, const char *verb,
                         struct tsr_buf *out);
int tsr_replayer_show(struct tsr_replayer *r, uint64_t id, struct tsr_buf *out);
/* Appends a JSON array of the jobs (only the unfinished ones if unfinished_only). */
void tsr_replayer_list(struct tsr_replayer *r, int unfinished_only, struct tsr_buf *out);
/* Re-sends offsets [from[p], to[p]) of each of nparts partitions to cluster, as a job
 * like any other (listed, resumable), started by the relay itself: how a forwarder
 * re-sends what a cluster may have lost in a crash. Returns the job id, 0 if there was
 * nothing to send or it could not be recorded. */
uint64_t tsr_replayer_resend(struct tsr_replayer *r, const char *cluster, const int64_t *from,
                             const int64_t *to, int nparts, int64_t since_ms, int64_t until_ms,
                             const char *why);

/* Start (verb "start", req) or control (verb "pause", "resume", "cancel", id) a job
 * from any relay of the fleet. On the relay that runs the jobs (a relay alone, or the
 * fleet's coordinator) it is tsr_replayer_start or tsr_replayer_control, and returns
 * their status. Elsewhere it sends the request to the coordinator through the board,
 * sets *ticket and returns 0: poll tsr_replayer_answer with the ticket. */
int tsr_replayer_request(struct tsr_replayer *r, const char *verb, uint64_t id,
                         const struct tsr_replay_req *req, struct tsr_buf *out, uint64_t *ticket);
/* The coordinator's answer to ticket: appends its JSON body to out and returns its
 * HTTP status, or returns 0 while it has not come. */
int tsr_replayer_answer(struct tsr_replayer *r, uint64_t ticket, struct tsr_buf *out);

/* The replayer as the forwarding thread runs it beside the forwarders (relay/main.c
 * hands it to tsr_delivery_start). */
extern const struct tsr_delivery_runner tsr_replay_runner;

/* The verify results and the periodic verify (replay/verifier.h) it runs beside the
 * jobs. */
struct tsr_verifier *tsr_replayer_verifier(struct tsr_replayer *r);

/* Write requests in flight. */
int tsr_replayer_busy(const struct tsr_replayer *r);
/* Stops sending (shutdown); requests in flight may finish. */
void tsr_replayer_stop(struct tsr_replayer *r);

#endif

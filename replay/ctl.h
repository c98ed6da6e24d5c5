/* replay/ctl.h — what the parts of tsrelayctl share: the state of one run (struct ctl),
 * the exit codes, and the few calls each part makes into another.
 *
 * tsrelayctl is the operators' command line: status, checkpoints, the out-of-sync
 * ledger, and replay jobs, over the relay's admin endpoint (HTTP+JSON,
 * docs/replay-api.md; the /status document is relay/admin/admin.c's render_status).
 *   ctl_main.c    the command line: options, usage, the command table, main
 *   ctl_http.c    requests to the admin endpoint and what their failures say
 *   ctl_status.c  status, checkpoints, ledger (all read GET /status)
 *   ctl_replay.c  replay start, list, show, pause, resume, cancel (/replays)
 *   ctl_jobs.c    a replay job printed, followed with a progress line, waited for
 *   ctl_dlq.c     dlq list, dlq show: the dead-letter topic, read from Kafka itself
 *   ctl_verify.c  verify [--repair]: a cluster's contents against Kafka's, per window
 *   ctl_kafka.c   reading a topic from Kafka with the relay's config file
 *   ctl_text.c    numbers, times and aligned tables as text (ctl_text.h)
 *   ctl_json.c, ctl_time.c  reading the answers, TIME arguments
 *
 * Blocking libcurl easy calls: a CLI has nothing else to do while it waits. One thread.
 * Failures: a function that fails stores the message in c->msg (through fail) and
 * returns the exit code; main prints the message. Messages go to stderr, lowercase, the
 * failure first. */
#ifndef TSR_CTL_H
#define TSR_CTL_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

struct tsr_buf;
struct tsr_jsonr;

/* Exit codes (scripts depend on them; also in --help and docs/tsrelayctl.md):
 *   0  success; with --wait, --follow or --dry-run: the job finished "done"
 *   1  the server refused (its message is printed; also 401/403: no token, or a token
 *      not allowed), or the job failed or was cancelled
 *   2  usage error (bad option, bad TIME, missing argument, unreadable or empty
 *      --token-file)
 *   3  the admin endpoint could not be reached */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

/* Options, as bits: each command says which it takes. */
enum {
    OPT_CLUSTER = 1 << 0,
    OPT_SINCE = 1 << 1,
    OPT_UNTIL = 1 << 2,
    OPT_RATE = 1 << 3,
    OPT_DB = 1 << 4,
    OPT_MEASUREMENT = 1 << 5,
    OPT_DRY_RUN = 1 << 6,
    OPT_WAIT = 1 << 7,
    OPT_FOLLOW = 1 << 8,
    OPT_POINTS_SINCE = 1 << 9,
    OPT_POINTS_UNTIL = 1 << 10,
    OPT_CONFIG = 1 << 11,
    OPT_REASON = 1 << 12,
    OPT_LIMIT = 1 << 13,
    OPT_WINDOW = 1 << 14,
    OPT_REPAIR = 1 << 15,
    OPT_TO_TOPIC = 1 << 16,
    OPT_TO_CLUSTER = 1 << 17,
};

/* One run: the command line as parsed, the curl handle, and the failure to print. */
struct ctl {
    char admin[256];    /* HOST:PORT, for messages */
    char base_url[300]; /* http://HOST:PORT or https://HOST:PORT */
    /* https: the CA that signed the relay's certificate (NULL: the system's), and a
     * client certificate and key for a relay with tls.client_ca_file. */
    const char *ca_file, *cert_file, *key_file;
    int json;
    unsigned given; /* OPT_* seen on the command line */
    const char *cluster, *since, *until, *rate, *db, *measurement, *points_since, *points_until;
    const char *config, *reason, *limit; /* dlq: the relay's config file, filters */
    const char *window;                  /* verify */
    const char *to_cluster;              /* dlq resend */
    int64_t id; /* the job of show/pause/resume/cancel */
    int32_t ref_partition; /* dlq show PARTITION:OFFSET */
    int64_t ref_offset;
    int tty;    /* stdout is a terminal: redraw progress in place */
    /* The admin token, sent as "Authorization: Bearer TOKEN" with every request; "" for
     * none. From --token-file (token_file, argv's, for messages) else TSRELAY_TOKEN
     * (token_file NULL). Never printed; main wipes it before exiting. */
    char token[4096];
    const char *token_file;
    CURL *curl;
    char curl_err[CURL_ERROR_SIZE];
    char msg[1024]; /* the failure main prints, if any */
};

/* ctl_main.c */

/* Stores the failure message for main to print and returns rc. */
int fail(struct ctl *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Now, in Unix milliseconds. */
int64_t wall_ms(void);
/* Monotonic milliseconds, for intervals and rates. */
int64_t mono_ms(void);

/* ctl_http.c */

/* A request whose answer must be 2xx JSON; body NULL means GET. On success returns 0
 * and sets *docp (caller frees with tsr_jsonr_free) and, if rawp, hands over the body
 * (caller frees with tsr_buf_free). Otherwise returns the exit code with the message in
 * c->msg: EXIT_FAIL when the server refused ("WHAT: <server's message> (HTTP n)"; for
 * 401 and 403 "WHAT: the relay refused: 401 <message> (hint)", the hint saying where a
 * token comes from) or its answer is not JSON or too big, EXIT_UNREACHABLE when it
 * could not be reached. Sends c->token, if any, as a Bearer token. */
int call(struct ctl *c, const char *method, const char *path, const char *body, const char *what,
         struct tsr_jsonr **docp, struct tsr_buf *rawp);
/* Prints a JSON text with exactly one newline after it. */
void print_json(const char *s, size_t len);

/* ctl_jobs.c: a job is the JSON object of GET /replays/ID, borrowed from the caller. */

/* done, failed or cancelled: the job will not change again. */
int job_finished(const char *state);
/* Seconds until the job is done judged from one snapshot of it; -1 when unknown. */
double job_eta_snapshot(const struct tsr_jsonr *job);
/* The job as a block of "  key  value" lines; detail adds its partitions. */
void print_job(const struct tsr_jsonr *job, int detail);
/* The per-measurement counts of a finished dry run, as a table. */
void print_measurements(const struct tsr_jsonr *job);
/* Waits for job c->id, showing progress unless --json, and turns its end into the exit
 * code: EXIT_OK for done, EXIT_FAIL (with the job's result as the message) for failed
 * or cancelled. A failed request gives its own code (EXIT_UNREACHABLE once the relay
 * has been gone for a minute); Ctrl-C gives 130: it stops the watching, not the job. */
int wait_job(struct ctl *c, int dry);

/* The commands: each runs one request (or a wait) and returns the exit code.
 * ctl_status.c */
int cmd_status(struct ctl *c);
/* ctl_reload.c */
int cmd_reload(struct ctl *c);
int cmd_checkpoints(struct ctl *c);
int cmd_ledger(struct ctl *c);
/* ctl_replay.c */
int cmd_replay_start(struct ctl *c);
/* ctl_dlq.c */
int cmd_dlq_list(struct ctl *c);
int cmd_dlq_show(struct ctl *c);
int cmd_dlq_resend(struct ctl *c);
/* ctl_verify.c */
int cmd_verify(struct ctl *c);
int cmd_replay_list(struct ctl *c);
int cmd_replay_show(struct ctl *c);
int cmd_replay_pause(struct ctl *c);
int cmd_replay_resume(struct ctl *c);
int cmd_replay_cancel(struct ctl *c);

#endif

/* replay/ctl_jobs.c — a replay job as tsrelayctl shows it: printed as a block, followed
 * with a progress line until it finishes, and its end turned into the exit code. */
#include "ctl.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "relay/core/buf.h"
#include "replay/ctl_json.h"
#include "replay/ctl_text.h"
#include "replay/ctl_time.h"

#define POLL_MS            500   /* --wait / --follow: GET /replays/ID this often */
#define PLAIN_EVERY_MS     5000  /* progress line interval when stdout is not a terminal */
#define UNREACHABLE_MAX_MS 60000 /* --wait rides out a relay restart this long */

/* --- jobs ---------------------------------------------------------------------------- */

int job_finished(const char *state)
{
    return strcmp(state, "done") == 0 || strcmp(state, "failed") == 0 ||
           strcmp(state, "cancelled") == 0;
}

/* Seconds until the job is done judged from its own numbers (for status and list,
 * which see one snapshot): the current point rate converted to records, else the
 * average progress since creation. -1 when unknown. */
double job_eta_snapshot(const struct tsr_jsonr *job)
{
    const char *state = tsr_jsonr_get_str(job, "state", "");
    if (strcmp(state, "running") != 0) return -1;
    double done = (double)tsr_jsonr_get_int(job, "records_done", 0);
    double total = (double)tsr_jsonr_get_int(job, "records_total", 0);
    double points = (double)tsr_jsonr_get_int(job, "points_sent", 0);
    double rate = tsr_jsonr_get_num(job, "rate_now", 0);
    if (total <= done) return 0;
    if (rate > 0 && done > 0 && points > 0) return (total - done) / (rate * done / points);
    double p = tsr_jsonr_get_num(job, "progress", 0);
    double elapsed =
        (double)(tsr_jsonr_get_int(job, "updated_ms", 0) - tsr_jsonr_get_int(job, "created_ms", 0));
    if (p > 0 && p < 1 && elapsed > 0) return elapsed / 1000.0 * (1 - p) / p;
    return -1;
}

static void job_range(const struct tsr_jsonr *job, char *out, size_t len)
{
    int64_t since = tsr_jsonr_get_int(job, "since_ms", 0),
            until = tsr_jsonr_get_int(job, "until_ms", 0);
    int64_t created = tsr_jsonr_get_int(job, "created_ms", 0);
    char a[40], b[40], d[40];
    if (since == 0)
        snprintf(a, sizeof(a), "earliest");
    else
        fmt_time(since, a, sizeof(a));
    fmt_time(until ? until : created, b, sizeof(b));
    if (since && (until ? until : created) > since) {
        tsr_ctl_duration_format((until ? until : created) - since, d, sizeof(d));
        snprintf(out, len, "%s .. %s (%s)%s", a, b, d, until ? "" : ", up to the job's creation");
    } else {
        snprintf(out, len, "%s .. %s%s", a, b, until ? "" : ", up to the job's creation");
    }
}

void print_job(const struct tsr_jsonr *job, int detail)
{
    char b1[64], b2[64], b3[64], line[512];
    int dry = tsr_jsonr_get_bool(job, "dry_run", 0);
    const char *state = tsr_jsonr_get_str(job, "state", "?");
    printf("replay %lld: %s%s\n", (long long)tsr_jsonr_get_int(job, "id", 0), state,
           dry ? " (dry run)" : "");
    printf("  cluster      %s\n", tsr_jsonr_get_str(job, "cluster", ""));
    job_range(job, line, sizeof(line));
    printf("  range        %s (when the points entered kafka)\n", line);
    int64_t ps = tsr_jsonr_get_int(job, "points_since_ms", 0),
            pu = tsr_jsonr_get_int(job, "points_until_ms", 0);
    if (ps || pu) {
        char a[40] = "the earliest", b[40] = "the latest";
        if (ps) fmt_time(ps, a, sizeof(a));
        if (pu) fmt_time(pu, b, sizeof(b));
        printf("  point times  %s .. %s (the points' own timestamps)\n", a, b);
    }
    const char *db = tsr_jsonr_get_str(job, "db", ""),
               *mp = tsr_jsonr_get_str(job, "measurement_prefix", "");
    if (*db || *mp) {
        printf("  only         ");
        if (*db) printf("database '%s'%s", db, *mp ? ", " : "");
        if (*mp) printf("measurements starting with '%s'", mp);
        printf("\n");
    }
    int64_t rate = tsr_jsonr_get_int(job, "rate", 0);
    if (rate > 0) printf("  rate cap     %s points/s\n", fmt_count(rate, b1, sizeof(b1)));
    printf("  started by   %s at %s\n", tsr_jsonr_get_str(job, "started_by", "?"),
           fmt_time(tsr_jsonr_get_int(job, "created_ms", 0), b1, sizeof(b1)));
    int64_t done = tsr_jsonr_get_int(job, "records_done", 0),
            total = tsr_jsonr_get_int(job, "records_total", 0);
    printf("  records      %s of %s (%.1f%%)\n", fmt_count(done, b1, sizeof(b1)),
           fmt_count(total, b2, sizeof(b2)), tsr_jsonr_get_num(job, "progress", 0) * 100);
    printf("  points       %s %s (%s)\n",
           fmt_count(tsr_jsonr_get_int(job, "points_sent", 0), b1, sizeof(b1)),
           dry ? "counted" : "sent",
           fmt_bytes((double)tsr_jsonr_get_int(job, "bytes_sent", 0), b3, sizeof(b3)));
    if (!job_finished(state))
        printf("  rate now     %s points/s\n",
               fmt_count((int64_t)(tsr_jsonr_get_num(job, "rate_now", 0) + 0.5), b1, sizeof(b1)));
    int64_t fin = tsr_jsonr_get_int(job, "finished_ms", 0);
    if (fin) printf("  finished     %s\n", fmt_time(fin, b1, sizeof(b1)));
    const char *result = tsr_jsonr_get_str(job, "result", "");
    if (*result) printf("  result       %s\n", result);
    const struct tsr_jsonr *parts = tsr_jsonr_get(job, "partitions");
    for (size_t k = 0; detail && k < tsr_jsonr_len(parts); k++) {
        const struct tsr_jsonr *p = tsr_jsonr_at(parts, k);
        printf("  partition %-3lld offsets %lld..%lld, at %lld\n",
               (long long)tsr_jsonr_get_int(p, "partition", 0),
               (long long)tsr_jsonr_get_int(p, "start", 0),
               (long long)tsr_jsonr_get_int(p, "end", 0),
               (long long)tsr_jsonr_get_int(p, "position", 0));
    }
}

/* --- following a job ----------------------------------------------------------------- */

#define RATE_SAMPLES 21 /* polls (about 10 s) behind the observed progress rate */

struct progress {
    int64_t t[RATE_SAMPLES], done[RATE_SAMPLES];
    int n, next;
    size_t drawn;       /* terminal: length of the line on screen, to blank its rest */
    int64_t last_plain; /* not a terminal: when the last line was printed (0: never) */
};

/* Ctrl-C while following: stop watching, leave the job running. */
static volatile sig_atomic_t interrupted;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    /* A signal ends the nap early; the caller checks `interrupted`. */
    nanosleep(&ts, NULL);
}

static void on_sigint(int sig)
{
    interrupted = 1;
}

/* ETA in seconds from the records left and the rate records_done grew at over the
 * last RATE_SAMPLES polls: what the operator watching sees, pauses and rate changes
 * included. -1 while unknown. */
static double progress_eta(struct progress *pg, int64_t now, int64_t done, int64_t total)
{
    pg->t[pg->next] = now;
    pg->done[pg->next] = done;
    pg->next = (pg->next + 1) % RATE_SAMPLES;
    if (pg->n < RATE_SAMPLES) pg->n++;
    if (total <= done) return 0;
    int oldest = pg->n < RATE_SAMPLES ? 0 : pg->next;
    double dt = (double)(now - pg->t[oldest]), dd = (double)(done - pg->done[oldest]);
    if (dt <= 0 || dd <= 0) return -1;
    return (double)(total - done) / (dd / dt) / 1000.0;
}

static void progress_draw(struct ctl *c, struct progress *pg, const struct tsr_jsonr *job, int last)
{
    int64_t now = mono_ms();
    const char *state = tsr_jsonr_get_str(job, "state", "?");
    int64_t done = tsr_jsonr_get_int(job, "records_done", 0),
            total = tsr_jsonr_get_int(job, "records_total", 0);
    double eta = progress_eta(pg, now, done, total);
    if (!c->tty && !last && pg->last_plain && now - pg->last_plain < PLAIN_EVERY_MS) return;

    double p = tsr_jsonr_get_num(job, "progress", 0);
    if (p < 0) p = 0;
    if (p > 1) p = 1;
    char pts[32], rate[32], etas[32], line[256];
    int running = strcmp(state, "running") == 0;
    snprintf(line, sizeof(line), "%d%% %s points %s/s ETA %s%s%s%s", (int)(p * 100),
             fmt_count(tsr_jsonr_get_int(job, "points_sent", 0), pts, sizeof(pts)),
             fmt_count((int64_t)(tsr_jsonr_get_num(job, "rate_now", 0) + 0.5), rate, sizeof(rate)),
             fmt_eta(running || job_finished(state) ? eta : -1, etas, sizeof(etas)),
             running ? "" : " (", running ? "" : state, running ? "" : ")");
    if (c->tty) {
        draw_progress(stdout, p, line, last, &pg->drawn);
    } else {
        printf("replay %lld: %s\n", (long long)c->id, line);
        pg->last_plain = now;
        fflush(stdout);
    }
}

/* Polls GET /replays/ID until the job finishes; sets *docp to its last state (and
 * *rawp to the body if rawp). Shows progress when show. A relay that restarts is ridden
 * out for UNREACHABLE_MAX_MS (jobs survive restarts); Ctrl-C stops watching, not the
 * job. */
static int follow(struct ctl *c, int show, struct tsr_jsonr **docp, struct tsr_buf *rawp)
{
    struct progress pg = {0};
    char path[64], what[64];
    int64_t unreachable_since = 0;
    snprintf(path, sizeof(path), "/replays/%lld", (long long)c->id);
    snprintf(what, sizeof(what), "cannot follow replay %lld", (long long)c->id);
    signal(SIGINT, on_sigint);
    for (;;) {
        struct tsr_jsonr *doc = NULL;
        struct tsr_buf raw = {0};
        int rc = call(c, "GET", path, NULL, what, &doc, &raw);
        if (rc == EXIT_UNREACHABLE) {
            int64_t now = mono_ms();
            if (!unreachable_since) {
                unreachable_since = now;
                if (c->tty && pg.drawn) putchar('\n');
                pg.drawn = 0;
                fprintf(stderr, "%s; retrying for %d s\n", c->msg, UNREACHABLE_MAX_MS / 1000);
            }
            if (now - unreachable_since > UNREACHABLE_MAX_MS) return rc;
        } else if (rc) {
            if (c->tty && pg.drawn) putchar('\n');
            return rc;
        } else {
            unreachable_since = 0;
            c->msg[0] = '\0';
            int fin = job_finished(tsr_jsonr_get_str(doc, "state", ""));
            if (show) progress_draw(c, &pg, doc, fin);
            if (fin) {
                *docp = doc;
                if (rawp)
                    *rawp = raw;
                else
                    tsr_buf_free(&raw);
                return 0;
            }
        }
        tsr_jsonr_free(&doc);
        tsr_buf_free(&raw);
        if (!interrupted) sleep_ms(POLL_MS);
        if (interrupted) {
            if (c->tty && pg.drawn) putchar('\n');
            return fail(c, 130,
                        "stopped watching replay %lld; it goes on: 'tsrelayctl replay cancel %lld' "
                        "stops it",
                        (long long)c->id, (long long)c->id);
        }
    }
}

/* Per-measurement counts of a finished dry run, largest first. */
static int cmp_points_desc(const void *x, const void *y)
{
    int64_t a = tsr_jsonr_get_int(*(const struct tsr_jsonr *const *)x, "points", 0);
    int64_t b = tsr_jsonr_get_int(*(const struct tsr_jsonr *const *)y, "points", 0);
    return a < b ? 1 : a > b ? -1 : 0;
}

void print_measurements(const struct tsr_jsonr *job)
{
    const struct tsr_jsonr *ms = tsr_jsonr_get(job, "measurements");
    size_t n = tsr_jsonr_len(ms);
    if (n == 0) {
        printf("no points in the range\n");
        return;
    }
    const struct tsr_jsonr **sorted = calloc(n, sizeof(*sorted));
    if (!sorted) abort();
    for (size_t k = 0; k < n; k++)
        sorted[k] = tsr_jsonr_at(ms, k);
    qsort(sorted, n, sizeof(*sorted), cmp_points_desc);
    struct table t;
    char a[32], b[32];
    table_init(&t, "MEASUREMENT", ">POINTS", ">BYTES");
    int64_t tp = 0, tb = 0;
    for (size_t k = 0; k < n; k++) {
        int64_t p = tsr_jsonr_get_int(sorted[k], "points", 0),
                by = tsr_jsonr_get_int(sorted[k], "bytes", 0);
        tp += p, tb += by;
        table_row(&t, tsr_jsonr_get_str(sorted[k], "name", "?"), fmt_count(p, a, sizeof(a)),
                  fmt_count(by, b, sizeof(b)));
    }
    table_row(&t, "(total)", fmt_count(tp, a, sizeof(a)), fmt_count(tb, b, sizeof(b)));
    table_print(&t);
    table_free(&t);
    free(sorted);
}

int wait_job(struct ctl *c, int dry)
{
    struct tsr_jsonr *job = NULL;
    struct tsr_buf raw = {0};
    int rc = follow(c, !c->json, &job, c->json ? &raw : NULL);
    if (rc) return rc;
    const char *state = tsr_jsonr_get_str(job, "state", "?");
    const char *result = tsr_jsonr_get_str(job, "result", "");
    if (c->json) {
        print_json(raw.data, raw.len);
    } else if (strcmp(state, "done") == 0) {
        char pts[32];
        printf("replay %lld done: %s\n", (long long)c->id,
               *result ? result
                       : fmt_count(tsr_jsonr_get_int(job, "points_sent", 0), pts, sizeof(pts)));
        if (dry) print_measurements(job);
    }
    if (strcmp(state, "done") != 0)
        rc = fail(c, EXIT_FAIL, "replay %lld %s: %s", (long long)c->id, state,
                  *result ? result : "no reason given");
    tsr_jsonr_free(&job);
    tsr_buf_free(&raw);
    return rc;
}

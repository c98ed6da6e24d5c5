/* replay/ctl_verify.c — tsrelayctl verify: does a cluster hold what Kafka holds for it?
 *
 * The counting is replay/verify.h's, with Kafka read from the relay's config file (-c)
 * and the cluster asked with its own URL, credentials and CA from the same file. This
 * file prints the report, records it with the relay (POST /verifies, so that it is in
 * the audit trail and on the status page), and with --repair replays, by point time,
 * each run of windows that misses values, waits for the jobs, and verifies again;
 * replays go through the admin endpoint (-a). One thread, blocking. */
#include "ctl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "relay/core/buf.h"
#include "relay/core/json.h"
#include "replay/ctl_json.h"
#include "replay/ctl_text.h"
#include "replay/ctl_time.h"
#include "replay/verify.h"

#define REVERIFY_TRIES 5

#define PLAIN_EVERY_MS 5000 /* progress line interval when stderr is not a terminal */

struct progress {
    int tty;
    int64_t start_ms, last_plain_ms;
    size_t drawn;
};

/* Reading Kafka is the long part: a bar on stderr (stdout is the report's), like a
 * replay's, or a line every 5 s and at the end when stderr is not a terminal. */
static void show_progress(void *opaque, int64_t done, int64_t total, int last)
{
    struct progress *pg = opaque;
    int64_t now = mono_ms();
    if (!pg->tty && !last && now - pg->last_plain_ms < PLAIN_EVERY_MS) return;
    double p = total > 0 ? (double)done / (double)total : 1;
    if (p > 1 || last) p = 1;
    double elapsed = (double)(now - pg->start_ms) / 1000.0;
    double eta = last ? 0 : done > 0 ? elapsed * (double)(total - done) / (double)done : -1;
    char a[32], b[32], e[32], line[200];
    snprintf(line, sizeof(line), "%d%% of %s records of kafka read (%s) ETA %s", (int)(p * 100),
             fmt_count(total, a, sizeof(a)), fmt_count(done, b, sizeof(b)),
             fmt_eta(eta, e, sizeof(e)));
    if (pg->tty) {
        draw_progress(stderr, p, line, last, &pg->drawn);
    } else {
        fprintf(stderr, "verify: %s\n", line);
        pg->last_plain_ms = now;
    }
}

static int count(struct ctl *c, const struct tsr_config *cf, struct tsr_verify *v)
{
    struct progress pg = {.tty = isatty(2), .start_ms = mono_ms()};
    pg.last_plain_ms = pg.start_ms;
    v->progress = show_progress;
    v->progress_opaque = &pg;
    char err[1024];
    enum tsr_verify_rc rc = tsr_verify_count(v, cf, "tsrelayctl", err, sizeof(err));
    v->progress = NULL; /* pg goes */
    if (rc == TSR_VERIFY_UNREACHABLE) return fail(c, EXIT_UNREACHABLE, "%s", err);
    if (rc) return fail(c, EXIT_FAIL, "%s", err);
    return EXIT_OK;
}

/* Prints the windows (all of them with --json; those that differ otherwise) unless
 * quiet, and returns the number that differ. */
static int report(struct ctl *c, const struct tsr_verify *v, int quiet)
{
    int differ = 0;
    int64_t tk = 0, tc = 0;
    struct table t;
    table_init(&t, "WINDOW", ">KAFKA", ">CLUSTER", "VERDICT");
    for (int w = 0; w < v->nwin; w++) {
        int64_t k = v->kafka[w], n = v->cluster[w], start, end;
        tsr_verify_window(v, w, &start, &end);
        tk += k, tc += n;
        differ += k != n;
        if (k != n) {
            char when[40], a[32], b[32], verdict[64];
            snprintf(verdict, sizeof(verdict), "%s %s", k > n ? "missing" : "extra",
                     fmt_count(k > n ? k - n : n - k, a, sizeof(a)));
            table_row(&t, fmt_time(start, when, sizeof(when)), fmt_count(k, a, sizeof(a)),
                      fmt_count(n, b, sizeof(b)), verdict);
        }
    }
    if (quiet) {
    } else if (c->json) {
        struct tsr_buf js = {0};
        tsr_verify_json(v, 0, &js);
        print_json(js.data, js.len);
        tsr_buf_free(&js);
    } else {
        char a[32], b[32], d[32];
        if (differ) table_print(&t);
        tsr_ctl_duration_format(v->window, d, sizeof(d));
        printf("cluster '%s': %d of %d windows of %s differ; %s values in kafka, %s in the "
               "cluster\n",
               v->cc->name, differ, v->nwin, d, fmt_count(tk, a, sizeof(a)),
               fmt_count(tc, b, sizeof(b)));
    }
    table_free(&t);
    return differ;
}

/* Waits, quietly, for replay c->id to finish; EXIT_FAIL unless it is done. */
static int wait_done(struct ctl *c)
{
    char path[64];
    snprintf(path, sizeof(path), "/replays/%lld", (long long)c->id);
    for (;;) {
        struct tsr_jsonr *job = NULL;
        int rc = call(c, "GET", path, NULL, "cannot follow the repair", &job, NULL);
        if (rc) return rc;
        char state[32];
        snprintf(state, sizeof(state), "%s", tsr_jsonr_get_str(job, "state", ""));
        if (job_finished(state)) {
            rc = strcmp(state, "done")
                     ? fail(c, EXIT_FAIL, "repair replay %lld %s: %s", (long long)c->id, state,
                            tsr_jsonr_get_str(job, "result", ""))
                     : EXIT_OK;
            tsr_jsonr_free(&job);
            return rc;
        }
        tsr_jsonr_free(&job);
        struct timespec ts = {0, 300 * 1000000};
        nanosleep(&ts, NULL);
    }
}

/* Replays, by point time, each run of windows that misses values; waits for each. */
static int repair(struct ctl *c, const struct tsr_verify *v)
{
    int rc = EXIT_OK;
    for (int w = 0; w < v->nwin && !rc;) {
        if (v->kafka[w] <= v->cluster[w]) {
            w++;
            continue;
        }
        int e = w;
        while (e < v->nwin && v->kafka[e] > v->cluster[e])
            e++;
        int64_t from = v->since + (int64_t)w * v->window;
        int64_t to = v->since + (int64_t)e * v->window;
        if (to > v->until) to = v->until;
        struct tsr_buf body = {0};
        tsr_buf_puts(&body, "{\"cluster\":");
        tsr_json_string(&body, v->cc->name);
        tsr_buf_printf(&body,
                       ",\"since_ms\":%" PRId64 ",\"points_since_ms\":%" PRId64
                       ",\"points_until_ms\":%" PRId64
                       ",\"started_by\":\"tsrelayctl verify --repair\"}",
                       v->since > TSR_VERIFY_LOOKBACK_MS ? v->since - TSR_VERIFY_LOOKBACK_MS : 1, from, to);
        tsr_buf_putc(&body, '\0');
        struct tsr_jsonr *job = NULL;
        rc = call(c, "POST", "/replays", body.data, "repair replay refused", &job, NULL);
        tsr_buf_free(&body);
        if (!rc) {
            char a[40], b[40];
            c->id = tsr_jsonr_get_int(job, "id", 0);
            if (!c->json)
                printf("repair: replay %lld of %s .. %s\n", (long long)c->id,
                       fmt_time(from, a, sizeof(a)), fmt_time(to, b, sizeof(b)));
            tsr_jsonr_free(&job);
            rc = wait_done(c);
        }
        w = e;
    }
    return rc;
}

static int parse_window(const char *s, int64_t *ms)
{
    char *end;
    long long n = strtoll(s, &end, 10);
    int64_t unit = !strcmp(end, "s")    ? 1000
                   : !strcmp(end, "m")  ? 60000
                   : !strcmp(end, "h")  ? 3600000
                   : !strcmp(end, "ms") ? 1
                                        : 0;
    if (end == s || n <= 0 || !unit) return -1;
    *ms = n * unit;
    return 0;
}

/* Records the report with the relay (-a), for its audit trail and status page. A relay
 * that cannot be reached does not change the verdict: tsrelayctl says so and goes on. */
static void record(struct ctl *c, const struct tsr_verify *v, int repaired)
{
    struct tsr_buf body = {0};
    tsr_buf_printf(&body, "{\"started_by\":\"tsrelayctl verify%s\",\"report\":",
                   repaired ? " --repair" : "");
    tsr_verify_json(v, 1, &body);
    tsr_buf_puts(&body, "}");
    tsr_buf_putc(&body, '\0');
    char kept[sizeof(c->msg)];
    snprintf(kept, sizeof(kept), "%s", c->msg);
    struct tsr_jsonr *doc = NULL;
    if (call(c, "POST", "/verifies", body.data, "recording the result", &doc, NULL) != EXIT_OK)
        fprintf(stderr, "tsrelayctl: the result is not in the relay's audit trail: %s\n", c->msg);
    tsr_jsonr_free(&doc);
    snprintf(c->msg, sizeof(c->msg), "%s", kept);
    tsr_buf_free(&body);
}

int cmd_verify(struct ctl *c)
{
    struct tsr_config *cf = NULL;
    struct tsr_verify v = {0};
    char err[1024];
    int64_t now = wall_ms(), since, until = now, window = 5 * 60000;
    int rc = EXIT_OK;
    if (!c->config) return fail(c, EXIT_USAGE, "verify needs -c FILE: the relay's config file");
    if (!c->cluster) return fail(c, EXIT_USAGE, "verify needs --cluster NAME");
    if (!c->since) return fail(c, EXIT_USAGE, "verify needs --since TIME (points' own time)");
    if (tsr_ctl_time_parse(c->since, now, 0, &since, err, sizeof(err)))
        return fail(c, EXIT_USAGE, "invalid --since '%s': %s", c->since, err);
    if (c->until && tsr_ctl_time_parse(c->until, now, 0, &until, err, sizeof(err)))
        return fail(c, EXIT_USAGE, "invalid --until '%s': %s", c->until, err);
    if (until <= since)
        return fail(c, EXIT_USAGE, "invalid --until: not after --since '%s'", c->since);
    if (c->window && parse_window(c->window, &window))
        return fail(c, EXIT_USAGE, "invalid --window '%s': expected a duration like 30s, 5m, 1h",
                    c->window);
    if ((until - since) / window >= TSR_VERIFY_MAX_WINDOWS)
        return fail(c, EXIT_USAGE, "--window '%s' makes more than %d windows",
                    c->window ? c->window : "5m", TSR_VERIFY_MAX_WINDOWS);
    if (tsr_config_load(c->config, &cf, err, sizeof(err))) return fail(c, EXIT_USAGE, "%s", err);
    const struct tsr_cluster_conf *cc = NULL;
    for (size_t i = 0; i < cf->nclusters; i++)
        if (!strcmp(cf->clusters[i].name, c->cluster)) cc = &cf->clusters[i];
    if (!cc) {
        rc = fail(c, EXIT_USAGE, "no cluster '%s' in %s", c->cluster, c->config);
        goto out;
    }
    if (tsr_verify_init(&v, cc, since, until, window, c->db, err, sizeof(err))) {
        rc = fail(c, EXIT_USAGE, "%s", err);
        goto out;
    }
    if ((rc = count(c, cf, &v))) goto out;
    int repairing = c->given & OPT_REPAIR;
    int differ = report(c, &v, repairing && c->json); /* --json: the last report only */
    if (differ && repairing) {
        if ((rc = repair(c, &v))) goto out;
        /* A TSDB makes points searchable a moment after it acknowledged them
         * (VictoriaMetrics: its pending rows are flushed every second). */
        for (int i = 0; i < REVERIFY_TRIES && differ; i++) {
            struct timespec ts = {2, 0};
            nanosleep(&ts, NULL);
            if ((rc = count(c, cf, &v))) goto out;
            differ = report(c, &v, 1);
        }
        if (!c->json) printf("after the repair:\n");
        differ = report(c, &v, 0);
    } else if (repairing && c->json) {
        report(c, &v, 0);
    }
    record(c, &v, repairing);
    rc = differ ? fail(c, EXIT_FAIL, "cluster '%s' differs from kafka in %d window%s", cc->name,
                       differ, differ == 1 ? "" : "s")
                : EXIT_OK;
out:
    tsr_verify_free(&v);
    tsr_config_free(&cf);
    return rc;
}

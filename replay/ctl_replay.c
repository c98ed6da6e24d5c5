/* replay/ctl_replay.c — the replay commands, over /replays: start (with --wait or
 * --dry-run it also waits for the job), list, show (--follow waits), and pause, resume
 * and cancel. */
#include "ctl.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay/core/buf.h"
#include "relay/core/json.h"
#include "replay/ctl_json.h"
#include "replay/ctl_text.h"
#include "replay/ctl_time.h"

static const char *started_by(char *buf, size_t len)
{
    char host[256] = "";
    const char *user = getenv("USER");
    if (!user || !*user) {
        struct passwd *pw = getpwuid(getuid());
        user = pw ? pw->pw_name : "unknown";
    }
    if (gethostname(host, sizeof(host) - 1) != 0 || !*host) snprintf(host, sizeof(host), "unknown");
    snprintf(buf, len, "%s@%s", user, host);
    return buf;
}

/* Parses a TIME option; a bad one is a usage error naming the option. */
static int time_arg(struct ctl *c, const char *opt, const char *s, int64_t now, int flags,
                    int64_t *ms)
{
    char err[256];
    if (tsr_ctl_time_parse(s, now, flags, ms, err, sizeof(err)) == 0) return 0;
    return fail(c, EXIT_USAGE, "invalid %s '%s': %s", opt, s, err);
}

int cmd_replay_start(struct ctl *c)
{
    int64_t now = wall_ms(), since, until = 0, rate = 0, psince = 0, puntil = 0;
    int rc;
    int by_time = c->points_since || c->points_until;
    if (!c->cluster) return fail(c, EXIT_USAGE, "replay start needs --cluster NAME");
    if (!c->since && !by_time)
        return fail(c, EXIT_USAGE, "replay start needs --since TIME (or --points-since TIME)");
    /* Points may have entered Kafka long after their own time: search all it retains
     * unless told otherwise. */
    if (!c->since) c->since = "earliest";
    if ((rc = time_arg(c, "--since", c->since, now, TSR_CTL_TIME_EARLIEST, &since))) return rc;
    if (c->points_since && (rc = time_arg(c, "--points-since", c->points_since, now, 0, &psince)))
        return rc;
    if (c->points_until && (rc = time_arg(c, "--points-until", c->points_until, now, 0, &puntil)))
        return rc;
    if (c->points_until && c->points_since && puntil <= psince)
        return fail(c, EXIT_USAGE, "invalid --points-until '%s': not after --points-since '%s'",
                    c->points_until, c->points_since);
    if (c->until && (rc = time_arg(c, "--until", c->until, now, 0, &until))) return rc;
    if (c->until && until <= since)
        return fail(c, EXIT_USAGE, "invalid --until '%s': not after --since '%s'", c->until,
                    c->since);
    if (c->rate) {
        char *end;
        errno = 0;
        long long v = strtoll(c->rate, &end, 10);
        if (errno || end == c->rate || *end || v <= 0)
            return fail(c, EXIT_USAGE,
                        "invalid --rate '%s': expected points per second, a whole number above 0",
                        c->rate);
        rate = v;
    }

    char who[300];
    struct tsr_buf body = {0};
    tsr_buf_puts(&body, "{\"cluster\":");
    tsr_json_string(&body, c->cluster);
    tsr_buf_printf(&body, ",\"since_ms\":%lld", (long long)since);
    if (c->until) tsr_buf_printf(&body, ",\"until_ms\":%lld", (long long)until);
    if (rate) tsr_buf_printf(&body, ",\"rate\":%lld", (long long)rate);
    if (c->db) tsr_buf_puts(&body, ",\"db\":"), tsr_json_string(&body, c->db);
    if (c->measurement)
        tsr_buf_puts(&body, ",\"measurement_prefix\":"), tsr_json_string(&body, c->measurement);
    if (psince) tsr_buf_printf(&body, ",\"points_since_ms\":%lld", (long long)psince);
    if (puntil) tsr_buf_printf(&body, ",\"points_until_ms\":%lld", (long long)puntil);
    if (c->given & OPT_DRY_RUN) tsr_buf_puts(&body, ",\"dry_run\":true");
    tsr_buf_puts(&body, ",\"started_by\":");
    tsr_json_string(&body, started_by(who, sizeof(who)));
    tsr_buf_puts(&body, "}");
    tsr_buf_putc(&body, '\0');

    struct tsr_jsonr *job = NULL;
    struct tsr_buf raw = {0};
    rc = call(c, "POST", "/replays", body.data, "cannot start replay", &job, &raw);
    tsr_buf_free(&body);
    if (rc) return rc;
    c->id = tsr_jsonr_get_int(job, "id", 0);
    int waiting = (c->given & (OPT_WAIT | OPT_DRY_RUN)) != 0;
    if (c->json && !waiting) print_json(raw.data, raw.len);
    if (!c->json) print_job(job, 0);
    tsr_jsonr_free(&job);
    tsr_buf_free(&raw);
    if (!waiting) return EXIT_OK;
    if (c->id <= 0)
        return fail(c, EXIT_FAIL, "cannot follow the replay: the server's answer has no job id");
    if (!c->json) putchar('\n');
    return wait_job(c, (c->given & OPT_DRY_RUN) != 0);
}

int cmd_replay_list(struct ctl *c)
{
    struct tsr_jsonr *doc = NULL;
    struct tsr_buf raw = {0};
    int rc = call(c, "GET", "/replays", NULL, "cannot list replays", &doc, &raw);
    if (rc) return rc;
    const struct tsr_jsonr *jobs = tsr_jsonr_get(doc, "replays");
    if (c->json) {
        print_json(raw.data, raw.len);
    } else if (tsr_jsonr_len(jobs) == 0) {
        printf("no replays\n");
    } else {
        struct table t;
        table_init(&t, ">ID", "CLUSTER", "STATE", "SINCE", "UNTIL", ">PROGRESS", ">POINTS",
                   "STARTED BY");
        for (size_t k = 0; k < tsr_jsonr_len(jobs); k++) {
            const struct tsr_jsonr *job = tsr_jsonr_at(jobs, k);
            char id[24], st[48], since[40], until[40], pct[16], pts[32];
            int64_t s = tsr_jsonr_get_int(job, "since_ms", 0),
                    u = tsr_jsonr_get_int(job, "until_ms", 0);
            snprintf(id, sizeof(id), "%lld", (long long)tsr_jsonr_get_int(job, "id", 0));
            snprintf(st, sizeof(st), "%s%s", tsr_jsonr_get_str(job, "state", "?"),
                     tsr_jsonr_get_bool(job, "dry_run", 0) ? " (dry run)" : "");
            if (s)
                fmt_time(s, since, sizeof(since));
            else
                snprintf(since, sizeof(since), "earliest");
            fmt_time(u ? u : tsr_jsonr_get_int(job, "created_ms", 0), until, sizeof(until));
            snprintf(pct, sizeof(pct), "%.1f%%", tsr_jsonr_get_num(job, "progress", 0) * 100);
            fmt_count(tsr_jsonr_get_int(job, "points_sent", 0), pts, sizeof(pts));
            table_row(&t, id, tsr_jsonr_get_str(job, "cluster", "?"), st, since, until, pct, pts,
                      tsr_jsonr_get_str(job, "started_by", ""));
        }
        table_print(&t);
        table_free(&t);
    }
    tsr_jsonr_free(&doc);
    tsr_buf_free(&raw);
    return EXIT_OK;
}

int cmd_replay_show(struct ctl *c)
{
    if (c->given & OPT_FOLLOW) {
        struct tsr_jsonr *job = NULL;
        char path[64], what[64];
        int rc, dry = 0;
        if (!c->json) {
            /* The job first, so the operator sees what is being followed. */
            snprintf(path, sizeof(path), "/replays/%lld", (long long)c->id);
            snprintf(what, sizeof(what), "cannot show replay %lld", (long long)c->id);
            if ((rc = call(c, "GET", path, NULL, what, &job, NULL))) return rc;
            print_job(job, 0);
            putchar('\n');
            dry = tsr_jsonr_get_bool(job, "dry_run", 0);
            tsr_jsonr_free(&job);
        }
        return wait_job(c, dry);
    }
    struct tsr_jsonr *job = NULL;
    struct tsr_buf raw = {0};
    char path[64], what[64];
    snprintf(path, sizeof(path), "/replays/%lld", (long long)c->id);
    snprintf(what, sizeof(what), "cannot show replay %lld", (long long)c->id);
    int rc = call(c, "GET", path, NULL, what, &job, &raw);
    if (rc) return rc;
    if (c->json) {
        print_json(raw.data, raw.len);
    } else {
        print_job(job, 1);
        if (tsr_jsonr_get_bool(job, "dry_run", 0) &&
            job_finished(tsr_jsonr_get_str(job, "state", ""))) {
            putchar('\n');
            print_measurements(job);
        }
    }
    tsr_jsonr_free(&job);
    tsr_buf_free(&raw);
    return EXIT_OK;
}

/* pause, resume, cancel: POST /replays/ID/VERB. */
static int replay_verb(struct ctl *c, const char *verb)
{
    struct tsr_jsonr *job = NULL;
    struct tsr_buf raw = {0};
    char path[96], what[96];
    snprintf(path, sizeof(path), "/replays/%lld/%s", (long long)c->id, verb);
    snprintf(what, sizeof(what), "cannot %s replay %lld", verb, (long long)c->id);
    int rc = call(c, "POST", path, "", what, &job, &raw);
    if (rc) return rc;
    if (c->json)
        print_json(raw.data, raw.len);
    else
        printf("replay %lld: %s\n", (long long)c->id, tsr_jsonr_get_str(job, "state", "?"));
    tsr_jsonr_free(&job);
    tsr_buf_free(&raw);
    return EXIT_OK;
}

int cmd_replay_pause(struct ctl *c)
{
    return replay_verb(c, "pause");
}

int cmd_replay_resume(struct ctl *c)
{
    return replay_verb(c, "resume");
}

int cmd_replay_cancel(struct ctl *c)
{
    return replay_verb(c, "cancel");
}

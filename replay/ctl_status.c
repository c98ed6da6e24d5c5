/* replay/ctl_status.c — the commands that read GET /status: status (clusters, Kafka,
 * running replays), checkpoints (positions per partition) and ledger (when a cluster
 * fell out of sync, with the replay command that resends each interval). */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#include "relay/core/buf.h"
#include "replay/ctl_json.h"
#include "replay/ctl_text.h"
#include "replay/ctl_time.h"

#define LAST_ERROR_WIDTH 60

static const struct tsr_jsonr *find_cluster(const struct tsr_jsonr *clusters, const char *name)
{
    for (size_t k = 0; k < tsr_jsonr_len(clusters); k++) {
        const struct tsr_jsonr *cl = tsr_jsonr_at(clusters, k);
        if (strcmp(tsr_jsonr_get_str(cl, "name", ""), name) == 0) return cl;
    }
    return NULL;
}

static int no_such_cluster(struct ctl *c, const struct tsr_jsonr *clusters)
{
    struct tsr_buf names = {0};
    for (size_t k = 0; k < tsr_jsonr_len(clusters); k++)
        tsr_buf_printf(&names, "%s%s", k ? ", " : "",
                       tsr_jsonr_get_str(tsr_jsonr_at(clusters, k), "name", "?"));
    tsr_buf_putc(&names, '\0');
    fail(c, EXIT_FAIL, "no such cluster '%s' (configured: %s)", c->cluster,
         names.len > 1 ? names.data : "none");
    tsr_buf_free(&names);
    return EXIT_FAIL;
}

/* The spool: off, empty, or what it holds and how fast it drains. */
static void print_spool(const struct tsr_jsonr *sp)
{
    char b1[32], b2[32], b3[32], b4[32], b5[32];
    if (!sp || !tsr_jsonr_get_bool(sp, "enabled", 0)) {
        printf("spool: off (writes kafka cannot take get 503)\n");
        return;
    }
    const char *state = tsr_jsonr_get_str(sp, "state", "?");
    if (strcmp(state, "empty") == 0) {
        printf("spool: empty (limit %s)\n",
               fmt_bytes((double)tsr_jsonr_get_int(sp, "max_bytes", 0), b1, sizeof(b1)));
        return;
    }
    printf("spool: %s, %s records (%s of %s), oldest %.0fs old; draining %s records/s (%s/s)\n",
           state, fmt_count(tsr_jsonr_get_int(sp, "records", 0), b1, sizeof(b1)),
           fmt_bytes((double)tsr_jsonr_get_int(sp, "bytes", 0), b2, sizeof(b2)),
           fmt_bytes((double)tsr_jsonr_get_int(sp, "max_bytes", 0), b3, sizeof(b3)),
           tsr_jsonr_get_num(sp, "oldest_age_s", 0),
           fmt_count((int64_t)tsr_jsonr_get_num(sp, "drain_rate", 0), b4, sizeof(b4)),
           fmt_bytes(tsr_jsonr_get_num(sp, "drain_bytes_rate", 0), b5, sizeof(b5)));
}

/* The ingest rules and the cardinality guard: what they dropped and refused, and the
 * measurements near or over their cap with the tag keys that make their series. */
static void print_shaping(const struct tsr_jsonr *sh)
{
    char b1[32], b2[32];
    if (!sh) return;
    printf("rules: %lld at ingest, %s points dropped\n",
           (long long)tsr_jsonr_get_int(sh, "rules", 0),
           fmt_count(tsr_jsonr_get_int(sh, "points_dropped", 0), b1, sizeof(b1)));
    const struct tsr_jsonr *g = tsr_jsonr_get(sh, "cardinality");
    if (!g || !tsr_jsonr_get_bool(g, "enabled", 0)) {
        printf("cardinality guard: off\n");
        return;
    }
    char w[32];
    tsr_ctl_duration_format(tsr_jsonr_get_int(g, "window_ms", 0), w, sizeof(w));
    printf("cardinality guard: %s series this %s window, %s points refused in it\n",
           fmt_count(tsr_jsonr_get_int(g, "series", 0), b1, sizeof(b1)), w,
           fmt_count(tsr_jsonr_get_int(g, "refused_window", 0), b2, sizeof(b2)));
    const struct tsr_jsonr *ms = tsr_jsonr_get(g, "measurements");
    for (size_t i = 0; i < tsr_jsonr_len(ms); i++) {
        const struct tsr_jsonr *m = tsr_jsonr_at(ms, i);
        int64_t n = tsr_jsonr_get_int(m, "series", 0), cap = tsr_jsonr_get_int(m, "cap", 0);
        printf("  %s %s/%s: %lld of %lld series, %s points refused; top tags:",
               n >= cap ? "OVER" : "near", tsr_jsonr_get_str(m, "db", "?"),
               tsr_jsonr_get_str(m, "measurement", "?"), (long long)n, (long long)cap,
               fmt_count(tsr_jsonr_get_int(m, "refused", 0), b1, sizeof(b1)));
        const struct tsr_jsonr *tags = tsr_jsonr_get(m, "top_tags");
        for (size_t t = 0; t < tsr_jsonr_len(tags); t++)
            printf(" %s (~%lld values)", tsr_jsonr_get_str(tsr_jsonr_at(tags, t), "key", "?"),
                   (long long)tsr_jsonr_get_int(tsr_jsonr_at(tags, t), "distinct_values", 0));
        printf("\n");
    }
}

static void lag_text(double s, char *buf, size_t len)
{
    if (s < 60)
        snprintf(buf, len, "%.1fs", s);
    else
        tsr_ctl_duration_format((int64_t)(s * 1000), buf, len);
}

/* One line, at most LAST_ERROR_WIDTH characters: errors can quote a whole response. */
static void short_text(const char *s, char *buf, size_t len)
{
    size_t o = 0, chars = 0;
    for (; *s && o + 4 < len; s++) {
        if (((unsigned char)*s & 0xC0) != 0x80 && ++chars > LAST_ERROR_WIDTH - 3) {
            while (o && buf[o - 1] == ' ')
                o--;
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        buf[o++] = (*s == '\n' || *s == '\r' || *s == '\t') ? ' ' : *s;
    }
    buf[o] = '\0';
    if (o == 0) snprintf(buf, len, "-");
}

/* Points a cluster refuses for their database or retention policy alone: they wait in
 * Kafka while the rest flows, and what would let them through is the reason. */
static void print_parked(const struct tsr_jsonr *clusters)
{
    struct table t;
    int any = 0;
    table_init(&t, "CLUSTER", "PARKED DB/RP", ">POINTS", "SINCE", ">TRIES", "REASON");
    for (size_t k = 0; k < tsr_jsonr_len(clusters); k++) {
        const struct tsr_jsonr *cl = tsr_jsonr_at(clusters, k);
        const struct tsr_jsonr *parked = tsr_jsonr_get(cl, "parked");
        for (size_t i = 0; i < tsr_jsonr_len(parked); i++) {
            const struct tsr_jsonr *pk = tsr_jsonr_at(parked, i);
            char key[520], points[32], since[64], tries[32], reason[256];
            snprintf(key, sizeof(key), "%s/%s", tsr_jsonr_get_str(pk, "db", ""),
                     tsr_jsonr_get_str(pk, "rp", ""));
            fmt_count(tsr_jsonr_get_int(pk, "points", 0), points, sizeof(points));
            tsr_ctl_time_format(tsr_jsonr_get_int(pk, "since_ms", 0), since, sizeof(since));
            snprintf(tries, sizeof(tries), "%lld", (long long)tsr_jsonr_get_int(pk, "attempts", 0));
            short_text(tsr_jsonr_get_str(pk, "reason", ""), reason, sizeof(reason));
            table_row(&t, tsr_jsonr_get_str(cl, "name", "?"), key, points, since, tries, reason);
            any = 1;
        }
    }
    if (any) {
        printf("\nparked (waiting in Kafka; every other database flows):\n");
        table_print(&t);
    }
    table_free(&t);
}

/* Fresh first: a backlog filling in behind the new points, on this relay's share. */
static void print_filling(const struct tsr_jsonr *clusters)
{
    for (size_t k = 0; k < tsr_jsonr_len(clusters); k++) {
        const struct tsr_jsonr *cl = tsr_jsonr_at(clusters, k);
        const struct tsr_jsonr *fill = tsr_jsonr_get(cl, "fill");
        if (tsr_jsonr_get_int(fill, "partitions", 0) <= 0) continue;
        char records[32], points[32], since[64];
        tsr_ctl_time_format(tsr_jsonr_get_int(fill, "since_ms", 0), since, sizeof(since));
        printf("\n%s: new points go first; %s records of backlog on %lld partitions fill in "
               "behind (since %s, %s points so far)\n",
               tsr_jsonr_get_str(cl, "name", "?"),
               fmt_count(tsr_jsonr_get_int(fill, "records", 0), records, sizeof(records)),
               (long long)tsr_jsonr_get_int(fill, "partitions", 0), since,
               fmt_count(tsr_jsonr_get_int(fill, "points_filled", 0), points, sizeof(points)));
    }
}

static void print_status(const struct tsr_jsonr *st)
{
    char b1[64], b2[64], b3[64], b4[256];
    tsr_ctl_duration_format(tsr_jsonr_get_int(st, "uptime_s", 0) * 1000, b1, sizeof(b1));
    printf("tsrelay %s: up %s%s", tsr_jsonr_get_str(st, "datacenter", "?"), b1,
           tsr_jsonr_get_bool(st, "draining", 0) ? ", draining (not accepting writes)" : "");
    /* A fleet member: which one, and whether it runs the fleet's replays and ledger. */
    if (*tsr_jsonr_get_str(st, "instance", ""))
        printf("; instance %s%s", tsr_jsonr_get_str(st, "instance", ""),
               tsr_jsonr_get_bool(st, "coordinator", 0) ? " (the fleet's coordinator)" : "");
    printf("\n\n");

    const struct tsr_jsonr *clusters = tsr_jsonr_get(st, "clusters");
    if (tsr_jsonr_len(clusters) == 0) {
        printf("no clusters configured\n");
    } else {
        struct table t;
        table_init(&t, "CLUSTER", "STATE", "READY", ">LAG", ">LAG POINTS", "LAST ERROR");
        for (size_t k = 0; k < tsr_jsonr_len(clusters); k++) {
            const struct tsr_jsonr *cl = tsr_jsonr_at(clusters, k);
            lag_text(tsr_jsonr_get_num(cl, "lag_seconds", 0), b1, sizeof(b1));
            short_text(tsr_jsonr_get_str(cl, "last_error", ""), b4, sizeof(b4));
            table_row(&t, tsr_jsonr_get_str(cl, "name", "?"), tsr_jsonr_get_str(cl, "state", "?"),
                      tsr_jsonr_get_bool(cl, "ready", 0) ? "yes" : "no", b1,
                      fmt_count(tsr_jsonr_get_int(cl, "lag_points", 0), b2, sizeof(b2)), b4);
        }
        table_print(&t);
        table_free(&t);
        /* State and lag are the whole cluster's; this relay delivers its share. */
        struct tsr_buf share = {0};
        for (size_t k = 0; k < tsr_jsonr_len(clusters); k++) {
            const struct tsr_jsonr *cl = tsr_jsonr_at(clusters, k);
            if (!tsr_jsonr_get(cl, "partitions_owned")) continue;
            tsr_buf_printf(&share, "%s%s %lld/%zu", share.len ? ", " : "",
                           tsr_jsonr_get_str(cl, "name", "?"),
                           (long long)tsr_jsonr_get_int(cl, "partitions_owned", 0),
                           tsr_jsonr_len(tsr_jsonr_get(cl, "partitions")));
        }
        if (share.len) printf("\nthis relay delivers: %.*s partitions\n", (int)share.len, share.data);
        tsr_buf_free(&share);
        print_filling(clusters);
        print_parked(clusters);
    }

    const struct tsr_jsonr *k = tsr_jsonr_get(st, "kafka");
    printf("\nkafka: %s, %s; brokers %s, topic %s, %lld partitions; %s records in flight (%s); "
           "%s records produced, %s errors\n",
           tsr_jsonr_get_bool(k, "up", 0) ? "up" : "DOWN",
           tsr_jsonr_get_bool(k, "ready", 0) ? "ready" : "not ready",
           tsr_jsonr_get_str(k, "brokers", "?"), tsr_jsonr_get_str(k, "topic", "?"),
           (long long)tsr_jsonr_get_int(k, "partitions", 0),
           fmt_count(tsr_jsonr_get_int(k, "inflight_records", 0), b1, sizeof(b1)),
           fmt_bytes((double)tsr_jsonr_get_int(k, "inflight_bytes", 0), b2, sizeof(b2)),
           fmt_count(tsr_jsonr_get_int(k, "records", 0), b3, sizeof(b3)),
           fmt_count(tsr_jsonr_get_int(k, "errors", 0), b4, sizeof(b4)));
    /* Why no broker is up: a wrong password or certificate says so here. */
    if (*tsr_jsonr_get_str(k, "last_error", ""))
        printf("kafka unreachable because: %s\n", tsr_jsonr_get_str(k, "last_error", ""));
    print_spool(tsr_jsonr_get(st, "spool"));
    print_shaping(tsr_jsonr_get(st, "shaping"));

    const struct tsr_jsonr *replays = tsr_jsonr_get(st, "replays");
    if (tsr_jsonr_len(replays) == 0) {
        printf("\nno replays running\n");
        return;
    }
    printf("\nreplays:\n");
    struct table t;
    table_init(&t, ">ID", "CLUSTER", "STATE", ">PROGRESS", ">RATE", ">ETA");
    for (size_t r = 0; r < tsr_jsonr_len(replays); r++) {
        const struct tsr_jsonr *job = tsr_jsonr_at(replays, r);
        char id[24], pct[16], rate[48], eta[32];
        snprintf(id, sizeof(id), "%lld", (long long)tsr_jsonr_get_int(job, "id", 0));
        snprintf(pct, sizeof(pct), "%.1f%%", tsr_jsonr_get_num(job, "progress", 0) * 100);
        snprintf(rate, sizeof(rate), "%s/s",
                 fmt_count((int64_t)(tsr_jsonr_get_num(job, "rate_now", 0) + 0.5), b1, sizeof(b1)));
        fmt_eta(job_eta_snapshot(job), eta, sizeof(eta));
        table_row(&t, id, tsr_jsonr_get_str(job, "cluster", "?"),
                  tsr_jsonr_get_str(job, "state", "?"), pct, rate, eta);
    }
    table_print(&t);
    table_free(&t);
}

int cmd_status(struct ctl *c)
{
    struct tsr_jsonr *st = NULL;
    struct tsr_buf raw = {0};
    int rc = call(c, "GET", "/status", NULL, "cannot read status", &st, &raw);
    if (rc) return rc;
    if (c->json)
        print_json(raw.data, raw.len);
    else
        print_status(st);
    tsr_jsonr_free(&st);
    tsr_buf_free(&raw);
    return EXIT_OK;
}

int cmd_checkpoints(struct ctl *c)
{
    struct tsr_jsonr *st = NULL;
    int rc = call(c, "GET", "/status", NULL, "cannot read checkpoints", &st, NULL);
    if (rc) return rc;
    const struct tsr_jsonr *clusters = tsr_jsonr_get(st, "clusters");
    if (c->cluster && !find_cluster(clusters, c->cluster)) {
        rc = no_such_cluster(c, clusters);
        goto out;
    }
    struct table t;
    struct tsr_buf js = {0};
    /* A relay of a fleet names the relay delivering each partition. */
    int owners = 0;
    for (size_t k = 0; k < tsr_jsonr_len(clusters); k++) {
        const struct tsr_jsonr *parts = tsr_jsonr_get(tsr_jsonr_at(clusters, k), "partitions");
        for (size_t p = 0; p < tsr_jsonr_len(parts); p++)
            owners |= tsr_jsonr_get(tsr_jsonr_at(parts, p), "owner") != NULL;
    }
    if (owners)
        table_init(&t, "CLUSTER", ">PARTITION", ">POSITION", ">HIGH", ">LAG", "DELIVERED BY");
    else
        table_init(&t, "CLUSTER", ">PARTITION", ">POSITION", ">HIGH", ">LAG");
    tsr_buf_putc(&js, '[');
    for (size_t k = 0, nsel = 0; k < tsr_jsonr_len(clusters); k++) {
        const struct tsr_jsonr *cl = tsr_jsonr_at(clusters, k);
        const char *name = tsr_jsonr_get_str(cl, "name", "?");
        if (c->cluster && strcmp(name, c->cluster) != 0) continue;
        /* --json: the server's own text of each name and partition list. */
        size_t nl, pl;
        const char *nraw = tsr_jsonr_raw(tsr_jsonr_get(cl, "name"), &nl);
        const char *praw = tsr_jsonr_raw(tsr_jsonr_get(cl, "partitions"), &pl);
        tsr_buf_printf(&js, "%s{\"name\":%.*s,\"partitions\":%.*s}", nsel++ ? "," : "", (int)nl,
                       nraw ? nraw : "", (int)(praw ? pl : 2), praw ? praw : "[]");
        const struct tsr_jsonr *parts = tsr_jsonr_get(cl, "partitions");
        for (size_t p = 0; p < tsr_jsonr_len(parts); p++) {
            const struct tsr_jsonr *pp = tsr_jsonr_at(parts, p);
            int64_t pos = tsr_jsonr_get_int(pp, "position", -1),
                    high = tsr_jsonr_get_int(pp, "high", -1);
            char pn[24], ps[24], hs[24], ls[24];
            snprintf(pn, sizeof(pn), "%lld", (long long)tsr_jsonr_get_int(pp, "partition", 0));
            snprintf(ps, sizeof(ps), pos >= 0 ? "%lld" : "-", (long long)pos);
            snprintf(hs, sizeof(hs), high >= 0 ? "%lld" : "-", (long long)high);
            snprintf(ls, sizeof(ls), pos >= 0 && high >= 0 ? "%lld" : "-",
                     (long long)(high > pos ? high - pos : 0));
            const char *owner = tsr_jsonr_get_str(pp, "owner", "");
            if (owners)
                table_row(&t, name, pn, ps, hs, ls, *owner ? owner : "-");
            else
                table_row(&t, name, pn, ps, hs, ls);
        }
    }
    tsr_buf_putc(&js, ']');
    if (c->json)
        print_json(js.data, js.len);
    else if (t.nrows)
        table_print(&t);
    else
        printf("no partitions assigned yet\n");
    table_free(&t);
    tsr_buf_free(&js);
out:
    tsr_jsonr_free(&st);
    return rc;
}

int cmd_ledger(struct ctl *c)
{
    struct tsr_jsonr *st = NULL;
    int rc = call(c, "GET", "/status", NULL, "cannot read the ledger", &st, NULL);
    if (rc) return rc;
    const struct tsr_jsonr *clusters = tsr_jsonr_get(st, "clusters");
    const struct tsr_jsonr *cl = find_cluster(clusters, c->cluster);
    if (!cl) {
        rc = no_such_cluster(c, clusters);
        goto out;
    }
    const struct tsr_jsonr *ledger = tsr_jsonr_get(cl, "ledger");
    if (c->json) {
        size_t len;
        const char *raw = tsr_jsonr_raw(ledger, &len);
        print_json(raw ? raw : "[]", raw ? len : 2);
        goto out;
    }
    if (tsr_jsonr_len(ledger) == 0) {
        printf("cluster '%s' has never been out of sync\n", c->cluster);
        goto out;
    }
    struct table t;
    char name[300];
    shell_word(c->cluster, name, sizeof(name));
    table_init(&t, ">ID", "KIND", "FROM", "TO", ">DURATION", "REASON");
    int64_t now = wall_ms();
    for (size_t k = 0; k < tsr_jsonr_len(ledger); k++) {
        const struct tsr_jsonr *e = tsr_jsonr_at(ledger, k);
        int64_t from = tsr_jsonr_get_int(e, "from_ms", 0), to = tsr_jsonr_get_int(e, "to_ms", 0);
        char id[24], fs[40], ts[40], dur[48], cmd[512];
        snprintf(id, sizeof(id), "%lld", (long long)tsr_jsonr_get_int(e, "id", 0));
        fmt_time(from, fs, sizeof(fs));
        if (to)
            fmt_time(to, ts, sizeof(ts));
        else
            snprintf(ts, sizeof(ts), "open");
        tsr_ctl_duration_format((to ? to : now) - from, dur, sizeof(dur));
        if (!to) strncat(dur, " so far", sizeof(dur) - strlen(dur) - 1);
        table_row(&t, id, tsr_jsonr_get_str(e, "kind", "?"), fs, ts, dur,
                  tsr_jsonr_get_str(e, "reason", ""));
        snprintf(cmd, sizeof(cmd), "    tsrelayctl replay start --cluster %s --since %s%s%s", name,
                 fs, to ? " --until " : "", to ? ts : "");
        table_under(&t, cmd);
    }
    table_print(&t);
    table_free(&t);
out:
    tsr_jsonr_free(&st);
    return rc;
}

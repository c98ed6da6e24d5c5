/* replay/ctl_verify.c — tsrelayctl verify: does a cluster hold what Kafka holds for it?
 *
 * For every window of point time in [--since, --until), the field values Kafka holds for
 * the cluster (its databases and rules applied, as delivery applies them; a value
 * written twice with the same series, field and timestamp counted once, as a TSDB
 * stores it) against what the cluster holds (InfluxDB: count(*) grouped by the windows;
 * VictoriaMetrics: the samples of its export). --repair then replays, by point time,
 * each run of windows that misses values, waits for the jobs, and verifies again.
 *
 * Kafka is read from the relay's config file (-c, replay/ctl_kafka.h), from entry time
 * --since minus LOOKBACK_MS; the cluster is asked with its own URL, credentials and CA
 * from the same file; replays go through the admin endpoint (-a). One thread, blocking. */
#include "ctl.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "relay/core/buf.h"
#include "relay/core/json.h"
#include "relay/core/lineproto.h"
#include "relay/deliver/route.h"
#include "relay/deliver/sink.h"
#include "relay/kafka/kafka.h"
#include "replay/ctl_json.h"
#include "replay/ctl_kafka.h"
#include "replay/ctl_text.h"
#include "replay/ctl_time.h"

/* Points entered Kafka this long before their own time may still be counted: later
 * than that (a backfill hours old) they are not read, and show as extra in the
 * cluster. */
#define LOOKBACK_MS    (60 * 60 * 1000)
#define MAX_WINDOWS    100000
#define MAX_DBS        64
#define REVERIFY_TRIES 5

/* The (database, retention policy) pairs Kafka had points of, to ask the cluster about. */
struct dbrp {
    char db[256], rp[256];
};

struct verify {
    const struct tsr_cluster_conf *cc;
    int vm; /* victoriametrics: no retention policies */
    int64_t since, until, window;
    int nwin;
    int64_t *kafka, *cluster; /* per window */
    uint64_t *seen;           /* open-addressing set of value hashes (0: empty) */
    size_t seen_cap, seen_n;
    struct dbrp dbs[MAX_DBS];
    int ndbs;
};

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h ? h : 1;
}

/* 1 if h was not in the set yet. */
static int seen_add(struct verify *v, uint64_t h)
{
    if (v->seen_n * 2 >= v->seen_cap) {
        size_t cap = v->seen_cap ? v->seen_cap * 2 : 1 << 16;
        uint64_t *n = calloc(cap, sizeof(*n));
        if (!n) abort();
        for (size_t i = 0; i < v->seen_cap; i++) {
            if (!v->seen[i]) continue;
            size_t j = v->seen[i] & (cap - 1);
            while (n[j])
                j = (j + 1) & (cap - 1);
            n[j] = v->seen[i];
        }
        free(v->seen);
        v->seen = n;
        v->seen_cap = cap;
    }
    size_t j = h & (v->seen_cap - 1);
    while (v->seen[j]) {
        if (v->seen[j] == h) return 0;
        j = (j + 1) & (v->seen_cap - 1);
    }
    v->seen[j] = h;
    v->seen_n++;
    return 1;
}

static void note_db(struct verify *v, const char *db, const char *rp)
{
    for (int i = 0; i < v->ndbs; i++)
        if (!strcmp(v->dbs[i].db, db) && !strcmp(v->dbs[i].rp, v->vm ? "" : rp)) return;
    if (v->ndbs == MAX_DBS) return;
    snprintf(v->dbs[v->ndbs].db, sizeof(v->dbs[0].db), "%s", db);
    snprintf(v->dbs[v->ndbs].rp, sizeof(v->dbs[0].rp), "%s", v->vm ? "" : rp);
    v->ndbs++;
}

/* Counts the field values of one normalised line of (db, rp) into its window. */
static void count_line(struct verify *v, const char *db, const char *rp, const char *line,
                       size_t len)
{
    struct tsr_lp_sections sec;
    tsr_lp_sections(line, len, &sec);
    const char *ts = line + len;
    while (ts > line && ts[-1] != ' ')
        ts--;
    int64_t ns = strtoll(ts, NULL, 10);
    int64_t ms = ns / 1000000;
    if (ms < v->since || ms >= v->until) return;
    int w = (int)((ms - v->since) / v->window);
    size_t klen = (size_t)(sec.fields - line) - 1; /* the series key */
    uint64_t base = tsr_fnv1a64(TSR_FNV1A64_INIT, db, strlen(db) + 1);
    base = tsr_fnv1a64(base, rp, strlen(rp) + 1);
    base = tsr_fnv1a64(base, line, klen);
    base = tsr_fnv1a64(base, &ns, sizeof(ns));
    const char *p = sec.fields, *end = sec.fields + sec.flen;
    struct tsr_lp_field f;
    while (tsr_lp_next_field(&p, end, &f) == 0) {
        if (seen_add(v, mix(tsr_fnv1a64(base, f.key, f.klen)))) v->kafka[w]++;
    }
}

static int read_kafka(struct ctl *c, const struct tsr_config *cf, struct verify *v)
{
    char err[256];
    struct tsr_route *route = NULL;
    int idx = (int)(v->cc - cf->clusters), rc;
    if (tsr_route_new(v->cc, idx, &route, err, sizeof(err)))
        return fail(c, EXIT_USAGE, "cluster '%s': %s", v->cc->name, err);
    struct ctl_reader rd;
    int64_t from = v->since > LOOKBACK_MS ? v->since - LOOKBACK_MS : 1;
    if ((rc = ctl_reader_open(c, cf, cf->kafka_topic, from, -1, 0, &rd))) {
        ctl_reader_close(&rd);
        tsr_route_free(&route);
        return rc;
    }
    struct tsr_buf body = {0};
    rd_kafka_message_t *m;
    while ((m = ctl_reader_next(c, &rd, &rc))) {
        char db[256], rp[256], kind[32];
        tsr_kafka_header(m, "db", db, sizeof(db));
        tsr_kafka_header(m, "rp", rp, sizeof(rp));
        tsr_kafka_header(m, "kind", kind, sizeof(kind));
        if (!*kind && (!c->db || !strcmp(db, c->db)) && tsr_route_wants(route, db)) {
            const char *target = *v->cc->database ? v->cc->database : db;
            const char *trp = *v->cc->retention_policy ? v->cc->retention_policy : rp;
            body.len = 0;
            if (tsr_route_append(route, db, &body, m->payload, m->len) > 0) note_db(v, target, trp);
            for (const char *p = body.data, *end = p + body.len; p && p < end;) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t n = (size_t)((nl ? nl : end) - p);
                if (n) count_line(v, target, trp, p, n);
                p = nl ? nl + 1 : end;
            }
        }
        rd_kafka_message_destroy(m);
    }
    ctl_reader_close(&rd);
    tsr_buf_free(&body);
    tsr_route_free(&route);
    return rc;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    tsr_buf_append(arg, data, size * n);
    return size * n;
}

/* GET url from the cluster, with its credentials and CA; the body into out. */
static int cluster_get(struct ctl *c, const struct tsr_cluster_conf *cc, const char *url,
                       struct tsr_buf *out)
{
    CURL *h = curl_easy_init();
    if (!h) abort();
    char errbuf[CURL_ERROR_SIZE] = "";
    out->len = 0;
    struct curl_slist *hdrs = cluster_curl(h, cc);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    CURLcode e = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (e != CURLE_OK)
        return fail(c, EXIT_UNREACHABLE, "cluster '%s' at %s: %s", cc->name, cc->urls[0],
                    *errbuf ? errbuf : curl_easy_strerror(e));
    if (status != 200) {
        tsr_buf_putc(out, '\0');
        return fail(c, EXIT_FAIL, "cluster '%s' answered HTTP %ld: %.300s", cc->name, status,
                    out->data);
    }
    return EXIT_OK;
}

static void add_window(struct verify *v, int64_t t_ms, int64_t n)
{
    if (t_ms >= v->since && t_ms < v->until) v->cluster[(t_ms - v->since) / v->window] += n;
}

/* InfluxDB: count(*) of every measurement, grouped by windows aligned on --since. */
static int count_influx(struct ctl *c, struct verify *v, const struct dbrp *d)
{
    struct tsr_buf q = {0}, url = {0}, out = {0};
    tsr_buf_puts(&q, "SELECT count(*) FROM ");
    if (*d->rp) tsr_buf_printf(&q, "\"%s\".", d->rp);
    tsr_buf_printf(&q,
                   "/.*/ WHERE time >= %" PRId64 "ms AND time < %" PRId64 "ms GROUP BY "
                   "time(%" PRId64 "ms, %" PRId64 "ms)",
                   v->since, v->until, v->window, v->since % v->window);
    tsr_buf_putc(&q, '\0');
    char *eq = curl_easy_escape(NULL, q.data, 0), *edb = curl_easy_escape(NULL, d->db, 0);
    tsr_buf_printf(&url, "%s/query?epoch=ms&db=%s&q=%s", v->cc->urls[0], edb, eq);
    tsr_buf_putc(&url, '\0');
    curl_free(eq);
    curl_free(edb);
    int rc = cluster_get(c, v->cc, url.data, &out);
    struct tsr_jsonr *doc = NULL;
    char err[256];
    if (!rc && tsr_jsonr_parse(out.data, out.len, &doc, err, sizeof(err)))
        rc = fail(c, EXIT_FAIL, "cluster '%s': its answer is not JSON: %s", v->cc->name, err);
    if (!rc) {
        const struct tsr_jsonr *res = tsr_jsonr_at(tsr_jsonr_get(doc, "results"), 0);
        const char *qerr = tsr_jsonr_get_str(res, "error", NULL);
        if (qerr)
            rc = fail(c, EXIT_FAIL, "cluster '%s', database '%s': %s", v->cc->name, d->db, qerr);
        const struct tsr_jsonr *series = tsr_jsonr_get(res, "series");
        for (size_t i = 0; !rc && i < tsr_jsonr_len(series); i++) {
            const struct tsr_jsonr *rows = tsr_jsonr_get(tsr_jsonr_at(series, i), "values");
            for (size_t r = 0; r < tsr_jsonr_len(rows); r++) {
                const struct tsr_jsonr *row = tsr_jsonr_at(rows, r);
                int64_t n = 0;
                for (size_t k = 1; k < tsr_jsonr_len(row); k++)
                    n += (int64_t)tsr_jsonr_num(tsr_jsonr_at(row, k), 0);
                add_window(v, (int64_t)tsr_jsonr_num(tsr_jsonr_at(row, 0), 0), n);
            }
        }
    }
    tsr_jsonr_free(&doc);
    tsr_buf_free(&q);
    tsr_buf_free(&url);
    tsr_buf_free(&out);
    return rc;
}

/* VictoriaMetrics: every sample of the database in the range, from its export. */
static int count_vm(struct ctl *c, struct verify *v, const struct dbrp *d)
{
    struct tsr_buf url = {0}, out = {0}, sel = {0};
    tsr_buf_puts(&sel, "{db=");
    tsr_json_string(&sel, d->db);
    tsr_buf_putc(&sel, '}');
    tsr_buf_putc(&sel, '\0');
    char *es = curl_easy_escape(NULL, sel.data, 0);
    tsr_buf_printf(&url, "%s/api/v1/export?match[]=%s&start=%.3f&end=%.3f", v->cc->urls[0], es,
                   (double)v->since / 1000.0, (double)(v->until - 1) / 1000.0);
    tsr_buf_putc(&url, '\0');
    curl_free(es);
    int rc = cluster_get(c, v->cc, url.data, &out);
    for (const char *p = out.data, *end = p + out.len; !rc && p && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        struct tsr_jsonr *doc = NULL;
        char err[256];
        if (n && tsr_jsonr_parse(p, n, &doc, err, sizeof(err)) == 0) {
            const struct tsr_jsonr *ts = tsr_jsonr_get(doc, "timestamps");
            for (size_t i = 0; i < tsr_jsonr_len(ts); i++)
                add_window(v, (int64_t)tsr_jsonr_num(tsr_jsonr_at(ts, i), 0), 1);
        } else if (n) {
            rc = fail(c, EXIT_FAIL, "cluster '%s': an export line is not JSON: %s", v->cc->name,
                      err);
        }
        tsr_jsonr_free(&doc);
        p = nl ? nl + 1 : end;
    }
    tsr_buf_free(&sel);
    tsr_buf_free(&url);
    tsr_buf_free(&out);
    return rc;
}

static int count_cluster(struct ctl *c, struct verify *v)
{
    memset(v->cluster, 0, sizeof(*v->cluster) * (size_t)v->nwin);
    if (v->vm) {
        /* The force_flush of the tests' VictoriaMetrics is not the operator's to call:
         * what it acknowledged a second ago may not be searchable yet. */
        for (int i = 0; i < v->ndbs; i++) {
            int rc = count_vm(c, v, &v->dbs[i]);
            if (rc) return rc;
        }
        return EXIT_OK;
    }
    for (int i = 0; i < v->ndbs; i++) {
        int rc = count_influx(c, v, &v->dbs[i]);
        if (rc) return rc;
    }
    return EXIT_OK;
}

static int verify_range(struct ctl *c, const struct tsr_config *cf, struct verify *v)
{
    free(v->seen);
    v->seen = NULL;
    v->seen_cap = v->seen_n = 0;
    v->ndbs = 0;
    if (c->db) note_db(v, c->db, "");
    memset(v->kafka, 0, sizeof(*v->kafka) * (size_t)v->nwin);
    int rc = read_kafka(c, cf, v);
    return rc ? rc : count_cluster(c, v);
}

/* Prints the windows (all of them with --json; those that differ otherwise) unless
 * quiet, and returns the number that differ. */
static int report(struct ctl *c, const struct verify *v, int quiet)
{
    int differ = 0;
    int64_t tk = 0, tc = 0;
    struct table t;
    table_init(&t, "WINDOW", ">KAFKA", ">CLUSTER", "VERDICT");
    struct tsr_buf js = {0};
    tsr_buf_puts(&js, "{\"cluster\":");
    tsr_json_string(&js, v->cc->name);
    tsr_buf_printf(&js,
                   ",\"since_ms\":%" PRId64 ",\"until_ms\":%" PRId64 ",\"window_ms\":%" PRId64
                   ",\"windows\":[",
                   v->since, v->until, v->window);
    for (int w = 0; w < v->nwin; w++) {
        int64_t k = v->kafka[w], n = v->cluster[w];
        int64_t start = v->since + (int64_t)w * v->window;
        int64_t end = start + v->window < v->until ? start + v->window : v->until;
        tk += k, tc += n;
        differ += k != n;
        tsr_buf_printf(&js,
                       "%s{\"start_ms\":%" PRId64 ",\"end_ms\":%" PRId64 ",\"kafka\":%" PRId64
                       ",\"cluster\":%" PRId64 ",\"missing\":%" PRId64 ",\"extra\":%" PRId64 "}",
                       w ? "," : "", start, end, k, n, k > n ? k - n : 0, n > k ? n - k : 0);
        if (k != n) {
            char when[40], a[32], b[32], verdict[64];
            snprintf(verdict, sizeof(verdict), "%s %s", k > n ? "missing" : "extra",
                     fmt_count(k > n ? k - n : n - k, a, sizeof(a)));
            table_row(&t, fmt_time(start, when, sizeof(when)), fmt_count(k, a, sizeof(a)),
                      fmt_count(n, b, sizeof(b)), verdict);
        }
    }
    tsr_buf_printf(
        &js, "],\"kafka\":%" PRId64 ",\"cluster_values\":%" PRId64 ",\"differ\":%d,\"equal\":%s}",
        tk, tc, differ, differ ? "false" : "true");
    if (quiet) {
    } else if (c->json) {
        print_json(js.data, js.len);
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
    tsr_buf_free(&js);
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
static int repair(struct ctl *c, const struct verify *v)
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
                       v->since > LOOKBACK_MS ? v->since - LOOKBACK_MS : 1, from, to);
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

int cmd_verify(struct ctl *c)
{
    struct tsr_config *cf = NULL;
    struct verify v = {0};
    char err[1024];
    int64_t now = wall_ms();
    int rc = EXIT_OK;
    if (!c->config) return fail(c, EXIT_USAGE, "verify needs -c FILE: the relay's config file");
    if (!c->cluster) return fail(c, EXIT_USAGE, "verify needs --cluster NAME");
    if (!c->since) return fail(c, EXIT_USAGE, "verify needs --since TIME (points' own time)");
    if (tsr_ctl_time_parse(c->since, now, 0, &v.since, err, sizeof(err)))
        return fail(c, EXIT_USAGE, "invalid --since '%s': %s", c->since, err);
    v.until = now;
    if (c->until && tsr_ctl_time_parse(c->until, now, 0, &v.until, err, sizeof(err)))
        return fail(c, EXIT_USAGE, "invalid --until '%s': %s", c->until, err);
    if (v.until <= v.since)
        return fail(c, EXIT_USAGE, "invalid --until: not after --since '%s'", c->since);
    v.window = 5 * 60000;
    if (c->window && parse_window(c->window, &v.window))
        return fail(c, EXIT_USAGE, "invalid --window '%s': expected a duration like 30s, 5m, 1h",
                    c->window);
    if ((v.until - v.since) / v.window >= MAX_WINDOWS)
        return fail(c, EXIT_USAGE, "--window '%s' makes more than %d windows",
                    c->window ? c->window : "5m", MAX_WINDOWS);
    v.nwin = (int)((v.until - v.since + v.window - 1) / v.window);
    if (tsr_config_load(c->config, &cf, err, sizeof(err))) return fail(c, EXIT_USAGE, "%s", err);
    for (size_t i = 0; i < cf->nclusters; i++)
        if (!strcmp(cf->clusters[i].name, c->cluster)) v.cc = &cf->clusters[i];
    if (!v.cc) {
        rc = fail(c, EXIT_USAGE, "no cluster '%s' in %s", c->cluster, c->config);
        goto out;
    }
    if (strcmp(v.cc->type, "influxdb") && strcmp(v.cc->type, "victoriametrics")) {
        rc = fail(c, EXIT_USAGE, "verify counts influxdb and victoriametrics clusters; '%s' is %s",
                  v.cc->name, v.cc->type);
        goto out;
    }
    v.vm = !strcmp(v.cc->type, "victoriametrics");
    v.kafka = calloc((size_t)v.nwin, sizeof(*v.kafka));
    v.cluster = calloc((size_t)v.nwin, sizeof(*v.cluster));
    if (!v.kafka || !v.cluster) abort();
    if ((rc = verify_range(c, cf, &v))) goto out;
    int repairing = c->given & OPT_REPAIR;
    int differ = report(c, &v, repairing && c->json); /* --json: the last report only */
    if (differ && repairing) {
        if ((rc = repair(c, &v))) goto out;
        /* A TSDB makes points searchable a moment after it acknowledged them
         * (VictoriaMetrics: its pending rows are flushed every second). */
        for (int i = 0; i < REVERIFY_TRIES && differ; i++) {
            struct timespec ts = {2, 0};
            nanosleep(&ts, NULL);
            if ((rc = verify_range(c, cf, &v))) goto out;
            differ = report(c, &v, 1);
        }
        if (!c->json) printf("after the repair:\n");
        differ = report(c, &v, 0);
    } else if (repairing && c->json) {
        report(c, &v, 0);
    }
    rc = differ ? fail(c, EXIT_FAIL, "cluster '%s' differs from kafka in %d window%s", v.cc->name,
                       differ, differ == 1 ? "" : "s")
                : EXIT_OK;
out:
    free(v.kafka);
    free(v.cluster);
    free(v.seen);
    tsr_config_free(&cf);
    return rc;
}

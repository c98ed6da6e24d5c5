/* replay/verify.c — see verify.h. */
#include "replay/verify.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "relay/core/buf.h"
#include "relay/core/json.h"
#include "relay/core/lineproto.h"
#include "relay/deliver/route.h"
#include "relay/deliver/sink.h"
#include "relay/kafka/kafka.h"
#include "replay/ctl_json.h"
#include "replay/topic_reader.h"

static enum tsr_verify_rc say(enum tsr_verify_rc rc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum tsr_verify_rc say(enum tsr_verify_rc rc, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

static int stopped(const struct tsr_verify *v)
{
    return v->stop && __atomic_load_n(v->stop, __ATOMIC_RELAXED);
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h ? h : 1;
}

/* 1 if h was not in the set yet. */
static int seen_add(struct tsr_verify *v, uint64_t h)
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

static void note_db(struct tsr_verify *v, const char *db, const char *rp)
{
    for (int i = 0; i < v->ndbs; i++)
        if (!strcmp(v->dbs[i].db, db) && !strcmp(v->dbs[i].rp, v->vm ? "" : rp)) return;
    if (v->ndbs == TSR_VERIFY_MAX_DBS) return;
    snprintf(v->dbs[v->ndbs].db, sizeof(v->dbs[0].db), "%s", db);
    snprintf(v->dbs[v->ndbs].rp, sizeof(v->dbs[0].rp), "%s", v->vm ? "" : rp);
    v->ndbs++;
}

/* Counts the field values of one normalised line of (db, rp) into its window. */
static void count_line(struct tsr_verify *v, const char *db, const char *rp, const char *line,
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

static enum tsr_verify_rc read_kafka(struct tsr_verify *v, const struct tsr_config *cf,
                                     const char *client, char *err, size_t errlen)
{
    struct tsr_route *route = NULL;
    int idx = (int)(v->cc - cf->clusters);
    if (tsr_route_new(v->cc, idx, &route, err, errlen)) return TSR_VERIFY_FAILED;
    struct tsr_topic_reader rd;
    int64_t from = v->since > v->entry_margin_ms ? v->since - v->entry_margin_ms : 1;
    enum tsr_verify_rc rc = TSR_VERIFY_OK;
    if (tsr_topic_reader_open(cf, client, cf->kafka_topic, from, -1, 0, &rd, err, errlen)) {
        tsr_topic_reader_close(&rd);
        tsr_route_free(&route);
        return TSR_VERIFY_UNREACHABLE;
    }
    struct tsr_buf body = {0};
    rd_kafka_message_t *m;
    int failed = 0;
    while ((m = tsr_topic_reader_next(&rd, &failed, err, errlen))) {
        if (stopped(v)) {
            rd_kafka_message_destroy(m);
            failed = 1;
            snprintf(err, errlen, "stopped");
            break;
        }
        char db[256], rp[256], kind[32];
        tsr_kafka_header(m, "db", db, sizeof(db));
        tsr_kafka_header(m, "rp", rp, sizeof(rp));
        tsr_kafka_header(m, "kind", kind, sizeof(kind));
        if (!*kind && (!v->db || !strcmp(db, v->db)) && tsr_route_wants(route, db)) {
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
        if (v->progress && rd.done % 10000 == 0)
            v->progress(v->progress_opaque, rd.done, rd.total, 0);
    }
    if (failed) rc = TSR_VERIFY_UNREACHABLE;
    else if (v->progress) v->progress(v->progress_opaque, rd.done, rd.total, 1);
    tsr_topic_reader_close(&rd);
    tsr_buf_free(&body);
    tsr_route_free(&route);
    return rc;
}

/* curl's progress callback: a nonzero answer aborts the transfer. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    return stopped(arg);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    tsr_buf_append(arg, data, size * n);
    return size * n;
}

/* GET url from the cluster, with its credentials and CA; the body into out. */
static enum tsr_verify_rc cluster_get(const struct tsr_verify *v, const char *url,
                                      struct tsr_buf *out, char *err, size_t errlen)
{
    const struct tsr_cluster_conf *cc = v->cc;
    CURL *h = curl_easy_init();
    if (!h) abort();
    char errbuf[CURL_ERROR_SIZE] = "";
    out->len = 0;
    struct curl_slist *hdrs = tsr_sink_curl_easy(h, cc);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads other than main may verify */
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)v);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    CURLcode e = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (e != CURLE_OK)
        return say(TSR_VERIFY_UNREACHABLE, err, errlen, "cluster '%s' at %s: %s", cc->name,
                   cc->urls[0], *errbuf ? errbuf : curl_easy_strerror(e));
    if (status != 200) {
        tsr_buf_putc(out, '\0');
        return say(TSR_VERIFY_FAILED, err, errlen, "cluster '%s' answered HTTP %ld: %.300s",
                   cc->name, status, out->data);
    }
    return TSR_VERIFY_OK;
}

static void add_window(struct tsr_verify *v, int64_t t_ms, int64_t n)
{
    if (t_ms >= v->since && t_ms < v->until) v->cluster[(t_ms - v->since) / v->window] += n;
}

/* InfluxDB: count(*) of every measurement, grouped by windows aligned on since. */
static enum tsr_verify_rc count_influx(struct tsr_verify *v, const struct tsr_verify_dbrp *d,
                                       char *err, size_t errlen)
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
    enum tsr_verify_rc rc = cluster_get(v, url.data, &out, err, errlen);
    struct tsr_jsonr *doc = NULL;
    char jerr[256];
    if (!rc && tsr_jsonr_parse(out.data, out.len, &doc, jerr, sizeof(jerr)))
        rc = say(TSR_VERIFY_FAILED, err, errlen, "cluster '%s': its answer is not JSON: %s",
                 v->cc->name, jerr);
    if (!rc) {
        const struct tsr_jsonr *res = tsr_jsonr_at(tsr_jsonr_get(doc, "results"), 0);
        const char *qerr = tsr_jsonr_get_str(res, "error", NULL);
        if (qerr)
            rc = say(TSR_VERIFY_FAILED, err, errlen, "cluster '%s', database '%s': %s",
                     v->cc->name, d->db, qerr);
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
static enum tsr_verify_rc count_vm(struct tsr_verify *v, const struct tsr_verify_dbrp *d,
                                   char *err, size_t errlen)
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
    enum tsr_verify_rc rc = cluster_get(v, url.data, &out, err, errlen);
    for (const char *p = out.data, *end = p + out.len; !rc && p && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        struct tsr_jsonr *doc = NULL;
        char jerr[256];
        if (n && tsr_jsonr_parse(p, n, &doc, jerr, sizeof(jerr)) == 0) {
            const struct tsr_jsonr *ts = tsr_jsonr_get(doc, "timestamps");
            for (size_t i = 0; i < tsr_jsonr_len(ts); i++)
                add_window(v, (int64_t)tsr_jsonr_num(tsr_jsonr_at(ts, i), 0), 1);
        } else if (n) {
            rc = say(TSR_VERIFY_FAILED, err, errlen, "cluster '%s': an export line is not JSON: %s",
                     v->cc->name, jerr);
        }
        tsr_jsonr_free(&doc);
        p = nl ? nl + 1 : end;
    }
    tsr_buf_free(&sel);
    tsr_buf_free(&url);
    tsr_buf_free(&out);
    return rc;
}

int tsr_verify_init(struct tsr_verify *v, const struct tsr_cluster_conf *cc, int64_t since_ms,
                    int64_t until_ms, int64_t window_ms, const char *db, char *err,
                    size_t errlen)
{
    memset(v, 0, sizeof(*v));
    if (strcmp(cc->type, "influxdb") && strcmp(cc->type, "victoriametrics")) {
        snprintf(err, errlen, "verify counts influxdb and victoriametrics clusters; '%s' is %s",
                 cc->name, cc->type);
        return -1;
    }
    if (window_ms <= 0 || until_ms <= since_ms ||
        (until_ms - since_ms) / window_ms >= TSR_VERIFY_MAX_WINDOWS) {
        snprintf(err, errlen, "windows of %" PRId64 " ms from %" PRId64 " to %" PRId64
                 ": none, or more than %d", window_ms, since_ms, until_ms, TSR_VERIFY_MAX_WINDOWS);
        return -1;
    }
    v->cc = cc;
    v->vm = !strcmp(cc->type, "victoriametrics");
    v->db = db;
    v->since = since_ms;
    v->until = until_ms;
    v->window = window_ms;
    v->nwin = (int)((until_ms - since_ms + window_ms - 1) / window_ms);
    v->entry_margin_ms = TSR_VERIFY_LOOKBACK_MS;
    v->kafka = calloc((size_t)v->nwin, sizeof(*v->kafka));
    v->cluster = calloc((size_t)v->nwin, sizeof(*v->cluster));
    if (!v->kafka || !v->cluster) abort();
    return 0;
}

enum tsr_verify_rc tsr_verify_count(struct tsr_verify *v, const struct tsr_config *cf,
                                    const char *client, char *err, size_t errlen)
{
    free(v->seen);
    v->seen = NULL;
    v->seen_cap = v->seen_n = 0;
    v->ndbs = 0;
    if (v->db) note_db(v, v->db, "");
    memset(v->kafka, 0, sizeof(*v->kafka) * (size_t)v->nwin);
    memset(v->cluster, 0, sizeof(*v->cluster) * (size_t)v->nwin);
    enum tsr_verify_rc rc = read_kafka(v, cf, client, err, errlen);
    /* The force_flush of the tests' VictoriaMetrics is not the operator's to call: what
     * it acknowledged a second ago may not be searchable yet. */
    for (int i = 0; !rc && i < v->ndbs; i++)
        rc = v->vm ? count_vm(v, &v->dbs[i], err, errlen) : count_influx(v, &v->dbs[i], err, errlen);
    return rc;
}

int tsr_verify_differ(const struct tsr_verify *v)
{
    int differ = 0;
    for (int w = 0; w < v->nwin; w++) differ += v->kafka[w] != v->cluster[w];
    return differ;
}

void tsr_verify_window(const struct tsr_verify *v, int w, int64_t *start, int64_t *end)
{
    *start = v->since + (int64_t)w * v->window;
    *end = *start + v->window < v->until ? *start + v->window : v->until;
}

void tsr_verify_json(const struct tsr_verify *v, int windows_differing_only, struct tsr_buf *js)
{
    int differ = 0, listed = 0;
    int64_t tk = 0, tc = 0, missing = 0, extra = 0;
    tsr_buf_puts(js, "{\"cluster\":");
    tsr_json_string(js, v->cc->name);
    tsr_buf_printf(js,
                   ",\"since_ms\":%" PRId64 ",\"until_ms\":%" PRId64 ",\"window_ms\":%" PRId64
                   ",\"windows\":[",
                   v->since, v->until, v->window);
    for (int w = 0; w < v->nwin; w++) {
        int64_t k = v->kafka[w], n = v->cluster[w], start, end;
        tsr_verify_window(v, w, &start, &end);
        tk += k, tc += n;
        differ += k != n;
        missing += k > n ? k - n : 0;
        extra += n > k ? n - k : 0;
        if (windows_differing_only && k == n) continue;
        tsr_buf_printf(js,
                       "%s{\"start_ms\":%" PRId64 ",\"end_ms\":%" PRId64 ",\"kafka\":%" PRId64
                       ",\"cluster\":%" PRId64 ",\"missing\":%" PRId64 ",\"extra\":%" PRId64 "}",
                       listed++ ? "," : "", start, end, k, n, k > n ? k - n : 0, n > k ? n - k : 0);
    }
    tsr_buf_printf(js,
                   "],\"kafka\":%" PRId64 ",\"cluster_values\":%" PRId64 ",\"missing\":%" PRId64
                   ",\"extra\":%" PRId64 ",\"differ\":%d,\"equal\":%s}",
                   tk, tc, missing, extra, differ, differ ? "false" : "true");
}

void tsr_verify_free(struct tsr_verify *v)
{
    free(v->kafka);
    free(v->cluster);
    free(v->seen);
    v->kafka = v->cluster = NULL;
    v->seen = NULL;
}

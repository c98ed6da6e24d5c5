/* replay/ctl_dlq.c — tsrelayctl dlq list, show and resend: the dead-letter topic read
 * straight from Kafka (replay/ctl_kafka.h), with the relay's own config file (-c). The
 * relay is not asked: what a cluster or the ingest refused is there even when no relay
 * runs. resend normalises the selected records' lines again and produces them into the
 * relay's topic (every cluster gets them, as if just written) or writes them to one
 * cluster with its route, after the cause was fixed. One thread, blocking. */
#include "ctl.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config/config.h"
#include "relay/core/lineproto.h"
#include "relay/deliver/route.h"
#include "relay/deliver/sink.h"
#include "relay/ingest/batch.h"
#include "relay/core/buf.h"
#include "relay/core/json.h"
#include "relay/kafka/kafka.h"
#include "replay/ctl_kafka.h"
#include "replay/ctl_text.h"
#include "replay/ctl_time.h"

#define VALUE_SHOWN 60 /* bytes of a record's value in the list */

struct dlq_rec {
    int32_t partition;
    int64_t offset, time_ms;
    char reason[512], src[128], db[256], line[32], client[128];
    const char *value;
    size_t len;
};

/* Whether r passes the filters of the command line. */
static int wanted(const struct ctl *c, const struct dlq_rec *r, int64_t until)
{
    if (until && r->time_ms >= until) return 0;
    if (c->reason && !strstr(r->reason, c->reason)) return 0;
    if (c->db && strcmp(r->db, c->db) != 0) return 0;
    if (c->cluster) {
        char src[160];
        snprintf(src, sizeof(src), "cluster:%s", c->cluster);
        if (strcmp(r->src, src) != 0) return 0;
    }
    return 1;
}

static void rec_from(struct dlq_rec *r, rd_kafka_message_t *m)
{
    rd_kafka_timestamp_type_t tt;
    r->partition = m->partition;
    r->offset = m->offset;
    r->time_ms = rd_kafka_message_timestamp(m, &tt);
    tsr_kafka_header(m, "reason", r->reason, sizeof(r->reason));
    tsr_kafka_header(m, "src", r->src, sizeof(r->src));
    tsr_kafka_header(m, "db", r->db, sizeof(r->db));
    tsr_kafka_header(m, "line", r->line, sizeof(r->line));
    tsr_kafka_header(m, "client", r->client, sizeof(r->client));
    r->value = m->payload ? m->payload : "";
    r->len = m->len;
}

static void rec_json(struct tsr_buf *out, const struct dlq_rec *r)
{
    char *v = strndup(r->value, r->len);
    if (!v) abort();
    tsr_buf_printf(out, "{\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"time_ms\":%" PRId64,
                   r->partition, r->offset, r->time_ms);
    const struct {
        const char *k, *v;
    } f[] = {{"reason", r->reason}, {"src", r->src},       {"db", r->db},
             {"line", r->line},     {"client", r->client}, {"value", v}};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        tsr_buf_printf(out, ",\"%s\":", f[i].k);
        tsr_json_string(out, f[i].v);
    }
    tsr_buf_putc(out, '}');
    free(v);
}

/* A one-line view of a value: whitespace as spaces, cut at VALUE_SHOWN bytes. */
static void value_short(const struct dlq_rec *r, char *out, size_t outlen)
{
    size_t n = 0;
    for (size_t i = 0; i < r->len && n + 4 < outlen; i++) {
        if (i == VALUE_SHOWN) {
            memcpy(out + n, "...", 3), n += 3;
            break;
        }
        char ch = r->value[i];
        out[n++] = ch == '\n' || ch == '\r' || ch == '\t' ? ' ' : ch;
    }
    out[n] = '\0';
}

static int load_config(struct ctl *c, struct tsr_config **cfp)
{
    char err[1024];
    if (!c->config) return fail(c, EXIT_USAGE, "dlq needs -c FILE: the relay's config file");
    if (tsr_config_load(c->config, cfp, err, sizeof(err))) return fail(c, EXIT_USAGE, "%s", err);
    return EXIT_OK;
}

/* --since and --until: when records were dead-lettered (0: no bound). */
static int record_times(struct ctl *c, int64_t *since, int64_t *until)
{
    char err[256];
    int64_t now = wall_ms();
    *since = *until = 0;
    if (c->since &&
        tsr_ctl_time_parse(c->since, now, TSR_CTL_TIME_EARLIEST, since, err, sizeof(err)))
        return fail(c, EXIT_USAGE, "invalid --since '%s': %s", c->since, err);
    if (c->until && tsr_ctl_time_parse(c->until, now, 0, until, err, sizeof(err)))
        return fail(c, EXIT_USAGE, "invalid --until '%s': %s", c->until, err);
    return EXIT_OK;
}

int cmd_dlq_list(struct ctl *c)
{
    struct tsr_config *cf = NULL;
    int64_t since, until, limit = 100;
    int rc = load_config(c, &cf);
    if (rc) return rc;
    if ((rc = record_times(c, &since, &until))) goto out;
    if (c->limit) {
        char *end;
        limit = strtoll(c->limit, &end, 10);
        if (end == c->limit || *end || limit <= 0) {
            rc = fail(c, EXIT_USAGE, "invalid --limit '%s': expected a whole number above 0",
                      c->limit);
            goto out;
        }
    }
    struct tsr_topic_reader rd;
    if ((rc = ctl_reader_open(c, cf, cf->kafka_dlq_topic, since, -1, 0, &rd))) {
        ctl_reader_close(&rd);
        goto out;
    }
    struct table t;
    table_init(&t, "RECORD", "TIME", "SOURCE", "DB", ">LINE", "REASON", "VALUE");
    struct tsr_buf js = {0};
    tsr_buf_puts(&js, "{\"topic\":");
    tsr_json_string(&js, rd.topic);
    tsr_buf_puts(&js, ",\"records\":[");
    int64_t shown = 0, matched = 0;
    rd_kafka_message_t *m;
    while ((m = ctl_reader_next(c, &rd, &rc))) {
        struct dlq_rec r;
        rec_from(&r, m);
        if (wanted(c, &r, until) && matched++ < limit) {
            if (c->json) {
                if (shown) tsr_buf_putc(&js, ',');
                rec_json(&js, &r);
            } else {
                char ref[48], when[40], val[VALUE_SHOWN + 8], reason[96];
                snprintf(ref, sizeof(ref), "%" PRId32 ":%" PRId64, r.partition, r.offset);
                snprintf(reason, sizeof(reason), "%.80s%s", r.reason,
                         strlen(r.reason) > 80 ? "..." : "");
                value_short(&r, val, sizeof(val));
                table_row(&t, ref, fmt_time(r.time_ms, when, sizeof(when)), r.src, r.db,
                          *r.line && strcmp(r.line, "-1") ? r.line : "-", reason, val);
            }
            shown++;
        }
        rd_kafka_message_destroy(m);
    }
    ctl_reader_close(&rd);
    if (!rc) {
        if (c->json) {
            tsr_buf_printf(&js, "],\"matched\":%" PRId64 ",\"shown\":%" PRId64 "}", matched, shown);
            print_json(js.data, js.len);
        } else {
            if (shown) table_print(&t);
            printf("%" PRId64 " dead-lettered record%s%s", matched, matched == 1 ? "" : "s",
                   c->reason || c->db || c->cluster ? " matched" : "");
            if (matched > shown) printf(", the first %" PRId64 " shown (--limit)", shown);
            printf(" in '%s'\n", rd.topic);
        }
    }
    table_free(&t);
    tsr_buf_free(&js);
out:
    tsr_config_free(&cf);
    return rc;
}

int cmd_dlq_show(struct ctl *c)
{
    struct tsr_config *cf = NULL;
    int rc = load_config(c, &cf);
    if (rc) return rc;
    struct tsr_topic_reader rd;
    if ((rc = ctl_reader_open(c, cf, cf->kafka_dlq_topic, 0, c->ref_partition, c->ref_offset,
                              &rd))) {
        ctl_reader_close(&rd);
        goto out;
    }
    rd_kafka_message_t *m = rd.open ? ctl_reader_next(c, &rd, &rc) : NULL;
    if (!m && !rc)
        rc = fail(c, EXIT_FAIL, "no record %d:%lld in '%s'", (int)c->ref_partition,
                  (long long)c->ref_offset, rd.topic);
    if (m) {
        struct dlq_rec r;
        rec_from(&r, m);
        if (c->json) {
            struct tsr_buf js = {0};
            rec_json(&js, &r);
            print_json(js.data, js.len);
            tsr_buf_free(&js);
        } else {
            char when[40];
            printf("record  %d:%lld of '%s'\n", (int)r.partition, (long long)r.offset, rd.topic);
            printf("time    %s\n", fmt_time(r.time_ms, when, sizeof(when)));
            printf("source  %s\n", r.src);
            if (*r.db) printf("db      %s\n", r.db);
            if (*r.line && strcmp(r.line, "-1")) printf("line    %s\n", r.line);
            if (*r.client) printf("client  %s\n", r.client);
            printf("reason  %s\n", r.reason);
            printf("value (%zu bytes):\n%.*s%s", r.len, (int)r.len, r.value,
                   r.len && r.value[r.len - 1] == '\n' ? "" : "\n");
        }
        rd_kafka_message_destroy(m);
    }
    ctl_reader_close(&rd);
out:
    tsr_config_free(&cf);
    return rc;
}

/* ---- dlq resend ----------------------------------------------------------------------- */

/* Where re-sent points go: the relay's topic (every cluster, as if just written), or one
 * cluster's write endpoint (its databases and rules applied, as delivery applies them). */
struct resend {
    const struct tsr_config *cf;
    rd_kafka_t *producer; /* --to-topic */
    int nparts;
    int failed;                        /* delivery reports with an error */
    const struct tsr_cluster_conf *cc; /* --to-cluster */
    struct tsr_route *route;
    struct tsr_buf lines, body, url, why;
    int64_t points, invalid, records;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct resend *rs = opaque;
    if (m->err) {
        rs->failed++;
        fprintf(stderr, "tsrelayctl: kafka refused a re-sent record: %s\n",
                rd_kafka_err2str(m->err));
    }
}

static int producer_open(struct ctl *c, struct resend *rs)
{
    char why[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *props[][2] = {{"bootstrap.servers", rs->cf->kafka_brokers},
                              {"client.id", "tsrelayctl-dlq-resend"},
                              {"enable.idempotence", "true"}};
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], why, sizeof(why))) {
            rd_kafka_conf_destroy(conf);
            return fail(c, EXIT_USAGE, "kafka property '%s': %s", props[i][0], why);
        }
    /* kafka.properties carries the security settings; consumer-only ones are refused. */
    for (size_t i = 0; i < rs->cf->nkafka_properties; i++)
        rd_kafka_conf_set(conf, rs->cf->kafka_properties[i].key, rs->cf->kafka_properties[i].value,
                          why, sizeof(why));
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, rs);
    rs->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
    if (!rs->producer) {
        rd_kafka_conf_destroy(conf);
        return fail(c, EXIT_UNREACHABLE, "cannot create a kafka producer: %s", why);
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rs->producer, rs->cf->kafka_topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rs->producer, 0, t, &md, 10000);
    rd_kafka_topic_destroy(t);
    if (e || md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt <= 0) {
        if (md) rd_kafka_metadata_destroy(md);
        return fail(c, EXIT_UNREACHABLE, "cannot read topic '%s' from %s", rs->cf->kafka_topic,
                    rs->cf->kafka_brokers);
    }
    rs->nparts = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return EXIT_OK;
}

/* Normalises the lines of a dead-lettered record again (a line without a timestamp
 * gets the time it was dead-lettered, close to when it was written), into rs->lines,
 * each line's series hash into hashes. Counts the lines that are still invalid. */
static void renormalise(struct resend *rs, const struct dlq_rec *r, uint64_t **hashes, size_t *n)
{
    struct tsr_lp_opts opts = {.precision = TSR_PREC_NS,
                               .now_ns = r->time_ms * 1000000,
                               .max_line_bytes = (size_t)rs->cf->ingest_max_line_bytes};
    struct tsr_lp_result res;
    rs->lines.len = 0;
    *n = 0;
    for (const char *p = r->value, *end = p + r->len; p < end; p += res.consumed) {
        tsr_lp_parse_line(p, end, &opts, &rs->lines, &res);
        if (res.status == TSR_LP_ERR) rs->invalid++;
        if (res.status != TSR_LP_OK) continue;
        uint64_t *h = realloc(*hashes, sizeof(**hashes) * (*n + 1));
        if (!h) abort();
        *hashes = h;
        h[(*n)++] = res.series_hash;
    }
}

static int send_to_topic(struct ctl *c, struct resend *rs, const struct dlq_rec *r,
                         const uint64_t *hashes, size_t n)
{
    uint64_t db_hash = tsr_fnv1a64(TSR_FNV1A64_INIT, r->db, strlen(r->db));
    const char *p = rs->lines.data;
    for (size_t i = 0; i < n; i++) {
        const char *nl = memchr(p, '\n', (size_t)(rs->lines.data + rs->lines.len - p));
        size_t len = (size_t)(nl - p) + 1;
        struct tsr_batch b = {.nparts = rs->nparts};
        int part = tsr_batch_partition(&b, hashes[i], db_hash);
        rd_kafka_resp_err_t e;
        do {
            e = rd_kafka_producev(
                rs->producer, RD_KAFKA_V_TOPIC(rs->cf->kafka_topic), RD_KAFKA_V_PARTITION(part),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)p, len),
                RD_KAFKA_V_HEADER(TSR_KAFKA_HDR "db", r->db, -1),
                RD_KAFKA_V_HEADER(TSR_KAFKA_HDR "src", "dlq-resend", -1), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(rs->producer, 100);
        } while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
        if (e)
            return fail(c, EXIT_FAIL, "cannot produce to '%s': %s", rs->cf->kafka_topic,
                        rd_kafka_err2str(e));
        rs->points++;
        p = nl + 1;
    }
    rd_kafka_poll(rs->producer, 0);
    return EXIT_OK;
}

static size_t drop_body(char *data, size_t size, size_t n, void *arg)
{
    struct tsr_buf *b = arg;
    if (b->len < 512) tsr_buf_append(b, data, size * n);
    return size * n;
}

static int send_to_cluster(struct ctl *c, struct resend *rs, const struct dlq_rec *r)
{
    const char *db = *r->db ? r->db : "";
    rs->body.len = 0;
    long pts = tsr_route_append(rs->route, db, &rs->body, rs->lines.data, rs->lines.len);
    if (pts <= 0 || !tsr_route_wants(rs->route, db)) return EXIT_OK;
    rs->url.len = 0;
    tsr_sink_write_url(rs->cc, 0, db, NULL, &rs->url);
    tsr_buf_putc(&rs->url, '\0');
    CURL *h = curl_easy_init();
    if (!h) abort();
    rs->why.len = 0;
    struct curl_slist *hdrs = tsr_sink_curl_easy(h, rs->cc);
    curl_easy_setopt(h, CURLOPT_URL, rs->url.data);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, rs->body.data);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)rs->body.len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, drop_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &rs->why);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    CURLcode e = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    if (e != CURLE_OK)
        return fail(c, EXIT_UNREACHABLE, "cluster '%s': %s", rs->cc->name, curl_easy_strerror(e));
    if (status / 100 != 2) {
        tsr_buf_putc(&rs->why, '\0');
        return fail(c, EXIT_FAIL, "cluster '%s' refused record %d:%lld again: HTTP %ld %s",
                    rs->cc->name, (int)r->partition, (long long)r->offset, status, rs->why.data);
    }
    rs->points += pts;
    return EXIT_OK;
}

int cmd_dlq_resend(struct ctl *c)
{
    struct tsr_config *cf = NULL;
    int64_t since, until;
    char err[256];
    int to_topic = (c->given & OPT_TO_TOPIC) != 0;
    if (to_topic == (c->to_cluster != NULL))
        return fail(c, EXIT_USAGE, "dlq resend needs one of --to-topic or --to-cluster NAME");
    int rc = load_config(c, &cf);
    if (rc) return rc;
    struct resend rs = {.cf = cf};
    if ((rc = record_times(c, &since, &until))) goto out;
    if (c->to_cluster) {
        for (size_t i = 0; i < cf->nclusters; i++)
            if (!strcmp(cf->clusters[i].name, c->to_cluster)) rs.cc = &cf->clusters[i];
        if (!rs.cc) {
            rc = fail(c, EXIT_USAGE, "no cluster '%s' in %s", c->to_cluster, c->config);
            goto out;
        }
        if (tsr_route_new(rs.cc, (int)(rs.cc - cf->clusters), &rs.route, err, sizeof(err))) {
            rc = fail(c, EXIT_USAGE, "cluster '%s': %s", rs.cc->name, err);
            goto out;
        }
    } else if ((rc = producer_open(c, &rs))) {
        goto out;
    }
    struct tsr_topic_reader rd;
    if ((rc = ctl_reader_open(c, cf, cf->kafka_dlq_topic, since, -1, 0, &rd))) {
        ctl_reader_close(&rd);
        goto out;
    }
    uint64_t *hashes = NULL;
    rd_kafka_message_t *m;
    while (!rc && (m = ctl_reader_next(c, &rd, &rc))) {
        struct dlq_rec r;
        rec_from(&r, m);
        if (wanted(c, &r, until)) {
            size_t n;
            rs.records++;
            renormalise(&rs, &r, &hashes, &n);
            if (n && !(c->given & OPT_DRY_RUN))
                rc = to_topic ? send_to_topic(c, &rs, &r, hashes, n) : send_to_cluster(c, &rs, &r);
            else if (n)
                rs.points += (int64_t)n;
        }
        rd_kafka_message_destroy(m);
    }
    free(hashes);
    ctl_reader_close(&rd);
    if (rs.producer) {
        rd_kafka_flush(rs.producer, 30000);
        if (!rc && rd_kafka_outq_len(rs.producer) > 0)
            rc = fail(c, EXIT_UNREACHABLE, "kafka did not confirm every re-sent record in 30 s");
        if (!rc && rs.failed)
            rc = fail(c, EXIT_FAIL, "kafka refused %d re-sent records", rs.failed);
    }
    if (!rc || rs.points) {
        char a[32], b[32], d[32];
        printf(
            "%s %s points of %s dead-lettered records %s%s%s; %s lines still invalid, not sent\n",
            c->given & OPT_DRY_RUN ? "would re-send" : "re-sent",
            fmt_count(rs.points, a, sizeof(a)), fmt_count(rs.records, b, sizeof(b)),
            to_topic ? "into '" : "to cluster '", to_topic ? cf->kafka_topic : rs.cc->name, "'",
            fmt_count(rs.invalid, d, sizeof(d)));
    }
out:
    if (rs.producer) rd_kafka_destroy(rs.producer);
    tsr_route_free(&rs.route);
    tsr_buf_free(&rs.lines);
    tsr_buf_free(&rs.body);
    tsr_buf_free(&rs.url);
    tsr_buf_free(&rs.why);
    tsr_config_free(&cf);
    return rc;
}

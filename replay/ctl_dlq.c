/* replay/ctl_dlq.c — tsrelayctl dlq list and dlq show: the dead-letter topic read
 * straight from Kafka, with the relay's own config file (-c) for the brokers, the topic
 * and the client's TLS and SASL settings. The relay is not asked: what a cluster or the
 * ingest refused is there even when no relay runs.
 *
 * A consumer with no group and manual assignment reads every partition from the first
 * record at or after --since up to the high watermark seen at the start; nothing is
 * committed. One thread, blocking. */
#include "ctl.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "relay/core/buf.h"
#include "relay/core/json.h"
#include "relay/kafka/kafka.h"
#include "replay/ctl_text.h"
#include "replay/ctl_time.h"

#define TIMEOUT_MS 10000
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

struct reader {
    rd_kafka_t *rk;
    const char *topic;
    int nparts;
    int64_t *high; /* per partition: stop before this offset */
    int open;      /* partitions not yet read to their end */
};

static int reader_open(struct ctl *c, const struct tsr_config *cf, int64_t since, int32_t only,
                       int64_t at, struct reader *rd)
{
    char err[512];
    memset(rd, 0, sizeof(*rd));
    rd->topic = cf->kafka_dlq_topic;
    rd->rk = tsr_kafka_consumer_new(cf, "tsrelayctl-dlq", "earliest", 4 << 20, NULL, err,
                                    sizeof(err));
    if (!rd->rk) return fail(c, EXIT_UNREACHABLE, "%s", err);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rd->rk, rd->topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rd->rk, 0, t, &md, TIMEOUT_MS);
    rd_kafka_topic_destroy(t);
    if (e || md->topic_cnt != 1 || md->topics[0].err) {
        int rc = fail(c, EXIT_UNREACHABLE, "cannot read the dead-letter topic '%s' from %s: %s",
                      rd->topic, cf->kafka_brokers,
                      rd_kafka_err2str(e ? e : md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        if (md) rd_kafka_metadata_destroy(md);
        return rc;
    }
    rd->nparts = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd->high = calloc((size_t)rd->nparts + 1, sizeof(*rd->high));
    if (!rd->high) abort();
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(rd->nparts);
    for (int p = 0; p < rd->nparts; p++) {
        if (only >= 0 && p != only) continue;
        int64_t lo, hi;
        e = rd_kafka_query_watermark_offsets(rd->rk, rd->topic, p, &lo, &hi, TIMEOUT_MS);
        if (e) {
            rd_kafka_topic_partition_list_destroy(parts);
            return fail(c, EXIT_UNREACHABLE, "dead-letter topic '%s' partition %d: %s", rd->topic,
                        p, rd_kafka_err2str(e));
        }
        rd->high[p] = only >= 0 ? (at + 1 < hi ? at + 1 : hi) : hi;
        int64_t start = only >= 0 ? at : since ? since : lo;
        if ((only >= 0 && (at < lo || at >= hi)) || lo >= rd->high[p]) continue;
        rd_kafka_topic_partition_list_add(parts, rd->topic, p)->offset = start;
    }
    /* --since is a time: ask Kafka for the first offset at or after it. */
    if (since && only < 0 && parts->cnt &&
        (e = rd_kafka_offsets_for_times(rd->rk, parts, TIMEOUT_MS))) {
        rd_kafka_topic_partition_list_destroy(parts);
        return fail(c, EXIT_UNREACHABLE, "dead-letter topic '%s': offsets for --since: %s",
                    rd->topic, rd_kafka_err2str(e));
    }
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        if (tp->offset < 0 || tp->offset >= rd->high[tp->partition])
            rd->high[tp->partition] = 0; /* nothing that late: done already */
        else
            rd->open++;
    }
    e = rd_kafka_assign(rd->rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e) return fail(c, EXIT_UNREACHABLE, "dead-letter topic: %s", rd_kafka_err2str(e));
    return EXIT_OK;
}

/* The next record, or NULL once every partition is read to its end (or on an error,
 * with *rc set). */
static rd_kafka_message_t *reader_next(struct ctl *c, struct reader *rd, int *rc)
{
    while (rd->open > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rd->rk, TIMEOUT_MS);
        if (!m) {
            *rc = fail(c, EXIT_UNREACHABLE, "dead-letter topic '%s': no record for %d s",
                       rd->topic, TIMEOUT_MS / 1000);
            return NULL;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) {
            *rc = fail(c, EXIT_UNREACHABLE, "dead-letter topic '%s': %s", rd->topic,
                       rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            return NULL;
        }
        int32_t p = m->partition;
        if (p < 0 || p >= rd->nparts || m->offset >= rd->high[p]) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->offset + 1 >= rd->high[p]) {
            rd->high[p] = 0;
            rd->open--;
        }
        return m;
    }
    return NULL;
}

static void reader_close(struct reader *rd)
{
    if (rd->rk) {
        rd_kafka_consumer_close(rd->rk);
        rd_kafka_destroy(rd->rk);
    }
    free(rd->high);
}

static int load_config(struct ctl *c, struct tsr_config **cfp)
{
    char err[1024];
    if (!c->config) return fail(c, EXIT_USAGE, "dlq needs -c FILE: the relay's config file");
    if (tsr_config_load(c->config, cfp, err, sizeof(err)))
        return fail(c, EXIT_USAGE, "%s", err);
    return EXIT_OK;
}

int cmd_dlq_list(struct ctl *c)
{
    struct tsr_config *cf = NULL;
    int64_t now = wall_ms(), since = 0, until = 0, limit = 100;
    char err[256];
    int rc = load_config(c, &cf);
    if (rc) return rc;
    if (c->since && tsr_ctl_time_parse(c->since, now, TSR_CTL_TIME_EARLIEST, &since, err, sizeof(err))) {
        rc = fail(c, EXIT_USAGE, "invalid --since '%s': %s", c->since, err);
        goto out;
    }
    if (c->until && tsr_ctl_time_parse(c->until, now, 0, &until, err, sizeof(err))) {
        rc = fail(c, EXIT_USAGE, "invalid --until '%s': %s", c->until, err);
        goto out;
    }
    if (c->limit) {
        char *end;
        limit = strtoll(c->limit, &end, 10);
        if (end == c->limit || *end || limit <= 0) {
            rc = fail(c, EXIT_USAGE, "invalid --limit '%s': expected a whole number above 0",
                      c->limit);
            goto out;
        }
    }
    struct reader rd;
    if ((rc = reader_open(c, cf, since, -1, 0, &rd))) {
        reader_close(&rd);
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
    while ((m = reader_next(c, &rd, &rc))) {
        struct dlq_rec r;
        rec_from(&r, m);
        if (wanted(c, &r, until) && matched++ < limit) {
            if (c->json) {
                if (shown) tsr_buf_putc(&js, ',');
                rec_json(&js, &r);
            } else {
                char ref[48], when[40], val[VALUE_SHOWN + 8], reason[96];
                snprintf(ref, sizeof(ref), "%" PRId32 ":%" PRId64, r.partition, r.offset);
                snprintf(reason, sizeof(reason), "%.80s%s", r.reason, strlen(r.reason) > 80 ? "..." : "");
                value_short(&r, val, sizeof(val));
                table_row(&t, ref, fmt_time(r.time_ms, when, sizeof(when)), r.src, r.db,
                          *r.line && strcmp(r.line, "-1") ? r.line : "-", reason, val);
            }
            shown++;
        }
        rd_kafka_message_destroy(m);
    }
    reader_close(&rd);
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
    struct reader rd;
    if ((rc = reader_open(c, cf, 0, c->ref_partition, c->ref_offset, &rd))) {
        reader_close(&rd);
        goto out;
    }
    rd_kafka_message_t *m = rd.open ? reader_next(c, &rd, &rc) : NULL;
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
    reader_close(&rd);
out:
    tsr_config_free(&cf);
    return rc;
}

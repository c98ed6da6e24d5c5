/* replay/ctl_dlq.c — tsrelayctl dlq list and dlq show: the dead-letter topic read
 * straight from Kafka (replay/ctl_kafka.h), with the relay's own config file (-c). The
 * relay is not asked: what a cluster or the ingest refused is there even when no relay
 * runs. One thread, blocking. */
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
    struct ctl_reader rd;
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
                snprintf(reason, sizeof(reason), "%.80s%s", r.reason, strlen(r.reason) > 80 ? "..." : "");
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
    struct ctl_reader rd;
    if ((rc = ctl_reader_open(c, cf, cf->kafka_dlq_topic, 0, c->ref_partition, c->ref_offset, &rd))) {
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

#include "relay/ingest/http.h"

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "relay/core/httpd.h"
#include "relay/core/remote_write.h"
#include "relay/ingest/auth.h"
#include "relay/ingest/batch.h"
#include "relay/ingest/influx_rules.h"
#include "relay/core/clock.h"
#include "config/config.h"
#include "relay/core/gzip.h"
#include "relay/core/json.h"
#include "relay/kafka/durable.h"
#include "relay/kafka/kafka.h"
#include "relay/core/lineproto.h"
#include "relay/ingest/statement.h"
#include "relay/core/log.h"
#include "relay/core/metrics.h"
#include "relay/shape/shaper.h"

/* How many bad lines a 400 answer describes one by one; the rest are counted. */
#define ERRORS_LISTED 20
/* How many bad lines of one request go to the dead-letter topic one record each; the
 * rest go as one record, so a body of garbage cannot flood the producer queue. */
#define DLQ_SINGLE_MAX 1000
/* How much of a bad line an error message quotes. */
#define QUOTE_MAX 128
/* Request line and headers: InfluxDB clients send a few hundred bytes. */
#define MAX_HEADER_BYTES (16 * 1024)

struct tsr_ingest_http {
    const struct tsr_config *cf;
    struct tsr_kafka *k;     /* the dead-letter topic */
    struct tsr_durable *dur; /* where writes become durable */
    struct tsr_httpd *srv;
    struct tsr_batch batch;
    struct tsr_buf line[2]; /* normalised lines before they join their partition: the
                             * one being taken and the next (parse_body) */
    struct tsr_buf body;   /* a decoded gzip body */
    struct tsr_buf dlq;    /* overflow of rejected lines past DLQ_SINGLE_MAX */
    int draining;
    int pending; /* requests waiting for delivery reports */
    struct tsr_shaper *shaper;      /* the ingest rules and the cardinality guard */
    struct tsr_influx_rules *rules; /* InfluxDB's store-time refusals, at ingest */
    int no_unsigned;                /* an InfluxDB 1.x cluster: refuse `5u` */
    struct tsr_buf why;             /* one InfluxDB reason being built */
};

/* A write request between parsing and its answer. */
struct write_req {
    struct tsr_ingest_http *ih;
    struct tsr_httpd_req *req;
    int v2;           /* answer in the /api/v2 error format */
    int records;      /* records produced and not yet reported, +1 while parsing */
    int failed;
    char fail_reason[160];
    long points;      /* valid points sent to Kafka */
    long rejected;
    int statement;    /* a /query CREATE DATABASE: answered as InfluxDB answers it */
    struct tsr_buf errors; /* the listed bad lines, JSON-escaped */
    long parse_rejected;   /* of rejected: lines that did not parse */
    struct tsr_buf first_store; /* the reason of the first line InfluxDB would have
                                   refused as it stored it, in its words */
};

struct record {
    struct write_req *wr;
    char *data;
};

static struct tsr_listener_metrics *lm(void)
{
    return &tsr_metrics.listener[TSR_LISTENER_HTTP];
}

/* Sends a JSON error in the dialect the endpoint speaks: InfluxDB 1.x {"error":...}
 * or 2.x {"code":...,"message":...}. */
static void reply_error(struct tsr_httpd_req *req, int v2, int status, const char *code,
                        const char *msg, int retry_after_s)
{
    struct tsr_buf b = {0};
    if (v2) {
        tsr_buf_puts(&b, "{\"code\":\"");
        tsr_buf_puts(&b, code);
        tsr_buf_puts(&b, "\",\"message\":\"");
    } else {
        tsr_buf_puts(&b, "{\"error\":\"");
    }
    tsr_json_escape(&b, msg, strlen(msg));
    tsr_buf_puts(&b, "\"}\n");
    if (retry_after_s > 0) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%d", retry_after_s);
        tsr_httpd_add_header(req, "Retry-After", ra);
    }
    if (status / 100 < 6) lm()->responses[status / 100]++;
    tsr_httpd_reply(req, status, "application/json", b.data, b.len);
    tsr_buf_free(&b);
}

static void reply_status(struct tsr_httpd_req *req, int status)
{
    lm()->responses[status / 100]++;
    tsr_httpd_reply(req, status, NULL, NULL, 0);
}

static void finish(struct write_req *wr)
{
    struct tsr_ingest_http *ih = wr->ih;
    ih->pending--;
    if (wr->statement && !wr->failed) {
        static const char ok[] = "{\"results\":[{\"statement_id\":0}]}\n";
        lm()->responses[2]++;
        tsr_httpd_reply(wr->req, 200, "application/json", ok, sizeof(ok) - 1);
    } else if (wr->failed) {
        lm()->points_failed += (uint64_t)wr->points;
        char msg[256];
        snprintf(msg, sizeof(msg), "write not durable, retry: %s", wr->fail_reason);
        reply_error(wr->req, wr->v2, 503, "unavailable", msg, 1);
    } else if (wr->rejected) {
        lm()->points_accepted += (uint64_t)wr->points;
        struct tsr_buf msg = {0};
        if (wr->parse_rejected == 0) {
            /* Every line parsed: InfluxDB's own answer, word for word, as clients match
             * on it ("field type conflict", "partial write"). */
            tsr_buf_puts(&msg, "partial write: ");
            tsr_buf_append(&msg, wr->first_store.data, wr->first_store.len);
            tsr_buf_printf(&msg, " dropped=%ld", wr->rejected);
        } else {
            tsr_buf_printf(&msg, "partial write: %ld of %ld lines rejected (dropped=%ld)",
                           wr->rejected, wr->rejected + wr->points, wr->rejected);
            tsr_buf_append(&msg, wr->errors.data, wr->errors.len);
            if (wr->rejected > ERRORS_LISTED)
                tsr_buf_printf(&msg, "\nand %ld more", wr->rejected - ERRORS_LISTED);
        }
        tsr_buf_putc(&msg, '\0');
        reply_error(wr->req, wr->v2, 400, "invalid", msg.data, 0);
        tsr_buf_free(&msg);
    } else {
        lm()->points_accepted += (uint64_t)wr->points;
        reply_status(wr->req, 204);
    }
    tsr_buf_free(&wr->errors);
    tsr_buf_free(&wr->first_store);
    free(wr);
}

static void record_done(void *opaque, int err, const char *errstr)
{
    struct record *rec = opaque;
    struct write_req *wr = rec->wr;
    free(rec->data);
    free(rec);
    if (err && !wr->failed) {
        wr->failed = 1;
        snprintf(wr->fail_reason, sizeof(wr->fail_reason), "%s", errstr);
    }
    if (--wr->records == 0) finish(wr);
}

/* Produces partition p's buffer as one record. On failure marks the request failed;
 * the caller stops producing, and the client gets 503 once earlier records settle. */
static void produce_part(struct write_req *wr, int p, const struct tsr_kafka_hdrs *hdrs)
{
    struct tsr_ingest_http *ih = wr->ih;
    struct record *rec = malloc(sizeof(*rec));
    if (!rec) abort();
    size_t len;
    rec->wr = wr;
    rec->data = tsr_buf_detach(&ih->batch.parts[p], &len);
    const char *why;
    if (tsr_durable_put(ih->dur, p, rec->data, len, hdrs, record_done, rec, &why) != 0) {
        free(rec->data);
        free(rec);
        wr->failed = 1;
        snprintf(wr->fail_reason, sizeof(wr->fail_reason), "%s", why);
        return;
    }
    wr->records++;
}

/* Counts and dead-letters a rejected line. store: the line parsed, and reason is what
 * InfluxDB says as it refuses to store it (relay/ingest/influx_rules.h). */
static void note_rejected(struct write_req *wr, const char *line, size_t len, long line_no,
                          const char *reason, int store, const char *db, const char *client)
{
    struct tsr_ingest_http *ih = wr->ih;
    wr->rejected++;
    if (!store) wr->parse_rejected++;
    if (store && wr->first_store.len == 0) tsr_buf_puts(&wr->first_store, reason);
    if (wr->rejected <= ERRORS_LISTED) {
        tsr_buf_printf(&wr->errors, store ? "\nline %ld: '" : "\nline %ld: unable to parse '",
                       line_no);
        tsr_buf_append(&wr->errors, line, len > QUOTE_MAX ? QUOTE_MAX : len);
        tsr_buf_puts(&wr->errors, len > QUOTE_MAX ? "...': " : "': ");
        tsr_buf_puts(&wr->errors, reason);
    }
    if (wr->rejected <= DLQ_SINGLE_MAX) {
        tsr_kafka_dead_letter(ih->k, line, len, reason, "http", line_no, db, client);
    } else {
        tsr_buf_append(&ih->dlq, line, len);
        tsr_buf_putc(&ih->dlq, '\n');
    }
}

static long count_newlines(const char *p, size_t n)
{
    long c = 0;
    for (const char *q = p, *end = p + n; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++) c++;
    return c;
}

/* One line of a body, parsed: where it starts, its number, what the parser said. */
struct parsed_line {
    const char *p;
    long line_no;
    struct tsr_lp_result res;
};

/* Takes the parsed line pl (its normalised form in line) into its partition's record,
 * or rejects it. */
static void take_line(struct write_req *wr, const struct parsed_line *pl, const struct tsr_buf *line,
                      const struct tsr_kafka_hdrs *hdrs, uint64_t db_hash, int64_t now_ms,
                      const char *rest_end, const char *client)
{
    struct tsr_ingest_http *ih = wr->ih;
    const struct tsr_lp_result *res = &pl->res;
    if (res->status == TSR_LP_ERR) {
        if (res->kind != TSR_LP_KIND_PARSE) {
            ih->why.len = 0;
            tsr_influx_rules_reason(res->kind, pl->p, res->line_len, &ih->why);
            tsr_buf_putc(&ih->why, '\0');
            note_rejected(wr, pl->p, res->line_len, pl->line_no, ih->why.data, 1, hdrs->db, client);
        } else {
            note_rejected(wr, pl->p, res->line_len, pl->line_no, res->reason, 0, hdrs->db, client);
        }
        return;
    }
    if (res->status != TSR_LP_OK) return;
    const char *l = line->data;
    size_t llen = line->len;
    uint64_t series = res->series_hash;
    ih->why.len = 0;
    switch (tsr_shaper_apply(ih->shaper, hdrs->db, &l, &llen, &series, now_ms, &ih->why)) {
    case TSR_SHAPE_PASS:
        break;
    case TSR_SHAPE_DROP:
        return;
    case TSR_SHAPE_REFUSE:
        tsr_buf_putc(&ih->why, '\0');
        note_rejected(wr, pl->p, res->line_len, pl->line_no, ih->why.data, 1, hdrs->db, client);
        return;
    }
    if (tsr_influx_rules_check(ih->rules, hdrs->db, hdrs->rp, l, llen, &ih->why) != 0) {
        tsr_buf_putc(&ih->why, '\0');
        note_rejected(wr, pl->p, res->line_len, pl->line_no, ih->why.data, 1, hdrs->db, client);
        return;
    }
    size_t max_record = (size_t)ih->cf->kafka_record_max_bytes;
    int part = tsr_batch_partition(&ih->batch, series, db_hash);
    struct tsr_buf *pb = &ih->batch.parts[part];
    if (pb->len + llen > max_record && pb->len > 0) produce_part(wr, part, hdrs);
    if (pb->cap == 0) {
        /* Sized once for this partition's share of the rest of the body, rather than
         * grown by doubling (each growth copying the record so far). */
        size_t share = (size_t)(rest_end - pl->p) / (size_t)ih->batch.nparts + llen;
        tsr_buf_reserve(pb, share < max_record ? share : max_record);
    }
    tsr_buf_append(pb, l, llen);
    wr->points++;
}

/* Parses body into partition records and produces them. Each line is parsed one step
 * ahead of the one being taken, so that what the rules keep for its series is on its
 * way from memory while the line before is being taken (tsr_shaper_prefetch). */
static void parse_body(struct write_req *wr, const char *body, size_t len,
                       const struct tsr_lp_opts *opts, const struct tsr_kafka_hdrs *hdrs,
                       const char *client)
{
    struct tsr_ingest_http *ih = wr->ih;
    const char *p = body, *end = body + len;
    uint64_t db_hash = tsr_fnv1a64(TSR_FNV1A64_INIT, hdrs->db, strlen(hdrs->db));
    long line_no = 0;
    int64_t now_ms = opts->now_ns / 1000000;
    struct parsed_line pl[2];
    int held = -1; /* the slot of the line parsed and not taken yet */

    tsr_batch_resize(&ih->batch, tsr_durable_partitions(ih->dur));
    for (int slot = 0;; slot ^= 1) {
        int parsed = p < end && !wr->failed;
        if (parsed) {
            struct parsed_line *n = &pl[slot];
            n->p = p;
            n->line_no = line_no + 1;
            ih->line[slot].len = 0;
            tsr_lp_parse_line(p, end, opts, &ih->line[slot], &n->res);
            if (n->res.status == TSR_LP_OK)
                tsr_shaper_prefetch(ih->shaper, db_hash, n->res.series_hash);
            /* A quoted string may hold newlines: line numbers count every one of them. */
            line_no += count_newlines(p, n->res.consumed);
            p += n->res.consumed;
        }
        if (held >= 0 && !wr->failed)
            take_line(wr, &pl[held], &ih->line[held], hdrs, db_hash, now_ms, end, client);
        if (!parsed) break;
        held = slot;
    }
    for (int i = 0; i < ih->batch.nparts; i++) {
        if (ih->batch.parts[i].len == 0) continue;
        if (wr->failed)
            ih->batch.parts[i].len = 0;
        else
            produce_part(wr, i, hdrs);
    }
    if (ih->dlq.len) {
        char first[64];
        snprintf(first, sizeof(first), "%d more rejected lines", (int)(wr->rejected - DLQ_SINGLE_MAX));
        tsr_kafka_dead_letter(ih->k, ih->dlq.data, ih->dlq.len, first, "http", -1, hdrs->db, client);
        ih->dlq.len = 0;
    }
}

static const char *query_get(struct evkeyvalq *q, const char *key)
{
    const char *v = evhttp_find_header(q, key);
    return v && *v ? v : NULL;
}

#define REMOTE_WRITE 2
/* Where remote write goes without ?db=. */
#define REMOTE_WRITE_DB "prometheus"

/* v2: 0 InfluxDB 1.x /write, 1 InfluxDB 2's /api/v2/write, REMOTE_WRITE Prometheus'
 * /api/v1/write (decoded into line protocol, then the same path). */
static void handle_write(struct tsr_ingest_http *ih, struct tsr_httpd_req *req, int v2)
{
    int rw = v2 == REMOTE_WRITE;
    if (rw) v2 = 0;
    struct evkeyvalq q = {0};
    char dbbuf[512];
    struct tsr_kafka_hdrs hdrs = {.src = "http"};
    struct tsr_lp_opts opts = {0};
    const char *client = tsr_httpd_peer(req);

    lm()->requests++;
    if (tsr_httpd_method(req) != TSR_HTTPD_POST) {
        reply_error(req, v2, 405, "method not allowed", "use POST", 0);
        return;
    }
    if (evhttp_parse_query_str(tsr_httpd_query(req), &q) != 0) {
        reply_error(req, v2, 400, "invalid", "malformed query string", 0);
        return;
    }
    if (tsr_auth_check(ih->cf, tsr_httpd_header(req, "Authorization"), query_get(&q, "u"),
                       query_get(&q, "p")) != 0) {
        reply_error(req, v2, 401, "unauthorized", "authorization failed", 0);
        goto out;
    }
    if (v2) {
        /* InfluxDB 1.8's compatibility API maps bucket "db/rp" to a database and policy. */
        const char *bucket = query_get(&q, "bucket");
        if (!bucket) {
            reply_error(req, v2, 400, "invalid", "bucket is required", 0);
            goto out;
        }
        snprintf(dbbuf, sizeof(dbbuf), "%s", bucket);
        char *slash = strchr(dbbuf, '/');
        if (slash) *slash = '\0', hdrs.rp = slash + 1;
        hdrs.db = dbbuf;
    } else {
        hdrs.db = query_get(&q, "db");
        hdrs.rp = query_get(&q, "rp");
        if (rw && !hdrs.db) hdrs.db = REMOTE_WRITE_DB;
        if (!hdrs.db) {
            reply_error(req, v2, 400, "invalid", "database is required", 0);
            goto out;
        }
    }
    if (tsr_precision_parse(query_get(&q, "precision"), &opts.precision) != 0) {
        reply_error(req, v2, 400, "invalid", "invalid precision", 0);
        goto out;
    }
    if (ih->draining) {
        lm()->throttled++;
        reply_error(req, v2, 503, "unavailable", "relay is shutting down", 1);
        goto out;
    }
    const char *refusal = tsr_durable_refusal(ih->dur);
    if (refusal) {
        lm()->throttled++;
        reply_error(req, v2, 503, "unavailable", refusal, 5);
        goto out;
    }
    if (tsr_durable_inflight_bytes(ih->dur) >= ih->cf->ingest_max_inflight_bytes) {
        lm()->throttled++;
        reply_error(req, v2, 429, "too many requests", "relay busy: writes are waiting for kafka or the spool", 1);
        goto out;
    }

    size_t raw_len;
    const char *body = tsr_httpd_body(req, &raw_len);
    size_t body_len = raw_len;
    const char *enc = tsr_httpd_header(req, "Content-Encoding");
    if (rw) {
        const char *why;
        long skipped;
        if (tsr_remote_write_decode(body, raw_len, (size_t)ih->cf->ingest_max_body_bytes,
                                    &ih->body, &skipped, &why) < 0) {
            reply_error(req, 0, 400, "invalid", why, 0);
            goto out;
        }
        if (skipped)
            tsr_debug("remote write from %s: %ld samples without a number or a name left out",
                      client, skipped);
        body = ih->body.data;
        body_len = ih->body.len;
        opts.precision = TSR_PREC_NS;
    } else if (enc && strcasecmp(enc, "gzip") == 0) {
        ih->body.len = 0;
        int rc = tsr_gunzip(body, raw_len, &ih->body, (size_t)ih->cf->ingest_max_body_bytes);
        if (rc == -2) {
            reply_error(req, v2, 413, "too large", "request body too large after gzip decoding", 0);
            goto out;
        }
        if (rc != 0) {
            reply_error(req, v2, 400, "invalid", "body is not valid gzip", 0);
            goto out;
        }
        body = ih->body.data;
        body_len = ih->body.len;
    } else if (enc && strcasecmp(enc, "identity") != 0) {
        reply_error(req, v2, 415, "unsupported media type", "unsupported Content-Encoding", 0);
        goto out;
    }

    struct write_req *wr = calloc(1, sizeof(*wr));
    if (!wr) abort();
    wr->ih = ih;
    wr->req = req;
    wr->v2 = v2;
    wr->records = 1; /* held while parsing, so no delivery report can finish it early */
    ih->pending++;
    opts.now_ns = tsr_clock_now_ns();
    opts.max_line_bytes = (size_t)ih->cf->ingest_max_line_bytes;
    opts.max_tags = (unsigned)ih->cf->ingest_max_tags;
    opts.reject_unsigned = ih->no_unsigned;
    if (body_len > 0) parse_body(wr, body, body_len, &opts, &hdrs, client);
    lm()->points_rejected += (uint64_t)wr->rejected;
    /* Don't keep a huge decoded body around between requests. */
    if (ih->body.cap > (1u << 20)) tsr_buf_free(&ih->body);
    if (--wr->records == 0) finish(wr);
out:
    evhttp_clear_headers(&q);
}

/* Makes a CREATE DATABASE durable as a record of its own, in the partition its
 * database's name hashes to; the client hears 200 once Kafka has it. */
static void produce_statement(struct tsr_ingest_http *ih, struct tsr_httpd_req *req,
                              const char *db, const char *text)
{
    struct write_req *wr = calloc(1, sizeof(*wr));
    if (!wr) abort();
    wr->ih = ih;
    wr->req = req;
    wr->statement = 1;
    wr->records = 1;
    ih->pending++;
    struct tsr_kafka_hdrs hdrs = {.db = db, .src = "http", .kind = TSR_KAFKA_KIND_STATEMENT};
    int nparts = tsr_durable_partitions(ih->dur);
    int p = (int)(tsr_fnv1a64(TSR_FNV1A64_INIT, db, strlen(db)) % (uint64_t)nparts);
    struct record *rec = malloc(sizeof(*rec));
    if (!rec) abort();
    rec->wr = wr;
    size_t n = strlen(TSR_KAFKA_STATEMENT_PREFIX) + strlen(text) + 1;
    rec->data = malloc(n);
    if (!rec->data) abort();
    snprintf(rec->data, n, "%s%s", TSR_KAFKA_STATEMENT_PREFIX, text);
    const char *why;
    if (tsr_durable_put(ih->dur, p, rec->data, strlen(rec->data), &hdrs, record_done, rec, &why)) {
        free(rec->data);
        free(rec);
        wr->failed = 1;
        snprintf(wr->fail_reason, sizeof(wr->fail_reason), "%s", why);
    } else {
        wr->records++;
        tsr_info("CREATE DATABASE \"%s\" accepted from the client; every cluster with databases "
                 "runs it", db);
    }
    if (--wr->records == 0) finish(wr);
}

static void handle_query(struct tsr_ingest_http *ih, struct tsr_httpd_req *req)
{
    struct evkeyvalq q = {0};
    evhttp_parse_query_str(tsr_httpd_query(req), &q);
    const char *stmt = evhttp_find_header(&q, "q");
    if (!stmt && tsr_httpd_method(req) == TSR_HTTPD_POST) {
        /* Clients may also send q= form-encoded in the body. */
        size_t n;
        const char *in = tsr_httpd_body(req, &n);
        char *form = malloc(n + 1);
        if (!form) abort();
        memcpy(form, in, n);
        form[n] = '\0';
        evhttp_clear_headers(&q);
        evhttp_parse_query_str(form, &q);
        free(form);
        stmt = evhttp_find_header(&q, "q");
    }
    char db[256], text[1024], err[200];
    int rc = stmt ? tsr_statement_create_database(stmt, db, sizeof(db), text, sizeof(text), err,
                                                  sizeof(err))
                  : 1;
    if (rc == 1) {
        static const char msg[] = "tsrelay forwards CREATE DATABASE only: query the database "
                                  "directly";
        reply_error(req, 0, 400, "invalid", msg, 0);
    } else if (rc < 0) {
        reply_error(req, 0, 400, "invalid", err, 0);
    } else if (tsr_auth_check(ih->cf, tsr_httpd_header(req, "Authorization"),
                              evhttp_find_header(&q, "u"), evhttp_find_header(&q, "p")) != 0) {
        reply_error(req, 0, 401, "unauthorized", "authorization failed", 0);
    } else if (ih->draining || tsr_durable_refusal(ih->dur)) {
        lm()->throttled++;
        reply_error(req, 0, 503, "unavailable",
                    ih->draining ? "relay is shutting down" : tsr_durable_refusal(ih->dur), 5);
    } else {
        produce_statement(ih, req, db, text);
    }
    evhttp_clear_headers(&q);
}

static void on_request(struct tsr_httpd_req *req, void *arg)
{
    struct tsr_ingest_http *ih = arg;
    const char *path = tsr_httpd_path(req);
    tsr_httpd_add_header(req, "X-Influxdb-Version", "1.8.10-tsrelay");
    tsr_httpd_add_header(req, "X-Influxdb-Build", "OSS");

    if (strcmp(path, "/write") == 0) {
        handle_write(ih, req, 0);
    } else if (strcmp(path, "/api/v2/write") == 0) {
        handle_write(ih, req, 1);
    } else if (strcmp(path, "/api/v1/write") == 0) {
        handle_write(ih, req, REMOTE_WRITE);
    } else if (strcmp(path, "/ping") == 0) {
        enum tsr_httpd_method m = tsr_httpd_method(req);
        if (m == TSR_HTTPD_GET || m == TSR_HTTPD_HEAD)
            tsr_httpd_reply(req, 204, NULL, NULL, 0);
        else
            reply_error(req, 0, 405, "method not allowed", "use GET or HEAD", 0);
    } else if (strcmp(path, "/health") == 0) {
        int ok = !tsr_durable_refusal(ih->dur) && !ih->draining;
        char out[128];
        int n = snprintf(out, sizeof(out),
                         "{\"name\":\"tsrelay\",\"message\":\"%s\",\"status\":\"%s\"}\n",
                         ok ? "ready for writes" : ih->draining ? "shutting down" : tsr_durable_refusal(ih->dur), ok ? "pass" : "fail");
        tsr_httpd_reply(req, ok ? 200 : 503, "application/json", out, (size_t)n);
    } else if (strcmp(path, "/query") == 0) {
        handle_query(ih, req);
    } else {
        reply_error(req, 0, 404, "not found", "not found", 0);
    }
}

int tsr_ingest_http_new(const struct tsr_config *cf, struct event_base *base,
                        struct tsr_kafka *k, struct tsr_durable *dur, struct tsr_shaper *shaper,
                        struct tsr_tls_server *tls, struct tsr_ingest_http **ihp, char *err,
                        size_t errlen)
{
    struct tsr_ingest_http *ih = calloc(1, sizeof(*ih));
    if (!ih) abort();
    ih->cf = cf;
    ih->k = k;
    ih->dur = dur;
    ih->shaper = shaper;
    ih->rules = tsr_influx_rules_new(cf);
    ih->no_unsigned = tsr_influx_rules_no_unsigned(cf);
    struct tsr_httpd_conf hc = {
        .name = "http",
        .listen = cf->listen_http,
        .tls = tls,
        .max_connections = cf->ingest_max_connections,
        .max_header_bytes = MAX_HEADER_BYTES,
        /* As sent: a gzip body is limited again after decoding. */
        .max_body_bytes = cf->ingest_max_body_bytes,
        .max_reading_bytes = cf->ingest_max_reading_bytes,
        .header_timeout_ms = cf->ingest_header_timeout_ms,
        .read_timeout_ms = cf->ingest_read_timeout_ms,
        .idle_timeout_ms = cf->ingest_idle_timeout_ms,
        .metrics = &tsr_metrics.conn[TSR_ENDPOINT_HTTP],
        .on_request = on_request,
        .arg = ih,
    };
    if (tsr_httpd_new(base, &hc, &ih->srv, err, errlen) != 0) goto fail;
    *ihp = ih;
    return 0;
fail:
    tsr_ingest_http_free(&ih);
    return -1;
}

void tsr_ingest_http_drain(struct tsr_ingest_http *ih)
{
    ih->draining = 1;
    if (ih->srv) tsr_httpd_stop_accepting(ih->srv);
}

int tsr_ingest_http_pending(const struct tsr_ingest_http *ih)
{
    return ih->pending;
}

void tsr_ingest_http_free(struct tsr_ingest_http **ihp)
{
    struct tsr_ingest_http *ih = *ihp;
    if (!ih) return;
    tsr_httpd_free(&ih->srv);
    tsr_batch_free(&ih->batch);
    tsr_buf_free(&ih->line[0]);
    tsr_buf_free(&ih->line[1]);
    tsr_buf_free(&ih->body);
    tsr_buf_free(&ih->dlq);
    tsr_buf_free(&ih->why);
    tsr_influx_rules_free(&ih->rules);
    free(ih);
    *ihp = NULL;
}

void tsr_ingest_http_set_config(struct tsr_ingest_http *ih, const struct tsr_config *cf)
{
    ih->cf = cf;
    ih->no_unsigned = tsr_influx_rules_no_unsigned(cf);
}

#include "relay/ingest/kafka_input.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "relay/core/buf.h"
#include "relay/core/clock.h"
#include "relay/core/json.h"
#include "relay/core/lineproto.h"
#include "relay/core/log.h"
#include "relay/core/metrics.h"
#include "relay/ingest/graphite.h"
#include "relay/ingest/influx_rules.h"
#include "relay/ingest/json_points.h"
#include "relay/ingest/lines.h"
#include "relay/ingest/unacked.h"
#include "relay/kafka/kafka.h"

/* Records taken in one read: enough to fill records of the relay's topic, few enough
 * that HTTP clients on the same loop wait little. */
#define RECORDS_PER_CYCLE 2000
/* Cycles read but not yet durable: reading runs ahead of Kafka's confirmations by this
 * much, then waits. */
#define MAX_CYCLES 8
#define TICK_MS    100
#define REOPEN_MS  5000
/* Each input's share of read-ahead in librdkafka's queues. */
#define READ_AHEAD_BYTES (16 << 20)

enum format { FMT_INFLUX, FMT_GRAPHITE, FMT_JSON };

/* The records of one read, until every point of them is durable. */
struct cycle {
    struct tsr_unacked_ticket ticket;
    struct input *in;
    rd_kafka_topic_partition_list_t *offsets; /* per partition, the next offset to read */
    int settled;
    struct cycle *next;
};

struct input {
    struct tsr_ingest_kafka *ik;
    const struct tsr_kafka_input_conf *ic;
    enum format format;
    char group[320];
    rd_kafka_t *rk;
    rd_kafka_queue_t *cq;
    int wake_fds[2]; /* librdkafka writes to [1] when the consumer queue fills */
    struct event *wake_ev, *tick_ev;
    struct event *again_ev; /* a zero timer: read on after the loop has served the rest */
    struct tsr_unacked *records;
    struct tsr_json_points *jp;
    struct tsr_graphite_tmpl *tmpl;
    struct tsr_lp_opts opts;
    struct tsr_lines lines;        /* parse, shape, then take or refuse */
    const rd_kafka_message_t *msg; /* the record being taken */
    struct cycle *head, **tail;
    int ncycles;
    rd_kafka_topic_partition_list_t *owned; /* as the last rebalance assigned */
    int64_t reopen_after_ms;                /* 0: the consumer is up (or being made) */
    uint64_t records_read, points, rejected, commits, commit_errors;
    struct tsr_buf conv; /* a record converted to line protocol */
    struct tsr_buf why;  /* why a record could not be converted */
};

struct tsr_ingest_kafka {
    const struct tsr_config *cf;
    struct event_base *base;
    struct tsr_kafka *k;
    struct tsr_durable *dur;
    struct tsr_shaper *shaper;
    struct input *inputs;
    size_t n;
    int draining;
};

/* Through a timer, not event_active: libevent runs events activated from a callback in
 * the same pass, so a busy input would starve every socket of the loop. */
static void read_soon(struct input *in)
{
    if (in->ik->draining || evtimer_pending(in->again_ev, NULL)) return;
    struct timeval now = {0, 0};
    evtimer_add(in->again_ev, &now);
}

/* --- offsets --------------------------------------------------------------------- */

static void on_committed(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    struct input *in = opaque;
    if (!err) return;
    in->commit_errors++;
    tsr_warn("kafka input '%s': offsets not committed (%s); those records may be read again",
             in->ic->topic, rd_kafka_err2str(err));
}

/* Commits the cycles at the head that are durable: in read order, so a commit never
 * passes a cycle whose points could still be lost. */
static void commit_settled(struct input *in)
{
    while (in->head && in->head->settled) {
        struct cycle *c = in->head;
        in->head = c->next;
        if (!in->head) in->tail = &in->head;
        in->ncycles--;
        if (in->rk && c->offsets->cnt > 0) {
            if (in->ik->draining) {
                rd_kafka_resp_err_t e = rd_kafka_commit(in->rk, c->offsets, 0);
                on_committed(in->rk, e, c->offsets, in);
            } else {
                rd_kafka_commit_queue(in->rk, c->offsets, in->cq, on_committed, in);
            }
            in->commits++;
        }
        rd_kafka_topic_partition_list_destroy(c->offsets);
        free(c);
    }
}

static void cycle_durable(struct tsr_unacked_ticket *t, void *arg)
{
    struct cycle *c = arg;
    struct input *in = c->in;
    c->settled = 1;
    commit_settled(in);
    read_soon(in); /* reading may have waited for room */
}

/* The partitions in `gone` are someone else's now: no cycle commits them. */
static void forget_partitions(struct input *in, const rd_kafka_topic_partition_list_t *gone)
{
    for (struct cycle *c = in->head; c; c = c->next)
        for (int i = 0; i < gone->cnt; i++)
            rd_kafka_topic_partition_list_del(c->offsets, gone->elems[i].topic,
                                              gone->elems[i].partition);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct input *in = opaque;
    if (in->owned) rd_kafka_topic_partition_list_destroy(in->owned);
    in->owned = NULL;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        in->owned = rd_kafka_topic_partition_list_copy(parts);
        tsr_info("kafka input '%s': reading %d partitions as a member of '%s'", in->ic->topic,
                 parts->cnt, in->group);
        rd_kafka_assign(rk, parts);
    } else {
        forget_partitions(in, parts);
        tsr_info("kafka input '%s': %d partitions handed back to the group", in->ic->topic,
                 parts->cnt);
        rd_kafka_assign(rk, NULL);
    }
}

/* --- records to points ------------------------------------------------------------ */

static void reject(void *arg, const char *raw, size_t len, long line_no, const char *reason)
{
    struct input *in = arg;
    const rd_kafka_message_t *m = in->msg;
    in->rejected++;
    tsr_metrics.listener[TSR_LISTENER_KAFKA].points_rejected++;
    const char *topic = rd_kafka_topic_name(m->rkt);
    tsr_debug("kafka input '%s': partition %" PRId32 " offset %" PRId64 " line %ld rejected: %s",
              topic, m->partition, m->offset, line_no, reason);
    tsr_kafka_dead_letter_input(in->ik->k, raw, len, reason, line_no, in->ic->database, topic,
                                m->partition, m->offset);
}

static void take(void *arg, const char *line, size_t len, uint64_t series)
{
    struct input *in = arg;
    tsr_unacked_add(in->records, line, len, series);
    in->points++;
}

/* Graphite lines, each on its own as the listener takes them. */
static void take_graphite(struct input *in, const char *p, size_t n)
{
    const char *end = p + n;
    long line_no = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        uint64_t hash;
        const char *reason;
        line_no++;
        in->lines.line.len = 0;
        int rc =
            tsr_graphite_line(in->tmpl, p, len, in->opts.now_ns, &in->lines.line, &hash, &reason);
        if (rc == 0)
            tsr_lines_shape(&in->lines, p, len, line_no, hash);
        else if (rc < 0)
            reject(in, p, len, line_no, reason);
        p += len + (nl != NULL);
    }
}

static void take_json(struct input *in, const char *p, size_t n)
{
    in->conv.len = 0;
    in->why.len = 0;
    if (tsr_json_points_convert(in->jp, p, n, in->opts.now_ns, &in->conv, &in->why) < 0) {
        tsr_buf_putc(&in->why, '\0');
        reject(in, p, n, 1, in->why.data);
        return;
    }
    /* The converted lines are ours: a line refused by the parser or the rules is
     * dead-lettered as the whole record, which is what its sender wrote. */
    const char *q = in->conv.data, *end = q + in->conv.len;
    struct tsr_lp_result res;
    long obj = 0;
    while (q < end) {
        in->lines.line.len = 0;
        tsr_lp_parse_line(q, end, &in->opts, &in->lines.line, &res);
        obj++;
        if (res.status == TSR_LP_OK) {
            tsr_lines_shape(&in->lines, p, n, obj, res.series_hash);
        } else if (res.status == TSR_LP_ERR) {
            in->why.len = 0;
            if (res.kind != TSR_LP_KIND_PARSE)
                tsr_influx_rules_reason(res.kind, q, res.line_len, &in->why);
            else
                tsr_buf_printf(&in->why, "object %ld: %s", obj, res.reason);
            tsr_buf_putc(&in->why, '\0');
            reject(in, p, n, obj, in->why.data);
        }
        q += res.consumed;
    }
}

static void take_record(struct input *in, const rd_kafka_message_t *m)
{
    rd_kafka_timestamp_type_t tt;
    int64_t ts_ms = rd_kafka_message_timestamp(m, &tt);
    const char *p = m->payload ? m->payload : "";
    in->msg = m;
    in->opts.now_ns = ts_ms >= 0 ? ts_ms * 1000000 : tsr_clock_now_ns();
    in->records_read++;
    tsr_metrics.listener[TSR_LISTENER_KAFKA].requests++;
    switch (in->format) {
    case FMT_INFLUX:
        tsr_lines_take(&in->lines, p, m->len);
        break;
    case FMT_GRAPHITE:
        take_graphite(in, p, m->len);
        break;
    case FMT_JSON:
        take_json(in, p, m->len);
        break;
    }
}

/* Remembers that everything of m's partition up to m is read, for this cycle's commit. */
static void note_offset(struct cycle *c, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    rd_kafka_topic_partition_t *tp =
        rd_kafka_topic_partition_list_find(c->offsets, topic, m->partition);
    if (!tp) tp = rd_kafka_topic_partition_list_add(c->offsets, topic, m->partition);
    tp->offset = m->offset + 1;
}

/* --- the consumer ------------------------------------------------------------------ */

static void close_consumer(struct input *in)
{
    if (!in->rk) return;
    rd_kafka_consumer_close(in->rk);
    rd_kafka_queue_destroy(in->cq);
    rd_kafka_destroy(in->rk);
    in->rk = NULL;
    in->cq = NULL;
    if (in->owned) rd_kafka_topic_partition_list_destroy(in->owned);
    in->owned = NULL;
}

static int open_consumer(struct input *in, char *err, size_t errlen)
{
    const struct tsr_config *cf = in->ik->cf;
    struct tsr_kafka_member mb = {
        .instance_id = cf->instance,
        .rebalance = (void (*)(struct rd_kafka_s *, int, struct rd_kafka_topic_partition_list_s *,
                               void *))on_rebalance,
        .opaque = in};
    in->rk =
        tsr_kafka_input_consumer_new(cf, in->ic, in->group, READ_AHEAD_BYTES, &mb, err, errlen);
    if (!in->rk) return -1;
    rd_kafka_poll_set_consumer(in->rk);
    in->cq = rd_kafka_queue_get_consumer(in->rk);
    rd_kafka_queue_io_event_enable(in->cq, in->wake_fds[1], "1", 1);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, in->ic->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(in->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        snprintf(err, errlen, "kafka input '%s': cannot subscribe: %s", in->ic->topic,
                 rd_kafka_err2str(e));
        close_consumer(in);
        return -1;
    }
    tsr_info("kafka input '%s' (%s into database '%s'): joining consumer group '%s' as '%s'",
             in->ic->topic, in->ic->format, in->ic->database, in->group, cf->instance);
    return 0;
}

/* A static member fenced (its session expired while the broker was away) cannot commit
 * or read again: a new consumer under the same instance takes its place. The cycles
 * waiting lose their offsets; their records will be read again, never skipped. */
static void reopen_if_fatal(struct input *in, int64_t now_ms)
{
    char why[256];
    if (in->rk && rd_kafka_fatal_error(in->rk, why, sizeof(why))) {
        tsr_error("kafka input '%s': consumer unusable: %s; a new one in %d s", in->ic->topic, why,
                  REOPEN_MS / 1000);
        for (struct cycle *c = in->head; c; c = c->next) {
            rd_kafka_topic_partition_list_destroy(c->offsets);
            c->offsets = rd_kafka_topic_partition_list_new(1);
        }
        close_consumer(in);
        in->reopen_after_ms = now_ms + REOPEN_MS;
        return;
    }
    if (!in->rk && in->reopen_after_ms && now_ms >= in->reopen_after_ms) {
        char err[512];
        in->reopen_after_ms = 0;
        if (open_consumer(in, err, sizeof(err))) {
            tsr_error("%s; trying again in %d s", err, REOPEN_MS / 1000);
            in->reopen_after_ms = now_ms + REOPEN_MS;
        }
    }
}

/* Takes what the consumer has, up to a cycle, unless too much waits for Kafka already. */
static void read_some(struct input *in)
{
    if (!in->rk || in->ik->draining) return;
    if (in->ncycles >= MAX_CYCLES || tsr_unacked_overloaded(in->records) ||
        tsr_unacked_ready(in->records) != 0)
        return; /* the next durable cycle, or the tick, reads on */
    /* The first poll also serves rebalances and errors; a cycle starts with a record. */
    rd_kafka_message_t *m = rd_kafka_consumer_poll(in->rk, 0);
    while (m && m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            tsr_warn("kafka input '%s': %s", in->ic->topic, rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        m = rd_kafka_consumer_poll(in->rk, 0);
    }
    if (!m) return;
    struct cycle *c = calloc(1, sizeof(*c));
    if (!c) abort();
    c->in = in;
    c->offsets = rd_kafka_topic_partition_list_new(8);
    c->ticket.done = cycle_durable;
    c->ticket.arg = c;
    *in->tail = c;
    in->tail = &c->next;
    in->ncycles++;
    tsr_unacked_ticket_begin(in->records, &c->ticket);
    int taken = 0;
    for (; m; m = taken < RECORDS_PER_CYCLE ? rd_kafka_consumer_poll(in->rk, 0) : NULL) {
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                tsr_warn("kafka input '%s': %s", in->ic->topic, rd_kafka_message_errstr(m));
        } else {
            take_record(in, m);
            note_offset(c, m);
            taken++;
        }
        rd_kafka_message_destroy(m);
    }
    /* Sealing may finish the cycle at once (nothing read, or every point dropped). */
    tsr_unacked_ticket_seal(in->records);
    tsr_unacked_check(in->records);
    if (taken == RECORDS_PER_CYCLE) read_soon(in);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct input *in = arg;
    char drain[64];
    while (read(in->wake_fds[0], drain, sizeof(drain)) > 0) {
    }
    read_some(in);
}

static void on_again(evutil_socket_t fd, short what, void *arg)
{
    read_some(arg);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct input *in = arg;
    reopen_if_fatal(in, tsr_clock_now_ns() / 1000000);
    read_some(in);
}

/* The listener-style pause of relay/ingest/unacked.h: reading stops by itself while
 * the records are overloaded (read_some checks), so there is nothing to switch. */
static void reading_changed(void *arg, int on)
{
    if (on) read_soon(arg);
}

/* The input's JSON conversion or Graphite templates, as its format needs (the other
 * stays NULL). Returns 0, or -1 with err naming the input. */
static int compile_converter(const struct tsr_config *cf, const struct tsr_kafka_input_conf *ic,
                             struct tsr_json_points **jp, struct tsr_graphite_tmpl **tmpl,
                             char *err, size_t errlen)
{
    char why[400];
    if (strcmp(ic->format, "json") == 0) {
        struct tsr_json_conf jc = {
            .measurement = ic->json_measurement,
            .name_key = ic->json_name_key,
            .tag_keys = (const char *const *)ic->json_tag_keys,
            .ntag_keys = ic->njson_tag_keys,
            .string_fields = (const char *const *)ic->json_string_fields,
            .nstring_fields = ic->njson_string_fields,
            .time_key = ic->json_time_key,
            .time_format = ic->json_time_format,
        };
        if (tsr_json_points_new(&jc, jp, why, sizeof(why)) == 0) return 0;
    } else if (strcmp(ic->format, "graphite") == 0) {
        if (tsr_graphite_tmpl_compile((const char *const *)ic->graphite_templates,
                                      ic->ngraphite_templates, cf->graphite_separator, tmpl, why,
                                      sizeof(why)) == 0)
            return 0;
    } else {
        return 0;
    }
    snprintf(err, errlen, "kafka input '%s': %s", ic->topic, why);
    return -1;
}

int tsr_ingest_kafka_check(const struct tsr_config *cf, char *err, size_t errlen)
{
    for (size_t i = 0; i < cf->nkafka_inputs; i++) {
        struct tsr_json_points *jp = NULL;
        struct tsr_graphite_tmpl *tmpl = NULL;
        int rc = compile_converter(cf, &cf->kafka_inputs[i], &jp, &tmpl, err, errlen);
        tsr_json_points_free(&jp);
        tsr_graphite_tmpl_free(&tmpl);
        if (rc) return -1;
    }
    return 0;
}

static int input_start(struct tsr_ingest_kafka *ik, struct input *in,
                       const struct tsr_kafka_input_conf *ic, char *err, size_t errlen)
{
    const struct tsr_config *cf = ik->cf;
    in->ik = ik;
    in->ic = ic;
    in->tail = &in->head;
    in->wake_fds[0] = in->wake_fds[1] = -1;
    if (*ic->group)
        snprintf(in->group, sizeof(in->group), "%s", ic->group);
    else
        snprintf(in->group, sizeof(in->group), "tsrelay-%s-input-%s", cf->datacenter, ic->topic);
    in->format = strcmp(ic->format, "json") == 0       ? FMT_JSON
                 : strcmp(ic->format, "graphite") == 0 ? FMT_GRAPHITE
                                                       : FMT_INFLUX;
    tsr_precision_parse(ic->precision, &in->opts.precision); /* the schema checked it */
    in->opts.max_line_bytes = (size_t)cf->ingest_max_line_bytes;
    in->opts.max_tags = (unsigned)cf->ingest_max_tags;
    in->opts.reject_unsigned = tsr_influx_rules_no_unsigned(cf);
    if (in->format == FMT_JSON) in->opts.precision = TSR_PREC_NS; /* converted lines */
    in->lines = (struct tsr_lines){.opts = &in->opts,
                                   .shaper = ik->shaper,
                                   .db = ic->database,
                                   .take = take,
                                   .refuse = reject,
                                   .arg = in};
    if (compile_converter(cf, ic, &in->jp, &in->tmpl, err, errlen)) return -1;
    if (pipe2(in->wake_fds, O_NONBLOCK | O_CLOEXEC)) {
        snprintf(err, errlen, "kafka input '%s': pipe: %s", ic->topic, strerror(errno));
        return -1;
    }
    in->records = tsr_unacked_new(cf, ik->base, ik->dur, TSR_LISTENER_KAFKA, ic->database,
                                  ic->retention_policy, reading_changed, in);
    in->wake_ev = event_new(ik->base, in->wake_fds[0], EV_READ | EV_PERSIST, on_wake, in);
    in->tick_ev = event_new(ik->base, -1, EV_PERSIST, on_tick, in);
    in->again_ev = evtimer_new(ik->base, on_again, in);
    event_add(in->wake_ev, NULL);
    struct timeval tv = {0, TICK_MS * 1000};
    event_add(in->tick_ev, &tv);
    return open_consumer(in, err, errlen);
}

int tsr_ingest_kafka_new(const struct tsr_config *cf, struct event_base *base, struct tsr_kafka *k,
                         struct tsr_durable *dur, struct tsr_shaper *shaper,
                         struct tsr_ingest_kafka **ikp, char *err, size_t errlen)
{
    struct tsr_ingest_kafka *ik = calloc(1, sizeof(*ik));
    if (!ik) abort();
    ik->cf = cf;
    ik->base = base;
    ik->k = k;
    ik->dur = dur;
    ik->shaper = shaper;
    ik->inputs = calloc(cf->nkafka_inputs ? cf->nkafka_inputs : 1, sizeof(*ik->inputs));
    if (!ik->inputs) abort();
    for (; ik->n < cf->nkafka_inputs; ik->n++) {
        if (input_start(ik, &ik->inputs[ik->n], &cf->kafka_inputs[ik->n], err, errlen)) {
            ik->n++; /* free what it made */
            tsr_ingest_kafka_free(&ik);
            return -1;
        }
    }
    *ikp = ik;
    return 0;
}

void tsr_ingest_kafka_drain(struct tsr_ingest_kafka *ik)
{
    if (!ik) return;
    ik->draining = 1;
    for (size_t i = 0; i < ik->n; i++) {
        struct input *in = &ik->inputs[i];
        if (in->wake_ev) event_del(in->wake_ev);
        if (in->tick_ev) event_del(in->tick_ev);
        if (in->again_ev) event_del(in->again_ev);
        if (in->records) tsr_unacked_drain(in->records);
    }
}

int tsr_ingest_kafka_pending(const struct tsr_ingest_kafka *ik)
{
    int n = 0;
    for (size_t i = 0; ik && i < ik->n; i++)
        n += ik->inputs[i].ncycles;
    return n;
}

static const char *state_of(const struct input *in)
{
    if (in->ik->draining) return "draining";
    if (!in->rk) return "reconnecting";
    if (in->ncycles >= MAX_CYCLES || tsr_unacked_overloaded(in->records)) return "waiting";
    return "reading";
}

/* Records of the owned partitions not yet read: the broker's end (as last fetched)
 * less the position. -1 while no owned partition has a position yet. */
static int64_t lag_of(const struct input *in)
{
    if (!in->rk || !in->owned) return -1;
    rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_copy(in->owned);
    rd_kafka_position(in->rk, pos);
    int64_t lag = -1;
    for (int i = 0; i < pos->cnt; i++) {
        int64_t lo, hi;
        if (rd_kafka_get_watermark_offsets(in->rk, pos->elems[i].topic, pos->elems[i].partition,
                                           &lo, &hi) ||
            hi < 0)
            continue;
        int64_t at = pos->elems[i].offset >= 0 ? pos->elems[i].offset : lo;
        if (at < 0) continue;
        lag = (lag < 0 ? 0 : lag) + (hi > at ? hi - at : 0);
    }
    rd_kafka_topic_partition_list_destroy(pos);
    return lag;
}

void tsr_ingest_kafka_json(const struct tsr_ingest_kafka *ik, struct tsr_buf *b)
{
    tsr_buf_puts(b, ",\"inputs\":[");
    for (size_t i = 0; ik && i < ik->n; i++) {
        const struct input *in = &ik->inputs[i];
        tsr_buf_puts(b, i ? ",{\"topic\":" : "{\"topic\":");
        tsr_json_string(b, in->ic->topic);
        tsr_buf_puts(b, ",\"format\":");
        tsr_json_string(b, in->ic->format);
        tsr_buf_puts(b, ",\"database\":");
        tsr_json_string(b, in->ic->database);
        tsr_buf_puts(b, ",\"group\":");
        tsr_json_string(b, in->group);
        tsr_buf_printf(b,
                       ",\"state\":\"%s\",\"partitions\":%d,\"lag\":%" PRId64
                       ",\"records\":%" PRIu64 ",\"points\":%" PRIu64 ",\"rejected\":%" PRIu64
                       ",\"commits\":%" PRIu64 ",\"commit_errors\":%" PRIu64
                       ",\"cycles_waiting\":%d}",
                       state_of(in), in->owned ? in->owned->cnt : 0, lag_of(in), in->records_read,
                       in->points, in->rejected, in->commits, in->commit_errors, in->ncycles);
    }
    tsr_buf_putc(b, ']');
}

void tsr_ingest_kafka_metrics(const struct tsr_ingest_kafka *ik, struct tsr_buf *b)
{
    if (!ik || ik->n == 0) return;
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } fam[] = {
        {"tsrelay_input_records_total", "counter", "Records read from the input topic",
         offsetof(struct input, records_read)},
        {"tsrelay_input_points_total", "counter", "Points taken from them into the relay's topic",
         offsetof(struct input, points)},
        {"tsrelay_input_rejected_total", "counter",
         "Records or lines dead-lettered because they could not be converted",
         offsetof(struct input, rejected)},
        {"tsrelay_input_commits_total", "counter",
         "Offset commits, each after its points were durable", offsetof(struct input, commits)},
        {"tsrelay_input_commit_errors_total", "counter", "Offset commits Kafka failed",
         offsetof(struct input, commit_errors)},
    };
    for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
        tsr_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", fam[f].name, fam[f].help, fam[f].name,
                       fam[f].type);
        for (size_t i = 0; i < ik->n; i++)
            tsr_buf_printf(
                b, "%s{topic=\"%s\"} %" PRIu64 "\n", fam[f].name, ik->inputs[i].ic->topic,
                *(const uint64_t *)(const void *)((const char *)&ik->inputs[i] + fam[f].off));
    }
    tsr_buf_puts(b, "# HELP tsrelay_input_lag Records of the owned partitions not yet read "
                    "(-1: unknown)\n# TYPE tsrelay_input_lag gauge\n");
    for (size_t i = 0; i < ik->n; i++)
        tsr_buf_printf(b, "tsrelay_input_lag{topic=\"%s\"} %" PRId64 "\n", ik->inputs[i].ic->topic,
                       lag_of(&ik->inputs[i]));
    tsr_buf_puts(b, "# HELP tsrelay_input_partitions Partitions of the input topic this relay "
                    "reads\n# TYPE tsrelay_input_partitions gauge\n");
    for (size_t i = 0; i < ik->n; i++)
        tsr_buf_printf(b, "tsrelay_input_partitions{topic=\"%s\"} %d\n", ik->inputs[i].ic->topic,
                       ik->inputs[i].owned ? ik->inputs[i].owned->cnt : 0);
}

static void input_free(struct input *in)
{
    close_consumer(in);
    while (in->head) {
        struct cycle *c = in->head;
        in->head = c->next;
        rd_kafka_topic_partition_list_destroy(c->offsets);
        free(c);
    }
    /* Records never confirmed hold tickets of the cycles just freed: they go first. */
    tsr_unacked_free(&in->records);
    if (in->wake_ev) event_free(in->wake_ev);
    if (in->tick_ev) event_free(in->tick_ev);
    if (in->again_ev) event_free(in->again_ev);
    for (int i = 0; i < 2; i++)
        if (in->wake_fds[i] >= 0) close(in->wake_fds[i]);
    tsr_json_points_free(&in->jp);
    tsr_graphite_tmpl_free(&in->tmpl);
    tsr_buf_free(&in->conv);
    tsr_lines_free(&in->lines);
    tsr_buf_free(&in->why);
}

void tsr_ingest_kafka_free(struct tsr_ingest_kafka **ikp)
{
    struct tsr_ingest_kafka *ik = *ikp;
    if (!ik) return;
    for (size_t i = 0; i < ik->n; i++)
        input_free(&ik->inputs[i]);
    free(ik->inputs);
    free(ik);
    *ikp = NULL;
}

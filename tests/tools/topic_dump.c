/* tests/tools/topic_dump.c — print what a Kafka topic holds, for integration tests.
 *
 * Usage: topic_dump -b BROKERS -t TOPIC [-H] [-c] [-T SECONDS]
 *
 * Reads every partition of TOPIC from its log start up to the high watermark seen when
 * the tool started, and writes the record values to stdout as stored (tsrelay's values
 * are chunks of '\n'-terminated line-protocol lines, so the output is line protocol; a
 * value without a final '\n' gets one). Partitions are read one after the other, each in offset order, so the output
 * is deterministic for a given topic. Records produced after the start are not read: the
 * tool always terminates.
 *
 *   -H  print "# key=value ... partition=N offset=N" before each record's value
 *   -c  print only the number of lines in all values
 *   -T  give up after SECONDS without progress (default 10)
 *
 * It never creates the topic (a consumer's metadata requests do not auto-create), and
 * a missing topic or an unreachable broker is reported after the timeout rather than
 * waited on forever.
 *
 * Exit codes: 0 done, 1 broker or topic unreachable (or a read error), 2 usage error. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#define EXIT_UNREACHABLE 1
#define EXIT_USAGE       2

struct opts {
    const char *brokers;
    const char *topic;
    int headers;
    int count;
    int watermarks;
    int timeout_ms;
};

static const char usage_text[] =
    "usage: topic_dump -b BROKERS -t TOPIC [-H] [-c] [-W] [-T SECONDS]\n"
    "Print the record values of every partition of TOPIC, from the start up to the\n"
    "high watermark present when topic_dump starts.\n"
    "  -b BROKERS  bootstrap brokers, e.g. 127.0.0.1:9092\n"
    "  -t TOPIC    topic to read (never created)\n"
    "  -H          print each record's headers, partition and offset as a '# ...' line\n"
    "  -c          print only the number of lines in all record values\n"
    "  -W          print only each partition's watermarks: PARTITION LOW HIGH\n"
    "  -T SECONDS  give up after SECONDS without progress (default 10)\n"
    "Exit status: 0 done, 1 broker or topic unreachable, 2 usage error.\n";

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void die(int code, const char *fmt, ...)
{
    va_list ap;
    fputs("topic_dump: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* librdkafka logs every failed connection attempt; keep warnings and errors (they say
 * why a broker cannot be reached) but in our own prefix, and drop the chatter. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level <= LOG_WARNING) fprintf(stderr, "topic_dump: librdkafka %s: %s\n", fac, buf);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    o->timeout_ms = 10000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            exit(0);
        } else if (!strcmp(a, "-H")) {
            o->headers = 1;
        } else if (!strcmp(a, "-c")) {
            o->count = 1;
        } else if (!strcmp(a, "-W")) {
            o->watermarks = 1;
        } else if (!strcmp(a, "-b") || !strcmp(a, "-t") || !strcmp(a, "-T")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "topic_dump: option '%s' needs a value\n%s", a, usage_text);
                exit(EXIT_USAGE);
            }
            const char *v = argv[++i];
            if (a[1] == 'b') {
                o->brokers = v;
            } else if (a[1] == 't') {
                o->topic = v;
            } else {
                char *end;
                errno = 0;
                long s = strtol(v, &end, 10);
                if (errno || *end || s <= 0 || s > 3600) {
                    fprintf(stderr, "topic_dump: bad timeout '%s'\n%s", v, usage_text);
                    exit(EXIT_USAGE);
                }
                o->timeout_ms = (int)s * 1000;
            }
        } else {
            fprintf(stderr, "topic_dump: unknown argument '%s'\n%s", a, usage_text);
            exit(EXIT_USAGE);
        }
    }
    if (!o->brokers || !o->topic || !*o->brokers || !*o->topic) {
        fprintf(stderr, "topic_dump: -b and -t are required\n%s", usage_text);
        exit(EXIT_USAGE);
    }
}

static rd_kafka_t *consumer_new(const struct opts *o)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* Partitions are assigned by hand and nothing is committed, so the group is never
     * joined; librdkafka 2.0 still wants a group.id for rd_kafka_assign().
     * allow.auto.create.topics=false (the consumer default) keeps a mistyped topic
     * name from creating a topic on a broker with auto.create.topics.enable. */
    const char *kv[][2] = {
        {"bootstrap.servers", o->brokers},
        {"group.id", "topic_dump"},
        {"enable.partition.eof", "true"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},
        {"allow.auto.create.topics", "false"},
        {"client.id", "topic_dump"},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK)
            die(EXIT_UNREACHABLE, "cannot set '%s': %s", kv[i][0], errstr);
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    /* rd_kafka_new takes ownership of conf on success only. */
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        die(EXIT_UNREACHABLE, "cannot create consumer: %s", errstr);
    }
    return rk;
}

/* Waits for the topic's metadata with every partition led, returns the partition count.
 * Retries through the transient errors of a topic that is still being created. */
static int topic_partitions(rd_kafka_t *rk, const struct opts *o)
{
    int64_t deadline = now_ms() + o->timeout_ms;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    const char *why = "no answer";
    int cnt = -1;

    if (!rkt) die(EXIT_UNREACHABLE, "cannot use topic '%s'", o->topic);
    while (cnt < 0) {
        int left = (int)(deadline - now_ms());
        if (left <= 0) break;
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, left);
        if (err) {
            why = rd_kafka_err2str(err);
            if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) break;
        } else if (md->topic_cnt != 1) {
            why = "topic missing from metadata";
        } else if (md->topics[0].err) {
            why = rd_kafka_err2str(md->topics[0].err);
        } else {
            const struct rd_kafka_metadata_topic *mt = &md->topics[0];
            int led = 1;
            for (int i = 0; i < mt->partition_cnt; i++)
                if (mt->partitions[i].err || mt->partitions[i].leader < 0) led = 0;
            if (mt->partition_cnt > 0 && led)
                cnt = mt->partition_cnt;
            else
                why = "partitions without a leader";
        }
        if (md) rd_kafka_metadata_destroy(md);
        if (cnt < 0) {
            struct timespec ts = {0, 200 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    rd_kafka_topic_destroy(rkt);
    if (cnt < 0)
        die(EXIT_UNREACHABLE, "cannot get metadata of topic '%s' from '%s' within %d s: %s",
            o->topic, o->brokers, o->timeout_ms / 1000, why);
    return cnt;
}

/* Header values are arbitrary bytes: escape what would break the one-line format. */
static void print_escaped(FILE *out, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] > ' ' && p[i] < 0x7f && p[i] != '\\')
            fputc(p[i], out);
        else
            fprintf(out, "\\x%02x", p[i]);
    }
}

static void print_headers(FILE *out, const rd_kafka_message_t *rkm)
{
    rd_kafka_headers_t *hdrs = NULL;
    fputc('#', out);
    if (rd_kafka_message_headers(rkm, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *name;
        const void *val;
        size_t size;
        for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &val, &size); i++) {
            fputc(' ', out);
            print_escaped(out, (const unsigned char *)name, strlen(name));
            fputc('=', out);
            if (val) print_escaped(out, val, size);
        }
    }
    fprintf(out, " partition=%" PRId32 " offset=%" PRId64 "\n", rkm->partition, rkm->offset);
}

static uint64_t count_lines(const char *p, size_t n)
{
    uint64_t lines = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] == '\n') lines++;
    /* A value whose last line lacks its '\n' still holds that line. */
    if (n > 0 && p[n - 1] != '\n') lines++;
    return lines;
}

/* Reads partition [lo, hi) of the topic. Returns the number of lines in its values. */
static uint64_t dump_partition(rd_kafka_t *rk, const struct opts *o, int32_t part, int64_t lo,
                               int64_t hi)
{
    rd_kafka_topic_partition_list_t *tpl = rd_kafka_topic_partition_list_new(1);
    uint64_t lines = 0;
    rd_kafka_resp_err_t err;

    rd_kafka_topic_partition_list_add(tpl, o->topic, part)->offset = lo;
    err = rd_kafka_assign(rk, tpl);
    rd_kafka_topic_partition_list_destroy(tpl);
    if (err) die(EXIT_UNREACHABLE, "cannot assign partition %d: %s", part, rd_kafka_err2str(err));

    int64_t last_progress = now_ms();
    int done = 0;
    while (!done) {
        if (now_ms() - last_progress > o->timeout_ms)
            die(EXIT_UNREACHABLE,
                "partition %d of '%s': no progress for %d s (wanted offsets up to %" PRId64 ")",
                part, o->topic, o->timeout_ms / 1000, hi - 1);
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 200);
        if (!rkm) continue;
        if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* EOF reports the next offset; control records (transaction markers) are
             * never delivered, so this is how a partition ending in one finishes. */
            if (rkm->partition == part && rkm->offset >= hi) done = 1;
        } else if (rkm->err) {
            const char *msg = rd_kafka_message_errstr(rkm);
            /* Fatal for this topic; transient broker errors are retried by librdkafka. */
            if (rkm->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                rkm->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
                die(EXIT_UNREACHABLE, "partition %d of '%s': %s", part, o->topic, msg);
            fprintf(stderr, "topic_dump: partition %d: %s\n", part, msg);
        } else if (rkm->partition == part && rkm->offset < hi) {
            last_progress = now_ms();
            if (o->count) {
                lines += count_lines(rkm->payload, rkm->len);
            } else {
                if (o->headers) print_headers(stdout, rkm);
                if (rkm->len) fwrite(rkm->payload, 1, rkm->len, stdout);
                /* Keep one line per line even for a value that lacks its last '\n'
                 * (not tsrelay's, e.g. kcat's), so the output agrees with -c. */
                if (rkm->len && ((const char *)rkm->payload)[rkm->len - 1] != '\n')
                    fputc('\n', stdout);
            }
            if (rkm->offset >= hi - 1) done = 1;
        } else if (rkm->partition == part) {
            done = 1; /* past the watermark taken at start */
        }
        rd_kafka_message_destroy(rkm);
    }
    rd_kafka_assign(rk, NULL);
    return lines;
}

int main(int argc, char **argv)
{
    struct opts o = {0};
    parse_args(argc, argv, &o);

    rd_kafka_t *rk = consumer_new(&o);
    int cnt = topic_partitions(rk, &o);

    /* Take every partition's watermarks before reading any, so the snapshot is the
     * topic as it was at start, not a moving target. */
    int64_t *lo = calloc((size_t)cnt, sizeof *lo);
    int64_t *hi = calloc((size_t)cnt, sizeof *hi);
    if (!lo || !hi) die(EXIT_UNREACHABLE, "out of memory");
    for (int32_t p = 0; p < cnt; p++) {
        rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(rk, o.topic, p, &lo[p], &hi[p], o.timeout_ms);
        if (err)
            die(EXIT_UNREACHABLE, "cannot get watermarks of partition %d of '%s': %s", p, o.topic,
                rd_kafka_err2str(err));
    }

    if (o.watermarks) {
        /* Only the offsets: "PARTITION LOW HIGH" per line. */
        for (int32_t p = 0; p < cnt; p++)
            printf("%d %" PRId64 " %" PRId64 "\n", p, lo[p], hi[p]);
        cnt = 0;
    }
    uint64_t lines = 0;
    for (int32_t p = 0; p < cnt; p++)
        if (hi[p] > lo[p]) lines += dump_partition(rk, &o, p, lo[p], hi[p]);
    if (o.count) printf("%" PRIu64 "\n", lines);

    free(lo);
    free(hi);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (fflush(stdout) != 0 || ferror(stdout)) die(EXIT_UNREACHABLE, "cannot write stdout");
    return 0;
}

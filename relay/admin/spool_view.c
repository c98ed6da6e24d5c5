#include "relay/admin/spool_view.h"

#include "relay/core/buf.h"
#include "relay/kafka/durable.h"

void tsr_spool_view_json(struct tsr_durable *d, struct tsr_buf *b)
{
    struct tsr_durable_status s;
    tsr_durable_status(d, &s);
    tsr_buf_printf(b,
                   ",\"spool\":{\"enabled\":%s,\"state\":\"%s\",\"records\":%lld,\"bytes\":%lld,"
                   "\"max_bytes\":%lld,\"oldest_age_s\":%.3f,\"spooled\":%llu,\"refused\":%llu,"
                   "\"drained\":%llu,\"drained_bytes\":%llu,\"dead_lettered\":%llu,"
                   "\"drain_rate\":%.1f,\"drain_bytes_rate\":%.1f}",
                   s.enabled ? "true" : "false", s.state, (long long)s.records,
                   (long long)s.bytes, (long long)s.max_bytes, s.oldest_age_s,
                   (unsigned long long)s.spooled, (unsigned long long)s.refused,
                   (unsigned long long)s.drained, (unsigned long long)s.drained_bytes,
                   (unsigned long long)s.dead_lettered, s.drain_rate, s.drain_bytes_rate);
}

static void family(struct tsr_buf *b, const char *name, const char *type, const char *help,
                   double v)
{
    tsr_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

void tsr_spool_view_metrics(struct tsr_durable *d, struct tsr_buf *b)
{
    struct tsr_durable_status s;
    tsr_durable_status(d, &s);
    if (!s.enabled) return;
    family(b, "tsrelay_spool_records", "gauge",
           "Records in the spool: writes Kafka could not take, waiting to be drained into it.",
           (double)s.records);
    family(b, "tsrelay_spool_bytes", "gauge", "Bytes of the records in the spool.",
           (double)s.bytes);
    family(b, "tsrelay_spool_max_bytes", "gauge", "The spool's bound (spool.max_bytes).",
           (double)s.max_bytes);
    family(b, "tsrelay_spool_oldest_age_seconds", "gauge",
           "Age of the oldest record in the spool (0 when empty).", s.oldest_age_s);
    family(b, "tsrelay_spool_records_spooled_total", "counter",
           "Records made durable in the spool.", (double)s.spooled);
    family(b, "tsrelay_spool_refused_total", "counter",
           "Records the spool could not take (full, or a disk or LMDB error): answered 503.",
           (double)s.refused);
    family(b, "tsrelay_spool_drained_records_total", "counter",
           "Spooled records Kafka confirmed.", (double)s.drained);
    family(b, "tsrelay_spool_drained_bytes_total", "counter",
           "Payload bytes of the spooled records Kafka confirmed.", (double)s.drained_bytes);
    family(b, "tsrelay_spool_dead_lettered_total", "counter",
           "Spooled records Kafka refused for themselves (too large, corrupt), sent to the "
           "dead-letter topic.",
           (double)s.dead_lettered);
    family(b, "tsrelay_spool_commits_total", "counter",
           "Spool transactions committed (one fsync each, for every write queued meanwhile).",
           (double)s.commits);
    family(b, "tsrelay_spool_commit_seconds_total", "counter", "Time spent committing the spool.",
           s.commit_s);
}

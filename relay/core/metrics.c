#include "relay/core/metrics.h"

#include <inttypes.h>
#include <stddef.h>
#include <string.h>

struct tsr_metrics tsr_metrics;

const char *const tsr_listener_names[TSR_LISTENER_MAX] = {"http", "graphite_tcp",
                                                          "graphite_udp", "udp", "kafka"};

const char *const tsr_endpoint_names[TSR_ENDPOINT_MAX] = {"http", "graphite", "admin"};

const double tsr_latency_bounds_ms[TSR_LATENCY_BUCKETS] = {1,   2,   5,    10,   25,   50,
                                                           100, 250, 1000, 2500, 5000, 10000};

void tsr_metrics_observe_latency(struct tsr_metrics *m, double seconds)
{
    double ms = seconds * 1000.0;
    int i = 0;
    while (i < TSR_LATENCY_BUCKETS && ms > tsr_latency_bounds_ms[i]) i++;
    m->kafka_latency_count[i]++;
    m->kafka_latency_sum_s += seconds;
}

static void counter(struct tsr_buf *out, const char *name, const char *help, uint64_t v)
{
    tsr_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", name, help, name,
                   name, v);
}

static void gauge(struct tsr_buf *out, const char *name, const char *help, int64_t v)
{
    tsr_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %" PRId64 "\n", name, help, name,
                   name, v);
}

/* One metric family with a `listener` label, read through an offset into the struct. */
static void per_listener(struct tsr_buf *out, const struct tsr_metrics *m, const char *name,
                         const char *help, size_t offset)
{
    tsr_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (int l = 0; l < TSR_LISTENER_MAX; l++) {
        const char *base = (const char *)&m->listener[l];
        tsr_buf_printf(out, "%s{listener=\"%s\"} %" PRIu64 "\n", name, tsr_listener_names[l],
                       *(const uint64_t *)(base + offset));
    }
}

/* One family with a `listener` label per stream listener, read through an offset. */
static void per_endpoint(struct tsr_buf *out, const struct tsr_metrics *m, const char *name,
                         const char *type, const char *help, size_t offset)
{
    tsr_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    for (int l = 0; l < TSR_ENDPOINT_MAX; l++) {
        const char *base = (const char *)&m->conn[l];
        int64_t v;
        memcpy(&v, base + offset, sizeof(v));
        tsr_buf_printf(out, "%s{listener=\"%s\"} %" PRId64 "\n", name, tsr_endpoint_names[l], v);
    }
}

static void render_connections(const struct tsr_metrics *m, struct tsr_buf *out)
{
#define C(field) offsetof(struct tsr_conn_metrics, field)
    per_endpoint(out, m, "tsrelay_connections", "gauge", "Connections open now.", C(open));
    per_endpoint(out, m, "tsrelay_connections_accepted_total", "counter",
                 "Connections accepted.", C(accepted));
    per_endpoint(out, m, "tsrelay_connections_refused_total", "counter",
                 "Connections closed at once because the listener had max_connections.",
                 C(refused_connections));
    per_endpoint(out, m, "tsrelay_requests_refused_total", "counter",
                 "Requests the HTTP server refused itself (400, 408, 413, 431, 503).",
                 C(refused_requests));
    per_endpoint(out, m, "tsrelay_requests_refused_reading_total", "counter",
                 "Requests answered 503 because max_reading_bytes of bodies were being received.",
                 C(reading_refused));
    per_endpoint(out, m, "tsrelay_connection_timeouts_total", "counter",
                 "Connections cut by the header timeout (a request head, or nothing, too slow) or the body timeout.", C(timed_out));
    per_endpoint(out, m, "tsrelay_tls_handshake_failures_total", "counter",
                 "TLS handshakes that failed (certificate refused, wrong protocol, ...).",
                 C(tls_failed));
    per_endpoint(out, m, "tsrelay_reading_bytes", "gauge",
                 "Request bodies being received now (bounded by ingest.max_reading_bytes).",
                 C(reading_bytes));
#undef C
}

void tsr_metrics_render(const struct tsr_metrics *m, struct tsr_buf *out)
{
#define L(field) offsetof(struct tsr_listener_metrics, field)
    per_listener(out, m, "tsrelay_points_accepted_total", "Points made durable in Kafka.",
                 L(points_accepted));
    per_listener(out, m, "tsrelay_points_rejected_total",
                 "Invalid lines rejected (sent to the dead-letter topic).", L(points_rejected));
    per_listener(out, m, "tsrelay_points_failed_total",
                 "Valid points Kafka did not confirm; the client was told to retry.",
                 L(points_failed));
    per_listener(out, m, "tsrelay_requests_total",
                 "HTTP write requests, TCP connections or UDP datagrams received.", L(requests));
    per_listener(out, m, "tsrelay_throttled_total",
                 "Requests refused (429/503) or read pauses because Kafka was behind or down.",
                 L(throttled));
#undef L
    tsr_buf_puts(out, "# HELP tsrelay_http_responses_total HTTP write responses by status class.\n"
                      "# TYPE tsrelay_http_responses_total counter\n");
    for (int c = 2; c <= 5; c++)
        tsr_buf_printf(out, "tsrelay_http_responses_total{code=\"%dxx\"} %" PRIu64 "\n", c,
                       m->listener[TSR_LISTENER_HTTP].responses[c]);

    counter(out, "tsrelay_kafka_records_total", "Kafka records confirmed durable (acks=all).",
            m->kafka_records);
    counter(out, "tsrelay_kafka_bytes_total", "Payload bytes of confirmed Kafka records.",
            m->kafka_bytes);
    counter(out, "tsrelay_kafka_errors_total", "Kafka records that failed to be produced.",
            m->kafka_errors);
    counter(out, "tsrelay_dlq_records_total", "Rejected lines written to the dead-letter topic.",
            m->dlq_records);
    counter(out, "tsrelay_dlq_errors_total", "Dead-letter records that could not be written.",
            m->dlq_errors);

    tsr_buf_puts(out, "# HELP tsrelay_kafka_produce_latency_seconds Time from produce to "
                      "delivery report.\n# TYPE tsrelay_kafka_produce_latency_seconds histogram\n");
    uint64_t cum = 0;
    for (int i = 0; i < TSR_LATENCY_BUCKETS; i++) {
        cum += m->kafka_latency_count[i];
        tsr_buf_printf(out, "tsrelay_kafka_produce_latency_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                       tsr_latency_bounds_ms[i] / 1000.0, cum);
    }
    cum += m->kafka_latency_count[TSR_LATENCY_BUCKETS];
    tsr_buf_printf(out,
                   "tsrelay_kafka_produce_latency_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
                   "tsrelay_kafka_produce_latency_seconds_sum %.6f\n"
                   "tsrelay_kafka_produce_latency_seconds_count %" PRIu64 "\n",
                   cum, m->kafka_latency_sum_s, cum);

    gauge(out, "tsrelay_kafka_inflight_records", "Records produced and not yet confirmed.",
          m->inflight_records);
    gauge(out, "tsrelay_kafka_inflight_bytes", "Payload bytes produced and not yet confirmed.",
          m->inflight_bytes);
    gauge(out, "tsrelay_kafka_up", "1 while a connection to a Kafka broker is up.", m->kafka_up);
    gauge(out, "tsrelay_kafka_partitions", "Partitions of the topic (0: not known yet).",
          m->kafka_partitions);
    gauge(out, "tsrelay_start_time_seconds", "Unix time the relay started.", m->start_time_s);
    render_connections(m, out);
}

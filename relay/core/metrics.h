/* relay/core/metrics.h — the relay's counters and gauges, rendered as Prometheus text.
 *
 * Owns: struct tsr_metrics, one per process, written only from the event-loop thread
 * (every producer delivery report and every request is handled there), so plain
 * integers need no locks. The admin listener renders it on GET /metrics. */
#ifndef TSR_METRICS_H
#define TSR_METRICS_H

#include <stdint.h>

#include "relay/core/buf.h"

enum tsr_listener {
    TSR_LISTENER_HTTP,
    TSR_LISTENER_GRAPHITE_TCP,
    TSR_LISTENER_GRAPHITE_UDP,
    TSR_LISTENER_UDP, /* line protocol over UDP (udp[]) */
    TSR_LISTENER_KAFKA, /* Kafka topics (inputs.kafka[]) */
    TSR_LISTENER_MAX
};

extern const char *const tsr_listener_names[TSR_LISTENER_MAX];

/* Upper bounds (ms) of the produce-latency histogram buckets; +Inf is implicit. */
#define TSR_LATENCY_BUCKETS 12
extern const double tsr_latency_bounds_ms[TSR_LATENCY_BUCKETS];

struct tsr_listener_metrics {
    uint64_t points_accepted; /* durable in Kafka */
    uint64_t points_rejected; /* invalid lines */
    uint64_t points_failed;   /* valid but Kafka did not confirm them (client got 503) */
    uint64_t requests;        /* HTTP requests / TCP connections / UDP datagrams / Kafka records */
    uint64_t responses[6];    /* HTTP only, by status class: [2]=2xx ... [5]=5xx */
    uint64_t throttled;       /* answered 429/503 before parsing, or reads paused */
};

/* The relay's stream listeners, for their connection counters. */
enum tsr_endpoint { TSR_ENDPOINT_HTTP, TSR_ENDPOINT_GRAPHITE, TSR_ENDPOINT_ADMIN, TSR_ENDPOINT_MAX };

extern const char *const tsr_endpoint_names[TSR_ENDPOINT_MAX];

struct tsr_conn_metrics {
    int64_t open;                 /* gauge: connections open now */
    uint64_t accepted;
    uint64_t refused_connections; /* over max_connections */
    uint64_t refused_requests;    /* answered by the server itself: 400/408/413/431/503 */
    uint64_t reading_refused;     /* of those: 503, max_reading_bytes */
    uint64_t timed_out;           /* connections cut by the header or body timeout */
    uint64_t tls_failed;          /* TLS handshakes that failed */
    int64_t reading_bytes;        /* gauge: request bodies being received */
};

struct tsr_metrics {
    struct tsr_listener_metrics listener[TSR_LISTENER_MAX];
    struct tsr_conn_metrics conn[TSR_ENDPOINT_MAX];
    uint64_t kafka_records;       /* records confirmed durable */
    uint64_t kafka_bytes;         /* their payload bytes */
    uint64_t kafka_errors;        /* records that failed (delivery error or enqueue error) */
    uint64_t kafka_latency_count[TSR_LATENCY_BUCKETS + 1];
    double kafka_latency_sum_s;
    uint64_t dlq_records;         /* rejected lines written to the dead-letter topic */
    uint64_t dlq_errors;          /* dead-letter records that could not be written */
    int64_t inflight_records;     /* gauges: produced, not yet confirmed */
    int64_t inflight_bytes;
    int kafka_up;                 /* a broker connection is up */
    int kafka_partitions;         /* partitions of the topic, 0 = unknown */
    int64_t start_time_s;
};

extern struct tsr_metrics tsr_metrics;

void tsr_metrics_observe_latency(struct tsr_metrics *m, double seconds);
/* Appends the Prometheus text exposition of m to out. */
void tsr_metrics_render(const struct tsr_metrics *m, struct tsr_buf *out);

#endif

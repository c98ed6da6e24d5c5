/* relay/ingest/graphite_listener.h — Graphite plaintext over TCP and UDP (listen.graphite).
 *
 * Owns: the TCP listener and its connections, the UDP socket, and the records built
 * from them, one relay/ingest/unacked.h per transport. Lines are converted by
 * relay/ingest/graphite.h. Graphite has no acknowledgement, so every record is kept
 * until Kafka confirms it and re-produced if it failed; while Kafka is behind,
 * unreachable or retrying, the listener stops reading (TCP senders feel backpressure;
 * UDP datagrams wait in the socket buffer). Bad lines are logged, counted and sent to
 * the dead-letter topic.
 * Event-loop thread only. */
#ifndef TSR_INGEST_GRAPHITE_H
#define TSR_INGEST_GRAPHITE_H

#include <stddef.h>

struct event_base;
struct tsr_config;
struct tsr_kafka;
struct tsr_durable;
struct tsr_shaper;
struct tsr_tls_server;
struct tsr_ingest_graphite;

/* Binds TCP and UDP on cf->listen_graphite; TCP speaks TLS through tls unless it is
 * NULL. At most cf->graphite_max_connections TCP connections (more are closed at once),
 * each closed after cf->graphite_idle_timeout_ms without data. Borrows cf, k (the
 * dead-letter topic), dur (where points become durable), shaper (the ingest rules and
 * the cardinality guard: points go through it as HTTP's do) and tls.
 * Returns 0, or -1 with err set (a bad template, an address in use). */
int tsr_ingest_graphite_new(const struct tsr_config *cf, struct event_base *base,
                            struct tsr_kafka *k, struct tsr_durable *dur,
                            struct tsr_shaper *shaper, struct tsr_tls_server *tls,
                            struct tsr_ingest_graphite **igp, char *err, size_t errlen);

/* Shutdown: stop accepting and reading, convert what was already received, produce
 * every pending record. */
void tsr_ingest_graphite_drain(struct tsr_ingest_graphite *ig);

/* Records not yet confirmed by Kafka (in flight or waiting to be retried). */
int tsr_ingest_graphite_pending(const struct tsr_ingest_graphite *ig);

void tsr_ingest_graphite_free(struct tsr_ingest_graphite **igp);

#endif

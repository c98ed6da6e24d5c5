/* relay/ingest/http.h — the InfluxDB-compatible write API.
 *
 * Owns: the HTTP ingest listener and every write request from arrival to answer.
 * Routes: POST /write?db=&rp=&precision=&u=&p=, POST /api/v2/write?org=&bucket=&precision=,
 * GET|HEAD /ping (204), GET /health, and /query that accepts only CREATE DATABASE
 * (Telegraf issues it at start-up; databases are the downstream clusters' business).
 *
 * A request is answered only when it is settled: 204 once every Kafka record holding
 * its points has a successful delivery report; 400 with each bad line's number and
 * reason when some lines were invalid (the good ones are durable by then, InfluxDB's
 * partial write); 503 if any record failed, so the client retries; 429/503 with
 * Retry-After before parsing when Kafka is behind or unreachable.
 * Event-loop thread only. */
#ifndef TSR_INGEST_HTTP_H
#define TSR_INGEST_HTTP_H

#include <stddef.h>

struct event_base;
struct tsr_config;
struct tsr_kafka;
struct tsr_durable;
struct tsr_shaper;
struct tsr_tls_server;
struct tsr_ingest_http;

/* Binds cf->listen_http, speaking TLS through tls unless it is NULL. Borrows cf, k (the
 * dead-letter topic), dur (where writes become durable), shaper (ingest rules and the
 * cardinality guard, relay/shape/shaper.h) and tls, which must outlive the listener.
 * Limits and timeouts: cf->ingest_* (see relay/core/httpd.h). Returns 0, or -1 with err set (address in use, say). */
int tsr_ingest_http_new(const struct tsr_config *cf, struct event_base *base,
                        struct tsr_kafka *k, struct tsr_durable *dur, struct tsr_shaper *shaper,
                        struct tsr_tls_server *tls,
                        struct tsr_ingest_http **ihp, char *err, size_t errlen);

/* Shutdown, step one: stop accepting connections; later requests on open connections
 * get 503. Requests already being written still get their real answer. */
void tsr_ingest_http_drain(struct tsr_ingest_http *ih);

/* A reload: the credentials (ingest.auth) and the clusters' types come from cf from now
 * on; cf must differ from the old one in nothing else (the listener keeps its limits). */
void tsr_ingest_http_set_config(struct tsr_ingest_http *ih, const struct tsr_config *cf);

/* Requests parsed and waiting for Kafka's delivery reports. */
int tsr_ingest_http_pending(const struct tsr_ingest_http *ih);

/* Closes every connection and frees; *ihp becomes NULL. */
void tsr_ingest_http_free(struct tsr_ingest_http **ihp);

#endif

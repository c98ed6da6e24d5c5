/* relay/admin/admin.h — the operators' endpoint (listen.admin).
 *
 * Owns: GET /health (liveness: the loop answers), GET /ready (200 while Kafka is
 * reachable and the relay is not draining, so a load balancer stops sending writes
 * otherwise), GET /metrics (Prometheus text), GET /status (JSON: Kafka, listeners,
 * and per cluster its state, lag, positions and out-of-sync ledger), and
 * GET /clusters/NAME/ready (200 only while that cluster is in sync, so a query load
 * balancer can route reads away from a cluster that is catching up), and POST /reload.
 * Event-loop thread only. */
#ifndef TSR_ADMIN_H
#define TSR_ADMIN_H

#include <stddef.h>

#include "relay/core/buf.h"

struct event_base;
struct tsr_config;
struct tsr_kafka;
struct tsr_durable;
struct tsr_delivery;
struct tsr_admin;
struct tsr_shaper;
struct tsr_tls_server;

/* Borrows cf, k, dur (the spool), d (NULL: no clusters) and tls (NULL: plain HTTP). Returns 0, or -1 with
 * err set. */
int tsr_admin_new(const struct tsr_config *cf, struct event_base *base, struct tsr_kafka *k,
                  struct tsr_durable *dur, struct tsr_delivery *d, struct tsr_tls_server *tls, struct tsr_admin **ap,
                  char *err, size_t errlen);
/* While draining, /ready answers 503 so traffic moves elsewhere before the exit. */
void tsr_admin_set_draining(struct tsr_admin *a);
/* /status "shaping" and the tsrelay_rules_* / tsrelay_cardinality_* metrics come from s
 * (borrowed; main loop only, as the listeners that use it). */
void tsr_admin_set_shaper(struct tsr_admin *a, struct tsr_shaper *s);
/* /status "inputs" and the tsrelay_input_* metrics come from ik (borrowed; NULL: none). */
struct tsr_ingest_kafka;
void tsr_admin_set_inputs(struct tsr_admin *a, struct tsr_ingest_kafka *ik);

/* POST /reload (role operate) calls fn, which re-reads the config and appends what it
 * did, or why it refused, to msg: 200 {"reloaded":true,"message":...} when it returns
 * 0, else 400 with msg as the error. While a replay request is on the forwarding thread
 * the answer is 503 (tsr_admin_busy), since a reload may restart that thread. */
typedef int tsr_admin_reload_fn(void *opaque, struct tsr_buf *msg);
void tsr_admin_set_reload(struct tsr_admin *a, tsr_admin_reload_fn *fn, void *opaque);
int tsr_admin_busy(const struct tsr_admin *a);
/* A reload: tokens, clusters and the status come from cf and d from now on (d NULL: no
 * clusters; also set to NULL while delivery restarts). */
void tsr_admin_set_config(struct tsr_admin *a, const struct tsr_config *cf, struct tsr_delivery *d);
void tsr_admin_free(struct tsr_admin **ap);

#endif

/* relay/deliver/sink.h — how each kind of cluster is written to.
 *
 * Owns: the write URL and credentials per cluster type, and what a response means:
 *   influxdb         POST {url}/write?db=&rp=&precision=ns        Basic auth if set
 *   influxdb2        POST {url}/api/v2/write?org=&bucket=&precision=ns   Token auth
 *   victoriametrics  POST {url}/write?db=&precision=ns            (its InfluxDB API)
 *   cnosdb           POST {url}/api/v1/write?db=&precision=ns     Basic auth
 *   prometheus       POST {url}/api/v1/write  Prometheus remote write (relay/core/
 *                    remote_write.h), to Prometheus or VictoriaMetrics; any auth
 *   graphite         tcp://HOST:PORT  carbon's plaintext protocol (relay/deliver/carbon.h),
 *                    a connection a batch (relay/core/tcpsend.h); no auth
 * tsr_sink_send posts a batch through the loop's HTTP client (loop thread only); the
 * rest are pure functions for any thread. */
#ifndef TSR_SINK_H
#define TSR_SINK_H

#include <stddef.h>

#include "relay/core/buf.h"
#include "relay/core/httpc.h"

struct tsr_cluster_conf;

/* Appends to url the write URL for points of database db (retention policy rp, may be
 * "" or NULL) on URL number idx of the cluster, after the cluster's own database,
 * retention policy and bucket mapping. */
void tsr_sink_write_url(const struct tsr_cluster_conf *cc, int idx, const char *db,
                        const char *rp, struct tsr_buf *url);

/* Appends the Authorization header value for the cluster ("Bearer t", "Token t",
 * "Basic b64"), or nothing if it has no credentials. Returns 1 if it appended, 0 if not. */
int tsr_sink_authorization(const struct tsr_cluster_conf *cc, struct tsr_buf *out);

/* Sets up a blocking curl handle for a request to the cluster outside the relay's
 * HTTP client (tsrelayctl, the periodic verify): its credentials as an Authorization
 * header, its CA, client certificate and tls_insecure. Returns the header list, which
 * the caller frees (curl_slist_free_all) after the request (the secret's copy in it is
 * curl's). Any thread. */
struct curl_slist;
struct curl_slist *tsr_sink_curl_easy(void *curl_easy, const struct tsr_cluster_conf *cc);

/* Appends a Kafka record (normalised lines) to a write body, ending it with '\n' if the
 * record does not; returns its points (non-empty lines). Pure, any thread. */
long tsr_sink_append_record(struct tsr_buf *body, const char *rec, size_t len);

/* Posts body[0..len) (whole '\n'-terminated lines of database db, policy rp) to URL
 * number idx of the cluster: compressed into *gz when the cluster wants gzip, with the
 * cluster's timeout and TLS options. body and *gz must stay untouched until done runs.
 * Returns 0 (done will run), or -1 if the request could not be started. */
int tsr_sink_send(struct tsr_httpc *hc, const struct tsr_cluster_conf *cc, int idx,
                  const char *db, const char *rp, const char *body, size_t len,
                  struct tsr_buf *gz, const char *authorization, tsr_httpc_done_fn *done,
                  void *opaque);

/* What every request to the cluster trusts over TLS (writes, statements, probes). */
struct tsr_httpc_tls tsr_sink_tls(const struct tsr_cluster_conf *cc);

/* What to do with a write response: every answer a cluster gives falls in one kind. */
enum tsr_sink_verdict {
    TSR_SINK_DONE,     /* 2xx: delivered */
    TSR_SINK_REJECTED, /* 400, 422 (a partial write): some lines refused, the rest written;
                        * split until the refused ones stand alone, dead-letter those */
    TSR_SINK_SPLIT,    /* 413: too large; split, and a lone line too large is refused */
    TSR_SINK_PARK,     /* refused for this database or retention policy only ("database
                        * not found", "retention policy not found", "bucket not found",
                        * not authorized for it): set aside, retry later, send the rest */
    TSR_SINK_RETRY,    /* transport errors, 5xx, 429, 408, 401 and the other 4xx: the
                        * cluster as a whole cannot take writes now; retry the request */
};
/* status 0: no answer arrived (a transport error). A 400 that is about credentials, not
 * lines (a proxy in front of the TSDB: vmauth's unknown token, nginx's missing client
 * certificate), is RETRY: refusing the lines would dead-letter the whole stream. */
enum tsr_sink_verdict tsr_sink_judge(int status, const char *body);

/* An answer in words for logs, /status and dead-letter reasons: "HTTP 400: BODY" (the
 * body's first 200 bytes), or the transport error when status is 0. The cluster's own
 * secrets are masked, since a proxy may echo a token back (vmauth does). No URL, which
 * may hold credentials too. */
void tsr_sink_describe(const struct tsr_cluster_conf *cc, int status, const char *body,
                       const char *error, char *why, size_t len);

/* 1 if a PARK body says the database itself is missing (CREATE DATABASE may help). */
int tsr_sink_no_database(int status, const char *body);

/* Appends the URL of the InfluxQL statement q (URL-encoded) on URL number idx. */
void tsr_sink_query_url(const struct tsr_cluster_conf *cc, int idx, const char *q,
                        struct tsr_buf *url);

/* 1 if clusters of this type have databases that CREATE DATABASE makes (influxdb). */
int tsr_sink_has_databases(const struct tsr_cluster_conf *cc);

/* Appends the URL of a CREATE DATABASE query for db (influxdb only). */
void tsr_sink_create_db_url(const struct tsr_cluster_conf *cc, int idx, const char *db,
                            struct tsr_buf *url);

#endif

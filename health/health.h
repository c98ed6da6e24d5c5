/* health/health.h — how healthy one downstream cluster is, and the probes that tell.
 *
 * Owns: the per-cluster judgement (struct tsr_health), a pure state machine fed with
 * probe results, write results and lag, with the time passed in (so tests are
 * deterministic); and the active prober (struct tsr_prober), which asks each URL of
 * the cluster its health endpoint every probe interval through relay/core/httpc.h.
 *
 * States, in the order they are judged:
 *   down        every URL is down (fall consecutive failed probes, or transport errors
 *               on writes), or no URL has ever answered
 *   degraded    reachable, but writes failed within the last degraded_hold_ms (5xx,
 *               404 database not found, 429, timeouts)
 *   catching_up reachable, writes fine, lag above lag_threshold_ms
 *   in_sync     reachable, writes fine, lag at or under lag_threshold_ms
 * A URL is up after rise consecutive successful probes (one slow answer does not mark
 * it down: fall failures in a row are needed). A transition is reported once, with the
 * reason, through the on_change callback.
 * Time: every now_ms given to one struct must come from the same clock: milliseconds of
 * tsr_clock_now_ns() (relay/core/clock.h, fakeable in tests), as the prober and the forwarder
 * feed it. A clock stepping back restarts a degraded hold rather than stretch it by the step.
 * Threads: one thread (the forwarding loop) per struct. */
#ifndef TSR_HEALTH_H
#define TSR_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "relay/core/httpc.h"

struct event_base;
struct tsr_httpc;

enum tsr_cluster_state {
    TSR_CLUSTER_IN_SYNC,
    TSR_CLUSTER_CATCHING_UP,
    TSR_CLUSTER_DEGRADED,
    TSR_CLUSTER_DOWN,
};

/* "in_sync", "catching_up", "degraded", "down". */
const char *tsr_cluster_state_name(enum tsr_cluster_state s);

struct tsr_health_conf {
    int fall;                 /* failed probes in a row that mark a URL down (3) */
    int rise;                 /* good probes in a row that mark it up again (1) */
    int64_t lag_threshold_ms; /* above it a reachable cluster is catching_up (2000) */
    int64_t degraded_hold_ms; /* how long a write error keeps it degraded (10000) */
};

typedef void tsr_health_change_fn(void *opaque, enum tsr_cluster_state from,
                                  enum tsr_cluster_state to, const char *reason);

struct tsr_health;

/* nurls URLs, all initially down until a probe or a write succeeds. Caller owns *hp. */
struct tsr_health *tsr_health_new(const struct tsr_health_conf *conf, int nurls,
                                  tsr_health_change_fn *on_change, void *opaque);
void tsr_health_free(struct tsr_health **hp);
/* Names URL url in reasons ("all 2 urls down: http://a:8086: ..."); copies name without
 * its user:password@ and ?query, which may hold secrets. Unnamed URLs read "urls[N]".
 * tsr_prober_new names them after its urls. */
void tsr_health_set_url_name(struct tsr_health *h, int url, const char *name);
/* url without user:password@, ?query and #fragment, into out (NUL-terminated, cut to
 * outlen); returns the full length. Any thread. */
size_t tsr_health_url_display(const char *url, char *out, size_t outlen);

/* Feeds: a probe of URL url answered (ok) or not; why names the failure ("HTTP 503",
 * curl's error text); the URL's name is added unless why contains it already. */
void tsr_health_probe(struct tsr_health *h, int url, int ok, const char *why, int64_t now_ms);
/* A write to URL url: ok (2xx or a 400 partial write: marks the URL up at once), a
 * transport error (refused, timeout: counts as a failed probe of that URL), or an HTTP
 * error (5xx, 404, 429: degraded for degraded_hold_ms). why as for probes; an HTTP
 * error reads "writes failing: WHY from URL". */
enum tsr_write_result { TSR_WRITE_OK, TSR_WRITE_TRANSPORT_ERROR, TSR_WRITE_HTTP_ERROR };
void tsr_health_write(struct tsr_health *h, int url, enum tsr_write_result r, const char *why,
                      int64_t now_ms);
/* The cluster's current lag: age in ms of the oldest point not yet delivered (0 when
 * nothing is pending). */
void tsr_health_lag(struct tsr_health *h, int64_t lag_ms, int64_t now_ms);
/* Re-judges time-based rules (degraded_hold_ms expiring); call on a timer. */
void tsr_health_tick(struct tsr_health *h, int64_t now_ms);

enum tsr_cluster_state tsr_health_state(const struct tsr_health *h);
/* Why the cluster is in its state (static or internal storage valid until the next
 * feed). */
const char *tsr_health_reason(const struct tsr_health *h);
int tsr_health_url_up(const struct tsr_health *h, int url);
/* The next URL to write to: round-robin over the URLs that are up, or, when none is
 * up, over all of them (a write is also a probe). */
int tsr_health_pick_url(struct tsr_health *h);

/* --- active probing ------------------------------------------------------------- */

struct tsr_prober;

/* Probes each of urls every interval_ms (a URL that is down every 200 ms, or every
 * interval_ms if shorter, so a returning node is seen at once) with GET base_url +
 * path: "/ping" for influxdb (expects 204), "/health" for victoriametrics and influxdb2
 * (200), "/api/v1/ping" for cnosdb (200); any 2xx counts as healthy. type is the
 * cluster type string. Feeds the results into h (a failure's why is "HTTP 503" or the
 * transport error) and names h's URLs after urls. The first round goes out at once, so
 * a starting relay does not wait an interval to know its clusters. A URL with a probe
 * still in flight (timeout_ms may exceed interval_ms) is skipped. authorization may be
 * NULL; tls is what the probes trust, as the writes do. Borrows base, hc and h (which
 * must outlive the prober); copies urls, authorization and tls; caller owns *pp. Returns 0, or -1 if type is unknown, nurls < 1 or
 * interval_ms < 1. */
int tsr_prober_new(struct event_base *base, struct tsr_httpc *hc, struct tsr_health *h,
                   const char *type, char *const *urls, int nurls, int interval_ms,
                   long timeout_ms, const char *authorization, struct tsr_httpc_tls tls,
                   struct tsr_prober **pp);
/* Probes every URL now (used when something suggests the cluster may be back). */
void tsr_prober_kick(struct tsr_prober *p);
/* Stops probing. Requests still in flight are orphaned: their results are dropped when
 * they finish or when the httpc is freed, so this may come before or after
 * tsr_httpc_free. Sets *pp to NULL. */
void tsr_prober_free(struct tsr_prober **pp);

#endif

/* health/health.c — the per-cluster state machine: probe and write results, lag and
 * time in; a state, a reason and one on_change call per transition out. No I/O. */
#include "health.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_FALL             3
#define DEFAULT_RISE             1
#define DEFAULT_LAG_THRESHOLD_MS 2000
#define DEFAULT_DEGRADED_HOLD_MS 10000

/* Room for a URL name plus a transport error text; longer ones are cut, which only
 * shortens a human-readable reason. */
#define WHY_MAX 320

struct url_state {
    char *name; /* NULL: "urls[N]" */
    int up;
    int good; /* successful probes in a row */
    int bad;  /* failed probes (or transport errors on writes) in a row */
};

struct tsr_health {
    struct tsr_health_conf conf; /* defaults filled in */
    tsr_health_change_fn *on_change;
    void *opaque;
    int nurls;
    struct url_state *urls;
    int rr; /* where pick_url looks next */

    enum tsr_cluster_state state;
    int have_fail;           /* some probe or write has failed since creation */
    char last_fail[WHY_MAX]; /* "NAME: WHY" of the latest failure, for the down reason */
    int have_write_err;
    int64_t write_err_ms;    /* when the latest HTTP error on a write came */
    char write_err[WHY_MAX]; /* "WHY from NAME" of that error */
    int64_t lag_ms;
    char reason[2 * WHY_MAX];
};

const char *tsr_cluster_state_name(enum tsr_cluster_state s)
{
    switch (s) {
    case TSR_CLUSTER_IN_SYNC:
        return "in_sync";
    case TSR_CLUSTER_CATCHING_UP:
        return "catching_up";
    case TSR_CLUSTER_DEGRADED:
        return "degraded";
    case TSR_CLUSTER_DOWN:
        return "down";
    }
    return "unknown";
}

struct tsr_health *tsr_health_new(const struct tsr_health_conf *conf, int nurls,
                                  tsr_health_change_fn *on_change, void *opaque)
{
    assert(nurls >= 1);
    struct tsr_health *h = calloc(1, sizeof(*h));
    if (!h) abort();
    h->urls = calloc((size_t)nurls, sizeof(*h->urls));
    if (!h->urls) abort();
    if (conf) h->conf = *conf;
    /* 0 (or nonsense) means "the default", so a zeroed conf is a valid conf. */
    if (h->conf.fall <= 0) h->conf.fall = DEFAULT_FALL;
    if (h->conf.rise <= 0) h->conf.rise = DEFAULT_RISE;
    if (h->conf.lag_threshold_ms <= 0) h->conf.lag_threshold_ms = DEFAULT_LAG_THRESHOLD_MS;
    if (h->conf.degraded_hold_ms <= 0) h->conf.degraded_hold_ms = DEFAULT_DEGRADED_HOLD_MS;
    h->nurls = nurls;
    h->on_change = on_change;
    h->opaque = opaque;
    h->state = TSR_CLUSTER_DOWN;
    snprintf(h->reason, sizeof(h->reason), "not probed yet");
    return h;
}

void tsr_health_free(struct tsr_health **hp)
{
    struct tsr_health *h = *hp;
    if (!h) return;
    for (int i = 0; i < h->nurls; i++)
        free(h->urls[i].name);
    free(h->urls);
    free(h);
    *hp = NULL;
}

size_t tsr_health_url_display(const char *url, char *out, size_t outlen)
{
    /* Keep scheme://host:port/path: user:password@ and ?query may carry credentials,
     * and reasons end up in logs and on /status. */
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    size_t hostlen = strcspn(host, "/?#");
    const char *at = memchr(host, '@', hostlen);
    size_t pre = (size_t)(host - url);
    const char *rest = at ? at + 1 : host;
    size_t restlen = strcspn(rest, "?#");
    if (out && outlen) {
        size_t n = pre < outlen - 1 ? pre : outlen - 1;
        memcpy(out, url, n);
        size_t m = restlen < outlen - 1 - n ? restlen : outlen - 1 - n;
        memcpy(out + n, rest, m);
        out[n + m] = '\0';
    }
    return pre + restlen;
}

void tsr_health_set_url_name(struct tsr_health *h, int url, const char *name)
{
    assert(url >= 0 && url < h->nurls);
    size_t n = tsr_health_url_display(name, NULL, 0);
    char *copy = malloc(n + 1);
    if (!copy) abort();
    tsr_health_url_display(name, copy, n + 1);
    free(h->urls[url].name);
    h->urls[url].name = copy;
}

/* Writes URL url's name into buf (which must hold 32 bytes at least). */
static const char *url_name(const struct tsr_health *h, int url, char *buf, size_t len)
{
    if (h->urls[url].name) return h->urls[url].name;
    snprintf(buf, len, "urls[%d]", url);
    return buf;
}

/* Decides the state from scratch, in the header's order, and reports a change. */
static void judge(struct tsr_health *h, int64_t now_ms)
{
    enum tsr_cluster_state s;
    int reachable = 0;
    for (int i = 0; i < h->nurls && !reachable; i++)
        reachable = h->urls[i].up;

    /* The wall clock stepped back past the last write error: hold from now instead of
     * for as long as the step. */
    if (h->have_write_err && now_ms < h->write_err_ms) h->write_err_ms = now_ms;

    if (!reachable) {
        s = TSR_CLUSTER_DOWN;
        /* Before any result, say so rather than blame a URL nobody has asked yet. */
        if (h->have_fail)
            snprintf(h->reason, sizeof(h->reason), "all %d url%s down: %s", h->nurls,
                     h->nurls == 1 ? "" : "s", h->last_fail);
        else
            snprintf(h->reason, sizeof(h->reason), "not probed yet");
    } else if (h->have_write_err && now_ms - h->write_err_ms < h->conf.degraded_hold_ms) {
        s = TSR_CLUSTER_DEGRADED;
        snprintf(h->reason, sizeof(h->reason), "writes failing: %s", h->write_err);
    } else if (h->lag_ms > h->conf.lag_threshold_ms) {
        s = TSR_CLUSTER_CATCHING_UP;
        snprintf(h->reason, sizeof(h->reason), "lag %.1fs above %.1fs", (double)h->lag_ms / 1000,
                 (double)h->conf.lag_threshold_ms / 1000);
    } else {
        s = TSR_CLUSTER_IN_SYNC;
        snprintf(h->reason, sizeof(h->reason), "lag %.1fs", (double)h->lag_ms / 1000);
    }

    if (s == h->state) return;
    enum tsr_cluster_state from = h->state;
    /* Set before the call, so a callback that reads the state sees the new one. */
    h->state = s;
    if (h->on_change) h->on_change(h->opaque, from, s, h->reason);
}

/* "NAME: WHY" for a failure, "WHY from NAME" for a write error, unless the caller put
 * the URL in why already, in which case why is enough. */
static void describe(const struct tsr_health *h, int url, const char *why, int write_err, char *dst,
                     size_t len)
{
    char buf[32];
    const char *name = url_name(h, url, buf, sizeof(buf));
    if (strstr(why, name))
        snprintf(dst, len, "%s", why);
    else if (write_err)
        snprintf(dst, len, "%s from %s", why, name);
    else
        snprintf(dst, len, "%s: %s", name, why);
}

static void url_good(struct tsr_health *h, int url)
{
    struct url_state *u = &h->urls[url];
    u->bad = 0;
    if (u->good < INT_MAX) u->good++;
    if (!u->up && u->good >= h->conf.rise) u->up = 1;
}

static void url_bad(struct tsr_health *h, int url, const char *why)
{
    struct url_state *u = &h->urls[url];
    u->good = 0;
    if (u->bad < INT_MAX) u->bad++;
    if (u->up && u->bad >= h->conf.fall) u->up = 0;
    h->have_fail = 1;
    describe(h, url, why ? why : "failed", 0, h->last_fail, sizeof(h->last_fail));
}

void tsr_health_probe(struct tsr_health *h, int url, int ok, const char *why, int64_t now_ms)
{
    assert(url >= 0 && url < h->nurls);
    if (ok)
        url_good(h, url);
    else
        url_bad(h, url, why);
    judge(h, now_ms);
}

void tsr_health_write(struct tsr_health *h, int url, enum tsr_write_result r, const char *why,
                      int64_t now_ms)
{
    assert(url >= 0 && url < h->nurls);
    switch (r) {
    case TSR_WRITE_OK:
        /* A delivered batch proves reachability better than any ping: up at once. */
        url_good(h, url);
        h->urls[url].up = 1;
        break;
    case TSR_WRITE_TRANSPORT_ERROR:
        url_bad(h, url, why);
        break;
    case TSR_WRITE_HTTP_ERROR:
        /* The node answered, so its up/down stands; the cluster is degraded a while. */
        h->have_write_err = 1;
        h->write_err_ms = now_ms;
        describe(h, url, why ? why : "HTTP error", 1, h->write_err, sizeof(h->write_err));
        break;
    }
    judge(h, now_ms);
}

void tsr_health_lag(struct tsr_health *h, int64_t lag_ms, int64_t now_ms)
{
    h->lag_ms = lag_ms > 0 ? lag_ms : 0;
    judge(h, now_ms);
}

void tsr_health_tick(struct tsr_health *h, int64_t now_ms)
{
    judge(h, now_ms);
}

enum tsr_cluster_state tsr_health_state(const struct tsr_health *h)
{
    return h->state;
}

const char *tsr_health_reason(const struct tsr_health *h)
{
    return h->reason;
}

int tsr_health_url_up(const struct tsr_health *h, int url)
{
    assert(url >= 0 && url < h->nurls);
    return h->urls[url].up;
}

int tsr_health_pick_url(struct tsr_health *h)
{
    for (int i = 0; i < h->nurls; i++) {
        int url = (h->rr + i) % h->nurls;
        if (h->urls[url].up) {
            h->rr = (url + 1) % h->nurls;
            return url;
        }
    }
    /* Nothing is up: spread writes over all of them, each one doubles as a probe. */
    int url = h->rr;
    h->rr = (url + 1) % h->nurls;
    return url;
}

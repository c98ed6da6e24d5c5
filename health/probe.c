/* health/probe.c — the active prober: a GET of each URL's health endpoint every
 * interval (more often while the URL is down), its answers fed into the cluster's
 * struct tsr_health. */
#include "health.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/core/clock.h"
#include "relay/core/httpc.h"
#include "relay/core/log.h"

/* One request in flight. It lives until its done callback runs, which may be after the
 * prober is freed: then p is NULL and the answer is dropped. */
struct probe {
    struct tsr_prober *p;
    int url;
};

/* A URL that is down is probed this often (or every interval, if that is shorter): a
 * refused connection costs next to nothing, and the sooner a returning node is seen
 * the sooner its catch-up starts. */
#define DOWN_PROBE_MS 200

struct tsr_prober {
    struct tsr_httpc *hc;
    struct tsr_health *h;
    struct event *timer;     /* every tick_ms */
    int64_t interval_ms;
    int nurls;
    char **urls;             /* base URL + health path */
    struct probe **inflight; /* per URL, NULL when idle */
    int64_t *last_ms;        /* per URL, monotonic ms of its last probe */
    long timeout_ms;
    char *authorization;
    struct tsr_httpc_tls tls; /* as the cluster's writes; the strings are copies */
};

static const struct {
    const char *type;
    const char *path;
} paths[] = {
    {"influxdb", "/ping"},
    {"influxdb2", "/health"},
    {"victoriametrics", "/health"},
    {"cnosdb", "/api/v1/ping"},
    {"prometheus", "/-/healthy"},
    {"graphite", ""}, /* tcp://: a connection carbon accepts and closes */
};

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

static void on_done(void *opaque, const struct tsr_httpc_resp *resp)
{
    struct probe *pr = opaque;
    struct tsr_prober *p = pr->p;
    int url = pr->url;
    free(pr);
    if (!p) return;
    p->inflight[url] = NULL;
    /* tsr_httpc_free cancelling it says nothing about the cluster. */
    if (resp->status == 0 && resp->error && strcmp(resp->error, "cancelled") == 0) return;

    int ok = resp->status >= 200 && resp->status < 300;
    char why[256];
    if (resp->status)
        snprintf(why, sizeof(why), "HTTP %d", resp->status);
    else
        snprintf(why, sizeof(why), "%s", resp->error ? resp->error : "no response");
    /* By index: a URL may carry credentials, and logs must not. */
    if (!ok) tsr_debug("probe of urls[%d] failed: %s", url, why);
    /* Last: on_change may run in here, and p must not be needed after it. */
    tsr_health_probe(p->h, url, ok, ok ? NULL : why, tsr_clock_now_ns() / 1000000);
}

static int64_t mono_ms(void)
{
    return tsr_clock_mono_ns() / 1000000;
}

static void probe_url(struct tsr_prober *p, int url)
{
    if (p->inflight[url]) return;
    p->last_ms[url] = mono_ms();
    struct probe *pr = calloc(1, sizeof(*pr));
    if (!pr) abort();
    pr->p = p;
    pr->url = url;
    struct tsr_httpc_req req = {
        .url = p->urls[url],
        .method = "GET",
        .authorization = p->authorization,
        .timeout_ms = p->timeout_ms,
        .tls = p->tls,
    };
    if (tsr_httpc_send(p->hc, &req, on_done, pr) != 0) {
        /* A local failure (curl could not make a handle), not the cluster's: not fed. */
        tsr_warn("cannot start probe of urls[%d]", url);
        free(pr);
        return;
    }
    p->inflight[url] = pr;
}

static void probe_all(struct tsr_prober *p)
{
    for (int i = 0; i < p->nurls; i++)
        probe_url(p, i);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_prober *p = arg;
    int64_t now = mono_ms();
    for (int i = 0; i < p->nurls; i++) {
        /* Ticks are not exact: a little early still counts as due. */
        int64_t due = p->interval_ms;
        if (!tsr_health_url_up(p->h, i) && due > DOWN_PROBE_MS) due = DOWN_PROBE_MS;
        if (now - p->last_ms[i] >= due - due / 10) probe_url(p, i);
    }
}

int tsr_prober_new(struct event_base *base, struct tsr_httpc *hc, struct tsr_health *h,
                   const char *type, char *const *urls, int nurls, int interval_ms, long timeout_ms,
                   const char *authorization, struct tsr_httpc_tls tls, struct tsr_prober **pp)
{
    const char *path = NULL;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (strcmp(type, paths[i].type) == 0) path = paths[i].path;
    if (!path || nurls < 1 || interval_ms < 1) return -1;

    struct tsr_prober *p = calloc(1, sizeof(*p));
    if (!p) abort();
    p->hc = hc;
    p->h = h;
    p->nurls = nurls;
    p->interval_ms = interval_ms;
    p->timeout_ms = timeout_ms;
    p->authorization = authorization ? xstrdup(authorization) : NULL;
    p->tls = (struct tsr_httpc_tls){
        .ca_file = tls.ca_file ? xstrdup(tls.ca_file) : NULL,
        .cert_file = tls.cert_file ? xstrdup(tls.cert_file) : NULL,
        .key_file = tls.key_file ? xstrdup(tls.key_file) : NULL,
        .insecure = tls.insecure,
    };
    p->urls = calloc((size_t)nurls, sizeof(*p->urls));
    p->inflight = calloc((size_t)nurls, sizeof(*p->inflight));
    p->last_ms = calloc((size_t)nurls, sizeof(*p->last_ms));
    if (!p->urls || !p->inflight || !p->last_ms) abort();
    for (int i = 0; i < nurls; i++) {
        /* "http://host:8086/" and "http://host:8086" both probe "http://host:8086/ping". */
        size_t len = strlen(urls[i]);
        while (len > 0 && urls[i][len - 1] == '/')
            len--;
        size_t plen = strlen(path);
        p->urls[i] = malloc(len + plen + 1);
        if (!p->urls[i]) abort();
        memcpy(p->urls[i], urls[i], len);
        memcpy(p->urls[i] + len, path, plen + 1);
        tsr_health_set_url_name(h, i, urls[i]);
    }
    p->timer = event_new(base, -1, EV_PERSIST, on_tick, p);
    if (!p->timer) abort();
    int tick_ms = interval_ms < DOWN_PROBE_MS ? interval_ms : DOWN_PROBE_MS;
    struct timeval tv = {tick_ms / 1000, (tick_ms % 1000) * 1000};
    event_add(p->timer, &tv);
    probe_all(p);
    *pp = p;
    return 0;
}

void tsr_prober_kick(struct tsr_prober *p)
{
    probe_all(p);
}

void tsr_prober_free(struct tsr_prober **pp)
{
    struct tsr_prober *p = *pp;
    if (!p) return;
    event_free(p->timer);
    for (int i = 0; i < p->nurls; i++) {
        /* Orphan what is in flight; on_done frees it whenever it comes back. */
        if (p->inflight[i]) p->inflight[i]->p = NULL;
        free(p->urls[i]);
    }
    free(p->inflight);
    free(p->last_ms);
    free(p->urls);
    free(p->authorization);
    free((char *)p->tls.ca_file);
    free((char *)p->tls.cert_file);
    free((char *)p->tls.key_file);
    free(p);
    *pp = NULL;
}

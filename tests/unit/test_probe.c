/* tests/unit/test_probe.c — the prober against a real HTTP server in the same process
 * (libevent's evhttp on a free loopback port, answering what the test says, or not at
 * all) and a port nobody listens on, on a real event loop. Every loop run has a
 * deadline, so a broken prober fails a test instead of hanging it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "health/health.h"
#include "relay/core/clock.h"
#include "relay/core/httpc.h"

/* Plain http: no CA, verification on. */
#define NO_TLS ((struct tsr_httpc_tls){0})

#define INTERVAL_MS 50
#define HANG        0 /* server status: read the request, never answer */

struct server {
    struct evhttp *http;
    int port;
    int status; /* what to answer, or HANG */
    int nreq;
    char path[64];
    char auth[64];
};

struct fx {
    struct event_base *base;
    struct server srv;
    struct tsr_httpc *hc;
    struct tsr_health *h;
    struct tsr_prober *p;
    int changes;
    char reason[512];
    char url[64];
};

static void on_request(struct evhttp_request *req, void *arg)
{
    struct server *srv = arg;
    srv->nreq++;
    snprintf(srv->path, sizeof(srv->path), "%s", evhttp_request_get_uri(req));
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    snprintf(srv->auth, sizeof(srv->auth), "%s", auth ? auth : "");
    /* Unanswered requests are freed with their connection (curl's timeout or evhttp_free). */
    if (srv->status != HANG) evhttp_send_reply(req, srv->status, "test", NULL);
}

static int bound_port(int fd)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    return ntohs(sin.sin_port);
}

/* A loopback port with nothing listening: bound by the kernel's choice, then closed. */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    int port = bound_port(fd);
    close(fd);
    return port;
}

static void on_change(void *opaque, enum tsr_cluster_state from, enum tsr_cluster_state to,
                      const char *reason)
{
    struct fx *f = opaque;
    f->changes++;
    snprintf(f->reason, sizeof(f->reason), "%s", reason);
}

static int setup(void **state)
{
    static struct fx f;
    memset(&f, 0, sizeof(f));
    f.base = event_base_new();
    assert_non_null(f.base);
    f.srv.status = 204;
    f.srv.http = evhttp_new(f.base);
    evhttp_set_gencb(f.srv.http, on_request, &f.srv);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(f.srv.http, "127.0.0.1", 0);
    assert_non_null(bs);
    f.srv.port = bound_port(evhttp_bound_socket_get_fd(bs));
    snprintf(f.url, sizeof(f.url), "http://127.0.0.1:%d", f.srv.port);
    assert_int_equal(tsr_httpc_new(f.base, &f.hc), 0);
    struct tsr_health_conf conf = {.fall = 2, .rise = 1};
    f.h = tsr_health_new(&conf, 1, on_change, &f);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tsr_prober_free(&f->p);
    tsr_httpc_free(&f->hc);
    tsr_health_free(&f->h);
    evhttp_free(f->srv.http);
    event_base_free(f->base);
    return 0;
}

/* --- running the loop with a deadline -------------------------------------------- */

typedef int pred_fn(struct fx *f);

struct until {
    struct fx *f;
    pred_fn *pred;
};

static void check_pred(evutil_socket_t fd, short what, void *arg)
{
    struct until *u = arg;
    if (u->pred(u->f)) event_base_loopbreak(u->f->base);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopbreak(arg);
}

/* Runs the loop until pred holds (checked every millisecond) or max_ms pass. Returns
 * the milliseconds it took, or -1 at the deadline. The deadline is a timer of our own
 * rather than event_base_loopexit's, which would stay armed after an early break and
 * cut a later run short. */
static int64_t run_until(struct fx *f, pred_fn *pred, int max_ms)
{
    int64_t t0 = tsr_clock_mono_ns();
    if (pred(f)) return 0;
    struct until u = {f, pred};
    struct event *check = event_new(f->base, -1, EV_PERSIST, check_pred, &u);
    struct event *deadline = evtimer_new(f->base, on_deadline, f->base);
    struct timeval tick = {0, 1000}, max = {max_ms / 1000, (max_ms % 1000) * 1000};
    event_add(check, &tick);
    evtimer_add(deadline, &max);
    event_base_dispatch(f->base);
    event_free(check);
    event_free(deadline);
    int64_t took = (tsr_clock_mono_ns() - t0) / 1000000;
    return pred(f) ? took : -1;
}

static int never(struct fx *f)
{
    return 0;
}

static void run_for(struct fx *f, int ms)
{
    run_until(f, never, ms);
}

static int url0_up(struct fx *f)
{
    return tsr_health_url_up(f->h, 0);
}

static int is_down(struct fx *f)
{
    return tsr_health_state(f->h) == TSR_CLUSTER_DOWN;
}

static int failure_seen(struct fx *f)
{
    return strncmp(tsr_health_reason(f->h), "all ", 4) == 0;
}

static int idle(struct fx *f)
{
    return tsr_httpc_active(f->hc) == 0;
}

static int prober_new(struct fx *f, const char *type, const char *url, int interval_ms,
                      long timeout_ms, const char *auth)
{
    char *const urls[] = {(char *)url};
    return tsr_prober_new(f->base, f->hc, f->h, type, urls, 1, interval_ms, timeout_ms, auth,
                          NO_TLS, &f->p);
}

/* --- tests ------------------------------------------------------------------------ */

static void test_up_then_down_then_up(void **state)
{
    struct fx *f = *state;
    char want[256];
    assert_int_equal(prober_new(f, "influxdb", f->url, INTERVAL_MS, 1000, "Token abc"), 0);

    /* The first round goes out at once: up well before the first tick. */
    int64_t took = run_until(f, url0_up, 2000);
    assert_true(took >= 0);
    assert_int_equal(f->srv.nreq, 1);
    assert_string_equal(f->srv.path, "/ping");
    assert_string_equal(f->srv.auth, "Token abc");
    assert_int_equal(tsr_health_state(f->h), TSR_CLUSTER_IN_SYNC);
    assert_int_equal(f->changes, 1);

    /* 503 from now on: down after exactly fall (2) probes, about two intervals. */
    f->srv.status = 503;
    int n0 = f->srv.nreq;
    took = run_until(f, is_down, 2000);
    assert_true(took >= 0);
    assert_int_equal(f->srv.nreq - n0, 2);
    assert_true(took >= INTERVAL_MS / 2); /* one 503 is not enough: it takes a second tick */
    assert_true(took < 6 * INTERVAL_MS);
    snprintf(want, sizeof(want), "all 1 url down: %s: HTTP 503", f->url);
    assert_string_equal(f->reason, want);
    assert_int_equal(f->changes, 2);

    /* Back: up on the next probe (rise 1). */
    f->srv.status = 200;
    n0 = f->srv.nreq;
    took = run_until(f, url0_up, 2000);
    assert_true(took >= 0);
    assert_int_equal(f->srv.nreq - n0, 1);
    assert_true(took < 3 * INTERVAL_MS);
    assert_string_equal(f->reason, "lag 0.0s");
    assert_int_equal(f->changes, 3);
}

static void test_dead_port(void **state)
{
    struct fx *f = *state;
    char dead[64], want[128];
    snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", dead_port());
    assert_int_equal(prober_new(f, "victoriametrics", dead, INTERVAL_MS, 1000, NULL), 0);
    assert_true(run_until(f, failure_seen, 2000) >= 0);
    /* Down from the start, so no transition: the reason now names the refusal. */
    snprintf(want, sizeof(want), "all 1 url down: %s: ", dead);
    assert_memory_equal(tsr_health_reason(f->h), want, strlen(want));
    assert_true(strlen(tsr_health_reason(f->h)) > strlen(want)); /* curl's error text */
    assert_int_equal(f->changes, 0);
    run_for(f, 3 * INTERVAL_MS);
    assert_int_equal(tsr_health_state(f->h), TSR_CLUSTER_DOWN);
    assert_int_equal(f->changes, 0);
}

static void test_two_urls_one_dead(void **state)
{
    struct fx *f = *state;
    char dead[64], slash[80];
    snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", dead_port());
    snprintf(slash, sizeof(slash), "%s/", f->url); /* a trailing slash is not doubled */
    char *const urls[] = {slash, dead};
    tsr_health_free(&f->h);
    struct tsr_health_conf conf = {.fall = 2};
    f->h = tsr_health_new(&conf, 2, on_change, f);
    f->srv.status = 200;
    assert_int_equal(tsr_prober_new(f->base, f->hc, f->h, "victoriametrics", urls, 2, INTERVAL_MS,
                                    1000, NULL, NO_TLS, &f->p),
                     0);
    run_for(f, 4 * INTERVAL_MS);
    assert_string_equal(f->srv.path, "/health");
    assert_true(f->srv.nreq >= 3);
    assert_true(tsr_health_url_up(f->h, 0));
    assert_false(tsr_health_url_up(f->h, 1));
    assert_int_equal(tsr_health_state(f->h), TSR_CLUSTER_IN_SYNC);
    assert_int_equal(f->changes, 1);
    /* Writes go to the live one. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(tsr_health_pick_url(f->h), 0);
}

/* A URL that is down is probed every 200 ms whatever the interval, so a node that
 * comes back is seen at once; once up, it goes back to the interval. */
static void test_down_url_probed_often(void **state)
{
    struct fx *f = *state;
    f->srv.status = 503;
    assert_int_equal(prober_new(f, "influxdb", f->url, 10000, 1000, NULL), 0);
    run_for(f, 1000);
    assert_false(url0_up(f));
    assert_true(f->srv.nreq >= 2); /* the first round, then 200 ms ticks */
    assert_true(f->srv.nreq <= 7);

    f->srv.status = 204;
    assert_true(run_until(f, url0_up, 2000) >= 0);
    assert_true(run_until(f, idle, 2000) >= 0);
    int n0 = f->srv.nreq;
    run_for(f, 1000);
    assert_int_equal(f->srv.nreq, n0); /* up: next probe after the 10 s interval */
}

static void test_paths_by_type(void **state)
{
    static const struct {
        const char *type, *path;
    } types[] = {
        {"influxdb", "/ping"},
        {"influxdb2", "/health"},
        {"victoriametrics", "/health"},
        {"cnosdb", "/api/v1/ping"},
    };
    struct fx *f = *state;
    f->srv.status = 200;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        int n0 = f->srv.nreq;
        assert_int_equal(prober_new(f, types[i].type, f->url, 10000, 1000, NULL), 0);
        assert_true(run_until(f, idle, 2000) >= 0);
        assert_int_equal(f->srv.nreq - n0, 1);
        assert_string_equal(f->srv.path, types[i].path);
        tsr_prober_free(&f->p);
        assert_null(f->p);
    }
    char *const urls[] = {f->url};
    assert_int_equal(
        tsr_prober_new(f->base, f->hc, f->h, "opentsdb", urls, 1, 100, 1000, NULL, NO_TLS, &f->p), -1);
    assert_int_equal(
        tsr_prober_new(f->base, f->hc, f->h, "influxdb", urls, 0, 100, 1000, NULL, NO_TLS, &f->p), -1);
    assert_int_equal(
        tsr_prober_new(f->base, f->hc, f->h, "influxdb", urls, 1, 0, 1000, NULL, NO_TLS, &f->p), -1);
    assert_null(f->p);
}

static int two_requests(struct fx *f)
{
    return f->srv.nreq >= 2;
}

static void test_in_flight_is_not_doubled(void **state)
{
    struct fx *f = *state;
    f->srv.status = HANG;
    assert_int_equal(prober_new(f, "influxdb", f->url, INTERVAL_MS, 8 * INTERVAL_MS, NULL), 0);
    /* Several ticks pass while the first probe waits: no second one. */
    run_for(f, 5 * INTERVAL_MS);
    assert_int_equal(f->srv.nreq, 1);
    assert_int_equal(tsr_httpc_active(f->hc), 1);
    assert_string_equal(tsr_health_reason(f->h), "not probed yet");
    tsr_prober_kick(f->p); /* in flight: kick does not add one either */
    assert_int_equal(tsr_httpc_active(f->hc), 1);
    /* The timeout is a failure, and then probing resumes. */
    assert_true(run_until(f, failure_seen, 2000) >= 0);
    assert_true(run_until(f, two_requests, 2000) >= 0);
}

static void test_kick(void **state)
{
    struct fx *f = *state;
    /* An interval far longer than the test: every probe after the first is a kick. */
    assert_int_equal(prober_new(f, "influxdb", f->url, 60000, 1000, NULL), 0);
    assert_true(run_until(f, idle, 2000) >= 0);
    assert_int_equal(f->srv.nreq, 1);
    assert_true(tsr_health_url_up(f->h, 0));

    f->srv.status = 503;
    for (int i = 1; i <= 2; i++) {
        tsr_prober_kick(f->p);
        tsr_prober_kick(f->p); /* the second finds it in flight */
        assert_int_equal(tsr_httpc_active(f->hc), 1);
        int64_t took = run_until(f, idle, 2000);
        assert_true(took >= 0 && took < 1000);
        assert_int_equal(f->srv.nreq, 1 + i);
    }
    assert_int_equal(tsr_health_state(f->h), TSR_CLUSTER_DOWN);
    run_for(f, 3 * INTERVAL_MS);
    assert_int_equal(f->srv.nreq, 3);
}

static void test_free_while_answer_pending(void **state)
{
    struct fx *f = *state;
    /* Freed right after the first round is sent: the answers come to an orphan. */
    assert_int_equal(prober_new(f, "influxdb", f->url, INTERVAL_MS, 1000, NULL), 0);
    assert_int_equal(tsr_httpc_active(f->hc), 1);
    tsr_prober_free(&f->p);
    assert_null(f->p);
    assert_true(run_until(f, idle, 2000) >= 0);
    assert_int_equal(f->srv.nreq, 1);
    run_for(f, 3 * INTERVAL_MS); /* and no timer is left */
    assert_int_equal(f->srv.nreq, 1);
    assert_false(tsr_health_url_up(f->h, 0));
    assert_string_equal(tsr_health_reason(f->h), "not probed yet");
}

static void test_free_prober_then_httpc_mid_flight(void **state)
{
    struct fx *f = *state;
    f->srv.status = HANG;
    assert_int_equal(prober_new(f, "influxdb", f->url, INTERVAL_MS, 5000, NULL), 0);
    run_for(f, 2 * INTERVAL_MS);
    assert_int_equal(f->srv.nreq, 1);
    tsr_prober_free(&f->p);
    tsr_health_free(&f->h); /* the orphan must not need it either */
    tsr_httpc_free(&f->hc); /* runs the orphan's callback ("cancelled") */
    assert_null(f->hc);
}

static void test_free_httpc_then_prober_mid_flight(void **state)
{
    struct fx *f = *state;
    f->srv.status = HANG;
    assert_int_equal(prober_new(f, "influxdb", f->url, INTERVAL_MS, 5000, NULL), 0);
    run_for(f, 2 * INTERVAL_MS);
    assert_int_equal(f->srv.nreq, 1);
    tsr_httpc_free(&f->hc);
    /* A cancelled probe says nothing about the cluster. */
    assert_string_equal(tsr_health_reason(f->h), "not probed yet");
    assert_int_equal(f->changes, 0);
    tsr_prober_free(&f->p);
    assert_null(f->p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_up_then_down_then_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_urls_one_dead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_down_url_probed_often, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paths_by_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_in_flight_is_not_doubled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kick, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_while_answer_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_prober_then_httpc_mid_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_httpc_then_prober_mid_flight, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tests/unit/test_health.c — the cluster state machine: a table of scripted feeds
 * (probes, writes, lag, ticks, each with its time) and, after every step, the state
 * and the on_change call it must have caused (exactly one, with its reason) or not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "health/health.h"

#define IN_SYNC     TSR_CLUSTER_IN_SYNC
#define CATCHING_UP TSR_CLUSTER_CATCHING_UP
#define DEGRADED    TSR_CLUSTER_DEGRADED
#define DOWN        TSR_CLUSTER_DOWN

#define VM0     "http://127.0.0.1:8428"
#define VM1     "http://127.0.0.2:8428"
#define REFUSED "connection refused"

/* Every on_change call, in order. */
struct rec {
    struct tsr_health *h;
    int n;
    enum tsr_cluster_state from[64], to[64];
    char reason[64][256];
    int state_seen_ok; /* the callback saw tsr_health_state() already == to */
};

static void on_change(void *opaque, enum tsr_cluster_state from, enum tsr_cluster_state to,
                      const char *reason)
{
    struct rec *r = opaque;
    assert_true(r->n < 64);
    r->from[r->n] = from;
    r->to[r->n] = to;
    snprintf(r->reason[r->n], sizeof(r->reason[r->n]), "%s", reason);
    r->n++;
    if (r->h && tsr_health_state(r->h) == to && strcmp(tsr_health_reason(r->h), reason) == 0)
        r->state_seen_ok++;
}

enum op { PROBE_OK, PROBE_FAIL, WRITE_OK, WRITE_TRANSPORT, WRITE_HTTP, LAG, TICK };

struct step {
    enum op op;
    int url;
    const char *why; /* failures; for LAG unused */
    int64_t lag_ms;
    int64_t now_ms;
    enum tsr_cluster_state want;
    const char *change; /* reason of the one on_change this step must cause; NULL: none */
    const char *reason; /* if set, tsr_health_reason() after the step (no change needed) */
};

struct health_case {
    const char *name;
    struct tsr_health_conf conf;
    int nurls;
    struct step steps[24];
};

// clang-format off
#define P_OK(u, t, w, c) {PROBE_OK, (u), NULL, 0, (t), (w), (c), NULL}
#define P_FAIL(u, t, w, c) {PROBE_FAIL, (u), REFUSED, 0, (t), (w), (c), NULL}
#define W_OK(u, t, w, c) {WRITE_OK, (u), NULL, 0, (t), (w), (c), NULL}
#define W_TRANS(u, t, w, c) {WRITE_TRANSPORT, (u), "timed out", 0, (t), (w), (c), NULL}
#define W_HTTP(u, why, t, w, c) {WRITE_HTTP, (u), (why), 0, (t), (w), (c), NULL}
#define LAG_(ms, t, w, c) {LAG, 0, NULL, (ms), (t), (w), (c), NULL}
#define TICK_(t, w, c) {TICK, 0, NULL, 0, (t), (w), (c), NULL}
/* The end of a script: now_ms 0 is never used by a step. */
#define END {0, 0, NULL, 0, 0, 0, NULL, NULL}
// clang-format on

static const struct health_case cases[] = {
    {"defaults: one good probe is up, three bad in a row are down", .nurls = 1,
     .steps =
         {
             P_OK(0, 100, IN_SYNC, "lag 0.0s"),
             P_FAIL(0, 200, IN_SYNC, NULL), /* one slow answer does not flap */
             P_FAIL(0, 300, IN_SYNC, NULL),
             P_OK(0, 400, IN_SYNC, NULL), /* resets the bad count */
             P_FAIL(0, 500, IN_SYNC, NULL),
             P_FAIL(0, 600, IN_SYNC, NULL),
             P_FAIL(0, 700, DOWN, "all 1 url down: " VM0 ": " REFUSED),
             P_FAIL(0, 800, DOWN, NULL),
             P_OK(0, 900, IN_SYNC, "lag 0.0s"),
             END,
         }},
    {"rise 3, fall 2", .conf = {.fall = 2, .rise = 3}, .nurls = 1,
     .steps =
         {
             P_OK(0, 100, DOWN, NULL),
             P_OK(0, 200, DOWN, NULL),
             P_FAIL(0, 300, DOWN, NULL), /* resets the good count */
             P_OK(0, 400, DOWN, NULL),
             P_OK(0, 500, DOWN, NULL),
             P_OK(0, 600, IN_SYNC, "lag 0.0s"),
             P_FAIL(0, 700, IN_SYNC, NULL),
             P_FAIL(0, 800, DOWN, "all 1 url down: " VM0 ": " REFUSED),
             END,
         }},
    {"two urls: down only when both are, reason names the latest failure", .conf = {.fall = 1},
     .nurls = 2,
     .steps =
         {
             /* Was already down: no transition, but the reason now names the failure. */
             {PROBE_FAIL, 0, REFUSED, 0, 100, DOWN, NULL, "all 2 urls down: " VM0 ": " REFUSED},
             P_OK(1, 200, IN_SYNC, "lag 0.0s"),
             P_OK(0, 300, IN_SYNC, NULL),
             P_FAIL(0, 400, IN_SYNC, NULL),
             {PROBE_FAIL, 1, "HTTP 503", 0, 500, DOWN, "all 2 urls down: " VM1 ": HTTP 503", NULL},
             END,
         }},
    {"a write transport error counts as a failed probe", .nurls = 1,
     .steps =
         {
             P_OK(0, 100, IN_SYNC, "lag 0.0s"),
             W_TRANS(0, 200, IN_SYNC, NULL),
             P_FAIL(0, 300, IN_SYNC, NULL),
             W_TRANS(0, 400, DOWN, "all 1 url down: " VM0 ": timed out"),
             END,
         }},
    {"a successful write marks the url up at once, whatever rise says", .conf = {.rise = 5},
     .nurls = 2,
     .steps =
         {
             P_OK(1, 100, DOWN, NULL),
             W_OK(1, 200, IN_SYNC, "lag 0.0s"),
             END,
         }},
    {"degraded while write errors are younger than the hold, latest reason kept", .nurls = 1,
     .steps =
         {
             P_OK(0, 1000, IN_SYNC, "lag 0.0s"),
             W_HTTP(0, "HTTP 500", 2000, DEGRADED, "writes failing: HTTP 500 from " VM0),
             W_OK(0, 3000, DEGRADED, NULL), /* one good batch does not end the hold */
             {WRITE_HTTP, 0, "HTTP 429", 0, 5000, DEGRADED, NULL,
              "writes failing: HTTP 429 from " VM0},
             TICK_(14999, DEGRADED, NULL), /* the hold runs from the latest error */
             TICK_(15000, IN_SYNC, "lag 0.0s"),
             TICK_(16000, IN_SYNC, NULL),
             END,
         }},
    {"custom degraded hold", .conf = {.degraded_hold_ms = 500}, .nurls = 1,
     .steps =
         {
             P_OK(0, 1000, IN_SYNC, "lag 0.0s"),
             W_HTTP(0, "HTTP 404", 1000, DEGRADED, "writes failing: HTTP 404 from " VM0),
             P_OK(0, 1499, DEGRADED, NULL), /* any feed re-judges time, not only tick */
             P_OK(0, 1500, IN_SYNC, "lag 0.0s"),
             END,
         }},
    {"lag threshold both ways, at the threshold is in sync", .nurls = 1,
     .steps =
         {
             P_OK(0, 100, IN_SYNC, "lag 0.0s"),
             LAG_(35200, 200, CATCHING_UP, "lag 35.2s above 2.0s"),
             {LAG, 0, NULL, 2100, 300, CATCHING_UP, NULL, "lag 2.1s above 2.0s"},
             LAG_(2000, 400, IN_SYNC, "lag 2.0s"),
             LAG_(2001, 500, CATCHING_UP, "lag 2.0s above 2.0s"),
             LAG_(300, 600, IN_SYNC, "lag 0.3s"),
             {LAG, 0, NULL, 0, 700, IN_SYNC, NULL, "lag 0.0s"},
             END,
         }},
    {"custom lag threshold", .conf = {.lag_threshold_ms = 60000}, .nurls = 1,
     .steps =
         {
             LAG_(35200, 100, DOWN, NULL), /* lag alone does not make it reachable */
             P_OK(0, 200, IN_SYNC, "lag 35.2s"),
             LAG_(61000, 300, CATCHING_UP, "lag 61.0s above 60.0s"),
             END,
         }},
    {"precedence: down over degraded over catching_up over in_sync", .conf = {.fall = 1},
     .nurls = 1,
     .steps =
         {
             LAG_(35200, 1000, DOWN, NULL),
             W_HTTP(0, "HTTP 500", 1000, DOWN, NULL), /* down wins */
             P_OK(0, 2000, DEGRADED, "writes failing: HTTP 500 from " VM0),
             P_FAIL(0, 3000, DOWN, "all 1 url down: " VM0 ": " REFUSED),
             P_OK(0, 4000, DEGRADED, "writes failing: HTTP 500 from " VM0),
             TICK_(11000, CATCHING_UP, "lag 35.2s above 2.0s"), /* degraded wins until then */
             W_HTTP(0, "HTTP 503", 12000, DEGRADED, "writes failing: HTTP 503 from " VM0),
             LAG_(100, 13000, DEGRADED, NULL),
             TICK_(22000, IN_SYNC, "lag 0.1s"),
             P_FAIL(0, 23000, DOWN, "all 1 url down: " VM0 ": " REFUSED),
             END,
         }},
};

static void run_case(const struct health_case *c)
{
    struct rec r = {0};
    struct tsr_health *h = tsr_health_new(&c->conf, c->nurls, on_change, &r);
    r.h = h;
    tsr_health_set_url_name(h, 0, VM0);
    if (c->nurls > 1) tsr_health_set_url_name(h, 1, VM1);
    assert_int_equal(tsr_health_state(h), DOWN);
    assert_string_equal(tsr_health_reason(h), "not probed yet");

    for (int i = 0; c->steps[i].now_ms; i++) {
        const struct step *s = &c->steps[i];
        enum tsr_cluster_state before = tsr_health_state(h);
        int n = r.n;
        switch (s->op) {
        case PROBE_OK:
            tsr_health_probe(h, s->url, 1, NULL, s->now_ms);
            break;
        case PROBE_FAIL:
            tsr_health_probe(h, s->url, 0, s->why, s->now_ms);
            break;
        case WRITE_OK:
            tsr_health_write(h, s->url, TSR_WRITE_OK, NULL, s->now_ms);
            break;
        case WRITE_TRANSPORT:
            tsr_health_write(h, s->url, TSR_WRITE_TRANSPORT_ERROR, s->why, s->now_ms);
            break;
        case WRITE_HTTP:
            tsr_health_write(h, s->url, TSR_WRITE_HTTP_ERROR, s->why, s->now_ms);
            break;
        case LAG:
            tsr_health_lag(h, s->lag_ms, s->now_ms);
            break;
        case TICK:
            tsr_health_tick(h, s->now_ms);
            break;
        }
        if (tsr_health_state(h) != s->want || (r.n - n) != (s->change ? 1 : 0))
            print_error("case '%s' step %d: state %s, %d on_change calls\n", c->name, i,
                        tsr_cluster_state_name(tsr_health_state(h)), r.n - n);
        assert_int_equal(tsr_health_state(h), s->want);
        assert_int_equal(r.n - n, s->change ? 1 : 0);
        if (s->change) {
            assert_int_equal(r.from[n], before);
            assert_int_equal(r.to[n], s->want);
            assert_string_equal(r.reason[n], s->change);
            assert_string_equal(tsr_health_reason(h), s->change);
        }
        if (s->reason) assert_string_equal(tsr_health_reason(h), s->reason);
    }
    /* Every call saw the state and reason it announced. */
    assert_int_equal(r.state_seen_ok, r.n);
    tsr_health_free(&h);
    assert_null(h);
}

static void test_cases(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
}

static void test_not_probed_yet(void **state)
{
    struct rec r = {0};
    struct tsr_health *h = tsr_health_new(NULL, 2, on_change, &r);
    assert_int_equal(tsr_health_state(h), DOWN);
    assert_string_equal(tsr_health_reason(h), "not probed yet");
    /* Time, lag and HTTP errors are no answer from a URL. */
    tsr_health_tick(h, 1000);
    tsr_health_lag(h, 5000, 1000);
    tsr_health_write(h, 0, TSR_WRITE_HTTP_ERROR, "HTTP 500", 1000);
    assert_int_equal(tsr_health_state(h), DOWN);
    assert_string_equal(tsr_health_reason(h), "not probed yet");
    assert_false(tsr_health_url_up(h, 0));
    assert_false(tsr_health_url_up(h, 1));
    assert_int_equal(r.n, 0);
    /* Unnamed URLs are called by their index. */
    tsr_health_probe(h, 1, 0, REFUSED, 1000);
    assert_string_equal(tsr_health_reason(h), "all 2 urls down: urls[1]: " REFUSED);
    assert_int_equal(r.n, 0);
    tsr_health_free(&h);
}

static void test_url_name_hides_secrets(void **state)
{
    struct tsr_health *h = tsr_health_new(NULL, 1, NULL, NULL);
    tsr_health_set_url_name(h, 0, "https://admin:s3cret@db.example:8086/influx?u=a&p=s3cret");
    tsr_health_probe(h, 0, 0, "HTTP 401", 1);
    assert_string_equal(tsr_health_reason(h),
                        "all 1 url down: https://db.example:8086/influx: HTTP 401");
    tsr_health_set_url_name(h, 0, "http://[::1]:8428");
    tsr_health_probe(h, 0, 0, "HTTP 401", 2);
    assert_string_equal(tsr_health_reason(h), "all 1 url down: http://[::1]:8428: HTTP 401");
    tsr_health_free(&h);
    tsr_health_free(&h); /* a NULL pointer is fine */

    /* The same display form for /status, cut to the buffer. */
    char out[64];
    assert_int_equal(tsr_health_url_display("http://u:p@h:1/x?p=s#f", out, sizeof(out)), 12);
    assert_string_equal(out, "http://h:1/x");
    assert_int_equal(tsr_health_url_display("h:1", out, sizeof(out)), 3);
    assert_string_equal(out, "h:1");
    char tiny[8];
    tsr_health_url_display("http://user:pw@example.com", tiny, sizeof(tiny));
    assert_string_equal(tiny, "http://");
}

static void test_why_naming_the_url(void **state)
{
    /* The forwarder's texts already name the URL: not named twice. */
    struct tsr_health_conf conf = {.fall = 1};
    struct tsr_health *h = tsr_health_new(&conf, 1, NULL, NULL);
    tsr_health_set_url_name(h, 0, VM0);
    tsr_health_write(h, 0, TSR_WRITE_TRANSPORT_ERROR, VM0 ": Connection refused", 1000);
    assert_string_equal(tsr_health_reason(h), "all 1 url down: " VM0 ": Connection refused");
    tsr_health_write(h, 0, TSR_WRITE_OK, NULL, 1000);
    tsr_health_write(h, 0, TSR_WRITE_HTTP_ERROR, "HTTP 500 from " VM0 ": oops", 1000);
    assert_int_equal(tsr_health_state(h), DEGRADED);
    assert_string_equal(tsr_health_reason(h), "writes failing: HTTP 500 from " VM0 ": oops");
    tsr_health_free(&h);
}

static void test_clock_step_back(void **state)
{
    /* Wall time stepping back an hour ends the hold one hold after the step, not an
     * hour and a hold later. */
    struct rec r = {0};
    struct tsr_health *h = tsr_health_new(NULL, 1, on_change, &r);
    tsr_health_probe(h, 0, 1, NULL, 5000000);
    tsr_health_write(h, 0, TSR_WRITE_HTTP_ERROR, "HTTP 500", 5000000);
    assert_int_equal(tsr_health_state(h), DEGRADED);
    tsr_health_tick(h, 5000000 - 3600000);
    assert_int_equal(tsr_health_state(h), DEGRADED);
    tsr_health_tick(h, 5000000 - 3600000 + 10000);
    assert_int_equal(tsr_health_state(h), IN_SYNC);
    assert_int_equal(r.n, 3);
    tsr_health_free(&h);
}

static void test_pick_url(void **state)
{
    struct tsr_health_conf conf = {.fall = 1};
    struct tsr_health *h = tsr_health_new(&conf, 3, NULL, NULL);
    /* None up: round-robin over all of them. */
    static const int all[] = {0, 1, 2, 0, 1, 2, 0};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        assert_int_equal(tsr_health_pick_url(h), all[i]);
    /* 0 and 2 up: only those, in turn (the cursor is after 0). */
    tsr_health_probe(h, 0, 1, NULL, 1);
    tsr_health_probe(h, 2, 1, NULL, 1);
    static const int up[] = {2, 0, 2, 0, 2};
    for (size_t i = 0; i < sizeof(up) / sizeof(up[0]); i++)
        assert_int_equal(tsr_health_pick_url(h), up[i]);
    /* Only 1 up. */
    tsr_health_probe(h, 0, 0, REFUSED, 2);
    tsr_health_probe(h, 2, 0, REFUSED, 2);
    tsr_health_write(h, 1, TSR_WRITE_OK, NULL, 2);
    for (int i = 0; i < 4; i++)
        assert_int_equal(tsr_health_pick_url(h), 1);
    /* All down again: back to all, continuing after 1. */
    tsr_health_write(h, 1, TSR_WRITE_TRANSPORT_ERROR, REFUSED, 3);
    static const int back[] = {2, 0, 1, 2};
    for (size_t i = 0; i < sizeof(back) / sizeof(back[0]); i++)
        assert_int_equal(tsr_health_pick_url(h), back[i]);
    tsr_health_free(&h);
}

static void test_single_url_pick(void **state)
{
    struct tsr_health *h = tsr_health_new(NULL, 1, NULL, NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(tsr_health_pick_url(h), 0);
    tsr_health_probe(h, 0, 1, NULL, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(tsr_health_pick_url(h), 0);
    tsr_health_free(&h);
}

static void test_state_names(void **state)
{
    assert_string_equal(tsr_cluster_state_name(IN_SYNC), "in_sync");
    assert_string_equal(tsr_cluster_state_name(CATCHING_UP), "catching_up");
    assert_string_equal(tsr_cluster_state_name(DEGRADED), "degraded");
    assert_string_equal(tsr_cluster_state_name(DOWN), "down");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_not_probed_yet),
        cmocka_unit_test(test_url_name_hides_secrets),
        cmocka_unit_test(test_why_naming_the_url),
        cmocka_unit_test(test_clock_step_back),
        cmocka_unit_test(test_pick_url),
        cmocka_unit_test(test_single_url_pick),
        cmocka_unit_test(test_state_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

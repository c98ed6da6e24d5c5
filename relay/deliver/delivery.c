#include "relay/deliver/delivery.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/deliver/ckpt.h"
#include "relay/deliver/fleet.h"
#include "relay/deliver/ledger_share.h"
#include "relay/kafka/board.h"
#include "relay/core/clock.h"
#include "config/config.h"
#include "relay/core/httpc.h"
#include "relay/core/log.h"

#define STOP_GRACE_MS 5000

struct tsr_delivery {
    const struct tsr_config *cf;
    struct event_base *base;
    struct tsr_httpc *hc;
    struct tsr_ckpt *ck;
    struct tsr_fleet *fleet;
    struct tsr_board *board;
    struct tsr_ledger_share *ledger; /* the fleet's one ledger, copied from the board */
    struct tsr_forwarder **fwd;
    int nfwd;
    pthread_t thread;
    int started;
    struct event *stop_ev, *snap_ev, *sync_ev, *drain_ev;
    int64_t stop_deadline_ns;

    const struct tsr_delivery_runner *runner;
    struct tsr_replayer *replayer;

    pthread_mutex_t mu; /* guards snap, replays_json and the task queue */
    struct tsr_cluster_status *snap;
    struct tsr_buf replays_json;
    struct task *tasks;
    struct event *task_ev;
};

/* Work handed to the forwarding thread by another thread. */
struct task {
    tsr_delivery_work_fn *work;
    tsr_delivery_done_fn *done;
    void *arg;
    struct event_base *reply_base;
    struct task *next;
};

static void snapshot(struct tsr_delivery *d)
{
    struct tsr_buf replays = {0};
    if (d->replayer) d->runner->list(d->replayer, &replays);
    pthread_mutex_lock(&d->mu);
    for (int i = 0; i < d->nfwd; i++) tsr_forwarder_status(d->fwd[i], &d->snap[i]);
    tsr_buf_free(&d->replays_json);
    d->replays_json = replays;
    pthread_mutex_unlock(&d->mu);
}

static void run_done(evutil_socket_t fd, short what, void *arg)
{
    struct task *t = arg;
    t->done(t->arg);
    free(t);
}

static void on_tasks(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_delivery *d = arg;
    pthread_mutex_lock(&d->mu);
    struct task *list = d->tasks;
    d->tasks = NULL;
    pthread_mutex_unlock(&d->mu);
    /* The queue is last-in first-out; run in arrival order. */
    struct task *rev = NULL;
    while (list) {
        struct task *t = list;
        list = t->next;
        t->next = rev;
        rev = t;
    }
    while (rev) {
        struct task *t = rev;
        rev = t->next;
        t->work(d->replayer, t->arg);
        struct timeval zero = {0, 0};
        event_base_once(t->reply_base, -1, EV_TIMEOUT, run_done, t, &zero);
    }
    snapshot(d);
}

void tsr_delivery_run(struct tsr_delivery *d, tsr_delivery_work_fn *work, void *arg,
                      struct event_base *reply_base, tsr_delivery_done_fn *done)
{
    struct task *t = malloc(sizeof(*t));
    if (!t) abort();
    *t = (struct task){work, done, arg, reply_base, NULL};
    pthread_mutex_lock(&d->mu);
    t->next = d->tasks;
    d->tasks = t;
    pthread_mutex_unlock(&d->mu);
    event_active(d->task_ev, 0, 0);
}

void tsr_delivery_replays(struct tsr_delivery *d, struct tsr_buf *out)
{
    pthread_mutex_lock(&d->mu);
    if (d->replays_json.len)
        tsr_buf_append(out, d->replays_json.data, d->replays_json.len);
    else
        tsr_buf_puts(out, "[]");
    pthread_mutex_unlock(&d->mu);
}

static void on_snapshot(evutil_socket_t fd, short what, void *arg)
{
    snapshot(arg);
}

static void on_sync(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_delivery *d = arg;
    char err[256];
    if (tsr_ckpt_sync(d->ck, err, sizeof(err))) tsr_warn("%s", err);
}

static void on_drain_check(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_delivery *d = arg;
    int busy = d->replayer ? d->runner->busy(d->replayer) : 0;
    for (int i = 0; i < d->nfwd; i++) busy += tsr_forwarder_busy(d->fwd[i]);
    if (busy == 0 || tsr_clock_mono_ns() >= d->stop_deadline_ns) {
        if (busy) tsr_warn("stopping with %d write requests unanswered; they will be resent", busy);
        event_base_loopexit(d->base, NULL);
    }
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_delivery *d = arg;
    for (int i = 0; i < d->nfwd; i++) tsr_forwarder_stop(d->fwd[i]);
    if (d->replayer) d->runner->stop(d->replayer);
    d->stop_deadline_ns = tsr_clock_mono_ns() + (int64_t)STOP_GRACE_MS * 1000000;
    d->drain_ev = event_new(d->base, -1, EV_PERSIST, on_drain_check, d);
    struct timeval tv = {0, 20000};
    event_add(d->drain_ev, &tv);
}

static void *thread_main(void *arg)
{
    struct tsr_delivery *d = arg;
    /* Named, so top -H and perf tell forwarding from ingest. */
    pthread_setname_np(pthread_self(), "tsr-forward");
    event_base_dispatch(d->base);
    return NULL;
}

int tsr_delivery_start(const struct tsr_config *cf, struct tsr_kafka *k,
                       const struct tsr_delivery_runner *runner, struct tsr_delivery **dp,
                       char *err, size_t errlen)
{
    struct tsr_delivery *d = calloc(1, sizeof(*d));
    if (!d) abort();
    d->cf = cf;
    d->runner = runner;
    pthread_mutex_init(&d->mu, NULL);
    d->base = event_base_new();
    if (!d->base || tsr_httpc_new(d->base, &d->hc) != 0) {
        snprintf(err, errlen, "cannot create the forwarding event loop");
        goto fail;
    }
    if (tsr_ckpt_open(cf->state_dir, &d->ck, err, errlen)) goto fail;
    char old_topic[256];
    int bound = tsr_ckpt_bind_topic(d->ck, cf->kafka_topic, old_topic, sizeof(old_topic), err,
                                    errlen);
    if (bound < 0) goto fail;
    if (bound > 0)
        tsr_warn("checkpoints of topic '%s' dropped: kafka.topic is now '%s' (a cluster "
                 "without a committed position there starts from start_from)",
                 old_topic, cf->kafka_topic);
    d->fwd = calloc(cf->nclusters ? cf->nclusters : 1, sizeof(*d->fwd));
    d->snap = calloc(cf->nclusters ? cf->nclusters : 1, sizeof(*d->snap));
    if (!d->fwd || !d->snap) abort();
    if (tsr_fleet_new(cf, k, &d->fleet, err, errlen)) goto fail;
    if (tsr_board_new(cf, k, d->base, &d->board, err, errlen)) goto fail;
    tsr_ledger_share_new(d->board, d->ck, &d->ledger);
    struct tsr_fwd_env env = {.base = d->base, .hc = d->hc, .ck = d->ck, .k = k, .cf = cf,
                              .fleet = d->fleet, .board = d->board};
    if (runner) {
        if (runner->open(&env, &d->replayer, err, errlen)) goto fail;
        env.resend = runner->resend;
        env.resend_opaque = d->replayer;
    }
    for (size_t i = 0; i < cf->nclusters; i++) {
        if (tsr_forwarder_new(&env, &cf->clusters[i], &d->fwd[d->nfwd], err, errlen)) goto fail;
        d->nfwd++;
    }
    snapshot(d);
    d->task_ev = event_new(d->base, -1, 0, on_tasks, d);
    d->stop_ev = event_new(d->base, -1, 0, on_stop, d);
    d->snap_ev = event_new(d->base, -1, EV_PERSIST, on_snapshot, d);
    d->sync_ev = event_new(d->base, -1, EV_PERSIST, on_sync, d);
    struct timeval snap_tv = {0, 250000}, sync_tv = {1, 0};
    event_add(d->snap_ev, &snap_tv);
    event_add(d->sync_ev, &sync_tv);
    if (pthread_create(&d->thread, NULL, thread_main, d) != 0) {
        snprintf(err, errlen, "cannot start the forwarding thread");
        goto fail;
    }
    d->started = 1;
    *dp = d;
    return 0;
fail:
    tsr_delivery_stop(&d);
    return -1;
}

int tsr_delivery_status(struct tsr_delivery *d, struct tsr_cluster_status *out, int max)
{
    int n = d->nfwd < max ? d->nfwd : max;
    pthread_mutex_lock(&d->mu);
    memcpy(out, d->snap, sizeof(*out) * (size_t)n);
    pthread_mutex_unlock(&d->mu);
    return n;
}

int tsr_delivery_coordinator(struct tsr_delivery *d)
{
    return tsr_board_coordinator(d->board);
}

struct tsr_ckpt *tsr_delivery_ckpt(struct tsr_delivery *d)
{
    return d->ck;
}

void tsr_delivery_stop(struct tsr_delivery **dp)
{
    struct tsr_delivery *d = *dp;
    if (!d) return;
    if (d->started) {
        event_active(d->stop_ev, 0, 0);
        pthread_join(d->thread, NULL);
    }
    /* The http client first: its cancelled requests call back into the forwarders. Then
     * the board, whose last word (no longer the coordinator) goes to the replayer. */
    tsr_httpc_free(&d->hc);
    tsr_board_free(&d->board);
    tsr_ledger_share_free(&d->ledger);
    for (int i = 0; i < d->nfwd; i++) tsr_forwarder_free(&d->fwd[i]);
    if (d->replayer) d->runner->close(&d->replayer);
    tsr_fleet_free(&d->fleet);
    struct event *evs[] = {d->stop_ev, d->snap_ev, d->sync_ev, d->drain_ev, d->task_ev};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i]) event_free(evs[i]);
    if (d->ck) {
        char err[256];
        if (tsr_ckpt_sync(d->ck, err, sizeof(err))) tsr_warn("%s", err);
        tsr_ckpt_close(&d->ck);
    }
    if (d->base) event_base_free(d->base);
    pthread_mutex_destroy(&d->mu);
    while (d->tasks) {
        struct task *t = d->tasks;
        d->tasks = t->next;
        free(t);
    }
    tsr_buf_free(&d->replays_json);
    free(d->fwd);
    free(d->snap);
    free(d);
    *dp = NULL;
}

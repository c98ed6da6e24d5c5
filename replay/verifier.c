/* replay/verifier.c — see verifier.h.
 *
 * A result is a JSON record: {"id", "at_ms", "started_by", "report": <tsr_verify_json,
 * the windows that differ only>} or, for a periodic run that could not count, {"id",
 * "at_ms", "started_by", "cluster", "error"}. */
#include "replay/verifier.h"

#include <event2/event.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "relay/core/buf.h"
#include "relay/core/clock.h"
#include "relay/core/json.h"
#include "relay/core/log.h"
#include "relay/deliver/ckpt.h"
#include "relay/deliver/forward.h"
#include "relay/deliver/ledger_share.h"
#include "relay/kafka/board.h"
#include "replay/ctl_json.h"
#include "replay/verify.h"

#define TICK_S 1
/* The periodic verify reads Kafka from this long before its first window (points
 * stamped ahead of the relay's clock). */
#define ENTRY_MARGIN_MS (5 * 60 * 1000)
#define STARTED_BY "tsrelay: periodic verify"

struct cluster_state {
    int64_t next_ms;   /* the next periodic run is due then */
    int64_t *differed; /* window starts that differed at its previous run */
    int ndiffered;
};

struct tsr_verifier {
    struct tsr_fwd_env env;
    struct event *tick_ev;
    uint64_t last_id;
    struct cluster_state *cs;
    /* The run in progress, on its own thread. */
    int running;
    int cluster;
    pthread_t thread;
    int done, stop; /* atomic */
    struct tsr_verify vf;
    enum tsr_verify_rc rc;
    char err[512];
};

static int64_t now_ms(void)
{
    return tsr_clock_now_ns() / 1000000;
}

static void store(struct tsr_verifier *v, struct tsr_buf *rec)
{
    char err[256];
    if (tsr_ckpt_verify_put(v->env.ck, v->last_id, rec->data, rec->len, err, sizeof(err)))
        tsr_error("verify %llu: %s", (unsigned long long)v->last_id, err);
}

static void *count_main(void *arg)
{
    struct tsr_verifier *v = arg;
    pthread_setname_np(pthread_self(), "tsr-verify");
    v->rc = tsr_verify_count(&v->vf, v->env.cf, "tsrelay-verify", v->err, sizeof(v->err));
    __atomic_store_n(&v->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void start(struct tsr_verifier *v, int i, int64_t now)
{
    const struct tsr_cluster_conf *cc = &v->env.cf->clusters[i];
    int64_t w = cc->verify_window_ms;
    int64_t until = (now - cc->verify_delay_ms) / w * w;
    int64_t since = until - (cc->verify_lookback_ms + w - 1) / w * w;
    v->cs[i].next_ms = now + cc->verify_interval_ms;
    if (tsr_verify_init(&v->vf, cc, since, until, w, NULL, v->err, sizeof(v->err))) {
        tsr_error("cluster '%s': periodic verify: %s", cc->name, v->err);
        tsr_verify_free(&v->vf);
        return;
    }
    v->vf.entry_margin_ms = ENTRY_MARGIN_MS;
    v->vf.stop = &v->stop;
    v->cluster = i;
    v->done = 0;
    if (pthread_create(&v->thread, NULL, count_main, v) != 0) {
        tsr_error("cluster '%s': periodic verify: cannot start its thread", cc->name);
        tsr_verify_free(&v->vf);
        return;
    }
    v->running = 1;
}

static int differed_before(const struct cluster_state *s, int64_t start)
{
    for (int i = 0; i < s->ndiffered; i++)
        if (s->differed[i] == start) return 1;
    return 0;
}

/* One ledger entry per run of windows that differ now and did not at the previous run:
 * an SRE sees a divergence once, not at every run until it is repaired. */
static void note_divergences(struct tsr_verifier *v, struct cluster_state *s)
{
    const struct tsr_verify *vf = &v->vf;
    const struct tsr_cluster_conf *cc = vf->cc;
    int64_t *now_differ = calloc((size_t)vf->nwin + 1, sizeof(*now_differ));
    if (!now_differ) abort();
    int n = 0;
    for (int w = 0; w < vf->nwin;) {
        int64_t start, end;
        tsr_verify_window(vf, w, &start, &end);
        if (vf->kafka[w] == vf->cluster[w]) {
            w++;
            continue;
        }
        now_differ[n++] = start;
        if (differed_before(s, start)) {
            w++;
            continue;
        }
        int e = w;
        int64_t missing = 0, extra = 0, last_end = end;
        while (e < vf->nwin && vf->kafka[e] != vf->cluster[e]) {
            int64_t st, en;
            tsr_verify_window(vf, e, &st, &en);
            if (e > w && differed_before(s, st)) break;
            if (e > w) now_differ[n++] = st;
            int64_t k = vf->kafka[e], c = vf->cluster[e];
            missing += k > c ? k - c : 0;
            extra += c > k ? c - k : 0;
            last_end = en;
            e++;
        }
        struct tsr_ledger_entry *le = calloc(1, sizeof(*le));
        if (!le) abort();
        le->from_ms = start;
        le->to_ms = last_end;
        snprintf(le->kind, sizeof(le->kind), "verify");
        snprintf(le->reason, sizeof(le->reason),
                 "points of this time: %" PRId64 " values missing, %" PRId64 " extra, against "
                 "kafka", missing, extra);
        le->nparts = 0;
        tsr_ledger_share_record(v->env.board, v->env.ck, cc->name, v->env.cf->instance, le);
        free(le);
        tsr_warn("cluster '%s': periodic verify: %" PRId64 " values missing, %" PRId64 " extra "
                 "in %d window%s of point time from %" PRId64 " ms on (see its ledger)",
                 cc->name, missing, extra, e - w, e - w == 1 ? "" : "s", start);
        w = e;
    }
    free(s->differed);
    s->differed = now_differ;
    s->ndiffered = n;
}

static void finish(struct tsr_verifier *v)
{
    pthread_join(v->thread, NULL);
    v->running = 0;
    const struct tsr_cluster_conf *cc = v->vf.cc;
    struct tsr_buf rec = {0};
    v->last_id++;
    tsr_buf_printf(&rec, "{\"id\":%llu,\"at_ms\":%" PRId64 ",\"started_by\":\"" STARTED_BY "\",",
                   (unsigned long long)v->last_id, now_ms());
    if (v->rc != TSR_VERIFY_OK) {
        tsr_warn("cluster '%s': periodic verify could not count: %s", cc->name, v->err);
        tsr_buf_puts(&rec, "\"cluster\":");
        tsr_json_string(&rec, cc->name);
        tsr_buf_puts(&rec, ",\"error\":");
        tsr_json_string(&rec, v->err);
        tsr_buf_putc(&rec, '}');
    } else {
        tsr_buf_puts(&rec, "\"report\":");
        tsr_verify_json(&v->vf, 1, &rec);
        tsr_buf_putc(&rec, '}');
        note_divergences(v, &v->cs[v->cluster]);
        tsr_debug("cluster '%s': periodic verify: %d of %d windows differ", cc->name,
                  tsr_verify_differ(&v->vf), v->vf.nwin);
    }
    store(v, &rec);
    tsr_buf_free(&rec);
    tsr_verify_free(&v->vf);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct tsr_verifier *v = arg;
    if (v->running) {
        if (__atomic_load_n(&v->done, __ATOMIC_ACQUIRE)) finish(v);
        return;
    }
    /* In a fleet the coordinator verifies: one count per cluster, one ledger. */
    if (v->env.board && !tsr_board_coordinator(v->env.board)) return;
    int64_t now = now_ms();
    const struct tsr_config *cf = v->env.cf;
    for (size_t i = 0; i < cf->nclusters; i++) {
        const struct tsr_cluster_conf *cc = &cf->clusters[i];
        if (cc->verify_interval_ms <= 0) continue;
        if (!v->cs[i].next_ms) v->cs[i].next_ms = now + cc->verify_interval_ms;
        if (now >= v->cs[i].next_ms) {
            start(v, (int)i, now);
            if (v->running) return;
        }
    }
}

static void note_id(void *opaque, uint64_t id, const void *rec, size_t len)
{
    (void)rec, (void)len;
    struct tsr_verifier *v = opaque;
    if (id > v->last_id) v->last_id = id;
}

int tsr_verifier_new(const struct tsr_fwd_env *env, struct tsr_verifier **vp, char *err,
                     size_t errlen)
{
    struct tsr_verifier *v = calloc(1, sizeof(*v));
    if (!v) abort();
    v->env = *env;
    v->cs = calloc(env->cf->nclusters + 1, sizeof(*v->cs));
    if (!v->cs) abort();
    if (tsr_ckpt_verify_list(env->ck, note_id, v, err, errlen)) {
        tsr_verifier_free(&v);
        return -1;
    }
    v->tick_ev = event_new(env->base, -1, EV_PERSIST, on_tick, v);
    struct timeval tv = {TICK_S, 0};
    event_add(v->tick_ev, &tv);
    *vp = v;
    return 0;
}

void tsr_verifier_free(struct tsr_verifier **vp)
{
    struct tsr_verifier *v = *vp;
    if (!v) return;
    if (v->running) {
        __atomic_store_n(&v->stop, 1, __ATOMIC_RELAXED);
        pthread_join(v->thread, NULL);
        tsr_verify_free(&v->vf);
    }
    if (v->tick_ev) event_free(v->tick_ev);
    for (size_t i = 0; v->cs && i < v->env.cf->nclusters; i++) free(v->cs[i].differed);
    free(v->cs);
    free(v);
    *vp = NULL;
}

static int error_json(struct tsr_buf *out, int status, const char *msg)
{
    tsr_buf_puts(out, "{\"error\":");
    tsr_json_string(out, msg);
    tsr_buf_putc(out, '}');
    return status;
}

int tsr_verifier_record(struct tsr_verifier *v, const char *body, size_t len, struct tsr_buf *out)
{
    struct tsr_jsonr *doc = NULL;
    char err[256];
    if (tsr_jsonr_parse(body, len, &doc, err, sizeof(err))) {
        char msg[320];
        snprintf(msg, sizeof(msg), "body is not JSON: %s", err);
        return error_json(out, 400, msg);
    }
    const struct tsr_jsonr *report = tsr_jsonr_get(doc, "report");
    int ok = tsr_jsonr_type(doc) == TSR_JSONR_OBJECT && tsr_jsonr_type(report) == TSR_JSONR_OBJECT &&
             *tsr_jsonr_get_str(report, "cluster", "") && tsr_jsonr_get(report, "windows");
    tsr_jsonr_free(&doc);
    if (!ok)
        return error_json(out, 400, "a verify result is {\"started_by\", \"report\": {\"cluster\", "
                                    "\"windows\", ...}}, as tsrelayctl verify sends it");
    /* Stored as sent, with its id and time in front. */
    const char *open = memchr(body, '{', len);
    struct tsr_buf rec = {0};
    v->last_id++;
    tsr_buf_printf(&rec, "{\"id\":%llu,\"at_ms\":%" PRId64 ",", (unsigned long long)v->last_id,
                   now_ms());
    tsr_buf_append(&rec, open + 1, len - (size_t)(open + 1 - body));
    store(v, &rec);
    tsr_buf_free(&rec);
    tsr_buf_printf(out, "{\"id\":%llu}", (unsigned long long)v->last_id);
    return 201;
}

struct listing {
    struct tsr_buf *recs;
    size_t n, cap;
};

static void take_one(void *opaque, uint64_t id, const void *rec, size_t len)
{
    (void)id;
    struct listing *l = opaque;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->recs = realloc(l->recs, l->cap * sizeof(*l->recs));
        if (!l->recs) abort();
    }
    l->recs[l->n] = (struct tsr_buf){0};
    tsr_buf_append(&l->recs[l->n++], rec, len);
}

void tsr_verifier_list(struct tsr_verifier *v, struct tsr_buf *out)
{
    struct listing l = {0};
    char err[256];
    if (tsr_ckpt_verify_list(v->env.ck, take_one, &l, err, sizeof(err)))
        tsr_error("verify results: %s", err);
    tsr_buf_puts(out, "{\"verifies\":[");
    for (size_t i = l.n; i-- > 0;) {
        tsr_buf_append(out, l.recs[i].data, l.recs[i].len);
        if (i) tsr_buf_putc(out, ',');
        tsr_buf_free(&l.recs[i]);
    }
    tsr_buf_puts(out, "]}");
    free(l.recs);
}

/* The cluster a record is of. */
static const char *record_cluster(const struct tsr_jsonr *doc)
{
    const struct tsr_jsonr *report = tsr_jsonr_get(doc, "report");
    return report ? tsr_jsonr_get_str(report, "cluster", "") : tsr_jsonr_get_str(doc, "cluster", "");
}

void tsr_verifier_newest(struct tsr_ckpt *ck, const struct tsr_config *cf, struct tsr_buf *out)
{
    struct listing l = {0};
    char err[256];
    if (tsr_ckpt_verify_list(ck, take_one, &l, err, sizeof(err))) l.n = 0;
    size_t left = cf->nclusters; /* newest first: done once every cluster has one */
    for (size_t i = l.n; left && i-- > 0;) {
        struct tsr_jsonr *doc = NULL;
        if (tsr_jsonr_parse(l.recs[i].data, l.recs[i].len, &doc, err, sizeof(err)) == 0) {
            const char *name = record_cluster(doc);
            for (size_t c = 0; c < cf->nclusters; c++)
                if (out[c].len == 0 && strcmp(cf->clusters[c].name, name) == 0) {
                    tsr_buf_append(&out[c], l.recs[i].data, l.recs[i].len);
                    left--;
                }
        }
        tsr_jsonr_free(&doc);
    }
    for (size_t i = 0; i < l.n; i++) tsr_buf_free(&l.recs[i]);
    free(l.recs);
}

#include "relay/deliver/fleet.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "relay/core/clock.h"
#include "relay/core/log.h"
#include "relay/kafka/kafka.h"

#define READ_EVERY_MS 1000
#define READ_TIMEOUT_MS 3000
#define STALE_MS 5000

struct tsr_fleet {
    const struct tsr_config *cf;
    struct tsr_kafka *k;
    rd_kafka_t *viewer; /* asks for the groups' offsets (see tsr_kafka_group_offsets) */
    pthread_t thread;
    int started;
    pthread_mutex_t mu; /* guards view and stop */
    pthread_cond_t cv;
    int stop;
    struct tsr_fleet_cluster *view; /* one per cluster of cf */
    /* The thread's scratch space for one round of reads. */
    int64_t low[TSR_CKPT_MAX_PARTITIONS], high[TSR_CKPT_MAX_PARTITIONS];
    int64_t pos[TSR_CKPT_MAX_PARTITIONS];
    char meta[TSR_CKPT_MAX_PARTITIONS][128];
};

void tsr_fleet_group_name(const struct tsr_config *cf, const char *cluster, char *out,
                          size_t outlen)
{
    snprintf(out, outlen, "tsrelay-%s-%s", cf->datacenter, cluster);
}

void tsr_fleet_parse_meta(const char *meta, int64_t *ts, int64_t *sent, char *by, size_t bylen)
{
    long long v;
    const char *at;
    if ((at = strstr(meta, "ts=")) && sscanf(at, "ts=%lld", &v) == 1) *ts = v;
    if ((at = strstr(meta, "sent=")) && sscanf(at, "sent=%lld", &v) == 1) *sent = v;
    if (by && (at = strstr(meta, "by="))) {
        at += 3;
        size_t n = strcspn(at, " ");
        if (n >= bylen) n = bylen - 1;
        memcpy(by, at, n);
        by[n] = '\0';
    }
}

/* One round: the topic's retained range, then each cluster's group. A failed read
 * leaves that cluster's previous view, which goes stale. */
static void read_all(struct tsr_fleet *fl, struct tsr_fleet_cluster *c)
{
    int nparts = tsr_kafka_partitions(fl->k);
    if (nparts <= 0) return;
    if (nparts > TSR_CKPT_MAX_PARTITIONS) nparts = TSR_CKPT_MAX_PARTITIONS;
    int64_t *low = fl->low, *high = fl->high, *pos = fl->pos;
    char(*meta)[128] = fl->meta;
    char err[256];
    if (tsr_kafka_offsets_at(fl->k, nparts, TSR_KAFKA_EARLIEST, low, READ_TIMEOUT_MS, err,
                             sizeof(err)) ||
        tsr_kafka_offsets_at(fl->k, nparts, TSR_KAFKA_LATEST, high, READ_TIMEOUT_MS, err,
                             sizeof(err))) {
        tsr_debug("fleet view: cannot read the topic's offsets: %s", err);
        return;
    }
    for (size_t i = 0; i < fl->cf->nclusters; i++) {
        char group[160];
        tsr_fleet_group_name(fl->cf, fl->cf->clusters[i].name, group, sizeof(group));
        if (tsr_kafka_group_offsets(fl->k, fl->viewer, group, nparts, pos, meta, READ_TIMEOUT_MS,
                                    err, sizeof(err))) {
            tsr_debug("fleet view: cannot read group '%s': %s", group, err);
            continue;
        }
        struct tsr_fleet_cluster *v = &c[i];
        v->nparts = nparts;
        v->read_ms = tsr_clock_now_ns() / 1000000;
        for (int p = 0; p < nparts; p++) {
            struct tsr_fleet_part *fp = &v->part[p];
            fp->committed = pos[p];
            fp->low = low[p];
            fp->high = high[p];
            fp->last_ts_ms = 0;
            fp->owner[0] = '\0';
            int64_t sent = 0;
            tsr_fleet_parse_meta(meta[p], &fp->last_ts_ms, &sent, fp->owner, sizeof(fp->owner));
        }
    }
}

static void *thread_main(void *arg)
{
    struct tsr_fleet *fl = arg;
    pthread_setname_np(pthread_self(), "tsr-fleet");
    size_t n = fl->cf->nclusters;
    struct tsr_fleet_cluster *c = calloc(n, sizeof(*c));
    if (!c) abort();
    pthread_mutex_lock(&fl->mu);
    while (!fl->stop) {
        memcpy(c, fl->view, n * sizeof(*c));
        pthread_mutex_unlock(&fl->mu);
        read_all(fl, c);
        pthread_mutex_lock(&fl->mu);
        memcpy(fl->view, c, n * sizeof(*c));
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += READ_EVERY_MS / 1000;
        while (!fl->stop && pthread_cond_timedwait(&fl->cv, &fl->mu, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&fl->mu);
    free(c);
    return NULL;
}

int tsr_fleet_new(const struct tsr_config *cf, struct tsr_kafka *k, struct tsr_fleet **flp,
                  char *err, size_t errlen)
{
    struct tsr_fleet *fl = calloc(1, sizeof(*fl));
    if (!fl) abort();
    fl->cf = cf;
    fl->k = k;
    pthread_mutex_init(&fl->mu, NULL);
    pthread_cond_init(&fl->cv, NULL);
    fl->view = calloc(cf->nclusters ? cf->nclusters : 1, sizeof(*fl->view));
    if (!fl->view) abort();
    /* A group of its own that it never joins: the handle only asks questions. */
    char group[160];
    tsr_fleet_group_name(cf, "fleet-view", group, sizeof(group));
    fl->viewer = tsr_kafka_consumer_new(cf, group, "error", 0, NULL, err, errlen);
    if (!fl->viewer) {
        tsr_fleet_free(&fl);
        return -1;
    }
    if (pthread_create(&fl->thread, NULL, thread_main, fl) != 0) {
        snprintf(err, errlen, "cannot start the fleet view thread");
        tsr_fleet_free(&fl);
        return -1;
    }
    fl->started = 1;
    *flp = fl;
    return 0;
}

int tsr_fleet_get(struct tsr_fleet *fl, int i, struct tsr_fleet_cluster *out)
{
    if (!fl || i < 0 || (size_t)i >= fl->cf->nclusters) return -1;
    pthread_mutex_lock(&fl->mu);
    *out = fl->view[i];
    pthread_mutex_unlock(&fl->mu);
    int64_t now_ms = tsr_clock_now_ns() / 1000000;
    return out->read_ms && now_ms - out->read_ms <= STALE_MS ? 0 : -1;
}

void tsr_fleet_free(struct tsr_fleet **flp)
{
    struct tsr_fleet *fl = *flp;
    if (!fl) return;
    if (fl->started) {
        pthread_mutex_lock(&fl->mu);
        fl->stop = 1;
        pthread_cond_signal(&fl->cv);
        pthread_mutex_unlock(&fl->mu);
        pthread_join(fl->thread, NULL);
    }
    if (fl->viewer) rd_kafka_destroy(fl->viewer);
    pthread_cond_destroy(&fl->cv);
    pthread_mutex_destroy(&fl->mu);
    free(fl->view);
    free(fl);
    *flp = NULL;
}

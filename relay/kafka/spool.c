#include "relay/kafka/spool.h"

#include <errno.h>
#include <event2/event.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "relay/core/clock.h"
#include "relay/core/dir.h"
#include "relay/core/log.h"
#include "relay/kafka/kafka.h"

/* On-disk layout (state_dir/spool/data.mdb):
 *
 *   "records"  key   sequence, big-endian 64 bits (LMDB's byte order is arrival order)
 *              value v1: u8 version=1, i32 partition, i64 arrived_ms, then db, rp, src
 *                    and kind each as u16 length and bytes (length 0xffff: absent),
 *                    then the payload to the end
 *   "meta"     key   "partitions"  value i32: the topic's partition count, last seen
 *
 * Integers in values are little-endian, byte by byte. A reader skips (and logs) a record
 * of a version it does not know rather than guess at it. */

#define REC_VERSION 1
#define REC_FIXED   (1 + 4 + 8)
#define STR_ABSENT  0xffff
#define META_PARTITIONS "partitions"
/* A record's pages: small records share leaf pages (half full at worst), big ones take
 * overflow pages; twice the bound and a margin holds any mix. Sparse on disk. */
#define MAP_SLACK ((size_t)64 << 20)
/* Free space below which a failed write is taken for a full disk. */
#define NEARLY_FULL ((uint64_t)4 << 20)

enum job_kind { JOB_APPEND, JOB_REMOVE, JOB_META };

struct job {
    struct job *next;
    enum job_kind kind;
    uint64_t seq;
    size_t bytes;       /* record bytes: head + payload */
    uint8_t *head;      /* JOB_APPEND: the encoded value up to the payload */
    size_t head_len;
    const char *payload; /* borrowed until done */
    size_t len;
    int32_t partitions; /* JOB_META */
    tsr_spool_done_fn *done;
    void *opaque;
    int err;
    char why[160];
};

struct tsr_spool {
    MDB_env *env;
    MDB_dbi rec_dbi, meta_dbi;
    char *path;
    int64_t max_bytes;

    /* Loop thread only. */
    uint64_t next_seq;
    int64_t records, bytes;
    int64_t queued_bytes; /* appends not yet committed (or refused) */
    uint64_t removes_queued;
    int partitions;
    uint64_t appended, refused;
    struct event *done_ev;
    struct tsr_log_limit read_log;

    /* Shared with the writer, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *queue, **queue_tail;
    struct job *done, **done_tail;
    int stop;
    uint64_t removes_committed;
    struct tsr_log_limit commit_log; /* the writer's */
    uint64_t commits;
    double commit_s;
    pthread_t writer;
};

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_key(uint8_t k[8], uint64_t seq)
{
    for (int i = 0; i < 8; i++) k[i] = (uint8_t)(seq >> (8 * (7 - i)));
}

static uint64_t get_key(const MDB_val *k)
{
    uint64_t v = 0;
    const uint8_t *p = k->mv_data;
    for (size_t i = 0; i < 8 && i < k->mv_size; i++) v = v << 8 | p[i];
    return v;
}

static size_t str_len(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n < STR_ABSENT ? n : STR_ABSENT - 1;
}

/* Encodes everything but the payload. */
static uint8_t *encode_head(int32_t partition, int64_t arrived_ms, const struct tsr_kafka_hdrs *h,
                            size_t *lenp)
{
    const char *strs[4] = {h->db, h->rp, h->src, h->kind};
    size_t n = REC_FIXED;
    for (int i = 0; i < 4; i++) n += 2 + str_len(strs[i]);
    uint8_t *b = malloc(n), *p = b;
    if (!b) abort();
    *p++ = REC_VERSION;
    put_le(p, (uint32_t)partition, 4), p += 4;
    put_le(p, (uint64_t)arrived_ms, 8), p += 8;
    for (int i = 0; i < 4; i++) {
        size_t l = str_len(strs[i]);
        put_le(p, strs[i] ? l : STR_ABSENT, 2), p += 2;
        if (strs[i]) memcpy(p, strs[i], l), p += l;
    }
    *lenp = n;
    return b;
}

/* Decodes v into r, with the strings copied NUL-terminated into sbuf (4 * 65536 at most,
 * the caller's). Returns 0, or -1 if v is not a record this version knows. */
static int decode(const MDB_val *v, struct tsr_spool_rec *r, char *sbuf)
{
    const uint8_t *p = v->mv_data, *end = p + v->mv_size;
    if (v->mv_size < REC_FIXED || p[0] != REC_VERSION) return -1;
    r->partition = (int32_t)get_le(p + 1, 4);
    r->arrived_ms = (int64_t)get_le(p + 5, 8);
    p += REC_FIXED;
    const char **strs[4] = {&r->db, &r->rp, &r->src, &r->kind};
    for (int i = 0; i < 4; i++) {
        if (end - p < 2) return -1;
        size_t l = (size_t)get_le(p, 2);
        p += 2;
        if (l == STR_ABSENT) {
            *strs[i] = NULL;
            continue;
        }
        if ((size_t)(end - p) < l) return -1;
        memcpy(sbuf, p, l);
        sbuf[l] = '\0';
        *strs[i] = sbuf;
        sbuf += l + 1;
        p += l;
    }
    r->data = (const char *)p;
    r->len = (size_t)(end - p);
    r->bytes = v->mv_size;
    return 0;
}

/* --- the writer thread ------------------------------------------------------------- */

static int apply(struct tsr_spool *s, MDB_txn *txn, struct job *j, int appends)
{
    uint8_t kb[8];
    MDB_val k = {8, kb}, v;
    switch (j->kind) {
    case JOB_APPEND:
        if (!appends) return 0;
        put_key(kb, j->seq);
        v.mv_size = j->bytes;
        int rc = mdb_put(txn, s->rec_dbi, &k, &v, MDB_RESERVE | MDB_APPEND);
        if (rc) return rc;
        memcpy(v.mv_data, j->head, j->head_len);
        memcpy((uint8_t *)v.mv_data + j->head_len, j->payload, j->len);
        return 0;
    case JOB_REMOVE:
        put_key(kb, j->seq);
        rc = mdb_del(txn, s->rec_dbi, &k, NULL);
        return rc == MDB_NOTFOUND ? 0 : rc;
    case JOB_META: {
        uint8_t nb[4];
        put_le(nb, (uint32_t)j->partitions, 4);
        MDB_val mk = {sizeof(META_PARTITIONS) - 1, META_PARTITIONS}, mv = {4, nb};
        return mdb_put(txn, s->meta_dbi, &mk, &mv, 0);
    }
    }
    return 0;
}

/* One transaction of the jobs in list; appends too unless appends is 0. */
static int commit(struct tsr_spool *s, struct job *list, int appends)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc) return rc;
    for (struct job *j = list; j && !rc; j = j->next) rc = apply(s, txn, j, appends);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

/* Why a commit failed, in words an operator acts on. LMDB reports a short write (the
 * disk filled up under it) as EIO, so a full disk is recognised by looking at it. */
static void commit_error(const struct tsr_spool *s, int rc, char *out, size_t outlen)
{
    struct statvfs vfs;
    if (rc == MDB_MAP_FULL) {
        snprintf(out, outlen, "spool file full (LMDB map)");
    } else if (rc == ENOSPC ||
               (rc == EIO && statvfs(s->path, &vfs) == 0 &&
                (uint64_t)vfs.f_bavail * vfs.f_frsize < NEARLY_FULL)) {
        snprintf(out, outlen, "no space left on the spool's disk (%s)", mdb_strerror(rc));
    } else {
        snprintf(out, outlen, "%s", mdb_strerror(rc));
    }
}

static void *writer_main(void *arg)
{
    struct tsr_spool *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->queue && !s->stop) pthread_cond_wait(&s->cv, &s->mu);
        if (!s->queue) break;
        struct job *list = s->queue;
        s->queue = NULL;
        s->queue_tail = &s->queue;
        pthread_mutex_unlock(&s->mu);

        int64_t t0 = tsr_clock_mono_ns();
        int rc = commit(s, list, 1);
        int appends_rc = rc;
        if (rc) {
            /* Removals and the partition count free or need little room: a full disk
             * or map must not stop the drain that would empty it. */
            rc = commit(s, list, 0);
        }
        double took = (double)(tsr_clock_mono_ns() - t0) / 1e9;
        char why[160] = "";
        if (appends_rc) {
            commit_error(s, appends_rc, why, sizeof(why));
            tsr_log_limited(&s->commit_log, TSR_LOG_ERROR,
                            "spool: cannot commit to %s: %s; writes get 503 until it can",
                            s->path, why);
        }

        pthread_mutex_lock(&s->mu);
        s->commits++;
        s->commit_s += took;
        struct job *retry = NULL, **retry_tail = &retry;
        for (struct job *j = list, *next; j; j = next) {
            next = j->next;
            j->next = NULL;
            if (j->kind == JOB_APPEND) {
                j->err = appends_rc ? -1 : 0;
                if (appends_rc) snprintf(j->why, sizeof(j->why), "%s", why);
                *s->done_tail = j;
                s->done_tail = &j->next;
            } else if (rc) {
                *retry_tail = j; /* kept for the next commit */
                retry_tail = &j->next;
            } else {
                if (j->kind == JOB_REMOVE) s->removes_committed++;
                free(j);
            }
        }
        if (retry) {
            *retry_tail = s->queue;
            if (!s->queue) s->queue_tail = retry_tail;
            s->queue = retry;
            if (!s->stop) {
                /* Nothing commits now; try again in a second rather than spin. */
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += 1;
                pthread_cond_timedwait(&s->cv, &s->mu, &ts);
            } else {
                break;
            }
        }
        if (s->done_ev) event_active(s->done_ev, 0, 0);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* --- the loop side ----------------------------------------------------------------- */

static void run_done(struct tsr_spool *s)
{
    pthread_mutex_lock(&s->mu);
    struct job *list = s->done;
    s->done = NULL;
    s->done_tail = &s->done;
    pthread_mutex_unlock(&s->mu);
    for (struct job *j = list, *next; j; j = next) {
        next = j->next;
        s->queued_bytes -= (int64_t)j->bytes;
        if (j->err) {
            s->records--;
            s->bytes -= (int64_t)j->bytes;
            s->refused++;
        } else {
            s->appended++;
        }
        j->done(j->opaque, j->err, j->why);
        free(j->head);
        free(j);
    }
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    run_done(arg);
}

static void enqueue(struct tsr_spool *s, struct job *j)
{
    pthread_mutex_lock(&s->mu);
    *s->queue_tail = j;
    s->queue_tail = &j->next;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Reads the last sequence, the counts and the partition count left by an earlier run. */
static int load(struct tsr_spool *s, char *err, size_t errlen)
{
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc) goto fail;
    if ((rc = mdb_dbi_open(txn, "records", MDB_CREATE, &s->rec_dbi)) ||
        (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta_dbi)))
        goto abort;
    if ((rc = mdb_cursor_open(txn, s->rec_dbi, &c))) goto abort;
    s->next_seq = 1;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        s->records++;
        s->bytes += (int64_t)v.mv_size;
        s->next_seq = get_key(&k) + 1;
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND) goto abort;
    MDB_val mk = {sizeof(META_PARTITIONS) - 1, META_PARTITIONS};
    rc = mdb_get(txn, s->meta_dbi, &mk, &v);
    if (rc == 0 && v.mv_size == 4) s->partitions = (int)get_le(v.mv_data, 4);
    if (rc && rc != MDB_NOTFOUND) goto abort;
    if ((rc = mdb_txn_commit(txn))) goto fail;
    return 0;
abort:
    mdb_txn_abort(txn);
fail:
    snprintf(err, errlen, "spool %s: %s", s->path, mdb_strerror(rc));
    return -1;
}

int tsr_spool_open(const char *dir, int64_t max_bytes, struct event_base *base,
                   struct tsr_spool **sp, char *err, size_t errlen)
{
    *sp = NULL;
    if (tsr_mkdir_p(dir) != 0) {
        snprintf(err, errlen, "cannot create spool directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    struct tsr_spool *s = calloc(1, sizeof(*s));
    if (!s) abort();
    s->path = strdup(dir);
    if (!s->path) abort();
    s->max_bytes = max_bytes;
    s->queue_tail = &s->queue;
    s->done_tail = &s->done;
    s->commit_log.every_s = 60;
    s->read_log.every_s = 60;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    int rc = mdb_env_create(&s->env);
    if (!rc) rc = mdb_env_set_maxdbs(s->env, 2);
    if (!rc) rc = mdb_env_set_mapsize(s->env, 2 * (size_t)max_bytes + MAP_SLACK);
    if (!rc) rc = mdb_env_open(s->env, dir, 0, 0640);
    if (rc) {
        snprintf(err, errlen, "spool %s: %s", dir, mdb_strerror(rc));
        goto fail;
    }
    if (load(s, err, errlen)) goto fail;
    s->done_ev = event_new(base, -1, 0, on_done, s);
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        snprintf(err, errlen, "spool: cannot start its writer thread");
        goto fail;
    }
    if (s->records)
        tsr_info("spool %s holds %lld records (%lld bytes) from an earlier run; they go to "
                 "kafka first, in order",
                 dir, (long long)s->records, (long long)s->bytes);
    *sp = s;
    return 0;
fail:
    if (s->done_ev) event_free(s->done_ev);
    if (s->env) mdb_env_close(s->env);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->path);
    free(s);
    return -1;
}

void tsr_spool_free(struct tsr_spool **sp)
{
    struct tsr_spool *s = *sp;
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->writer, NULL);
    run_done(s);
    for (struct job *j = s->queue, *next; j; j = next) next = j->next, free(j);
    event_free(s->done_ev);
    mdb_env_close(s->env);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->path);
    free(s);
    *sp = NULL;
}

int tsr_spool_append(struct tsr_spool *s, int32_t partition, const char *payload, size_t len,
                     const struct tsr_kafka_hdrs *h, tsr_spool_done_fn *done, void *opaque,
                     const char **why)
{
    struct job *j = calloc(1, sizeof(*j));
    if (!j) abort();
    j->head = encode_head(partition, tsr_clock_now_ns() / 1000000, h, &j->head_len);
    j->bytes = j->head_len + len;
    if (s->bytes + (int64_t)j->bytes > s->max_bytes) {
        free(j->head);
        free(j);
        s->refused++;
        *why = "spool full (spool.max_bytes)";
        return -1;
    }
    j->kind = JOB_APPEND;
    j->seq = s->next_seq++;
    j->payload = payload;
    j->len = len;
    j->done = done;
    j->opaque = opaque;
    s->records++;
    s->bytes += (int64_t)j->bytes;
    s->queued_bytes += (int64_t)j->bytes;
    enqueue(s, j);
    return 0;
}

void tsr_spool_remove(struct tsr_spool *s, uint64_t seq, size_t bytes)
{
    struct job *j = calloc(1, sizeof(*j));
    if (!j) abort();
    j->kind = JOB_REMOVE;
    j->seq = seq;
    s->removes_queued++;
    s->records--;
    s->bytes -= (int64_t)bytes;
    enqueue(s, j);
}

void tsr_spool_set_partitions(struct tsr_spool *s, int n)
{
    if (n <= 0 || n == s->partitions) return;
    s->partitions = n;
    struct job *j = calloc(1, sizeof(*j));
    if (!j) abort();
    j->kind = JOB_META;
    j->partitions = n;
    enqueue(s, j);
}

int64_t tsr_spool_records(const struct tsr_spool *s)
{
    return s->records;
}

int64_t tsr_spool_bytes(const struct tsr_spool *s)
{
    return s->bytes;
}

int64_t tsr_spool_queued_bytes(const struct tsr_spool *s)
{
    return s->queued_bytes;
}

int tsr_spool_settled(struct tsr_spool *s)
{
    pthread_mutex_lock(&s->mu);
    int settled = s->removes_committed == s->removes_queued;
    pthread_mutex_unlock(&s->mu);
    return settled;
}

int tsr_spool_partitions(const struct tsr_spool *s)
{
    return s->partitions;
}

int tsr_spool_read(struct tsr_spool *s, uint64_t from, int max, tsr_spool_read_fn *fn,
                   void *opaque)
{
    MDB_txn *txn;
    MDB_cursor *c;
    uint8_t kb[8];
    MDB_val k = {8, kb}, v;
    static char sbuf[4 * 65536];
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc) goto fail;
    if ((rc = mdb_cursor_open(txn, s->rec_dbi, &c))) {
        mdb_txn_abort(txn);
        goto fail;
    }
    put_key(kb, from);
    int taken = 0;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && taken < max;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        struct tsr_spool_rec r;
        r.seq = get_key(&k);
        if (decode(&v, &r, sbuf) != 0) {
            tsr_log_limited(&s->read_log, TSR_LOG_ERROR,
                            "spool: record %llu is not one this version reads; left in place",
                            (unsigned long long)r.seq);
            continue;
        }
        if (fn(opaque, &r) != 0) break;
        taken++;
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return taken;
fail:
    tsr_log_limited(&s->read_log, TSR_LOG_ERROR, "spool: cannot read %s: %s", s->path, mdb_strerror(rc));
    return -1;
}

static int take_first(void *opaque, const struct tsr_spool_rec *r)
{
    *(struct tsr_spool_rec *)opaque = *r;
    return 0;
}

void tsr_spool_stats(struct tsr_spool *s, struct tsr_spool_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->records = s->records;
    out->bytes = s->bytes;
    out->max_bytes = s->max_bytes;
    out->appended = s->appended;
    out->refused = s->refused;
    struct tsr_spool_rec first;
    if (s->records > 0 && tsr_spool_read(s, 0, 1, take_first, &first) == 1) {
        out->first_seq = first.seq;
        out->oldest_ms = first.arrived_ms;
    }
    pthread_mutex_lock(&s->mu);
    out->commits = s->commits;
    out->commit_s = s->commit_s;
    pthread_mutex_unlock(&s->mu);
}

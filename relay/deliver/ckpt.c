#include "relay/deliver/ckpt.h"

#include "relay/core/buf.h"
#include "relay/core/dir.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* On-disk layout (all in the single file state_dir/state.mdb, lock in state.mdb-lock):
 *
 *   "ckpt"    key   cluster bytes, '\0', partition as big-endian 32 bits
 *             value v1, 17 bytes: u8 version=1, i64 next_offset, i64 last_ingest_ms
 *   "ledger"  key   cluster bytes, '\0', id as big-endian 64 bits
 *             value v1: u8 version=1, i64 from_ms, i64 to_ms, u16 nparts, u8 kind_len,
 *                   u8 reason_len, kind bytes, reason bytes, i64 from_offset[nparts],
 *                   i64 to_offset[nparts]
 *   "meta"    key   "topic"
 *             value the Kafka topic the "ckpt" offsets are of (absent in older stores)
 *
 * Value integers are little-endian, written byte by byte so the file is the same on any
 * host. Keys are big-endian so that LMDB's byte order is numeric order: one cluster's
 * entries are contiguous and sorted by partition or id. Cluster names never contain
 * '\0', so the '\0' after the name keeps "vm" and "vm2" apart. A reader refuses a version
 * it does not know; a future layout gets a new version byte and keeps reading v1. */

#define STORE_FILE     "state.mdb"
#define MAP_SIZE       ((size_t)1 << 30) /* sparse: only touched pages use disk */
#define MAX_DBS        8
#define CLUSTER_MAX    255 /* keeps every key under LMDB's 511-byte limit */
#define KEY_MAX        (CLUSTER_MAX + 1 + 8)
#define CKPT_VERSION   1
#define CKPT_REC_LEN   17
#define LEDGER_VERSION 1
#define LEDGER_HDR_LEN 21
#define LEDGER_REC_MAX                                                                             \
    (LEDGER_HDR_LEN + sizeof(((struct tsr_ledger_entry *)0)->kind) +                               \
     sizeof(((struct tsr_ledger_entry *)0)->reason) + 16 * TSR_CKPT_MAX_PARTITIONS)
#define LEDGER_KEEP 1000

struct tsr_ckpt {
    MDB_env *env;
    MDB_dbi ckpt_dbi;
    MDB_dbi ledger_dbi;
    MDB_dbi jobs_dbi;
    MDB_dbi verifies_dbi;
    MDB_dbi meta_dbi;
    char *path; /* state_dir/state.mdb, for messages */
};

/* --- encoding ------------------------------------------------------------------------ */

static void put_le64(uint8_t *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(u >> (8 * i));
}

static int64_t get_le64(const uint8_t *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)p[i] << (8 * i);
    return (int64_t)u;
}

static void put_be(uint8_t *p, uint64_t v, int nbytes)
{
    for (int i = 0; i < nbytes; i++)
        p[i] = (uint8_t)(v >> (8 * (nbytes - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, int nbytes)
{
    uint64_t v = 0;
    for (int i = 0; i < nbytes; i++)
        v = v << 8 | p[i];
    return v;
}

/* The key prefix of a cluster: its name and the '\0'. Returns the prefix length, or 0
 * with a message if the name cannot be a key. */
static size_t cluster_prefix(uint8_t *k, const char *cluster, char *err, size_t errlen)
{
    size_t clen = cluster ? strnlen(cluster, CLUSTER_MAX + 1) : 0;
    if (clen == 0) {
        snprintf(err, errlen, "invalid cluster name '': empty");
        return 0;
    }
    if (clen > CLUSTER_MAX) {
        snprintf(err, errlen, "invalid cluster name '%.40s...': longer than %d bytes", cluster,
                 CLUSTER_MAX);
        return 0;
    }
    memcpy(k, cluster, clen);
    k[clen] = '\0';
    return clen + 1;
}

/* The message for an LMDB code, or for our own refusal of a record in why. */
static const char *why_or(int rc, const char *why)
{
    return why[0] ? why : mdb_strerror(rc);
}

static int ckpt_decode(const MDB_val *val, struct tsr_ckpt_pos *pos, char *why, size_t whylen)
{
    const uint8_t *p = val->mv_data;
    if (val->mv_size < 1 || p[0] != CKPT_VERSION) {
        snprintf(why, whylen, "unknown record version %d", val->mv_size ? p[0] : -1);
        return MDB_CORRUPTED;
    }
    if (val->mv_size != CKPT_REC_LEN) {
        snprintf(why, whylen, "bad record length %zu", val->mv_size);
        return MDB_CORRUPTED;
    }
    pos->next_offset = get_le64(p + 1);
    pos->last_ingest_ms = get_le64(p + 9);
    return 0;
}

static size_t ledger_encode(uint8_t *p, const struct tsr_ledger_entry *e)
{
    size_t klen = strnlen(e->kind, sizeof(e->kind) - 1);
    size_t rlen = strnlen(e->reason, sizeof(e->reason) - 1);
    size_t off = LEDGER_HDR_LEN;

    p[0] = LEDGER_VERSION;
    put_le64(p + 1, e->from_ms);
    put_le64(p + 9, e->to_ms);
    p[17] = (uint8_t)(e->nparts & 0xff);
    p[18] = (uint8_t)(e->nparts >> 8);
    p[19] = (uint8_t)klen;
    p[20] = (uint8_t)rlen;
    memcpy(p + off, e->kind, klen);
    off += klen;
    memcpy(p + off, e->reason, rlen);
    off += rlen;
    for (int i = 0; i < e->nparts; i++, off += 8)
        put_le64(p + off, e->from_offset[i]);
    for (int i = 0; i < e->nparts; i++, off += 8)
        put_le64(p + off, e->to_offset[i]);
    return off;
}

/* Fills e (all of it: unused partitions and string tails are zeroed) from a record. */
static int ledger_decode(const MDB_val *val, struct tsr_ledger_entry *e, char *why, size_t whylen)
{
    const uint8_t *p = val->mv_data;
    size_t n = val->mv_size;
    if (n < 1 || p[0] != LEDGER_VERSION) {
        snprintf(why, whylen, "unknown record version %d", n ? p[0] : -1);
        return MDB_CORRUPTED;
    }
    if (n < LEDGER_HDR_LEN) goto bad;
    int nparts = p[17] | p[18] << 8;
    size_t klen = p[19], rlen = p[20];
    if (nparts > TSR_CKPT_MAX_PARTITIONS || klen >= sizeof(e->kind) || rlen >= sizeof(e->reason) ||
        n != LEDGER_HDR_LEN + klen + rlen + 16 * (size_t)nparts)
        goto bad;

    uint64_t id = e->id; /* the caller sets it from the key */
    memset(e, 0, sizeof(*e));
    e->id = id;
    e->from_ms = get_le64(p + 1);
    e->to_ms = get_le64(p + 9);
    e->nparts = nparts;
    size_t off = LEDGER_HDR_LEN;
    memcpy(e->kind, p + off, klen);
    off += klen;
    memcpy(e->reason, p + off, rlen);
    off += rlen;
    for (int i = 0; i < nparts; i++, off += 8)
        e->from_offset[i] = get_le64(p + off);
    for (int i = 0; i < nparts; i++, off += 8)
        e->to_offset[i] = get_le64(p + off);
    return 0;
bad:
    snprintf(why, whylen, "bad record length %zu", n);
    return MDB_CORRUPTED;
}

/* --- open / close -------------------------------------------------------------------- */

int tsr_ckpt_open(const char *state_dir, struct tsr_ckpt **ckp, char *err, size_t errlen)
{
    struct tsr_ckpt *ck;
    MDB_txn *txn = NULL;
    size_t len = strlen(state_dir) + sizeof("/" STORE_FILE);
    int rc, dead;

    *ckp = NULL;
    if (tsr_mkdir_p(state_dir) != 0) {
        snprintf(err, errlen, "cannot create state directory '%s': %s", state_dir, strerror(errno));
        return -1;
    }
    ck = calloc(1, sizeof(*ck));
    if (!ck) abort();
    ck->path = malloc(len);
    if (!ck->path) abort();
    snprintf(ck->path, len, "%s/%s", state_dir, STORE_FILE);

    rc = mdb_env_create(&ck->env);
    if (rc) goto leave;
    rc = mdb_env_set_mapsize(ck->env, MAP_SIZE);
    if (rc) goto leave;
    rc = mdb_env_set_maxdbs(ck->env, MAX_DBS);
    if (rc) goto leave;
    /* NOSYNC: commits reach the page cache (safe against kill -9), tsr_ckpt_sync makes
     * them safe against power loss. NOTLS: read transactions are not tied to a thread. */
    rc = mdb_env_open(ck->env, ck->path, MDB_NOSUBDIR | MDB_NOSYNC | MDB_NOTLS, 0640);
    if (rc) goto leave;
    /* Free reader slots left by processes killed in a read transaction. */
    rc = mdb_reader_check(ck->env, &dead);
    if (rc) goto leave;

    rc = mdb_txn_begin(ck->env, NULL, 0, &txn);
    if (rc) goto leave;
    rc = mdb_dbi_open(txn, "ckpt", MDB_CREATE, &ck->ckpt_dbi);
    if (rc) goto leave;
    rc = mdb_dbi_open(txn, "ledger", MDB_CREATE, &ck->ledger_dbi);
    if (rc) goto leave;
    rc = mdb_dbi_open(txn, "jobs", MDB_CREATE, &ck->jobs_dbi);
    if (rc) goto leave;
    rc = mdb_dbi_open(txn, "verifies", MDB_CREATE, &ck->verifies_dbi);
    if (rc) goto leave;
    rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &ck->meta_dbi);
    if (rc) goto leave;
    rc = mdb_txn_commit(txn);
    txn = NULL; /* freed by commit, even when it fails */
    if (rc) goto leave;

    *ckp = ck;
    return 0;
leave:
    if (txn) mdb_txn_abort(txn);
    snprintf(err, errlen, "cannot open state store '%s': %s", ck->path, mdb_strerror(rc));
    tsr_ckpt_close(&ck);
    return -1;
}

void tsr_ckpt_close(struct tsr_ckpt **ckp)
{
    struct tsr_ckpt *ck = *ckp;
    if (!ck) return;
    /* mdb_env_close also works on an environment whose open failed. */
    if (ck->env) mdb_env_close(ck->env);
    free(ck->path);
    free(ck);
    *ckp = NULL;
}

/* --- checkpoints --------------------------------------------------------------------- */

int tsr_ckpt_bind_topic(struct tsr_ckpt *ck, const char *topic, char *old, size_t oldlen,
                        char *err, size_t errlen)
{
    MDB_txn *txn = NULL;
    MDB_val key = {5, (void *)"topic"}, val;
    int rc, dropped = 0;

    old[0] = '\0';
    rc = mdb_txn_begin(ck->env, NULL, 0, &txn);
    if (rc) goto leave;
    rc = mdb_get(txn, ck->meta_dbi, &key, &val);
    if (rc == 0 && val.mv_size == strlen(topic) && memcmp(val.mv_data, topic, val.mv_size) == 0) {
        mdb_txn_abort(txn);
        return 0;
    }
    if (rc == 0) {
        snprintf(old, oldlen, "%.*s", (int)val.mv_size, (const char *)val.mv_data);
        rc = mdb_drop(txn, ck->ckpt_dbi, 0);
        if (rc) goto leave;
        dropped = 1;
    } else if (rc != MDB_NOTFOUND) {
        goto leave;
    }
    val.mv_size = strlen(topic);
    val.mv_data = (void *)topic;
    rc = mdb_put(txn, ck->meta_dbi, &key, &val, 0);
    if (rc) goto leave;
    rc = mdb_txn_commit(txn);
    txn = NULL;
leave:
    if (txn) mdb_txn_abort(txn);
    if (rc) {
        snprintf(err, errlen, "cannot record the topic of the checkpoints: %s", mdb_strerror(rc));
        return -1;
    }
    return dropped;
}

int tsr_ckpt_get(struct tsr_ckpt *ck, const char *cluster, int32_t partition,
                 struct tsr_ckpt_pos *pos, char *err, size_t errlen)
{
    uint8_t kbuf[KEY_MAX];
    char why[64] = "";
    MDB_txn *txn = NULL;
    MDB_val key, val;
    int rc;

    key.mv_data = kbuf;
    key.mv_size = cluster_prefix(kbuf, cluster, err, errlen);
    if (!key.mv_size) return -1;
    put_be(kbuf + key.mv_size, (uint32_t)partition, 4);
    key.mv_size += 4;

    rc = mdb_txn_begin(ck->env, NULL, MDB_RDONLY, &txn);
    if (rc) goto leave;
    rc = mdb_get(txn, ck->ckpt_dbi, &key, &val);
    if (rc) goto leave;
    /* Decode before the abort: val points into the map only while the txn lives. */
    rc = ckpt_decode(&val, pos, why, sizeof(why));
leave:
    if (txn) mdb_txn_abort(txn);
    if (rc == MDB_NOTFOUND) return 1;
    if (rc) {
        snprintf(err, errlen, "cannot read checkpoint of cluster '%s' partition %d: %s", cluster,
                 (int)partition, why_or(rc, why));
        return -1;
    }
    return 0;
}

int tsr_ckpt_put(struct tsr_ckpt *ck, const char *cluster, const int32_t *partitions,
                 const struct tsr_ckpt_pos *pos, size_t n, char *err, size_t errlen)
{
    uint8_t kbuf[KEY_MAX], rec[CKPT_REC_LEN];
    MDB_txn *txn = NULL;
    MDB_val key, val = {CKPT_REC_LEN, rec};
    size_t plen;
    int rc;

    plen = cluster_prefix(kbuf, cluster, err, errlen);
    if (!plen) return -1;
    if (n == 0) return 0;
    key.mv_data = kbuf;
    key.mv_size = plen + 4;

    rc = mdb_txn_begin(ck->env, NULL, 0, &txn);
    if (rc) goto leave;
    for (size_t i = 0; i < n; i++) {
        put_be(kbuf + plen, (uint32_t)partitions[i], 4);
        rec[0] = CKPT_VERSION;
        put_le64(rec + 1, pos[i].next_offset);
        put_le64(rec + 9, pos[i].last_ingest_ms);
        rc = mdb_put(txn, ck->ckpt_dbi, &key, &val, 0);
        if (rc) goto leave;
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
leave:
    if (txn) mdb_txn_abort(txn);
    if (rc) {
        snprintf(err, errlen, "cannot write checkpoints of cluster '%s': %s", cluster,
                 mdb_strerror(rc));
        return -1;
    }
    return 0;
}

int tsr_ckpt_sync(struct tsr_ckpt *ck, char *err, size_t errlen)
{
    int rc = mdb_env_sync(ck->env, 1);
    if (rc) {
        snprintf(err, errlen, "cannot sync state store '%s': %s", ck->path, mdb_strerror(rc));
        return -1;
    }
    return 0;
}

/* --- records by id: replay jobs, verify results ------------------------------------- */

/* Stores record id in dbi, and deletes record id - keep (0: keeps every one). */
static int record_put(struct tsr_ckpt *ck, MDB_dbi dbi, const char *what, uint64_t id,
                      uint64_t keep, const void *record, size_t len, char *err, size_t errlen)
{
    uint8_t kb[8], ob[8];
    for (int i = 0; i < 8; i++) kb[i] = (uint8_t)(id >> (56 - 8 * i));
    for (int i = 0; i < 8; i++) ob[i] = (uint8_t)((id - keep) >> (56 - 8 * i));
    MDB_val k = {sizeof(kb), kb}, v = {len, (void *)record}, old = {sizeof(ob), ob};
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(ck->env, NULL, 0, &txn);
    if (rc) goto leave;
    rc = mdb_put(txn, dbi, &k, &v, 0);
    if (rc) goto leave;
    if (keep && id > keep && (rc = mdb_del(txn, dbi, &old, NULL)) == MDB_NOTFOUND) rc = 0;
    if (rc) goto leave;
    rc = mdb_txn_commit(txn);
    txn = NULL;
leave:
    if (txn) mdb_txn_abort(txn);
    if (rc) snprintf(err, errlen, "cannot write %s %llu: %s", what, (unsigned long long)id,
                     mdb_strerror(rc));
    return rc ? -1 : 0;
}

static int record_list(struct tsr_ckpt *ck, MDB_dbi dbi, const char *what, tsr_ckpt_job_fn *fn,
                       void *opaque, char *err, size_t errlen)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = mdb_txn_begin(ck->env, NULL, MDB_RDONLY, &txn);
    if (rc) goto leave;
    rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc) goto leave;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8) continue;
        fn(opaque, get_be(k.mv_data, 8), v.mv_data, v.mv_size);
    }
    if (rc == MDB_NOTFOUND) rc = 0;
leave:
    if (cur) mdb_cursor_close(cur);
    if (txn) mdb_txn_abort(txn);
    if (rc) snprintf(err, errlen, "cannot list %ss: %s", what, mdb_strerror(rc));
    return rc ? -1 : 0;
}

int tsr_ckpt_job_put(struct tsr_ckpt *ck, uint64_t id, const void *record, size_t len, char *err,
                     size_t errlen)
{
    return record_put(ck, ck->jobs_dbi, "replay job", id, 0, record, len, err, errlen);
}

int tsr_ckpt_job_list(struct tsr_ckpt *ck, tsr_ckpt_job_fn *fn, void *opaque, char *err,
                      size_t errlen)
{
    return record_list(ck, ck->jobs_dbi, "replay job", fn, opaque, err, errlen);
}

int tsr_ckpt_verify_put(struct tsr_ckpt *ck, uint64_t id, const void *record, size_t len,
                        char *err, size_t errlen)
{
    return record_put(ck, ck->verifies_dbi, "verify result", id, TSR_CKPT_VERIFY_KEEP, record,
                      len, err, errlen);
}

int tsr_ckpt_verify_list(struct tsr_ckpt *ck, tsr_ckpt_job_fn *fn, void *opaque, char *err,
                         size_t errlen)
{
    return record_list(ck, ck->verifies_dbi, "verify result", fn, opaque, err, errlen);
}

/* --- ledger -------------------------------------------------------------------------- */

/* Whether key k is a ledger key of the cluster whose prefix is given; sets *id. */
static int ledger_key_is(const MDB_val *k, const uint8_t *prefix, size_t plen, uint64_t *id)
{
    if (k->mv_size != plen + 8 || memcmp(k->mv_data, prefix, plen) != 0) return 0;
    *id = get_be((const uint8_t *)k->mv_data + plen, 8);
    return 1;
}

/* Puts cur on the cluster's newest ledger entry. Returns 0, MDB_NOTFOUND when the
 * cluster has none, or an LMDB error. */
static int ledger_seek_last(MDB_cursor *cur, const uint8_t *prefix, size_t plen, MDB_val *k,
                            MDB_val *v, uint64_t *id)
{
    /* "name\1" sorts after every "name\0<id>" and before anything else >= them, so the
     * entry just before it is the cluster's newest, whatever the other names are. */
    uint8_t probe[KEY_MAX];
    int rc;

    memcpy(probe, prefix, plen);
    probe[plen - 1] = 1;
    k->mv_data = probe;
    k->mv_size = plen;
    rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(cur, k, v, MDB_LAST);
    else if (rc == 0)
        rc = mdb_cursor_get(cur, k, v, MDB_PREV);
    if (rc) return rc;
    return ledger_key_is(k, prefix, plen, id) ? 0 : MDB_NOTFOUND;
}

/* Deletes the cluster's entries older than its newest LEDGER_KEEP, inside txn. */
static int ledger_trim(MDB_cursor *cur, const uint8_t *prefix, size_t plen)
{
    uint8_t first[KEY_MAX];
    MDB_val k, v;
    uint64_t id, keep_from;
    int rc;

    /* Walk back to the oldest entry kept; nothing to do if there are not more. */
    rc = ledger_seek_last(cur, prefix, plen, &k, &v, &keep_from);
    for (int kept = 1; rc == 0 && kept < LEDGER_KEEP; kept++) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
        if (rc == 0 && !ledger_key_is(&k, prefix, plen, &keep_from)) rc = MDB_NOTFOUND;
    }
    if (rc) return rc == MDB_NOTFOUND ? 0 : rc;

    /* Delete forward from the oldest: after mdb_cursor_del the cursor already stands
     * on the following record, which MDB_NEXT then returns. */
    memcpy(first, prefix, plen);
    memset(first + plen, 0, 8);
    k.mv_data = first;
    k.mv_size = plen + 8;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && ledger_key_is(&k, prefix, plen, &id) && id < keep_from) {
        rc = mdb_cursor_del(cur, 0);
        if (rc) return rc;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int nparts_ok(int nparts, const char *what, const char *cluster, char *err, size_t errlen)
{
    if (nparts >= 0 && nparts <= TSR_CKPT_MAX_PARTITIONS) return 1;
    snprintf(err, errlen, "invalid %s of cluster '%s': %d partitions, at most %d", what, cluster,
             nparts, TSR_CKPT_MAX_PARTITIONS);
    return 0;
}

int tsr_ledger_open(struct tsr_ckpt *ck, const char *cluster, struct tsr_ledger_entry *e, char *err,
                    size_t errlen)
{
    uint8_t prefix[KEY_MAX], kbuf[KEY_MAX], rec[LEDGER_REC_MAX];
    struct tsr_ledger_entry *stored = NULL;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint64_t last = 0;
    size_t plen;
    int rc;

    plen = cluster_prefix(prefix, cluster, err, errlen);
    if (!plen) return -1;
    if (!nparts_ok(e->nparts, "ledger entry", cluster, err, errlen)) return -1;

    rc = mdb_txn_begin(ck->env, NULL, 0, &txn);
    if (rc) goto leave;
    rc = mdb_cursor_open(txn, ck->ledger_dbi, &cur);
    if (rc) goto leave;
    rc = ledger_seek_last(cur, prefix, plen, &k, &v, &last);
    if (rc == MDB_NOTFOUND) {
        last = 0;
        rc = 0;
    }
    if (rc) goto leave;
    if (last == UINT64_MAX) {
        rc = MDB_KEYEXIST; /* cannot happen: 1000 entries a second for 584 million years */
        goto leave;
    }

    /* The stored copy is open: no end time, no end offsets. A copy keeps e untouched
     * but for its id. */
    stored = malloc(sizeof(*stored));
    if (!stored) abort();
    memcpy(stored, e, sizeof(*stored));
    stored->to_ms = 0;
    memset(stored->to_offset, 0, sizeof(stored->to_offset));
    memcpy(kbuf, prefix, plen);
    put_be(kbuf + plen, last + 1, 8);
    k.mv_data = kbuf;
    k.mv_size = plen + 8;
    v.mv_data = rec;
    v.mv_size = ledger_encode(rec, stored);
    rc = mdb_put(txn, ck->ledger_dbi, &k, &v, MDB_NOOVERWRITE);
    if (rc) goto leave;
    rc = ledger_trim(cur, prefix, plen);
    if (rc) goto leave;

    mdb_cursor_close(cur);
    cur = NULL;
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc) goto leave;
    e->id = last + 1;
leave:
    free(stored);
    if (cur) mdb_cursor_close(cur);
    if (txn) mdb_txn_abort(txn);
    if (rc) {
        snprintf(err, errlen, "cannot record ledger entry of cluster '%s': %s", cluster,
                 mdb_strerror(rc));
        return -1;
    }
    return 0;
}

int tsr_ledger_close(struct tsr_ckpt *ck, const char *cluster, uint64_t id, int64_t to_ms,
                     int nparts, const int64_t *to_offset, char *err, size_t errlen)
{
    uint8_t kbuf[KEY_MAX], rec[LEDGER_REC_MAX];
    struct tsr_ledger_entry *e = NULL;
    char why[64] = "";
    MDB_txn *txn = NULL;
    MDB_val k, v;
    size_t plen;
    int rc;

    plen = cluster_prefix(kbuf, cluster, err, errlen);
    if (!plen) return -1;
    if (!nparts_ok(nparts, "ledger entry end", cluster, err, errlen)) return -1;
    put_be(kbuf + plen, id, 8);
    k.mv_data = kbuf;
    k.mv_size = plen + 8;

    e = calloc(1, sizeof(*e));
    if (!e) abort();
    rc = mdb_txn_begin(ck->env, NULL, 0, &txn);
    if (rc) goto leave;
    rc = mdb_get(txn, ck->ledger_dbi, &k, &v);
    if (rc) goto leave;
    e->id = id;
    rc = ledger_decode(&v, e, why, sizeof(why));
    if (rc) goto leave;

    /* Partitions added during the interval had nothing delivered from their start, so
     * their first undelivered offset is 0 (ledger_decode zeroed them); partitions no
     * longer counted are dropped with their end offsets. */
    e->to_ms = to_ms;
    e->nparts = nparts;
    memset(e->to_offset, 0, sizeof(e->to_offset));
    if (nparts) memcpy(e->to_offset, to_offset, (size_t)nparts * sizeof(*to_offset));
    memset(e->from_offset + nparts, 0,
           (size_t)(TSR_CKPT_MAX_PARTITIONS - nparts) * sizeof(*e->from_offset));
    v.mv_data = rec;
    v.mv_size = ledger_encode(rec, e);
    rc = mdb_put(txn, ck->ledger_dbi, &k, &v, 0);
    if (rc) goto leave;
    rc = mdb_txn_commit(txn);
    txn = NULL;
leave:
    free(e);
    if (txn) mdb_txn_abort(txn);
    if (rc == MDB_NOTFOUND) {
        snprintf(err, errlen, "ledger entry %llu of cluster '%s' not found", (unsigned long long)id,
                 cluster);
        return -1;
    }
    if (rc) {
        snprintf(err, errlen, "cannot close ledger entry %llu of cluster '%s': %s",
                 (unsigned long long)id, cluster, why_or(rc, why));
        return -1;
    }
    return 0;
}

int tsr_ledger_list(struct tsr_ckpt *ck, const char *cluster, struct tsr_ledger_entry *out,
                    size_t max, size_t *n, char *err, size_t errlen)
{
    uint8_t prefix[KEY_MAX];
    char why[64] = "";
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint64_t id;
    size_t got = 0, plen;
    int rc;

    *n = 0;
    plen = cluster_prefix(prefix, cluster, err, errlen);
    if (!plen) return -1;
    if (max == 0) return 0;

    rc = mdb_txn_begin(ck->env, NULL, MDB_RDONLY, &txn);
    if (rc) goto leave;
    rc = mdb_cursor_open(txn, ck->ledger_dbi, &cur);
    if (rc) goto leave;
    /* Newest first into the tail of out, then slid to the front: oldest first. */
    rc = ledger_seek_last(cur, prefix, plen, &k, &v, &id);
    while (rc == 0 && got < max) {
        struct tsr_ledger_entry *e = &out[max - 1 - got];
        e->id = id;
        rc = ledger_decode(&v, e, why, sizeof(why));
        if (rc) goto leave;
        got++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
        if (rc == 0 && !ledger_key_is(&k, prefix, plen, &id)) rc = MDB_NOTFOUND;
    }
    if (rc == MDB_NOTFOUND) rc = 0;
leave:
    /* Read-only cursors are not freed with their transaction. */
    if (cur) mdb_cursor_close(cur);
    if (txn) mdb_txn_abort(txn);
    if (rc) {
        snprintf(err, errlen, "cannot list ledger of cluster '%s': %s", cluster, why_or(rc, why));
        return -1;
    }
    if (got < max) memmove(out, out + (max - got), got * sizeof(*out));
    *n = got;
    return 0;
}

/* --- the ledger on the fleet board -------------------------------------------------- */

int tsr_ledger_store(struct tsr_ckpt *ck, const char *cluster, const struct tsr_ledger_entry *e,
                     char *err, size_t errlen)
{
    uint8_t kbuf[KEY_MAX], rec[LEDGER_REC_MAX];
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    size_t plen = cluster_prefix(kbuf, cluster, err, errlen);
    if (!plen) return -1;
    if (!nparts_ok(e->nparts, "ledger entry", cluster, err, errlen)) return -1;
    put_be(kbuf + plen, e->id, 8);
    k.mv_data = kbuf;
    k.mv_size = plen + 8;
    v.mv_data = rec;
    v.mv_size = ledger_encode(rec, e);
    int rc = mdb_txn_begin(ck->env, NULL, 0, &txn);
    if (rc) goto leave;
    rc = mdb_put(txn, ck->ledger_dbi, &k, &v, 0);
    if (rc) goto leave;
    rc = mdb_cursor_open(txn, ck->ledger_dbi, &cur);
    if (rc) goto leave;
    rc = ledger_trim(cur, kbuf, plen);
    if (rc) goto leave;
    mdb_cursor_close(cur);
    cur = NULL;
    rc = mdb_txn_commit(txn);
    txn = NULL;
leave:
    if (cur) mdb_cursor_close(cur);
    if (txn) mdb_txn_abort(txn);
    if (rc) {
        snprintf(err, errlen, "cannot store ledger entry %llu of cluster '%s': %s",
                 (unsigned long long)e->id, cluster, mdb_strerror(rc));
        return -1;
    }
    return 0;
}

int tsr_ledger_get(struct tsr_ckpt *ck, const char *cluster, uint64_t id,
                   struct tsr_ledger_entry *e, char *err, size_t errlen)
{
    uint8_t kbuf[KEY_MAX];
    char why[64] = "";
    MDB_txn *txn = NULL;
    MDB_val k, v;
    size_t plen = cluster_prefix(kbuf, cluster, err, errlen);
    if (!plen) return -1;
    put_be(kbuf + plen, id, 8);
    k.mv_data = kbuf;
    k.mv_size = plen + 8;
    int rc = mdb_txn_begin(ck->env, NULL, MDB_RDONLY, &txn);
    if (rc) goto leave;
    rc = mdb_get(txn, ck->ledger_dbi, &k, &v);
    if (rc) goto leave;
    e->id = id;
    rc = ledger_decode(&v, e, why, sizeof(why));
leave:
    if (txn) mdb_txn_abort(txn);
    if (rc == MDB_NOTFOUND) return 1;
    if (rc) {
        snprintf(err, errlen, "cannot read ledger entry %llu of cluster '%s': %s",
                 (unsigned long long)id, cluster, why_or(rc, why));
        return -1;
    }
    return 0;
}

void tsr_ledger_serialize(const struct tsr_ledger_entry *e, struct tsr_buf *out)
{
    uint8_t rec[8 + LEDGER_REC_MAX];
    put_le64(rec, (int64_t)e->id);
    size_t n = 8 + ledger_encode(rec + 8, e);
    tsr_buf_append(out, (const char *)rec, n);
}

int tsr_ledger_parse(const void *rec, size_t len, struct tsr_ledger_entry *e)
{
    char why[64];
    if (len < 8) return -1;
    e->id = (uint64_t)get_le64(rec);
    MDB_val v = {len - 8, (uint8_t *)rec + 8};
    return ledger_decode(&v, e, why, sizeof(why)) ? -1 : 0;
}

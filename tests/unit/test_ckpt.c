/* tests/unit/test_ckpt.c — the LMDB state store: checkpoints round trip and survive a
 * restart and a kill -9 (including one in the middle of a stream of commits), readers on
 * another thread, and the ledger's ids, order, trimming and cluster separation. Each
 * test gets its own directory under /tmp, removed afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "relay/core/buf.h"
#include "relay/deliver/ckpt.h"
#include "relay/deliver/fleet.h"

struct fixture {
    char dir[64];
    char err[512];
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f) return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_ckpt.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int rc = nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return rc;
}

/* The store lives one level below the temp dir, so open also exercises mkdir -p. */
static struct tsr_ckpt *open_store(struct fixture *f)
{
    char dir[128];
    struct tsr_ckpt *ck = NULL;
    snprintf(dir, sizeof(dir), "%s/state/sub", f->dir);
    int rc = tsr_ckpt_open(dir, &ck, f->err, sizeof(f->err));
    if (rc) fail_msg("%s", f->err);
    assert_non_null(ck);
    return ck;
}

static void put1(struct fixture *f, struct tsr_ckpt *ck, const char *cluster, int32_t part,
                 int64_t off, int64_t ms)
{
    struct tsr_ckpt_pos pos = {off, ms};
    if (tsr_ckpt_put(ck, cluster, &part, &pos, 1, f->err, sizeof(f->err))) fail_msg("%s", f->err);
}

static void expect_pos(struct fixture *f, struct tsr_ckpt *ck, const char *cluster, int32_t part,
                       int64_t off, int64_t ms)
{
    struct tsr_ckpt_pos pos = {-7, -7};
    int rc = tsr_ckpt_get(ck, cluster, part, &pos, f->err, sizeof(f->err));
    if (rc == -1) fail_msg("%s", f->err);
    assert_int_equal(rc, 0);
    assert_int_equal(pos.next_offset, off);
    assert_int_equal(pos.last_ingest_ms, ms);
}

static void expect_missing(struct fixture *f, struct tsr_ckpt *ck, const char *cluster,
                           int32_t part)
{
    struct tsr_ckpt_pos pos;
    assert_int_equal(tsr_ckpt_get(ck, cluster, part, &pos, f->err, sizeof(f->err)), 1);
}

/* --- checkpoints --------------------------------------------------------------------- */

static void test_put_get_round_trip(void **state)
{
    struct fixture *f = *state;
    struct tsr_ckpt *ck = open_store(f);
    const char *clusters[] = {"influx-a", "vm", "vm2", "v"};
    int32_t parts[] = {0, 1, 2, 7, 255, 1000};
    struct tsr_ckpt_pos pos[6];

    for (size_t c = 0; c < 4; c++) {
        for (size_t i = 0; i < 6; i++) {
            pos[i].next_offset = (int64_t)(c * 1000000 + i * 1000 + 1);
            pos[i].last_ingest_ms = 1700000000000 + (int64_t)(c * 10 + i);
        }
        assert_int_equal(tsr_ckpt_put(ck, clusters[c], parts, pos, 6, f->err, sizeof(f->err)), 0);
    }
    for (size_t c = 0; c < 4; c++)
        for (size_t i = 0; i < 6; i++)
            expect_pos(f, ck, clusters[c], parts[i], (int64_t)(c * 1000000 + i * 1000 + 1),
                       1700000000000 + (int64_t)(c * 10 + i));

    /* Overwrite one, and the extremes of the encoding. */
    put1(f, ck, "vm", 2, 42, 0);
    expect_pos(f, ck, "vm", 2, 42, 0);
    expect_pos(f, ck, "vm2", 2, 2002001, 1700000000022);
    put1(f, ck, "vm", 3, INT64_MAX, INT64_MIN);
    expect_pos(f, ck, "vm", 3, INT64_MAX, INT64_MIN);
    put1(f, ck, "vm", 4, -1, -1);
    expect_pos(f, ck, "vm", 4, -1, -1);

    /* n == 0 is a no-op, not an error. */
    assert_int_equal(tsr_ckpt_put(ck, "vm", NULL, NULL, 0, f->err, sizeof(f->err)), 0);
    assert_int_equal(tsr_ckpt_sync(ck, f->err, sizeof(f->err)), 0);
    tsr_ckpt_close(&ck);
    assert_null(ck);
}

static void test_get_missing(void **state)
{
    struct fixture *f = *state;
    struct tsr_ckpt *ck = open_store(f);
    expect_missing(f, ck, "vm", 0);
    put1(f, ck, "vm", 0, 10, 20);
    expect_missing(f, ck, "vm", 1);
    expect_missing(f, ck, "vm2", 0); /* a longer name is another cluster */
    expect_missing(f, ck, "v", 0);   /* and so is a shorter one */
    expect_pos(f, ck, "vm", 0, 10, 20);
    tsr_ckpt_close(&ck);
}

/* Positions belong to one topic: a store bound to another drops them; a legacy store
 * (no topic recorded) keeps them for the first topic it is bound to. */
static void test_bind_topic(void **state)
{
    struct fixture *f = *state;
    char old[64], *e = f->err;
    size_t el = sizeof(f->err);
    struct tsr_ckpt *ck = open_store(f);
    put1(f, ck, "vm", 0, 10, 20);
    assert_int_equal(tsr_ckpt_bind_topic(ck, "metrics", old, sizeof(old), e, el), 0);
    expect_pos(f, ck, "vm", 0, 10, 20);
    tsr_ckpt_close(&ck);
    ck = open_store(f);
    assert_int_equal(tsr_ckpt_bind_topic(ck, "metrics", old, sizeof(old), e, el), 0);
    expect_pos(f, ck, "vm", 0, 10, 20);
    assert_int_equal(tsr_ckpt_bind_topic(ck, "metrics2", old, sizeof(old), e, el), 1);
    assert_string_equal(old, "metrics");
    expect_missing(f, ck, "vm", 0);
    put1(f, ck, "vm", 0, 3, 4);
    tsr_ckpt_close(&ck);
    ck = open_store(f);
    assert_int_equal(tsr_ckpt_bind_topic(ck, "metrics2", old, sizeof(old), e, el), 0);
    expect_pos(f, ck, "vm", 0, 3, 4);
    tsr_ckpt_close(&ck);
}

static void test_bad_cluster_name(void **state)
{
    struct fixture *f = *state;
    struct tsr_ckpt *ck = open_store(f);
    struct tsr_ckpt_pos pos;
    char name[300];
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';

    assert_int_equal(tsr_ckpt_get(ck, "", 0, &pos, f->err, sizeof(f->err)), -1);
    assert_string_equal(f->err, "invalid cluster name '': empty");
    assert_int_equal(tsr_ckpt_get(ck, name, 0, &pos, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "longer than 255 bytes"));
    tsr_ckpt_close(&ck);
}

static void test_survives_reopen(void **state)
{
    struct fixture *f = *state;
    struct tsr_ckpt *ck = open_store(f);
    put1(f, ck, "influx", 0, 100, 1000);
    put1(f, ck, "influx", 1, 200, 2000);
    tsr_ckpt_close(&ck);

    ck = open_store(f);
    expect_pos(f, ck, "influx", 0, 100, 1000);
    expect_pos(f, ck, "influx", 1, 200, 2000);
    put1(f, ck, "influx", 1, 201, 2001);
    tsr_ckpt_close(&ck);

    ck = open_store(f);
    expect_pos(f, ck, "influx", 1, 201, 2001);
    tsr_ckpt_close(&ck);
}

/* The child opens the store after fork (LMDB environments must not cross a fork),
 * commits, and is killed at once: no close, no sync, no exit handlers. */
static void test_kill9_after_commit(void **state)
{
    struct fixture *f = *state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char dir[128], err[512];
        struct tsr_ckpt *ck = NULL;
        int32_t parts[] = {0, 1, 2};
        struct tsr_ckpt_pos pos[] = {{11, 111}, {22, 222}, {33, 333}};
        snprintf(dir, sizeof(dir), "%s/state/sub", f->dir);
        if (tsr_ckpt_open(dir, &ck, err, sizeof(err))) _exit(1);
        if (tsr_ckpt_put(ck, "vm", parts, pos, 3, err, sizeof(err))) _exit(2);
        kill(getpid(), SIGKILL);
        _exit(3);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);

    struct tsr_ckpt *ck = open_store(f);
    expect_pos(f, ck, "vm", 0, 11, 111);
    expect_pos(f, ck, "vm", 1, 22, 222);
    expect_pos(f, ck, "vm", 2, 33, 333);
    /* The dead writer's lock must not block the next writer. */
    put1(f, ck, "vm", 0, 12, 112);
    expect_pos(f, ck, "vm", 0, 12, 112);
    tsr_ckpt_close(&ck);
}

/* A child commits as fast as it can, reporting each committed round on a pipe; the
 * parent kills it at an arbitrary point, likely inside a transaction. Afterwards every
 * reported round is there, and each round's partitions are all from the same round. */
static void test_kill9_mid_stream(void **state)
{
    struct fixture *f = *state;
    enum { NPART = 8 };
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char dir[128], err[512];
        struct tsr_ckpt *ck = NULL;
        int32_t parts[NPART];
        struct tsr_ckpt_pos pos[NPART];
        close(fds[0]);
        snprintf(dir, sizeof(dir), "%s/state/sub", f->dir);
        if (tsr_ckpt_open(dir, &ck, err, sizeof(err))) _exit(1);
        for (int64_t round = 1;; round++) {
            for (int i = 0; i < NPART; i++) {
                parts[i] = i;
                pos[i].next_offset = round;
                pos[i].last_ingest_ms = round * 10;
            }
            if (tsr_ckpt_put(ck, "vm", parts, pos, NPART, err, sizeof(err))) _exit(2);
            if (write(fds[1], &round, sizeof(round)) != sizeof(round)) _exit(3);
        }
    }
    close(fds[1]);
    int64_t round = 0, last = 0;
    while (last < 300 && read(fds[0], &round, sizeof(round)) == sizeof(round))
        last = round;
    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    close(fds[0]);
    assert_true(last >= 300);

    struct tsr_ckpt *ck = open_store(f);
    struct tsr_ckpt_pos pos;
    assert_int_equal(tsr_ckpt_get(ck, "vm", 0, &pos, f->err, sizeof(f->err)), 0);
    assert_true(pos.next_offset >= last);
    for (int i = 0; i < NPART; i++)
        expect_pos(f, ck, "vm", i, pos.next_offset, pos.next_offset * 10);
    put1(f, ck, "vm", 0, 1, 1);
    tsr_ckpt_close(&ck);
}

struct reader {
    struct tsr_ckpt *ck;
    atomic_int stop;
    int64_t reads;
    int64_t bad; /* errors, or a position going backwards */
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    char err[512];
    int64_t prev = -1;
    while (!atomic_load(&r->stop)) {
        struct tsr_ckpt_pos pos;
        int rc = tsr_ckpt_get(r->ck, "vm", 3, &pos, err, sizeof(err));
        if (rc == -1 || (rc == 0 && pos.next_offset < prev)) r->bad++;
        if (rc == 0) prev = pos.next_offset;
        r->reads++;
    }
    return NULL;
}

/* Reads from another thread while the writer commits (MDB_NOTLS). */
static void test_reader_thread(void **state)
{
    struct fixture *f = *state;
    struct reader r = {.ck = open_store(f)};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reader_main, &r), 0);
    for (int64_t i = 1; i <= 2000; i++)
        put1(f, r.ck, "vm", 3, i, i);
    atomic_store(&r.stop, 1);
    pthread_join(t, NULL);
    assert_int_equal(r.bad, 0);
    assert_true(r.reads > 0);
    expect_pos(f, r.ck, "vm", 3, 2000, 2000);
    tsr_ckpt_close(&r.ck);
}

static void test_open_errors(void **state)
{
    struct fixture *f = *state;
    char file[128], dir[160], store[128], storefile[160], want[320];
    struct tsr_ckpt *ck = (struct tsr_ckpt *)&ck; /* open must reset it */

    snprintf(file, sizeof(file), "%s/plainfile", f->dir);
    int fd = open(file, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);

    snprintf(dir, sizeof(dir), "%s/sub", file);
    assert_int_equal(tsr_ckpt_open(dir, &ck, f->err, sizeof(f->err)), -1);
    assert_null(ck);
    snprintf(want, sizeof(want), "cannot create state directory '%s': Not a directory", dir);
    assert_string_equal(f->err, want);

    /* state_dir itself is a file */
    assert_int_equal(tsr_ckpt_open(file, &ck, f->err, sizeof(f->err)), -1);
    snprintf(want, sizeof(want), "cannot create state directory '%s': Not a directory", file);
    assert_string_equal(f->err, want);

    /* the store file is a directory */
    snprintf(store, sizeof(store), "%s/store", f->dir);
    snprintf(storefile, sizeof(storefile), "%s/state.mdb", store);
    assert_int_equal(mkdir(store, 0700), 0);
    assert_int_equal(mkdir(storefile, 0700), 0);
    assert_int_equal(tsr_ckpt_open(store, &ck, f->err, sizeof(f->err)), -1);
    assert_null(ck);
    snprintf(want, sizeof(want), "cannot open state store '%s': ", storefile);
    assert_memory_equal(f->err, want, strlen(want));
}

static void test_creates_dir_mode(void **state)
{
    struct fixture *f = *state;
    char dir[128];
    struct stat st;
    struct tsr_ckpt *ck = open_store(f);
    tsr_ckpt_close(&ck);
    snprintf(dir, sizeof(dir), "%s/state/sub", f->dir);
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0027, 0); /* never wider than 0750 */
    snprintf(dir, sizeof(dir), "%s/state/sub/state.mdb", f->dir);
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISREG(st.st_mode));
}

/* --- ledger -------------------------------------------------------------------------- */

static struct tsr_ledger_entry *entry(int64_t from_ms, const char *kind, const char *reason,
                                      int nparts)
{
    struct tsr_ledger_entry *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    e->from_ms = from_ms;
    e->to_ms = 999;       /* ignored by open */
    e->to_offset[0] = 99; /* ignored by open */
    snprintf(e->kind, sizeof(e->kind), "%s", kind);
    snprintf(e->reason, sizeof(e->reason), "%s", reason);
    e->nparts = nparts;
    for (int i = 0; i < nparts; i++)
        e->from_offset[i] = from_ms + i;
    return e;
}

static uint64_t ledger_open1(struct fixture *f, struct tsr_ckpt *ck, const char *cluster,
                             int64_t from_ms, int nparts)
{
    struct tsr_ledger_entry *e = entry(from_ms, "outage", "health probe failed", nparts);
    if (tsr_ledger_open(ck, cluster, e, f->err, sizeof(f->err))) fail_msg("%s", f->err);
    uint64_t id = e->id;
    free(e);
    return id;
}

static void test_ledger_open_close_list(void **state)
{
    struct fixture *f = *state;
    struct tsr_ckpt *ck = open_store(f);
    struct tsr_ledger_entry *out = calloc(10, sizeof(*out));
    size_t n = 99;

    assert_int_equal(tsr_ledger_list(ck, "vm", out, 10, &n, f->err, sizeof(f->err)), 0);
    assert_int_equal(n, 0);

    assert_int_equal(ledger_open1(f, ck, "vm", 1000, 3), 1);
    assert_int_equal(ledger_open1(f, ck, "vm", 2000, 2), 2);
    struct tsr_ledger_entry *e = entry(3000, "gap", "retention", TSR_CKPT_MAX_PARTITIONS);
    assert_int_equal(tsr_ledger_open(ck, "vm", e, f->err, sizeof(f->err)), 0);
    assert_int_equal(e->id, 3);

    int64_t to[TSR_CKPT_MAX_PARTITIONS];
    for (int i = 0; i < TSR_CKPT_MAX_PARTITIONS; i++)
        to[i] = 5000 + i;
    assert_int_equal(tsr_ledger_close(ck, "vm", 2, 2500, 2, to, f->err, sizeof(f->err)), 0);
    /* partition count grew during the interval: the new partition starts at 0 */
    assert_int_equal(tsr_ledger_close(ck, "vm", 1, 1500, 4, to, f->err, sizeof(f->err)), 0);
    assert_int_equal(
        tsr_ledger_close(ck, "vm", 3, 3500, TSR_CKPT_MAX_PARTITIONS, to, f->err, sizeof(f->err)),
        0);

    assert_int_equal(tsr_ledger_list(ck, "vm", out, 10, &n, f->err, sizeof(f->err)), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(out[i].id, i + 1);

    assert_int_equal(out[0].from_ms, 1000);
    assert_int_equal(out[0].to_ms, 1500);
    assert_string_equal(out[0].kind, "outage");
    assert_string_equal(out[0].reason, "health probe failed");
    assert_int_equal(out[0].nparts, 4);
    assert_int_equal(out[0].from_offset[0], 1000);
    assert_int_equal(out[0].from_offset[2], 1002);
    assert_int_equal(out[0].from_offset[3], 0);
    assert_int_equal(out[0].to_offset[3], 5003);
    assert_int_equal(out[0].to_offset[4], 0);

    assert_int_equal(out[1].to_ms, 2500);
    assert_int_equal(out[1].nparts, 2);
    assert_int_equal(out[1].from_offset[1], 2001);
    assert_int_equal(out[1].to_offset[1], 5001);
    assert_int_equal(out[1].to_offset[2], 0);

    assert_string_equal(out[2].kind, "gap");
    assert_string_equal(out[2].reason, "retention");
    assert_int_equal(out[2].nparts, TSR_CKPT_MAX_PARTITIONS);
    assert_int_equal(out[2].from_offset[255], 3255);
    assert_int_equal(out[2].to_offset[255], 5255);

    /* An open entry has to_ms 0 and no end offsets, whatever the caller passed. */
    assert_int_equal(ledger_open1(f, ck, "vm", 4000, 1), 4);
    /* max smaller than the count: the newest, still oldest first */
    assert_int_equal(tsr_ledger_list(ck, "vm", out, 2, &n, f->err, sizeof(f->err)), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].id, 3);
    assert_int_equal(out[1].id, 4);
    assert_int_equal(out[1].to_ms, 0);
    assert_int_equal(out[1].to_offset[0], 0);
    assert_int_equal(tsr_ledger_list(ck, "vm", out, 0, &n, f->err, sizeof(f->err)), 0);
    assert_int_equal(n, 0);

    /* survives a restart, and ids carry on */
    tsr_ckpt_close(&ck);
    ck = open_store(f);
    assert_int_equal(tsr_ledger_list(ck, "vm", out, 10, &n, f->err, sizeof(f->err)), 0);
    assert_int_equal(n, 4);
    assert_int_equal(out[2].to_ms, 3500);
    assert_int_equal(ledger_open1(f, ck, "vm", 5000, 1), 5);

    free(e);
    free(out);
    tsr_ckpt_close(&ck);
}

static void test_ledger_errors(void **state)
{
    struct fixture *f = *state;
    struct tsr_ckpt *ck = open_store(f);
    int64_t to[1] = {0};

    assert_int_equal(tsr_ledger_close(ck, "vm", 7, 1, 1, to, f->err, sizeof(f->err)), -1);
    assert_string_equal(f->err, "ledger entry 7 of cluster 'vm' not found");
    assert_int_equal(ledger_open1(f, ck, "vm", 1, 1), 1);
    assert_int_equal(tsr_ledger_close(ck, "vm", 2, 1, 1, to, f->err, sizeof(f->err)), -1);
    assert_string_equal(f->err, "ledger entry 2 of cluster 'vm' not found");
    assert_int_equal(tsr_ledger_close(ck, "vm2", 1, 1, 1, to, f->err, sizeof(f->err)), -1);
    assert_string_equal(f->err, "ledger entry 1 of cluster 'vm2' not found");

    struct tsr_ledger_entry *e = entry(1, "outage", "x", 0);
    e->nparts = TSR_CKPT_MAX_PARTITIONS + 1;
    assert_int_equal(tsr_ledger_open(ck, "vm", e, f->err, sizeof(f->err)), -1);
    assert_string_equal(f->err,
                        "invalid ledger entry of cluster 'vm': 257 partitions, at most 256");
    e->nparts = -1;
    assert_int_equal(tsr_ledger_open(ck, "vm", e, f->err, sizeof(f->err)), -1);
    assert_int_equal(tsr_ledger_close(ck, "vm", 1, 1, 257, to, f->err, sizeof(f->err)), -1);
    assert_string_equal(f->err,
                        "invalid ledger entry end of cluster 'vm': 257 partitions, at most 256");

    /* over-long strings are cut to what the struct holds, NUL included */
    memset(e->kind, 'k', sizeof(e->kind));
    memset(e->reason, 'r', sizeof(e->reason));
    e->nparts = 0;
    assert_int_equal(tsr_ledger_open(ck, "vm", e, f->err, sizeof(f->err)), 0);
    struct tsr_ledger_entry *out = calloc(1, sizeof(*out));
    size_t n;
    assert_int_equal(tsr_ledger_list(ck, "vm", out, 1, &n, f->err, sizeof(f->err)), 0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].id, 2);
    assert_int_equal(strlen(out[0].kind), sizeof(out[0].kind) - 1);
    assert_int_equal(strlen(out[0].reason), sizeof(out[0].reason) - 1);

    free(out);
    free(e);
    tsr_ckpt_close(&ck);
}

static void test_ledger_trim(void **state)
{
    struct fixture *f = *state;
    struct tsr_ckpt *ck = open_store(f);
    size_t max = 1100, n;
    struct tsr_ledger_entry *out = calloc(max, sizeof(*out));
    int64_t to[1] = {1};

    /* another cluster on each side, which trimming must not touch */
    assert_int_equal(ledger_open1(f, ck, "v", 1, 1), 1);
    assert_int_equal(ledger_open1(f, ck, "vm2", 1, 1), 1);
    for (uint64_t i = 1; i <= 1005; i++)
        assert_int_equal(ledger_open1(f, ck, "vm", (int64_t)i, 1), i);

    assert_int_equal(tsr_ledger_list(ck, "vm", out, max, &n, f->err, sizeof(f->err)), 0);
    assert_int_equal(n, 1000);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(out[i].id, i + 6);
        assert_int_equal(out[i].from_ms, (int64_t)(i + 6));
    }
    assert_int_equal(tsr_ledger_close(ck, "vm", 5, 1, 1, to, f->err, sizeof(f->err)), -1);
    assert_string_equal(f->err, "ledger entry 5 of cluster 'vm' not found");
    assert_int_equal(tsr_ledger_close(ck, "vm", 6, 1, 1, to, f->err, sizeof(f->err)), 0);

    assert_int_equal(tsr_ledger_list(ck, "v", out, max, &n, f->err, sizeof(f->err)), 0);
    assert_int_equal(n, 1);
    assert_int_equal(tsr_ledger_list(ck, "vm2", out, max, &n, f->err, sizeof(f->err)), 0);
    assert_int_equal(n, 1);

    /* one more trims exactly one */
    assert_int_equal(ledger_open1(f, ck, "vm", 0, 1), 1006);
    assert_int_equal(tsr_ledger_list(ck, "vm", out, max, &n, f->err, sizeof(f->err)), 0);
    assert_int_equal(n, 1000);
    assert_int_equal(out[0].id, 7);
    assert_int_equal(out[999].id, 1006);

    free(out);
    tsr_ckpt_close(&ck);
}

/* Names that are prefixes of each other, and neighbours in byte order either side. */
/* The fleet: an entry read from the board (serialized by the coordinator) is stored
 * under its own id, replaces an older copy, and reads back field by field; the next
 * entry this relay opens (as a new coordinator) continues the ids. */
static void test_ledger_board_round_trip(void **state)
{
    struct fixture *f = *state;
    struct tsr_ckpt *ck = open_store(f);
    struct tsr_ledger_entry *e = entry(1000, "outage", "write failed: HTTP 503", 12);
    e->id = 7;
    struct tsr_buf rec = {0};
    tsr_ledger_serialize(e, &rec);
    struct tsr_ledger_entry *got = calloc(1, sizeof(*got));
    assert_int_equal(tsr_ledger_parse(rec.data, rec.len, got), 0);
    assert_int_equal(got->id, 7);
    assert_int_equal(got->from_ms, 1000);
    assert_int_equal(got->nparts, 12);
    assert_int_equal(got->from_offset[11], 1011);
    assert_string_equal(got->reason, "write failed: HTTP 503");
    assert_int_equal(tsr_ledger_parse(rec.data, 7, got), -1);
    assert_int_equal(tsr_ledger_parse(rec.data, rec.len - 1, got), -1);

    assert_int_equal(tsr_ledger_store(ck, "vm", got, f->err, sizeof(f->err)), 0);
    got->to_ms = 2000; /* closed by the coordinator: the newer copy replaces it */
    got->to_offset[3] = 42;
    assert_int_equal(tsr_ledger_store(ck, "vm", got, f->err, sizeof(f->err)), 0);
    memset(got, 0, sizeof(*got));
    assert_int_equal(tsr_ledger_get(ck, "vm", 7, got, f->err, sizeof(f->err)), 0);
    assert_int_equal(got->to_ms, 2000);
    assert_int_equal(got->to_offset[3], 42);
    assert_int_equal(tsr_ledger_get(ck, "vm", 8, got, f->err, sizeof(f->err)), 1);
    assert_int_equal(tsr_ledger_get(ck, "influx", 7, got, f->err, sizeof(f->err)), 1);
    assert_int_equal(ledger_open1(f, ck, "vm", 3000, 2), 8);

    tsr_buf_free(&rec);
    free(got);
    free(e);
    tsr_ckpt_close(&ck);
}

/* The metadata a forwarder commits with each position, as the fleet view and a relay
 * taking a partition over read it. */
static void test_commit_metadata(void **state)
{
    (void)state;
    int64_t ts = -1, sent = -1;
    char by[16] = "?";
    tsr_fleet_parse_meta("ts=1700000000123 sent=4711 by=node-a.dc1", &ts, &sent, by, sizeof(by));
    assert_int_equal(ts, 1700000000123);
    assert_int_equal(sent, 4711);
    assert_string_equal(by, "node-a.dc1");
    ts = sent = -1;
    tsr_fleet_parse_meta("", &ts, &sent, by, sizeof(by));
    assert_int_equal(ts, -1); /* absent: left as it was */
    assert_int_equal(sent, -1);
    tsr_fleet_parse_meta("ts=5 by=a-very-long-instance-name", &ts, &sent, by, sizeof(by));
    assert_int_equal(ts, 5);
    assert_int_equal(sent, -1);
    assert_string_equal(by, "a-very-long-ins"); /* cut to the buffer */
}

static void test_ledger_prefix_clusters(void **state)
{
    struct fixture *f = *state;
    struct tsr_ckpt *ck = open_store(f);
    const char *names[] = {"vm2", "vm", "v", "vm\x01", "vn", "vm-b"};
    struct tsr_ledger_entry *out = calloc(10, sizeof(*out));
    size_t n;

    for (int round = 1; round <= 3; round++)
        for (size_t c = 0; c < 6; c++)
            assert_int_equal(ledger_open1(f, ck, names[c], (int64_t)(c * 100 + round), 1), round);
    int64_t to[1] = {77};
    assert_int_equal(tsr_ledger_close(ck, "vm", 2, 9, 1, to, f->err, sizeof(f->err)), 0);

    for (size_t c = 0; c < 6; c++) {
        assert_int_equal(tsr_ledger_list(ck, names[c], out, 10, &n, f->err, sizeof(f->err)), 0);
        assert_int_equal(n, 3);
        for (size_t i = 0; i < 3; i++) {
            assert_int_equal(out[i].id, i + 1);
            assert_int_equal(out[i].from_ms, (int64_t)(c * 100 + i + 1));
            assert_int_equal(out[i].to_ms, (c == 1 && i == 1) ? 9 : 0);
        }
    }
    assert_int_equal(tsr_ledger_list(ck, "vm3", out, 10, &n, f->err, sizeof(f->err)), 0);
    assert_int_equal(n, 0);

    free(out);
    tsr_ckpt_close(&ck);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_topic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_cluster_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_after_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_mid_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_creates_dir_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_open_close_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_trim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_prefix_clusters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_board_round_trip, setup, teardown),
        cmocka_unit_test(test_commit_metadata),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

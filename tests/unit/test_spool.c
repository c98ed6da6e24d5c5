/* tests/unit/test_spool.c — the LMDB spool: appends made durable in groups and read back
 * in order with their headers, removals, reopening after a restart (records, counts and
 * the partition count survive), the size bound, and a commit that fails (the LMDB map
 * full) refusing its appends while what was committed before stays. Each test gets its
 * own directory under /tmp, removed afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <ftw.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay/kafka/kafka.h"
#include "relay/kafka/spool.h"

#define MiB ((int64_t)1 << 20)

struct fixture {
    char dir[64];
    char err[512];
    struct event_base *base;
    int done, failed;
    char why[200];
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    static int threads;
    if (!threads++) evthread_use_pthreads();
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f) return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_spool.XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    f->base = event_base_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    event_base_free(f->base);
    free(f);
    return 0;
}

static void on_done(void *opaque, int err, const char *why)
{
    struct fixture *f = opaque;
    f->done++;
    if (err) {
        f->failed++;
        snprintf(f->why, sizeof(f->why), "%s", why);
    }
}

/* Runs the loop until n done callbacks have run in all (5 s at most). */
static void wait_done(struct fixture *f, int n)
{
    for (int i = 0; i < 5000 && f->done < n; i++) {
        event_base_loop(f->base, EVLOOP_NONBLOCK);
        usleep(1000);
    }
    assert_int_equal(f->done, n);
}

struct seen {
    int n;
    uint64_t seq[64];
    int32_t partition[64];
    char db[64][16], rp[64][16], kind[64][16];
    char data[64][64];
};

static int collect(void *opaque, const struct tsr_spool_rec *r)
{
    struct seen *s = opaque;
    s->seq[s->n] = r->seq;
    s->partition[s->n] = r->partition;
    snprintf(s->db[s->n], 16, "%s", r->db ? r->db : "(null)");
    snprintf(s->rp[s->n], 16, "%s", r->rp ? r->rp : "(null)");
    snprintf(s->kind[s->n], 16, "%s", r->kind ? r->kind : "(null)");
    snprintf(s->data[s->n], 64, "%.*s", (int)r->len, r->data);
    s->n++;
    return 0;
}

static const char *payloads[] = {"a v=1 1\n", "b v=2 2\n", "c v=3 3\n", "d v=4 4\n"};

static void append_four(struct fixture *f, struct tsr_spool *s)
{
    const char *why;
    for (int i = 0; i < 4; i++) {
        struct tsr_kafka_hdrs h = {.db = "db", .rp = i == 1 ? "rp1" : NULL, .src = "http",
                                   .kind = i == 3 ? TSR_KAFKA_KIND_STATEMENT : NULL};
        assert_int_equal(tsr_spool_append(s, i, payloads[i], strlen(payloads[i]), &h, on_done, f,
                                          &why),
                         0);
    }
}

static void test_append_read_in_order(void **state)
{
    struct fixture *f = *state;
    struct tsr_spool *s;
    assert_int_equal(tsr_spool_open(f->dir, 64 * MiB, f->base, &s, f->err, sizeof(f->err)), 0);
    append_four(f, s);
    wait_done(f, 4);
    assert_int_equal(f->failed, 0);
    assert_int_equal(tsr_spool_records(s), 4);

    struct seen seen = {0};
    assert_int_equal(tsr_spool_read(s, 0, 100, collect, &seen), 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(seen.partition[i], i);
        assert_string_equal(seen.data[i], payloads[i]);
        assert_string_equal(seen.db[i], "db");
        if (i) assert_true(seen.seq[i] > seen.seq[i - 1]);
    }
    assert_string_equal(seen.rp[1], "rp1");
    assert_string_equal(seen.rp[0], "(null)");
    assert_string_equal(seen.kind[3], TSR_KAFKA_KIND_STATEMENT);

    /* From a sequence on, and at most max. */
    struct seen tail = {0};
    assert_int_equal(tsr_spool_read(s, seen.seq[2], 1, collect, &tail), 1);
    assert_string_equal(tail.data[0], payloads[2]);

    struct tsr_spool_stats st;
    tsr_spool_stats(s, &st);
    assert_int_equal(st.first_seq, seen.seq[0]);
    assert_true(st.oldest_ms > 0);
    assert_true(st.commits >= 1);
    assert_int_equal(st.appended, 4);
    tsr_spool_free(&s);
    assert_null(s);
}

static void test_remove_and_reopen(void **state)
{
    struct fixture *f = *state;
    struct tsr_spool *s;
    assert_int_equal(tsr_spool_open(f->dir, 64 * MiB, f->base, &s, f->err, sizeof(f->err)), 0);
    append_four(f, s);
    wait_done(f, 4);
    struct seen seen = {0};
    assert_int_equal(tsr_spool_read(s, 0, 100, collect, &seen), 4);
    int64_t bytes = tsr_spool_bytes(s);
    /* Removed out of order, as Kafka may confirm them. */
    tsr_spool_remove(s, seen.seq[2], strlen(payloads[2]));
    tsr_spool_remove(s, seen.seq[0], strlen(payloads[0]));
    tsr_spool_set_partitions(s, 12);
    assert_int_equal(tsr_spool_records(s), 2);
    for (int i = 0; i < 5000 && !tsr_spool_settled(s); i++) usleep(1000);
    assert_true(tsr_spool_settled(s));
    tsr_spool_free(&s);

    assert_int_equal(tsr_spool_open(f->dir, 64 * MiB, f->base, &s, f->err, sizeof(f->err)), 0);
    assert_int_equal(tsr_spool_records(s), 2);
    assert_true(tsr_spool_bytes(s) < bytes);
    assert_int_equal(tsr_spool_partitions(s), 12);
    struct seen left = {0};
    assert_int_equal(tsr_spool_read(s, 0, 100, collect, &left), 2);
    assert_string_equal(left.data[0], payloads[1]);
    assert_string_equal(left.data[1], payloads[3]);
    /* New appends follow the old ones. */
    const char *why;
    struct tsr_kafka_hdrs h = {.db = "db", .src = "graphite_tcp"};
    assert_int_equal(tsr_spool_append(s, 0, "e v=5 5\n", 8, &h, on_done, f, &why), 0);
    wait_done(f, 5);
    struct seen all = {0};
    assert_int_equal(tsr_spool_read(s, 0, 100, collect, &all), 3);
    assert_true(all.seq[2] > left.seq[1]);
    assert_string_equal(all.data[2], "e v=5 5\n");
    tsr_spool_free(&s);
}

static void test_bound(void **state)
{
    struct fixture *f = *state;
    struct tsr_spool *s;
    assert_int_equal(tsr_spool_open(f->dir, MiB, f->base, &s, f->err, sizeof(f->err)), 0);
    size_t n = 300 * 1024;
    char *big = malloc(n);
    memset(big, 'x', n);
    struct tsr_kafka_hdrs h = {.db = "db", .src = "http"};
    const char *why = NULL;
    int taken = 0;
    while (tsr_spool_append(s, 0, big, n, &h, on_done, f, &why) == 0) taken++;
    assert_int_equal(taken, 3);
    assert_non_null(strstr(why, "spool full"));
    wait_done(f, 3);
    assert_int_equal(f->failed, 0);
    /* Room again once one is removed. */
    struct seen seen = {0};
    assert_int_equal(tsr_spool_read(s, 0, 1, collect, &seen), 1);
    tsr_spool_remove(s, seen.seq[0], n + 64);
    assert_int_equal(tsr_spool_append(s, 0, big, n, &h, on_done, f, &why), 0);
    wait_done(f, 4);
    tsr_spool_free(&s);
    free(big);
}

/* A commit the file system refuses (here a file-size limit: EFBIG, as ENOSPC would be on
 * a full disk): its appends are refused with the reason, what was committed before stays,
 * and appends work again once there is room. */
static void test_commit_failure_keeps_committed(void **state)
{
    struct fixture *f = *state;
    struct tsr_spool *s;
    assert_int_equal(tsr_spool_open(f->dir, 64 * MiB, f->base, &s, f->err, sizeof(f->err)), 0);
    struct tsr_kafka_hdrs h = {.db = "db", .src = "http"};
    const char *why;
    assert_int_equal(tsr_spool_append(s, 0, "kept v=1 1\n", 11, &h, on_done, f, &why), 0);
    wait_done(f, 1);

    char path[128];
    snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)st.st_size + 64 * 1024;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    size_t n = 4 * MiB;
    char *big = malloc(n);
    memset(big, 'y', n);
    assert_int_equal(tsr_spool_append(s, 0, big, n, &h, on_done, f, &why), 0);
    wait_done(f, 2);
    assert_int_equal(f->failed, 1);
    assert_int_equal(tsr_spool_records(s), 1);
    setrlimit(RLIMIT_FSIZE, &old);

    assert_int_equal(tsr_spool_append(s, 0, big, n, &h, on_done, f, &why), 0);
    wait_done(f, 3);
    assert_int_equal(f->failed, 1);
    tsr_spool_free(&s);
    free(big);

    assert_int_equal(tsr_spool_open(f->dir, 64 * MiB, f->base, &s, f->err, sizeof(f->err)), 0);
    struct seen seen = {0};
    assert_int_equal(tsr_spool_read(s, 0, 1, collect, &seen), 1);
    assert_string_equal(seen.data[0], "kept v=1 1\n");
    assert_int_equal(tsr_spool_records(s), 2);
    tsr_spool_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_read_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_failure_keeps_committed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

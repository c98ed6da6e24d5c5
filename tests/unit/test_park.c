/* tests/unit/test_park.c — the table of parked keys (relay/deliver/park.c): adding and
 * finding keys per partition, the table's bound, handing partitions off, and the
 * commit-metadata round trip that carries parked keys to the next owner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "relay/deliver/park.h"

static void test_add_find(void **state)
{
    (void)state;
    struct tsr_park pk = {0};
    struct tsr_park_key *k = tsr_park_add(&pk, "good", "nope", "retention policy not found", 1000);
    assert_non_null(k);
    assert_int_equal(pk.n, 1);
    /* Parked, but on no partition yet: the lanes skip nothing. */
    assert_null(tsr_park_on(&pk, "good", "nope", 0));
    k->cursor[3] = 42;
    assert_ptr_equal(tsr_park_on(&pk, "good", "nope", 3), k);
    assert_null(tsr_park_on(&pk, "good", "nope", 2));
    assert_null(tsr_park_on(&pk, "good", "", 3));
    assert_null(tsr_park_on(&pk, "good", "nope", -1));
    assert_null(tsr_park_on(&pk, "good", "nope", TSR_CKPT_MAX_PARTITIONS));
    /* The same key twice is the one key. */
    assert_ptr_equal(tsr_park_add(&pk, "good", "nope", "other reason", 2000), k);
    assert_int_equal(pk.n, 1);
    assert_string_equal(k->reason, "retention policy not found");
    assert_int_equal(k->since_ms, 1000);
    tsr_park_remove(&pk, k);
    tsr_park_remove(&pk, k);
    assert_int_equal(pk.n, 0);
    assert_null(tsr_park_find(&pk, "good", "nope"));
}

static void test_bounded(void **state)
{
    (void)state;
    struct tsr_park pk = {0};
    char db[32];
    for (int i = 0; i < TSR_PARK_MAX; i++) {
        snprintf(db, sizeof(db), "db%d", i);
        assert_non_null(tsr_park_add(&pk, db, "", "database not found", 1));
    }
    assert_null(tsr_park_add(&pk, "one-more", "", "database not found", 1));
    assert_int_equal(pk.n, TSR_PARK_MAX);
    tsr_park_remove(&pk, tsr_park_find(&pk, "db5", ""));
    assert_non_null(tsr_park_add(&pk, "one-more", "", "database not found", 1));
}

static void test_drop_partition(void **state)
{
    (void)state;
    struct tsr_park pk = {0};
    struct tsr_park_key *a = tsr_park_add(&pk, "a", "", "r", 1);
    struct tsr_park_key *b = tsr_park_add(&pk, "b", "", "r", 1);
    a->cursor[0] = 10;
    a->cursor[1] = 11;
    b->cursor[1] = 5;
    tsr_park_drop_partition(&pk, 1);
    assert_int_equal(pk.n, 1);
    assert_ptr_equal(tsr_park_on(&pk, "a", "", 0), a);
    assert_null(tsr_park_on(&pk, "a", "", 1));
    assert_null(tsr_park_find(&pk, "b", ""));
}

/* Names with the metadata's separators and spaces survive the trip; the cursor and the
 * since time go along; a malformed entry is skipped without losing the good ones. */
static void test_meta_round_trip(void **state)
{
    (void)state;
    struct tsr_park pk = {0};
    struct tsr_park_key *a = tsr_park_add(&pk, "we ird/db@x%", "r p", "database not found", 777);
    struct tsr_park_key *b = tsr_park_add(&pk, "good", "nope", "retention policy not found", 888);
    struct tsr_park_key *c = tsr_park_add(&pk, "elsewhere", "", "database not found", 999);
    a->cursor[2] = 100;
    b->cursor[2] = 7;
    c->cursor[1] = 3;
    char meta[TSR_PARK_META_MAX] = "ts=5 sent=9";
    int n = tsr_park_meta(&pk, 2, meta, sizeof(meta));
    assert_true(n > 0);
    assert_int_equal(strlen(meta), strlen("ts=5 sent=9") + (size_t)n);
    assert_null(strstr(meta, "elsewhere"));
    assert_non_null(strstr(meta, " park=we%20ird%2Fdb%40x%25/r%20p@100@777"));
    assert_non_null(strstr(meta, " park=good/nope@7@888"));

    struct tsr_park back = {0};
    assert_int_equal(tsr_park_parse_meta(&back, 2, meta, 5000), 2);
    assert_int_equal(back.n, 2);
    struct tsr_park_key *ra = tsr_park_on(&back, "we ird/db@x%", "r p", 2);
    assert_non_null(ra);
    assert_int_equal(ra->cursor[2], 100);
    assert_int_equal(ra->since_ms, 777);
    assert_int_equal(ra->next_try_ms, 5000);
    struct tsr_park_key *rb = tsr_park_on(&back, "good", "nope", 2);
    assert_non_null(rb);
    assert_int_equal(rb->cursor[2], 7);

    struct tsr_park bad = {0};
    assert_int_equal(tsr_park_parse_meta(&bad, 0, "ts=1 park=nocursor park=x/y@-4@1 park=ok/@12@3", 1),
                     3);
    assert_int_equal(bad.n, 1);
    assert_int_equal(tsr_park_on(&bad, "ok", "", 0)->cursor[0], 12);
}

/* A commit that cannot hold another key leaves the metadata as it was and says so. */
static void test_meta_full(void **state)
{
    (void)state;
    struct tsr_park pk = {0};
    struct tsr_park_key *k = tsr_park_add(&pk, "a-long-database-name", "autogen", "r", 1);
    k->cursor[0] = 123456789;
    char meta[24] = "ts=1";
    assert_int_equal(tsr_park_meta(&pk, 0, meta, sizeof(meta)), -1);
    assert_string_equal(meta, "ts=1");
    char none[16] = "ts=1";
    assert_int_equal(tsr_park_meta(&pk, 1, none, sizeof(none)), 0);
    assert_string_equal(none, "ts=1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_find),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_drop_partition),
        cmocka_unit_test(test_meta_round_trip),
        cmocka_unit_test(test_meta_full),
    };
    return cmocka_run_group_tests_name("park", tests, NULL, NULL);
}

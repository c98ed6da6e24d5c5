/* tests/unit/test_influx_rules.c — InfluxDB's store-time refusals at ingest: the field
 * type cache (bounded, least recently used forgotten) and the messages, word for word
 * as InfluxDB 1.x gives them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "relay/ingest/fieldtypes.h"
#include "relay/ingest/influx_rules.h"
#include "relay/core/lineproto.h"

/* Checks `line` (raw line protocol, normalised first as the HTTP listener does). Returns
 * the rule's verdict; *why gets InfluxDB's reason on -1. */
static int check(struct tsr_influx_rules *ir, const char *db, const char *rp, const char *line,
                 char *why, size_t whylen)
{
    struct tsr_lp_opts o = {.now_ns = 1};
    struct tsr_lp_result res;
    struct tsr_buf out = {0}, w = {0};
    tsr_lp_parse_line(line, line + strlen(line), &o, &out, &res);
    assert_int_equal(res.status, TSR_LP_OK);
    int rc = tsr_influx_rules_check(ir, db, rp, out.data, out.len, &w);
    snprintf(why, whylen, "%.*s", (int)w.len, w.data ? w.data : "");
    tsr_buf_free(&out);
    tsr_buf_free(&w);
    return rc;
}

static struct tsr_config *config_with(int64_t max)
{
    struct tsr_config *cf = calloc(1, sizeof(*cf));
    assert_non_null(cf);
    cf->ingest_field_types_max = max;
    return cf;
}

static void test_conflicts(void **state)
{
    struct tsr_config *cf = config_with(1000);
    struct tsr_influx_rules *ir = tsr_influx_rules_new(cf);
    char why[512];

    assert_int_equal(check(ir, "db", NULL, "m v=1", why, sizeof(why)), 0);
    assert_int_equal(check(ir, "db", NULL, "m v=2 5", why, sizeof(why)), 0);
    assert_int_equal(check(ir, "db", NULL, "m v=1i", why, sizeof(why)), -1);
    assert_string_equal(why, "field type conflict: input field \"v\" on measurement \"m\" is "
                             "type integer, already exists as type float");
    /* every type by name */
    assert_int_equal(check(ir, "db", NULL, "m v=\"s\"", why, sizeof(why)), -1);
    assert_non_null(strstr(why, "is type string, already exists as type float"));
    assert_int_equal(check(ir, "db", NULL, "m v=true", why, sizeof(why)), -1);
    assert_non_null(strstr(why, "is type boolean"));
    assert_int_equal(check(ir, "db", NULL, "m v=3u", why, sizeof(why)), -1);
    assert_non_null(strstr(why, "is type unsigned"));
    /* another database, retention policy or measurement is another field */
    assert_int_equal(check(ir, "db2", NULL, "m v=1i", why, sizeof(why)), 0);
    assert_int_equal(check(ir, "db", "week", "m v=1i", why, sizeof(why)), 0);
    assert_int_equal(check(ir, "db", "", "m v=1i", why, sizeof(why)), -1); /* "" is NULL */
    assert_int_equal(check(ir, "db", NULL, "n v=1i", why, sizeof(why)), 0);
    /* tags do not matter */
    assert_int_equal(check(ir, "db", NULL, "m,host=a v=1i", why, sizeof(why)), -1);

    /* A refused point teaches nothing: its new field w stays free. */
    assert_int_equal(check(ir, "db", NULL, "m w=1i,v=1i", why, sizeof(why)), -1);
    assert_int_equal(check(ir, "db", NULL, "m w=\"x\"", why, sizeof(why)), 0);
    assert_int_equal(check(ir, "db", NULL, "m w=1i", why, sizeof(why)), -1);
    assert_non_null(strstr(why, "is type integer, already exists as type string"));
    tsr_influx_rules_free(&ir);
    assert_null(ir);
    free(cf);
    (void)state;
}

/* Names in the message are unescaped the way InfluxDB names them (checked against
 * InfluxDB 1.6: measurement "m,x y", field "f, =x"), and the escaped and unescaped
 * spellings of one name are one field. */
static void test_names_unescaped(void **state)
{
    struct tsr_config *cf = config_with(1000);
    struct tsr_influx_rules *ir = tsr_influx_rules_new(cf);
    char why[512];

    assert_int_equal(check(ir, "db", NULL, "m\\,x\\ y f\\,\\ \\=x=1", why, sizeof(why)), 0);
    assert_int_equal(check(ir, "db", NULL, "m\\,x\\ y f\\,\\ \\=x=1i", why, sizeof(why)), -1);
    assert_string_equal(why, "field type conflict: input field \"f, =x\" on measurement "
                             "\"m,x y\" is type integer, already exists as type float");
    assert_int_equal(check(ir, "db", NULL, "q a\\\"b=1", why, sizeof(why)), 0);
    assert_int_equal(check(ir, "db", NULL, "q a\"b=1i", why, sizeof(why)), -1);
    tsr_influx_rules_free(&ir);
    free(cf);
    (void)state;
}

static void test_off(void **state)
{
    struct tsr_config *cf = config_with(0);
    struct tsr_influx_rules *ir = tsr_influx_rules_new(cf);
    char why[64];
    assert_int_equal(check(ir, "db", NULL, "m v=1", why, sizeof(why)), 0);
    assert_int_equal(check(ir, "db", NULL, "m v=1i", why, sizeof(why)), 0);
    assert_int_equal(tsr_influx_rules_cached(ir), 0);
    tsr_influx_rules_free(&ir);
    free(cf);
    (void)state;
}

static void test_reasons(void **state)
{
    struct tsr_buf b = {0};
    static const char tag[] = "m\\ x,time=1 v=1";
    tsr_influx_rules_reason(TSR_LP_KIND_TIME_TAG, tag, sizeof(tag) - 1, &b);
    tsr_buf_putc(&b, '\0');
    assert_string_equal(b.data,
                        "invalid tag key: input tag \"time\" on measurement \"m x\" is invalid");
    b.len = 0;
    static const char fld[] = "  mymeas time=1 5";
    tsr_influx_rules_reason(TSR_LP_KIND_TIME_FIELD, fld, sizeof(fld) - 1, &b);
    tsr_buf_putc(&b, '\0');
    assert_string_equal(
        b.data, "invalid field name: input field \"time\" on measurement \"mymeas\" is invalid");
    tsr_buf_free(&b);
    (void)state;
}

static void test_no_unsigned(void **state)
{
    struct tsr_config *cf = config_with(0);
    struct tsr_cluster_conf cl[2] = {{.type = "victoriametrics"}, {.type = "influxdb2"}};
    cf->clusters = cl;
    cf->nclusters = 2;
    assert_false(tsr_influx_rules_no_unsigned(cf));
    cl[1].type = "influxdb";
    assert_true(tsr_influx_rules_no_unsigned(cf));
    cf->nclusters = 0;
    assert_false(tsr_influx_rules_no_unsigned(cf));
    free(cf);
    (void)state;
}

/* The cache never holds more than asked, forgets the least recently used of a full
 * bucket, and keeps a hot entry through any churn of others. */
static void test_cache_bounded(void **state)
{
    struct tsr_fieldtypes *ft = tsr_fieldtypes_new(64);
    char name[32];
    uint64_t hot = tsr_fieldtypes_key("db", "", "hot", 3, "v", 1);
    tsr_fieldtypes_put(ft, hot, TSR_LP_FLOAT);
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(name, sizeof(name), "m%d", i);
        tsr_fieldtypes_put(ft, tsr_fieldtypes_key("db", "", name, (size_t)n, "v", 1),
                           TSR_LP_INTEGER);
        assert_true(tsr_fieldtypes_count(ft) <= 64);
        if (i % 4 == 0) assert_int_equal(tsr_fieldtypes_get(ft, hot), TSR_LP_FLOAT);
    }
    assert_int_equal(tsr_fieldtypes_count(ft), 64);
    assert_int_equal(tsr_fieldtypes_evicted(ft), 100001 - 64);
    /* The most recent ones are still there, the oldest gone. */
    int n = snprintf(name, sizeof(name), "m%d", 99999);
    assert_int_equal(tsr_fieldtypes_get(ft, tsr_fieldtypes_key("db", "", name, (size_t)n, "v", 1)),
                     TSR_LP_INTEGER);
    n = snprintf(name, sizeof(name), "m%d", 0);
    assert_int_equal(tsr_fieldtypes_get(ft, tsr_fieldtypes_key("db", "", name, (size_t)n, "v", 1)),
                     0);
    /* Putting a known key again replaces its type, no new entry. */
    tsr_fieldtypes_put(ft, hot, TSR_LP_STRING);
    assert_int_equal(tsr_fieldtypes_count(ft), 64);
    assert_int_equal(tsr_fieldtypes_get(ft, hot), TSR_LP_STRING);
    tsr_fieldtypes_free(&ft);
    assert_null(ft);

    /* A tiny cache still works: one bucket of eight. */
    ft = tsr_fieldtypes_new(1);
    for (int i = 0; i < 20; i++)
        tsr_fieldtypes_put(ft, (uint64_t)i << 40, TSR_LP_BOOLEAN);
    assert_int_equal(tsr_fieldtypes_count(ft), 8);
    assert_int_equal(tsr_fieldtypes_get(ft, 19ULL << 40), TSR_LP_BOOLEAN);
    assert_int_equal(tsr_fieldtypes_get(ft, 0), 0);
    tsr_fieldtypes_free(&ft);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conflicts),   cmocka_unit_test(test_names_unescaped),
        cmocka_unit_test(test_off),         cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_no_unsigned), cmocka_unit_test(test_cache_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tests/unit/test_statement.c — recognising the CREATE DATABASE the relay forwards
 * (relay/ingest/statement.c), in the forms Telegraf and the client libraries send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "relay/ingest/statement.h"

static int parse(const char *q, char *db, char *stmt, char *err)
{
    return tsr_statement_create_database(q, db, 256, stmt, 512, err, 256);
}

static void test_forms(void **state)
{
    (void)state;
    char db[256], stmt[512], err[256];
    /* Telegraf's outputs.influxdb and the Python influxdb client. */
    assert_int_equal(parse("CREATE DATABASE \"telegraf\"", db, stmt, err), 0);
    assert_string_equal(db, "telegraf");
    assert_string_equal(stmt, "CREATE DATABASE \"telegraf\"");
    assert_int_equal(parse("  create database metrics ;  ", db, stmt, err), 0);
    assert_string_equal(db, "metrics");
    assert_string_equal(stmt, "create database metrics");
    assert_int_equal(parse("CREATE DATABASE \"we \\\"ird\\\\\"", db, stmt, err), 0);
    assert_string_equal(db, "we \"ird\\");
    /* InfluxDB's own clauses go along to the cluster. */
    assert_int_equal(parse("CREATE DATABASE d WITH DURATION 1w NAME one", db, stmt, err), 0);
    assert_string_equal(db, "d");
    assert_string_equal(stmt, "CREATE DATABASE d WITH DURATION 1w NAME one");
}

static void test_other_statements(void **state)
{
    (void)state;
    char db[256], stmt[512], err[256];
    assert_int_equal(parse("SHOW DATABASES", db, stmt, err), 1);
    assert_int_equal(parse("CREATE RETENTION POLICY r ON d DURATION 1w REPLICATION 1", db, stmt,
                           err),
                     1);
    assert_int_equal(parse("CREATED DATABASE x", db, stmt, err), 1);
    assert_int_equal(parse("", db, stmt, err), 1);
}

static void test_malformed(void **state)
{
    (void)state;
    char db[256], stmt[512], err[256];
    assert_int_equal(parse("CREATE DATABASE", db, stmt, err), -1);
    assert_non_null(strstr(err, "expected identifier"));
    assert_int_equal(parse("CREATE DATABASE \"open", db, stmt, err), -1);
    assert_int_equal(parse("CREATE DATABASE 9lives", db, stmt, err), -1);
    assert_int_equal(parse("CREATE DATABASE a b", db, stmt, err), -1);
    assert_non_null(strstr(err, "expected WITH"));
    assert_int_equal(parse("CREATE DATABASE a; DROP DATABASE b", db, stmt, err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_other_statements),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests_name("statement", tests, NULL, NULL);
}

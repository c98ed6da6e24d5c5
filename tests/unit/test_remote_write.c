/* tests/unit/test_remote_write.c — Prometheus remote write to and from line protocol
 * (relay/core/remote_write.c): the names, labels and values a receiver sees, and the
 * lines a remote-write body becomes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "relay/core/buf.h"
#include "relay/core/remote_write.h"

/* Encodes lp, decodes it again: the lines remote write carries back. */
static char *round_trip(const char *db, const char *lp, long *samples, long *skipped)
{
    struct tsr_buf rw = {0}, out = {0};
    *samples = tsr_remote_write_encode(db, lp, strlen(lp), &rw);
    const char *why = NULL;
    long n = tsr_remote_write_decode(rw.data, rw.len, 1 << 20, &out, skipped, &why);
    assert_true(n >= 0);
    tsr_buf_putc(&out, '\0');
    tsr_buf_free(&rw);
    return out.data;
}

static void test_names_labels_values(void **state)
{
    (void)state;
    long samples, skipped;
    /* Fields become MEASUREMENT_FIELD with the tags and db; the string field is left
     * out; a boolean is 1; whole values print without a fraction. */
    char *got = round_trip("telegraf",
                           "cpu,host=web\\ 1,region=eu usage=0.25,cores=8i,up=true,note=\"x\" "
                           "1700000000123000000\n",
                           &samples, &skipped);
    assert_int_equal(samples, 3);
    assert_int_equal(skipped, 0);
    assert_string_equal(
        got, "cpu_usage,db=telegraf,host=web\\ 1,region=eu value=0.25 1700000000123000000\n"
             "cpu_cores,db=telegraf,host=web\\ 1,region=eu value=8 1700000000123000000\n"
             "cpu_up,db=telegraf,host=web\\ 1,region=eu value=1 1700000000123000000\n");
    free(got);
    /* A point whose only field is value keeps its measurement as the metric name; a tag
     * named db gives way to the database; names are made valid for Prometheus. */
    got = round_trip("prom", "up-time,db=other,job=a value=1 1700000000000000000\n", &samples,
                     &skipped);
    assert_string_equal(got, "up_time,db=prom,job=a value=1 1700000000000000000\n");
    free(got);
}

static void test_values(void **state)
{
    (void)state;
    long samples, skipped;
    /* Short decimals in their fewest digits (0.1, not 0.10000000000000001), negative ones
     * and those below 1 with their zero; the rest with 17 digits, which read back the same
     * double. */
    char *got = round_trip("d",
                           "m a=0.1,b=-12.5,c=0.000125,d=3.14159,e=123456.75,f=0.30000000000000004,"
                           "g=-0.5,h=1e300 1000000\n",
                           &samples, &skipped);
    assert_int_equal(samples, 8);
    assert_string_equal(got, "m_a,db=d value=0.1 1000000\n"
                             "m_b,db=d value=-12.5 1000000\n"
                             "m_c,db=d value=0.000125 1000000\n"
                             "m_d,db=d value=3.14159 1000000\n"
                             "m_e,db=d value=123456.75 1000000\n"
                             "m_f,db=d value=0.30000000000000004 1000000\n"
                             "m_g,db=d value=-0.5 1000000\n"
                             "m_h,db=d value=1.0000000000000001e+300 1000000\n");
    free(got);
}

static void test_bad_bodies(void **state)
{
    (void)state;
    struct tsr_buf out = {0};
    long skipped;
    const char *why = NULL;
    assert_int_equal(
        tsr_remote_write_decode("not snappy at all", 17, 1 << 20, &out, &skipped, &why), -1);
    assert_non_null(why);
    /* Too large once decompressed. */
    struct tsr_buf rw = {0};
    const char *lp = "m v=1 1\nm v=2 2\n";
    tsr_remote_write_encode("d", lp, strlen(lp), &rw);
    assert_int_equal(tsr_remote_write_decode(rw.data, rw.len, 4, &out, &skipped, &why), -1);
    assert_string_equal(why, "request body too large after snappy decoding");
    tsr_buf_free(&rw);
    tsr_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_labels_values),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_bad_bodies),
    };
    return cmocka_run_group_tests_name("remote_write", tests, NULL, NULL);
}

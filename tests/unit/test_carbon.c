/* tests/unit/test_carbon.c — points as carbon's plaintext lines (relay/deliver/carbon.c):
 * the paths a template makes, the values and the seconds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "relay/core/buf.h"
#include "relay/deliver/carbon.h"

static void expect(const char *tmpl, const char *db, const char *lp, const char *want,
                   long want_strings)
{
    struct tsr_buf out = {0};
    long strings = -1;
    long n = tsr_carbon_encode(tmpl, db, lp, strlen(lp), &out, &strings);
    tsr_buf_putc(&out, '\0');
    long lines = 0;
    for (const char *p = want; *p; p++)
        lines += *p == '\n';
    if (strcmp(out.data, want) != 0) fail_msg("got:\n%s\nwant:\n%s", out.data, want);
    assert_int_equal(n, lines);
    assert_int_equal(strings, want_strings);
    tsr_buf_free(&out);
}

static void test_default_template(void **state)
{
    (void)state;
    /* Telegraf's default: the host first, the other tags' values in key order. */
    expect(TSR_CARBON_TEMPLATE, "db",
           "cpu,dc=east,host=h1,region=r1 usage=1.5,count=3i,big=7u,ok=t,no=false,msg=\"x y\" "
           "1700000000999999999\n",
           "h1.east.r1.cpu.usage 1.5 1700000000\n"
           "h1.east.r1.cpu.count 3 1700000000\n"
           "h1.east.r1.cpu.big 7 1700000000\n"
           "h1.east.r1.cpu.ok 1 1700000000\n"
           "h1.east.r1.cpu.no 0 1700000000\n",
           1);
    /* No host tag: that word is left out. */
    expect(TSR_CARBON_TEMPLATE, "db", "mem used=2 60000000000", "mem.used 2 60\n", 0);
}

static void test_words_and_names(void **state)
{
    (void)state;
    /* A field named value is the measurement's own; db; a tag by name. */
    expect("db.region.measurement.field", "prod", "load,host=a,region=eu value=0.5 2000000000\n",
           "prod.eu.load 0.5 2\n", 0);
    /* What a path cannot hold becomes '_': dots, spaces, commas, '=' and UTF-8. */
    expect("measurement.tags.field", "d",
           "disk\\ io,host=web.example.com,path=/var/lib x\\=y=1i 1000000000\n"
           "t\xc3\xa9,a=b f=1 0\n",
           "disk_io.web_example_com._var_lib.x_y 1 1\n"
           "t__.b.f 1 0\n",
           0);
    /* Timestamps before 1970 round down. */
    expect("measurement.field", "d", "m f=1 -1\n", "m.f 1 -1\n", 0);
    /* A string may hold a newline: it does not end the line. */
    expect("measurement.field", "d", "m s=\"a\nb\",f=1 1000000000\n", "m.f 1 1\n", 1);
    /* Several lines, empty ones skipped. */
    expect("measurement.field", "d", "a f=1 1000000000\n\nb g=2 2000000000", "a.f 1 1\nb.g 2 2\n",
           0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_template),
        cmocka_unit_test(test_words_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

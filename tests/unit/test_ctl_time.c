/* TIME arguments of tsrelayctl (replay/ctl_time.c): every accepted form against a fixed
 * "now", the errors operators will hit, and formatting that round-trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "replay/ctl_time.h"

/* 2026-11-23T05:00:00.000Z */
#define NOW 1795410000000LL
#define S   1000LL
#define MIN (60 * S)
#define H   (60 * MIN)
#define D   (24 * H)

static int64_t parse_ok(const char *s, int flags)
{
    int64_t ms = -12345;
    char err[256] = "";
    if (tsr_ctl_time_parse(s, NOW, flags, &ms, err, sizeof(err)) != 0)
        fail_msg("'%s' refused: %s", s, err);
    return ms;
}

static void parse_bad(const char *s, int flags, const char *want)
{
    int64_t ms = -12345;
    char err[256] = "";
    if (tsr_ctl_time_parse(s, NOW, flags, &ms, err, sizeof(err)) == 0)
        fail_msg("'%s' accepted as %lld", s, (long long)ms);
    assert_int_equal(ms, -12345); /* untouched on error */
    if (!strstr(err, want)) fail_msg("'%s': message '%s' lacks '%s'", s, err, want);
}

static void test_rfc3339(void **state)
{
    assert_int_equal(parse_ok("2026-11-23T05:00:00Z", 0), NOW);
    assert_int_equal(parse_ok("2026-11-23t05:00:00z", 0), NOW);
    assert_int_equal(parse_ok("2026-11-23 05:00:00Z", 0), NOW);
    /* Offsets: local time ahead of UTC by the offset. */
    assert_int_equal(parse_ok("2026-11-23T07:00:00+02:00", 0), NOW);
    assert_int_equal(parse_ok("2026-11-23T00:30:00-04:30", 0), NOW);
    assert_int_equal(parse_ok("2026-11-23T05:00:00+00:00", 0), NOW);
    assert_int_equal(parse_ok("2026-11-23T05:00:00-00:00", 0), NOW);
    /* Fractions: to milliseconds, truncated, any number of digits. */
    assert_int_equal(parse_ok("2026-11-23T05:00:00.5Z", 0), NOW + 500);
    assert_int_equal(parse_ok("2026-11-23T05:00:00.25Z", 0), NOW + 250);
    assert_int_equal(parse_ok("2026-11-23T05:00:00.123Z", 0), NOW + 123);
    assert_int_equal(parse_ok("2026-11-23T05:00:00.123999999Z", 0), NOW + 123);
    assert_int_equal(parse_ok("2026-11-23T07:00:00.001+02:00", 0), NOW + 1);
    /* Calendar edges. */
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z", 0), 0);
    assert_int_equal(parse_ok("2000-03-01T00:00:00Z", 0), 951868800000LL);
    assert_int_equal(parse_ok("2024-02-29T12:00:00Z", 0), 1709208000000LL);
    assert_int_equal(parse_ok("2026-12-31T23:59:59Z", 0), 1798761599000LL);
    assert_int_equal(parse_ok("2038-01-19T03:14:08Z", 0), 2147483648000LL);
    /* A leap second is the start of the next second. */
    assert_int_equal(parse_ok("2016-12-31T23:59:60Z", 0), 1483228800000LL);
}

static void test_rfc3339_errors(void **state)
{
    parse_bad("2026-11-23T05:00:00", 0, "missing time zone");
    parse_bad("2026-11-23", 0, "missing time of day and zone (like 2026-11-23T00:00:00Z)");
    parse_bad("2026-11-23T05:00Z", 0, "missing seconds");
    parse_bad("2026-13-01T00:00:00Z", 0, "month 13 out of range");
    parse_bad("2026-00-01T00:00:00Z", 0, "month 0 out of range");
    parse_bad("2026-02-29T00:00:00Z", 0, "day 29 out of range for 2026-02");
    parse_bad("2026-04-31T00:00:00Z", 0, "day 31 out of range");
    parse_bad("2026-11-23T24:00:00Z", 0, "time of day 24:00:00 out of range");
    parse_bad("2026-11-23T05:60:00Z", 0, "out of range");
    parse_bad("2026-11-23T05:00:61Z", 0, "out of range");
    parse_bad("2026-11-23T05:00:00+24:00", 0, "zone offset 24:00 out of range");
    parse_bad("2026-11-23T05:00:00+0200", 0, "not an RFC 3339 time");
    parse_bad("2026-11-23T05:00:00.Z", 0, "not an RFC 3339 time");
    parse_bad("2026-11-23T05:00:00Zjunk", 0, "not an RFC 3339 time");
    parse_bad("2026-11-23X05:00:00Z", 0, "not an RFC 3339 time");
    parse_bad("2026-1-23T05:00:00Z", 0, "not an RFC 3339 date");
    parse_bad("2026-11-23T5:00:00Z", 0, "not an RFC 3339 time");
}

static void test_relative(void **state)
{
    assert_int_equal(parse_ok("-2h", 0), NOW - 2 * H);
    assert_int_equal(parse_ok("-30m", 0), NOW - 30 * MIN);
    assert_int_equal(parse_ok("-90s", 0), NOW - 90 * S);
    assert_int_equal(parse_ok("-1d", 0), NOW - D);
    assert_int_equal(parse_ok("-1h30m", 0), NOW - H - 30 * MIN);
    assert_int_equal(parse_ok("-1d2h3m4s5ms", 0), NOW - D - 2 * H - 3 * MIN - 4 * S - 5);
    assert_int_equal(parse_ok("-500ms", 0), NOW - 500);
    assert_int_equal(parse_ok("-0s", 0), NOW);
    assert_int_equal(parse_ok("-36h", 0), NOW - 36 * H);
}

static void test_relative_errors(void **state)
{
    parse_bad("-", 0, "empty relative time");
    parse_bad("-2", 0, "missing unit after 2");
    parse_bad("-2x", 0, "unknown unit 'x'");
    parse_bad("-2hours", 0, "unknown unit 'hours'");
    parse_bad("-2H", 0, "unknown unit 'H'");
    parse_bad("-h", 0, "expected a number at 'h'");
    parse_bad("-30m1h", 0, "units out of order");
    parse_bad("-1h1h", 0, "units out of order");
    parse_bad("-1.5h", 0, "unknown unit '.5h'");
    parse_bad("-100000d", 0, "before 1970");
    parse_bad("-99999999999999999999d", 0, "before 1970");
    parse_bad("2h", 0, "relative times count back from now: write '-2h'");
    parse_bad("+2h", 0, "not a time");
}

static void test_words_and_numbers(void **state)
{
    assert_int_equal(parse_ok("now", 0), NOW);
    assert_int_equal(parse_ok("now", TSR_CTL_TIME_EARLIEST), NOW);
    assert_int_equal(parse_ok("earliest", TSR_CTL_TIME_EARLIEST), 0);
    parse_bad("earliest", 0, "'earliest' only makes sense for --since");
    assert_int_equal(parse_ok("1795410000000", 0), NOW);
    assert_int_equal(parse_ok("0", 0), 0);
    assert_int_equal(parse_ok("123", 0), 123);
    /* Ten digits are Unix seconds: refused with the fix in the message. */
    parse_bad("1795410000", 0, "looks like Unix seconds; give milliseconds (1795410000000)");
    parse_bad("99999999999999999999", 0, "out of range");
    parse_bad("", 0, "not a time");
    parse_bad("yesterday", 0, "not a time: use RFC 3339");
    parse_bad("yesterday", TSR_CTL_TIME_EARLIEST, "now, earliest, or Unix");
    parse_bad("NOW", 0, "not a time");
    parse_bad("12ab", 0, "not a time");
}

static void test_format(void **state)
{
    char buf[64];
    tsr_ctl_time_format(NOW, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-23T05:00:00Z");
    tsr_ctl_time_format(NOW + 250, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-23T05:00:00.250Z");
    tsr_ctl_time_format(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    tsr_ctl_time_format(-1, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    tsr_ctl_time_format(1709208000000LL, buf, sizeof(buf));
    assert_string_equal(buf, "2024-02-29T12:00:00Z");

    /* What format writes, parse reads back exactly, over a spread of instants. */
    for (int64_t ms = 0; ms < 4102444800000LL; ms += 7919LL * 3600 * 1000 + 12345) {
        int64_t back;
        char err[128];
        tsr_ctl_time_format(ms, buf, sizeof(buf));
        assert_int_equal(tsr_ctl_time_parse(buf, NOW, 0, &back, err, sizeof(err)), 0);
        assert_int_equal(back, ms);
    }
}

static void test_duration(void **state)
{
    static const struct {
        int64_t ms;
        const char *want;
    } cases[] = {
        {0, "0s"},
        {350, "350ms"},
        {1000, "1s"},
        {1500, "1s"},
        {59 * S, "59s"},
        {60 * S, "1m"},
        {90 * S, "1m30s"},
        {H, "1h"},
        {H + 30 * MIN, "1h30m"},
        {H + 5 * S, "1h5s"},
        {42 * MIN + 10 * S, "42m10s"},
        {D, "1d"},
        {D + 2 * H + 59 * S, "1d2h"},
        {-90 * S, "-1m30s"},
        {-5, "-5ms"},
        {INT64_MIN, "-106751991167d7h12m"},
    };
    char buf[64];
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        tsr_ctl_duration_format(cases[k].ms, buf, sizeof(buf));
        if (strcmp(buf, cases[k].want) != 0)
            fail_msg("%lld ms: got '%s', want '%s'", (long long)cases[k].ms, buf, cases[k].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339),           cmocka_unit_test(test_rfc3339_errors),
        cmocka_unit_test(test_relative),          cmocka_unit_test(test_relative_errors),
        cmocka_unit_test(test_words_and_numbers), cmocka_unit_test(test_format),
        cmocka_unit_test(test_duration),
    };
    return cmocka_run_group_tests_name("ctl_time", tests, NULL, NULL);
}

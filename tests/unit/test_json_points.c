/* tests/unit/test_json_points.c — JSON messages to line protocol (relay/ingest/json_points.c):
 * Telegraf's json parser's rules for fields, tags, names and times, the line protocol
 * escaping, and every error, each with the exact output or message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/core/buf.h"
#include "relay/ingest/json_points.h"

#define NOW 1700000000000000000LL /* 2023-11-14T22:13:20Z, the caller's default time */

static const char *const no_keys[] = {NULL};

static struct tsr_json_conf conf(const char *time_key, const char *time_format)
{
    return (struct tsr_json_conf){.measurement = "m",
                                  .name_key = "",
                                  .tag_keys = no_keys,
                                  .string_fields = no_keys,
                                  .time_key = time_key,
                                  .time_format = time_format};
}

static struct tsr_json_points *make(const struct tsr_json_conf *c)
{
    struct tsr_json_points *jp = NULL;
    char err[256] = "";
    if (tsr_json_points_new(c, &jp, err, sizeof err) != 0) fail_msg("new: %s", err);
    assert_non_null(jp);
    return jp;
}

/* Converts msg and checks the whole output and the number of points. */
static void expect(const struct tsr_json_points *jp, const char *msg, const char *want, long points)
{
    struct tsr_buf out = {0}, why = {0};
    long n = tsr_json_points_convert(jp, msg, strlen(msg), NOW, &out, &why);
    tsr_buf_putc(&out, '\0');
    tsr_buf_putc(&why, '\0');
    if (n != points || strcmp(out.data, want) != 0)
        fail_msg("%s\ngot %ld:\n%s\nwant %ld:\n%s\nwhy: %s", msg, n, out.data, points, want,
                 why.data);
    assert_int_equal(why.len, 1);
    tsr_buf_free(&out);
    tsr_buf_free(&why);
}

/* Converts msg, which must fail with exactly want_why and leave out as it was. */
static void expect_err(const struct tsr_json_points *jp, const char *msg, size_t len,
                       const char *want_why)
{
    struct tsr_buf out = {0}, why = {0};
    tsr_buf_puts(&out, "keep\n");
    tsr_buf_puts(&why, "why: ");
    long n = tsr_json_points_convert(jp, msg, len, NOW, &out, &why);
    tsr_buf_putc(&why, '\0');
    assert_int_equal(n, -1);
    assert_int_equal(out.len, 5);
    assert_memory_equal(out.data, "keep\n", 5);
    if (strncmp(why.data, "why: ", 5) != 0 || strcmp(why.data + 5, want_why) != 0)
        fail_msg("%s\ngot why: %s\nwant: %s", msg, why.data, want_why);
    tsr_buf_free(&out);
    tsr_buf_free(&why);
}

#define EXPECT_ERR(jp, msg, why) expect_err(jp, msg, strlen(msg), why)

/* The time of msg {"ts": <value>} under the given format. */
static void expect_time(const char *format, const char *value, const char *want_ns)
{
    struct tsr_json_conf c = conf("ts", format);
    struct tsr_json_points *jp = make(&c);
    char msg[256], want[256];
    snprintf(msg, sizeof msg, "{\"ts\": %s, \"v\": 1}", value);
    snprintf(want, sizeof want, "m v=1 %s\n", want_ns);
    expect(jp, msg, want, 1);
    tsr_json_points_free(&jp);
}

static void test_telegraf_sample(void **state)
{
    (void)state;
    /* Telegraf's own example for inputs.kafka_consumer with data_format = "json". */
    struct tsr_json_conf c = conf("", "");
    c.measurement = "kafka_consumer";
    struct tsr_json_points *jp = make(&c);
    expect(jp, "{\"pressure\": 3.2, \"temperature\": 21.5, \"visibility\": 80.1}",
           "kafka_consumer pressure=3.2,temperature=21.5,visibility=80.1 1700000000000000000\n", 1);
    /* A byte order mark is skipped, as Telegraf does. */
    expect(jp, "\xef\xbb\xbf{\"a\": 1}", "kafka_consumer a=1 1700000000000000000\n", 1);
    tsr_json_points_free(&jp);
    assert_null(jp);
    tsr_json_points_free(&jp); /* twice is fine */
}

static void test_numbers(void **state)
{
    (void)state;
    struct tsr_json_conf c = conf("", "");
    struct tsr_json_points *jp = make(&c);
    /* Floats as Go's FormatFloat(v, 'f', -1, 64) writes them: shortest, no exponent, no
     * 'i' (line protocol reads "80" as a float). Past 2^53 an integer is a float64. */
    expect(jp,
           "{\"i\": 80, \"neg\": -3, \"zero\": 0, \"r\": 3.2, \"small\": 0.1, \"tiny\": 1e-7, "
           "\"big\": 1e21, \"e\": 2.5E3, \"nz\": -0.0, \"third\": 0.30000000000000004, "
           "\"pi\": 3.141592653589793, \"i53\": 9007199254740993, \"neg53\": -9007199254740993, "
           "\"x\": 1000000000000000.2, \"n\": -12.625, \"us\": 0.000001}",
           "m i=80,neg=-3,zero=0,r=3.2,small=0.1,tiny=0.0000001,big=1000000000000000000000,"
           "e=2500,nz=-0,third=0.30000000000000004,pi=3.141592653589793,i53=9007199254740992,"
           "neg53=-9007199254740992,x=1000000000000000.2,n=-12.625,us=0.000001 "
           "1700000000000000000\n",
           1);
    /* An integer past int64 is still a number to Go (jansson refuses it as an integer). */
    expect(jp, "{\"huge\": 18446744073709551616, \"i\": 7}",
           "m huge=18446744073709552000,i=7 "
           "1700000000000000000\n",
           1);
    /* The extremes of float64 spelled out. */
    char want[800], *p = want;
    p += sprintf(p, "m max=17976931348623157");
    memset(p, '0', 292), p += 292;
    p += sprintf(p, ",min=0.");
    memset(p, '0', 323), p += 323;
    sprintf(p, "5 1700000000000000000\n");
    expect(jp, "{\"max\": 1.7976931348623157e308, \"min\": 5e-324}", want, 1);
    tsr_json_points_free(&jp);
}

static void test_tag_keys(void **state)
{
    (void)state;
    const char *tags[] = {"host", "port", "up", "dc*", "empty", "slash"};
    struct tsr_json_conf c = conf("", "");
    c.tag_keys = tags;
    c.ntag_keys = 6;
    struct tsr_json_points *jp = make(&c);
    /* Strings, numbers (FormatFloat again) and booleans under a tag key are tags; globs
     * match as in Telegraf; an empty value is left out and trailing backslashes are
     * dropped (line protocol cannot end a tag with one); other strings are left out. */
    expect(jp,
           "{\"host\": \"web 1\", \"port\": 8080, \"ratio\": 1.5, \"up\": true, "
           "\"dc_a\": \"eu=1,b\", \"host2\": \"x\", \"empty\": \"\", \"slash\": \"a\\\\\\\\\", "
           "\"v\": 2}",
           "m,host=web\\ 1,port=8080,up=true,dc_a=eu\\=1\\,b,slash=a ratio=1.5,v=2 "
           "1700000000000000000\n",
           1);
    expect(jp, "{\"port\": 1e21, \"dc\": 0.5, \"up\": false, \"v\": 1}",
           "m,port=1000000000000000000000,dc=0.5,up=false v=1 1700000000000000000\n", 1);
    /* A tag holding only backslashes is empty. */
    expect(jp, "{\"host\": \"\\\\\", \"v\": 1}", "m v=1 1700000000000000000\n", 1);
    /* Two keys that flatten to one tag key (the fuzzer found it): the later one wins,
     * as in Telegraf's map of tags; line protocol refuses a tag twice. */
    expect(jp, "{\"dc_x\": \"first\", \"host\": \"h\", \"dc\": {\"x\": \"second\"}, \"v\": 1}",
           "m,host=h,dc_x=second v=1 1700000000000000000\n", 1);
    tsr_json_points_free(&jp);
}

static void test_string_fields(void **state)
{
    (void)state;
    const char *strs[] = {"msg", "ok", "both", "nl"};
    const char *tags[] = {"both"};
    struct tsr_json_conf c = conf("", "");
    c.string_fields = strs;
    c.nstring_fields = 4;
    c.tag_keys = tags;
    c.ntag_keys = 1;
    struct tsr_json_points *jp = make(&c);
    /* Listed strings are quoted with '"' and '\' escaped; listed booleans are boolean
     * fields; unlisted strings and booleans are left out (Telegraf's README: "JSON strings
     * and booleans are ignored unless specified in the tag_key or json_string_fields");
     * a tag key wins over a string field; null is left out. */
    expect(jp,
           "{\"msg\": \"say \\\"hi\\\" C:\\\\\", \"ok\": true, \"no\": false, \"s\": \"x\", "
           "\"both\": \"t\", \"null\": null, \"v\": 1}",
           "m,both=t msg=\"say \\\"hi\\\" C:\\\\\",ok=true,v=1 1700000000000000000\n", 1);
    /* A string field may hold a newline: line protocol quotes it. */
    expect(jp, "{\"nl\": \"a\\nb\"}", "m nl=\"a\nb\" 1700000000000000000\n", 1);
    expect(jp, "{\"ok\": false}", "m ok=false 1700000000000000000\n", 1);
    tsr_json_points_free(&jp);
}

static void test_name_key(void **state)
{
    (void)state;
    struct tsr_json_conf c = conf("", "");
    c.name_key = "name";
    struct tsr_json_points *jp = make(&c);
    expect(jp, "{\"name\": \"cpu load,x\", \"v\": 1}", "cpu\\ load\\,x v=1 1700000000000000000\n",
           1);
    /* Missing or empty: the configured measurement. Not a string: a field, as in Telegraf. */
    expect(jp, "{\"v\": 1}", "m v=1 1700000000000000000\n", 1);
    expect(jp, "{\"name\": \"\", \"v\": 1}", "m v=1 1700000000000000000\n", 1);
    expect(jp, "{\"name\": 5, \"v\": 1}", "m name=5,v=1 1700000000000000000\n", 1);
    /* Each object of an array names its own. */
    expect(jp, "[{\"name\": \"a\", \"v\": 1}, {\"v\": 2}, {\"name\": \"b\", \"v\": 3}]",
           "a v=1 1700000000000000000\nm v=2 1700000000000000000\nb v=3 1700000000000000000\n", 3);
    tsr_json_points_free(&jp);

    /* Without a measurement every object must name itself. */
    c.measurement = "";
    jp = make(&c);
    expect(jp, "{\"name\": \"a\", \"v\": 1}", "a v=1 1700000000000000000\n", 1);
    EXPECT_ERR(jp, "[{\"name\": \"a\", \"v\": 1}, {\"v\": 2}]",
               "object 2: no measurement: name key 'name' missing or empty");
    tsr_json_points_free(&jp);
}

static void test_flatten(void **state)
{
    (void)state;
    const char *tags[] = {"meta_host"};
    const char *strs[] = {"list_2"};
    struct tsr_json_conf c = conf("", "");
    c.tag_keys = tags;
    c.ntag_keys = 1;
    c.string_fields = strs;
    c.nstring_fields = 1;
    struct tsr_json_points *jp = make(&c);
    /* Objects with '_', arrays by index, objects in arrays too; the flattened key is what
     * tag_keys and string_fields name. */
    expect(
        jp,
        "{\"a\": {\"b\": 1, \"c\": {\"d\": 2}}, \"e\": [1, {\"f\": 3}, [4, 5]], "
        "\"meta\": {\"host\": \"h1\"}, \"list\": [true, null, \"s\"], \"none\": {}, \"nil\": []}",
        "m,meta_host=h1 a_b=1,a_c_d=2,e_0=1,e_1_f=3,e_2_0=4,e_2_1=5,list_2=\"s\" "
        "1700000000000000000\n",
        1);
    /* Go's flattener joins with '_' only under a non-empty parent. */
    expect(jp, "{\"\": {\"x\": 1}, \"a\": {\"\": 2}}", "m x=1,a_=2 1700000000000000000\n", 1);
    /* A duplicate key: the last one, as Go's decoder keeps. */
    expect(jp, "{\"a\": 1, \"a\": 2}", "m a=2 1700000000000000000\n", 1);
    /* The longest key allowed: 256 bytes. */
    char msg[600], want[600];
    memset(want, 0, sizeof want);
    memcpy(want, "m ", 2);
    memset(want + 2, 'k', 250);
    memcpy(want + 252, "_x_0_y=1 1700000000000000000\n", 30);
    snprintf(msg, sizeof msg, "{\"%.250s\": {\"x\": [{\"y\": 1}]}}", want + 2);
    expect(jp, msg, want, 1);
    tsr_json_points_free(&jp);
}

static void test_array_of_objects(void **state)
{
    (void)state;
    const char *tags[] = {"t"};
    struct tsr_json_conf c = conf("", "");
    c.tag_keys = tags;
    c.ntag_keys = 1;
    struct tsr_json_points *jp = make(&c);
    expect(jp, "[{\"a\": 1}, {\"b\": 2, \"t\": \"x\"}, {\"c\": {\"d\": 3}}]",
           "m a=1 1700000000000000000\nm,t=x b=2 1700000000000000000\nm c_d=3 "
           "1700000000000000000\n",
           3);
    expect(jp, " [ {\"a\": 1} ] \n", "m a=1 1700000000000000000\n", 1);
    tsr_json_points_free(&jp);
}

static void test_time_unix(void **state)
{
    (void)state;
    expect_time("unix", "1700000001", "1700000001000000000");
    expect_time("unix", "0", "0");
    /* A real is read from its shortest decimal form, not multiplied as a double. */
    expect_time("unix", "1700000000.123456", "1700000000123456000");
    expect_time("unix", "1136239445.34", "1136239445340000000");
    expect_time("unix", "1.7e9", "1700000000000000000");
    /* A string exactly, to the nanosecond; ',' works too; digits past nine are dropped. */
    expect_time("unix", "\"1700000000.123456789\"", "1700000000123456789");
    expect_time("unix", "\"1700000000,5\"", "1700000000500000000");
    expect_time("unix", "\"1700000000.1234567899\"", "1700000000123456789");
    expect_time("unix", "\"1700000000.\"", "1700000000000000000");
    expect_time("unix", "\"+5\"", "5000000000");
    expect_time("unix", "\"-1.5\"", "-1500000000");
    expect_time("unix", "-1.5", "-1500000000");
}

static void test_time_units(void **state)
{
    (void)state;
    expect_time("unix_ms", "1700000000123", "1700000000123000000");
    expect_time("unix_ms", "\"1700000000123\"", "1700000000123000000");
    /* A fraction of the unit, down to the nanosecond (Telegraf 1.37 does the same). */
    expect_time("unix_ms", "1700000000123.9", "1700000000123900000");
    expect_time("unix_ms", "\"1700000000123,456789\"", "1700000000123456789");
    expect_time("unix_us", "\"1700000000123456.7899\"", "1700000000123456789");
    expect_time("unix_ns", "\"1700000000123456789.9\"", "1700000000123456789");
    expect_time("unix_us", "1700000000123456", "1700000000123456000");
    expect_time("unix_us", "\"1700000000123456\"", "1700000000123456000");
    /* jansson keeps integers exact, so nanoseconds survive. */
    expect_time("unix_ns", "1700000000123456789", "1700000000123456789");
    expect_time("unix_ns", "\"1700000000123456789\"", "1700000000123456789");
    expect_time("unix_ns", "-1", "-1");
}

static void test_time_rfc3339(void **state)
{
    (void)state;
    expect_time("rfc3339", "\"2026-12-07T10:00:00Z\"", "1796637600000000000");
    expect_time("rfc3339", "\"2026-12-07T10:00:00.123456789+01:00\"", "1796634000123456789");
    expect_time("rfc3339", "\"2026-12-07T10:00:00.5-07:00\"", "1796662800500000000");
    expect_time("RFC3339Nano", "\"2026-12-07T10:00:00.000000001Z\"", "1796637600000000001");
    expect_time("rfc3339", "\"2024-02-29T00:00:00Z\"", "1709164800000000000");
    expect_time("rfc3339", "\"1969-12-31T23:59:59Z\"", "-1000000000");
}

static void test_time_layouts(void **state)
{
    (void)state;
    /* No zone in the layout: UTC. A fraction after the seconds is read even when the
     * layout has none, as Go does. */
    expect_time("2006-01-02 15:04:05", "\"2026-12-07 10:00:00\"", "1796637600000000000");
    expect_time("2006-01-02 15:04:05", "\"2026-12-07 10:00:00.5\"", "1796637600500000000");
    /* A zone and a fixed fraction. */
    expect_time("2006-01-02T15:04:05.000-0700", "\"2026-12-07T10:00:00.123-0700\"",
                "1796662800123000000");
    expect_time("02/01/2006 15:04:05,000 -07:00", "\"07/12/2026 15:04:05,250 -07:00\"",
                "1796681045250000000");
    expect_time("2006-01-02 15:04:05.999999999 Z07:00", "\"2026-12-07 10:00:00 Z\"",
                "1796637600000000000");
    expect_time("2006-01-02 15:04:05 -07", "\"2026-12-07 17:00:00 +07\"", "1796637600000000000");
    /* Telegraf's README example with a two-digit year; the zone names whose offset is
     * certain. */
    expect_time("02 Jan 06 15:04 MST", "\"04 Jan 06 15:04 UTC\"", "1136387040000000000");
    expect_time("rfc822", "\"11 Jan 07 15:04 GMT\"", "1168527840000000000");
    expect_time("rfc1123", "\"Thu, 11 Jan 2007 15:04:00 Z\"", "1168527840000000000");
    /* Names, a 12-hour clock and a weekday (read and ignored), case-insensitive names. */
    expect_time("Monday, January 2, 2006 3:04:05.999 PM Z07:00",
                "\"Monday, december 7, 2026 3:04:05.25 PM Z\"", "1796655845250000000");
    expect_time("Jan 2 2006 3:04pm", "\"Dec 7 2026 12:30am\"", "1796603400000000000");
    expect_time("Jan 2 2006 3:04pm", "\"Dec 7 2026 12:30pm\"", "1796646600000000000");
    /* No year: Telegraf moves it to this year, here the year of the default time. */
    expect_time("stamp", "\"Dec  7 10:00:00\"", "1701943200000000000");
    expect_time("Jan _2 15:04:05", "\"Dec 17 10:00:00\"", "1702807200000000000");
    expect_time("15:04", "\"10:00\"", "1672567200000000000");
}

static void test_escaping(void **state)
{
    (void)state;
    const char *tags[] = {"a b", "k=v,w"};
    const char *strs[] = {"s"};
    struct tsr_json_conf c = conf("", "");
    c.measurement = "my meas,x=y";
    c.tag_keys = tags;
    c.ntag_keys = 2;
    c.string_fields = strs;
    c.nstring_fields = 1;
    struct tsr_json_points *jp = make(&c);
    /* Measurement: ',' and ' '; tag keys, tag values, field keys: ',', '=' and ' '; string
     * values: '"' and '\'. UTF-8 passes through. */
    expect(
        jp,
        "{\"a b\": \"c,d=e f\", \"k=v,w\": \"\\u00e9\", \"f=g h,i\": 1, \"s\": \"q\\\"\\\\,= \", "
        "\"back\\\\slash\": 2}",
        "my\\ meas\\,x=y,a\\ b=c\\,d\\=e\\ f,k\\=v\\,w=\xc3\xa9 f\\=g\\ h\\,i=1,s=\"q\\\"\\\\,= \","
        "back\\slash=2 1700000000000000000\n",
        1);
    /* A field key of only backslashes cannot be written: the field is left out. */
    expect(jp, "{\"\\\\\": 1, \"v\": 2}", "my\\ meas\\,x=y v=2 1700000000000000000\n", 1);
    /* Nor can a backslash before what gets escaped: the parser would read it as the escape. */
    EXPECT_ERR(jp, "{\"a\\\\=b\": 1}",
               "object 1: field key 'a\\=b' holds a backslash before ',', '=', ' ' or '\\'");
    EXPECT_ERR(jp, "{\"a b\": \"x\\\\\\\\y\", \"v\": 1}",
               "object 1: tag 'a b' has a value holding a backslash before ',', '=', ' ' or '\\'");
    /* A field named time is dropped, as InfluxDB drops it; a first field key starting with
     * a tab would be skipped as a separator. */
    expect(jp, "{\"time\": 5, \"v\": 2}", "my\\ meas\\,x=y v=2 1700000000000000000\n", 1);
    EXPECT_ERR(jp, "{\"time\": 5}", "object 1: no fields");
    EXPECT_ERR(jp, "{\"\\tv\": 1}", "object 1: field key '\tv' starts with a tab, which line protocol skips");
    tsr_json_points_free(&jp);
    /* A measurement starting with '#' would be a comment line. */
    c.measurement = "m";
    c.name_key = "n";
    jp = make(&c);
    EXPECT_ERR(jp, "{\"n\": \"#x\", \"v\": 1}",
               "object 1: measurement '#x' starts with '#', which line protocol reads as a comment");
    tsr_json_points_free(&jp);
}

static void test_invalid_json(void **state)
{
    (void)state;
    struct tsr_json_conf c = conf("", "");
    struct tsr_json_points *jp = make(&c);
    EXPECT_ERR(jp, "{\"a\": 1,\n \"b\": x}",
               "invalid JSON at line 2, column 7: invalid token near 'x'");
    EXPECT_ERR(jp, "{\"a\":1,}",
               "invalid JSON at line 1, column 8: string or '}' expected near '}'");
    EXPECT_ERR(jp, "{\"a\": 1} x",
               "invalid JSON at line 1, column 10: end of file expected near 'x'");
    EXPECT_ERR(jp, "", "invalid JSON at line 1, column 0: unexpected token near end of file");
    EXPECT_ERR(jp, "{\"a\": 1e400}",
               "invalid JSON at line 1, column 11: real number overflow near '1e400'");
    EXPECT_ERR(jp, "{\"a\": \"\\u0000\"}",
               "invalid JSON at line 1, column 14: \\u0000 is not allowed without JSON_ALLOW_NUL "
               "near '\"\\u0000\"'");
    expect_err(jp, "{\"a\": 1}\0", 9,
               "invalid JSON at line 1, column 9: end of file expected near end of file");
    EXPECT_ERR(jp, "5", "top level must be an object or an array of objects");
    EXPECT_ERR(jp, "\"s\"", "top level must be an object or an array of objects");
    EXPECT_ERR(jp, "[]", "empty array: no objects");
    EXPECT_ERR(jp, "[{\"a\": 1}, 5]", "object 2: array element is a number, not an object");
    EXPECT_ERR(jp, "[[{\"a\": 1}]]", "object 1: array element is an array, not an object");
    EXPECT_ERR(jp, "[{\"a\": 1}, {\"b\": 2}, null]",
               "object 3: array element is null, not an object");
    tsr_json_points_free(&jp);
}

static void test_object_errors(void **state)
{
    (void)state;
    const char *tags[] = {"t"};
    const char *strs[] = {"s"};
    struct tsr_json_conf c = conf("", "");
    c.tag_keys = tags;
    c.ntag_keys = 1;
    c.string_fields = strs;
    c.nstring_fields = 1;
    c.name_key = "name";
    struct tsr_json_points *jp = make(&c);
    EXPECT_ERR(jp, "{}", "object 1: no fields");
    EXPECT_ERR(jp, "{\"t\": \"x\", \"str\": \"y\", \"n\": null, \"b\": true, \"\": 1}",
               "object 1: no fields");
    /* The earlier objects' lines are taken back too. */
    EXPECT_ERR(jp, "[{\"a\": 1}, {\"b\": 2}, {\"o\": {}}]", "object 3: no fields");
    EXPECT_ERR(jp, "[{\"a\": 1}, {\"t\": \"x\\ny\", \"v\": 1}]",
               "object 2: tag 't' has a value holding a newline");
    EXPECT_ERR(jp, "{\"t\": \"x\\r\", \"v\": 1}",
               "object 1: tag 't' has a value holding a newline");
    EXPECT_ERR(jp, "{\"a\\nb\": 1}", "object 1: field key 'a\\nb' holds a newline");
    EXPECT_ERR(jp, "{\"name\": \"cpu\\n\", \"v\": 1}",
               "object 1: measurement 'cpu\\n' holds a newline");
    char msg[600], want[200];
    char k[300];
    memset(k, 'k', 257);
    k[257] = '\0';
    snprintf(msg, sizeof msg, "{\"%s\": 1}", k);
    snprintf(want, sizeof want, "object 1: key '%.64s...' is too long (over 256 bytes)", k);
    EXPECT_ERR(jp, msg, want);
    snprintf(msg, sizeof msg, "[{\"v\": 1}, {\"a\": {\"%.255s\": 1}}]", k);
    snprintf(want, sizeof want, "object 2: key 'a_%.62s...' is too long (over 256 bytes)", k);
    EXPECT_ERR(jp, msg, want);
    tsr_json_points_free(&jp);

    /* A tag key that flattening made from a newline. */
    const char *nltags[] = {"a\nb"};
    c.tag_keys = nltags;
    jp = make(&c);
    EXPECT_ERR(jp, "{\"a\\nb\": \"x\", \"v\": 1}", "object 1: tag key 'a\\nb' holds a newline");
    tsr_json_points_free(&jp);
}

static void test_time_errors(void **state)
{
    (void)state;
    struct tsr_json_conf c = conf("ts", "unix");
    struct tsr_json_points *jp = make(&c);
    EXPECT_ERR(jp, "[{\"ts\": 1, \"v\": 1}, {\"ts\": 2, \"v\": 1}, {\"v\": 1}]",
               "object 3: time key 'ts' missing");
    EXPECT_ERR(jp, "{\"ts\": null, \"v\": 1}", "object 1: time key 'ts' missing");
    EXPECT_ERR(jp, "{\"ts\": {\"s\": 1}, \"v\": 1}", "object 1: time key 'ts' missing");
    EXPECT_ERR(jp, "{\"ts\": \"abc\", \"v\": 1}", "object 1: time 'abc' is not a unix time");
    EXPECT_ERR(jp, "{\"ts\": \"\", \"v\": 1}", "object 1: time '' is not a unix time");
    EXPECT_ERR(jp, "{\"ts\": \".5\", \"v\": 1}", "object 1: time '.5' is not a unix time");
    EXPECT_ERR(jp, "{\"ts\": \"1 \", \"v\": 1}", "object 1: time '1 ' is not a unix time");
    EXPECT_ERR(jp, "{\"ts\": true, \"v\": 1}",
               "object 1: time under 'ts' is a boolean, not a number or a string");
    EXPECT_ERR(jp, "{\"ts\": 9300000000, \"v\": 1}", "object 1: time '9300000000' is out of range");
    EXPECT_ERR(jp, "{\"ts\": \"99999999999999999999\", \"v\": 1}",
               "object 1: time '99999999999999999999' is out of range");
    /* The time is taken out of the fields, so a message of only a time has none. */
    EXPECT_ERR(jp, "{\"ts\": 1}", "object 1: no fields");
    tsr_json_points_free(&jp);

    c = conf("ts", "unix_ms");
    jp = make(&c);
    EXPECT_ERR(jp, "{\"ts\": \"1e3\", \"v\": 1}", "object 1: time '1e3' is not a unix_ms time");
    tsr_json_points_free(&jp);

    c = conf("ts", "2006-01-02 15:04:05");
    jp = make(&c);
    EXPECT_ERR(jp,
               "[{\"ts\": \"2026-12-07 10:00:00\", \"v\": 1}, {\"ts\": \"2026-12-07T10:00:00\", "
               "\"v\": 1}]",
               "object 2: time '2026-12-07T10:00:00' does not match layout '2006-01-02 15:04:05'");
    EXPECT_ERR(
        jp, "{\"ts\": \"2026-12-07 10:00:00 extra\", \"v\": 1}",
        "object 1: time '2026-12-07 10:00:00 extra' does not match layout '2006-01-02 15:04:05'");
    EXPECT_ERR(jp, "{\"ts\": \"2026-2-07 10:00:00\", \"v\": 1}",
               "object 1: time '2026-2-07 10:00:00' does not match layout '2006-01-02 15:04:05'");
    EXPECT_ERR(jp, "{\"ts\": \"2026-12-32 10:00:00\", \"v\": 1}",
               "object 1: time '2026-12-32 10:00:00' is out of range");
    EXPECT_ERR(jp, "{\"ts\": \"2023-02-29 10:00:00\", \"v\": 1}",
               "object 1: time '2023-02-29 10:00:00' is out of range");
    EXPECT_ERR(jp, "{\"ts\": \"2026-12-07 24:00:00\", \"v\": 1}",
               "object 1: time '2026-12-07 24:00:00' is out of range");
    EXPECT_ERR(jp, "{\"ts\": \"2300-01-01 00:00:00\", \"v\": 1}",
               "object 1: time '2300-01-01 00:00:00' is out of range");
    EXPECT_ERR(jp, "{\"ts\": 1700000000, \"v\": 1}",
               "object 1: time under 'ts' is a number, not a string");
    tsr_json_points_free(&jp);

    c = conf("ts", "rfc3339");
    jp = make(&c);
    EXPECT_ERR(jp, "{\"ts\": \"2026-12-07T10:00:00\", \"v\": 1}",
               "object 1: time '2026-12-07T10:00:00' does not match layout 'rfc3339'");
    EXPECT_ERR(jp, "{\"ts\": \"2026-12-07T10:00:00+1:00\", \"v\": 1}",
               "object 1: time '2026-12-07T10:00:00+1:00' does not match layout 'rfc3339'");
    tsr_json_points_free(&jp);

    /* A zone name whose offset is not certain: Go reads MST as UTC+0, Telegraf 1.37 as
     * UTC-7 through the tz database; refused rather than guessed. */
    c = conf("ts", "02 Jan 06 15:04 MST");
    jp = make(&c);
    EXPECT_ERR(jp, "{\"ts\": \"04 Jan 06 15:04 MST\", \"v\": 1}",
               "object 1: time '04 Jan 06 15:04 MST' does not match layout '02 Jan 06 15:04 MST' "
               "(a zone name must be UTC, GMT or Z)");
    tsr_json_points_free(&jp);

    c = conf("ts", "2006-01-02T15:04:05.000Z");
    jp = make(&c);
    EXPECT_ERR(jp, "{\"ts\": \"2026-12-07T10:00:00.12Z\", \"v\": 1}",
               "object 1: time '2026-12-07T10:00:00.12Z' does not match layout "
               "'2006-01-02T15:04:05.000Z'");
    tsr_json_points_free(&jp);
}

static void expect_new_err(const struct tsr_json_conf *c, const char *want)
{
    struct tsr_json_points *jp = (struct tsr_json_points *)1;
    char err[256] = "";
    assert_int_equal(tsr_json_points_new(c, &jp, err, sizeof err), -1);
    assert_null(jp);
    assert_string_equal(err, want);
}

static void test_new_errors(void **state)
{
    (void)state;
    struct tsr_json_conf c = conf("", "");
    c.measurement = "";
    expect_new_err(&c, "measurement is empty and there is no name_key");
    c.measurement = "a\nb";
    expect_new_err(&c, "measurement holds a newline");
    c = conf("ts", "");
    expect_new_err(&c, "time_key 'ts' needs a time_format");
    c = conf("ts", "seconds");
    expect_new_err(&c, "time_format 'seconds' is neither unix, unix_ms, unix_us, unix_ns, rfc3339 "
                       "nor a Go layout with a date or an hour (such as 2006-01-02 15:04:05)");
    c = conf("ts", "04:05 Mon MST");
    expect_new_err(&c,
                   "time_format '04:05 Mon MST' is neither unix, unix_ms, unix_us, unix_ns, "
                   "rfc3339 nor a Go layout with a date or an hour (such as 2006-01-02 15:04:05)");
    c = conf("ts", "2006.002");
    expect_new_err(&c, "time_format '2006.002': day of year (002) is not supported");
    const char *tags[] = {"a", ""};
    c = conf("", "");
    c.tag_keys = tags;
    c.ntag_keys = 2;
    expect_new_err(&c, "tag_keys and string_fields cannot hold an empty key");

    /* The conf's strings are copied. */
    char meas[] = "cpu", key[] = "ts", fmt[] = "unix", tag[] = "h";
    const char *tagv[] = {tag};
    c = conf(key, fmt);
    c.measurement = meas;
    c.tag_keys = tagv;
    c.ntag_keys = 1;
    struct tsr_json_points *jp = make(&c);
    meas[0] = key[0] = fmt[0] = tag[0] = 'x';
    expect(jp, "{\"ts\": 2, \"h\": \"a\", \"v\": 1}", "cpu,h=a v=1 2000000000\n", 1);
    tsr_json_points_free(&jp);
    /* A time format without a time key is still checked, and then unused. */
    c = conf("", "2006-01-02");
    jp = make(&c);
    expect(jp, "{\"v\": 1}", "m v=1 1700000000000000000\n", 1);
    tsr_json_points_free(&jp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_telegraf_sample),  cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_tag_keys),         cmocka_unit_test(test_string_fields),
        cmocka_unit_test(test_name_key),         cmocka_unit_test(test_flatten),
        cmocka_unit_test(test_array_of_objects), cmocka_unit_test(test_time_unix),
        cmocka_unit_test(test_time_units),       cmocka_unit_test(test_time_rfc3339),
        cmocka_unit_test(test_time_layouts),     cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_invalid_json),     cmocka_unit_test(test_object_errors),
        cmocka_unit_test(test_time_errors),      cmocka_unit_test(test_new_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

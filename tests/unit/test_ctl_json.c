/* The JSON reader of tsrelayctl (replay/ctl_json.c): what it accepts, what it refuses
 * and with which message, how strings and numbers decode, and the lookup API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/ctl_json.h"

static struct tsr_jsonr *parse_ok(const char *text)
{
    struct tsr_jsonr *v = NULL;
    char err[256] = "";
    int rc = tsr_jsonr_parse(text, strlen(text), &v, err, sizeof(err));
    if (rc != 0) fail_msg("parse of '%s' failed: %s", text, err);
    assert_non_null(v);
    return v;
}

/* Parsing fails and the message contains want. */
static void parse_bad(const char *text, size_t len, const char *want)
{
    struct tsr_jsonr *v = (struct tsr_jsonr *)1;
    char err[256] = "";
    assert_int_equal(tsr_jsonr_parse(text, len, &v, err, sizeof(err)), -1);
    assert_null(v);
    if (!strstr(err, want))
        fail_msg("parse of '%.*s': message '%s' lacks '%s'", (int)len, text, err, want);
}

#define BAD(text, want) parse_bad(text, strlen(text), want)

static void test_scalars(void **state)
{
    struct tsr_jsonr *v = parse_ok(" true ");
    assert_int_equal(tsr_jsonr_type(v), TSR_JSONR_BOOL);
    assert_int_equal(tsr_jsonr_bool(v, -1), 1);
    tsr_jsonr_free(&v);
    assert_null(v);

    v = parse_ok("false");
    assert_int_equal(tsr_jsonr_bool(v, -1), 0);
    tsr_jsonr_free(&v);

    v = parse_ok("\n\tnull\r\n");
    assert_int_equal(tsr_jsonr_type(v), TSR_JSONR_NULL);
    assert_int_equal(tsr_jsonr_bool(v, -1), -1);
    assert_string_equal(tsr_jsonr_str(v, "def"), "def");
    tsr_jsonr_free(&v);

    v = parse_ok("\"hello\"");
    assert_int_equal(tsr_jsonr_type(v), TSR_JSONR_STRING);
    assert_string_equal(tsr_jsonr_str(v, NULL), "hello");
    assert_int_equal(tsr_jsonr_strlen(v), 5);
    assert_int_equal(tsr_jsonr_int(v, 7), 7);
    tsr_jsonr_free(&v);

    tsr_jsonr_free(&v); /* NULL: no-op */
}

static void test_numbers(void **state)
{
    static const struct {
        const char *text;
        int is_int;
        int64_t i;
        double d;
    } cases[] = {
        {"0", 1, 0, 0},
        {"-0", 1, 0, -0.0},
        {"42", 1, 42, 42},
        {"-17", 1, -17, -17},
        {"1795413600123", 1, 1795413600123LL, 1795413600123.0},
        {"9223372036854775807", 1, INT64_MAX, 9223372036854775807.0},
        {"-9223372036854775808", 1, INT64_MIN, -9223372036854775808.0},
        {"0.2", 0, 0, 0.2},
        {"-2.5", 0, -2, -2.5},
        {"48000.5", 0, 48000, 48000.5},
        {"1e3", 0, 1000, 1000},
        {"1E+2", 0, 100, 100},
        {"25e-1", 0, 2, 2.5},
        {"-0.0", 0, 0, -0.0},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct tsr_jsonr *v = parse_ok(cases[k].text);
        assert_int_equal(tsr_jsonr_type(v), TSR_JSONR_NUMBER);
        if (tsr_jsonr_is_int(v) != cases[k].is_int)
            fail_msg("%s: is_int %d", cases[k].text, tsr_jsonr_is_int(v));
        if (tsr_jsonr_int(v, 99) != cases[k].i)
            fail_msg("%s: int %lld", cases[k].text, (long long)tsr_jsonr_int(v, 99));
        assert_true(tsr_jsonr_num(v, 99) == cases[k].d);
        tsr_jsonr_free(&v);
    }

    /* Past int64: still a number, as a double; the int accessor falls back. */
    struct tsr_jsonr *v = parse_ok("9223372036854775808");
    assert_false(tsr_jsonr_is_int(v));
    assert_int_equal(tsr_jsonr_int(v, -1), -1);
    assert_true(tsr_jsonr_num(v, 0) == 9223372036854775808.0);
    tsr_jsonr_free(&v);
    v = parse_ok("-9223372036854775809");
    assert_false(tsr_jsonr_is_int(v));
    assert_int_equal(tsr_jsonr_int(v, -1), -1);
    tsr_jsonr_free(&v);
    v = parse_ok("123456789012345678901234567890");
    assert_int_equal(tsr_jsonr_int(v, 5), 5);
    tsr_jsonr_free(&v);
    v = parse_ok("1e400"); /* valid JSON, infinite as a double */
    assert_int_equal(tsr_jsonr_int(v, 5), 5);
    tsr_jsonr_free(&v);
    v = parse_ok("1e19");
    assert_int_equal(tsr_jsonr_int(v, 5), 5);
    tsr_jsonr_free(&v);
    v = parse_ok("-9.2e18");
    assert_int_equal(tsr_jsonr_int(v, 5), -9200000000000000000LL);
    tsr_jsonr_free(&v);
}

static void test_bad_numbers(void **state)
{
    BAD("01", "leading zero");
    BAD("-", "expected a digit");
    BAD("+1", "unexpected '+'");
    BAD("1.", "digit after '.'");
    BAD(".5", "unexpected '.'");
    BAD("1e", "exponent");
    BAD("1e+", "exponent");
    BAD("0x10", "unexpected 'x'");
    BAD("NaN", "unexpected 'N'");
    BAD("Infinity", "unexpected 'I'");
    BAD("-Infinity", "expected a digit");
    BAD("[1,-]", "expected a digit");
}

static void test_strings(void **state)
{
    struct tsr_jsonr *v = parse_ok("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\te\"");
    assert_string_equal(tsr_jsonr_str(v, NULL), "a\"b\\c/d\b\f\n\r\te");
    tsr_jsonr_free(&v);

    v = parse_ok("\"\"");
    assert_string_equal(tsr_jsonr_str(v, NULL), "");
    assert_int_equal(tsr_jsonr_strlen(v), 0);
    tsr_jsonr_free(&v);

    /* \u escapes: ASCII, 2- and 3-byte UTF-8, upper and lower case hex. */
    v = parse_ok("\"\\u0041\\u00e9\\u20AC\"");
    assert_string_equal(tsr_jsonr_str(v, NULL), "A\xc3\xa9\xe2\x82\xac");
    tsr_jsonr_free(&v);

    /* A surrogate pair is one 4-byte character (U+1F600). */
    v = parse_ok("\"x\\ud83d\\ude00y\"");
    assert_string_equal(tsr_jsonr_str(v, NULL), "x\xf0\x9f\x98\x80y");
    tsr_jsonr_free(&v);

    /* Lone surrogates read as U+FFFD rather than failing the whole document. */
    v = parse_ok("\"\\ud800z\\udc00\"");
    assert_string_equal(tsr_jsonr_str(v, NULL), "\xef\xbf\xbdz\xef\xbf\xbd");
    tsr_jsonr_free(&v);
    v = parse_ok("\"\\ud83d\\u0041\"");
    assert_string_equal(tsr_jsonr_str(v, NULL), "\xef\xbf\xbd"
                                                "A");
    tsr_jsonr_free(&v);

    /* \u0000 is kept: the length says so, C sees the string end there. */
    v = parse_ok("\"a\\u0000b\"");
    assert_int_equal(tsr_jsonr_strlen(v), 3);
    assert_memory_equal(tsr_jsonr_str(v, NULL), "a\0b", 4);
    tsr_jsonr_free(&v);

    /* UTF-8 bytes pass through as they are. */
    v = parse_ok("\"caf\xc3\xa9\"");
    assert_string_equal(tsr_jsonr_str(v, NULL), "caf\xc3\xa9");
    tsr_jsonr_free(&v);
}

static void test_bad_strings(void **state)
{
    BAD("\"abc", "unterminated string at line 1, column 1");
    BAD("\"abc\\", "unterminated string");
    BAD("\"a\\x\"", "bad escape '\\x'");
    BAD("\"\\u12\"", "bad \\u escape");
    BAD("\"\\u12g4\"", "bad \\u escape");
    BAD("\"tab\there\"", "control character 0x09");
    BAD("\"new\nline\"", "control character 0x0a");
    BAD("'single'", "unexpected '''");
}

static void test_containers(void **state)
{
    struct tsr_jsonr *v =
        parse_ok("{\"a\": 1, \"b\": [true, null, \"x\", {\"c\": -2}], \"e\": {}, \"f\": []}");
    assert_int_equal(tsr_jsonr_type(v), TSR_JSONR_OBJECT);
    assert_int_equal(tsr_jsonr_len(v), 4);
    assert_int_equal(tsr_jsonr_get_int(v, "a", 0), 1);
    const struct tsr_jsonr *b = tsr_jsonr_get(v, "b");
    assert_int_equal(tsr_jsonr_type(b), TSR_JSONR_ARRAY);
    assert_int_equal(tsr_jsonr_len(b), 4);
    assert_int_equal(tsr_jsonr_bool(tsr_jsonr_at(b, 0), 0), 1);
    assert_int_equal(tsr_jsonr_type(tsr_jsonr_at(b, 1)), TSR_JSONR_NULL);
    assert_non_null(tsr_jsonr_at(b, 1)); /* a null element exists, unlike a missing one */
    assert_string_equal(tsr_jsonr_str(tsr_jsonr_at(b, 2), NULL), "x");
    assert_int_equal(tsr_jsonr_get_int(tsr_jsonr_at(b, 3), "c", 0), -2);
    assert_null(tsr_jsonr_at(b, 4));
    assert_int_equal(tsr_jsonr_type(tsr_jsonr_get(v, "e")), TSR_JSONR_OBJECT);
    assert_int_equal(tsr_jsonr_len(tsr_jsonr_get(v, "e")), 0);
    assert_int_equal(tsr_jsonr_len(tsr_jsonr_get(v, "f")), 0);
    /* Members by index, with their keys, in document order. */
    assert_string_equal(tsr_jsonr_key(tsr_jsonr_at(v, 0)), "a");
    assert_string_equal(tsr_jsonr_key(tsr_jsonr_at(v, 3)), "f");
    assert_null(tsr_jsonr_key(v));
    assert_null(tsr_jsonr_key(tsr_jsonr_at(b, 0)));
    tsr_jsonr_free(&v);

    /* Deep nesting up to the limit is fine. */
    char deep[2 * TSR_JSONR_MAX_DEPTH + 1];
    for (int k = 0; k < TSR_JSONR_MAX_DEPTH; k++)
        deep[k] = '[', deep[2 * TSR_JSONR_MAX_DEPTH - 1 - k] = ']';
    deep[2 * TSR_JSONR_MAX_DEPTH] = '\0';
    v = parse_ok(deep);
    const struct tsr_jsonr *in = v;
    for (int k = 1; k < TSR_JSONR_MAX_DEPTH; k++)
        in = tsr_jsonr_at(in, 0);
    assert_int_equal(tsr_jsonr_type(in), TSR_JSONR_ARRAY);
    assert_int_equal(tsr_jsonr_len(in), 0);
    tsr_jsonr_free(&v);
}

static void test_bad_containers(void **state)
{
    BAD("", "empty document");
    BAD("   \n ", "empty document at line 2, column 2");
    BAD("[1,2", "expected ',' or ']'");
    BAD("[1 2]", "unexpected '2', expected ',' or ']'");
    BAD("[1,]", "trailing comma");
    BAD("{\"a\":1,}", "trailing comma");
    BAD("{\"a\" 1}", "expected ':' after object key");
    BAD("{a:1}", "unexpected 'a', expected an object key");
    BAD("{\"a\":}", "unexpected '}', expected a value");
    BAD("{\"a\":1", "unexpected end of document, expected ',' or '}'");
    BAD("[", "unexpected end of document");
    BAD("]", "unexpected ']'");
    BAD("{} {}", "unexpected '{', expected the end of the document at line 1, column 4");
    BAD("1 2", "expected the end of the document");
    BAD("tru", "unexpected 't'");
    BAD("truex", "unexpected 'x'");
    BAD("nul", "unexpected 'n'");
    BAD("[1,\n  2,\n  @]", "unexpected '@', expected a value at line 3, column 3");
    BAD("// comment\n1", "unexpected '/'");
    parse_bad("[1]\0", 4, "unexpected byte 0x00");
    parse_bad("\x01", 1, "unexpected byte 0x01");

    /* One level past the limit is refused (no stack exhaustion on hostile input). */
    size_t n = TSR_JSONR_MAX_DEPTH + 1;
    char *deep = malloc(2 * n + 1);
    assert_non_null(deep);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    BAD(deep, "nesting deeper than 64 levels");
    /* And a very deep one fails the same way, not with a crash. */
    free(deep);
    n = 100000;
    deep = malloc(n + 1);
    assert_non_null(deep);
    memset(deep, '[', n);
    deep[n] = '\0';
    BAD(deep, "nesting deeper");
    for (size_t k = 0; k + 5 <= n; k += 5)
        memcpy(deep + k, "{\"a\":", 5); /* {"a":{"a":... */
    BAD(deep, "nesting deeper");
    free(deep);
}

static void test_lookup(void **state)
{
    const char *doc = "{\"name\":\"vm\",\"n\":3,\"r\":0.5,\"ok\":false,\"dup\":1,\"dup\":2,"
                      "\"kafka\":{\"partitions\":4,\"up\":true},\"list\":[{\"id\":7}],"
                      "\"esc\\u0061ped\":\"k\",\"nul\":null}";
    struct tsr_jsonr *v = parse_ok(doc);
    assert_string_equal(tsr_jsonr_get_str(v, "name", NULL), "vm");
    assert_int_equal(tsr_jsonr_get_int(v, "n", 0), 3);
    assert_true(tsr_jsonr_get_num(v, "n", 0) == 3.0);
    assert_true(tsr_jsonr_get_num(v, "r", 0) == 0.5);
    assert_int_equal(tsr_jsonr_get_bool(v, "ok", -1), 0);
    assert_int_equal(tsr_jsonr_get_int(v, "dup", 0), 1); /* the first of a repeated key */
    assert_string_equal(tsr_jsonr_get_str(v, "escaped", NULL), "k"); /* keys are decoded */
    /* Chained lookups, with NULL flowing through to the default. */
    assert_int_equal(tsr_jsonr_get_int(tsr_jsonr_get(v, "kafka"), "partitions", -1), 4);
    assert_int_equal(tsr_jsonr_get_bool(tsr_jsonr_get(v, "kafka"), "up", 0), 1);
    assert_int_equal(tsr_jsonr_get_int(tsr_jsonr_at(tsr_jsonr_get(v, "list"), 0), "id", 0), 7);
    assert_int_equal(tsr_jsonr_get_int(tsr_jsonr_get(v, "missing"), "x", -1), -1);
    assert_int_equal(tsr_jsonr_get_int(tsr_jsonr_at(tsr_jsonr_get(v, "list"), 5), "id", -1), -1);
    assert_null(tsr_jsonr_get(v, "nam"));
    assert_null(tsr_jsonr_get(v, "names"));
    /* Wrong types give the default, never a conversion. */
    assert_string_equal(tsr_jsonr_get_str(v, "n", "d"), "d");
    assert_int_equal(tsr_jsonr_get_int(v, "name", -1), -1);
    assert_int_equal(tsr_jsonr_get_bool(v, "n", -1), -1);
    assert_true(tsr_jsonr_get_num(v, "ok", -1) == -1);
    assert_int_equal(tsr_jsonr_get_int(v, "nul", -1), -1);
    /* get on a non-object, at on a scalar, len of a scalar. */
    assert_null(tsr_jsonr_get(tsr_jsonr_get(v, "list"), "id"));
    assert_null(tsr_jsonr_at(tsr_jsonr_get(v, "n"), 0));
    assert_int_equal(tsr_jsonr_len(tsr_jsonr_get(v, "name")), 0);
    assert_int_equal(tsr_jsonr_len(NULL), 0);
    assert_int_equal(tsr_jsonr_type(NULL), TSR_JSONR_NULL);
    tsr_jsonr_free(&v);
}

static void test_raw(void **state)
{
    /* The input need not be NUL-terminated and may be freed after parsing. */
    const char *src = "{ \"a\" : [1, 2.50 ,\"x\\n\"] , \"b\":{\"c\":true} }XXXX";
    size_t len = strlen(src) - 4;
    char *text = malloc(len);
    assert_non_null(text);
    memcpy(text, src, len);
    struct tsr_jsonr *v = NULL;
    char err[128];
    assert_int_equal(tsr_jsonr_parse(text, len, &v, err, sizeof(err)), 0);
    memset(text, '?', len);
    free(text);

    size_t n;
    const char *r = tsr_jsonr_raw(tsr_jsonr_get(v, "a"), &n);
    assert_int_equal(n, strlen("[1, 2.50 ,\"x\\n\"]"));
    assert_memory_equal(r, "[1, 2.50 ,\"x\\n\"]", n);
    r = tsr_jsonr_raw(tsr_jsonr_at(tsr_jsonr_get(v, "a"), 1), &n);
    assert_memory_equal(r, "2.50", n);
    assert_int_equal(n, 4);
    r = tsr_jsonr_raw(tsr_jsonr_get(v, "b"), &n);
    assert_memory_equal(r, "{\"c\":true}", n);
    r = tsr_jsonr_raw(v, &n);
    assert_int_equal(n, len); /* the root: the whole document, without outer blanks */
    r = tsr_jsonr_raw(tsr_jsonr_get(v, "zz"), &n);
    assert_null(r);
    assert_int_equal(n, 0);
    tsr_jsonr_free(&v);
}

/* A /status document as relay/admin/admin.c writes it reads back field by field. */
static void test_status_document(void **state)
{
    const char *doc =
        "{\"datacenter\":\"dc1\",\"uptime_s\":3600,\"draining\":false,\"kafka\":{\"brokers\":\"127."
        "0.0.1:9092\","
        "\"topic\":\"metrics\",\"ready\":true,\"up\":true,\"partitions\":4,\"inflight_records\":0,"
        "\"inflight_bytes\":0,\"records\":18446744073709551615,\"errors\":0},\"listeners\":{},"
        "\"clusters\":[{\"name\":\"vm\",\"type\":\"victoriametrics\",\"state\":\"down\",\"ready\":"
        "false,"
        "\"reason\":\"no url "
        "up\",\"since_ms\":1795410000000,\"lag_seconds\":12.500,\"lag_records\":40,"
        "\"lag_points\":1200,\"last_error\":\"connect "
        "\\\"refused\\\"\",\"urls\":[{\"url\":\"http://x\",\"up\":false}],"
        "\"partitions\":[{\"partition\":0,\"position\":10,\"high\":50}],\"ledger\":[{\"id\":1,"
        "\"kind\":\"outage\","
        "\"from_ms\":1795410000000,\"to_ms\":0,\"reason\":\"down\",\"from_offsets\":[10],\"to_"
        "offsets\":[]}]}]}\n";
    struct tsr_jsonr *v = parse_ok(doc);
    const struct tsr_jsonr *cl = tsr_jsonr_at(tsr_jsonr_get(v, "clusters"), 0);
    assert_string_equal(tsr_jsonr_get_str(cl, "last_error", ""), "connect \"refused\"");
    assert_true(tsr_jsonr_get_num(cl, "lag_seconds", 0) == 12.5);
    assert_int_equal(tsr_jsonr_get_int(tsr_jsonr_at(tsr_jsonr_get(cl, "ledger"), 0), "from_ms", 0),
                     1795410000000LL);
    assert_int_equal(
        tsr_jsonr_len(tsr_jsonr_get(tsr_jsonr_at(tsr_jsonr_get(cl, "ledger"), 0), "to_offsets")),
        0);
    /* A uint64 counter past INT64_MAX: a number, not an int. */
    assert_int_equal(tsr_jsonr_get_int(tsr_jsonr_get(v, "kafka"), "records", -1), -1);
    assert_true(tsr_jsonr_get_num(tsr_jsonr_get(v, "kafka"), "records", 0) > 1.8e19);
    tsr_jsonr_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_bad_numbers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_bad_strings),
        cmocka_unit_test(test_containers),
        cmocka_unit_test(test_bad_containers),
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_raw),
        cmocka_unit_test(test_status_document),
    };
    return cmocka_run_group_tests_name("ctl_json", tests, NULL, NULL);
}

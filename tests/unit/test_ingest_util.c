/* The small pieces of the write API: JSON escaping of echoed client input, gzip with
 * its bomb limit, listen addresses, and InfluxDB's three ways to authenticate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <zlib.h>

#include "config/config.h"
#include "relay/core/addr.h"
#include "relay/ingest/auth.h"
#include "relay/core/gzip.h"
#include "relay/core/json.h"

static void expect_json(const char *in, size_t len, const char *want)
{
    struct tsr_buf b = {0};
    tsr_json_escape(&b, in, len);
    tsr_buf_putc(&b, '\0');
    assert_string_equal(b.data, want);
    tsr_buf_free(&b);
}

static void test_json_escape(void **state)
{
    expect_json("plain", 5, "plain");
    expect_json("q\"b\\n\n\t", 7, "q\\\"b\\\\n\\n\\u0009");
    expect_json("caf\xc3\xa9", 5, "caf\xc3\xa9");            /* valid UTF-8 kept */
    expect_json("\xff\xfe", 2, "\\ufffd\\ufffd");             /* invalid bytes replaced */
    expect_json("\xc0\xaf", 2, "\\ufffd\\ufffd");             /* overlong form */
    expect_json("\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd"); /* a surrogate */
    expect_json("a\0b", 3, "a\\u0000b");
}

static void test_gzip_round_trip_and_bomb(void **state)
{
    struct tsr_buf plain = {0}, gz = {0}, back = {0};
    for (int i = 0; i < 10000; i++) tsr_buf_printf(&plain, "cpu,host=h%d v=%d %d\n", i % 7, i, i);
    assert_int_equal(tsr_gzip(plain.data, plain.len, 1, &gz), 0);
    assert_true(gz.len < plain.len / 3);
    assert_int_equal(tsr_gunzip(gz.data, gz.len, &back, plain.len), 0);
    assert_int_equal(back.len, plain.len);
    assert_memory_equal(back.data, plain.data, plain.len);
    /* One byte short of the decoded size: refused, and nothing appended. */
    back.len = 0;
    assert_int_equal(tsr_gunzip(gz.data, gz.len, &back, plain.len - 1), -2);
    assert_int_equal(back.len, 0);
    /* Truncated and garbage input. */
    assert_int_equal(tsr_gunzip(gz.data, gz.len / 2, &back, plain.len), -1);
    assert_int_equal(tsr_gunzip("not gzip", 8, &back, 100), -1);
    /* Two concatenated members decode to both. */
    struct tsr_buf two = {0};
    tsr_buf_append(&two, gz.data, gz.len);
    tsr_buf_append(&two, gz.data, gz.len);
    back.len = 0;
    assert_int_equal(tsr_gunzip(two.data, two.len, &back, 2 * plain.len), 0);
    assert_int_equal(back.len, 2 * plain.len);
    tsr_buf_free(&plain);
    tsr_buf_free(&gz);
    tsr_buf_free(&back);
    tsr_buf_free(&two);
}

/* Regression (found by tests/fuzz/fuzz_gzip.c): a body of exactly max decoded bytes was
 * refused as too large when inflate had not yet seen the end of the stream: an empty
 * body with max 0, or a body of max bytes followed by an empty member. */
static void test_gzip_exactly_max(void **state)
{
    struct tsr_buf empty = {0}, gz = {0}, back = {0};
    assert_int_equal(tsr_gzip("", 0, 6, &empty), 0);
    assert_int_equal(tsr_gunzip(empty.data, empty.len, &back, 0), 0);
    assert_int_equal(back.len, 0);
    assert_int_equal(tsr_gzip("cpu v=1\n", 8, 6, &gz), 0);
    tsr_buf_append(&gz, empty.data, empty.len);
    assert_int_equal(tsr_gunzip(gz.data, gz.len, &back, 8), 0);
    assert_int_equal(back.len, 8);
    assert_memory_equal(back.data, "cpu v=1\n", 8);
    back.len = 0;
    assert_int_equal(tsr_gunzip(gz.data, gz.len, &back, 7), -2);
    assert_int_equal(back.len, 0);
    tsr_buf_free(&empty);
    tsr_buf_free(&gz);
    tsr_buf_free(&back);
}

/* A trailer (ISIZE) that lies either way is not trusted: the body still decodes to what
 * it holds, or is refused, never read past or cut short. */
static void test_gzip_trailer_lies(void **state)
{
    struct tsr_buf plain = {0}, gz = {0}, back = {0};
    for (int i = 0; i < 1000; i++) tsr_buf_printf(&plain, "mem,host=h%d used=%d\n", i % 3, i);
    assert_int_equal(tsr_gzip(plain.data, plain.len, 1, &gz), 0);
    unsigned char *isize = (unsigned char *)gz.data + gz.len - 4;
    /* Claims 10 bytes: the whole-buffer decoder runs out of room; the stream decoder
     * finds the size wrong and refuses the body, as zlib alone did. */
    isize[0] = 10, isize[1] = isize[2] = isize[3] = 0;
    assert_int_equal(tsr_gunzip(gz.data, gz.len, &back, plain.len), -1);
    assert_int_equal(back.len, 0);
    /* Claims 2 GiB with max far below: never reserved, stopped at max. */
    isize[3] = 0x80;
    assert_int_equal(tsr_gunzip(gz.data, gz.len, &back, 100), -2);
    assert_int_equal(back.len, 0);
    tsr_buf_free(&plain);
    tsr_buf_free(&gz);
    tsr_buf_free(&back);
}

/* What Telegraf and curl send is zlib's gzip, with a file name in the header. */
static void test_gunzip_zlib_member(void **state)
{
    static const char text[] = "disk,path=/ free=1i\n";
    unsigned char z[256];
    z_stream zs = {0};
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    gz_header h = {.name = (Bytef *)"metrics.txt", .os = 3};
    assert_int_equal(deflateSetHeader(&zs, &h), Z_OK);
    zs.next_in = (Bytef *)text;
    zs.avail_in = sizeof(text) - 1;
    zs.next_out = z;
    zs.avail_out = sizeof(z);
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t n = sizeof(z) - zs.avail_out;
    deflateEnd(&zs);
    struct tsr_buf back = {0};
    assert_int_equal(tsr_gunzip(z, n, &back, 1000), 0);
    assert_int_equal(back.len, sizeof(text) - 1);
    assert_memory_equal(back.data, text, back.len);
    tsr_buf_free(&back);
}

static void test_addr_split(void **state)
{
    char host[64];
    unsigned short port;
    assert_int_equal(tsr_addr_split("127.0.0.1:8086", host, sizeof(host), &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8086);
    assert_int_equal(tsr_addr_split(":2003", host, sizeof(host), &port), 0);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(tsr_addr_split("[::1]:8093", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(tsr_addr_split("nohost", host, sizeof(host), &port), -1);
    assert_int_equal(tsr_addr_split("h:99999", host, sizeof(host), &port), -1);
    assert_int_equal(tsr_addr_split("h:", host, sizeof(host), &port), -1);
    assert_int_equal(tsr_addr_split("[::1]8093", host, sizeof(host), &port), -1);
}

static void test_auth(void **state)
{
    struct tsr_user users[] = {{.name = "writer", .password = "s3cret"}};
    char *tokens[] = {"tok-123"};
    struct tsr_config cf = {.ingest_auth_enabled = 0};
    assert_int_equal(tsr_auth_check(&cf, NULL, NULL, NULL), 0); /* disabled: all pass */
    cf.ingest_auth_enabled = 1;
    cf.ingest_users = users;
    cf.ningest_users = 1;
    cf.ingest_tokens = tokens;
    cf.ningest_tokens = 1;
    assert_int_equal(tsr_auth_check(&cf, NULL, NULL, NULL), -1);
    assert_int_equal(tsr_auth_check(&cf, NULL, "writer", "s3cret"), 0);
    assert_int_equal(tsr_auth_check(&cf, NULL, "writer", "s3cre"), -1);
    assert_int_equal(tsr_auth_check(&cf, NULL, "nobody", "s3cret"), -1);
    assert_int_equal(tsr_auth_check(&cf, "Basic d3JpdGVyOnMzY3JldA==", NULL, NULL), 0);
    assert_int_equal(tsr_auth_check(&cf, "basic d3JpdGVyOnMzY3JldA==", NULL, NULL), 0);
    assert_int_equal(tsr_auth_check(&cf, "Basic d3JpdGVyOnMzY3JlWA==", NULL, NULL), -1);
    assert_int_equal(tsr_auth_check(&cf, "Basic !!!", NULL, NULL), -1);
    assert_int_equal(tsr_auth_check(&cf, "Token tok-123", NULL, NULL), 0);
    assert_int_equal(tsr_auth_check(&cf, "Token writer:s3cret", NULL, NULL), 0);
    assert_int_equal(tsr_auth_check(&cf, "Token tok-12", NULL, NULL), -1);
    assert_int_equal(tsr_auth_check(&cf, "Bearer tok-123", NULL, NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escape),
        cmocka_unit_test(test_gzip_round_trip_and_bomb),
        cmocka_unit_test(test_gzip_exactly_max),
        cmocka_unit_test(test_gzip_trailer_lies),
        cmocka_unit_test(test_gunzip_zlib_member),
        cmocka_unit_test(test_addr_split),
        cmocka_unit_test(test_auth),
    };
    return cmocka_run_group_tests_name("ingest_util", tests, NULL, NULL);
}

/* tests/unit/test_lineproto.c — the line-protocol grammar, one table row per rule.
 *
 * Valid rows give the exact normalised output; invalid rows give InfluxDB's reason. Every
 * invalid row is parsed into a buffer that already holds data, to prove `out` is left
 * alone on error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "relay/core/lineproto.h"

#define NOW   1700000000123456789LL
#define NOWS  "1700000000123456789"
#define RANGE "time outside range -9223372036854775806 - 9223372036854775806"

static struct tsr_lp_opts opts_for(enum tsr_precision prec)
{
    return (struct tsr_lp_opts){.precision = prec, .now_ns = NOW};
}

/* Parses the first line of in[0..len) and checks status, output and reason. */
static void check_one(const char *in, size_t len, const struct tsr_lp_opts *opts,
                      enum tsr_lp_status want_status, const char *want, const char *row)
{
    static const char prefix[] = "previous line\n";
    struct tsr_buf out = {0};
    struct tsr_lp_result res;

    tsr_buf_append(&out, prefix, sizeof(prefix) - 1);
    const char *data0 = out.data;
    size_t cap0 = out.cap;
    tsr_lp_parse_line(in, in + len, opts, &out, &res);
    if (res.status != want_status) {
        fail_msg("row '%s' (%zu bytes): status %d, want %d (reason %s)", row, len, res.status,
                 want_status, res.reason ? res.reason : "-");
    }
    assert_true(res.consumed > 0 && res.consumed <= len);
    assert_memory_equal(out.data, prefix, sizeof(prefix) - 1);
    if (want_status == TSR_LP_OK && want) {
        size_t n = out.len - (sizeof(prefix) - 1);
        if (n != strlen(want) || memcmp(out.data + sizeof(prefix) - 1, want, n) != 0) {
            fail_msg("row '%s': got '%.*s', want '%s'", row, (int)n, out.data + sizeof(prefix) - 1,
                     want);
        }
        assert_null(res.reason);
    } else if (want_status != TSR_LP_OK) {
        /* Nothing appended, nothing moved, on error or skip. */
        assert_int_equal(out.len, sizeof(prefix) - 1);
        assert_ptr_equal(out.data, data0);
        assert_int_equal(out.cap, cap0);
        if (want_status == TSR_LP_ERR) {
            assert_non_null(res.reason);
            if (strcmp(res.reason, want) != 0)
                fail_msg("row '%s': reason '%s', want '%s'", row, res.reason, want);
        }
    }
    tsr_buf_free(&out);
}

/* Checks the line alone, then followed by '\n' and more bytes: the parser scans 16 bytes
 * at a time only where that many remain, and both paths must agree. */
static void check_line(const char *in, size_t len, const struct tsr_lp_opts *opts,
                       enum tsr_lp_status want_status, const char *want, const char *row)
{
    static const size_t pads[] = {1, 16, 47};
    check_one(in, len, opts, want_status, want, row);
    for (size_t i = 0; i < sizeof(pads) / sizeof(pads[0]); i++) {
        char *b = malloc(len + pads[i]);
        assert_non_null(b);
        memcpy(b, in, len);
        b[len] = '\n';
        memset(b + len + 1, 'x', pads[i] - 1);
        check_one(b, len + pads[i], opts, want_status, want, row);
        free(b);
    }
}

struct row {
    enum tsr_precision prec;
    const char *in;
    const char *want; /* normalised line, or the reason */
};

static const struct row valid[] = {
    /* sections and spacing */
    {TSR_PREC_NS, "cpu value=1", "cpu value=1 " NOWS "\n"},
    {TSR_PREC_NS, "cpu value=1 1700000000000000000", "cpu value=1 1700000000000000000\n"},
    {TSR_PREC_NS, "cpu,host=a,region=b value=1 123", "cpu,host=a,region=b value=1 123\n"},
    {TSR_PREC_NS, "  cpu value=1 5", "cpu value=1 5\n"},
    {TSR_PREC_NS, "\t cpu value=1 5", "cpu value=1 5\n"},
    {TSR_PREC_NS, "cpu  value=1   5   ", "cpu value=1 5\n"},
    {TSR_PREC_NS, "cpu \t value=1 \t 5", "cpu value=1 5\n"},
    {TSR_PREC_NS, "cpu value=1   ", "cpu value=1 " NOWS "\n"},
    {TSR_PREC_NS, "cpu value=1 5\r\n", "cpu value=1 5\n"},
    {TSR_PREC_NS, "cpu value=1\r\n", "cpu value=1 " NOWS "\n"},
    {TSR_PREC_NS, "cpu value=1\r", "cpu value=1 " NOWS "\n"},
    {TSR_PREC_NS, "cpu,a=b\rc value=1 5", "cpu,a=b\rc value=1 5\n"},
    {TSR_PREC_NS, "cpu value=1 5\nnext line", "cpu value=1 5\n"},
    /* tag order: bytewise on the escaped key, only the key decides */
    {TSR_PREC_NS, "cpu,region=b,host=a value=1 1", "cpu,host=a,region=b value=1 1\n"},
    {TSR_PREC_NS, "cpu,c=3,b=2,a=1 v=1 1", "cpu,a=1,b=2,c=3 v=1 1\n"},
    {TSR_PREC_NS, "cpu,ab=1,a=2 v=1 1", "cpu,a=2,ab=1 v=1 1\n"},
    {TSR_PREC_NS, "cpu,b=1,B=2 v=1 1", "cpu,B=2,b=1 v=1 1\n"},
    {TSR_PREC_NS, "cpu,b=1,a\\ b=2 v=1 1", "cpu,a\\ b=2,b=1 v=1 1\n"},
    {TSR_PREC_NS, "cpu,z=1,a=x\\,y\\ z v=1 1", "cpu,a=x\\,y\\ z,z=1 v=1 1\n"},
    {TSR_PREC_NS, "cpu,z=1,y==v v=1 1", "cpu,y==v,z=1 v=1 1\n"},
    /* escaping in measurement, tag keys and values */
    {TSR_PREC_NS, "my\\ cpu,host=a v=1 1", "my\\ cpu,host=a v=1 1\n"},
    {TSR_PREC_NS, "my\\,cpu v=1 1", "my\\,cpu v=1 1\n"},
    {TSR_PREC_NS, "c=pu v=1 1", "c=pu v=1 1\n"},
    {TSR_PREC_NS, "a\\\\,b v=1 1", "a\\\\,b v=1 1\n"},
    {TSR_PREC_NS, "cpu,host=a\\,b\\ c\\=d v=1 1", "cpu,host=a\\,b\\ c\\=d v=1 1\n"},
    {TSR_PREC_NS, "cpu,ho\\=st=a v=1 1", "cpu,ho\\=st=a v=1 1\n"},
    {TSR_PREC_NS, "cpu,h\\ st=a,h\\,st=b v=1 1", "cpu,h\\ st=a,h\\,st=b v=1 1\n"},
    {TSR_PREC_NS, "cpu,a==b v=1 1", "cpu,a==b v=1 1\n"},
    {TSR_PREC_NS, "cp\xc3\xbc,h\xc3\xb4st=\xc3\xa4 v=1 1",
     "cp\xc3\xbc,h\xc3\xb4st=\xc3\xa4 v=1 1\n"},
    {TSR_PREC_NS, "\xf0\x9f\x94\xa5 v=1 1", "\xf0\x9f\x94\xa5 v=1 1\n"},
    /* field keys */
    {TSR_PREC_NS, "cpu a\\ b=1,c\\,d=2,e\\=f=3 1", "cpu a\\ b=1,c\\,d=2,e\\=f=3 1\n"},
    {TSR_PREC_NS, "cpu a\\\\=1 1", "cpu a\\\\=1 1\n"},
    {TSR_PREC_NS, "cpu a\"b=1 1", "cpu a\"b=1 1\n"},
    /* fields named time are dropped, as InfluxDB 1.x drops them */
    {TSR_PREC_NS, "cpu a=1,time=2 1", "cpu a=1 1\n"},
    {TSR_PREC_NS, "cpu time=2,a=1 1", "cpu a=1 1\n"},
    {TSR_PREC_NS, "cpu time=\"x,y\",a=1,time=3i,b=\"q\" 1", "cpu a=1,b=\"q\" 1\n"},
    {TSR_PREC_NS, "cpu a=1,time=2,b=t", "cpu a=1,b=t " NOWS "\n"},
    {TSR_PREC_NS, "cpu Time=1,times=2,time=3 1", "cpu Time=1,times=2 1\n"},
    /* Regression (found by tests/fuzz/fuzz_lineproto.c): a field key starting with a
     * '\r' (not a line end there) was taken for the end of the field set by the field
     * reader, so dropping "time" lost every field and wrote "cpu  1". */
    {TSR_PREC_NS, "cpu \rk=1,time=2 1", "cpu \rk=1 1\n"},
    {TSR_PREC_NS, "cpu a=1,\rk=2,time=3 1", "cpu a=1,\rk=2 1\n"},
    /* ... and a key with a leading \t is kept where it does not start the field set. */
    {TSR_PREC_NS, "cpu time=1,a=1,\tk=2 1", "cpu a=1,\tk=2 1\n"},
    {TSR_PREC_NS, "cpu a=1,a=2 1", "cpu a=1,a=2 1\n"},
    {TSR_PREC_NS, "cpu Time=1,times=2 1", "cpu Time=1,times=2 1\n"},
    /* strings */
    {TSR_PREC_NS, "cpu s=\"hello\" 1", "cpu s=\"hello\" 1\n"},
    {TSR_PREC_NS, "cpu s=\"\" 1", "cpu s=\"\" 1\n"},
    {TSR_PREC_NS, "cpu s=\"q \\\"x\\\" b \\\\\" 1", "cpu s=\"q \\\"x\\\" b \\\\\" 1\n"},
    {TSR_PREC_NS, "cpu s=\"a, b= c\",t=1 1", "cpu s=\"a, b= c\",t=1 1\n"},
    {TSR_PREC_NS, "cpu s=\"two\nlines\" 1", "cpu s=\"two\nlines\" 1\n"},
    {TSR_PREC_NS, "cpu s=\"crlf\r\ninside\" 1\r\n", "cpu s=\"crlf\r\ninside\" 1\n"},
    {TSR_PREC_NS, "cpu s=\"lit \\n \\t\" 1", "cpu s=\"lit \\n \\t\" 1\n"},
    {TSR_PREC_NS, "cpu s=\"h\xc3\xa9llo \xe2\x9c\x93\" 1",
     "cpu s=\"h\xc3\xa9llo \xe2\x9c\x93\" 1\n"},
    {TSR_PREC_NS, "cpu s=\"x\"", "cpu s=\"x\" " NOWS "\n"},
    /* integers and unsigned */
    {TSR_PREC_NS, "cpu i=123i 1", "cpu i=123i 1\n"},
    {TSR_PREC_NS, "cpu i=-123i 1", "cpu i=-123i 1\n"},
    {TSR_PREC_NS, "cpu i=0i,j=007i 1", "cpu i=0i,j=007i 1\n"},
    {TSR_PREC_NS, "cpu i=9223372036854775807i 1", "cpu i=9223372036854775807i 1\n"},
    {TSR_PREC_NS, "cpu i=-9223372036854775808i 1", "cpu i=-9223372036854775808i 1\n"},
    {TSR_PREC_NS, "cpu i=0009223372036854775807i 1", "cpu i=0009223372036854775807i 1\n"},
    {TSR_PREC_NS, "cpu u=123u,v=0u 1", "cpu u=123u,v=0u 1\n"},
    {TSR_PREC_NS, "cpu u=18446744073709551615u 1", "cpu u=18446744073709551615u 1\n"},
    /* floats */
    {TSR_PREC_NS, "cpu f=1.5,g=-1.5,h=1,i=-0 1", "cpu f=1.5,g=-1.5,h=1,i=-0 1\n"},
    {TSR_PREC_NS, "cpu f=.5,g=5.,h=-.5 1", "cpu f=.5,g=5.,h=-.5 1\n"},
    {TSR_PREC_NS, "cpu f=1e10,g=1E10,h=1.5e-10,i=1e+10 1",
     "cpu f=1e10,g=1E10,h=1.5e-10,i=1e+10 1\n"},
    {TSR_PREC_NS, "cpu f=1.7976931348623157e308 1", "cpu f=1.7976931348623157e308 1\n"},
    {TSR_PREC_NS, "cpu f=-1.7976931348623157e308 1", "cpu f=-1.7976931348623157e308 1\n"},
    {TSR_PREC_NS, "cpu f=0.17976931348623157e309 1", "cpu f=0.17976931348623157e309 1\n"},
    {TSR_PREC_NS, "cpu f=1e-400,g=0e999999 1", "cpu f=1e-400,g=0e999999 1\n"},
    {TSR_PREC_NS, "cpu f=9e307 1", "cpu f=9e307 1\n"},
    /* booleans */
    {TSR_PREC_NS, "cpu a=t,b=T,c=true,d=True,e=TRUE 1", "cpu a=t,b=T,c=true,d=True,e=TRUE 1\n"},
    {TSR_PREC_NS, "cpu a=f,b=F,c=false,d=False,e=FALSE 1",
     "cpu a=f,b=F,c=false,d=False,e=FALSE 1\n"},
    {TSR_PREC_NS, "cpu a=1i,b=\"x\",c=t,d=1.5,e=2u 1", "cpu a=1i,b=\"x\",c=t,d=1.5,e=2u 1\n"},
    /* timestamps in each precision */
    {TSR_PREC_NS, "cpu v=1 1", "cpu v=1 1\n"},
    {TSR_PREC_US, "cpu v=1 1", "cpu v=1 1000\n"},
    {TSR_PREC_MS, "cpu v=1 1", "cpu v=1 1000000\n"},
    {TSR_PREC_S, "cpu v=1 1", "cpu v=1 1000000000\n"},
    {TSR_PREC_M, "cpu v=1 1", "cpu v=1 60000000000\n"},
    {TSR_PREC_H, "cpu v=1 1", "cpu v=1 3600000000000\n"},
    {TSR_PREC_S, "cpu v=1 -1", "cpu v=1 -1000000000\n"},
    {TSR_PREC_S, "cpu v=1 1700000000", "cpu v=1 1700000000000000000\n"},
    {TSR_PREC_MS, "cpu v=1 1700000000123", "cpu v=1 1700000000123000000\n"},
    {TSR_PREC_US, "cpu v=1 1700000000123456", "cpu v=1 1700000000123456000\n"},
    {TSR_PREC_S, "cpu v=1", "cpu v=1 " NOWS "\n"},
    {TSR_PREC_NS, "cpu v=1 0", "cpu v=1 0\n"},
    {TSR_PREC_NS, "cpu v=1 -0", "cpu v=1 0\n"},
    {TSR_PREC_NS, "cpu v=1 0001", "cpu v=1 1\n"},
    {TSR_PREC_NS, "cpu v=1 9223372036854775806", "cpu v=1 9223372036854775806\n"},
    {TSR_PREC_NS, "cpu v=1 -9223372036854775806", "cpu v=1 -9223372036854775806\n"},
    {TSR_PREC_S, "cpu v=1 9223372036", "cpu v=1 9223372036000000000\n"},
    {TSR_PREC_M, "cpu v=1 153722867", "cpu v=1 9223372020000000000\n"},
    {TSR_PREC_H, "cpu v=1 2562047", "cpu v=1 9223369200000000000\n"},
    {TSR_PREC_H, "cpu v=1 -2562047", "cpu v=1 -9223369200000000000\n"},
};

static const struct row invalid[] = {
    {TSR_PREC_NS, ",host=a v=1", "missing measurement"},
    {TSR_PREC_NS, "cpu", "missing fields"},
    {TSR_PREC_NS, "cpu ", "missing fields"},
    {TSR_PREC_NS, "cpu\r\n", "missing fields"},
    {TSR_PREC_NS, "cpu,host=a", "missing fields"},
    {TSR_PREC_NS, "cpu,host=a   ", "missing fields"},
    {TSR_PREC_NS, "cpu, v=1", "missing tag key"},
    {TSR_PREC_NS, "cpu,=a v=1", "missing tag key"},
    {TSR_PREC_NS, "cpu,host=a, v=1", "missing tag key"},
    {TSR_PREC_NS, "cpu,,host=a v=1", "missing tag key"},
    {TSR_PREC_NS, "cpu,", "missing tag key"},
    {TSR_PREC_NS, "cpu,host v=1", "missing tag value"},
    {TSR_PREC_NS, "cpu,host,a=b v=1", "missing tag value"},
    {TSR_PREC_NS, "cpu,host= v=1", "missing tag value"},
    {TSR_PREC_NS, "cpu,host=,a=b v=1", "missing tag value"},
    {TSR_PREC_NS, "cpu,host=", "missing tag value"},
    {TSR_PREC_NS, "cpu,host=a=b v=1", "invalid tag format"},
    {TSR_PREC_NS, "cpu,host=a,host=b v=1", "duplicate tags"},
    {TSR_PREC_NS, "cpu,host=a,b=1,host=b v=1", "duplicate tags"},
    {TSR_PREC_NS, "cpu,time=a v=1", "invalid tag key \"time\""},
    {TSR_PREC_NS, "cpu time=1", "invalid field name \"time\""},
    {TSR_PREC_NS, "cpu time=1,time=2i 5", "invalid field name \"time\""},
    /* Regression (found by tests/fuzz/fuzz_lineproto.c): with the time field dropped,
     * "\te" would start the field set and read back as the key "e". */
    {TSR_PREC_NS, "cpu time=1,\te=1 5",
     "invalid field key: it would start the field set with whitespace"},
    {TSR_PREC_NS, "cpu time=1,time=2,\te=1",
     "invalid field key: it would start the field set with whitespace"},
    /* both are store rules: a parse error later on the line takes precedence */
    {TSR_PREC_NS, "cpu,time=a v=1x", "invalid number"},
    {TSR_PREC_NS, "cpu time=1x", "invalid number"},
    {TSR_PREC_NS, "cpu =1", "missing field key"},
    {TSR_PREC_NS, "cpu a=1,=2", "missing field key"},
    {TSR_PREC_NS, "cpu a=", "missing field value"},
    {TSR_PREC_NS, "cpu a=\r\n", "missing field value"},
    {TSR_PREC_NS, "cpu a= 1", "missing field value"},
    {TSR_PREC_NS, "cpu a=,b=1", "missing field value"},
    {TSR_PREC_NS, "cpu a", "invalid field format"},
    {TSR_PREC_NS, "cpu a=1,b", "invalid field format"},
    {TSR_PREC_NS, "cpu a=1,", "invalid field format"},
    {TSR_PREC_NS, "cpu a b=1", "invalid field format"},
    {TSR_PREC_NS, "cpu a\\", "invalid field format"},
    {TSR_PREC_NS, "cpu s=\"a\"b", "invalid field format"},
    {TSR_PREC_NS, "cpu s=\"abc", "unbalanced quotes"},
    {TSR_PREC_NS, "cpu s=\"abc\\\"", "unbalanced quotes"},
    {TSR_PREC_NS, "cpu s=\"abc\\", "unbalanced quotes"},
    {TSR_PREC_NS, "cpu a=1.2.3", "invalid number"},
    {TSR_PREC_NS, "cpu a=-", "invalid number"},
    {TSR_PREC_NS, "cpu a=.", "invalid number"},
    {TSR_PREC_NS, "cpu a=-.i", "invalid number"},
    {TSR_PREC_NS, "cpu a=1x", "invalid number"},
    {TSR_PREC_NS, "cpu a=1\rx", "invalid number"},
    {TSR_PREC_NS, "cpu a=1.5i", "invalid number"},
    {TSR_PREC_NS, "cpu a=-1u", "invalid number"},
    {TSR_PREC_NS, "cpu a=1i2", "invalid number"},
    {TSR_PREC_NS, "cpu a=1ii", "invalid number"},
    {TSR_PREC_NS, "cpu a=1-2", "invalid number"},
    {TSR_PREC_NS, "cpu a=1e5i", "invalid number"},
    {TSR_PREC_NS, "cpu a=NaN", "invalid number"},
    {TSR_PREC_NS, "cpu a=nan", "invalid number"},
    {TSR_PREC_NS, "cpu a=0x10", "invalid number"},
    {TSR_PREC_NS, "cpu a=1e", "invalid float"},
    {TSR_PREC_NS, "cpu a=1e+", "invalid float"},
    {TSR_PREC_NS, "cpu a=1e400", "invalid float"},
    {TSR_PREC_NS, "cpu a=1.8e308", "invalid float"},
    {TSR_PREC_NS, "cpu a=-1e309", "invalid float"},
    {TSR_PREC_NS, "cpu a=0.18e310", "invalid float"},
    {TSR_PREC_NS, "cpu a=1.7976931348623159e308", "invalid float"},
    {TSR_PREC_NS, "cpu a=9223372036854775808i", "unable to parse integer: value out of range"},
    {TSR_PREC_NS, "cpu a=-9223372036854775809i", "unable to parse integer: value out of range"},
    {TSR_PREC_NS, "cpu a=99999999999999999999999i", "unable to parse integer: value out of range"},
    {TSR_PREC_NS, "cpu a=18446744073709551616u", "unable to parse unsigned: value out of range"},
    {TSR_PREC_NS, "cpu a=tru", "invalid boolean"},
    {TSR_PREC_NS, "cpu a=tRUE", "invalid boolean"},
    {TSR_PREC_NS, "cpu a=falsey", "invalid boolean"},
    {TSR_PREC_NS, "cpu a=yes", "invalid boolean"},
    {TSR_PREC_NS, "cpu a=Inf", "invalid boolean"},
    {TSR_PREC_NS, "cpu a=+1", "invalid boolean"},
    {TSR_PREC_NS, "cpu a=1 abc", "bad timestamp"},
    {TSR_PREC_NS, "cpu a=1 12a", "bad timestamp"},
    {TSR_PREC_NS, "cpu a=1 -", "bad timestamp"},
    {TSR_PREC_NS, "cpu a=1 1.5", "bad timestamp"},
    {TSR_PREC_NS, "cpu a=1 1\t", "bad timestamp"},
    {TSR_PREC_NS, "cpu a=1 1 2", "point is invalid"},
    {TSR_PREC_NS, "cpu a=1 1 \t", "point is invalid"},
    {TSR_PREC_NS, "cpu a=1 9223372036854775807", RANGE},
    {TSR_PREC_NS, "cpu a=1 -9223372036854775807", RANGE},
    {TSR_PREC_NS, "cpu a=1 -9223372036854775808", RANGE},
    {TSR_PREC_NS, "cpu a=1 99999999999999999999", RANGE},
    {TSR_PREC_US, "cpu a=1 9223372036854776", RANGE},
    {TSR_PREC_MS, "cpu a=1 9223372036855", RANGE},
    {TSR_PREC_S, "cpu a=1 9223372037", RANGE},
    {TSR_PREC_S, "cpu a=1 -9223372037", RANGE},
    {TSR_PREC_M, "cpu a=1 153722868", RANGE},
    {TSR_PREC_H, "cpu a=1 2562048", RANGE},
    /* invalid UTF-8 wins over whatever grammar error it causes */
    {TSR_PREC_NS, "cpu\xff v=1", "invalid UTF-8"},
    {TSR_PREC_NS, "cpu,h=\xc3 v=1", "invalid UTF-8"},
    {TSR_PREC_NS, "cpu,h\xc0\xaf=a v=1", "invalid UTF-8"},
    {TSR_PREC_NS, "cpu s=\"\xed\xa0\x80\"", "invalid UTF-8"},
    {TSR_PREC_NS, "cpu s=\"\xf4\x90\x80\x80\"", "invalid UTF-8"},
    {TSR_PREC_NS, "cpu s=\"\xfe\"", "invalid UTF-8"},
    {TSR_PREC_NS, "cpu s=\"\\\xe2\x82\"", "invalid UTF-8"},
    {TSR_PREC_NS, "cpu a\\\xff=1", "invalid UTF-8"},
    {TSR_PREC_NS, "c\xe0\x80\x80pu v=1", "invalid UTF-8"},
    {TSR_PREC_NS, "cpu v=1 1\xff", "invalid UTF-8"},
    {TSR_PREC_NS, "cpu v=t\x80", "invalid UTF-8"},
};

static void test_valid_lines(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        struct tsr_lp_opts o = opts_for(valid[i].prec);
        check_line(valid[i].in, strlen(valid[i].in), &o, TSR_LP_OK, valid[i].want, valid[i].in);
    }
}

static void test_invalid_lines(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        struct tsr_lp_opts o = opts_for(invalid[i].prec);
        check_line(invalid[i].in, strlen(invalid[i].in), &o, TSR_LP_ERR, invalid[i].want,
                   invalid[i].in);
    }
}

/* A normalised line is a fixed point: parsing it again gives the same bytes. */
/* The two store rules say which one refused the line; parse errors say parse. */
static void test_error_kinds(void **state)
{
    static const struct {
        const char *in;
        enum tsr_lp_kind kind;
    } rows[] = {
        {"cpu,time=a v=1", TSR_LP_KIND_TIME_TAG},
        {"cpu,a=1,time=a time=1", TSR_LP_KIND_TIME_TAG},
        {"cpu time=1", TSR_LP_KIND_TIME_FIELD},
        {"cpu time=1 x", TSR_LP_KIND_PARSE},
        {"cpu v=", TSR_LP_KIND_PARSE},
        {"cpu,time=\xff v=1", TSR_LP_KIND_PARSE},
    };
    struct tsr_lp_opts o = opts_for(TSR_PREC_NS);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct tsr_buf out = {0};
        struct tsr_lp_result res;
        tsr_lp_parse_line(rows[i].in, rows[i].in + strlen(rows[i].in), &o, &out, &res);
        assert_int_equal(res.status, TSR_LP_ERR);
        if (res.kind != rows[i].kind)
            fail_msg("'%s': kind %d, want %d", rows[i].in, res.kind, rows[i].kind);
        tsr_buf_free(&out);
    }
    (void)state;
}

/* reject_unsigned: "invalid number", InfluxDB 1.x's answer; without it `u` is accepted. */
static void test_reject_unsigned(void **state)
{
    struct tsr_lp_opts o = opts_for(TSR_PREC_NS);
    check_line("m v=5u 1", 8, &o, TSR_LP_OK, "m v=5u 1\n", "5u allowed");
    o.reject_unsigned = 1;
    check_line("m v=5u 1", 8, &o, TSR_LP_ERR, "invalid number", "5u refused");
    check_line("m a=1,v=18446744073709551615u", 29, &o, TSR_LP_ERR, "invalid number", "max u");
    check_line("m v=5i 1", 8, &o, TSR_LP_OK, "m v=5i 1\n", "5i still fine");
    check_line("m v=\"5u\" 1", 10, &o, TSR_LP_OK, "m v=\"5u\" 1\n", "a string 5u");
    (void)state;
}

/* Reading a normalised line back: sections, every field's key and type, unescaping. */
/* The field reader stops at a '\r' only where it ends the line (see the regression rows
 * of valid[]). */
static void test_read_back_cr_key(void **state)
{
    static const char line[] = "m \rk=1i,\rj=2 5\r\n";
    struct tsr_lp_sections sec;
    tsr_lp_sections(line, strlen(line), &sec);
    assert_int_equal(sec.flen, strlen("\rk=1i,\rj=2"));
    const char *p = sec.fields, *end = sec.fields + sec.flen;
    struct tsr_lp_field f;
    assert_int_equal(tsr_lp_next_field(&p, end, &f), 0);
    assert_memory_equal(f.key, "\rk", f.klen);
    assert_int_equal(f.type, TSR_LP_INTEGER);
    assert_int_equal(tsr_lp_next_field(&p, end, &f), 0);
    assert_memory_equal(f.key, "\rj", f.klen);
    assert_int_equal(tsr_lp_next_field(&p, end, &f), -1);
    /* A field set ending the line at "\r\n": the reader stops there. */
    static const char bare[] = "\r\n";
    p = bare;
    assert_int_equal(tsr_lp_next_field(&p, bare + 2, &f), -1);
}

static void test_read_back(void **state)
{
    static const char line[] =
        "m\\ x\\,y,t=a\\ b f=1,i=-2i,u=3u,s=\"a,b \\\" c=d\",b=true,F=f,e\\,\\=\\ k=1e5 123\n";
    struct tsr_lp_sections sec;
    tsr_lp_sections(line, strlen(line), &sec);
    assert_int_equal(sec.mlen, strlen("m\\ x\\,y"));
    assert_memory_equal(sec.meas, "m\\ x\\,y", sec.mlen);
    assert_true(sec.flen > 0);
    assert_memory_equal(sec.fields + sec.flen, " 123\n", 5);

    static const struct {
        const char *key;
        enum tsr_lp_ftype type;
    } want[] = {
        {"f", TSR_LP_FLOAT},           {"i", TSR_LP_INTEGER}, {"u", TSR_LP_UNSIGNED},
        {"s", TSR_LP_STRING},          {"b", TSR_LP_BOOLEAN}, {"F", TSR_LP_BOOLEAN},
        {"e\\,\\=\\ k", TSR_LP_FLOAT},
    };
    const char *p = sec.fields, *end = sec.fields + sec.flen;
    struct tsr_lp_field f;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(tsr_lp_next_field(&p, end, &f), 0);
        assert_int_equal(f.klen, strlen(want[i].key));
        assert_memory_equal(f.key, want[i].key, f.klen);
        assert_int_equal(f.type, want[i].type);
    }
    assert_int_equal(tsr_lp_next_field(&p, end, &f), -1);
    assert_string_equal(tsr_lp_ftype_name(TSR_LP_INTEGER), "integer");
    assert_string_equal(tsr_lp_ftype_name(TSR_LP_FLOAT), "float");

    struct tsr_buf b = {0};
    tsr_lp_unescape(&b, sec.meas, sec.mlen, ", ");
    tsr_buf_putc(&b, '\0');
    assert_string_equal(b.data, "m x,y");
    b.len = 0;
    tsr_lp_unescape(&b, "e\\,\\=\\ k\\q\\", 11, ", =\"");
    tsr_buf_putc(&b, '\0');
    assert_string_equal(b.data, "e,= k\\q\\");
    tsr_buf_free(&b);
    (void)state;
}

static void test_normalised_is_fixed_point(void **state)
{
    (void)state;
    struct tsr_lp_opts o = opts_for(TSR_PREC_NS);
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        check_line(valid[i].want, strlen(valid[i].want), &o, TSR_LP_OK, valid[i].want,
                   valid[i].want);
    }
}

static void test_skip_lines(void **state)
{
    (void)state;
    static const char *const skips[] = {
        "\n",
        "   \n",
        "\t\n",
        "\r\n",
        " \r\n",
        "# comment\n",
        "   # comment",
        "#",
        "#cpu value=1 1\n",
        "  \t",
        "# s=\"unbalanced\n",
    };
    struct tsr_lp_opts o = opts_for(TSR_PREC_NS);
    for (size_t i = 0; i < sizeof(skips) / sizeof(skips[0]); i++)
        check_line(skips[i], strlen(skips[i]), &o, TSR_LP_SKIP, NULL, skips[i]);
}

/* NUL is whitespace before a section, as in InfluxDB, and an ordinary byte elsewhere. */
static void test_nul_bytes(void **state)
{
    (void)state;
    struct tsr_lp_opts o = opts_for(TSR_PREC_NS);
    static const char lead[] = "\0\0cpu \0v=1 \0 1";
    check_line(lead, sizeof(lead) - 1, &o, TSR_LP_OK, "cpu v=1 1\n", "leading NUL");
    static const char mid[] = "cpu,a=x\0y s=\"a\0b\" 1";
    struct tsr_buf out = {0};
    struct tsr_lp_result res;
    tsr_lp_parse_line(mid, mid + sizeof(mid) - 1, &o, &out, &res);
    assert_int_equal(res.status, TSR_LP_OK);
    static const char want[] = "cpu,a=x\0y s=\"a\0b\" 1\n";
    assert_int_equal(out.len, sizeof(want) - 1);
    assert_memory_equal(out.data, want, sizeof(want) - 1);
    tsr_buf_free(&out);
}

struct step {
    enum tsr_lp_status status;
    size_t consumed;
    size_t line_len;
};

/* Walks a body line by line, checking where each line ends. */
static void walk(const char *body, size_t len, const struct step *steps, size_t nsteps,
                 const char *want_out)
{
    struct tsr_lp_opts o = opts_for(TSR_PREC_NS);
    struct tsr_buf out = {0};
    const char *p = body, *end = body + len;
    size_t i = 0;

    for (; p < end; i++) {
        struct tsr_lp_result res;
        tsr_lp_parse_line(p, end, &o, &out, &res);
        assert_true(i < nsteps);
        if (res.status != steps[i].status || res.consumed != steps[i].consumed ||
            res.line_len != steps[i].line_len) {
            fail_msg("line %zu: status %d consumed %zu len %zu (%s), want %d %zu %zu", i,
                     res.status, res.consumed, res.line_len, res.reason ? res.reason : "-",
                     steps[i].status, steps[i].consumed, steps[i].line_len);
        }
        p += res.consumed;
    }
    assert_int_equal(i, nsteps);
    assert_int_equal(out.len, strlen(want_out));
    assert_memory_equal(out.data, want_out, out.len);
    tsr_buf_free(&out);
}

static void test_consumed_multiline(void **state)
{
    (void)state;
    static const char body[] = "cpu v=1 1\n"             /* 10 */
                               "cpu v=2 2\r\n"           /* 11 */
                               "\n"                      /* 1 */
                               "# c\r\n"                 /* 5 */
                               "cpu s=\"a\nb\" 3\n"      /* 14: the quoted '\n' stays */
                               "bad\r\n"                 /* 5 */
                               "cpu,host= v=1\n"         /* 14: error, next line kept */
                               "cpu s=\"x\\\"\n\" 4\r\n" /* 16 */
                               "cpu v=3";                /* 7, no newline */
    static const struct step steps[] = {
        {TSR_LP_OK, 10, 9},   {TSR_LP_OK, 11, 9},  {TSR_LP_SKIP, 1, 0},
        {TSR_LP_SKIP, 5, 3},  {TSR_LP_OK, 14, 13}, {TSR_LP_ERR, 5, 3},
        {TSR_LP_ERR, 14, 13}, {TSR_LP_OK, 16, 14}, {TSR_LP_OK, 7, 7},
    };
    walk(body, sizeof(body) - 1, steps, sizeof(steps) / sizeof(steps[0]),
         "cpu v=1 1\ncpu v=2 2\ncpu s=\"a\nb\" 3\ncpu s=\"x\\\"\n\" 4\ncpu v=3 " NOWS "\n");
}

/* A bad line ends at its '\n' whatever went wrong, except inside an open string. */
static void test_consumed_after_errors(void **state)
{
    (void)state;
    static const char body[] = "cpu a=1.2.3,s=\"x\ny\" 1\n" /* 22: the string still spans */
                               "cpu\xff v=1\n"              /* 9 */
                               "cpu a=1 1 junk\r\n"         /* 16 */
                               "cpu s=\"open\nv=1 1\n";     /* unbalanced: runs to the end */
    static const struct step steps[] = {
        {TSR_LP_ERR, 22, 21},
        {TSR_LP_ERR, 9, 8},
        {TSR_LP_ERR, 16, 14},
        {TSR_LP_ERR, 18, 18},
    };
    walk(body, sizeof(body) - 1, steps, sizeof(steps) / sizeof(steps[0]), "");
}

static void test_series_hash(void **state)
{
    (void)state;
    struct tsr_lp_opts o = opts_for(TSR_PREC_NS);
    struct tsr_buf out = {0};
    struct tsr_lp_result a, b, c, d;
    const char *l1 = "cpu,host=a,region=b,zone=c v=1 1";
    const char *l2 = "cpu,zone=c,host=a,region=b x=2i 2";
    const char *l3 = "cpu,host=a,region=b,zone=d v=1 1";
    const char *l4 = "cpu,region=b,zone=c,host=a v=1";

    tsr_lp_parse_line(l1, l1 + strlen(l1), &o, &out, &a);
    tsr_lp_parse_line(l2, l2 + strlen(l2), &o, &out, &b);
    tsr_lp_parse_line(l3, l3 + strlen(l3), &o, &out, &c);
    tsr_lp_parse_line(l4, l4 + strlen(l4), &o, &out, &d);
    assert_int_equal(a.status, TSR_LP_OK);
    assert_int_equal(b.status, TSR_LP_OK);
    assert_int_equal(d.status, TSR_LP_OK);
    assert_true(a.series_hash == b.series_hash);
    assert_true(a.series_hash == d.series_hash);
    assert_true(a.series_hash != c.series_hash);
    const char *key = "cpu,host=a,region=b,zone=c";
    assert_true(a.series_hash == tsr_fnv1a64(TSR_FNV1A64_INIT, key, strlen(key)));
    tsr_buf_free(&out);
}

/* The key is hashed a piece per field scanned: keys of every length, with few or many
 * fields, sorted or not, must hash exactly as tsr_fnv1a64 does. */
static void test_series_hash_lengths(void **state)
{
    (void)state;
    struct tsr_lp_opts o = opts_for(TSR_PREC_NS);
    char line[256], key[128];
    for (size_t klen = 1; klen < 70; klen++) {
        for (int nf = 1; nf <= 12; nf += 11) {
            for (int unsorted = 0; unsorted < 2; unsorted++) {
                /* klen bytes: "m...m" alone, or "m...m,a=x,b=y" once there is room */
                const char *tags = unsorted ? ",b=y,a=x" : ",a=x,b=y";
                size_t m = klen > 8 ? klen - 8 : klen;
                memset(key, 'm', m);
                size_t k = m;
                if (klen > 8) {
                    memcpy(key + k, ",a=x,b=y", 8);
                    k += 8;
                }
                assert_int_equal(k, klen);
                size_t n = (size_t)sprintf(line, "%.*s%s", (int)m, key, klen > 8 ? tags : "");
                for (int f = 0; f < nf; f++)
                    n += (size_t)sprintf(line + n, "%cf%d=1", f ? ',' : ' ', f);
                struct tsr_buf out = {0};
                struct tsr_lp_result res;
                tsr_lp_parse_line(line, line + n, &o, &out, &res);
                assert_int_equal(res.status, TSR_LP_OK);
                assert_true(res.series_hash == tsr_fnv1a64(TSR_FNV1A64_INIT, key, k));
                tsr_buf_free(&out);
            }
        }
    }
}

static void test_max_line_bytes(void **state)
{
    (void)state;
    struct tsr_lp_opts o = opts_for(TSR_PREC_NS);
    o.max_line_bytes = 20;
    /* 20 bytes exactly, with or without a line ending */
    check_line("cpu,h=abcd v=1 12345", 20, &o, TSR_LP_OK, "cpu,h=abcd v=1 12345\n", "20");
    check_line("cpu,h=abcd v=1 12345\r\nx", 23, &o, TSR_LP_OK, "cpu,h=abcd v=1 12345\n", "20 crlf");
    check_line("cpu,h=abcd v=1 123456", 21, &o, TSR_LP_ERR, "line too long", "21");
    check_line("cpu,h=abcd v=1 123456\nnext", 26, &o, TSR_LP_ERR, "line too long", "21 nl");
    /* a '\r' right at the cut-off is not the end of a blank line */
    struct tsr_lp_opts o4 = o;
    o4.max_line_bytes = 4;
    check_line("     \rx v=1 1", 13, &o4, TSR_LP_ERR, "line too long", "cr at cut-off");
    check_line("    \r\nx", 7, &o4, TSR_LP_SKIP, NULL, "blank line at the limit");

    /* A huge line is refused and consumed whole, even with an open quote past the limit
     * or invalid UTF-8 in it. */
    size_t n = 1 << 20;
    char *big = malloc(n + 16);
    assert_non_null(big);
    memcpy(big, "cpu s=\"", 7);
    memset(big + 7, 'x', n - 7);
    big[1000] = '\xff';
    memcpy(big + n, "\" 1\ncpu v=1", 11);
    struct tsr_buf out = {0};
    struct tsr_lp_result res;
    tsr_lp_parse_line(big, big + n + 11, &o, &out, &res);
    assert_int_equal(res.status, TSR_LP_ERR);
    assert_string_equal(res.reason, "line too long");
    assert_int_equal(res.line_len, n + 3);
    assert_int_equal(res.consumed, n + 4);
    assert_int_equal(out.len, 0);
    free(big);
    tsr_buf_free(&out);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Builds "m,t<perm(i)>=v,... f=1 1" with n tags, in reverse order if `reverse`. */
static char *many_tags(unsigned n, bool reverse, bool dup, size_t *len)
{
    char *s = malloc(32 + (size_t)n * 16);
    if (!s) abort();
    size_t k = (size_t)sprintf(s, "m");
    for (unsigned i = 0; i < n; i++) {
        unsigned t = reverse ? n - 1 - i : i;
        if (dup && i == n - 1) t = n / 2;
        k += (size_t)sprintf(s + k, ",t%05u=v%u", t, t);
    }
    k += (size_t)sprintf(s + k, " f=1 1");
    *len = k;
    return s;
}

static void test_max_tags(void **state)
{
    (void)state;
    struct tsr_lp_opts o = opts_for(TSR_PREC_NS);
    o.max_tags = 2;
    check_line("cpu,a=1,b=2 v=1 1", 17, &o, TSR_LP_OK, "cpu,a=1,b=2 v=1 1\n", "2 tags");
    check_line("cpu,a=1,b=2,c=3 v=1 1", 21, &o, TSR_LP_ERR, "too many tags", "3 tags");

    /* 10,000 unsorted tags against a limit of 100: refused before any sorting. */
    size_t len;
    char *s = many_tags(10000, true, false, &len);
    o.max_tags = 100;
    struct tsr_buf out = {0};
    struct tsr_lp_result res;
    double t0 = now_s();
    for (int i = 0; i < 100; i++)
        tsr_lp_parse_line(s, s + len, &o, &out, &res);
    double per = (now_s() - t0) / 100;
    assert_int_equal(res.status, TSR_LP_ERR);
    assert_string_equal(res.reason, "too many tags");
    assert_int_equal(res.consumed, len);
    assert_true(per < 0.002);
    free(s);
    tsr_buf_free(&out);
}

/* Without a limit, many unsorted tags go through the heap sort and the scratch space
 * borrowed from `out`, which must not disturb what `out` already holds. */
static void test_many_unsorted_tags(void **state)
{
    (void)state;
    struct tsr_lp_opts o = opts_for(TSR_PREC_NS);
    size_t len, slen;
    char *rev = many_tags(3000, true, false, &len);
    char *fwd = many_tags(3000, false, false, &slen);
    struct tsr_buf out = {0};
    struct tsr_lp_result res;

    tsr_buf_puts(&out, "keep");
    tsr_lp_parse_line(rev, rev + len, &o, &out, &res);
    assert_int_equal(res.status, TSR_LP_OK);
    assert_int_equal(out.len, 4 + slen + 1);
    assert_memory_equal(out.data, "keep", 4);
    assert_memory_equal(out.data + 4, fwd, slen);
    free(rev);

    char *dup = many_tags(3000, true, true, &len);
    size_t before = out.len;
    tsr_lp_parse_line(dup, dup + len, &o, &out, &res);
    assert_int_equal(res.status, TSR_LP_ERR);
    assert_string_equal(res.reason, "duplicate tags");
    assert_int_equal(out.len, before);
    assert_memory_equal(out.data + 4, fwd, slen);
    free(dup);
    free(fwd);
    tsr_buf_free(&out);
}

static void test_max_key_length(void **state)
{
    (void)state;
    struct tsr_lp_opts o = opts_for(TSR_PREC_NS);
    size_t n = 65536;
    char *s = malloc(n + 32);
    assert_non_null(s);
    memset(s, 'm', n);
    memcpy(s + n, " v=1 1", 6);
    check_line(s, n + 6, &o, TSR_LP_ERR, "max key length exceeded", "long measurement");
    /* measurement + 4 + field key may not pass 65535 either */
    memcpy(s + 65530, " ab=1 1", 7);
    check_line(s, 65537, &o, TSR_LP_ERR, "max key length exceeded", "long series key");
    memcpy(s + 65529, " a=1 1", 6);
    check_line(s, 65535, &o, TSR_LP_OK, NULL, NULL);
    free(s);
}

static void test_precision_parse(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        enum tsr_precision p;
    } ok[] = {
        {"", TSR_PREC_NS},   {"n", TSR_PREC_NS},        {"ns", TSR_PREC_NS}, {"u", TSR_PREC_US},
        {"us", TSR_PREC_US}, {"\xc2\xb5", TSR_PREC_US}, {"ms", TSR_PREC_MS}, {"s", TSR_PREC_S},
        {"m", TSR_PREC_M},   {"h", TSR_PREC_H},
    };
    enum tsr_precision p;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        p = TSR_PREC_H + 1;
        assert_int_equal(tsr_precision_parse(ok[i].s, &p), 0);
        assert_int_equal(p, ok[i].p);
    }
    assert_int_equal(tsr_precision_parse(NULL, &p), 0);
    assert_int_equal(p, TSR_PREC_NS);
    static const char *const bad[] = {"x", "S", "sec", "nss", "mss", " s", "us ", "d"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(tsr_precision_parse(bad[i], &p), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_lines),
        cmocka_unit_test(test_invalid_lines),
        cmocka_unit_test(test_error_kinds),
        cmocka_unit_test(test_reject_unsigned),
        cmocka_unit_test(test_read_back),
        cmocka_unit_test(test_read_back_cr_key),
        cmocka_unit_test(test_normalised_is_fixed_point),
        cmocka_unit_test(test_skip_lines),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_consumed_multiline),
        cmocka_unit_test(test_consumed_after_errors),
        cmocka_unit_test(test_series_hash),
        cmocka_unit_test(test_series_hash_lengths),
        cmocka_unit_test(test_max_line_bytes),
        cmocka_unit_test(test_max_tags),
        cmocka_unit_test(test_many_unsorted_tags),
        cmocka_unit_test(test_max_key_length),
        cmocka_unit_test(test_precision_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

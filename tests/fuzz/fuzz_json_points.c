/* tests/fuzz/fuzz_json_points.c — libFuzzer target for relay/ingest/json_points.c.
 *
 * The input's first byte picks a conf (time format, name key, tag keys, string fields);
 * the rest is a Kafka record of a json input. Besides the sanitizers, it checks:
 *   - convert returns -1 with a reason and out exactly as it was (the prefix kept), or
 *     n >= 1 with n lines appended, each ending in '\n';
 *   - every line it wrote is line protocol the relay's own parser takes (TSR_LP_OK),
 *     since the input feeds them to it: a conversion must never produce a line that is
 *     then dead-lettered as the relay's own fault.
 * Build and run with tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "relay/core/lineproto.h"
#include "relay/ingest/json_points.h"

static const char prefix[] = "kept\n";

static struct tsr_json_points *conf(unsigned pick)
{
    static struct tsr_json_points *jp[4];
    static const char *const tags[] = {"station", "host", "t_*"};
    static const char *const strs[] = {"msg", "ok"};
    static const struct tsr_json_conf c[4] = {
        {.measurement = "kafka_consumer", .time_key = "", .time_format = "unix"},
        {.measurement = "m",
         .name_key = "name",
         .tag_keys = tags,
         .ntag_keys = 3,
         .string_fields = strs,
         .nstring_fields = 2,
         .time_key = "ts",
         .time_format = "unix_ms"},
        {.measurement = "m",
         .tag_keys = tags,
         .ntag_keys = 1,
         .time_key = "time",
         .time_format = "rfc3339"},
        {.measurement = "m",
         .name_key = "",
         .time_key = "t",
         .time_format = "2006-01-02 15:04:05.000 -0700"},
    };
    pick %= 4;
    char err[256];
    if (!jp[pick]) CHECK(tsr_json_points_new(&c[pick], &jp[pick], err, sizeof(err)) == 0);
    return jp[pick];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    struct tsr_json_points *jp = conf(data[0]);
    struct tsr_buf out = {0}, why = {0};
    tsr_buf_append(&out, prefix, sizeof(prefix) - 1);
    long n = tsr_json_points_convert(jp, (const char *)data + 1, size - 1, 1700000000000000000,
                                     &out, &why);
    CHECK(out.len >= sizeof(prefix) - 1 && memcmp(out.data, prefix, sizeof(prefix) - 1) == 0);
    if (n < 0) {
        CHECK(n == -1 && why.len > 0 && out.len == sizeof(prefix) - 1);
    } else {
        CHECK(n >= 1);
        const char *p = out.data + sizeof(prefix) - 1, *end = out.data + out.len;
        struct tsr_lp_opts opts = {.precision = TSR_PREC_NS, .now_ns = 1};
        struct tsr_buf norm = {0};
        long lines = 0;
        while (p < end) {
            struct tsr_lp_result res;
            norm.len = 0;
            tsr_lp_parse_line(p, end, &opts, &norm, &res);
            if (res.status != TSR_LP_OK)
                fprintf(stderr, "line %ld refused: %s: %.*s\n", lines + 1, res.reason,
                        (int)res.line_len, p);
            CHECK(res.status == TSR_LP_OK);
            CHECK(res.consumed > 0 && p[res.consumed - 1] == '\n');
            p += res.consumed;
            lines++;
        }
        CHECK(lines == n);
        tsr_buf_free(&norm);
    }
    tsr_buf_free(&out);
    tsr_buf_free(&why);
    return 0;
}

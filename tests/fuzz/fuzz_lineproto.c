/* tests/fuzz/fuzz_lineproto.c — libFuzzer target for relay/core/lineproto.c.
 *
 * The first input byte picks the options (precision, and whether max_line_bytes and
 * max_tags are set), the rest is a request body walked line by line as the HTTP ingest
 * does. Besides the sanitizers, it checks the contract of tsr_lp_parse_line:
 *   - every call consumes at least one byte and never more than is left;
 *   - OK appends exactly one line ending in '\n'; ERR and SKIP leave `out` untouched;
 *   - a normalised line parses again (nanoseconds, no limits) to the same bytes and hash;
 *   - the line parsed alone, from an exact-size copy, gives the same result: the parser
 *     reads 16 and 64 bytes at a time where it can, and must not depend on what follows
 *     the line or on where its blocks fall.
 * Build and run with tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "relay/core/lineproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    struct tsr_lp_opts opts = {
        .precision = (enum tsr_precision)(data[0] % 6),
        .now_ns = 1700000000123456789LL,
        .max_line_bytes = (data[0] & 0x40) ? 48 : 0,
        .max_tags = (data[0] & 0x80) ? 3 : 0,
    };
    /* The normalised line may be longer than the raw one (a timestamp added), so the
     * re-parse runs without limits. */
    const struct tsr_lp_opts again = {.precision = TSR_PREC_NS, .now_ns = -1};
    const char *p = (const char *)data + 1;
    const char *end = (const char *)data + size;
    struct tsr_buf out = {0}, re = {0}, shadow = {0}, alone = {0};

    while (p < end) {
        struct tsr_lp_result res;
        size_t before = out.len;
        tsr_lp_parse_line(p, end, &opts, &out, &res);
        CHECK(res.consumed > 0 && res.consumed <= (size_t)(end - p));
        CHECK(res.line_len <= res.consumed && res.consumed - res.line_len <= 2);

        char *copy = malloc(res.consumed);
        memcpy(copy, p, res.consumed);
        struct tsr_lp_result res1;
        alone.len = 0;
        tsr_lp_parse_line(copy, copy + res.consumed, &opts, &alone, &res1);
        CHECK(res1.status == res.status && res1.consumed == res.consumed);
        CHECK(res1.line_len == res.line_len && res1.series_hash == res.series_hash);
        CHECK(res1.reason == res.reason || strcmp(res1.reason, res.reason) == 0);
        CHECK(alone.len == out.len - before);
        CHECK(!alone.len || memcmp(alone.data, out.data + before, alone.len) == 0);
        free(copy);
        if (res.status == TSR_LP_OK) {
            size_t n = out.len - before;
            const char *line = out.data + before;
            CHECK(n >= 2 && line[n - 1] == '\n');
            CHECK(res.reason == NULL);
            if (opts.max_line_bytes) CHECK(res.line_len <= opts.max_line_bytes);

            struct tsr_lp_result res2;
            re.len = 0;
            tsr_lp_parse_line(line, line + n, &again, &re, &res2);
            if (res2.status != TSR_LP_OK) {
                fprintf(stderr, "re-parse failed (%s): '%.*s'\n", res2.reason, (int)n, line);
                abort();
            }
            CHECK(res2.consumed == n);
            CHECK(re.len == n && memcmp(re.data, line, n) == 0);
            CHECK(res2.series_hash == res.series_hash);
            tsr_buf_append(&shadow, line, n);
        } else {
            CHECK(out.len == before);
            CHECK(out.len == shadow.len);
            CHECK(!out.len || memcmp(out.data, shadow.data, out.len) == 0);
            CHECK(res.status == TSR_LP_SKIP || res.reason != NULL);
        }
        p += res.consumed;
    }
    tsr_buf_free(&out);
    tsr_buf_free(&re);
    tsr_buf_free(&shadow);
    tsr_buf_free(&alone);
    return 0;
}

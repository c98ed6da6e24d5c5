/* tests/fuzz/fuzz_gzip.c — libFuzzer target for relay/core/gzip.c.
 *
 * The input is a request body sent with Content-Encoding: gzip. Besides the sanitizers,
 * it checks:
 *   - tsr_gunzip with a 1 MiB limit returns 0, -1 or -2, never lets out grow past the
 *     limit, and appends to what out already held (the prefix is left alone);
 *   - it agrees with zlib's stream decoder alone (tsr_gunzip_stream) on the result and
 *     the bytes, so libdeflate's whole-buffer fast path changes nothing;
 *   - tsr_gzip of the input, then tsr_gunzip, gives the input back exactly.
 * Build and run with tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "relay/core/gzip.h"

#define MAX (1u << 20)
static const char prefix[] = "kept";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tsr_buf out = {0};
    tsr_buf_append(&out, prefix, 4);
    int rc = tsr_gunzip(data, size, &out, 4 + MAX);
    CHECK(rc == 0 || rc == -1 || rc == -2);
    CHECK(out.len >= 4 && out.len <= 4 + MAX && memcmp(out.data, prefix, 4) == 0);
    struct tsr_buf ref = {0};
    tsr_buf_append(&ref, prefix, 4);
    CHECK(tsr_gunzip_stream(data, size, &ref, 4 + MAX) == rc);
    CHECK(ref.len == out.len && memcmp(ref.data, out.data, out.len) == 0);
    tsr_buf_free(&ref);
    tsr_buf_free(&out);

    struct tsr_buf z = {0}, back = {0};
    CHECK(tsr_gzip(data, size, (size ? data[0] % 9 : 0) + 1, &z) == 0);
    CHECK(tsr_gunzip(z.data, z.len, &back, size) == 0);
    CHECK(back.len == size && (size == 0 || memcmp(back.data, data, size) == 0));
    tsr_buf_free(&z);
    tsr_buf_free(&back);
    return 0;
}

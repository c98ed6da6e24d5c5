/* bench/gzipbench.c — what gzip to a cluster costs per line: libdeflate (the relay's
 * tsr_gzip, level 1) against zlib at level 1 (what the relay used before), on 5,000-line
 * batches of the lines loadgen sends, and decoding (tsr_gunzip) for gzip request bodies.
 * Prints ns per line and the compressed size of each. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <zlib.h>

#include "relay/core/buf.h"
#include "relay/core/gzip.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static size_t zlib_gzip(const struct tsr_buf *in, struct tsr_buf *out)
{
    z_stream zs = {0};
    if (deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) exit(1);
    out->len = 0;
    tsr_buf_reserve(out, deflateBound(&zs, in->len));
    zs.next_in = (Bytef *)in->data;
    zs.avail_in = (uInt)in->len;
    zs.next_out = (Bytef *)out->data;
    zs.avail_out = (uInt)out->cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) exit(1);
    deflateEnd(&zs);
    return zs.total_out;
}

int main(int argc, char **argv)
{
    int lines = 5000, rounds = argc > 1 ? atoi(argv[1]) : 200;
    struct tsr_buf body = {0}, gz = {0}, zl = {0}, back = {0};
    for (int n = 0; n < lines; n++)
        tsr_buf_printf(&body, "bench,host=h%d,region=r%d f1=%d,f2=%d.25,f3=%d %lld\n", n % 10000,
                       n % 8, n, n % 977, n % 13, 1700000000000000000LL + n * 1000000LL);
    double t0 = now_s();
    for (int r = 0; r < rounds; r++) {
        gz.len = 0;
        if (tsr_gzip(body.data, body.len, 1, &gz) != 0) return 1;
    }
    double t1 = now_s();
    size_t zlen = 0;
    for (int r = 0; r < rounds; r++) zlen = zlib_gzip(&body, &zl);
    double t2 = now_s();
    for (int r = 0; r < rounds; r++) {
        back.len = 0;
        if (tsr_gunzip(gz.data, gz.len, &back, body.len) != 0 || back.len != body.len) return 1;
    }
    double t3 = now_s();
    double per = 1e9 / ((double)lines * rounds);
    printf("gzip level 1, %d-line batches of %zu bytes:\n", lines, body.len);
    printf("  libdeflate (tsr_gzip)  %6.1f ns/line  %zu bytes\n", (t1 - t0) * per, gz.len);
    printf("  zlib                   %6.1f ns/line  %zu bytes\n", (t2 - t1) * per, zlen);
    printf("  libdeflate / zlib      %6.2f\n", (t1 - t0) / (t2 - t1));
    printf("  decode (tsr_gunzip)    %6.1f ns/line\n", (t3 - t2) * per);
    tsr_buf_free(&body);
    tsr_buf_free(&gz);
    tsr_buf_free(&zl);
    tsr_buf_free(&back);
    return 0;
}

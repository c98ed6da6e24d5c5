/* bench/parsebench.c — the parser alone: ns per line for tsr_lp_parse_line on the same
 * 3-field lines loadgen sends, so the ingest figure can be split into parsing and the
 * rest (HTTP, partitioning, Kafka). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "relay/core/buf.h"
#include "relay/core/lineproto.h"

int main(int argc, char **argv)
{
    int nlines = 100000, rounds = argc > 1 ? atoi(argv[1]) : 30;
    struct tsr_buf body = {0}, out = {0};
    for (int n = 0; n < nlines; n++)
        tsr_buf_printf(&body, "bench,host=h%d,region=r%d f1=%d,f2=%d.25,f3=%d %lld\n", n % 1000,
                       n % 8, n, n % 977, n % 13, 1700000000000000000LL + n * 1000LL);
    struct tsr_lp_opts opts = {.precision = TSR_PREC_NS, .now_ns = 1, .max_line_bytes = 1 << 20,
                               .max_tags = 256};
    struct tsr_lp_result res;
    struct timespec t0, t1;
    long ok = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < rounds; r++) {
        const char *p = body.data, *end = body.data + body.len;
        out.len = 0;
        while (p < end) {
            tsr_lp_parse_line(p, end, &opts, &out, &res);
            ok += res.status == TSR_LP_OK;
            p += res.consumed;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    printf("parse: %ld lines, %.1f ns/line, %.0f MB/s\n", ok, ns / ok,
           (double)body.len * rounds / (ns / 1e9) / 1e6);
    tsr_buf_free(&body);
    tsr_buf_free(&out);
    return ok == (long)nlines * rounds ? 0 : 1;
}

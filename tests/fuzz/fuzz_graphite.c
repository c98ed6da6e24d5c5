/* tests/fuzz/fuzz_graphite.c — libFuzzer target for relay/ingest/graphite.c.
 *
 * The input is templates, a NUL byte, then Graphite plaintext lines. Everything before
 * the first NUL is a list of template specs, one per line (at most 16); a first line
 * "separator=S" sets the separator instead. With no NUL the whole input is lines and the
 * template set is empty. After the sanitizers, it checks:
 *   - tsr_graphite_tmpl_compile returns 0 with a set, or -1 with a message and NULL;
 *   - tsr_graphite_line returns 0, -1 or 1; 0 appends exactly one line ending in '\n'
 *     that tsr_lp_parse_line takes back unchanged with the same series hash (graphite
 *     points are normalised line protocol); -1 sets a reason; -1 and 1 leave out alone.
 * Build and run with tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "relay/ingest/graphite.h"
#include "relay/core/lineproto.h"

#define MAX_SPECS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data, *end = in + size;
    const char *nul = memchr(in, '\0', size);
    const char *p = nul ? nul + 1 : in;

    /* Split the template section into NUL-terminated lines. */
    char *tsec = nul ? strndup(in, (size_t)(nul - in)) : strdup("");
    char *specs[MAX_SPECS];
    size_t nspecs = 0;
    const char *sep = NULL;
    for (char *save = NULL, *l = strtok_r(tsec, "\n", &save); l && nspecs < MAX_SPECS;
         l = strtok_r(NULL, "\n", &save)) {
        if (nspecs == 0 && !sep && strncmp(l, "separator=", 10) == 0)
            sep = l + 10;
        else
            specs[nspecs++] = l;
    }

    struct tsr_graphite_tmpl *t = NULL;
    char err[256] = "";
    if (tsr_graphite_tmpl_compile((const char *const *)specs, nspecs, sep, &t, err, sizeof(err)) !=
        0) {
        CHECK(t == NULL && err[0] != '\0');
        free(tsec);
        return 0;
    }
    CHECK(t != NULL);

    const struct tsr_lp_opts again = {.precision = TSR_PREC_NS, .now_ns = -1};
    struct tsr_buf out = {0}, re = {0};
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        /* An exact-size copy, so reading past the line is an ASan report. */
        char *line = malloc(len ? len : 1);
        memcpy(line, p, len);
        size_t before = out.len;
        uint64_t hash = 0;
        const char *reason = NULL;
        int rc = tsr_graphite_line(t, line, len, 1700000000123456789LL, &out, &hash, &reason);
        CHECK(rc == 0 || rc == -1 || rc == 1);
        if (rc == 0) {
            size_t n = out.len - before;
            const char *pt = out.data + before;
            CHECK(n >= 2 && pt[n - 1] == '\n');
            CHECK(memchr(pt, '\n', n - 1) == NULL);
            struct tsr_lp_result res;
            re.len = 0;
            tsr_lp_parse_line(pt, pt + n, &again, &re, &res);
            if (res.status != TSR_LP_OK) {
                fprintf(stderr, "re-parse failed (%s): '%.*s'\n", res.reason, (int)n, pt);
                abort();
            }
            CHECK(res.consumed == n && re.len == n && memcmp(re.data, pt, n) == 0);
            CHECK(res.series_hash == hash);
        } else {
            CHECK(out.len == before);
            if (rc == -1) CHECK(reason != NULL && reason[0] != '\0');
        }
        free(line);
        p += len + (nl != NULL);
    }
    tsr_buf_free(&out);
    tsr_buf_free(&re);
    tsr_graphite_tmpl_free(&t);
    CHECK(t == NULL);
    free(tsec);
    return 0;
}

/* bench/shapebench.c — the shaper alone, on the lines loadgen sends: ns per line to
 * apply bench/rules20.yaml after parsing, beside parsing alone; and the cardinality
 * guard's memory and ns per line admitting 1,000,000 distinct series.
 *
 *   shapebench RULES_YAML [ROUNDS]   (bench/shaping.sh runs it) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "relay/core/buf.h"
#include "relay/core/lineproto.h"
#include "relay/shape/cardinality.h"
#include "relay/shape/rules.h"

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static struct tsr_config *load(const char *rules_path, const char *extra)
{
    FILE *f = fopen(rules_path, "r");
    if (!f) {
        perror(rules_path);
        exit(1);
    }
    struct tsr_buf y = {0};
    tsr_buf_printf(&y, "datacenter: b\nkafka: {brokers: 'k:1', topic: t}\nstate_dir: /tmp/x\n%s\n", extra);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) tsr_buf_append(&y, chunk, n);
    fclose(f);
    struct tsr_config *cf;
    char err[512];
    if (tsr_config_load_string(y.data, y.len, rules_path, &cf, err, sizeof(err))) {
        fprintf(stderr, "shapebench: %s\n", err);
        exit(1);
    }
    tsr_buf_free(&y);
    return cf;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: shapebench RULES_YAML [ROUNDS]\n");
        return 2;
    }
    int nlines = 100000, rounds = argc > 2 ? atoi(argv[2]) : 30;
    int nseries_lines = getenv("SHAPEBENCH_SERIES") ? atoi(getenv("SHAPEBENCH_SERIES")) : 10000;
    struct tsr_config *cf = load(argv[1], "");
    struct tsr_rules *rules;
    char err[512];
    if (tsr_rules_compile(cf->rules, cf->nrules, "rules", &rules, err, sizeof(err))) {
        fprintf(stderr, "shapebench: %s\n", err);
        return 1;
    }
    struct tsr_buf body = {0}, norm = {0}, out = {0};
    for (int i = 0; i < nlines; i++)
        tsr_buf_printf(&body, "bench,host=h%d,region=r%d f1=%d,f2=%d.25,f3=%d %lld\n", i % nseries_lines,
                       i % 8, i, i % 977, i % 13, 1700000000000000000LL + i * 1000LL);
    struct tsr_lp_opts opts = {.now_ns = 1, .max_line_bytes = 1 << 20, .max_tags = 256};
    struct tsr_lp_result res;
    /* The normalised lines, once, for the rules alone, with the parser's series hashes. */
    uint64_t *hashes = malloc(sizeof(uint64_t) * (size_t)nlines);
    int nh = 0;
    for (const char *p = body.data, *end = p + body.len; p < end; p += res.consumed) {
        tsr_lp_parse_line(p, end, &opts, &norm, &res);
        hashes[nh++] = res.series_hash;
    }
    double t0 = now_ns();
    long kept = 0, rewritten = 0;
    for (int r = 0; r < rounds; r++) {
        int li = 0;
        for (const char *p = norm.data, *end = p + norm.len; p < end; li++) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            struct tsr_rules_result rr;
            out.len = 0;
            tsr_rules_apply_series(rules, "bench", p, (size_t)(nl - p), hashes[li], &out, &rr);
            kept += rr.verdict != TSR_RULES_DROPPED;
            rewritten += rr.verdict == TSR_RULES_REWRITTEN;
            p = nl + 1;
        }
    }
    double t1 = now_ns();
    long total = (long)nlines * rounds;
    printf("rules: %zu rules over %ld lines of %d series: %.1f ns/line (%ld kept, %ld "
           "rewritten)\n", cf->nrules, total, nseries_lines, (t1 - t0) / total, kept, rewritten);
    free(hashes);

    if (argc > 3 && strcmp(argv[3], "rules") == 0) return 0; /* for a profile of the rules */
    /* The guard: 1,000,000 distinct series, all admitted (cap above them). */
    struct tsr_config *gcf = load(argv[1], "cardinality: {max_series: 2000000}\n");
    struct tsr_cardinality *g = tsr_cardinality_new(gcf);
    struct tsr_buf line = {0}, why = {0};
    int nseries = 1000000, refused = 0;
    double t2 = now_ns();
    for (int i = 0; i < nseries; i++) {
        line.len = 0;
        struct tsr_buf raw = {0};
        tsr_buf_printf(&raw, "bench,host=h%d,region=r%d f1=1 1", i, i % 8);
        tsr_lp_parse_line(raw.data, raw.data + raw.len, &opts, &line, &res);
        tsr_buf_free(&raw);
        refused += tsr_cardinality_admit(g, "bench", line.data, line.len - 1, res.series_hash,
                                         1000, &why) != 0;
    }
    double t3 = now_ns();
    struct tsr_buf js = {0};
    tsr_cardinality_json(g, 1000, &js);
    tsr_buf_putc(&js, '\0');
    const char *mem = strstr(js.data, "\"memory_bytes\":");
    printf("guard: %d distinct series admitted (%d refused: Bloom false positives let none "
           "be refused), %.0f ns/series with the parse, %s\n",
           nseries - refused, refused, (t3 - t2) / nseries, mem ? mem : "?");
    tsr_cardinality_free(&g);
    tsr_rules_free(&rules);
    tsr_config_free(&cf);
    tsr_config_free(&gcf);
    tsr_buf_free(&body);
    tsr_buf_free(&norm);
    tsr_buf_free(&out);
    tsr_buf_free(&line);
    tsr_buf_free(&why);
    tsr_buf_free(&js);
    return 0;
}

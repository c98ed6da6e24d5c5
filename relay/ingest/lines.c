#include "relay/ingest/lines.h"

#include <string.h>

#include "relay/ingest/influx_rules.h"
#include "relay/shape/shaper.h"

void tsr_lines_shape(struct tsr_lines *l, const char *raw, size_t raw_len, long line_no,
                     uint64_t series)
{
    const char *pl = l->line.data;
    size_t plen = l->line.len;
    l->why.len = 0;
    switch (tsr_shaper_apply(l->shaper, l->db, &pl, &plen, &series, l->opts->now_ns / 1000000,
                             &l->why)) {
    case TSR_SHAPE_PASS:
        l->take(l->arg, pl, plen, series);
        break;
    case TSR_SHAPE_DROP:
        break;
    case TSR_SHAPE_REFUSE:
        tsr_buf_putc(&l->why, '\0');
        l->refuse(l->arg, raw, raw_len, line_no, l->why.data);
        break;
    }
}

void tsr_lines_take(struct tsr_lines *l, const char *p, size_t n)
{
    const char *end = p + n;
    long line_no = 0;
    struct tsr_lp_result res;
    while (p < end) {
        long this_line = line_no + 1;
        l->line.len = 0;
        tsr_lp_parse_line(p, end, l->opts, &l->line, &res);
        if (res.status == TSR_LP_OK) {
            tsr_lines_shape(l, p, res.line_len, this_line, res.series_hash);
        } else if (res.status == TSR_LP_ERR) {
            const char *reason = res.reason;
            if (res.kind != TSR_LP_KIND_PARSE) {
                l->why.len = 0;
                tsr_influx_rules_reason(res.kind, p, res.line_len, &l->why);
                tsr_buf_putc(&l->why, '\0');
                reason = l->why.data;
            }
            l->refuse(l->arg, p, res.line_len, this_line, reason);
        }
        /* A quoted string may hold newlines: line numbers count every one of them. */
        for (const char *q = p, *e = p + res.consumed; (q = memchr(q, '\n', (size_t)(e - q))); q++)
            line_no++;
        p += res.consumed;
    }
}

void tsr_lines_free(struct tsr_lines *l)
{
    tsr_buf_free(&l->line);
    tsr_buf_free(&l->why);
}

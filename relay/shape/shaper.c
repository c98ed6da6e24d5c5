/* relay/shape/shaper.c — see shaper.h. */
#include "relay/shape/shaper.h"

#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "relay/shape/cardinality.h"
#include "relay/shape/rules.h"

struct tsr_shaper {
    struct tsr_rules *rules;
    size_t nrules;
    struct tsr_cardinality *guard;
    int64_t guard_conf[4]; /* the cardinality.* values the guard was made with */
    struct tsr_buf out;
    uint64_t dropped;
};

static void guard_conf(const struct tsr_config *cf, int64_t out[4])
{
    out[0] = cf->cardinality_max_series;
    out[1] = cf->cardinality_window_ms;
    out[2] = cf->cardinality_max_measurements;
    out[3] = cf->cardinality_tracked_series;
}

int tsr_shaper_new(const struct tsr_config *cf, struct tsr_shaper **sp, char *err, size_t errlen)
{
    struct tsr_shaper *s = calloc(1, sizeof(*s));
    if (!s) abort();
    if (tsr_rules_compile(cf->rules, cf->nrules, "rules", &s->rules, err, errlen)) {
        free(s);
        return -1;
    }
    s->nrules = cf->nrules;
    s->guard = tsr_cardinality_new(cf);
    guard_conf(cf, s->guard_conf);
    *sp = s;
    return 0;
}

int tsr_shaper_reload(struct tsr_shaper *s, const struct tsr_config *cf, char *err, size_t errlen)
{
    struct tsr_rules *rules;
    if (tsr_rules_compile(cf->rules, cf->nrules, "rules", &rules, err, errlen)) return -1;
    tsr_rules_free(&s->rules);
    s->rules = rules;
    s->nrules = cf->nrules;
    int64_t gc[4];
    guard_conf(cf, gc);
    if (memcmp(gc, s->guard_conf, sizeof(gc)) != 0) {
        /* New limits: counting starts again (a smaller table or filter cannot take the
         * old one's contents over). */
        tsr_cardinality_free(&s->guard);
        s->guard = tsr_cardinality_new(cf);
        memcpy(s->guard_conf, gc, sizeof(gc));
    }
    return 0;
}

void tsr_shaper_free(struct tsr_shaper **sp)
{
    struct tsr_shaper *s = *sp;
    if (!s) return;
    tsr_rules_free(&s->rules);
    tsr_cardinality_free(&s->guard);
    tsr_buf_free(&s->out);
    free(s);
    *sp = NULL;
}

enum tsr_shape_verdict tsr_shaper_apply(struct tsr_shaper *s, const char *db, const char **line,
                                        size_t *len, uint64_t *hash, int64_t now_ms,
                                        struct tsr_buf *why)
{
    if (s->rules) {
        struct tsr_rules_result res;
        s->out.len = 0;
        tsr_rules_apply_series(s->rules, db, *line, *len, *hash, &s->out, &res);
        if (res.verdict == TSR_RULES_DROPPED) {
            s->dropped++;
            return TSR_SHAPE_DROP;
        }
        if (res.verdict == TSR_RULES_REWRITTEN) {
            *line = s->out.data;
            *len = s->out.len;
            *hash = res.hash;
        }
    }
    if (s->guard && tsr_cardinality_admit(s->guard, db, *line, *len, *hash, now_ms, why))
        return TSR_SHAPE_REFUSE;
    return TSR_SHAPE_PASS;
}

void tsr_shaper_prefetch(const struct tsr_shaper *s, uint64_t db_hash, uint64_t hash)
{
    if (s->rules) tsr_rules_prefetch(s->rules, db_hash, hash);
}

uint64_t tsr_shaper_dropped(const struct tsr_shaper *s)
{
    return s->dropped;
}

void tsr_shaper_json(const struct tsr_shaper *s, int64_t now_ms, struct tsr_buf *out)
{
    tsr_buf_printf(out, "{\"rules\":%zu,\"points_dropped\":%llu,\"cardinality\":", s->nrules,
                   (unsigned long long)s->dropped);
    tsr_cardinality_json(s->guard, now_ms, out);
    tsr_buf_putc(out, '}');
}

void tsr_shaper_metrics(const struct tsr_shaper *s, struct tsr_buf *out)
{
    tsr_buf_printf(out,
                   "# HELP tsrelay_rules_points_dropped_total Points the ingest rules dropped.\n"
                   "# TYPE tsrelay_rules_points_dropped_total counter\n"
                   "tsrelay_rules_points_dropped_total %llu\n",
                   (unsigned long long)s->dropped);
    tsr_cardinality_metrics(s->guard, out);
}

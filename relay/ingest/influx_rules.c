/* relay/ingest/influx_rules.c — InfluxDB's store-time refusals, at ingest (see the header).
 *
 * A point is read back from its normalised text (two short scans: its measurement and
 * its field set), the names unescaped the way InfluxDB names them in its messages and
 * in its index, so that `m\ x` and the type of `v` are the same field InfluxDB keys on.
 * All fields are checked before any type is remembered: InfluxDB drops a conflicting
 * point whole, so none of its fields is created by it. */
#include "relay/ingest/influx_rules.h"

#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "relay/ingest/fieldtypes.h"

/* Fields of one point whose type is remembered only once all of them passed. */
#define PENDING_STACK 64

struct pending {
    uint64_t key;
    int type;
};

struct tsr_influx_rules {
    struct tsr_fieldtypes *ft; /* NULL: field types not checked */
    struct tsr_buf meas;       /* the unescaped measurement of the point being checked */
    struct tsr_buf field;      /* one unescaped field key */
    struct pending *pending;
    size_t npending_cap;
};

struct tsr_influx_rules *tsr_influx_rules_new(const struct tsr_config *cf)
{
    struct tsr_influx_rules *ir = calloc(1, sizeof(*ir));
    if (!ir) abort();
    if (cf->ingest_field_types_max > 0)
        ir->ft = tsr_fieldtypes_new((size_t)cf->ingest_field_types_max);
    ir->npending_cap = PENDING_STACK;
    ir->pending = malloc(ir->npending_cap * sizeof(*ir->pending));
    if (!ir->pending) abort();
    return ir;
}

void tsr_influx_rules_free(struct tsr_influx_rules **irp)
{
    struct tsr_influx_rules *ir = *irp;
    if (!ir) return;
    tsr_fieldtypes_free(&ir->ft);
    tsr_buf_free(&ir->meas);
    tsr_buf_free(&ir->field);
    free(ir->pending);
    free(ir);
    *irp = NULL;
}

int tsr_influx_rules_no_unsigned(const struct tsr_config *cf)
{
    for (size_t i = 0; i < cf->nclusters; i++)
        if (cf->clusters[i].type && strcmp(cf->clusters[i].type, "influxdb") == 0) return 1;
    return 0;
}

/* InfluxDB names a measurement with only "\," and "\ " unescaped, a field key with
 * "\,", "\=", "\ " and "\"" (models.unescapeMeasurement, escape.Unescape). */
#define MEAS_SPECIALS  ", "
#define FIELD_SPECIALS ", =\""

int tsr_influx_rules_check(struct tsr_influx_rules *ir, const char *db, const char *rp,
                           const char *line, size_t len, struct tsr_buf *why)
{
    if (!ir->ft) return 0;
    if (!rp) rp = "";
    struct tsr_lp_sections sec;
    tsr_lp_sections(line, len, &sec);
    ir->meas.len = 0;
    tsr_lp_unescape(&ir->meas, sec.meas, sec.mlen, MEAS_SPECIALS);

    size_t n = 0;
    struct tsr_lp_field f;
    const char *p = sec.fields, *end = sec.fields + sec.flen;
    while (tsr_lp_next_field(&p, end, &f) == 0) {
        ir->field.len = 0;
        tsr_lp_unescape(&ir->field, f.key, f.klen, FIELD_SPECIALS);
        uint64_t key =
            tsr_fieldtypes_key(db, rp, ir->meas.data, ir->meas.len, ir->field.data, ir->field.len);
        int have = tsr_fieldtypes_get(ir->ft, key);
        if (have && have != (int)f.type) {
            tsr_buf_puts(why, "field type conflict: input field \"");
            tsr_buf_append(why, ir->field.data, ir->field.len);
            tsr_buf_puts(why, "\" on measurement \"");
            tsr_buf_append(why, ir->meas.data, ir->meas.len);
            tsr_buf_printf(why, "\" is type %s, already exists as type %s",
                           tsr_lp_ftype_name(f.type), tsr_lp_ftype_name(have));
            return -1;
        }
        if (have) continue;
        if (n == ir->npending_cap) {
            ir->npending_cap *= 2;
            ir->pending = realloc(ir->pending, ir->npending_cap * sizeof(*ir->pending));
            if (!ir->pending) abort();
        }
        ir->pending[n].key = key;
        ir->pending[n].type = (int)f.type;
        n++;
    }
    for (size_t i = 0; i < n; i++)
        tsr_fieldtypes_put(ir->ft, ir->pending[i].key, ir->pending[i].type);
    return 0;
}

void tsr_influx_rules_reason(enum tsr_lp_kind kind, const char *line, size_t len,
                             struct tsr_buf *why)
{
    /* A refused line is still well formed up to its field set: its measurement reads as
     * in a valid one. */
    struct tsr_lp_sections sec;
    tsr_lp_sections(line, len, &sec);
    if (kind == TSR_LP_KIND_TIME_TAG)
        tsr_buf_puts(why, "invalid tag key: input tag \"time\" on measurement \"");
    else
        tsr_buf_puts(why, "invalid field name: input field \"time\" on measurement \"");
    tsr_lp_unescape(why, sec.meas, sec.mlen, MEAS_SPECIALS);
    tsr_buf_puts(why, "\" is invalid");
}

size_t tsr_influx_rules_cached(const struct tsr_influx_rules *ir)
{
    return ir->ft ? tsr_fieldtypes_count(ir->ft) : 0;
}

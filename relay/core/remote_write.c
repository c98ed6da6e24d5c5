#include "relay/core/remote_write.h"

#include <math.h>
#include <snappy-c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prompb.pb-c.h"
#include "relay/core/lineproto.h"

/* One sample's series and the sample, in one allocation: its strings follow it. */
struct one {
    Prometheus__TimeSeries ts;
    Prometheus__Sample sample;
    Prometheus__Sample *samples[1];
    Prometheus__Label **labels;
};

/* Prometheus names: [a-zA-Z_:][a-zA-Z0-9_:]* for metrics, no ':' in label names. */
static void sanitise(char *s, int metric)
{
    for (char *p = s; *p; p++) {
        int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                 (metric && *p == ':') || (p > s && *p >= '0' && *p <= '9');
        if (!ok) *p = '_';
    }
}

struct tag {
    size_t key, value; /* offsets into the tags buffer, NUL-terminated */
};

/* The unescaped, sanitised tags of a normalised line's series key [0, klen). */
static size_t read_tags(const char *line, size_t klen, struct tsr_buf *strs, struct tag **tags,
                        size_t *cap)
{
    size_t n = 0;
    const char *p = line, *end = line + klen;
    while (p < end && *p != ',')
        p += *p == '\\' && p + 1 < end ? 2 : 1; /* the measurement */
    while (p < end && *p == ',') {
        const char *k = ++p;
        while (p < end && *p != '=')
            p += *p == '\\' && p + 1 < end ? 2 : 1;
        const char *ke = p++;
        const char *v = p;
        while (p < end && *p != ',')
            p += *p == '\\' && p + 1 < end ? 2 : 1;
        if (n == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            *tags = realloc(*tags, sizeof(**tags) * *cap);
            if (!*tags) abort();
        }
        (*tags)[n].key = strs->len;
        tsr_lp_unescape(strs, k, (size_t)(ke - k), ",= ");
        tsr_buf_putc(strs, '\0');
        sanitise(strs->data + (*tags)[n].key, 0);
        (*tags)[n].value = strs->len;
        tsr_lp_unescape(strs, v, (size_t)(p - v), ",= ");
        tsr_buf_putc(strs, '\0');
        n++;
    }
    return n;
}

static int value_of(const struct tsr_lp_field *f, double *v)
{
    const char *s = f->key + f->klen + 1;
    switch (f->type) {
    case TSR_LP_STRING:
        return -1;
    case TSR_LP_BOOLEAN:
        *v = (*s == 't' || *s == 'T') ? 1 : 0;
        return 0;
    default:
        *v = strtod(s, NULL); /* "5i" and "5u": strtod stops at the suffix */
        return 0;
    }
}

long tsr_remote_write_encode(const char *db, const char *body, size_t len, struct tsr_buf *out)
{
    Prometheus__WriteRequest wr = PROMETHEUS__WRITE_REQUEST__INIT;
    size_t cap = 0, tcap = 0;
    struct tag *tags = NULL;
    struct tsr_buf strs = {0}, name = {0};
    const char *p = body, *line;
    size_t n;
    while ((line = tsr_lp_next_line(&p, body + len, &n))) {
        struct tsr_lp_sections sec;
        tsr_lp_sections(line, n, &sec);
        const char *ts = line + n;
        while (ts > line && ts[-1] != ' ')
            ts--;
        int64_t ms = strtoll(ts, NULL, 10) / 1000000;
        strs.len = 0;
        size_t ntags = read_tags(line, (size_t)(sec.fields - line) - 1, &strs, &tags, &tcap);
        const char *f = sec.fields, *fend = sec.fields + sec.flen;
        struct tsr_lp_field fd;
        while (tsr_lp_next_field(&f, fend, &fd) == 0) {
            double v;
            if (value_of(&fd, &v)) continue;
            name.len = 0;
            tsr_lp_unescape(&name, sec.meas, sec.mlen, ", ");
            int only_value = fd.klen == 5 && !memcmp(fd.key, "value", 5) && fd.end == fend;
            if (!(only_value && fd.key == sec.fields)) {
                tsr_buf_putc(&name, '_');
                tsr_lp_unescape(&name, fd.key, fd.klen, ",= \"");
            }
            tsr_buf_putc(&name, '\0');
            sanitise(name.data, 1);
            /* Labels sorted by name, as receivers expect: __name__ first, then the tags
             * (sorted in a normalised line) with db in its place. Their strings follow
             * the label structs in the same block. */
            size_t nlabels = ntags + 2, strbytes = name.len + sizeof("__name__") + sizeof("db") +
                                                   strlen(db) + 1 + strs.len;
            size_t bytes = sizeof(struct one) +
                           nlabels * (sizeof(Prometheus__Label *) + sizeof(Prometheus__Label)) +
                           strbytes;
            struct one *o = malloc(bytes);
            if (!o) abort();
            Prometheus__Label *lab =
                (Prometheus__Label *)((char *)(o + 1) + nlabels * sizeof(Prometheus__Label *));
            char *sp = (char *)(lab + nlabels);
            o->labels = (Prometheus__Label **)(o + 1);
            prometheus__time_series__init(&o->ts);
            prometheus__sample__init(&o->sample);
            o->sample.value = v;
            o->sample.timestamp = ms;
            o->samples[0] = &o->sample;
            o->ts.samples = o->samples;
            o->ts.n_samples = 1;
            if (strs.len) memcpy(sp, strs.data, strs.len); /* a point without tags has none */
            char *tagstrs = sp;
            sp += strs.len;
            char *nm = memcpy(sp, name.data, name.len);
            sp += name.len;
            char *nmk = memcpy(sp, "__name__", sizeof("__name__"));
            sp += sizeof("__name__");
            char *dbk = memcpy(sp, "db", sizeof("db"));
            sp += sizeof("db");
            char *dbv = strcpy(sp, db);
            size_t li = 0;
            prometheus__label__init(&lab[li]);
            lab[li].name = nmk;
            lab[li].value = nm;
            o->labels[li] = &lab[li];
            li++;
            int db_done = 0;
            for (size_t t = 0; t <= ntags; t++) {
                const char *k = t < ntags ? tagstrs + tags[t].key : NULL;
                if (!db_done && (!k || strcmp("db", k) < 0)) {
                    prometheus__label__init(&lab[li]);
                    lab[li].name = dbk;
                    lab[li].value = dbv;
                    o->labels[li] = &lab[li];
                    li++;
                    db_done = 1;
                }
                if (!k) break;
                if (!strcmp(k, "db")) continue; /* a tag named db: the database wins */
                prometheus__label__init(&lab[li]);
                lab[li].name = (char *)k;
                lab[li].value = tagstrs + tags[t].value;
                o->labels[li] = &lab[li];
                li++;
            }
            o->ts.labels = o->labels;
            o->ts.n_labels = li;
            if (wr.n_timeseries == cap) {
                cap = cap ? cap * 2 : 256;
                wr.timeseries = realloc(wr.timeseries, sizeof(*wr.timeseries) * cap);
                if (!wr.timeseries) abort();
            }
            wr.timeseries[wr.n_timeseries++] = &o->ts;
        }
    }
    size_t plen = prometheus__write_request__get_packed_size(&wr);
    uint8_t *packed = malloc(plen ? plen : 1);
    if (!packed) abort();
    prometheus__write_request__pack(&wr, packed);
    size_t clen = snappy_max_compressed_length(plen);
    out->len = 0;
    tsr_buf_reserve(out, clen);
    if (snappy_compress((const char *)packed, plen, out->data, &clen) != SNAPPY_OK) abort();
    out->len = clen;
    long samples = (long)wr.n_timeseries;
    for (size_t i = 0; i < wr.n_timeseries; i++)
        free(wr.timeseries[i]); /* the struct one */
    free(wr.timeseries);
    free(packed);
    free(tags);
    tsr_buf_free(&strs);
    tsr_buf_free(&name);
    return samples;
}

/* Appends s with the backslashes line protocol needs before specials, a span at a time. */
static void put_escaped(struct tsr_buf *out, const char *s, const char *specials)
{
    for (;;) {
        size_t n = strcspn(s, specials);
        tsr_buf_append(out, s, n);
        if (!s[n]) return;
        tsr_buf_putc(out, '\\');
        tsr_buf_putc(out, s[n]);
        s += n + 1;
    }
}

/* m / 10^k in decimal, with k digits after the point (none, and no point, for k 0). */
static void put_decimal(struct tsr_buf *out, int64_t m, int k)
{
    char d[32];
    int n = 0;
    uint64_t u = m < 0 ? 0 - (uint64_t)m : (uint64_t)m;
    for (int i = 0; i < k; i++, u /= 10)
        d[n++] = (char)('0' + u % 10);
    if (k) d[n++] = '.';
    do
        d[n++] = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (m < 0) d[n++] = '-';
    tsr_buf_reserve(out, (size_t)n);
    while (n)
        out->data[out->len++] = d[--n];
}

/* A value as line protocol's float. Whole numbers (most counters and gauges) and short
 * decimals (0.25, 12.5: most gauges) are written without printf's cost, the rest with the
 * 17 digits that give the same double back. A decimal m / 10^k reads back as v exactly
 * when the division m / 10^k gives v: m and 10^k are exact doubles here, and both the
 * division and strtod round the same exact quotient correctly. */
static void put_value(struct tsr_buf *out, double v)
{
    static const double p10[] = {1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
    if (v == (double)(int64_t)v && v > -1e15 && v < 1e15) {
        put_decimal(out, (int64_t)v, 0);
        return;
    }
    if (v > -1e8 && v < 1e8) {
        for (int k = 0; k < 6; k++) {
            double m = nearbyint(v * p10[k]);
            if (m / p10[k] == v) {
                put_decimal(out, (int64_t)m, k + 1);
                return;
            }
        }
    }
    tsr_buf_printf(out, "%.17g", v);
}

/* protobuf-c allocates every message, label and string of a request on its own: from a
 * bump arena instead, freed at once (the loop thread decodes one request at a time). */
#define ARENA_CHUNK (1 << 20)
struct arena {
    char *chunk;
    size_t used, cap;
    char **old; /* full chunks, freed at the end */
    size_t nold;
};

static void *arena_alloc(void *data, size_t size)
{
    struct arena *a = data;
    size = (size + 15) & ~(size_t)15;
    if (a->used + size > a->cap) {
        if (a->chunk) {
            a->old = realloc(a->old, sizeof(*a->old) * (a->nold + 1));
            if (!a->old) abort();
            a->old[a->nold++] = a->chunk;
        }
        a->cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
        a->chunk = malloc(a->cap);
        if (!a->chunk) abort();
        a->used = 0;
    }
    void *p = a->chunk + a->used;
    a->used += size;
    return p;
}

static void arena_free_one(void *data, void *p)
{
    (void)data, (void)p; /* all at once, in arena_clear */
}

static void arena_clear(struct arena *a)
{
    for (size_t i = 0; i < a->nold; i++)
        free(a->old[i]);
    free(a->old);
    free(a->chunk);
}

long tsr_remote_write_decode(const char *raw, size_t len, size_t max_bytes, struct tsr_buf *out,
                             long *skipped, const char **why)
{
    size_t plen;
    *skipped = 0;
    if (snappy_uncompressed_length(raw, len, &plen) != SNAPPY_OK) {
        *why = "body is not snappy-compressed";
        return -1;
    }
    if (plen > max_bytes) {
        *why = "request body too large after snappy decoding";
        return -1;
    }
    char *packed = malloc(plen ? plen : 1);
    if (!packed) abort();
    if (snappy_uncompress(raw, len, packed, &plen) != SNAPPY_OK) {
        free(packed);
        *why = "body is not snappy-compressed";
        return -1;
    }
    struct arena a = {0};
    ProtobufCAllocator alloc = {.alloc = arena_alloc, .free = arena_free_one, .allocator_data = &a};
    Prometheus__WriteRequest *wr =
        prometheus__write_request__unpack(&alloc, plen, (const uint8_t *)packed);
    free(packed);
    if (!wr) {
        arena_clear(&a);
        *why = "body is not a remote write WriteRequest";
        return -1;
    }
    long lines = 0;
    out->len = 0;
    for (size_t i = 0; i < wr->n_timeseries; i++) {
        const Prometheus__TimeSeries *ts = wr->timeseries[i];
        const char *name = NULL;
        for (size_t l = 0; l < ts->n_labels; l++)
            if (!strcmp(ts->labels[l]->name, "__name__")) name = ts->labels[l]->value;
        int printable = name && *name;
        for (size_t l = 0; printable && l < ts->n_labels; l++)
            printable =
                !strpbrk(ts->labels[l]->name, "\n\r") && !strpbrk(ts->labels[l]->value, "\n\r");
        if (!printable) { /* no name, or a line break line protocol cannot carry */
            *skipped += (long)ts->n_samples;
            continue;
        }
        for (size_t k = 0; k < ts->n_samples; k++) {
            double v = ts->samples[k]->value;
            if (!isfinite(v)) {
                (*skipped)++;
                continue;
            }
            put_escaped(out, name, ", ");
            for (size_t l = 0; l < ts->n_labels; l++) {
                const Prometheus__Label *lb = ts->labels[l];
                if (!strcmp(lb->name, "__name__") || !*lb->name || !*lb->value) continue;
                tsr_buf_putc(out, ',');
                put_escaped(out, lb->name, ",= ");
                tsr_buf_putc(out, '=');
                put_escaped(out, lb->value, ",= ");
            }
            tsr_buf_append(out, " value=", 7);
            put_value(out, v);
            tsr_buf_putc(out, ' ');
            put_decimal(out, ts->samples[k]->timestamp * 1000000LL, 0);
            tsr_buf_putc(out, '\n');
            lines++;
        }
    }
    arena_clear(&a);
    return lines;
}

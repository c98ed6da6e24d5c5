/* relay/deliver/carbon.c — see carbon.h. */
#include "relay/deliver/carbon.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/core/lineproto.h"
#include "relay/shape/point.h"

#define MAX_WORDS 32

enum word_kind { W_MEASUREMENT, W_FIELD, W_DB, W_TAGS, W_TAG };

/* One word of the template; W_TAG names a tag key, found in each point once. */
struct word {
    enum word_kind kind;
    const char *p;
    size_t n;
    long tag; /* W_TAG: the index of that tag in the point at hand, or -1 */
};

static enum word_kind kind_of(const char *p, size_t n)
{
    static const struct {
        const char *name;
        enum word_kind kind;
    } kinds[] = {
        {"measurement", W_MEASUREMENT}, {"field", W_FIELD}, {"db", W_DB}, {"tags", W_TAGS}};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
        if (n == strlen(kinds[k].name) && memcmp(p, kinds[k].name, n) == 0) return kinds[k].kind;
    return W_TAG;
}

/* Appends s[0..n) as one part of a path, '.'-separated from what is there. */
static void put_part(struct tsr_buf *out, const char *s, size_t n)
{
    if (n == 0) return;
    if (out->len) tsr_buf_putc(out, '.');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == ':';
        tsr_buf_putc(out, ok ? (char)c : '_');
    }
}

static void put_span(struct tsr_buf *out, struct tsr_point *pt, struct tsr_span s,
                     const char *specials)
{
    struct tsr_span plain = tsr_point_plain(pt, s, specials);
    put_part(out, plain.p, plain.n);
}

/* The tag of point pt whose key is w, or -1. */
static long tag_named(struct tsr_point *pt, const struct word *w)
{
    for (size_t t = 0; t < pt->ntags; t++) {
        struct tsr_span k = tsr_point_plain(pt, pt->tags[t].key, TSR_KEY_SPECIALS);
        if (k.n == w->n && memcmp(k.p, w->p, w->n) == 0) return (long)t;
    }
    return -1;
}

/* The carbon value of a field's line protocol value v[0..n), or NULL for a string. */
static const char *value_of(const char *v, size_t n, size_t *len)
{
    if (n == 0 || v[0] == '"') return NULL;
    *len = n;
    switch (v[0]) {
    case 't':
    case 'T':
        *len = 1;
        return "1";
    case 'f':
    case 'F':
        *len = 1;
        return "0";
    }
    if (v[n - 1] == 'i' || v[n - 1] == 'u') *len = n - 1;
    return v;
}

/* Whole seconds of a nanosecond timestamp, rounded down. */
static long long seconds_of(struct tsr_span ts)
{
    char num[24];
    size_t n = ts.n < sizeof(num) - 1 ? ts.n : sizeof(num) - 1;
    memcpy(num, ts.p, n);
    num[n] = '\0';
    long long ns = strtoll(num, NULL, 10);
    long long s = ns / 1000000000LL;
    return ns % 1000000000LL < 0 ? s - 1 : s;
}

long tsr_carbon_encode(const char *tmpl, const char *db, const char *body, size_t len,
                       struct tsr_buf *out, long *skipped)
{
    struct word words[MAX_WORDS];
    size_t nwords = 0;
    for (const char *p = tmpl; *p && nwords < MAX_WORDS;) {
        const char *e = strchr(p, '.');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n) words[nwords++] = (struct word){kind_of(p, n), p, n, -1};
        p += n + (e != NULL);
    }
    struct tsr_point pt = {0};
    struct tsr_buf path = {0};
    bool named[64];
    long lines = 0;
    *skipped = 0;
    const char *p = body, *line;
    size_t n;
    while ((line = tsr_lp_next_line(&p, body + len, &n))) {
        tsr_point_parse(&pt, line, n);
        tsr_point_fields(&pt);
        long long secs = seconds_of(pt.ts);
        /* The tags the template names, which "tags" leaves out. */
        memset(named, 0, sizeof(named));
        for (size_t w = 0; w < nwords; w++) {
            if (words[w].kind != W_TAG) continue;
            words[w].tag = tag_named(&pt, &words[w]);
            if (words[w].tag >= 0 && words[w].tag < 64) named[words[w].tag] = true;
        }
        for (size_t f = 0; f < pt.nfields; f++) {
            const struct tsr_point_field *fd = &pt.fields[f];
            size_t vlen;
            const char *v = value_of(fd->kv.p + fd->key.n + 1, fd->kv.n - fd->key.n - 1, &vlen);
            if (!v) {
                (*skipped)++;
                continue;
            }
            path.len = 0;
            for (size_t w = 0; w < nwords; w++) {
                const struct word *wd = &words[w];
                switch (wd->kind) {
                case W_MEASUREMENT:
                    put_span(&path, &pt, pt.meas, TSR_MEAS_SPECIALS);
                    break;
                case W_FIELD: {
                    struct tsr_span k = tsr_point_plain(&pt, fd->key, ",= \"");
                    if (!(k.n == 5 && memcmp(k.p, "value", 5) == 0)) put_part(&path, k.p, k.n);
                    break;
                }
                case W_DB:
                    put_part(&path, db, strlen(db));
                    break;
                case W_TAGS:
                    for (size_t t = 0; t < pt.ntags; t++)
                        if (t >= 64 || !named[t])
                            put_span(&path, &pt, pt.tags[t].value, TSR_KEY_SPECIALS);
                    break;
                case W_TAG:
                    if (wd->tag >= 0)
                        put_span(&path, &pt, pt.tags[wd->tag].value, TSR_KEY_SPECIALS);
                    break;
                }
            }
            if (path.len == 0) continue; /* nothing to name it by: not a path carbon takes */
            tsr_buf_append(out, path.data, path.len);
            tsr_buf_putc(out, ' ');
            tsr_buf_append(out, v, vlen);
            tsr_buf_printf(out, " %lld\n", secs);
            lines++;
        }
    }
    tsr_point_free(&pt);
    tsr_buf_free(&path);
    return lines;
}

/* relay/shape/point.c — see point.h. */
#include "relay/shape/point.h"

#include <stdlib.h>
#include <string.h>

#include "relay/core/lineproto.h"

static void *grow(void *a, size_t *cap, size_t want, size_t size)
{
    if (want <= *cap) return a;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < want) n *= 2;
    a = realloc(a, n * size);
    if (!a) abort();
    *cap = n;
    return a;
}

/* End of an escaped name or value: the next unescaped `stop` (or end). */
static const char *scan_to(const char *p, const char *end, char stop)
{
    while (p < end && *p != stop) p += *p == '\\' && p + 1 < end ? 2 : 1;
    return p;
}

void tsr_point_parse(struct tsr_point *pt, const char *line, size_t len)
{
    const char *end = line + len;
    pt->ntags = pt->nfields = 0;
    pt->names.len = 0;
    pt->escaped = memchr(line, '\\', len) != NULL;

    /* Measurement, up to an unescaped ',' or ' '; then ",k=v" tags up to the space. */
    const char *p = line;
    while (p < end && *p != ',' && *p != ' ') p += *p == '\\' && p + 1 < end ? 2 : 1;
    pt->meas = (struct tsr_span){line, (size_t)(p - line)};
    while (p < end && *p == ',') {
        const char *k = p + 1, *ke = scan_to(k, end, '=');
        const char *v = ke + 1, *ve = v;
        while (ve < end && *ve != ',' && *ve != ' ') ve += *ve == '\\' && ve + 1 < end ? 2 : 1;
        pt->tags = grow(pt->tags, &pt->tags_cap, pt->ntags + 1, sizeof(*pt->tags));
        pt->tags[pt->ntags++] = (struct tsr_point_tag){{k, (size_t)(ke - k)}, {v, (size_t)(ve - v)}};
        p = ve;
    }
    if (p < end) p++; /* the space before the fields */
    pt->rest = (struct tsr_span){p, (size_t)(end - p)};
    pt->fields_read = 0;
}

void tsr_point_fields(struct tsr_point *pt)
{
    if (pt->fields_read) return;
    pt->fields_read = 1;
    /* The line is valid: a key up to '=', then a quoted string (which may hold ',', ' '
     * and escaped quotes) or a bare value up to ',' or ' '. */
    const char *p = pt->rest.p, *end = pt->rest.p + pt->rest.n;
    while (p < end && *p != ' ') {
        const char *k = p, *ke = scan_to(k, end, '=');
        const char *v = ke + 1;
        if (v < end && *v == '"') {
            for (v++; v < end && *v != '"'; v++)
                if (*v == '\\') v++;
            v++;
        } else {
            while (v < end && *v != ',' && *v != ' ') v++;
        }
        if (v > end) v = end;
        pt->fields = grow(pt->fields, &pt->fields_cap, pt->nfields + 1, sizeof(*pt->fields));
        pt->fields[pt->nfields++] = (struct tsr_point_field){{k, (size_t)(ke - k)},
                                                             {k, (size_t)(v - k)}};
        p = v < end && *v == ',' ? v + 1 : v;
    }
    const char *ts = p < end ? p + 1 : end;
    pt->ts = (struct tsr_span){ts, (size_t)(end - ts)};
}

struct tsr_span tsr_point_unescape(struct tsr_point *pt, struct tsr_span s, const char *specials)
{
    if (!memchr(s.p, '\\', s.n)) return s;
    pt->names.len = 0;
    tsr_lp_unescape(&pt->names, s.p, s.n, specials);
    return (struct tsr_span){pt->names.data ? pt->names.data : "", pt->names.len};
}

static int tag_cmp(const void *a, const void *b)
{
    const struct tsr_point_tag *x = a, *y = b;
    size_t n = x->key.n < y->key.n ? x->key.n : y->key.n;
    int c = memcmp(x->key.p, y->key.p, n);
    if (c) return c;
    return x->key.n < y->key.n ? -1 : x->key.n > y->key.n;
}

static void sort_tags(struct tsr_point *pt)
{
    if (pt->ntags > 16) {
        qsort(pt->tags, pt->ntags, sizeof(*pt->tags), tag_cmp);
    } else {
        /* The usual handful of tags, nearly sorted already. */
        for (size_t i = 1; i < pt->ntags; i++) {
            struct tsr_point_tag t = pt->tags[i];
            size_t j = i;
            for (; j > 0 && tag_cmp(&pt->tags[j - 1], &t) > 0; j--) pt->tags[j] = pt->tags[j - 1];
            pt->tags[j] = t;
        }
    }
}

/* Writes measurement and tags (sorted) at o; returns the end. */
static char *put_key(const struct tsr_point *pt, char *o)
{
    memcpy(o, pt->meas.p, pt->meas.n);
    o += pt->meas.n;
    for (size_t i = 0; i < pt->ntags; i++) {
        *o++ = ',';
        memcpy(o, pt->tags[i].key.p, pt->tags[i].key.n);
        o += pt->tags[i].key.n;
        *o++ = '=';
        memcpy(o, pt->tags[i].value.p, pt->tags[i].value.n);
        o += pt->tags[i].value.n;
    }
    return o;
}

uint64_t tsr_point_write_key(struct tsr_point *pt, struct tsr_buf *out)
{
    sort_tags(pt);
    size_t n = pt->meas.n;
    for (size_t i = 0; i < pt->ntags; i++) n += pt->tags[i].key.n + pt->tags[i].value.n + 2;
    tsr_buf_reserve(out, n);
    char *start = out->data + out->len, *o = put_key(pt, start);
    out->len += (size_t)(o - start);
    return tsr_lp_series_hash(start, (size_t)(o - start));
}

void tsr_point_write_fields(const struct tsr_point *pt, struct tsr_buf *out)
{
    for (size_t i = 0; i < pt->nfields; i++) {
        tsr_buf_putc(out, i ? ',' : ' ');
        tsr_buf_append(out, pt->fields[i].kv.p, pt->fields[i].kv.n);
    }
    tsr_buf_putc(out, ' ');
    tsr_buf_append(out, pt->ts.p, pt->ts.n);
}

void tsr_point_set_rest(struct tsr_point *pt, const char *rest, size_t n)
{
    pt->rest = (struct tsr_span){rest, n};
    pt->escaped = memchr(rest, '\\', n) != NULL;
    pt->names.len = 0;
    pt->nfields = 0;
    pt->fields_read = 0;
}

uint64_t tsr_point_write(struct tsr_point *pt, struct tsr_buf *out)
{
    sort_tags(pt);
    size_t n = pt->meas.n + 2;
    for (size_t i = 0; i < pt->ntags; i++) n += pt->tags[i].key.n + pt->tags[i].value.n + 2;
    if (pt->fields_read) {
        n += pt->ts.n + pt->nfields;
        for (size_t i = 0; i < pt->nfields; i++) n += pt->fields[i].kv.n;
    } else {
        n += pt->rest.n;
    }
    tsr_buf_reserve(out, n + 1);
    char *o = out->data + out->len, *start = o;
    o = put_key(pt, o);
    uint64_t h = tsr_lp_series_hash(start, (size_t)(o - start));
    if (!pt->fields_read) {
        /* No rule looked at the fields: they go as they came. */
        *o++ = ' ';
        memcpy(o, pt->rest.p, pt->rest.n);
        o += pt->rest.n;
        *o++ = '\n';
        out->len = (size_t)(o - out->data);
        return h;
    }
    for (size_t i = 0; i < pt->nfields; i++) {
        *o++ = i ? ',' : ' ';
        memcpy(o, pt->fields[i].kv.p, pt->fields[i].kv.n);
        o += pt->fields[i].kv.n;
    }
    *o++ = ' ';
    memcpy(o, pt->ts.p, pt->ts.n);
    o += pt->ts.n;
    *o++ = '\n';
    out->len = (size_t)(o - out->data);
    return h;
}

void tsr_point_escape(struct tsr_buf *out, const char *s, const char *specials)
{
    for (; *s; s++) {
        if (strchr(specials, *s)) tsr_buf_putc(out, '\\');
        tsr_buf_putc(out, *s);
    }
}

void tsr_point_free(struct tsr_point *pt)
{
    free(pt->tags);
    free(pt->fields);
    tsr_buf_free(&pt->names);
    *pt = (struct tsr_point){0};
}

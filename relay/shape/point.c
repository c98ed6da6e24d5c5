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

/* End of an escaped name or value that stops at one of `stops`. */
static const char *scan_to(const char *p, const char *end, const char *stops)
{
    while (p < end && !strchr(stops, *p)) p += *p == '\\' && p + 1 < end ? 2 : 1;
    return p;
}

void tsr_point_parse(struct tsr_point *pt, const char *line, size_t len)
{
    struct tsr_lp_sections sec;
    tsr_lp_sections(line, len, &sec);
    const char *end = line + len;
    pt->meas = (struct tsr_span){sec.meas, sec.mlen};
    pt->ntags = pt->nfields = 0;
    pt->names.len = 0;

    /* Tags: ",k=v" repeated between the measurement and the space before the fields. */
    const char *p = sec.meas + sec.mlen, *tend = sec.fields - 1;
    while (p < tend && *p == ',') {
        const char *k = p + 1, *ke = scan_to(k, tend, "=");
        const char *v = ke + 1, *ve = scan_to(v, tend, ",");
        pt->tags = grow(pt->tags, &pt->tags_cap, pt->ntags + 1, sizeof(*pt->tags));
        pt->tags[pt->ntags++] = (struct tsr_point_tag){{k, (size_t)(ke - k)}, {v, (size_t)(ve - v)}};
        p = ve;
    }

    const char *f = sec.fields, *fe = sec.fields + sec.flen;
    struct tsr_lp_field fl;
    while (tsr_lp_next_field(&f, fe, &fl) == 0) {
        pt->fields = grow(pt->fields, &pt->fields_cap, pt->nfields + 1, sizeof(*pt->fields));
        pt->fields[pt->nfields++] = (struct tsr_point_field){
            {fl.key, fl.klen}, {fl.key, (size_t)(fl.end - fl.key)}};
        if (f < fe && *f == ',') f++;
    }
    const char *ts = fe < end ? fe + 1 : end;
    pt->ts = (struct tsr_span){ts, (size_t)(end - ts)};
}

struct tsr_span tsr_point_plain(struct tsr_point *pt, struct tsr_span s, const char *specials)
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

uint64_t tsr_point_write(struct tsr_point *pt, struct tsr_buf *out)
{
    size_t start = out->len;
    qsort(pt->tags, pt->ntags, sizeof(*pt->tags), tag_cmp);
    tsr_buf_append(out, pt->meas.p, pt->meas.n);
    for (size_t i = 0; i < pt->ntags; i++) {
        tsr_buf_putc(out, ',');
        tsr_buf_append(out, pt->tags[i].key.p, pt->tags[i].key.n);
        tsr_buf_putc(out, '=');
        tsr_buf_append(out, pt->tags[i].value.p, pt->tags[i].value.n);
    }
    uint64_t h = tsr_fnv1a64(TSR_FNV1A64_INIT, out->data + start, out->len - start);
    for (size_t i = 0; i < pt->nfields; i++) {
        tsr_buf_putc(out, i ? ',' : ' ');
        tsr_buf_append(out, pt->fields[i].kv.p, pt->fields[i].kv.n);
    }
    tsr_buf_putc(out, ' ');
    tsr_buf_append(out, pt->ts.p, pt->ts.n);
    tsr_buf_putc(out, '\n');
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

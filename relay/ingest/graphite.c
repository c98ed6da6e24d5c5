/* relay/ingest/graphite.c — Graphite plaintext to line protocol through InfluxDB 1.x templates.
 *
 * A template spec is "[filter] template [k=v,...]". Compiling keeps a private copy of
 * each spec and describes it with spans into that copy, so the compiled set is one
 * allocation per template plus the array, and is read-only afterwards.
 *
 * Matching: filters are tried most specific first (see filter_cmp), which gives the
 * answers of InfluxDB's filter tree without its one blind spot (the tree never backs
 * up out of a literal branch to try a '*' sibling). A line is converted by writing a
 * line-protocol line into a scratch buffer and handing it to tsr_lp_parse_line, so
 * graphite points are normalised, validated and hashed by the same code as HTTP
 * writes. */
#include "relay/ingest/graphite.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "relay/core/lineproto.h"

/* Bounds both filters and templates. Names may have more segments: only the first
 * MAX_PARTS are ever looked at one by one, the rest is reached through "*" parts. */
#define MAX_PARTS 32
/* Tag keys per template: extracted ones plus the template's default tags. */
#define MAX_SLOTS 64

struct span {
    const char *p;
    size_t len;
};

enum part_kind { PART_SKIP, PART_MEAS, PART_MEAS_REST, PART_FIELD, PART_FIELD_REST, PART_TAG };

struct part {
    enum part_kind kind;
    unsigned slot; /* PART_TAG: index into slots */
};

/* One tag key of a template: filled from the name parts that name it, else from the
 * template's default value (dflt.p == NULL: none). */
struct slot {
    struct span key;
    struct span dflt;
};

struct tmpl {
    char *text;                    /* private copy of the spec, NUL-split into words */
    size_t index;                  /* 1-based position in the config list, for messages */
    struct span filter[MAX_PARTS]; /* p == NULL is the '*' wildcard */
    size_t nfilter;                /* 0: the default template */
    struct part parts[MAX_PARTS];
    size_t nparts;
    struct slot slots[MAX_SLOTS];
    size_t nslots;
};

struct tsr_graphite_tmpl {
    struct tmpl *v; /* templates with a filter, most specific first */
    size_t n;
    struct tmpl *dflt; /* the template without a filter, or NULL */
    char *sep;
    size_t seplen;
};

static bool span_eq(struct span a, const char *p, size_t len)
{
    return a.len == len && memcmp(a.p, p, len) == 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* ---- compiling ------------------------------------------------------------------- */

static int parse_filter(struct tmpl *t, char *w, char *why, size_t whylen)
{
    for (char *seg = w;;) {
        char *dot = strchr(seg, '.');
        size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
        if (t->nfilter == MAX_PARTS) {
            snprintf(why, whylen, "filter has more than %d parts", MAX_PARTS);
            return -1;
        }
        /* InfluxDB only knows whole-segment wildcards; "cpu*" would silently never
         * match there, so say so here. */
        if (memchr(seg, '*', len) && len != 1) {
            snprintf(why, whylen,
                     "filter part '%.*s' mixes '*' with text (only a whole "
                     "part can be '*')",
                     (int)len, seg);
            return -1;
        }
        t->filter[t->nfilter++] = (struct span){len == 1 && *seg == '*' ? NULL : seg, len};
        if (!dot) return 0;
        seg = dot + 1;
    }
}

static int find_slot(const struct tmpl *t, const char *key, size_t len)
{
    for (size_t i = 0; i < t->nslots; i++)
        if (span_eq(t->slots[i].key, key, len)) return (int)i;
    return -1;
}

static int add_slot(struct tmpl *t, const char *key, size_t len, char *why, size_t whylen)
{
    if (t->nslots == MAX_SLOTS) {
        snprintf(why, whylen, "more than %d tags", MAX_SLOTS);
        return -1;
    }
    t->slots[t->nslots] = (struct slot){{key, len}, {NULL, 0}};
    return (int)t->nslots++;
}

static int parse_template(struct tmpl *t, char *w, char *why, size_t whylen)
{
    bool has_meas = false, has_field = false;
    for (char *seg = w;;) {
        char *dot = strchr(seg, '.');
        size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
        struct part pt = {PART_TAG, 0};
        if (t->nparts == MAX_PARTS) {
            snprintf(why, whylen, "template has more than %d parts", MAX_PARTS);
            return -1;
        }
        if (t->nparts > 0 && (t->parts[t->nparts - 1].kind == PART_MEAS_REST ||
                              t->parts[t->nparts - 1].kind == PART_FIELD_REST)) {
            snprintf(why, whylen, "'%s' must be the last part",
                     t->parts[t->nparts - 1].kind == PART_MEAS_REST ? "measurement*" : "field*");
            return -1;
        }
        if (len == 0) {
            pt.kind = PART_SKIP;
        } else if (span_eq((struct span){seg, len}, "measurement", 11)) {
            pt.kind = PART_MEAS;
        } else if (span_eq((struct span){seg, len}, "measurement*", 12)) {
            pt.kind = PART_MEAS_REST;
        } else if (span_eq((struct span){seg, len}, "field", 5) ||
                   span_eq((struct span){seg, len}, "field*", 6)) {
            /* InfluxDB fails every matching line at write time instead. */
            if (has_field) {
                snprintf(why, whylen, "more than one 'field' or 'field*' part");
                return -1;
            }
            has_field = true;
            pt.kind = len == 5 ? PART_FIELD : PART_FIELD_REST;
        } else if (memchr(seg, '*', len)) {
            snprintf(why, whylen,
                     "part '%.*s': only 'measurement*' and 'field*' may "
                     "contain '*'",
                     (int)len, seg);
            return -1;
        } else {
            /* A tag key. A backslash could make the key unrepresentable in line
             * protocol (a trailing one escapes the '='), so none are allowed. */
            if (memchr(seg, '\\', len)) {
                snprintf(why, whylen, "tag name '%.*s' contains a backslash", (int)len, seg);
                return -1;
            }
            if (span_eq((struct span){seg, len}, "time", 4)) {
                snprintf(why, whylen, "'time' cannot be a tag name");
                return -1;
            }
            int s = find_slot(t, seg, len);
            if (s < 0 && (s = add_slot(t, seg, len, why, whylen)) < 0) return -1;
            pt.slot = (unsigned)s;
        }
        has_meas |= pt.kind == PART_MEAS || pt.kind == PART_MEAS_REST;
        t->parts[t->nparts++] = pt;
        if (!dot) break;
        seg = dot + 1;
    }
    if (!has_meas) {
        snprintf(why, whylen, "no 'measurement' or 'measurement*' part");
        return -1;
    }
    return 0;
}

static int parse_tags(struct tmpl *t, char *w, char *why, size_t whylen)
{
    size_t first_default = t->nslots;
    for (char *kv = w;;) {
        char *comma = strchr(kv, ',');
        size_t len = comma ? (size_t)(comma - kv) : strlen(kv);
        const char *eq = memchr(kv, '=', len);
        if (!eq || eq == kv || eq == kv + len - 1 ||
            memchr(eq + 1, '=', len - 1 - (size_t)(eq - kv))) {
            snprintf(why, whylen, "bad tag '%.*s' (expected key=value)", (int)len, kv);
            return -1;
        }
        if (memchr(kv, '\\', len)) {
            snprintf(why, whylen, "tag '%.*s' contains a backslash", (int)len, kv);
            return -1;
        }
        size_t klen = (size_t)(eq - kv);
        if (klen == 4 && !memcmp(kv, "time", 4)) {
            snprintf(why, whylen, "'time' cannot be a tag name");
            return -1;
        }
        int s = find_slot(t, kv, klen);
        if (s >= (int)first_default || (s >= 0 && t->slots[s].dflt.p)) {
            snprintf(why, whylen, "duplicate tag '%.*s'", (int)klen, kv);
            return -1;
        }
        if (s < 0 && (s = add_slot(t, kv, klen, why, whylen)) < 0) return -1;
        t->slots[s].dflt = (struct span){eq + 1, len - klen - 1};
        if (!comma) return 0;
        kv = comma + 1;
    }
}

/* Splits the spec into at most three words and gives each to its parser. */
static int compile_one(struct tmpl *t, const char *spec, char *why, size_t whylen)
{
    char *words[4];
    size_t nwords = 0;

    t->text = strdup(spec);
    if (!t->text) abort(); /* as tsr_buf does: a relay that cannot allocate is done */
    for (char *p = t->text; *p;) {
        while (is_space(*p))
            *p++ = '\0';
        if (!*p) break;
        if (nwords == 4) break;
        words[nwords++] = p;
        while (*p && !is_space(*p))
            p++;
    }
    if (nwords == 0) {
        snprintf(why, whylen, "empty template");
        return -1;
    }
    if (nwords > 3) {
        snprintf(why, whylen, "too many words (expected '[filter] template [key=value,...]')");
        return -1;
    }

    /* Two words are "filter template" unless the second holds tags, as in InfluxDB. */
    char *filter = NULL, *tmpl = words[0], *tags = NULL;
    if (nwords == 2 && strchr(words[1], '=')) {
        tags = words[1];
    } else if (nwords >= 2) {
        filter = words[0];
        tmpl = words[1];
        tags = nwords == 3 ? words[2] : NULL;
    }
    if (strchr(tmpl, '=')) {
        snprintf(why, whylen, "missing template before the tags");
        return -1;
    }
    if (filter && parse_filter(t, filter, why, whylen)) return -1;
    if (parse_template(t, tmpl, why, whylen)) return -1;
    if (tags && parse_tags(t, tags, why, whylen)) return -1;
    return 0;
}

/* Orders filters most specific first. Walking both from the left, at the first part
 * where they differ a literal beats '*', and '*' beats having run out of parts; two
 * different literals are ordered by bytes only to make this a total order (no name
 * matches both). For any two filters that match the same name this is the choice
 * InfluxDB's tree makes, which prefers a literal child over '*' and goes as deep as
 * the name allows. */
static int filter_cmp(const void *a, const void *b)
{
    const struct tmpl *x = a, *y = b;
    for (size_t i = 0;; i++) {
        int rx = i >= x->nfilter ? 0 : x->filter[i].p ? 2 : 1;
        int ry = i >= y->nfilter ? 0 : y->filter[i].p ? 2 : 1;
        if (rx != ry) return ry - rx;
        if (rx == 0) return 0;
        if (rx == 2) {
            size_t n = x->filter[i].len < y->filter[i].len ? x->filter[i].len : y->filter[i].len;
            int c = memcmp(x->filter[i].p, y->filter[i].p, n);
            if (c) return c;
            if (x->filter[i].len != y->filter[i].len)
                return x->filter[i].len < y->filter[i].len ? -1 : 1;
        }
    }
}

int tsr_graphite_tmpl_compile(const char *const *specs, size_t n, const char *separator,
                              struct tsr_graphite_tmpl **tp, char *err, size_t errlen)
{
    char why[256];
    struct tsr_graphite_tmpl *t = calloc(1, sizeof(*t));

    *tp = NULL;
    if (!separator) separator = ".";
    /* Filtered templates are packed at the front of v, the default one goes last. */
    if (!t || !(t->v = calloc(n ? n : 1, sizeof(*t->v))) || !(t->sep = strdup(separator)))
        abort(); /* as tsr_buf does: a relay that cannot allocate is done */
    t->seplen = strlen(separator);
    if (strchr(separator, '\\')) {
        snprintf(err, errlen, "invalid graphite separator '%s': contains a backslash", separator);
        goto fail;
    }

    for (size_t i = 0; i < n; i++) {
        struct tmpl tm;
        memset(&tm, 0, sizeof(tm));
        tm.index = i + 1;
        int rc = compile_one(&tm, specs[i], why, sizeof(why));
        if (rc == 0 && tm.nfilter == 0 && t->dflt) {
            snprintf(why, sizeof(why),
                     "second default template (template #%zu has no "
                     "filter either)",
                     t->dflt->index);
            rc = -1;
        }
        for (size_t j = 0; rc == 0 && tm.nfilter && j < t->n; j++) {
            if (filter_cmp(&tm, &t->v[j]) == 0) {
                snprintf(why, sizeof(why), "same filter as template #%zu", t->v[j].index);
                rc = -1;
            }
        }
        if (rc) {
            free(tm.text);
            snprintf(err, errlen, "invalid graphite template #%zu '%s': %s", i + 1, specs[i], why);
            goto fail;
        }
        if (tm.nfilter) {
            t->v[t->n++] = tm;
        } else {
            t->v[n - 1] = tm;
            t->dflt = &t->v[n - 1];
        }
    }
    qsort(t->v, t->n, sizeof(*t->v), filter_cmp);
    *tp = t;
    return 0;

fail:
    tsr_graphite_tmpl_free(&t);
    return -1;
}

void tsr_graphite_tmpl_free(struct tsr_graphite_tmpl **tp)
{
    struct tsr_graphite_tmpl *t = *tp;
    if (!t) return;
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].text);
    if (t->dflt) free(t->dflt->text);
    free(t->v);
    free(t->sep);
    free(t);
    *tp = NULL;
}

/* ---- converting ------------------------------------------------------------------ */

/* A metric name cut at '.': the first MAX_PARTS parts one by one, and where the name
 * ends, so that "*" parts can take all of the rest. */
struct name {
    const char *p, *end;
    struct span seg[MAX_PARTS];
    size_t nseg; /* capped at MAX_PARTS, which is all any filter or template needs */
};

static void name_split(struct name *nm, const char *p, size_t len)
{
    nm->p = p;
    nm->end = p + len;
    nm->nseg = 0;
    for (const char *s = p; nm->nseg < MAX_PARTS;) {
        const char *dot = memchr(s, '.', (size_t)(nm->end - s));
        const char *e = dot ? dot : nm->end;
        nm->seg[nm->nseg++] = (struct span){s, (size_t)(e - s)};
        if (!dot) break;
        s = dot + 1;
    }
}

static bool filter_match(const struct tmpl *tm, const struct name *nm)
{
    if (tm->nfilter > nm->nseg) return false;
    for (size_t i = 0; i < tm->nfilter; i++)
        if (tm->filter[i].p && !span_eq(tm->filter[i], nm->seg[i].p, nm->seg[i].len)) return false;
    return true;
}

static const struct tmpl *tmpl_match(const struct tsr_graphite_tmpl *t, const struct name *nm)
{
    for (size_t i = 0; i < t->n; i++)
        if (filter_match(&t->v[i], nm)) return &t->v[i];
    return t->dflt;
}

/* Escaping writer for one line-protocol token. Line protocol has no escape for the
 * backslash itself, and its two scanners treat one differently (relay/core/lineproto.c, as
 * InfluxDB): in a measurement or tag, a delimiter is escaped when the byte before it is
 * a backslash, so only a token that ends in a backslash is ambiguous (its delimiter would
 * be taken as escaped); in a field key a backslash escapes whatever byte follows, so a
 * run of backslashes before an escaped character or the end must have even length.
 * Names that cannot be written unambiguously are refused rather than mangled. */
struct lpw {
    struct tsr_buf *b;
    const char *special; /* characters that need a backslash in this token */
    bool pairs;          /* field key: backslashes pair with the next byte */
    unsigned bs;         /* length of the current run of backslashes */
    bool bad;
};

static void lpw_put(struct lpw *w, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\\') {
            w->bs++;
        } else {
            if (strchr(w->special, c)) {
                if (w->pairs && (w->bs & 1)) w->bad = true;
                tsr_buf_putc(w->b, '\\');
            }
            w->bs = 0;
        }
        tsr_buf_putc(w->b, c);
    }
}

/* Like lpw_put, with each '.' of the name replaced by the separator. */
static void lpw_put_rest(struct lpw *w, const char *p, const char *end, const char *sep,
                         size_t seplen)
{
    while (p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        const char *e = dot ? dot : end;
        lpw_put(w, p, (size_t)(e - p));
        if (!dot) break;
        lpw_put(w, sep, seplen);
        p = dot + 1;
    }
}

/* Ends a token; false if it cannot be written unambiguously. */
static bool lpw_end(struct lpw *w)
{
    bool ok = !w->bad && !(w->pairs ? w->bs & 1 : w->bs);
    w->bs = 0;
    w->bad = false;
    return ok;
}

/* The tags of a Graphite 1.1 tagged name ("name;k=v;k2=v2"), in their order. */
struct utags {
    struct span key[MAX_SLOTS], val[MAX_SLOTS];
    size_t n;
};

/* True when tag i of ut is repeated later on: Graphite keeps the last value. */
static bool utag_overridden(const struct utags *ut, size_t i)
{
    for (size_t j = i + 1; j < ut->n; j++)
        if (ut->key[j].len == ut->key[i].len && !memcmp(ut->key[j].p, ut->key[i].p, ut->key[i].len))
            return true;
    return false;
}

static bool utag_has(const struct utags *ut, struct span key)
{
    for (size_t i = 0; i < ut->n; i++)
        if (span_eq(ut->key[i], key.p, key.len)) return true;
    return false;
}

/* Splits the tags off a tagged name at its first ';' with Graphite's rules (graphite
 * docs, "Carbon" under "Tagged series"): each tag is name=value, the name at least one
 * byte and none of ";!^=", the value at least one byte, no ';', not starting with '~'.
 * Shortens *len to the metric name. */
static const char *split_tags(const char *name, size_t *len, struct utags *ut)
{
    const char *end = name + *len;
    const char *semi = memchr(name, ';', *len);
    ut->n = 0;
    if (!semi) return NULL;
    if (semi == name) return "tagged name has no metric name before ';'";
    *len = (size_t)(semi - name);
    for (const char *p = semi + 1;;) {
        const char *e = memchr(p, ';', (size_t)(end - p));
        if (!e) e = end;
        const char *eq = memchr(p, '=', (size_t)(e - p));
        if (!eq || eq == p || eq + 1 == e) return "graphite tag is not 'name=value'";
        for (const char *c = p; c < eq; c++)
            if (*c == '!' || *c == '^') return "graphite tag name has one of ';!^='";
        if (eq[1] == '~') return "graphite tag value starts with '~'";
        if (ut->n == MAX_SLOTS) return "more than 64 graphite tags";
        ut->key[ut->n] = (struct span){p, (size_t)(eq - p)};
        ut->val[ut->n] = (struct span){eq + 1, (size_t)(e - eq - 1)};
        ut->n++;
        if (e == end) return NULL;
        p = e + 1;
    }
}

/* Writes "measurement[,k=v...] field" for `nm` under template `tm` (may be NULL), with
 * the tags of a tagged name, which win over the template's tags of the same names. */
static const char *write_key(const struct tsr_graphite_tmpl *t, const struct tmpl *tm,
                             const struct name *nm, const struct utags *ut, struct tsr_buf *lp)
{
    struct lpw w = {lp, ", ", false, 0, false};
    size_t nmeas = 0;

    for (size_t i = 0; tm && i < tm->nparts && i < nm->nseg; i++) {
        const struct part *pt = &tm->parts[i];
        if (pt->kind != PART_MEAS && pt->kind != PART_MEAS_REST) continue;
        if (nmeas++) lpw_put(&w, t->sep, t->seplen);
        if (pt->kind == PART_MEAS)
            lpw_put(&w, nm->seg[i].p, nm->seg[i].len);
        else
            lpw_put_rest(&w, nm->seg[i].p, nm->end, t->sep, t->seplen);
    }
    /* As InfluxDB: when the template yields nothing, the whole name is the measurement. */
    if (lp->len == 0) lpw_put(&w, nm->p, (size_t)(nm->end - nm->p));
    if (!lpw_end(&w)) return "metric name has a backslash that line protocol cannot carry";
    if (lp->data[0] == '#') return "measurement starts with '#' (a line-protocol comment)";

    w.special = ", =";
    for (size_t s = 0; tm && s < tm->nslots; s++) {
        const struct slot *sl = &tm->slots[s];
        size_t mark = lp->len, nval = 0;
        if (utag_has(ut, sl->key)) continue;
        tsr_buf_putc(lp, ',');
        lpw_put(&w, sl->key.p, sl->key.len);
        tsr_buf_putc(lp, '=');
        size_t vstart = lp->len;
        for (size_t i = 0; i < tm->nparts && i < nm->nseg; i++) {
            if (tm->parts[i].kind != PART_TAG || tm->parts[i].slot != s) continue;
            if (nval++) lpw_put(&w, t->sep, t->seplen);
            lpw_put(&w, nm->seg[i].p, nm->seg[i].len);
        }
        /* The name's own value wins over the template's default; a tag left empty is
         * dropped, since line protocol cannot express an empty tag value. */
        if (lp->len == vstart && sl->dflt.p) lpw_put(&w, sl->dflt.p, sl->dflt.len);
        if (!lpw_end(&w)) return "metric name has a backslash that line protocol cannot carry";
        if (lp->len == vstart) lp->len = mark;
    }
    for (size_t i = 0; i < ut->n; i++) {
        if (utag_overridden(ut, i)) continue;
        tsr_buf_putc(lp, ',');
        lpw_put(&w, ut->key[i].p, ut->key[i].len);
        if (!lpw_end(&w)) return "graphite tag has a backslash that line protocol cannot carry";
        tsr_buf_putc(lp, '=');
        lpw_put(&w, ut->val[i].p, ut->val[i].len);
        if (!lpw_end(&w)) return "graphite tag has a backslash that line protocol cannot carry";
    }

    tsr_buf_putc(lp, ' ');
    w.pairs = true;
    size_t fstart = lp->len;
    for (size_t i = 0; tm && i < tm->nparts && i < nm->nseg; i++) {
        if (tm->parts[i].kind == PART_FIELD)
            lpw_put(&w, nm->seg[i].p, nm->seg[i].len);
        else if (tm->parts[i].kind == PART_FIELD_REST)
            lpw_put_rest(&w, nm->seg[i].p, nm->end, t->sep, t->seplen);
    }
    if (lp->len == fstart) tsr_buf_puts(lp, "value");
    if (!lpw_end(&w)) return "metric name has a backslash that line protocol cannot carry";
    return NULL;
}

/* Accepts what a decimal float looks like: [+-]digits[.digits][e[+-]digits], with at
 * least one mantissa digit. Sets *has_exp when there is an exponent. */
static bool decimal_syntax(const char *p, size_t n, bool *has_exp)
{
    size_t i = 0, digits = 0;
    *has_exp = false;
    if (i < n && (p[i] == '+' || p[i] == '-')) i++;
    while (i < n && p[i] >= '0' && p[i] <= '9')
        i++, digits++;
    if (i < n && p[i] == '.') {
        i++;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++, digits++;
    }
    if (digits == 0) return false;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        size_t edigits = 0;
        *has_exp = true;
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-')) i++;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++, edigits++;
        if (edigits == 0) return false;
    }
    return i == n;
}

/* strtod needs a terminated string; tokens longer than any real number are refused. */
static bool to_double(const char *p, size_t n, double *v)
{
    char tmp[128];
    char *end;
    if (n >= sizeof(tmp)) return false;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    *v = strtod(tmp, &end);
    return end == tmp + n;
}

static const char *parse_value(const char *p, size_t n, double *v)
{
    bool has_exp;
    const char *q = p + (n && (*p == '+' || *p == '-'));
    size_t qn = n - (size_t)(q - p);
    if ((qn == 3 && !strncasecmp(q, "nan", 3)) || (qn == 3 && !strncasecmp(q, "inf", 3)) ||
        (qn == 8 && !strncasecmp(q, "infinity", 8)))
        return "value is NaN or infinite";
    if (!decimal_syntax(p, n, &has_exp) || !to_double(p, n, v)) return "value is not a number";
    if (!isfinite(*v)) return "value is NaN or infinite";
    return NULL;
}

/* Unix seconds to nanoseconds. Plain decimals are converted digit by digit, so that
 * 1700000000.123456789 keeps its nanoseconds (a double would not); digits past the
 * ninth decimal are dropped. Exponent forms go through strtod. */
static const char *parse_time(const char *p, size_t n, int64_t now_ns, int64_t *ts)
{
    bool has_exp, neg = false;
    if (!decimal_syntax(p, n, &has_exp)) return "timestamp is not a number";
    if (has_exp) {
        double d;
        if (!to_double(p, n, &d) || !isfinite(d)) return "timestamp is not a number";
        if (d == -1) {
            *ts = now_ns;
            return NULL;
        }
        if (d >= 9.2e9 || d <= -9.2e9) return "timestamp out of range";
        *ts = (int64_t)(d * 1e9 + (d < 0 ? -0.5 : 0.5));
        return NULL;
    }

    size_t i = 0;
    int64_t sec = 0, frac = 0, scale = 100000000;
    if (p[i] == '+' || p[i] == '-') neg = p[i++] == '-';
    for (; i < n && p[i] != '.'; i++) {
        if (sec > INT64_MAX / 1000000000) return "timestamp out of range";
        sec = sec * 10 + (p[i] - '0');
    }
    for (i++; i < n; i++, scale /= 10)
        frac += (p[i] - '0') * scale;
    int64_t ns;
    if (__builtin_mul_overflow(sec, 1000000000, &ns) || __builtin_add_overflow(ns, frac, &ns))
        return "timestamp out of range";
    /* -1 is carbon's "now" (graphite-project/carbon#54), as in InfluxDB. */
    *ts = neg ? (ns == 1000000000 ? now_ns : -ns) : ns;
    return NULL;
}

/* Formats v in the fewest significant digits that read back as v. */
static void put_double(struct tsr_buf *b, double v)
{
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (prec == 17 || strtod(tmp, NULL) == v) break;
    }
    tsr_buf_puts(b, tmp);
}

int tsr_graphite_line(const struct tsr_graphite_tmpl *t, const char *line, size_t len,
                      int64_t now_ns, struct tsr_buf *out, uint64_t *series_hash,
                      const char **reason)
{
    struct span w[3];
    size_t nw = 0;
    const char *p = line, *end = line + len;

    if (end > p && end[-1] == '\r') end--;
    /* Carbon splits on any whitespace, so names never contain any. */
    while (p < end) {
        while (p < end && is_space(*p))
            p++;
        if (p == end) break;
        if (nw == 3) {
            *reason = "expected 'name value [timestamp]'";
            return -1;
        }
        w[nw].p = p;
        while (p < end && !is_space(*p))
            p++;
        w[nw].len = (size_t)(p - w[nw].p);
        nw++;
    }
    if (nw == 0) return 1;
    if (nw < 2) {
        *reason = "expected 'name value [timestamp]'";
        return -1;
    }

    double v;
    int64_t ts = now_ns;
    if ((*reason = parse_value(w[1].p, w[1].len, &v))) return -1;
    if (nw == 3 && (*reason = parse_time(w[2].p, w[2].len, now_ns, &ts))) return -1;

    struct name nm;
    struct utags ut;
    size_t nlen = w[0].len;
    if ((*reason = split_tags(w[0].p, &nlen, &ut))) return -1;
    struct tsr_buf lp = {0};
    int rc = -1;
    name_split(&nm, w[0].p, nlen);
    tsr_buf_reserve(&lp, 2 * w[0].len + 64);
    if ((*reason = write_key(t, tmpl_match(t, &nm), &nm, &ut, &lp))) goto done;
    tsr_buf_putc(&lp, '=');
    put_double(&lp, v);
    tsr_buf_printf(&lp, " %lld", (long long)ts);

    /* The same parser as HTTP input normalises, validates and hashes the point. */
    struct tsr_lp_opts opts = {.precision = TSR_PREC_NS, .now_ns = now_ns};
    struct tsr_lp_result res;
    tsr_lp_parse_line(lp.data, lp.data + lp.len, &opts, out, &res);
    if (res.status == TSR_LP_OK) {
        *series_hash = res.series_hash;
        rc = 0;
    } else {
        *reason = res.status == TSR_LP_ERR && res.reason ? res.reason : "not a point";
    }

done:
    tsr_buf_free(&lp);
    return rc;
}

static int all_of(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr(set, s[i])) return 0;
    return 1;
}

static int has_digit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= '0' && s[i] <= '9') return 1;
    return 0;
}

static int is_uuid(const char *s, size_t n)
{
    static const int dash[] = {8, 13, 18, 23};
    if (n != 36) return 0;
    for (size_t i = 0, d = 0; i < n; i++) {
        if (d < 4 && (int)i == dash[d]) {
            if (s[i] != '-') return 0;
            d++;
        } else if (!strchr("0123456789abcdefABCDEF", s[i])) {
            return 0;
        }
    }
    return 1;
}

int tsr_graphite_id_component(const char *line, size_t len, const char **comp, size_t *clen,
                              const char **what)
{
    const char *sp = memchr(line, ' ', len), *end = sp ? sp : line + len;
    const char *semi = memchr(line, ';', (size_t)(end - line)); /* tags are not the path */
    if (semi) end = semi;
    for (const char *p = line; p < end;) {
        const char *dot = memchr(p, '.', (size_t)(end - p)), *ce = dot ? dot : end;
        size_t n = (size_t)(ce - p);
        const char *kind = NULL;
        if (n >= 9 && all_of(p, n, "0123456789"))
            kind = "a timestamp or a number";
        else if ((n >= 16 && all_of(p, n, "0123456789abcdefABCDEF") && has_digit(p, n)) ||
                 is_uuid(p, n))
            kind = "an ID";
        if (kind) {
            *comp = p;
            *clen = n;
            *what = kind;
            return 1;
        }
        p = dot ? dot + 1 : end;
    }
    return 0;
}

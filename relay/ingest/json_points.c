/* relay/ingest/json_points.c — JSON messages to line protocol (see json_points.h).
 *
 * One jansson parse per message, then one walk per object: the flattened key grows in a
 * fixed buffer and each value goes straight into one of two scratch buffers (tags,
 * fields) that all the message's objects reuse, so nothing is allocated per field. The
 * line is assembled once the walk has found the measurement and the time. Telegraf's
 * behaviour comes from two of its parts: the json parser (what becomes a field or a tag)
 * and the influx serializer (what it leaves out so that a line stays readable). */
#include "relay/ingest/json_points.h"

#include <fnmatch.h>
#include <jansson.h>
#include <math.h> /* signbit, a macro: nothing to link */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define KEY_MAX 256 /* bytes of a flattened key: longer is a runaway document, not a metric */
#define SEC     1000000000LL

enum { C_MEAS = 1, C_TAG = 2, C_STR = 4, C_NL = 8 };
static const unsigned char cls[256] = {
    [','] = C_MEAS | C_TAG, [' '] = C_MEAS | C_TAG, ['='] = C_TAG, ['"'] = C_STR,
    ['\\'] = C_STR,         ['\n'] = C_NL,          ['\r'] = C_NL,
};

/* Escapes the bytes of class mask. With C_NL in mask a newline fails (-1): only a string
 * field can carry one. Outside strings a backslash before a byte that gets escaped, or
 * before another backslash, fails too (-2): line protocol would read `a\\,b` as an
 * escaped comma, and the relay's own parser would then refuse or misread the line. */
static int put_esc(struct tsr_buf *b, const char *s, size_t n, unsigned char mask)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = cls[(unsigned char)s[i]] & mask;
        if (s[i] == '\\' && !(mask & C_STR) && i + 1 < n &&
            (s[i + 1] == '\\' || (cls[(unsigned char)s[i + 1]] & mask & ~C_NL)))
            return -2;
        if (!c) continue;
        if (c & C_NL) return -1;
        if (i > run) tsr_buf_append(b, s + run, i - run); /* memcpy(NULL, .., 0) is UB */
        tsr_buf_putc(b, '\\');
        run = i;
    }
    if (n > run) tsr_buf_append(b, s + run, n - run);
    return 0;
}

/* Why put_esc refused a name. */
static const char *unfit(int rc)
{
    return rc == -1   ? "holds a newline"
           : rc == -2 ? "holds a backslash before ',', '=', ' ' or '\\'"
           : rc == -3 ? "starts with '#', which line protocol reads as a comment"
                      : "starts with a tab, which line protocol skips";
}

/* Telegraf's serializer drops trailing backslashes, which would escape the separator
 * after them, and then leaves out what is empty. */
static size_t trim(const char *s, size_t n)
{
    while (n && s[n - 1] == '\\')
        n--;
    return n;
}

/* ---- the compiled conf ------------------------------------------------------------ */

struct pat {
    char *s;
    size_t len;
    bool glob; /* Telegraf's tag_keys and json_string_fields are globs */
};

enum { K_LIT, K_NUM, K_MONTH, K_WDAY, K_PM, K_ZONE, K_ZNAME, K_FRAC, K_BAD };
enum { F_YEAR, F_YEAR2, F_MONTH, F_DAY, F_HOUR, F_HOUR12, F_MIN, F_SEC, F_N };

/* One chunk of a Go layout. K_NUM: field f, width a (0: 1-2 digits, 1: a space then 1-2,
 * 2 or 4: exactly). K_MONTH, K_WDAY: a = the long name. K_PM: a = lower case. K_ZONE:
 * a = 'Z' allowed, b = form (1 -07, 2 -0700, 3 -07:00, 4 -070000, 5 -07:00:00). K_FRAC:
 * a = digits, b = optional (the .999 kind). */
struct tok {
    unsigned char kind, f, a, b;
    const char *lit;
    size_t len;
};

struct tsr_json_points {
    char *meas; /* escaped once here; NULL when only name_key names points */
    size_t meas_len;
    char *name_key, *time_key, *time_format; /* NULL for "" */
    size_t name_key_len, time_key_len;
    struct pat *tags, *strs;
    size_t ntags, nstrs;
    int64_t unit_ns; /* the unix formats: ns per unit; 0 for a layout */
    struct tok *toks;
    size_t ntoks;
};

static char *dup_or_null(const char *s)
{
    char *d = s && *s ? strdup(s) : NULL;
    if (s && *s && !d) abort();
    return d;
}

static int copy_pats(const char *const *in, size_t n, struct pat **out, size_t *nout)
{
    if (!(*out = calloc(n + 1, sizeof **out))) abort();
    for (; *nout < n; ++*nout) {
        const char *s = in[*nout];
        if (!s || !*s) return -1;
        (*out)[*nout] = (struct pat){dup_or_null(s), strlen(s), strpbrk(s, "*?[\\") != NULL};
    }
    return 0;
}

/* Go's layout chunks, longest first where one starts another, as Go's nextStdChunk. */
static const struct {
    const char *s;
    unsigned char kind, f, a, b;
} chunks[] = {
    {"January", K_MONTH, 0, 1, 0}, {"Jan", K_MONTH, 0, 0, 0},      {"Monday", K_WDAY, 0, 1, 0},
    {"Mon", K_WDAY, 0, 0, 0},      {"MST", K_ZNAME, 0, 0, 0},      {"2006", K_NUM, F_YEAR, 4, 0},
    {"002", K_BAD, 0, 0, 0},       {"__2", K_BAD, 0, 0, 0},        {"01", K_NUM, F_MONTH, 2, 0},
    {"02", K_NUM, F_DAY, 2, 0},    {"03", K_NUM, F_HOUR12, 2, 0},  {"04", K_NUM, F_MIN, 2, 0},
    {"05", K_NUM, F_SEC, 2, 0},    {"06", K_NUM, F_YEAR2, 2, 0},   {"15", K_NUM, F_HOUR, 0, 0},
    {"1", K_NUM, F_MONTH, 0, 0},   {"2", K_NUM, F_DAY, 0, 0},      {"_2", K_NUM, F_DAY, 1, 0},
    {"3", K_NUM, F_HOUR12, 0, 0},  {"4", K_NUM, F_MIN, 0, 0},      {"5", K_NUM, F_SEC, 0, 0},
    {"PM", K_PM, 0, 0, 0},         {"pm", K_PM, 0, 1, 0},          {"-07:00:00", K_ZONE, 0, 0, 5},
    {"-070000", K_ZONE, 0, 0, 4},  {"-07:00", K_ZONE, 0, 0, 3},    {"-0700", K_ZONE, 0, 0, 2},
    {"-07", K_ZONE, 0, 0, 1},      {"Z07:00:00", K_ZONE, 0, 1, 5}, {"Z070000", K_ZONE, 0, 1, 4},
    {"Z07:00", K_ZONE, 0, 1, 3},   {"Z0700", K_ZONE, 0, 1, 2},     {"Z07", K_ZONE, 0, 1, 1},
};

/* Telegraf's names for Go's predefined layouts. */
static const char *const named[][2] = {
    {"ansic", "Mon Jan _2 15:04:05 2006"},
    {"unixdate", "Mon Jan _2 15:04:05 MST 2006"},
    {"rubydate", "Mon Jan 02 15:04:05 -0700 2006"},
    {"rfc822", "02 Jan 06 15:04 MST"},
    {"rfc822z", "02 Jan 06 15:04 -0700"},
    {"rfc850", "Monday, 02-Jan-06 15:04:05 MST"},
    {"rfc1123", "Mon, 02 Jan 2006 15:04:05 MST"},
    {"rfc1123z", "Mon, 02 Jan 2006 15:04:05 -0700"},
    {"rfc3339", "2006-01-02T15:04:05Z07:00"},
    {"rfc3339nano", "2006-01-02T15:04:05.999999999Z07:00"},
    {"stamp", "Jan _2 15:04:05"},
    {"stampmilli", "Jan _2 15:04:05.000"},
    {"stampmicro", "Jan _2 15:04:05.000000"},
    {"stampnano", "Jan _2 15:04:05.000000000"},
};

/* The chunk at p, or 0 for a literal byte. */
static size_t match_chunk(const char *p, struct tok *t)
{
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        size_t n = strlen(chunks[i].s);
        if (strncmp(p, chunks[i].s, n) != 0) continue;
        /* Go: "Jan" and "Mon" are text before a lower-case letter ("Month"), and "_2006"
         * is a '_' and a year. */
        bool abbr = (chunks[i].kind == K_MONTH || chunks[i].kind == K_WDAY) && !chunks[i].a;
        if ((abbr && p[n] >= 'a' && p[n] <= 'z') || (n == 2 && !strncmp(p, "_2006", 5))) return 0;
        *t = (struct tok){chunks[i].kind, chunks[i].f, chunks[i].a, chunks[i].b, p, n};
        return n;
    }
    if ((p[0] != '.' && p[0] != ',') || (p[1] != '0' && p[1] != '9')) return 0;
    size_t j = 1;
    while (p[j] == p[1])
        j++;
    if (p[j] >= '0' && p[j] <= '9') return 0; /* ".0001" is text, as in Go */
    *t = (struct tok){K_FRAC, 0, (unsigned char)(j < 256 ? j - 1 : 255), p[1] == '9', p, j};
    return j;
}

static int compile_layout(struct tsr_json_points *jp, const char *layout, char *err, size_t errlen)
{
    if (!(jp->toks = calloc(strlen(layout) + 1, sizeof *jp->toks))) abort();
    bool dated = false;
    for (const char *p = layout; *p;) {
        struct tok t;
        size_t n = match_chunk(p, &t);
        if (!n) { /* a literal byte joins the literal before it */
            struct tok *last = jp->ntoks ? &jp->toks[jp->ntoks - 1] : NULL;
            if (last && last->kind == K_LIT)
                last->len++;
            else
                jp->toks[jp->ntoks++] = (struct tok){K_LIT, 0, 0, 0, p, 1};
            p++;
            continue;
        }
        if (t.kind == K_BAD) {
            snprintf(err, errlen, "time_format '%s': day of year (%.*s) is not supported",
                     jp->time_format, (int)n, p);
            return -1;
        }
        dated |= (t.kind == K_NUM && t.f != F_MIN && t.f != F_SEC) || t.kind == K_MONTH;
        jp->toks[jp->ntoks++] = t;
        p += n;
    }
    if (dated) return 0;
    snprintf(err, errlen,
             "time_format '%s' is neither unix, unix_ms, unix_us, unix_ns, rfc3339 nor a Go "
             "layout with a date or an hour (such as 2006-01-02 15:04:05)",
             jp->time_format);
    return -1;
}

static int compile_time(struct tsr_json_points *jp, char *err, size_t errlen)
{
    static const char *const units[] = {"unix_ns", "unix_us", "unix_ms", "unix"};
    int64_t ns = 1;
    for (int i = 0; i < 4; i++, ns *= 1000)
        if (strcmp(jp->time_format, units[i]) == 0) return jp->unit_ns = ns, 0;
    const char *layout = jp->time_format;
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (strcasecmp(layout, named[i][0]) == 0) layout = named[i][1];
    return compile_layout(jp, layout, err, errlen);
}

/* Checks the conf's measurement and keeps it escaped; NULL stays NULL. */
static int compile_meas(struct tsr_json_points *jp, const char *m, char *err, size_t errlen)
{
    size_t n = trim(m ? m : "", m ? strlen(m) : 0);
    struct tsr_buf b = {0};
    if (!n && !jp->name_key) {
        snprintf(err, errlen, "measurement is empty and there is no name_key");
        return -1;
    }
    int rc = n ? put_esc(&b, m, n, C_MEAS | C_NL) : 0;
    if (n && m[0] == '#') rc = -3;
    if (rc) {
        tsr_buf_free(&b);
        snprintf(err, errlen, "measurement %s", unfit(rc));
        return -1;
    }
    jp->meas_len = b.len;
    if (n) tsr_buf_putc(&b, '\0');
    jp->meas = tsr_buf_detach(&b, NULL);
    return 0;
}

int tsr_json_points_new(const struct tsr_json_conf *c, struct tsr_json_points **jpp, char *err,
                        size_t errlen)
{
    struct tsr_json_points *jp = calloc(1, sizeof *jp);
    if (!jp) abort();
    *jpp = NULL;
    jp->name_key = dup_or_null(c->name_key);
    jp->time_key = dup_or_null(c->time_key);
    jp->time_format = dup_or_null(c->time_format);
    jp->name_key_len = jp->name_key ? strlen(jp->name_key) : 0;
    jp->time_key_len = jp->time_key ? strlen(jp->time_key) : 0;
    if (copy_pats(c->tag_keys, c->ntag_keys, &jp->tags, &jp->ntags) ||
        copy_pats(c->string_fields, c->nstring_fields, &jp->strs, &jp->nstrs)) {
        snprintf(err, errlen, "tag_keys and string_fields cannot hold an empty key");
        goto fail;
    }
    if (compile_meas(jp, c->measurement, err, errlen)) goto fail;
    if (jp->time_key && !jp->time_format) {
        snprintf(err, errlen, "time_key '%s' needs a time_format", jp->time_key);
        goto fail;
    }
    /* Checked even without a time key: a wrong format is a config mistake either way. */
    if (jp->time_format && compile_time(jp, err, errlen)) goto fail;
    *jpp = jp;
    return 0;
fail:
    tsr_json_points_free(&jp);
    return -1;
}

void tsr_json_points_free(struct tsr_json_points **jpp)
{
    struct tsr_json_points *jp = *jpp;
    if (!jp) return;
    for (size_t i = 0; i < jp->ntags; i++)
        free(jp->tags[i].s);
    for (size_t i = 0; i < jp->nstrs; i++)
        free(jp->strs[i].s);
    free(jp->tags);
    free(jp->strs);
    free(jp->toks);
    free(jp->meas);
    free(jp->name_key);
    free(jp->time_key);
    free(jp->time_format);
    free(jp);
    *jpp = NULL;
}

/* ---- numbers ---------------------------------------------------------------------- */

static size_t put_u64(char *d, uint64_t v)
{
    char t[24];
    size_t n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while (v /= 10);
    for (size_t i = 0; i < n; i++)
        d[i] = t[n - 1 - i];
    return n;
}

static size_t put_i64(char *d, int64_t v)
{
    if (v >= 0) return put_u64(d, (uint64_t)v);
    d[0] = '-';
    return 1 + put_u64(d + 1, -(uint64_t)v);
}

/* Writes sign and digits[0..nd) times 10^(exp + 1 - nd), without an exponent. */
static size_t lay_out(char *d, bool neg, const char *digits, int nd, int exp)
{
    size_t n = 0;
    if (neg) d[n++] = '-';
    if (exp < 0) {
        d[n++] = '0', d[n++] = '.';
        for (int i = -1; i > exp; i--)
            d[n++] = '0';
        memcpy(d + n, digits, (size_t)nd);
        return n + (size_t)nd;
    }
    for (int i = 0; i <= exp || i < nd; i++) {
        if (i == exp + 1) d[n++] = '.';
        d[n++] = i < nd ? digits[i] : '0';
    }
    return n;
}

/* Go's strconv.FormatFloat(v, 'f', -1, 64), which Telegraf writes floats and number tags
 * with: the shortest digits that read back as v, never an exponent. d holds 400 bytes
 * (5e-324 takes 326). */
static size_t fmt_double(char *d, double v)
{
    static const double p10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
    double av = v < 0 ? -v : v;
    char digits[32], e[40];
    /* Most metrics have a few decimals: find them by multiplying, without printf. Both
     * tests are exact, so what passes reads back as v. */
    for (int k = 0; k < 7 && av * p10[k] < 9007199254740992.0; k++) {
        double x = av * p10[k];
        if (x != (double)(int64_t)x || (double)(int64_t)x / p10[k] != av) continue;
        int nd = (int)put_u64(digits, (uint64_t)x);
        while (k > 0 && digits[nd - 1] == '0')
            nd--, k--;
        return lay_out(d, signbit(v), digits, nd, x == 0 ? 0 : nd - 1 - k);
    }
    /* If a decimal of at most 15 digits reads back as v, v rounded to 15 digits is that
     * decimal (DBL_DIG); so 15, 16, then 17 digits, which always read back. Subnormals
     * have too few bits for that argument and try every precision. */
    for (int prec = av < 2.2250738585072014e-308 ? 1 : 15; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, av);
        if (strtod(e, NULL) == av) break;
    }
    int nd = 0;
    const char *p = e;
    for (; *p != 'e'; p++)
        if (*p != '.') digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    return lay_out(d, signbit(v), digits, nd, atoi(p + 1));
}

/* A JSON number as Go reads it, a float64, written as Telegraf writes one. */
static size_t fmt_number(char *d, const json_t *v)
{
    if (json_is_real(v)) return fmt_double(d, json_real_value(v));
    json_int_t i = json_integer_value(v);
    if (i > (1LL << 53) || i < -(1LL << 53)) return fmt_double(d, (double)i);
    return put_i64(d, i);
}

/* ---- the walk --------------------------------------------------------------------- */

struct walk {
    const struct tsr_json_points *jp;
    struct tsr_buf tags, fields, *why;
    const json_t *name, *time;
    long obj; /* 1-based, for messages */
    char key[KEY_MAX + 1];
};

__attribute__((format(printf, 2, 3))) static int fail(struct walk *w, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tsr_buf_printf(w->why, "object %ld: %s", w->obj, msg);
    return -1;
}

/* Fails with "<what> '<s>' <why>", s cut at 64 bytes and its newlines shown as \n. */
static int fail_text(struct walk *w, const char *what, const char *s, size_t n, const char *why)
{
    char q[160];
    size_t o = 0;
    for (size_t i = 0; i < n && i < 64; i++) {
        if (s[i] == '\n' || s[i] == '\r')
            q[o++] = '\\', q[o++] = s[i] == '\n' ? 'n' : 'r';
        else
            q[o++] = s[i];
    }
    if (n > 64) memcpy(q + o, "...", 3), o += 3;
    return fail(w, "%s '%.*s' %s", what, (int)o, q, why);
}

static bool listed(const struct pat *p, size_t n, const char *key, size_t klen)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].glob ? fnmatch(p[i].s, key, 0) == 0
                      : p[i].len == klen && memcmp(p[i].s, key, klen) == 0)
            return true;
    return false;
}

static int put_tag(struct walk *w, size_t klen, const json_t *v)
{
    char num[400];
    const char *s = num;
    size_t n, kn = trim(w->key, klen);
    if (json_is_string(v))
        s = json_string_value(v), n = json_string_length(v);
    else if (json_is_boolean(v))
        s = json_is_true(v) ? "true" : "false", n = strlen(s);
    else
        n = fmt_number(num, v);
    if (!kn || !(n = trim(s, n))) return 0; /* line protocol has no empty tags */
    tsr_buf_putc(&w->tags, ',');
    int rc = put_esc(&w->tags, w->key, kn, C_TAG | C_NL);
    if (rc) return fail_text(w, "tag key", w->key, klen, unfit(rc));
    tsr_buf_putc(&w->tags, '=');
    if ((rc = put_esc(&w->tags, s, n, C_TAG | C_NL)))
        return fail_text(w, "tag", w->key, klen,
                         rc == -1 ? "has a value holding a newline"
                                  : "has a value holding a backslash before ',', '=', ' ' or '\\'");
    return 0;
}

static int put_field(struct walk *w, size_t klen, const json_t *v)
{
    struct tsr_buf *b = &w->fields;
    size_t kn = trim(w->key, klen);
    if (!kn) return 0; /* Telegraf's serializer drops a field it cannot name */
    if (kn == 4 && memcmp(w->key, "time", 4) == 0) return 0; /* InfluxDB drops it too */
    if (b->len) tsr_buf_putc(b, ',');
    int rc = put_esc(b, w->key, kn, C_TAG | C_NL);
    if (w->key[0] == '\t') rc = -4; /* the first field's would be skipped as a separator */
    if (rc) return fail_text(w, "field key", w->key, klen, unfit(rc));
    tsr_buf_putc(b, '=');
    if (json_is_string(v)) {
        tsr_buf_putc(b, '"');
        put_esc(b, json_string_value(v), json_string_length(v), C_STR);
        tsr_buf_putc(b, '"');
    } else if (json_is_boolean(v)) {
        tsr_buf_puts(b, json_is_true(v) ? "true" : "false");
    } else {
        tsr_buf_reserve(b, 400);
        b->len += fmt_number(b->data + b->len, v);
    }
    return 0;
}

/* Telegraf's order: the time key leaves the fields first, then tag keys take what they
 * name, then strings and booleans that are not string fields are left out. The name key
 * is taken only when it holds a string (Telegraf's type assertion). */
static int put_scalar(struct walk *w, size_t klen, const json_t *v)
{
    const struct tsr_json_points *jp = w->jp;
    if (jp->time_key && jp->time_key_len == klen && !memcmp(jp->time_key, w->key, klen))
        return w->time = v, 0;
    if (jp->name_key && json_is_string(v) && jp->name_key_len == klen &&
        !memcmp(jp->name_key, w->key, klen))
        return w->name = v, 0;
    if (listed(jp->tags, jp->ntags, w->key, klen)) return put_tag(w, klen, v);
    if ((json_is_string(v) || json_is_boolean(v)) && !listed(jp->strs, jp->nstrs, w->key, klen))
        return 0;
    return put_field(w, klen, v);
}

static int walk(struct walk *w, size_t klen, const json_t *v);

/* Go's flattener: parent "_" child, or the child alone under an empty parent. k is
 * NUL-terminated. */
static int walk_child(struct walk *w, size_t klen, const char *k, size_t kl, const json_t *v)
{
    size_t n = klen ? klen + 1 + kl : kl;
    if (n > KEY_MAX) {
        char t[65];
        snprintf(t, sizeof t, "%.*s%s%s", (int)klen, w->key, klen ? "_" : "", k);
        return fail_text(w, "key", t, n, "is too long (over 256 bytes)");
    }
    if (klen) w->key[klen] = '_';
    memcpy(w->key + n - kl, k, kl + 1); /* with its NUL, for fnmatch */
    return walk(w, n, v);
}

static int walk(struct walk *w, size_t klen, const json_t *v)
{
    if (json_is_object(v)) {
        json_t *o = (json_t *)v; /* jansson's iterators take no const */
        for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it))
            if (walk_child(w, klen, json_object_iter_key(it), json_object_iter_key_len(it),
                           json_object_iter_value(it)))
                return -1;
        return 0;
    }
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            char d[24];
            size_t dn = put_u64(d, i);
            d[dn] = '\0';
            if (walk_child(w, klen, d, dn, json_array_get(v, i))) return -1;
        }
        return 0;
    }
    return json_is_null(v) ? 0 : put_scalar(w, klen, v);
}

/* ---- time ------------------------------------------------------------------------- */

/* Telegraf's unix formats: [+-]digits and an optional '.' or ',' fraction of the unit,
 * read from the text so that no float rounds it; what is finer than a nanosecond is
 * dropped. -1: no number, -2: out of range. */
static int parse_unix(const char *s, size_t n, int64_t unit, int64_t *ns)
{
    size_t d0 = n && (s[0] == '-' || s[0] == '+'), i = d0;
    int64_t whole = 0, frac = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        if (__builtin_mul_overflow(whole, 10, &whole) ||
            __builtin_add_overflow(whole, s[i] - '0', &whole))
            return -2;
    if (i == d0) return -1;
    if (i < n && (s[i] == '.' || s[i] == ',')) {
        int64_t scale = unit / 10;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
            frac += (s[i] - '0') * scale;
    }
    if (i != n) return -1;
    if (__builtin_mul_overflow(whole, unit, ns) || __builtin_add_overflow(*ns, frac, ns)) return -2;
    if (s[0] == '-') *ns = -*ns;
    return 0;
}

/* Howard Hinnant's days_from_civil: days from 1970-01-01 to a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* Go's getnum (and the 4-digit year, and _2's optional space). */
static bool get_num(const char **pp, const char *end, int width, int *v)
{
    const char *p = *pp;
    int n = 0, max = width == 4 ? 4 : 2;
    if (width == 1 && p < end && *p == ' ') p++;
    for (*v = 0; n < max && p < end && *p >= '0' && *p <= '9'; n++)
        *v = *v * 10 + *p++ - '0';
    *pp = p;
    return n && (width < 2 || n == width);
}

/* A fraction of a second, any number of digits (nine kept), as Go's parseNanoseconds. */
static int get_frac(const char **pp, const char *end, int *nsec)
{
    const char *p = *pp;
    if (end - p < 2 || (*p != '.' && *p != ',') || p[1] < '0' || p[1] > '9') return -1;
    int nd = 0, scale = SEC / 10;
    for (p++; p < end && *p >= '0' && *p <= '9'; p++, nd++, scale /= 10)
        *nsec += (*p - '0') * scale;
    *pp = p;
    return nd;
}

/* A month or weekday name, case-insensitive as in Go; its index or -1. */
static int get_name(const char **pp, const char *end, bool full, const char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        size_t len = full ? strlen(names[i]) : 3;
        if ((size_t)(end - *pp) >= len && !strncasecmp(*pp, names[i], len)) return *pp += len, i;
    }
    return -1;
}

/* A zone name (MST in the layout): UTC, GMT or Z only. Go reads any name with a zero
 * offset and Telegraf then looks it up in the tz database (MST is UTC-7 there, PST an
 * error); a name whose offset is not certain is refused rather than guessed. */
static size_t zone_name_len(const char *p, const char *end)
{
    size_t n = (size_t)(end - p);
    if (n >= 3 && (!strncmp(p, "UTC", 3) || !strncmp(p, "GMT", 3))) return 3;
    return n && p[0] == 'Z';
}

/* A numeric zone in the form t names; *off in seconds east of UTC. */
static bool get_zone(const char **pp, const char *end, const struct tok *t, int *off)
{
    static const unsigned char need[] = {0, 3, 5, 6, 7, 9};
    const char *p = *pp;
    bool colon = t->b == 3 || t->b == 5;
    int part[3] = {0, 0, 0}, np = t->b == 1 ? 1 : t->b <= 3 ? 2 : 3;
    if (t->a && p < end && *p == 'Z') return *pp = p + 1, *off = 0, true;
    if ((size_t)(end - p) < need[t->b] || (*p != '+' && *p != '-')) return false;
    if (colon && (p[3] != ':' || (t->b == 5 && p[6] != ':'))) return false;
    for (int i = 0; i < np; i++) {
        const char *q = p + 1 + i * (colon ? 3 : 2);
        if (q[0] < '0' || q[0] > '9' || q[1] < '0' || q[1] > '9') return false;
        part[i] = (q[0] - '0') * 10 + q[1] - '0';
    }
    if (part[0] > 24 || part[1] > 60 || part[2] > 60) return false; /* Go's bounds */
    *off = (*p == '-' ? -1 : 1) * (part[0] * 3600 + part[1] * 60 + part[2]);
    return *pp = p + need[t->b], true;
}

/* A literal of the layout; a run of spaces matches a run of spaces (Go's skip). */
static bool get_lit(const char **pp, const char *end, const struct tok *t)
{
    const char *p = *pp;
    for (size_t j = 0; j < t->len; j++) {
        if (t->lit[j] != ' ') {
            if (p == end || *p++ != t->lit[j]) return false;
            continue;
        }
        if (p < end && *p != ' ') return false;
        while (p < end && *p == ' ')
            p++;
        while (j + 1 < t->len && t->lit[j + 1] == ' ')
            j++;
    }
    return *pp = p, true;
}

/* Whether Go reads a fraction after the seconds chunk toks[i] although the layout has
 * none there: when the next chunk that is not text is not a fraction. */
static bool frac_after(const struct tsr_json_points *jp, size_t i)
{
    while (++i < jp->ntoks && jp->toks[i].kind == K_LIT)
        continue;
    return i == jp->ntoks || jp->toks[i].kind != K_FRAC;
}

static const char *const months[] = {"January",   "February", "March",    "April",
                                     "May",       "June",     "July",     "August",
                                     "September", "October",  "November", "December"};
static const char *const wdays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                    "Thursday", "Friday", "Saturday"};

/* Go's time.Parse in UTC, chunk by chunk, into f[]; -1 when value does not match, -3
 * when it fails at a zone name. */
static int scan_layout(const struct tsr_json_points *jp, const char *p, const char *end, int *f,
                       int *nsec, int *off, int *pm)
{
    for (size_t i = 0; i < jp->ntoks; i++) {
        const struct tok *t = &jp->toks[i];
        int v, nd;
        bool ok = true;
        switch (t->kind) {
        case K_LIT:
            ok = get_lit(&p, end, t);
            break;
        case K_NUM:
            if ((ok = get_num(&p, end, t->a, &f[t->f])) && t->f == F_SEC && frac_after(jp, i))
                get_frac(&p, end, nsec);
            break;
        case K_FRAC: /* .000 wants exactly its digits; .999 any, or none */
            nd = get_frac(&p, end, nsec);
            ok = t->b || nd == t->a;
            break;
        case K_MONTH:
            ok = (v = get_name(&p, end, t->a, months, 12)) >= 0, f[F_MONTH] = v + 1;
            break;
        case K_WDAY: /* read, then ignored as Go does */
            ok = get_name(&p, end, t->a, wdays, 7) >= 0;
            break;
        case K_PM: /* PM or AM, in the chunk's case */
            if (end - p < 2 || p[1] != (t->a ? 'm' : 'M')) return -1;
            *pm = p[0] == (t->a ? 'p' : 'P') ? 1 : p[0] == (t->a ? 'a' : 'A') ? -1 : 0;
            ok = *pm != 0;
            p += 2;
            break;
        case K_ZONE:
            ok = get_zone(&p, end, t, off);
            break;
        case K_ZNAME:
            if (!(v = (int)zone_name_len(p, end))) return -3;
            p += v;
            break;
        }
        if (!ok) return -1;
    }
    return p == end ? 0 : -1;
}

/* -1 (or -3, see scan_layout) when value does not match the layout, -2 when its date or
 * time is out of range. */
static int parse_layout(const struct tsr_json_points *jp, const char *p, size_t n,
                        int64_t default_ns, int64_t *ns)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int f[F_N] = {[F_MONTH] = 1, [F_DAY] = 1, [F_HOUR12] = -1}, nsec = 0, off = 0, pm = 0;
    int rc = scan_layout(jp, p, p + n, f, &nsec, &off, &pm);
    if (rc) return rc;
    int y = f[F_YEAR] ? f[F_YEAR] : f[F_YEAR2] ? f[F_YEAR2] + (f[F_YEAR2] >= 69 ? 1900 : 2000) : 0;
    int h = f[F_HOUR12] < 0 ? f[F_HOUR] : f[F_HOUR12], m = f[F_MONTH], d = f[F_DAY];
    if (f[F_HOUR12] > 12) return -2;
    h += pm > 0 && h < 12 ? 12 : pm < 0 && h == 12 ? -12 : 0;
    bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 && !leap) || h > 23 ||
        f[F_MIN] > 59 || f[F_SEC] > 59)
        return -2;
    if (y == 0) { /* Telegraf moves a year-less time to this year; here default_ns's */
        time_t s = (time_t)(default_ns / SEC - (default_ns % SEC < 0));
        struct tm tm;
        y = gmtime_r(&s, &tm) ? tm.tm_year + 1900 : 1970;
    }
    int64_t secs = days_from_civil(y, m, d) * 86400 + h * 3600 + f[F_MIN] * 60 + f[F_SEC] - off;
    if (__builtin_mul_overflow(secs, SEC, ns) || __builtin_add_overflow(*ns, nsec, ns)) return -2;
    return 0;
}

static int read_time(struct walk *w, int64_t default_ns, int64_t *ns)
{
    const struct tsr_json_points *jp = w->jp;
    const json_t *v = w->time;
    char num[400];
    const char *s = num;
    size_t n;
    if (json_is_string(v))
        s = json_string_value(v), n = json_string_length(v);
    else if (jp->unit_ns && json_is_integer(v))
        n = put_i64(num, json_integer_value(v)); /* exact */
    else if (jp->unit_ns && json_is_real(v))
        n = fmt_double(num, json_real_value(v));
    else
        return fail(w, "time under '%s' is %s, not %s", jp->time_key,
                    json_is_boolean(v) ? "a boolean" : "a number",
                    jp->unit_ns ? "a number or a string" : "a string");
    int rc =
        jp->unit_ns ? parse_unix(s, n, jp->unit_ns, ns) : parse_layout(jp, s, n, default_ns, ns);
    if (rc == -2) return fail_text(w, "time", s, n, "is out of range");
    if (!rc) return 0;
    char why[300];
    if (jp->unit_ns)
        snprintf(why, sizeof why, "is not a %s time", jp->time_format);
    else
        snprintf(why, sizeof why, "does not match layout '%s'%s", jp->time_format,
                 rc == -3 ? " (a zone name must be UTC, GMT or Z)" : "");
    return fail_text(w, "time", s, n, why);
}

/* ---- messages --------------------------------------------------------------------- */

static int convert_object(struct walk *w, const json_t *obj, int64_t default_ns,
                          struct tsr_buf *out)
{
    const struct tsr_json_points *jp = w->jp;
    int64_t ns = default_ns;
    w->tags.len = w->fields.len = 0;
    w->name = w->time = NULL;
    if (walk(w, 0, obj)) return -1;
    if (jp->time_key && !w->time) return fail(w, "time key '%s' missing", jp->time_key);
    if (jp->time_key && read_time(w, default_ns, &ns)) return -1;
    if (!w->fields.len) return fail(w, "no fields");
    const char *name = w->name ? json_string_value(w->name) : "";
    size_t nlen = trim(name, w->name ? json_string_length(w->name) : 0);
    int rc = nlen ? put_esc(out, name, nlen, C_MEAS | C_NL) : 0;
    if (nlen && name[0] == '#') rc = -3;
    if (rc) return fail_text(w, "measurement", name, nlen, unfit(rc));
    if (!nlen && !jp->meas)
        return fail(w, "no measurement: name key '%s' missing or empty", jp->name_key);
    if (!nlen) tsr_buf_append(out, jp->meas, jp->meas_len);
    if (w->tags.len) tsr_buf_append(out, w->tags.data, w->tags.len);
    tsr_buf_putc(out, ' ');
    tsr_buf_append(out, w->fields.data, w->fields.len);
    char t[24] = " ";
    size_t tn = 1 + put_i64(t + 1, ns);
    t[tn++] = '\n';
    tsr_buf_append(out, t, tn);
    return 0;
}

static long convert_root(struct walk *w, const json_t *root, int64_t default_ns,
                         struct tsr_buf *out)
{
    static const char *const types[] = {"an object", "an array", "a string", "a number",
                                        "a number",  "true",     "false",    "null"};
    size_t n = json_is_array(root) ? json_array_size(root) : 0;
    w->obj = 1;
    if (json_is_object(root)) return convert_object(w, root, default_ns, out) ? -1 : 1;
    if (!json_is_array(root)) {
        tsr_buf_puts(w->why, "top level must be an object or an array of objects");
        return -1;
    }
    if (!n) {
        tsr_buf_puts(w->why, "empty array: no objects"); /* a point or an error, always */
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(root, i);
        w->obj = (long)i + 1;
        if (!json_is_object(v))
            return fail(w, "array element is %s, not an object", types[json_typeof(v)]);
        if (convert_object(w, v, default_ns, out)) return -1;
    }
    return (long)n;
}

long tsr_json_points_convert(const struct tsr_json_points *jp, const char *msg, size_t len,
                             int64_t default_ns, struct tsr_buf *out, struct tsr_buf *why)
{
    size_t start = out->len;
    json_error_t jerr;
    if (len >= 3 && !memcmp(msg, "\xef\xbb\xbf", 3)) msg += 3, len -= 3; /* as Telegraf */
    /* DECODE_ANY so that a scalar gets our message. An integer past int64 is a float to
     * Go but an error to jansson: such a message is read again with all numbers real. */
    json_t *root = json_loadb(msg, len, JSON_DECODE_ANY, &jerr);
    if (!root && json_error_code(&jerr) == json_error_numeric_overflow)
        root = json_loadb(msg, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr);
    if (!root) {
        tsr_buf_printf(why, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
                       jerr.text);
        return -1;
    }
    struct walk w = {.jp = jp, .why = why};
    long n = convert_root(&w, root, default_ns, out);
    if (n < 0) out->len = start;
    tsr_buf_free(&w.tags);
    tsr_buf_free(&w.fields);
    json_decref(root);
    return n;
}

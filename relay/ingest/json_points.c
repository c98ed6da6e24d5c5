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

#include "relay/ingest/json_time.h"

#define KEY_MAX 256 /* bytes of a flattened key: longer is a runaway document, not a metric */

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

struct tsr_json_points {
    char *meas; /* escaped once here; NULL when only name_key names points */
    size_t meas_len;
    char *name_key, *time_key, *time_format; /* NULL for "" */
    size_t name_key_len, time_key_len;
    struct pat *tags, *strs;
    size_t ntags, nstrs;
    struct tsr_json_time *time; /* NULL without a time_format */
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
    if (jp->time_format && tsr_json_time_new(jp->time_format, &jp->time, err, errlen)) goto fail;
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
    tsr_json_time_free(&jp->time);
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

/* A tag written to walk.tags: ",KEY=VALUE" at off, its escaped key klen bytes; len 0
 * once a later tag of the same key replaced it. */
struct tag_ent {
    size_t off, klen, len;
};

struct walk {
    const struct tsr_json_points *jp;
    struct tsr_buf tags, fields, *why;
    const json_t *name, *time;
    long obj; /* 1-based, for messages */
    char key[KEY_MAX + 1];
    /* Two keys can flatten to one tag key ({"a": {"b": 1}} and "a_b"); line protocol
     * refuses a tag twice, so the later one wins, as in Telegraf's map of tags. */
    struct tag_ent *ents;
    size_t nents, cap_ents;
    uint32_t *slots; /* open addressing over ents by key: index + 1, 0 empty */
    size_t nslots;
    bool replaced;   /* some entry has len 0: tags needs compacting */
};

static uint64_t key_hash(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
    return h;
}

/* Records the tag just written at off (its key escaped, klen bytes), replacing an
 * earlier one of the same key. */
static void note_tag(struct walk *w, size_t off, size_t klen)
{
    if ((w->nents + 1) * 2 > w->nslots) {
        size_t n = w->nslots ? w->nslots * 2 : 64;
        uint32_t *s = calloc(n, sizeof(*s));
        if (!s) abort();
        for (size_t i = 0; i < w->nents; i++) {
            const struct tag_ent *e = &w->ents[i];
            if (!e->len) continue; /* replaced: no longer found by its key */
            size_t j = key_hash(w->tags.data + e->off + 1, e->klen) & (n - 1);
            while (s[j]) j = (j + 1) & (n - 1);
            s[j] = (uint32_t)i + 1;
        }
        free(w->slots);
        w->slots = s;
        w->nslots = n;
    }
    if (w->nents == w->cap_ents) {
        w->cap_ents = w->cap_ents ? w->cap_ents * 2 : 16;
        w->ents = realloc(w->ents, w->cap_ents * sizeof(*w->ents));
        if (!w->ents) abort();
    }
    const char *k = w->tags.data + off + 1;
    size_t j = key_hash(k, klen) & (w->nslots - 1);
    for (; w->slots[j]; j = (j + 1) & (w->nslots - 1)) {
        struct tag_ent *e = &w->ents[w->slots[j] - 1];
        if (e->len && e->klen == klen && memcmp(w->tags.data + e->off + 1, k, klen) == 0) {
            e->len = 0; /* the later one wins */
            w->replaced = true;
            break;
        }
    }
    w->ents[w->nents] = (struct tag_ent){off, klen, w->tags.len - off};
    w->slots[j] = (uint32_t)++w->nents;
}

/* The object's tags without those a later tag of the same key replaced. */
static void compact_tags(struct walk *w)
{
    size_t to = 0;
    for (size_t i = 0; i < w->nents; i++) {
        const struct tag_ent *e = &w->ents[i];
        if (!e->len) continue;
        memmove(w->tags.data + to, w->tags.data + e->off, e->len);
        to += e->len;
    }
    w->tags.len = to;
}

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
    size_t off = w->tags.len;
    tsr_buf_putc(&w->tags, ',');
    int rc = put_esc(&w->tags, w->key, kn, C_TAG | C_NL);
    if (rc) return fail_text(w, "tag key", w->key, klen, unfit(rc));
    size_t ekey = w->tags.len - off - 1;
    tsr_buf_putc(&w->tags, '=');
    if ((rc = put_esc(&w->tags, s, n, C_TAG | C_NL)))
        return fail_text(w, "tag", w->key, klen,
                         rc == -1 ? "has a value holding a newline"
                                  : "has a value holding a backslash before ',', '=', ' ' or '\\'");
    note_tag(w, off, ekey);
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

static int read_time(struct walk *w, int64_t default_ns, int64_t *ns)
{
    const struct tsr_json_points *jp = w->jp;
    const json_t *v = w->time;
    bool numeric = tsr_json_time_is_unix(jp->time); /* a number is then a time too */
    char num[400];
    const char *s = num;
    size_t n;
    if (json_is_string(v))
        s = json_string_value(v), n = json_string_length(v);
    else if (numeric && json_is_integer(v))
        n = put_i64(num, json_integer_value(v)); /* exact */
    else if (numeric && json_is_real(v))
        n = fmt_double(num, json_real_value(v));
    else
        return fail(w, "time under '%s' is %s, not %s", jp->time_key,
                    json_is_boolean(v) ? "a boolean" : "a number",
                    numeric ? "a number or a string" : "a string");
    int rc = tsr_json_time_parse(jp->time, s, n, default_ns, ns);
    if (rc == -2) return fail_text(w, "time", s, n, "is out of range");
    if (!rc) return 0;
    char why[300];
    if (numeric)
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
    w->nents = 0;
    w->replaced = false;
    if (w->nslots) memset(w->slots, 0, w->nslots * sizeof(*w->slots));
    if (walk(w, 0, obj)) return -1;
    if (w->replaced) compact_tags(w);
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
    free(w.ents);
    free(w.slots);
    json_decref(root);
    return n;
}

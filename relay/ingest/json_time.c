/* relay/ingest/json_time.c — JSON time values (see json_time.h): a Go layout is cut into
 * chunks once, as Go's nextStdChunk cuts it, and each value is matched chunk by chunk. */
#include "relay/ingest/json_time.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SEC 1000000000LL

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

struct tsr_json_time {
    char *format;     /* as configured, for messages */
    int64_t unit_ns;  /* the unix formats: ns per unit; 0 for a layout */
    struct tok *toks; /* a layout's chunks; their text points into format or named[] */
    size_t ntoks;
};

static int compile_time(struct tsr_json_time *tf, char *err, size_t errlen);
static int parse_unix(const char *s, size_t n, int64_t unit, int64_t *ns);
static int parse_layout(const struct tsr_json_time *tf, const char *p, size_t n, int64_t default_ns,
                        int64_t *ns);

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

static int compile_layout(struct tsr_json_time *tf, const char *layout, char *err, size_t errlen)
{
    if (!(tf->toks = calloc(strlen(layout) + 1, sizeof *tf->toks))) abort();
    bool dated = false;
    for (const char *p = layout; *p;) {
        struct tok t;
        size_t n = match_chunk(p, &t);
        if (!n) { /* a literal byte joins the literal before it */
            struct tok *last = tf->ntoks ? &tf->toks[tf->ntoks - 1] : NULL;
            if (last && last->kind == K_LIT)
                last->len++;
            else
                tf->toks[tf->ntoks++] = (struct tok){K_LIT, 0, 0, 0, p, 1};
            p++;
            continue;
        }
        if (t.kind == K_BAD) {
            snprintf(err, errlen, "time_format '%s': day of year (%.*s) is not supported",
                     tf->format, (int)n, p);
            return -1;
        }
        dated |= (t.kind == K_NUM && t.f != F_MIN && t.f != F_SEC) || t.kind == K_MONTH;
        tf->toks[tf->ntoks++] = t;
        p += n;
    }
    if (dated) return 0;
    snprintf(err, errlen,
             "time_format '%s' is neither unix, unix_ms, unix_us, unix_ns, rfc3339 nor a Go "
             "layout with a date or an hour (such as 2006-01-02 15:04:05)",
             tf->format);
    return -1;
}

int tsr_json_time_new(const char *format, struct tsr_json_time **tp, char *err, size_t errlen)
{
    struct tsr_json_time *tf = calloc(1, sizeof *tf);
    if (!tf || !(tf->format = strdup(format))) abort();
    *tp = NULL;
    if (compile_time(tf, err, errlen)) {
        tsr_json_time_free(&tf);
        return -1;
    }
    *tp = tf;
    return 0;
}

void tsr_json_time_free(struct tsr_json_time **tp)
{
    struct tsr_json_time *tf = *tp;
    if (!tf) return;
    free(tf->toks);
    free(tf->format);
    free(tf);
    *tp = NULL;
}

int tsr_json_time_is_unix(const struct tsr_json_time *t)
{
    return t->unit_ns != 0;
}

int tsr_json_time_parse(const struct tsr_json_time *t, const char *s, size_t n, int64_t default_ns,
                        int64_t *ns)
{
    return t->unit_ns ? parse_unix(s, n, t->unit_ns, ns) : parse_layout(t, s, n, default_ns, ns);
}

static int compile_time(struct tsr_json_time *tf, char *err, size_t errlen)
{
    static const char *const units[] = {"unix_ns", "unix_us", "unix_ms", "unix"};
    int64_t ns = 1;
    for (int i = 0; i < 4; i++, ns *= 1000)
        if (strcmp(tf->format, units[i]) == 0) return tf->unit_ns = ns, 0;
    const char *layout = tf->format;
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (strcasecmp(layout, named[i][0]) == 0) layout = named[i][1];
    return compile_layout(tf, layout, err, errlen);
}

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
static bool frac_after(const struct tsr_json_time *tf, size_t i)
{
    while (++i < tf->ntoks && tf->toks[i].kind == K_LIT)
        continue;
    return i == tf->ntoks || tf->toks[i].kind != K_FRAC;
}

static const char *const months[] = {"January",   "February", "March",    "April",
                                     "May",       "June",     "July",     "August",
                                     "September", "October",  "November", "December"};
static const char *const wdays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                    "Thursday", "Friday", "Saturday"};

/* Go's time.Parse in UTC, chunk by chunk, into f[]; -1 when value does not match, -3
 * when it fails at a zone name. */
static int scan_layout(const struct tsr_json_time *tf, const char *p, const char *end, int *f,
                       int *nsec, int *off, int *pm)
{
    for (size_t i = 0; i < tf->ntoks; i++) {
        const struct tok *t = &tf->toks[i];
        int v, nd;
        bool ok = true;
        switch (t->kind) {
        case K_LIT:
            ok = get_lit(&p, end, t);
            break;
        case K_NUM:
            if ((ok = get_num(&p, end, t->a, &f[t->f])) && t->f == F_SEC && frac_after(tf, i))
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
static int parse_layout(const struct tsr_json_time *tf, const char *p, size_t n, int64_t default_ns,
                        int64_t *ns)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int f[F_N] = {[F_MONTH] = 1, [F_DAY] = 1, [F_HOUR12] = -1}, nsec = 0, off = 0, pm = 0;
    int rc = scan_layout(tf, p, p + n, f, &nsec, &off, &pm);
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

/* replay/ctl_time.c — TIME arguments to Unix ms and back (forms in ctl_time.h).
 *
 * Calendar arithmetic is done here with the days-from-civil formulas (proleptic
 * Gregorian, any year) rather than timegm/gmtime_r: no time_t range or TZ environment
 * to depend on, and the same code both ways, so format(parse(x)) round-trips. */
#include "ctl_time.h"

#include <stdio.h>
#include <string.h>

#define MS_PER_S   1000LL
#define MS_PER_MIN (60 * MS_PER_S)
#define MS_PER_H   (60 * MS_PER_MIN)
#define MS_PER_DAY (24 * MS_PER_H)

/* Days since 1970-01-01 of y-m-d. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads exactly n digits at *p into *out and advances; -1 if they are not all there. */
static int digits(const char **p, int n, unsigned *out)
{
    unsigned v = 0;
    for (int k = 0; k < n; k++) {
        if (!is_digit((*p)[k])) return -1;
        v = v * 10 + (unsigned)((*p)[k] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

#define RFC3339_EXAMPLE "2026-11-23T05:00:00Z"

static int parse_rfc3339(const char *s, int64_t *ms, char *err, size_t errlen)
{
    const char *p = s;
    unsigned y, mo, d, h, mi, sec, oh = 0, om = 0;
    int64_t frac_ms = 0, sign = 0;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d)) {
        snprintf(err, errlen, "not an RFC 3339 date (like " RFC3339_EXAMPLE ")");
        return -1;
    }
    if (*p == '\0') {
        snprintf(err, errlen, "missing time of day and zone (like %.10sT00:00:00Z)", s);
        return -1;
    }
    if (*p != 'T' && *p != 't' && *p != ' ') goto bad;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi)) goto bad;
    if (*p != ':') {
        snprintf(err, errlen, "missing seconds (like " RFC3339_EXAMPLE ")");
        return -1;
    }
    p++;
    if (digits(&p, 2, &sec)) goto bad;
    if (*p == '.') {
        /* Any number of digits; keep milliseconds, drop the rest (truncate). */
        p++;
        if (!is_digit(*p)) goto bad;
        int k = 0;
        for (; is_digit(*p); k++, p++)
            if (k < 3) frac_ms = frac_ms * 10 + (*p - '0');
        for (; k < 3; k++)
            frac_ms *= 10; /* ".5" is 500 ms */
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        p++;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om)) goto bad;
    } else if (*p == '\0') {
        snprintf(err, errlen, "missing time zone: add Z for UTC or an offset like +02:00");
        return -1;
    } else {
        goto bad;
    }
    if (*p != '\0') goto bad;

    if (mo < 1 || mo > 12) {
        snprintf(err, errlen, "month %u out of range", mo);
        return -1;
    }
    if (d < 1 || d > days_in_month(y, mo)) {
        snprintf(err, errlen, "day %u out of range for %04u-%02u", d, y, mo);
        return -1;
    }
    /* 60 is a leap second (RFC 3339 allows it); it counts as the next second's start. */
    if (h > 23 || mi > 59 || sec > 60) {
        snprintf(err, errlen, "time of day %02u:%02u:%02u out of range", h, mi, sec);
        return -1;
    }
    if (oh > 23 || om > 59) {
        snprintf(err, errlen, "zone offset %02u:%02u out of range", oh, om);
        return -1;
    }
    /* The offset says how far local time is ahead of UTC: subtract it. */
    *ms = days_from_civil(y, mo, d) * MS_PER_DAY + h * MS_PER_H + mi * MS_PER_MIN + sec * MS_PER_S +
          frac_ms - sign * (oh * MS_PER_H + om * MS_PER_MIN);
    return 0;
bad:
    snprintf(err, errlen,
             "not an RFC 3339 time (like " RFC3339_EXAMPLE " or 2026-11-23T07:00:00+02:00)");
    return -1;
}

/* "-1h30m": parts in decreasing unit order, each unit at most once. */
static int parse_relative(const char *s, int64_t now_ms, int64_t *ms, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        int64_t ms;
    } units[] = {{"d", MS_PER_DAY}, {"h", MS_PER_H}, {"m", MS_PER_MIN}, {"s", MS_PER_S}, {"ms", 1}};
    const char *p = s + 1;
    int64_t total = 0, last_unit = INT64_MAX;
    if (*p == '\0') {
        snprintf(err, errlen, "empty relative time (like -2h or -1h30m)");
        return -1;
    }
    while (*p) {
        if (!is_digit(*p)) {
            snprintf(err, errlen, "expected a number at '%s' in relative time (like -2h or -1h30m)",
                     p);
            return -1;
        }
        int64_t n = 0;
        for (; is_digit(*p); p++) {
            if (n > (INT64_MAX - 9) / 10) goto too_far;
            n = n * 10 + (*p - '0');
        }
        /* The unit is the run of letters after the number: "-2hours" names "hours". */
        size_t u = 0, nunits = sizeof(units) / sizeof(units[0]);
        size_t ulen = strspn(p, "abcdefghijklmnopqrstuvwxyz");
        for (; u < nunits && ulen; u++)
            if (strlen(units[u].name) == ulen && strncmp(p, units[u].name, ulen) == 0) break;
        if (u == nunits || !ulen) {
            if (*p == '\0')
                snprintf(err, errlen, "missing unit after %lld in relative time (d, h, m, s or ms)",
                         (long long)n);
            else
                snprintf(err, errlen, "unknown unit '%s' in relative time (d, h, m, s or ms)", p);
            return -1;
        }
        if (units[u].ms >= last_unit) {
            snprintf(err, errlen,
                     "units out of order in relative time (largest first, like -1h30m)");
            return -1;
        }
        last_unit = units[u].ms;
        p += ulen;
        if (n > (INT64_MAX - total) / units[u].ms) goto too_far;
        total += n * units[u].ms;
    }
    if (total > now_ms) goto too_far;
    *ms = now_ms - total;
    return 0;
too_far:
    snprintf(err, errlen, "relative time reaches back before 1970");
    return -1;
}

int tsr_ctl_time_parse(const char *s, int64_t now_ms, int flags, int64_t *ms, char *err,
                       size_t errlen)
{
    if (strcmp(s, "now") == 0) {
        *ms = now_ms;
        return 0;
    }
    if (strcmp(s, "earliest") == 0) {
        if (!(flags & TSR_CTL_TIME_EARLIEST)) {
            snprintf(err, errlen, "'earliest' only makes sense for --since");
            return -1;
        }
        *ms = 0;
        return 0;
    }
    if (s[0] == '-') return parse_relative(s, now_ms, ms, err, errlen);

    size_t nd = strspn(s, "0123456789");
    if (nd > 0 && s[nd] == '\0') {
        if (nd == 10) {
            snprintf(err, errlen, "%s looks like Unix seconds; give milliseconds (%s000)", s, s);
            return -1;
        }
        int64_t v = 0;
        for (const char *p = s; *p; p++) {
            if (v > (INT64_MAX - 9) / 10) {
                snprintf(err, errlen, "Unix milliseconds out of range");
                return -1;
            }
            v = v * 10 + (*p - '0');
        }
        *ms = v;
        return 0;
    }
    if (nd == 4 && s[4] == '-') return parse_rfc3339(s, ms, err, errlen);
    /* "2h" and friends: the operator forgot the sign that makes it "ago". */
    if (nd > 0 && strchr("dhms", s[nd])) {
        snprintf(err, errlen, "relative times count back from now: write '-%s'", s);
        return -1;
    }
    snprintf(err, errlen,
             "not a time: use RFC 3339 (" RFC3339_EXAMPLE "), relative (-2h, -1h30m), now,%s "
             "or Unix milliseconds",
             flags & TSR_CTL_TIME_EARLIEST ? " earliest," : "");
    return -1;
}

void tsr_ctl_time_format(int64_t ms, char *buf, size_t len)
{
    /* Floor division, so times before 1970 format as the calendar says. */
    int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY;
    if (rem < 0) rem += MS_PER_DAY, days--;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int h = (int)(rem / MS_PER_H), mi = (int)(rem / MS_PER_MIN % 60),
        sec = (int)(rem / MS_PER_S % 60);
    int frac = (int)(rem % MS_PER_S);
    if (frac)
        snprintf(buf, len, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, m, d, h, mi, sec,
                 frac);
    else
        snprintf(buf, len, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d, h, mi, sec);
}

void tsr_ctl_duration_format(int64_t ms, char *buf, size_t len)
{
    const char *sign = "";
    uint64_t u = (uint64_t)ms;
    if (ms < 0) sign = "-", u = 0 - u; /* INT64_MIN too: unsigned negation is defined */
    if (u == 0) {
        snprintf(buf, len, "0s");
        return;
    }
    if (u < (uint64_t)MS_PER_S) {
        snprintf(buf, len, "%s%llums", sign, (unsigned long long)u);
        return;
    }
    unsigned long long dd = u / MS_PER_DAY, hh = u / MS_PER_H % 24, mm = u / MS_PER_MIN % 60,
                       ss = u / MS_PER_S % 60;
    char out[64];
    size_t n = 0;
    if (dd) n += (size_t)snprintf(out + n, sizeof(out) - n, "%llud", dd);
    if (hh) n += (size_t)snprintf(out + n, sizeof(out) - n, "%lluh", hh);
    if (mm) n += (size_t)snprintf(out + n, sizeof(out) - n, "%llum", mm);
    if (ss && !dd) n += (size_t)snprintf(out + n, sizeof(out) - n, "%llus", ss);
    snprintf(buf, len, "%s%s", sign, out);
}

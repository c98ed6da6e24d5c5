/* relay/core/lineproto.c — InfluxDB 1.x line protocol: one strict pass per line.
 *
 * The parser walks the line once, recording where the key (measurement and tags), the
 * field set and the timestamp lie, then copies those spans into `out`. Nothing is
 * unescaped or rebuilt, so valid input costs a scan, three memcpy calls and the series
 * hash. The scan classifies 64 bytes at a time with SSE2 into bit masks (bytes a run
 * may stop at, digits), so each run ends with a shift and a bit scan rather than a loop
 * over its bytes; other targets fill the same masks a byte at a time. Two rules of
 * InfluxDB's own scanner are kept on purpose because the downstream clusters split
 * lines with them:
 *   - in the measurement and tags a ',', ' ' or '=' is escaped when the byte before it
 *     is a backslash (so "a\\,b" keeps the comma escaped, as InfluxDB reads it);
 *   - in the field set a backslash swallows the next byte, and a '"' opens a string only
 *     as the first byte of a field value.
 * A bad line is not rescanned strictly: `line_end` finds where it stops with the same
 * structure but no validation, so one bad line never hides the lines after it (except an
 * unterminated string, which runs to the end of the body exactly as in InfluxDB). */
#include "relay/core/lineproto.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* InfluxDB 1.x stores nanoseconds in an int64 but keeps both extremes for open ranges. */
#define MIN_NANO_TIME     (INT64_MIN + 2)
#define MAX_NANO_TIME     (INT64_MAX - 1)
#define TIME_RANGE_REASON "time outside range -9223372036854775806 - 9223372036854775806"
/* InfluxDB's limit on measurement + tags, and on that plus 4 + a field key. */
#define MAX_KEY_LEN 65535
/* Unsorted tags are sorted through this many slots on the stack before borrowing `out`. */
#define STACK_TAGS 32
/* Static reasons of the two rules InfluxDB applies when it stores a point (their
 * InfluxDB wording, which names the measurement, is built by relay/ingest/influx_rules.c). */
#define TIME_TAG_REASON   "invalid tag key \"time\""
#define TIME_FIELD_REASON "invalid field name \"time\""

enum {
    C_SPEC = 1, /* a run may stop here: , space = " \ 0x00-0x0d non-ASCII (the SIMD set) */
    C_STR = 2,  /* a string run stops here: " \ non-ASCII */
    C_WS = 4,   /* skipped between sections, as InfluxDB does: space \t \0 */
    C_DIGIT = 8,
};

static const unsigned char cls[256] = {
    [0] = C_WS | C_SPEC,
    [1 ... 8] = C_SPEC,
    ['\t'] = C_WS | C_SPEC,
    [10 ... 13] = C_SPEC,
    [' '] = C_WS | C_SPEC,
    [','] = C_SPEC,
    ['='] = C_SPEC,
    ['"'] = C_STR | C_SPEC,
    ['\\'] = C_STR | C_SPEC,
    ['0' ... '9'] = C_DIGIT,
    [0x80 ... 0xff] = C_STR | C_SPEC,
};

static const int64_t prec_mult[] = {
    [TSR_PREC_NS] = 1,
    [TSR_PREC_US] = 1000,
    [TSR_PREC_MS] = 1000000,
    [TSR_PREC_S] = 1000000000,
    [TSR_PREC_M] = 60LL * 1000000000,
    [TSR_PREC_H] = 3600LL * 1000000000,
};

int tsr_precision_parse(const char *s, enum tsr_precision *prec)
{
    static const struct {
        const char *name;
        enum tsr_precision prec;
    } names[] = {
        {"", TSR_PREC_NS},   {"n", TSR_PREC_NS},        {"ns", TSR_PREC_NS}, {"u", TSR_PREC_US},
        {"us", TSR_PREC_US}, {"\xc2\xb5", TSR_PREC_US}, {"ms", TSR_PREC_MS}, {"s", TSR_PREC_S},
        {"m", TSR_PREC_M},   {"h", TSR_PREC_H},
    };
    if (!s) s = "";
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(s, names[i].name) == 0) {
            *prec = names[i].prec;
            return 0;
        }
    }
    return -1;
}

static inline bool is_class(const char *p, int c)
{
    return cls[(unsigned char)*p] & c;
}

/* A line ends at '\n', at the end of the input, or at a '\r' that precedes either. */
static inline bool is_eol(const char *p, const char *end)
{
    if (p == end) return true;
    if ((unsigned char)*p > '\r') return false;
    return *p == '\n' || (*p == '\r' && (p + 1 == end || p[1] == '\n'));
}

/* Bytes the line terminator at p occupies (p as returned by a scan, so at an EOL). */
static size_t eol_size(const char *p, const char *end)
{
    if (p == end) return 0;
    if (*p == '\r' && p + 1 < end && p[1] == '\n') return 2;
    return 1;
}

/* Length of the well-formed UTF-8 sequence at p (whose first byte is >= 0x80), or 0.
 * Overlong forms, surrogates and code points past U+10FFFF are rejected (RFC 3629). */
static size_t utf8_seq(const char *p, const char *end)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t avail = (size_t)(end - p);
    unsigned char lo = 0x80, hi = 0xbf;

    if (s[0] < 0xc2 || s[0] > 0xf4) return 0;
    if (s[0] < 0xe0) return avail >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (s[0] == 0xe0) lo = 0xa0;
    if (s[0] == 0xed) hi = 0x9f;
    if (s[0] == 0xf0) lo = 0x90;
    if (s[0] == 0xf4) hi = 0x8f;
    if (avail < 2 || s[1] < lo || s[1] > hi) return 0;
    if (s[0] < 0xf0) return avail >= 3 && (s[2] & 0xc0) == 0x80 ? 3 : 0;
    return avail >= 4 && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ? 4 : 0;
}

static bool utf8_valid(const char *p, const char *end)
{
    while (p < end) {
        /* Eight ASCII bytes at a time: most bodies never reach the slow path. */
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            if (w & 0x8080808080808080ULL) break;
            p += 8;
        }
        if (p == end) break;
        if ((unsigned char)*p < 0x80) {
            p++;
            continue;
        }
        size_t n = utf8_seq(p, end);
        if (!n) return false;
        p += n;
    }
    return true;
}

static inline const char *skip_ws(const char *p, const char *end)
{
    while (p < end && is_class(p, C_WS))
        p++;
    return p;
}

/* Moves a line end at '\n' or `end` back over a '\r' before it. */
static const char *trim_cr(const char *line, const char *e, const char *end)
{
    return e > line && e[-1] == '\r' && (e == end || *e == '\n') ? e - 1 : e;
}

/* Where the line starting at `line` ends (at its '\n', the '\r' before it, or `end`),
 * found with the parser's structure but none of its checks; used for bad lines. */
static const char *line_end(const char *line, const char *end)
{
    const char *p = skip_ws(line, end);
    const char *nl;

    if (p < end && *p == '#') goto rest;
    /* Key: up to the first space not preceded by a backslash. */
    for (const char *k = p; p < end && *p != '\n'; p++) {
        if (*p == ' ' && p > k && p[-1] != '\\') break;
    }
    p = skip_ws(p, end);
    /* Fields: '"' opens a string only at the start of a value. */
    bool in_value = false;
    while (p < end && *p != '\n') {
        char c = *p;
        if (c == ' ') goto rest;
        if (c == ',') {
            in_value = false;
        } else if (c == '=' && !in_value) {
            in_value = true;
            if (p + 1 < end && p[1] == '"') {
                for (p += 2; p < end && *p != '"'; p++) {
                    if (*p == '\\' && ++p == end) break;
                }
                if (p == end) return end;
            }
        } else if (c == '\\' && p + 1 < end && p[1] != '\n') {
            p++;
        }
        p++;
    }
    return trim_cr(line, p, end);
rest:
    nl = memchr(p, '\n', (size_t)(end - p));
    return trim_cr(line, nl ? nl : end, end);
}

/* The strict scan's state: its limit, the reason it failed, and the masks of the current
 * 64-byte window, refilled as the scan moves past it. */
struct scan {
    const char *end; /* end of input, or the max_line_bytes cut-off */
    const char *reason;
    enum tsr_lp_kind kind;
    bool no_unsigned; /* opts->reject_unsigned */
    const char *base; /* the window [base, base + 64) */
    uint64_t bits;    /* its C_SPEC bytes */
    uint64_t digits;  /* its ASCII digits, which make up most field values */
};

/* For the steps of the scan: inlined into tsr_lp_parse_line, the scan state lives in
 * registers, and a call per run would cost more than the run. */
#define ALWAYS_INLINE static inline __attribute__((always_inline))

static const char *fail(struct scan *sc, const char *reason)
{
    sc->reason = reason;
    return NULL;
}

#ifdef __SSE2__
/* Classifies the 16 bytes at p into the window's two masks. */
static inline void classify16(const char *p, unsigned shift, uint64_t *bits, uint64_t *digits)
{
    const __m128i v = _mm_loadu_si128((const __m128i *)p);
    /* The signed compare catches 0x00-0x0d and 0x80-0xff in one go. */
    __m128i m = _mm_or_si128(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(',')),
                                                       _mm_cmpeq_epi8(v, _mm_set1_epi8(' '))),
                                          _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('=')),
                                                       _mm_cmpeq_epi8(v, _mm_set1_epi8('"')))),
                             _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')),
                                          _mm_cmplt_epi8(v, _mm_set1_epi8('\r' + 1))));
    __m128i d = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                              _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    *bits |= (uint64_t)(unsigned)_mm_movemask_epi8(m) << shift;
    *digits |= (uint64_t)(unsigned)_mm_movemask_epi8(d) << shift;
}
#endif

static void load_window(struct scan *sc, const char *p)
{
    size_t n = (size_t)(sc->end - p) < 64 ? (size_t)(sc->end - p) : 64;
    uint64_t bits = 0, digits = 0;
    size_t i = 0;
#ifdef __SSE2__
    if (n == 64) {
        classify16(p, 0, &bits, &digits);
        classify16(p + 16, 16, &bits, &digits);
        classify16(p + 32, 32, &bits, &digits);
        classify16(p + 48, 48, &bits, &digits);
        i = 64;
    }
    for (; i + 16 <= n; i += 16)
        classify16(p + i, (unsigned)i, &bits, &digits);
#endif
    for (; i < n; i++) {
        if (is_class(p + i, C_SPEC)) bits |= 1ULL << i;
        if (is_class(p + i, C_DIGIT)) digits |= 1ULL << i;
    }
    sc->base = p;
    sc->bits = bits;
    sc->digits = digits;
}

static __attribute__((noinline)) const char *next_window(struct scan *sc, const char *p)
{
    for (;;) {
        if (p >= sc->end) return sc->end;
        load_window(sc, p);
        if (sc->bits) return p + __builtin_ctzll(sc->bits);
        p += 64;
    }
}

/* The first C_SPEC byte at or after p, or the end. Callers look at what they stopped
 * on: a byte special to another kind of run is content to theirs. */
ALWAYS_INLINE const char *next_special(struct scan *sc, const char *p)
{
    size_t off = (size_t)(p - sc->base);
    if (off < 64) {
        uint64_t m = sc->bits >> off;
        if (m) return p + __builtin_ctzll(m);
        p = sc->base + 64;
    }
    return next_window(sc, p);
}

/* The first byte at or after p that is not an ASCII digit, or the end. */
ALWAYS_INLINE const char *skip_digits(struct scan *sc, const char *p)
{
    for (;;) {
        size_t off = (size_t)(p - sc->base);
        if (off < 64) {
            /* Past a short last window the digit bits are clear: the end stops it. */
            uint64_t m = ~sc->digits >> off;
            if (m) {
                p += __builtin_ctzll(m);
                return p < sc->end ? p : sc->end;
            }
            p = sc->base + 64;
        }
        if (p >= sc->end) return sc->end;
        load_window(sc, p);
    }
}

/* Scans a measurement (eq_ends false), tag key or tag value from its first byte, which the
 * caller has checked. Stops at the end of the line or at a ',' or ' ' (or '=' if
 * eq_ends) whose previous byte is not a backslash; the first byte never stops it, which
 * is how InfluxDB lets a tag value begin with '='. */
ALWAYS_INLINE const char *scan_key(struct scan *sc, const char *p, bool eq_ends)
{
    const char *seg = p;
    const char *end = sc->end;

    for (;; p++) {
        p = next_special(sc, p);
        if (p == end) return p;
        unsigned char c = (unsigned char)*p;
        if (c == ',' || c == ' ' || (c == '=' && eq_ends)) {
            if (p != seg && p[-1] != '\\') return p;
        } else if (c >= 0x80) {
            size_t n = utf8_seq(p, end);
            if (!n) return fail(sc, "invalid UTF-8");
            p += n - 1;
        } else if (c == '\n' || (c == '\r' && is_eol(p, end))) {
            return p;
        }
    }
}

/* Scans a field key: a backslash escapes the byte after it (never the line's end). */
ALWAYS_INLINE const char *scan_field_key(struct scan *sc, const char *p)
{
    const char *end = sc->end;

    for (;; p++) {
        p = next_special(sc, p);
        if (p == end) return p;
        unsigned char c = (unsigned char)*p;
        if (c == '=' || c == ',' || c == ' ' || c == '\n') return p;
        if (c == '\\') {
            if (is_eol(p + 1, end)) return p + 1;
            c = (unsigned char)*++p;
        } else if (c == '\r' && is_eol(p, end)) {
            return p;
        }
        if (c >= 0x80) {
            size_t n = utf8_seq(p, end);
            if (!n) return fail(sc, "invalid UTF-8");
            p += n - 1;
        }
    }
}

/* The byte after a field value must end it. */
static inline bool value_ends(const char *p, const char *end)
{
    return p == end || *p == ',' || *p == ' ' || is_eol(p, end);
}

static const char *scan_string(struct scan *sc, const char *p)
{
    const char *end = sc->end;

    for (p++;;) {
        p = next_special(sc, p);
        if (p == end) return fail(sc, "unbalanced quotes");
        unsigned char c = (unsigned char)*p;
        if (!(cls[c] & C_STR)) {
            p++;
            continue;
        }
        if (c == '"') break;
        if (c == '\\') {
            if (++p == end) return fail(sc, "unbalanced quotes");
            c = (unsigned char)*p;
        }
        if (c >= 0x80) {
            size_t n = utf8_seq(p, end);
            if (!n) return fail(sc, "invalid UTF-8");
            p += n;
        } else {
            p++;
        }
    }
    p++;
    /* InfluxDB would take `"a"b` as one value and misread it later; refuse it here. */
    if (!value_ends(p, end)) return fail(sc, "invalid field format");
    return p;
}

/* Compares digit strings of equal meaning ("no leading zeros") against a limit. */
static bool digits_above(const char *d, size_t n, const char *limit)
{
    size_t ln = strlen(limit);
    return n > ln || (n == ln && memcmp(d, limit, n) > 0);
}

/* Decides whether a float of valid syntax overflows a double, as strconv.ParseFloat
 * does (underflow to zero is accepted). Only values within a factor of ten of DBL_MAX
 * need strtod; the rest are settled by counting digits. */
static bool float_overflows(const char *ip, size_t nint, const char *fp, size_t nfrac,
                            int64_t exp10)
{
    int64_t mag; /* the value lies in [10^(mag-1), 10^mag) */
    const char *sig = NULL;
    size_t i;

    if (exp10 <= 0 && nint <= 308) return false; /* the usual case */
    for (i = 0; i < nint && ip[i] == '0'; i++) {
    }
    if (i < nint) {
        mag = (int64_t)(nint - i);
        sig = ip + i;
    } else {
        for (i = 0; i < nfrac && fp[i] == '0'; i++) {
        }
        if (i == nfrac) return false; /* zero */
        mag = -(int64_t)i;
        sig = fp + i;
    }
    mag += exp10;
    if (mag <= 308) return false;
    if (mag >= 310) return true;

    /* 0.ddd...e309 with up to 330 significant digits: DBL_MAX's rounding threshold is a
     * 309-digit integer, so the digits dropped past that cannot change the answer. */
    char buf[340];
    size_t n = 0;
    buf[n++] = '0';
    buf[n++] = '.';
    if (sig < fp || !nfrac) {
        for (const char *s = sig; s < ip + nint && n < 332; s++)
            buf[n++] = *s;
        sig = fp;
    }
    for (const char *s = sig; s < fp + nfrac && n < 332; s++)
        buf[n++] = *s;
    memcpy(buf + n, "e309", 5);
    return isinf(strtod(buf, NULL));
}

ALWAYS_INLINE const char *scan_number(struct scan *sc, const char *p)
{
    const char *end = sc->end;
    bool neg = *p == '-';

    if (neg) p++;
    const char *ip = p;
    p = skip_digits(sc, p);
    size_t nint = (size_t)(p - ip);
    const char *fp = p;
    size_t nfrac = 0;
    bool dot = p < end && *p == '.';
    if (dot) {
        fp = ++p;
        p = skip_digits(sc, p);
        nfrac = (size_t)(p - fp);
    }
    /* The usual float: digits, maybe a fraction, then the value's end. */
    if (p < end && (*p == ',' || *p == ' ') && nint <= 308 && nint + nfrac) return p;
    if (nint + nfrac == 0) return fail(sc, "invalid number");

    if (p < end && (*p == 'i' || *p == 'u')) {
        bool u = *p == 'u';
        if (dot || (u && neg)) return fail(sc, "invalid number");
        /* InfluxDB 1.x is built without unsigned support and says just this. */
        if (u && sc->no_unsigned) return fail(sc, "invalid number");
        if (!value_ends(p + 1, end)) return fail(sc, "invalid number");
        if (nint < 19) return p + 1; /* fits either type */
        while (nint > 1 && *ip == '0')
            ip++, nint--;
        if (u && digits_above(ip, nint, "18446744073709551615"))
            return fail(sc, "unable to parse unsigned: value out of range");
        if (!u && digits_above(ip, nint, neg ? "9223372036854775808" : "9223372036854775807"))
            return fail(sc, "unable to parse integer: value out of range");
        return p + 1;
    }

    int64_t exp10 = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        bool eneg = false;
        p++;
        if (p < end && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        const char *ep = p;
        /* Clamped: an exponent past a million digits' worth is out of range anyway. */
        for (; p < end && is_class(p, C_DIGIT); p++) {
            if (exp10 < 100000000) exp10 = exp10 * 10 + (*p - '0');
        }
        if (p == ep) return fail(sc, "invalid float");
        if (eneg) exp10 = -exp10;
    }
    if (!value_ends(p, end)) return fail(sc, "invalid number");
    if (float_overflows(ip, nint, fp, nfrac, exp10)) return fail(sc, "invalid float");
    return p;
}

static const char *scan_bool(struct scan *sc, const char *p)
{
    const char *s = p;
    const char *end = sc->end;

    /* Letters are never special, so the value runs to the next special byte, which
     * must end it. */
    p = next_special(sc, p);
    if (!value_ends(p, end)) return fail(sc, "invalid boolean");
    size_t n = (size_t)(p - s);
    switch (n) {
    case 1:
        return p; /* scan_value dispatched on t, T, f or F */
    case 4:
        if (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4)) return p;
        break;
    case 5:
        if (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5)) return p;
        break;
    }
    return fail(sc, "invalid boolean");
}

ALWAYS_INLINE const char *scan_value(struct scan *sc, const char *p)
{
    if (is_eol(p, sc->end)) return fail(sc, "missing field value");
    switch (*p) {
    case '"':
        return scan_string(sc, p);
    case '-':
    case '.':
    case '0' ... '9':
        return scan_number(sc, p);
    case 't':
    case 'T':
    case 'f':
    case 'F':
        return scan_bool(sc, p);
    case ',':
    case ' ':
        return fail(sc, "missing field value");
    case 'N':
    case 'n':
        /* NaN is not a value InfluxDB can store. */
        return fail(sc, "invalid number");
    default:
        return fail(sc, "invalid boolean");
    }
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR_DIGITS 1
/* True if the eight bytes of w are all ASCII digits. */
static inline bool eight_digits(uint64_t w)
{
    return ((w & 0xf0f0f0f0f0f0f0f0ULL) |
            (((w + 0x0606060606060606ULL) & 0xf0f0f0f0f0f0f0f0ULL) >> 4)) == 0x3333333333333333ULL;
}
#endif

/* Reads the digit run at p into *v (modulo 2^64) and returns its end. */
static const char *read_digits(const char *p, const char *end, uint64_t *v)
{
    uint64_t u = 0;
#ifdef SWAR_DIGITS
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        if (!eight_digits(w)) break;
        w -= 0x3030303030303030ULL;
        w = w * 10 + (w >> 8);
        w = (((w & 0x000000ff000000ffULL) * 0x000f424000000064ULL) +
             (((w >> 16) & 0x000000ff000000ffULL) * 0x0000271000000001ULL)) >>
            32;
        u = u * 100000000 + w;
        p += 8;
    }
#endif
    for (; p < end && is_class(p, C_DIGIT); p++)
        u = u * 10 + (uint64_t)(*p - '0');
    *v = u;
    return p;
}

/* tsr_fnv1a64, eight bytes at a time (the unit tests hold the two equal). FNV-1a is a
 * chain of multiplies, four cycles a byte that nothing can shorten; the parser feeds it
 * eight bytes per field it scans so that the chain runs alongside the scanning instead
 * of stalling the end of the line. */
struct hasher {
    uint64_t h;
    const char *p, *end;
};

#define FNV_STEP(h, c) ((h) = ((h) ^ (unsigned char)(c)) * 0x100000001b3ULL)

static inline void hash_more(struct hasher *hs)
{
    if (hs->end - hs->p >= 8) {
        const char *s = hs->p;
        FNV_STEP(hs->h, s[0]);
        FNV_STEP(hs->h, s[1]);
        FNV_STEP(hs->h, s[2]);
        FNV_STEP(hs->h, s[3]);
        FNV_STEP(hs->h, s[4]);
        FNV_STEP(hs->h, s[5]);
        FNV_STEP(hs->h, s[6]);
        FNV_STEP(hs->h, s[7]);
        hs->p += 8;
    }
}

static inline uint64_t hash_finish(struct hasher *hs)
{
    while (hs->end - hs->p >= 8)
        hash_more(hs);
    return tsr_fnv1a64(hs->h, hs->p, (size_t)(hs->end - hs->p));
}

static uint64_t key_hash(const char *s, size_t n)
{
    struct hasher hs = {TSR_FNV1A64_INIT, s, s + n};
    return hash_finish(&hs);
}

uint64_t tsr_lp_series_hash(const char *key, size_t n)
{
    return key_hash(key, n);
}

struct tag {
    const char *p; /* "key=value" */
    uint32_t klen;
    uint32_t len;
};

static int tag_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    /* Tag keys mostly differ in their first byte (both are at least one byte long). */
    if (*a != *b) return (unsigned char)*a - (unsigned char)*b;
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c) return c;
    return alen < blen ? -1 : alen > blen;
}

static inline bool tag_less(const struct tag *a, const struct tag *b)
{
    return tag_cmp(a->p, a->klen, b->p, b->klen) < 0;
}

static void sift_down(struct tag *t, size_t i, size_t n)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) return;
        if (c + 1 < n && tag_less(&t[c], &t[c + 1])) c++;
        if (!tag_less(&t[i], &t[c])) return;
        struct tag x = t[i];
        t[i] = t[c];
        t[c] = x;
        i = c;
    }
}

/* Insertion sort for the usual handful of tags; heapsort keeps a line with thousands of
 * tags (when max_tags allows it) at n log n without allocating. */
static void sort_tags(struct tag *t, size_t n)
{
    if (n <= 16) {
        for (size_t i = 1; i < n; i++) {
            struct tag x = t[i];
            size_t j = i;
            for (; j > 0 && tag_less(&x, &t[j - 1]); j--)
                t[j] = t[j - 1];
            t[j] = x;
        }
        return;
    }
    for (size_t i = n / 2; i-- > 0;)
        sift_down(t, i, n);
    for (size_t i = n - 1; i > 0; i--) {
        struct tag x = t[0];
        t[0] = t[i];
        t[i] = x;
        sift_down(t, 0, i);
    }
}

/* Finds the next ',' (or '=') not preceded by a backslash, from p (exclusive of p[-1]
 * checks at the tag's first byte, which is never a separator). */
static const char *next_unescaped(const char *p, const char *end, char c)
{
    for (; p < end; p++) {
        if (*p == c && p[-1] != '\\') return p;
    }
    return end;
}

/* Indexes the tags of a validated key (so plain searches find them again) and sorts
 * them. Returns false on duplicate tag keys. */
static bool sort_key_tags(const char *mend, const char *kend, struct tag *tags, size_t ntags)
{
    size_t n = 0;
    for (const char *p = mend; p < kend; n++) {
        const char *t = p + 1;
        const char *eq = next_unescaped(t + 1, kend, '=');
        /* The value's first byte may be '=', so the search for its end starts after it. */
        p = next_unescaped(eq + 2, kend, ',');
        tags[n].p = t;
        tags[n].klen = (uint32_t)(eq - t);
        tags[n].len = (uint32_t)(p - t);
    }
    assert(n == ntags);
    sort_tags(tags, n);
    for (size_t i = 1; i < n; i++) {
        if (!tag_cmp(tags[i - 1].p, tags[i - 1].klen, tags[i].p, tags[i].klen)) return false;
    }
    return true;
}

static void write_sorted_key(char *o, const char *key, const char *mend, const struct tag *tags,
                             size_t ntags)
{
    memcpy(o, key, (size_t)(mend - key));
    o += mend - key;
    for (size_t i = 0; i < ntags; i++) {
        *o++ = ',';
        memcpy(o, tags[i].p, tags[i].len);
        o += tags[i].len;
    }
}

static const char digit_pairs[201] = "00010203040506070809"
                                     "10111213141516171819"
                                     "20212223242526272829"
                                     "30313233343536373839"
                                     "40414243444546474849"
                                     "50515253545556575859"
                                     "60616263646566676869"
                                     "70717273747576777879"
                                     "80818283848586878889"
                                     "90919293949596979899";

/* Writes v < 10^8 as exactly eight digits. */
static inline void write8(char *o, uint32_t v)
{
    uint32_t hi = v / 10000, lo = v % 10000;
    memcpy(o, digit_pairs + 2 * (hi / 100), 2);
    memcpy(o + 2, digit_pairs + 2 * (hi % 100), 2);
    memcpy(o + 4, digit_pairs + 2 * (lo / 100), 2);
    memcpy(o + 6, digit_pairs + 2 * (lo % 100), 2);
}

/* Formats v in decimal. Timestamps have 19 digits: cutting them into independent
 * eight-digit groups avoids a chain of ten dependent divisions. */
static size_t write_i64(char *o, int64_t v)
{
    char tmp[24];
    char *t = tmp + sizeof(tmp);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    while (u >= 100000000) {
        t -= 8;
        write8(t, (uint32_t)(u % 100000000));
        u /= 100000000;
    }
    uint32_t w = (uint32_t)u;
    while (w >= 100) {
        t -= 2;
        memcpy(t, digit_pairs + 2 * (w % 100), 2);
        w /= 100;
    }
    if (w >= 10) {
        t -= 2;
        memcpy(t, digit_pairs + 2 * w, 2);
    } else {
        *--t = (char)('0' + w);
    }
    if (v < 0) *--t = '-';
    size_t n = (size_t)(tmp + sizeof(tmp) - t);
    memcpy(o, t, n);
    return n;
}

static void set_error(const char *line, const char *end, const struct tsr_lp_opts *opts,
                      const char *reason, enum tsr_lp_kind kind, struct tsr_lp_result *res)
{
    const char *e = line_end(line, end);
    size_t len = (size_t)(e - line);

    /* The cheap early checks may have stopped the strict scan anywhere; the whole line
     * decides which reason the client sees. */
    if (opts->max_line_bytes && len > opts->max_line_bytes)
        reason = "line too long", kind = TSR_LP_KIND_PARSE;
    else if (!utf8_valid(line, e))
        reason = "invalid UTF-8", kind = TSR_LP_KIND_PARSE;
    res->status = TSR_LP_ERR;
    res->kind = kind;
    res->line_len = len;
    res->consumed = len + eol_size(e, end);
    res->reason = reason;
}

/* Copies the validated field set [fs, fe) to o without its fields named "time", which
 * InfluxDB 1.x drops from a point; returns the end of what it wrote. */
static char *copy_fields_but_time(char *o, const char *fs, const char *fe)
{
    struct tsr_lp_field f;
    const char *p = fs;
    char *o0 = o;
    while (tsr_lp_next_field(&p, fe, &f) == 0) {
        if (f.klen == 4 && !memcmp(f.key, "time", 4)) continue;
        if (o != o0) *o++ = ',';
        memcpy(o, f.key, (size_t)(f.end - f.key));
        o += f.end - f.key;
    }
    return o;
}

void tsr_lp_parse_line(const char *p, const char *end, const struct tsr_lp_opts *opts,
                       struct tsr_buf *out, struct tsr_lp_result *res)
{
    assert(p < end);
    const char *line = p;
    struct scan sc = {.end = end, .reason = NULL, .no_unsigned = opts->reject_unsigned};
    size_t max = opts->max_line_bytes;

    res->series_hash = 0;
    res->reason = NULL;
    res->kind = TSR_LP_KIND_PARSE;
    /* Scanning stops two bytes past the limit ("\r\n"), so a huge line costs at most
     * max_line_bytes of strict parsing before it is refused. */
    if (max && (size_t)(end - p) > max && (size_t)(end - p) - max > 2) sc.end = p + max + 2;

    p = skip_ws(p, sc.end);
    if (p < sc.end && *p == '#') {
        const char *e = line_end(line, end);
        res->status = TSR_LP_SKIP;
        res->line_len = (size_t)(e - line);
        res->consumed = res->line_len + eol_size(e, end);
        return;
    }
    if (p == sc.end && sc.end != end) goto err; /* whitespace past the limit */
    if (is_eol(p, end)) {
        res->status = TSR_LP_SKIP;
        res->line_len = (size_t)(p - line);
        res->consumed = res->line_len + eol_size(p, end);
        return;
    }

    /* Measurement. */
    const char *key = p;
    load_window(&sc, p);
    if (*p == ',') {
        sc.reason = "missing measurement";
        goto err;
    }
    if (!(p = scan_key(&sc, p, false))) goto err;
    const char *mend = p;

    /* Tags: checked for order as they go by, so sorted input is never sorted again. */
    unsigned ntags = 0;
    bool sorted = true;
    const char *prev = NULL;
    size_t prevlen = 0;
    bool time_tag = false; /* refused once the whole line has parsed, as InfluxDB does */
    while (p < sc.end && *p == ',') {
        p++;
        if (p == sc.end || *p == ' ' || *p == ',' || *p == '=' || is_eol(p, sc.end)) {
            sc.reason = "missing tag key";
            goto err;
        }
        if (++ntags > opts->max_tags && opts->max_tags) {
            sc.reason = "too many tags";
            goto err;
        }
        const char *k = p;
        if (!(p = scan_key(&sc, p, true))) goto err;
        if (p == sc.end || *p != '=') {
            sc.reason = "missing tag value";
            goto err;
        }
        size_t klen = (size_t)(p - k);
        if (klen == 4 && !memcmp(k, "time", 4)) time_tag = true;
        if (sorted && prev) {
            int c = tag_cmp(prev, prevlen, k, klen);
            if (c == 0) {
                sc.reason = "duplicate tags";
                goto err;
            }
            sorted = c < 0;
        }
        prev = k;
        prevlen = klen;
        p++;
        if (p == sc.end || *p == ',' || *p == ' ' || is_eol(p, sc.end)) {
            sc.reason = "missing tag value";
            goto err;
        }
        if (!(p = scan_key(&sc, p, true))) goto err;
        if (p < sc.end && *p == '=') {
            sc.reason = "invalid tag format";
            goto err;
        }
    }
    if (p == sc.end || *p != ' ') {
        sc.reason = "missing fields";
        goto err;
    }
    const char *kend = p;
    size_t klen = (size_t)(kend - key);
    if (klen > MAX_KEY_LEN) {
        sc.reason = "max key length exceeded";
        goto err;
    }
    /* Unsorted keys are hashed once sorted, at the end. */
    struct hasher hs = {TSR_FNV1A64_INIT, key, sorted ? kend : key};

    /* Fields, kept as one span. */
    p = skip_ws(p, sc.end);
    if (is_eol(p, sc.end)) {
        sc.reason = "missing fields";
        goto err;
    }
    const char *fs = p;
    unsigned nfields = 0, ntime = 0;
    for (;;) {
        const char *fk = p;
        if (!(p = scan_field_key(&sc, p))) goto err;
        if (p == sc.end || *p != '=') {
            sc.reason = "invalid field format";
            goto err;
        }
        if (p == fk) {
            sc.reason = "missing field key";
            goto err;
        }
        size_t fklen = (size_t)(p - fk);
        nfields++;
        if (fklen == 4 && !memcmp(fk, "time", 4)) ntime++;
        /* Dropping the time fields before this one makes its key the first of the field
         * set, where a leading \t or \0 reads as the whitespace before it: the line
         * would read back (in InfluxDB too) with another key. */
        if (ntime && ntime == nfields - 1 && is_class(fk, C_WS)) {
            sc.reason = "invalid field key: it would start the field set with whitespace";
            goto err;
        }
        if (klen + 4 + fklen > MAX_KEY_LEN) {
            sc.reason = "max key length exceeded";
            goto err;
        }
        if (!(p = scan_value(&sc, p + 1))) goto err;
        hash_more(&hs);
        if (p == sc.end || *p != ',') break; /* at ' ' or the line's end */
        p++;
    }
    const char *fe = p;

    /* Timestamp. */
    const char *ts = NULL, *digits = NULL, *tse = NULL;
    p = skip_ws(p, sc.end);
    if (!is_eol(p, sc.end)) {
        ts = p;
        if (*p == '-') p++;
        digits = p;
        p = skip_digits(&sc, p);
        if (p == digits || !(is_eol(p, sc.end) || *p == ' ')) {
            sc.reason = "bad timestamp";
            goto err;
        }
        tse = p;
        while (p < sc.end && *p == ' ')
            p++;
        if (!is_eol(p, sc.end)) {
            sc.reason = "point is invalid";
            goto err;
        }
    }
    if (max && (size_t)(p - line) > max) {
        sc.reason = "line too long";
        goto err;
    }
    /* The line parses: now the two rules InfluxDB applies as it stores a point. */
    if (time_tag) {
        sc.reason = TIME_TAG_REASON;
        sc.kind = TSR_LP_KIND_TIME_TAG;
        goto err;
    }
    if (ntime == nfields) {
        sc.reason = TIME_FIELD_REASON;
        sc.kind = TSR_LP_KIND_TIME_FIELD;
        goto err;
    }

    int64_t t = opts->now_ns;
    bool raw_ts = false;
    if (ts) {
        bool neg = ts != digits;
        const char *d = digits;
        while (d < tse - 1 && *d == '0')
            d++;
        size_t n = (size_t)(tse - d);
        /* The nanosecond range is symmetric, so one text compare settles it; scaled
         * precisions still need the multiplication below. */
        if (n > 19 || (n == 19 && *d == '9' && memcmp(d, "9223372036854775806", 19) > 0)) {
            sc.reason = TIME_RANGE_REASON;
            goto err;
        }
        if (opts->precision == TSR_PREC_NS && d == digits && !(neg && *d == '0')) {
            raw_ts = true; /* canonical text, copied as is */
        } else {
            uint64_t u;
            read_digits(d, tse, &u);
            t = neg ? -(int64_t)u : (int64_t)u;
            if (__builtin_mul_overflow(t, prec_mult[opts->precision], &t) || t < MIN_NANO_TIME ||
                t > MAX_NANO_TIME) {
                sc.reason = TIME_RANGE_REASON;
                goto err;
            }
        }
    }

    /* Emit: key, ' ', fields, ' ', timestamp, '\n'. */
    size_t flen = (size_t)(fe - fs);
    size_t need = klen + 1 + flen + 1 + 21 + 1;
    struct tag stack_tags[STACK_TAGS];
    struct tag *tags = stack_tags;
    if (!sorted) {
        if (ntags > STACK_TAGS) {
            /* Borrow the buffer's spare room past this line for the tag index (the
             * only case where a rejected line can grow `out`'s capacity). */
            tsr_buf_reserve(out, need + _Alignof(struct tag) + ntags * sizeof(struct tag));
            uintptr_t a = (uintptr_t)(out->data + out->len + need);
            a = (a + _Alignof(struct tag) - 1) & ~(uintptr_t)(_Alignof(struct tag) - 1);
            tags = (struct tag *)a;
        }
        if (!sort_key_tags(mend, kend, tags, ntags)) {
            sc.reason = "duplicate tags";
            goto err;
        }
    }
    if (out->cap - out->len < need) tsr_buf_reserve(out, need);
    char *o0 = out->data + out->len;
    char *o = o0;
    if (sorted) {
        memcpy(o, key, klen);
        res->series_hash = hash_finish(&hs);
    } else {
        write_sorted_key(o, key, mend, tags, ntags);
        res->series_hash = key_hash(o, klen);
    }
    o += klen;
    *o++ = ' ';
    if (ntime) {
        o = copy_fields_but_time(o, fs, fe);
    } else {
        memcpy(o, fs, flen);
        o += flen;
    }
    *o++ = ' ';
    if (raw_ts) {
        memcpy(o, ts, (size_t)(tse - ts));
        o += tse - ts;
    } else {
        o += write_i64(o, t);
    }
    *o++ = '\n';
    out->len += (size_t)(o - o0);

    res->status = TSR_LP_OK;
    res->line_len = (size_t)(p - line);
    res->consumed = res->line_len + eol_size(p, end);
    return;

err:
    res->series_hash = 0;
    set_error(line, end, opts, sc.reason, sc.kind, res);
}

/* ---- reading a normalised line back --------------------------------------------- */

const char *tsr_lp_ftype_name(enum tsr_lp_ftype t)
{
    switch (t) {
    case TSR_LP_FLOAT:
        return "float";
    case TSR_LP_INTEGER:
        return "integer";
    case TSR_LP_UNSIGNED:
        return "unsigned";
    case TSR_LP_STRING:
        return "string";
    case TSR_LP_BOOLEAN:
        return "boolean";
    }
    return "unknown";
}

const char *tsr_lp_line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl || !memchr(p, '"', (size_t)(nl - p))) return nl;
    struct tsr_lp_sections sec;
    tsr_lp_sections(p, (size_t)(end - p), &sec);
    const char *fe = sec.fields + sec.flen;
    return fe <= end ? memchr(fe, '\n', (size_t)(end - fe)) : NULL;
}

const char *tsr_lp_next_line(const char **p, const char *end, size_t *n)
{
    while (*p < end) {
        const char *line = *p, *nl = tsr_lp_line_end(line, end);
        *n = (size_t)((nl ? nl : end) - line);
        *p = nl ? nl + 1 : end;
        if (*n) return line;
    }
    return NULL;
}

void tsr_lp_sections(const char *line, size_t len, struct tsr_lp_sections *sec)
{
    const char *p = skip_ws(line, line + len), *end = line + len;
    const char *m = p;

    /* The measurement ends at the first ',' or ' ' not after a backslash (its first byte
     * never ends it); the key at the first such ' '. */
    for (p++; p < end && !((*p == ',' || *p == ' ') && p[-1] != '\\'); p++) {
    }
    sec->meas = m;
    sec->mlen = (size_t)(p - m);
    for (; p < end && !(*p == ' ' && p[-1] != '\\'); p++) {
    }
    p = skip_ws(p, end);
    sec->fields = p;
    /* The field set runs to the last unquoted ' ' before the timestamp, or to the end. */
    const char *q = p;
    struct tsr_lp_field f = {.end = p};
    while (tsr_lp_next_field(&q, end, &f) == 0)
        if (f.end == end || *f.end != ',') break;
    sec->flen = (size_t)(f.end - p);
}

int tsr_lp_next_field(const char **pp, const char *end, struct tsr_lp_field *f)
{
    const char *p = *pp;
    /* A '\r' ends the field set only as a line end, as in the parser: a key may start
     * with one, and stopping there lost every field of the line. */
    if (p >= end || *p == ' ' || is_eol(p, end)) return -1;
    f->key = p;
    /* In a field key a backslash escapes the byte after it. */
    for (; p < end && *p != '='; p++)
        if (*p == '\\') p++;
    f->klen = (size_t)(p - f->key);
    p++;
    if (p < end && *p == '"') {
        f->type = TSR_LP_STRING;
        for (p++; p < end && *p != '"'; p++)
            if (*p == '\\') p++;
        p++;
    } else {
        const char *v = p;
        while (p < end && *p != ',' && *p != ' ' && *p != '\n' && *p != '\r')
            p++;
        char last = p > v ? p[-1] : 0;
        if (*v == 't' || *v == 'T' || *v == 'f' || *v == 'F')
            f->type = TSR_LP_BOOLEAN;
        else if (last == 'i')
            f->type = TSR_LP_INTEGER;
        else if (last == 'u')
            f->type = TSR_LP_UNSIGNED;
        else
            f->type = TSR_LP_FLOAT;
    }
    if (p > end) p = end;
    f->end = p;
    *pp = p < end && *p == ',' ? p + 1 : p;
    return 0;
}

void tsr_lp_unescape(struct tsr_buf *out, const char *s, size_t n, const char *specials)
{
    const char *end = s + n;
    while (s < end) {
        const char *bs = memchr(s, '\\', (size_t)(end - s));
        if (!bs || bs + 1 == end) {
            tsr_buf_append(out, s, (size_t)(end - s));
            return;
        }
        tsr_buf_append(out, s, (size_t)(bs - s));
        /* The escaped byte is kept, the backslash only if it escaped nothing special. */
        if (!strchr(specials, bs[1])) tsr_buf_putc(out, '\\');
        tsr_buf_putc(out, bs[1]);
        s = bs + 2;
    }
}

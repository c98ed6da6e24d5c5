/* replay/ctl_json.c — the JSON reader behind tsrelayctl (see ctl_json.h for why it is
 * ours and what it accepts).
 *
 * A recursive-descent parser over a private NUL-terminated copy of the input. Every node
 * remembers its span in that copy, so a caller can print part of a document exactly as
 * the server wrote it. Children live in one array per container; nodes are handed out
 * only after parsing ends, so growing those arrays never invalidates a pointer a
 * caller holds. */
#include "ctl_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tsr_jsonr {
    enum tsr_jsonr_type type;
    int boolean;
    int integral; /* number written without fraction or exponent */
    int is_int;   /* ... and it fits int64_t */
    int64_t i;    /* valid when is_int */
    double d;     /* every number */
    char *s;      /* decoded string, NUL-terminated */
    size_t slen;
    char *key; /* set when the node is a member of an object */
    size_t keylen;
    struct tsr_jsonr *kids; /* elements of an array, members of an object */
    size_t n, cap;
    const char *raw; /* the node's text in the tree's copy of the input */
    size_t rawlen;
    char *text; /* root only: that copy */
};

struct parser {
    const char *start; /* the copy, NUL-terminated */
    const char *p;
    const char *end;
    int depth;
    char *err;
    size_t errlen;
};

static int parse_value(struct parser *ps, struct tsr_jsonr *v);

/* Records the first error with its line and column (1-based, in bytes) and returns -1.
 * Parsing stops at the first error, so later calls never overwrite it. */
static int fail_at(struct parser *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(struct parser *ps, const char *at, const char *fmt, ...)
{
    int line = 1, col = 1;
    for (const char *q = ps->start; q < at; q++) {
        if (*q == '\n')
            line++, col = 1;
        else
            col++;
    }
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (ps->errlen) snprintf(ps->err, ps->errlen, "%s at line %d, column %d", what, line, col);
    return -1;
}

/* "unexpected 'x'" for the byte at p, readable whatever the byte is. */
static int fail_unexpected(struct parser *ps, const char *p, const char *expected)
{
    if (p >= ps->end) return fail_at(ps, p, "unexpected end of document, expected %s", expected);
    unsigned char c = (unsigned char)*p;
    if (c >= 0x20 && c < 0x7f) return fail_at(ps, p, "unexpected '%c', expected %s", c, expected);
    return fail_at(ps, p, "unexpected byte 0x%02x, expected %s", c, expected);
}

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The 4 hex digits at p as a code unit, or -1. */
static long hex4(const char *p, const char *end)
{
    if (end - p < 4) return -1;
    long u = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(p[k]);
        if (h < 0) return -1;
        u = u * 16 + h;
    }
    return u;
}

static char *put_utf8(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* Parses the string at ps->p (on its opening quote) into a new buffer. Two passes: the
 * first finds the closing quote and checks every escape, the second decodes. The
 * decoded form is never longer than the quoted one (an escape of 6 bytes decodes to at
 * most 3, a pair of 12 to 4), so the span's length bounds the allocation. */
static int parse_string(struct parser *ps, char **out, size_t *outlen)
{
    const char *open = ps->p, *q = ps->p + 1;
    for (;;) {
        if (q >= ps->end) return fail_at(ps, open, "unterminated string");
        unsigned char c = (unsigned char)*q;
        if (c == '"') break;
        if (c < 0x20)
            return fail_at(ps, q, "control character 0x%02x in string (must be escaped)", c);
        if (c != '\\') {
            q++;
            continue;
        }
        if (q + 1 >= ps->end) return fail_at(ps, open, "unterminated string");
        switch (q[1]) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            q += 2;
            break;
        case 'u':
            if (hex4(q + 2, ps->end) < 0)
                return fail_at(ps, q, "bad \\u escape (needs 4 hex digits)");
            q += 6;
            break;
        default:
            return fail_at(ps, q, "bad escape '\\%c' in string",
                           q[1] >= 0x20 && q[1] < 0x7f ? q[1] : '?');
        }
    }
    const char *close = q;
    char *s = malloc((size_t)(close - open)), *o = s;
    if (!s) abort();
    for (q = open + 1; q < close;) {
        if (*q != '\\') {
            *o++ = *q++;
            continue;
        }
        char e = q[1];
        q += 2;
        switch (e) {
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            unsigned long cp = (unsigned long)hex4(q, close);
            q += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                /* A high surrogate counts only with a low one right after it. */
                long lo = (close - q >= 6 && q[0] == '\\' && q[1] == 'u') ? hex4(q + 2, close) : -1;
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
                    q += 6;
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
            o = put_utf8(o, cp);
            break;
        }
        default:
            *o++ = e;
            break; /* " \ / */
        }
    }
    *o = '\0';
    *out = s;
    *outlen = (size_t)(o - s);
    ps->p = close + 1;
    return 0;
}

/* RFC 8259 numbers: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_number(struct parser *ps, struct tsr_jsonr *v)
{
    const char *q = ps->p;
    int neg = 0, integral = 1;
    uint64_t mag = 0;
    int overflow = 0;
    if (*q == '-') neg = 1, q++;
    if (q >= ps->end || *q < '0' || *q > '9') return fail_unexpected(ps, q, "a digit");
    if (*q == '0' && q + 1 < ps->end && q[1] >= '0' && q[1] <= '9')
        return fail_at(ps, q, "number with a leading zero");
    for (; q < ps->end && *q >= '0' && *q <= '9'; q++) {
        unsigned digit = (unsigned)(*q - '0');
        if (mag > (UINT64_MAX - digit) / 10)
            overflow = 1;
        else
            mag = mag * 10 + digit;
    }
    if (q < ps->end && *q == '.') {
        integral = 0;
        q++;
        if (q >= ps->end || *q < '0' || *q > '9')
            return fail_unexpected(ps, q, "a digit after '.'");
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        integral = 0;
        q++;
        if (q < ps->end && (*q == '+' || *q == '-')) q++;
        if (q >= ps->end || *q < '0' || *q > '9')
            return fail_unexpected(ps, q, "a digit in the exponent");
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    v->type = TSR_JSONR_NUMBER;
    /* The grammar above admits nothing strtod would read further (no hex, inf, nan), and
     * the copy is NUL-terminated, so strtod stops where we did. The CLI never calls
     * setlocale, so the decimal point is '.'. */
    v->d = strtod(ps->p, NULL);
    v->integral = integral;
    if (integral && !overflow) {
        if (!neg && mag <= (uint64_t)INT64_MAX)
            v->is_int = 1, v->i = (int64_t)mag;
        else if (neg && mag <= (uint64_t)INT64_MAX + 1)
            v->is_int = 1, v->i = (int64_t)(0 - mag);
    }
    ps->p = q;
    return 0;
}

static int parse_literal(struct parser *ps, struct tsr_jsonr *v)
{
    static const struct {
        const char *word;
        enum tsr_jsonr_type type;
        int boolean;
    } lit[] = {
        {"true", TSR_JSONR_BOOL, 1}, {"false", TSR_JSONR_BOOL, 0}, {"null", TSR_JSONR_NULL, 0}};
    for (size_t k = 0; k < sizeof(lit) / sizeof(lit[0]); k++) {
        size_t n = strlen(lit[k].word);
        if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, lit[k].word, n) == 0) {
            v->type = lit[k].type;
            v->boolean = lit[k].boolean;
            ps->p += n;
            return 0;
        }
    }
    return fail_unexpected(ps, ps->p, "a value");
}

/* A zeroed new child slot of v. Counted at once, so a failure while parsing the child
 * still frees what it allocated. */
static struct tsr_jsonr *add_kid(struct tsr_jsonr *v)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4;
        struct tsr_jsonr *kids = realloc(v->kids, cap * sizeof(*kids));
        if (!kids) abort();
        v->kids = kids;
        v->cap = cap;
    }
    struct tsr_jsonr *kid = &v->kids[v->n++];
    memset(kid, 0, sizeof(*kid));
    return kid;
}

/* Array or object, ps->p on '[' or '{'. */
static int parse_container(struct parser *ps, struct tsr_jsonr *v)
{
    int is_obj = *ps->p == '{';
    char close = is_obj ? '}' : ']';
    v->type = is_obj ? TSR_JSONR_OBJECT : TSR_JSONR_ARRAY;
    if (++ps->depth > TSR_JSONR_MAX_DEPTH)
        return fail_at(ps, ps->p, "nesting deeper than %d levels", TSR_JSONR_MAX_DEPTH);
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        ps->depth--;
        return 0;
    }
    for (;;) {
        struct tsr_jsonr *kid = add_kid(v);
        if (is_obj) {
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '"')
                return fail_unexpected(ps, ps->p, "an object key");
            if (parse_string(ps, &kid->key, &kid->keylen) != 0) return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':')
                return fail_unexpected(ps, ps->p, "':' after object key");
            ps->p++;
        }
        if (parse_value(ps, kid) != 0) return -1;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            /* RFC 8259 has no trailing comma; say so rather than "unexpected ']'". */
            skip_ws(ps);
            if (ps->p < ps->end && *ps->p == close) return fail_at(ps, ps->p, "trailing comma");
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) break;
        return fail_unexpected(ps, ps->p, is_obj ? "',' or '}'" : "',' or ']'");
    }
    ps->p++;
    ps->depth--;
    return 0;
}

static int parse_value(struct parser *ps, struct tsr_jsonr *v)
{
    skip_ws(ps);
    if (ps->p >= ps->end) return fail_unexpected(ps, ps->p, "a value");
    const char *at = ps->p;
    int rc;
    switch (*at) {
    case '{':
    case '[':
        rc = parse_container(ps, v);
        break;
    case '"':
        v->type = TSR_JSONR_STRING;
        rc = parse_string(ps, &v->s, &v->slen);
        break;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        rc = parse_number(ps, v);
        break;
    default:
        rc = parse_literal(ps, v);
        break;
    }
    if (rc != 0) return rc;
    v->raw = at;
    v->rawlen = (size_t)(ps->p - at);
    return 0;
}

/* Frees what node v owns, not v itself (it lives in its parent's array or is the root). */
static void free_node(struct tsr_jsonr *v)
{
    for (size_t k = 0; k < v->n; k++)
        free_node(&v->kids[k]);
    free(v->kids);
    free(v->s);
    free(v->key);
}

int tsr_jsonr_parse(const char *text, size_t len, struct tsr_jsonr **rootp, char *err,
                    size_t errlen)
{
    *rootp = NULL;
    struct tsr_jsonr *root = calloc(1, sizeof(*root));
    if (!root) abort();
    root->text = malloc(len + 1);
    if (!root->text) abort();
    memcpy(root->text, text, len);
    root->text[len] = '\0';

    struct parser ps = {.start = root->text,
                        .p = root->text,
                        .end = root->text + len,
                        .err = err,
                        .errlen = errlen};
    skip_ws(&ps);
    if (ps.p == ps.end) {
        fail_at(&ps, ps.p, "empty document");
        goto fail;
    }
    if (parse_value(&ps, root) != 0) goto fail;
    skip_ws(&ps);
    if (ps.p != ps.end) {
        fail_unexpected(&ps, ps.p, "the end of the document");
        goto fail;
    }
    *rootp = root;
    return 0;
fail:
    tsr_jsonr_free(&root);
    return -1;
}

void tsr_jsonr_free(struct tsr_jsonr **rootp)
{
    struct tsr_jsonr *root = *rootp;
    if (!root) return;
    free_node(root);
    free(root->text);
    free(root);
    *rootp = NULL;
}

enum tsr_jsonr_type tsr_jsonr_type(const struct tsr_jsonr *v)
{
    return v ? v->type : TSR_JSONR_NULL;
}

const struct tsr_jsonr *tsr_jsonr_get(const struct tsr_jsonr *v, const char *key)
{
    if (!v || v->type != TSR_JSONR_OBJECT) return NULL;
    size_t klen = strlen(key);
    for (size_t k = 0; k < v->n; k++)
        if (v->kids[k].keylen == klen && memcmp(v->kids[k].key, key, klen) == 0) return &v->kids[k];
    return NULL;
}

const struct tsr_jsonr *tsr_jsonr_at(const struct tsr_jsonr *v, size_t i)
{
    if (!v || (v->type != TSR_JSONR_ARRAY && v->type != TSR_JSONR_OBJECT) || i >= v->n) return NULL;
    return &v->kids[i];
}

size_t tsr_jsonr_len(const struct tsr_jsonr *v)
{
    return v && (v->type == TSR_JSONR_ARRAY || v->type == TSR_JSONR_OBJECT) ? v->n : 0;
}

const char *tsr_jsonr_key(const struct tsr_jsonr *v)
{
    return v ? v->key : NULL;
}

const char *tsr_jsonr_str(const struct tsr_jsonr *v, const char *def)
{
    return v && v->type == TSR_JSONR_STRING ? v->s : def;
}

size_t tsr_jsonr_strlen(const struct tsr_jsonr *v)
{
    return v && v->type == TSR_JSONR_STRING ? v->slen : 0;
}

int64_t tsr_jsonr_int(const struct tsr_jsonr *v, int64_t def)
{
    if (!v || v->type != TSR_JSONR_NUMBER) return def;
    if (v->is_int) return v->i;
    /* An integer literal past int64_t would round to a double that may fit (-2^63 - 1
     * rounds to -2^63): it does not fit, whatever the double says. */
    if (v->integral) return def;
    /* -2^63 and 2^63 are exact doubles: the range check itself cannot round. */
    if (isfinite(v->d) && v->d >= -9223372036854775808.0 && v->d < 9223372036854775808.0)
        return (int64_t)v->d;
    return def;
}

int tsr_jsonr_is_int(const struct tsr_jsonr *v)
{
    return v && v->type == TSR_JSONR_NUMBER && v->is_int;
}

double tsr_jsonr_num(const struct tsr_jsonr *v, double def)
{
    return v && v->type == TSR_JSONR_NUMBER ? v->d : def;
}

int tsr_jsonr_bool(const struct tsr_jsonr *v, int def)
{
    return v && v->type == TSR_JSONR_BOOL ? v->boolean : def;
}

const char *tsr_jsonr_get_str(const struct tsr_jsonr *v, const char *key, const char *def)
{
    return tsr_jsonr_str(tsr_jsonr_get(v, key), def);
}

int64_t tsr_jsonr_get_int(const struct tsr_jsonr *v, const char *key, int64_t def)
{
    return tsr_jsonr_int(tsr_jsonr_get(v, key), def);
}

double tsr_jsonr_get_num(const struct tsr_jsonr *v, const char *key, double def)
{
    return tsr_jsonr_num(tsr_jsonr_get(v, key), def);
}

int tsr_jsonr_get_bool(const struct tsr_jsonr *v, const char *key, int def)
{
    return tsr_jsonr_bool(tsr_jsonr_get(v, key), def);
}

const char *tsr_jsonr_raw(const struct tsr_jsonr *v, size_t *len)
{
    *len = v ? v->rawlen : 0;
    return v ? v->raw : NULL;
}

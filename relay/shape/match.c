/* relay/shape/match.c — see match.h. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "relay/shape/match.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) abort();
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* The literal run an expression starts with after '^' ("debug" of /^debug_\w+/), when
 * nothing can make it optional: no alternation anywhere, no inline options, and a
 * quantifier after the run takes its last byte away. Length 0 when there is none. */
static size_t anchored_literal(const char *re, const char **lit)
{
    *lit = re + 1;
    if (re[0] != '^' || strchr(re, '|') || strstr(re, "(?")) return 0;
    size_t n = 0;
    while ((re[1 + n] >= 'a' && re[1 + n] <= 'z') || (re[1 + n] >= 'A' && re[1 + n] <= 'Z') ||
           (re[1 + n] >= '0' && re[1 + n] <= '9') || re[1 + n] == '_' || re[1 + n] == '-')
        n++;
    if (n && re[1 + n] && strchr("?*{", re[1 + n])) n--;
    return n;
}

/* What PCRE2's study of the pattern says any match needs (pcre2_pattern_info). */
static void prefilter(struct tsr_match *m, pcre2_code *code)
{
    uint32_t opts = 0, type = 0, unit = 0, flags = 0;
    const uint8_t *bitmap = NULL;
    m->required = -1;
    /* Inline options ((?i) and the like) can make a literal match either case, which
     * the first and last code units do not say: no shortcut for those. */
    if (strstr(m->text, "(?")) return;
    pcre2_pattern_info(code, PCRE2_INFO_ALLOPTIONS, &opts);
    pcre2_pattern_info(code, PCRE2_INFO_FIRSTCODETYPE, &type);
    if (opts & PCRE2_ANCHORED) {
        if (type == 1 && pcre2_pattern_info(code, PCRE2_INFO_FIRSTCODEUNIT, &unit) == 0 &&
            unit < 256) {
            m->anchored_first = 1;
            m->first[unit / 8] |= (uint8_t)(1u << (unit % 8));
        } else if (type == 0 && pcre2_pattern_info(code, PCRE2_INFO_FIRSTBITMAP, &bitmap) == 0 &&
                   bitmap) {
            m->anchored_first = 1;
            memcpy(m->first, bitmap, sizeof(m->first));
        }
    }
    if (pcre2_pattern_info(code, PCRE2_INFO_LASTCODEUNIT, &unit) == 0 &&
        pcre2_pattern_info(code, PCRE2_INFO_LASTCODETYPE, &flags) == 0 && flags == 1 &&
        unit < 256 && !(opts & PCRE2_CASELESS))
        m->required = (int)unit;
    const char *lit;
    size_t n = anchored_literal(m->text, &lit);
    if (n) {
        m->needle = dup_n(lit, n);
        m->needle_len = n;
    } else if (m->required >= 0) {
        char b = (char)m->required;
        m->needle = dup_n(&b, 1);
        m->needle_len = 1;
    }
}

int tsr_match_compile(struct tsr_match *m, const char *s, char *why, size_t whylen)
{
    size_t n = strlen(s);
    *m = (struct tsr_match){0};
    if (n >= 2 && s[0] == '/' && s[n - 1] == '/') {
        int err;
        PCRE2_SIZE at;
        pcre2_code *code = pcre2_compile((PCRE2_SPTR)s + 1, n - 2, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
                                         &err, &at, NULL);
        if (!code) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(err, msg, sizeof(msg));
            snprintf(why, whylen, "invalid regular expression %s: %s at offset %zu", s,
                     (const char *)msg, (size_t)at);
            return -1;
        }
        /* No JIT on this CPU or build: the interpreter gives the same answers. */
        (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
        static uint32_t next_id; /* compiled on the main thread only */
        m->kind = TSR_MATCH_REGEX;
        m->code = code;
        m->id = ++next_id ? next_id : ++next_id;
        m->text = dup_n(s + 1, n - 2);
        m->len = n - 2;
        prefilter(m, code);
    } else if (n >= 1 && s[n - 1] == '*') {
        m->kind = TSR_MATCH_PREFIX;
        m->text = dup_n(s, n - 1);
        m->len = n - 1;
        m->needle = dup_n(m->text, m->len);
        m->needle_len = m->len;
    } else {
        m->kind = TSR_MATCH_EXACT;
        m->text = dup_n(s, n);
        m->len = n;
        m->needle = dup_n(m->text, m->len);
        m->needle_len = m->len;
    }
    return 0;
}

void tsr_match_free(struct tsr_match *m)
{
    if (m->code) pcre2_code_free(m->code);
    free(m->text);
    free(m->needle);
    *m = (struct tsr_match){0};
}

int tsr_match_test(const struct tsr_match *m, const char *name, size_t len,
                   struct tsr_match_scratch *sc)
{
    switch (m->kind) {
    case TSR_MATCH_EXACT:
        return len == m->len && memcmp(name, m->text, len) == 0;
    case TSR_MATCH_PREFIX:
        return len >= m->len && memcmp(name, m->text, m->len) == 0;
    case TSR_MATCH_REGEX:
        break;
    }
    if (m->anchored_first &&
        (len == 0 || !(m->first[(unsigned char)name[0] / 8] & (1u << ((unsigned char)name[0] % 8)))))
        return 0;
    if (m->required >= 0 && !memchr(name, m->required, len)) return 0;
    struct tsr_match_answer *a = NULL;
    if (len <= TSR_MATCH_CACHED) {
        if (!sc->cache) sc->cache = calloc(TSR_MATCH_CACHE, sizeof(*sc->cache));
        if (!sc->cache) abort();
        uint32_t h = m->id * 0x9E3779B1u;
        for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)name[i]) * 0x01000193u;
        a = &sc->cache[h % TSR_MATCH_CACHE];
        if (a->id == m->id && a->len == len && memcmp(a->name, name, len) == 0) return a->yes;
    }
    if (!sc->md) sc->md = pcre2_match_data_create(1, NULL);
    if (!sc->md) abort();
    int yes = pcre2_match(m->code, (PCRE2_SPTR)name, len, 0, 0, sc->md, NULL) >= 0;
    if (a) {
        a->id = m->id;
        a->len = (unsigned char)len;
        a->yes = (unsigned char)yes;
        memcpy(a->name, name, len);
    }
    return yes;
}

void tsr_match_scratch_init(struct tsr_match_scratch *sc)
{
    *sc = (struct tsr_match_scratch){0};
}

void tsr_match_scratch_free(struct tsr_match_scratch *sc)
{
    if (sc->md) pcre2_match_data_free(sc->md);
    free(sc->cache);
    *sc = (struct tsr_match_scratch){0};
}

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
        m->kind = TSR_MATCH_REGEX;
        m->code = code;
        m->text = dup_n(s + 1, n - 2);
        m->len = n - 2;
    } else if (n >= 1 && s[n - 1] == '*') {
        m->kind = TSR_MATCH_PREFIX;
        m->text = dup_n(s, n - 1);
        m->len = n - 1;
    } else {
        m->kind = TSR_MATCH_EXACT;
        m->text = dup_n(s, n);
        m->len = n;
    }
    return 0;
}

void tsr_match_free(struct tsr_match *m)
{
    if (m->code) pcre2_code_free(m->code);
    free(m->text);
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
        if (!sc->md) sc->md = pcre2_match_data_create(1, NULL);
        if (!sc->md) abort();
        return pcre2_match(m->code, (PCRE2_SPTR)name, len, 0, 0, sc->md, NULL) >= 0;
    }
    return 0;
}

void tsr_match_scratch_init(struct tsr_match_scratch *sc)
{
    sc->md = NULL;
}

void tsr_match_scratch_free(struct tsr_match_scratch *sc)
{
    if (sc->md) pcre2_match_data_free(sc->md);
    sc->md = NULL;
}

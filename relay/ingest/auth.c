#include "relay/ingest/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"

static int same(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    /* Lengths leak, contents do not: good enough for secrets of any sensible size. */
    return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

static int user_ok(const struct tsr_config *cf, const char *user, const char *pass)
{
    int ok = 0;
    for (size_t i = 0; i < cf->ningest_users; i++)
        ok |= strcmp(cf->ingest_users[i].name, user) == 0 && same(cf->ingest_users[i].password, pass);
    return ok;
}

/* "user:pass" in place: splits at the first ':' and checks it. */
static int pair_ok(const struct tsr_config *cf, char *pair)
{
    char *colon = strchr(pair, ':');
    if (!colon) return 0;
    *colon = '\0';
    return user_ok(cf, pair, colon + 1);
}

int tsr_auth_check(const struct tsr_config *cf, const char *authorization, const char *u,
                   const char *p)
{
    if (!cf->ingest_auth_enabled) return 0;
    if (u && p && user_ok(cf, u, p)) return 0;
    if (!authorization) return -1;

    if (strncasecmp(authorization, "Basic ", 6) == 0) {
        const char *b64 = authorization + 6;
        size_t n = strlen(b64);
        unsigned char plain[1024];
        if (n == 0 || n > 4 * (sizeof(plain) / 3) - 4) return -1;
        int len = EVP_DecodeBlock(plain, (const unsigned char *)b64, (int)n);
        if (len < 0) return -1;
        /* EVP_DecodeBlock counts padding bytes as zeros; trim them. */
        while (n > 0 && b64[n - 1] == '=') n--, len--;
        plain[len < 0 ? 0 : len] = '\0';
        return pair_ok(cf, (char *)plain) ? 0 : -1;
    }
    if (strncasecmp(authorization, "Token ", 6) == 0) {
        const char *tok = authorization + 6;
        int ok = 0;
        for (size_t i = 0; i < cf->ningest_tokens; i++) ok |= same(cf->ingest_tokens[i], tok);
        if (ok) return 0;
        char pair[1024];
        if (strlen(tok) >= sizeof(pair)) return -1;
        strcpy(pair, tok);
        return pair_ok(cf, pair) ? 0 : -1;
    }
    return -1;
}

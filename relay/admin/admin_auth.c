#include "relay/admin/admin_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

enum tsr_admin_need tsr_admin_need(const struct tsr_config *cf, int post,
                                   const char *path)
{
    if (strcmp(path, "/health") == 0 || strcmp(path, "/ready") == 0) return TSR_ADMIN_OPEN;
    if (strcmp(path, "/") == 0) return TSR_ADMIN_OPEN;
    if (strcmp(path, "/metrics") == 0 && cf->admin_metrics_public) return TSR_ADMIN_OPEN;
    return post ? TSR_ADMIN_OPERATE : TSR_ADMIN_READ;
}

/* SHA-256 of s: tokens of any length compare as 32 bytes, so the time taken says
 * nothing about how much of a guess was right. */
static void digest(const char *s, size_t n, unsigned char out[32])
{
    unsigned int len = 32;
    if (!EVP_Digest(s, n, out, &len, EVP_sha256(), NULL)) memset(out, 0, 32);
}

static const struct tsr_admin_token *find_token(const struct tsr_config *cf, const char *token,
                                                size_t n)
{
    unsigned char want[32], have[32];
    const struct tsr_admin_token *found = NULL;
    digest(token, n, have);
    /* Every entry is compared, whichever matches. */
    for (size_t i = 0; i < cf->nadmin_tokens; i++) {
        const char *t = cf->admin_tokens[i].token;
        digest(t, strlen(t), want);
        if (CRYPTO_memcmp(want, have, sizeof(want)) == 0 && !found) found = &cf->admin_tokens[i];
    }
    return found;
}

int tsr_admin_authorize(const struct tsr_config *cf, enum tsr_admin_need need,
                        const char *authorization, int loopback,
                        const struct tsr_admin_token **who, const char **why)
{
    *who = NULL;
    *why = "";
    if (need == TSR_ADMIN_OPEN) return 0;
    if (cf->nadmin_tokens == 0) {
        if (need == TSR_ADMIN_READ || loopback) return 0;
        *why = "no admin tokens are configured (admin.tokens): replays are started, paused, "
               "resumed and cancelled from the relay's own host only";
        return 403;
    }
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0) {
        *why = "an admin token is needed: Authorization: Bearer TOKEN";
        return 401;
    }
    const char *token = authorization + 7;
    while (*token == ' ') token++;
    size_t n = strlen(token);
    while (n && (token[n - 1] == ' ' || token[n - 1] == '\t')) n--;
    const struct tsr_admin_token *t = n ? find_token(cf, token, n) : NULL;
    if (!t) {
        *why = "unknown admin token";
        return 401;
    }
    if (need == TSR_ADMIN_OPERATE && strcmp(t->role, "operate") != 0) {
        *why = "this token's role is read: starting, pausing, resuming and cancelling replays "
               "need role operate";
        return 403;
    }
    *who = t;
    return 0;
}

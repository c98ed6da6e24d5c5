/* relay/admin/admin_auth.h — who may use which admin endpoint.
 *
 * Two roles (admin.tokens[].role): read (status, metrics, ledger, the replay list, the
 * status page's data) and operate (also starting, pausing, resuming and cancelling
 * replays). With tokens configured every endpoint but /health and /ready needs
 * `Authorization: Bearer TOKEN` of the role; with none, reads are open and changes are
 * taken from loopback clients only. Tokens are compared in constant time (digests of
 * equal length, CRYPTO_memcmp).
 *
 * Owns: the decision per request. Pure apart from reading the config; any thread. */
#ifndef TSR_ADMIN_AUTH_H
#define TSR_ADMIN_AUTH_H

#include "config/config.h"

enum tsr_admin_need {
    TSR_ADMIN_OPEN,    /* /health, /ready: probes never need a token */
    TSR_ADMIN_READ,    /* everything that only shows */
    TSR_ADMIN_OPERATE, /* everything that changes state */
};

/* What a request needs: by path and method (POST changes state). The status page's HTML
 * itself is open (it holds no data; its data calls carry the token); /metrics is open
 * when admin.metrics_public. */
enum tsr_admin_need tsr_admin_need(const struct tsr_config *cf, int post,
                                   const char *path);

/* Decides a request needing `need`, with its Authorization header (NULL if none) and
 * whether it comes from a loopback address. Returns 0 when allowed (*who: the token's
 * entry, NULL without tokens), else the HTTP status to answer (401: no or unknown token;
 * 403: not allowed) with *why set to a message for the client. */
int tsr_admin_authorize(const struct tsr_config *cf, enum tsr_admin_need need,
                        const char *authorization, int loopback,
                        const struct tsr_admin_token **who, const char **why);

#endif

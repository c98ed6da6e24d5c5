/* relay/ingest/auth.h — who may write: InfluxDB's three ways of presenting credentials.
 *
 * Checks the query parameters u/p, "Authorization: Basic base64(user:pass)" and
 * "Authorization: Token T", where T is either a configured token (InfluxDB 2 style)
 * or "user:pass" (InfluxDB 1.x's v2-compatibility form). Passwords and tokens are
 * compared in constant time. Pure function of its arguments; any thread. */
#ifndef TSR_AUTH_H
#define TSR_AUTH_H

struct tsr_config;

/* Returns 0 when auth is disabled or the credentials match a configured user or
 * token, -1 otherwise (missing or wrong: the client gets 401 either way). */
int tsr_auth_check(const struct tsr_config *cf, const char *authorization, const char *u,
                   const char *p);

#endif

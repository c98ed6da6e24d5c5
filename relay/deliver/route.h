/* relay/deliver/route.h — what one cluster receives: the databases it takes
 * (clusters[].databases) and its own rules (clusters[].rules, relay/shape/rules.h).
 *
 * Owns: the compiled patterns and rules of one user. Live forwarding, the drain of
 * parked keys and every replay job apply the same route, so a cluster gets the same
 * points whichever way they reach it. A cluster with neither has no route (NULL):
 * records go as they are, at no cost. One thread: the forwarding thread. */
#ifndef TSR_ROUTE_H
#define TSR_ROUTE_H

#include <stddef.h>

#include "relay/core/buf.h"

struct tsr_cluster_conf;
struct tsr_route;

/* Compiles cc's route; *rp is NULL when cc has no databases and no rules. Returns 0,
 * or -1 with err set (a bad pattern: `tsrelay --check-config` reports it first). */
int tsr_route_new(const struct tsr_cluster_conf *cc, int index, struct tsr_route **rp,
                  char *err, size_t errlen);
void tsr_route_free(struct tsr_route **rp);

/* 1 if the cluster receives points of database db. */
int tsr_route_wants(struct tsr_route *r, const char *db);

/* Appends the points of record rec (normalised lines of database db) that the cluster
 * receives, as its rules leave them; returns how many. */
long tsr_route_append(struct tsr_route *r, const char *db, struct tsr_buf *body, const char *rec,
                      size_t len);

/* What the cluster makes of one normalised line of database db, for `tsrelay
 * --test-input`: 0 not a database it receives, else a tsr_rules_verdict + 1 (1 as is,
 * 2 rewritten into out, 3 dropped); trace gets the rules that acted. */
int tsr_route_explain(struct tsr_route *r, const char *db, const char *line, size_t len,
                      struct tsr_buf *out, struct tsr_buf *trace);

#endif

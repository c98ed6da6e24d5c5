/* relay/deliver/route.c — see route.h. */
#include "relay/deliver/route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "relay/deliver/sink.h"
#include "relay/shape/match.h"
#include "relay/shape/rules.h"

struct tsr_route {
    struct tsr_match *dbs;
    size_t ndbs;
    struct tsr_rules *rules;
    struct tsr_match_scratch sc;
};

int tsr_route_new(const struct tsr_cluster_conf *cc, int index, struct tsr_route **rp,
                  char *err, size_t errlen)
{
    *rp = NULL;
    if (cc->ndatabases == 0 && cc->nrules == 0) return 0;
    struct tsr_route *r = calloc(1, sizeof(*r));
    if (!r) abort();
    r->dbs = calloc(cc->ndatabases ? cc->ndatabases : 1, sizeof(*r->dbs));
    if (!r->dbs) abort();
    for (size_t i = 0; i < cc->ndatabases; i++, r->ndbs++) {
        char why[256];
        if (tsr_match_compile(&r->dbs[i], cc->databases[i], why, sizeof(why))) {
            snprintf(err, errlen, "clusters[%d].databases[%zu]: %s", index, i, why);
            tsr_route_free(&r);
            return -1;
        }
    }
    char where[64];
    snprintf(where, sizeof(where), "clusters[%d].rules", index);
    if (tsr_rules_compile(cc->rules, cc->nrules, where, &r->rules, err, errlen)) {
        tsr_route_free(&r);
        return -1;
    }
    *rp = r;
    return 0;
}

void tsr_route_free(struct tsr_route **rp)
{
    struct tsr_route *r = *rp;
    if (!r) return;
    for (size_t i = 0; i < r->ndbs; i++) tsr_match_free(&r->dbs[i]);
    free(r->dbs);
    tsr_rules_free(&r->rules);
    tsr_match_scratch_free(&r->sc);
    free(r);
    *rp = NULL;
}

int tsr_route_wants(struct tsr_route *r, const char *db)
{
    if (!r || r->ndbs == 0) return 1;
    for (size_t i = 0; i < r->ndbs; i++)
        if (tsr_match_test(&r->dbs[i], db, strlen(db), &r->sc)) return 1;
    return 0;
}

long tsr_route_append(struct tsr_route *r, const char *db, struct tsr_buf *body, const char *rec,
                      size_t len)
{
    if (!r || !r->rules) return tsr_sink_append_record(body, rec, len);
    return tsr_rules_append_record(r->rules, db, rec, len, body);
}

int tsr_route_explain(struct tsr_route *r, const char *db, const char *line, size_t len,
                      struct tsr_buf *out, struct tsr_buf *trace)
{
    if (!tsr_route_wants(r, db)) return 0;
    if (!r || !r->rules) return 1 + TSR_RULES_SAME;
    struct tsr_rules_result res;
    tsr_rules_apply(r->rules, db, line, len, out, &res, trace);
    return 1 + (int)res.verdict;
}

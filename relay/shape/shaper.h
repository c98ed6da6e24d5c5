/* relay/shape/shaper.h — what ingest does to a point before Kafka: the rules (rules[],
 * relay/shape/rules.h), then the cardinality guard (relay/shape/cardinality.h).
 *
 * Owns: the ingest rule set, the guard, and the buffer a rewritten line is built in.
 * One per process, on the main loop: the HTTP and Graphite listeners share it, the
 * admin listener shows its state. A shaper with no rules and no guard passes every
 * point untouched for the cost of two NULL checks. */
#ifndef TSR_SHAPE_SHAPER_H
#define TSR_SHAPE_SHAPER_H

#include <stddef.h>
#include <stdint.h>

#include "relay/core/buf.h"

struct tsr_config;
struct tsr_shaper;

/* Returns 0 and *sp, or -1 with err set (a rule that does not compile). */
int tsr_shaper_new(const struct tsr_config *cf, struct tsr_shaper **sp, char *err, size_t errlen);
void tsr_shaper_free(struct tsr_shaper **sp);

/* Takes cf's rules (compiled first: on failure -1 with err set, and nothing changes) and,
 * if cardinality.* changed, a new guard (its counts start again; unchanged, they go on). */
int tsr_shaper_reload(struct tsr_shaper *s, const struct tsr_config *cf, char *err, size_t errlen);

enum tsr_shape_verdict {
    TSR_SHAPE_PASS,   /* *line, *len and *hash are the point to produce (maybe rewritten) */
    TSR_SHAPE_DROP,   /* a rule dropped it: not an error, the client is not told */
    TSR_SHAPE_REFUSE, /* the guard refused it: why holds the reason */
};

/* Shapes the normalised point *line[0..*len) of database db, series hash *hash. A
 * rewritten point lives in the shaper until the next call. */
enum tsr_shape_verdict tsr_shaper_apply(struct tsr_shaper *s, const char *db, const char **line,
                                        size_t *len, uint64_t *hash, int64_t now_ms,
                                        struct tsr_buf *why);

/* Starts loading what the shaper keeps for the series (tsr_rules_prefetch; db_hash is
 * the database's tsr_fnv1a64), for a tsr_shaper_apply of it soon after. Only a hint:
 * costs nothing without rules. */
void tsr_shaper_prefetch(const struct tsr_shaper *s, uint64_t db_hash, uint64_t hash);

/* Points the ingest rules dropped since start. */
uint64_t tsr_shaper_dropped(const struct tsr_shaper *s);

/* /status "shaping": {"rules": N, "points_dropped": N, "cardinality": {...}}. */
void tsr_shaper_json(const struct tsr_shaper *s, int64_t now_ms, struct tsr_buf *out);
/* tsrelay_rules_* and tsrelay_cardinality_* metric families. */
void tsr_shaper_metrics(const struct tsr_shaper *s, struct tsr_buf *out);

#endif

/* relay/shape/rules.h — rules that filter and rewrite points, compiled once.
 *
 * A rule set is a list of rules (config: rules[] at ingest, clusters[].rules[] at
 * delivery, config/CONFIG.md), applied in order to each point: a rule whose match
 * holds acts (drop, rename the measurement, add / rename / drop tags, drop fields);
 * `keep` drops the points that do not match. The first drop ends the point's way. A
 * rewritten point is a normalised line again (tags sorted), with the series hash of
 * the series it became, so its Kafka partition follows the new series.
 *
 * Owns: the compiled patterns (relay/shape/match.h) and the scratch of one user. A
 * rule set is used by one thread: the HTTP ingest loop, the Graphite listener, a
 * forwarder or a replay job each compile their own. */
#ifndef TSR_SHAPE_RULES_H
#define TSR_SHAPE_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "relay/core/buf.h"

struct tsr_rule_conf;
struct tsr_rules;

/* Compiles n rules. `where` names the list in messages ("rules", "clusters[1].rules").
 * Returns 0 and *rp (NULL when n is 0: no rules cost nothing), or -1 with err set,
 * e.g. "rules[2] (drop-ids): match.measurement: invalid regular expression ...". */
int tsr_rules_compile(const struct tsr_rule_conf *rc, size_t n, const char *where,
                      struct tsr_rules **rp, char *err, size_t errlen);
void tsr_rules_free(struct tsr_rules **rp);

enum tsr_rules_verdict {
    TSR_RULES_SAME,      /* unchanged: the line as it was */
    TSR_RULES_REWRITTEN, /* out holds the new line, hash its series hash */
    TSR_RULES_DROPPED,   /* a rule dropped it: reason says which */
};

struct tsr_rules_result {
    enum tsr_rules_verdict verdict;
    uint64_t hash;      /* REWRITTEN: of the new series key */
    const char *reason; /* DROPPED: "dropped by rule 'NAME'" (owned by the rule set) */
};

/* Applies the rules to the normalised line line[0..len) (with or without its '\n') of
 * database db. REWRITTEN appends the new line with '\n' to out. trace, when not NULL,
 * gets one "; "-separated entry per rule that acted (for --test-input). */
void tsr_rules_apply(struct tsr_rules *r, const char *db, const char *line, size_t len,
                     struct tsr_buf *out, struct tsr_rules_result *res, struct tsr_buf *trace);

/* The same for a line whose series hash is known (the parser's, or tsr_lp_series_hash
 * of its series key), with the same results: what the rules make of a series is kept
 * for its next lines (a memo of 32,768 series), and only the rules on fields run
 * again for each line. */
void tsr_rules_apply_series(struct tsr_rules *r, const char *db, const char *line, size_t len,
                            uint64_t series_hash, struct tsr_buf *out, struct tsr_rules_result *res);

/* Starts loading the memo's slots for the series (series_hash, of the database whose
 * tsr_fnv1a64 is db_hash) ahead of a tsr_rules_apply_series of it: a caller that knows
 * its next line's series while still busy with the line before hides the memory's
 * latency behind that work. */
void tsr_rules_prefetch(const struct tsr_rules *r, uint64_t db_hash, uint64_t series_hash);

/* Applies the rules to a record of normalised lines of database db, appending what is
 * left to body (each line ending in '\n'); returns the points appended. For the
 * delivery side: a record's points, as one cluster gets them. */
long tsr_rules_append_record(struct tsr_rules *r, const char *db, const char *rec, size_t len,
                             struct tsr_buf *body);

#endif

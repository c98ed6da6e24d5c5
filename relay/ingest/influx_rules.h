/* relay/ingest/influx_rules.h — what InfluxDB would refuse when it stores a point,
 * refused at ingest with InfluxDB's own words.
 *
 * The line-protocol parser (relay/core/lineproto.h) refuses what InfluxDB's parser
 * refuses. InfluxDB refuses more when it writes a point to a shard, after the client
 * would already have had its 204 from the relay: a field whose type differs from the
 * type the field already has, a tag key `time`, a point whose only fields are `time`.
 * Owns: those checks and their messages, exactly as InfluxDB 1.x words them:
 *   - field type conflict: input field "v" on measurement "m" is type integer,
 *     already exists as type float
 *   - invalid tag key: input tag "time" on measurement "m" is invalid
 *   - invalid field name: input field "time" on measurement "m" is invalid
 * The HTTP listener wraps them as InfluxDB does: `partial write: REASON dropped=N`.
 * The field types seen are kept in a bounded cache (relay/ingest/fieldtypes.h) per
 * relay, in memory only: docs/influxdb-compat.md says what can still fail later.
 *
 * Called by the HTTP ingest loop only (the cache is not shared between threads). */
#ifndef TSR_INFLUX_RULES_H
#define TSR_INFLUX_RULES_H

#include <stddef.h>

#include "relay/core/buf.h"
#include "relay/core/lineproto.h"

struct tsr_config;
struct tsr_influx_rules;

/* Rules for the configuration cf (ingest.field_types_max entries of type cache; 0: no
 * type check). The result is owned by the caller: free with tsr_influx_rules_free. */
struct tsr_influx_rules *tsr_influx_rules_new(const struct tsr_config *cf);
void tsr_influx_rules_free(struct tsr_influx_rules **irp);

/* True when some configured cluster is InfluxDB 1.x (type `influxdb`), which has no
 * unsigned integers: the parser must then refuse `5u` (tsr_lp_opts.reject_unsigned) with
 * InfluxDB 1.x's "invalid number". */
int tsr_influx_rules_no_unsigned(const struct tsr_config *cf);

/* Checks the point `line` (one line tsr_lp_parse_line accepted) written to database db
 * and retention policy rp (NULL or "" for the default one). Returns 0 if InfluxDB would
 * store it, and remembers the types of its fields; returns -1 and appends InfluxDB's
 * reason to why (not NUL-terminated) if a field's type conflicts with the one already
 * remembered, remembering nothing of this point. */
int tsr_influx_rules_check(struct tsr_influx_rules *ir, const char *db, const char *rp,
                           const char *line, size_t len, struct tsr_buf *why);

/* Appends to why InfluxDB's reason for the raw line that tsr_lp_parse_line refused with
 * kind TSR_LP_KIND_TIME_TAG or TSR_LP_KIND_TIME_FIELD (it names the measurement). */
void tsr_influx_rules_reason(enum tsr_lp_kind kind, const char *line, size_t len,
                             struct tsr_buf *why);

/* The number of fields whose types are remembered now. */
size_t tsr_influx_rules_cached(const struct tsr_influx_rules *ir);

#endif

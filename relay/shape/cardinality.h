/* relay/shape/cardinality.h — the cardinality guard: how many series, and measurements,
 * a database may add per window.
 *
 * Per database and measurement, at most cardinality.max_series series are admitted in
 * a window (cardinality.window, 1h by default); per database at most
 * cardinality.max_measurements measurements. A point of a series admitted already in
 * this window always passes; a point of a new one over a cap is refused with the
 * reason. The next window starts from nothing: every series is new again.
 *
 * Memory is bounded whatever the cardinality. Series admitted are remembered in one
 * Bloom filter sized for cardinality.tracked_series (1 % false positives there, 1.2
 * bytes a series): a false positive takes a new series for a known one and lets it
 * past a cap, never the other way round, so the error is a few series too many, never
 * a known series refused. Measurements are counted in a table of at most
 * TSR_CARD_MAX_TRACKED entries a window; once full, points of measurements it does not
 * hold are refused. For the measurements at or above 80 % of their cap the guard
 * estimates, per tag key, how many distinct values came (HyperLogLog, 64 registers:
 * about 13 % error): the tag keys that make the series, shown as the top offenders.
 *
 * Threads: the main loop (HTTP and Graphite ingest, and the admin listener that
 * shows it). Counts are per relay: a fleet of N relays admits up to N times a cap. */
#ifndef TSR_SHAPE_CARDINALITY_H
#define TSR_SHAPE_CARDINALITY_H

#include <stddef.h>
#include <stdint.h>

#include "relay/core/buf.h"

#define TSR_CARD_MAX_TRACKED 65536

struct tsr_config;
struct tsr_cardinality;

/* NULL when the config sets neither cap. */
struct tsr_cardinality *tsr_cardinality_new(const struct tsr_config *cf);
void tsr_cardinality_free(struct tsr_cardinality **gp);

/* Whether the point line[0..len) (normalised) of database db, whose series hash is
 * series_hash, may pass. Returns 0, or -1 with the reason appended to why. */
int tsr_cardinality_admit(struct tsr_cardinality *g, const char *db, const char *line,
                          size_t len, uint64_t series_hash, int64_t now_ms, struct tsr_buf *why);

/* Appends the guard's state as a JSON object (for /status "cardinality"): limits, window,
 * series and measurements this window, points refused, memory, and the measurements at
 * or above 80 % of a cap with their top tag keys. g NULL: {"enabled":false}. */
void tsr_cardinality_json(const struct tsr_cardinality *g, int64_t now_ms, struct tsr_buf *out);

/* Appends the tsrelay_cardinality_* metric families. */
void tsr_cardinality_metrics(const struct tsr_cardinality *g, struct tsr_buf *out);

#endif

/* relay/core/remote_write.h — Prometheus remote write (a snappy-compressed protobuf
 * WriteRequest, relay/core/prompb.proto) to and from line protocol: the prometheus sink
 * encodes, the ingest's POST /api/v1/write decodes.
 *
 * Encoding:
 * A point's numeric and boolean fields each become a sample of the series named, as
 * VictoriaMetrics names what it takes in over InfluxDB's protocol, MEASUREMENT_FIELD
 * (MEASUREMENT for a point whose only field is `value`, as its -influxSkipSingleField
 * does: what remote write brought in goes out with its own name), labelled with its
 * tags and `db` (the database it was written to); booleans are 1 and 0, string fields are left out;
 * timestamps in milliseconds. Characters a Prometheus name may not hold become '_'.
 * Pure, any thread. */
#ifndef TSR_REMOTE_WRITE_H
#define TSR_REMOTE_WRITE_H

#include <stddef.h>

#include "relay/core/buf.h"

/* Encodes body[0..len) (whole '\n'-terminated normalised lines of database db) into out
 * (replaced). Returns the number of samples. */
long tsr_remote_write_encode(const char *db, const char *body, size_t len, struct tsr_buf *out);

/* Decoding: each sample becomes the line NAME,LABELS value=V T (the metric name as
 * measurement, the other labels as tags, the time in ns), which the encoder turns back
 * into NAME. Samples that are not numbers (NaN, as Prometheus marks a series stale;
 * infinities) and labels with empty values are left out, as line protocol has no word
 * for them. Decodes the snappy body raw[0..len) (at most max_bytes once decompressed)
 * into out (replaced). Returns the number of lines, or -1 with *why set (static text). */
long tsr_remote_write_decode(const char *raw, size_t len, size_t max_bytes, struct tsr_buf *out,
                             long *skipped, const char **why);

#endif

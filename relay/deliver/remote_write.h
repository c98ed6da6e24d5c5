/* relay/deliver/remote_write.h — a write body for the prometheus sink: normalised lines
 * turned into Prometheus remote write (a snappy-compressed protobuf WriteRequest,
 * relay/deliver/prompb.proto).
 *
 * A point's numeric and boolean fields each become a sample of the series named, as
 * VictoriaMetrics names what it takes in over InfluxDB's protocol, MEASUREMENT_FIELD,
 * labelled with its tags and `db` (the database it was written to), so a point has the
 * same name in a VictoriaMetrics written to over /write and over remote write; booleans are 1 and 0, string fields are left out;
 * timestamps in milliseconds. Characters a Prometheus name may not hold become '_'.
 * Pure, any thread. */
#ifndef TSR_REMOTE_WRITE_H
#define TSR_REMOTE_WRITE_H

#include <stddef.h>

#include "relay/core/buf.h"

/* Encodes body[0..len) (whole '\n'-terminated normalised lines of database db) into out
 * (replaced). Returns the number of samples. */
long tsr_remote_write_encode(const char *db, const char *body, size_t len, struct tsr_buf *out);

#endif

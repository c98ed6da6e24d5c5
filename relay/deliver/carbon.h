/* relay/deliver/carbon.h — points in Graphite's plaintext protocol, for the graphite sink.
 *
 * Each numeric or boolean field of a point becomes one line "PATH VALUE SECONDS": the
 * path is the cluster's template (clusters[].template), words separated by '.', each
 *   measurement  the point's measurement
 *   field        the field key, left out for a field named "value"
 *   tags         the values of the tags the template does not name, in key order
 *   db           the database the point was written to
 *   any other    the value of the tag of that name, left out when the point has none
 * as Telegraf's graphite serializer builds them (its default is this one's,
 * "host.tags.measurement.field"). In each part the bytes a Graphite path cannot hold
 * ('.', spaces, anything but letters, digits, '-', '_' and ':') become '_'. Integers lose
 * their i or u, booleans are 1 and 0, timestamps are whole seconds (carbon's precision:
 * two points of one path within a second are one value in whisper, the later one).
 * Strings have no Graphite form: they are left out, and counted.
 *
 * Pure; any thread. */
#ifndef TSR_CARBON_H
#define TSR_CARBON_H

#include <stddef.h>

#include "relay/core/buf.h"

#define TSR_CARBON_TEMPLATE "host.tags.measurement.field"

/* Appends to out the carbon lines of the normalised lines body[0..len) of database db.
 * Returns the lines appended; *skipped gets the string fields left out. */
long tsr_carbon_encode(const char *tmpl, const char *db, const char *body, size_t len,
                       struct tsr_buf *out, long *skipped);

#endif

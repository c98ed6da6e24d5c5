/* relay/ingest/json_time.h — a time value of a JSON record, as Telegraf's
 * json_time_format reads it (inputs.kafka[].json.time_format).
 *
 * Formats: unix, unix_ms, unix_us, unix_ns (digits and an optional '.' or ',' fraction
 * of the unit, read from the text so that no float rounds it, kept down to the
 * nanosecond); Telegraf's names for Go's layouts (rfc3339, rfc3339nano, rfc1123, ansic,
 * stamp, ...); or a Go reference layout such as "2006-01-02 15:04:05", read with Go's
 * time.Parse rules (a fraction after the seconds is read even when the layout has none;
 * the day of the year, 002, is not supported). UTC unless the layout has a zone; a zone
 * name (MST) must be UTC, GMT or Z, since no other name has a certain offset.
 *
 * Ownership: a compiled format is the caller's (tsr_json_time_free), keeps its own copy
 * of the format, and is read-only once made: any thread may parse with it. */
#ifndef TSR_JSON_TIME_H
#define TSR_JSON_TIME_H

#include <stddef.h>
#include <stdint.h>

struct tsr_json_time;

/* Compiles format. Returns 0, or -1 with err naming what is wrong (neither a unit nor a
 * layout with a date or an hour; a day of the year). */
int tsr_json_time_new(const char *format, struct tsr_json_time **tp, char *err, size_t errlen);
void tsr_json_time_free(struct tsr_json_time **tp);

/* 1 for the unix formats, whose times may also be JSON numbers (written as text for
 * tsr_json_time_parse); 0 for layouts, which read strings only. */
int tsr_json_time_is_unix(const struct tsr_json_time *t);

/* Reads s[0..n) into *ns (nanoseconds since the epoch). A layout without a year takes
 * default_ns's (Telegraf takes the current year). Returns 0; -1 when s does not match
 * the format; -2 when its date or time is out of range; -3 when it fails at a zone name
 * other than UTC, GMT or Z. */
int tsr_json_time_parse(const struct tsr_json_time *t, const char *s, size_t n, int64_t default_ns,
                        int64_t *ns);

#endif

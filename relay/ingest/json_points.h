/* relay/ingest/json_points.h — JSON messages to line protocol, the way Telegraf's json
 * parser reads them (inputs.kafka[].format: json; Telegraf's data_format = "json").
 *
 * A message is one JSON object (one point) or an array of objects (one point each).
 * Nested objects are flattened with '_' ({"a":{"b":1}} is field a_b) and arrays inside
 * an object by index (a_0, a_1, a_1_x for an object in an array); a flattened key is at
 * most 256 bytes. What each flattened key's value becomes, in Telegraf's order:
 *   - the time key's value is the time, never a field or a tag;
 *   - a string under the name key is the measurement (another type is read as below);
 *   - a string, number or boolean under a tag key is a tag (a number written as Go's
 *     FormatFloat(v, 'f', -1) does, a boolean as true/false);
 *   - a number is a float field, in the shortest form that reads back the same and
 *     never with an exponent (an integer past 2^53 is a float64, as Go reads it);
 *   - a string or a boolean is a field only when its key is a string field: Telegraf
 *     leaves out both otherwise, booleans included; null is left out.
 * tag_keys and string_fields match keys exactly, or as globs (fnmatch: * ? [..]) when
 * they hold one of * ? [ \. The measurement is the string under name_key when the object
 * has a non-empty one, else the fixed measurement.
 *
 * The time comes from time_key, read as time_format says (relay/ingest/json_time.h:
 * unix units, or Go layouts): a string, or for the unix formats also a number (an
 * integer read exactly, a real from its shortest decimal form; Telegraf uses its exact
 * binary value, which can differ below a microsecond).
 * Without a time key the point takes the caller's default time.
 *
 * Line protocol: the measurement escapes ',' and ' '; tag keys, tag values and field
 * keys escape ',', '=' and ' '; string fields escape '"' and '\' and may hold a
 * newline. As Telegraf's serializer does, trailing backslashes are dropped from names,
 * keys and tag values, and an empty tag or field key leaves its tag or field out. Tags
 * and fields come in the message's order, not sorted.
 *
 * Parsing is jansson's (strict RFC 8259, and its errors name line and column); a byte
 * order mark is skipped, duplicate keys keep the last value, as Go does.
 *
 * Ownership: a compiled conf is the caller's (tsr_json_points_free) and read-only once
 * made, so any thread may convert with it; strings of the conf given to
 * tsr_json_points_new are copied. */
#ifndef TSR_JSON_POINTS_H
#define TSR_JSON_POINTS_H

#include <stddef.h>
#include <stdint.h>

#include "relay/core/buf.h"

struct tsr_json_conf {
    const char *measurement; /* used when name_key is "" or the object lacks it */
    const char *name_key;    /* "": none */
    const char *const *tag_keys;
    size_t ntag_keys;
    const char *const *string_fields; /* keys whose strings and booleans are fields */
    size_t nstring_fields;
    const char *time_key; /* "": none, every point takes default_ns */
    /* unix, unix_ms, unix_us, unix_ns (a number, or a string holding one; a fraction
     * allowed), rfc3339 (fractional seconds allowed), or a Go reference layout such as
     * "2006-01-02 15:04:05" (UTC unless the layout has a zone). See above. */
    const char *time_format;
};

struct tsr_json_points;

/* Compiles c. A NULL string is "", a list may be NULL when its count is 0. Returns 0 and *jp, or -1
 * with *jp NULL and err naming what is wrong: an empty measurement without name_key, a
 * newline in it, an empty tag key or string field, a time key without a time format,
 * a time format that is neither a unit nor a layout with a date or an hour. A time
 * format is checked even without a time key. */
int tsr_json_points_new(const struct tsr_json_conf *c, struct tsr_json_points **jp, char *err,
                        size_t errlen);
void tsr_json_points_free(struct tsr_json_points **jp);

/* Converts one message msg[0..len): appends one line of line protocol per point, each
 * ending in '\n', with its timestamp in nanoseconds, to out, and returns the number of
 * points (at least 1). On failure returns -1, leaves out as it was (earlier objects'
 * lines included), and appends to why the reason, naming where (objects count from 1;
 * a top-level object is object 1): "invalid JSON at line 1, column 12: ...", "top level
 * must be an object or an array of objects", "empty array: no objects", "object 2:
 * array element is a number, not an object", "object 3: time key 'ts' missing",
 * "object 1: no fields", "object 2: time '...' does not match layout '...'", "object 1:
 * time 'x' is not a unix_ms time", "object 1: tag 'host' has a value holding a newline"
 * (also a tag key, field key or measurement holding one), "object 1: key '...' is too
 * long (over 256 bytes)". Quoted values are cut at 64 bytes, newlines shown as \n. One
 * bad object fails the whole message, so a message is taken or dead-lettered whole.
 * Allocates only the jansson tree and two scratch buffers per message. */
long tsr_json_points_convert(const struct tsr_json_points *jp, const char *msg, size_t len,
                             int64_t default_ns, struct tsr_buf *out, struct tsr_buf *why);

#endif

/* relay/shape/point.h — a normalised line taken apart for the rules, and put back.
 *
 * Owns: the spans of one point (measurement, tags, fields, timestamp) in arrays that
 * grow and are reused from line to line. A span points into the line, or into text
 * the caller keeps alive until tsr_point_write (a rule's new names, escaped already).
 * Writing sorts the tags by key again, as the parser does, so the result is a
 * normalised line whose series key (and hash, hence Kafka partition) is the rewritten
 * series'. Single-threaded: one per user. */
#ifndef TSR_SHAPE_POINT_H
#define TSR_SHAPE_POINT_H

#include <stddef.h>
#include <stdint.h>

#include "relay/core/buf.h"

struct tsr_span {
    const char *p;
    size_t n;
};

struct tsr_point_tag {
    struct tsr_span key, value; /* escaped, as in the line */
};

struct tsr_point_field {
    struct tsr_span key; /* escaped */
    struct tsr_span kv;  /* "key=value", as in the line */
};

struct tsr_point {
    struct tsr_span meas; /* escaped */
    struct tsr_point_tag *tags;
    size_t ntags, tags_cap;
    struct tsr_point_field *fields; /* read by tsr_point_fields, when a rule needs them */
    size_t nfields, fields_cap;
    int fields_read;
    struct tsr_span rest; /* the field set, its space and the timestamp, as in the line */
    struct tsr_span ts;
    int escaped;          /* the line holds a backslash: names may need unescaping */
    struct tsr_buf names; /* unescaped names handed out by tsr_point_plain */
};

/* Splits line[0..len) (normalised, without its '\n'): measurement and tags; the fields
 * only when asked for (tsr_point_fields), as most rules never look at them. */
void tsr_point_parse(struct tsr_point *pt, const char *line, size_t len);

/* Reads the fields (and the timestamp) into pt->fields, pt->nfields and pt->ts, once. */
void tsr_point_fields(struct tsr_point *pt);

/* The span as InfluxDB names it: s itself when it holds no backslash, else its
 * unescaped text in pt->names (valid until the next call). */
struct tsr_span tsr_point_unescape(struct tsr_point *pt, struct tsr_span s, const char *specials);
static inline struct tsr_span tsr_point_plain(struct tsr_point *pt, struct tsr_span s,
                                              const char *specials)
{
    return pt->escaped ? tsr_point_unescape(pt, s, specials) : s;
}

/* Appends the point as a normalised line with '\n' to out; returns the hash of its
 * series key (tsr_fnv1a64 over measurement and sorted tags, as the parser hashes). */
uint64_t tsr_point_write(struct tsr_point *pt, struct tsr_buf *out);

/* Appends only the series key (measurement and sorted tags, no '\n'); returns its hash. */
uint64_t tsr_point_write_key(struct tsr_point *pt, struct tsr_buf *out);
/* Appends " FIELDS TIMESTAMP" from what tsr_point_fields read (no '\n'). */
void tsr_point_write_fields(const struct tsr_point *pt, struct tsr_buf *out);
/* Points pt's fields at rest[0..n) (" "-less: the field set, a space, the timestamp),
 * unread, for a line whose series is known already. */
void tsr_point_set_rest(struct tsr_point *pt, const char *rest, size_t n);

/* Appends s escaped for a measurement (specials ", ") or a tag key, tag value or field
 * key (", ="), as line protocol writes them. */
void tsr_point_escape(struct tsr_buf *out, const char *s, const char *specials);

void tsr_point_free(struct tsr_point *pt);

#define TSR_MEAS_SPECIALS ", "
#define TSR_KEY_SPECIALS ",= "

#endif

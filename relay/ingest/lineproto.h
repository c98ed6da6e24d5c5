/* relay/ingest/lineproto.h — InfluxDB 1.x line protocol: validation and normalisation.
 *
 * Owns: the grammar. One call parses one line of a request body and, if the line is
 * valid, appends its normalised form to the caller's buffer:
 *   - measurement, tag and field text kept byte-for-byte as the client escaped it;
 *   - tags sorted by key (InfluxDB sorts them too; sorted tags make one series key
 *     per series, which picks the Kafka partition);
 *   - single spaces between sections;
 *   - an explicit timestamp in nanoseconds: the client's, scaled from its precision,
 *     or `now_ns` when the line had none, so that replays are idempotent;
 *   - a trailing '\n'.
 * Rejects what InfluxDB 1.x rejects, with a short static reason string.
 * Pure functions, no allocation except growing `out`; safe from any thread. */
#ifndef TSR_LINEPROTO_H
#define TSR_LINEPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "relay/core/buf.h"

enum tsr_precision {
    TSR_PREC_NS,
    TSR_PREC_US,
    TSR_PREC_MS,
    TSR_PREC_S,
    TSR_PREC_M,
    TSR_PREC_H,
};

/* Parses a precision as InfluxDB's APIs accept it: "n"/"ns", "u"/"us"/"µ", "ms", "s",
 * "m", "h"; NULL or "" means nanoseconds. Returns 0, or -1 for anything else. */
int tsr_precision_parse(const char *s, enum tsr_precision *prec);

struct tsr_lp_opts {
    enum tsr_precision precision;
    int64_t now_ns;        /* stamped on lines without a timestamp */
    size_t max_line_bytes; /* 0 = unlimited */
    unsigned max_tags;     /* 0 = unlimited */
};

enum tsr_lp_status {
    TSR_LP_OK,   /* a point was appended to out */
    TSR_LP_SKIP, /* blank line or comment: nothing appended, not an error */
    TSR_LP_ERR,  /* invalid line: nothing appended, reason set */
};

struct tsr_lp_result {
    enum tsr_lp_status status;
    size_t consumed;     /* bytes of input used, including the line's '\n' if any */
    size_t line_len;     /* length of the raw line, without '\n' (and without a '\r'
                            before it), for error messages and the dead-letter topic */
    uint64_t series_hash; /* TSR_LP_OK: FNV-1a 64 of the normalised series key
                             (measurement and sorted tags) */
    const char *reason;  /* TSR_LP_ERR: static text, e.g. "invalid field format" */
};

/* Parses the line that starts at p (p < end). A '\n' inside a quoted string field value
 * belongs to the line, as in InfluxDB. On TSR_LP_OK appends the normalised line to out;
 * otherwise out is left exactly as it was. */
void tsr_lp_parse_line(const char *p, const char *end, const struct tsr_lp_opts *opts,
                       struct tsr_buf *out, struct tsr_lp_result *res);

/* FNV-1a 64, the hash used for series keys (exposed so other modules hash alike). */
static inline uint64_t tsr_fnv1a64(uint64_t h, const void *data, size_t len)
{
    const unsigned char *s = data;
    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
#define TSR_FNV1A64_INIT 0xcbf29ce484222325ULL

#endif

/* relay/core/lineproto.h — InfluxDB 1.x line protocol: validation and normalisation.
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
    int reject_unsigned;   /* refuse `5u` with "invalid number", as InfluxDB 1.x does */
};

enum tsr_lp_status {
    TSR_LP_OK,   /* a point was appended to out */
    TSR_LP_SKIP, /* blank line or comment: nothing appended, not an error */
    TSR_LP_ERR,  /* invalid line: nothing appended, reason set */
};

/* Which rule refused a TSR_LP_ERR line. InfluxDB 1.x parses a line with a tag key `time`,
 * or with no field but `time`, and refuses it only when it stores the point, with a
 * message that names the measurement (see relay/ingest/influx_rules.h); every other
 * reason is a parse error. */
enum tsr_lp_kind {
    TSR_LP_KIND_PARSE,
    TSR_LP_KIND_TIME_TAG,   /* a tag key "time" */
    TSR_LP_KIND_TIME_FIELD, /* no field left once the fields named "time" are dropped */
};

struct tsr_lp_result {
    enum tsr_lp_status status;
    size_t consumed;     /* bytes of input used, including the line's '\n' if any */
    size_t line_len;     /* length of the raw line, without '\n' (and without a '\r'
                            before it), for error messages and the dead-letter topic */
    uint64_t series_hash; /* TSR_LP_OK: FNV-1a 64 of the normalised series key
                             (measurement and sorted tags) */
    const char *reason;  /* TSR_LP_ERR: static text, e.g. "invalid field format" */
    enum tsr_lp_kind kind; /* TSR_LP_ERR: which rule; TSR_LP_KIND_PARSE otherwise */
};

/* Parses the line that starts at p (p < end). A '\n' inside a quoted string field value
 * belongs to the line, as in InfluxDB. On TSR_LP_OK appends the normalised line to out;
 * otherwise out is left exactly as it was. Fields named `time` are dropped from the
 * output, as InfluxDB 1.x drops them; a line left without a field is refused. */
void tsr_lp_parse_line(const char *p, const char *end, const struct tsr_lp_opts *opts,
                       struct tsr_buf *out, struct tsr_lp_result *res);

/* ---- reading a normalised line back (what tsr_lp_parse_line appended) ------------ */

enum tsr_lp_ftype {
    TSR_LP_FLOAT = 1, /* never 0, so that 0 can mean "none" */
    TSR_LP_INTEGER,
    TSR_LP_UNSIGNED,
    TSR_LP_STRING,
    TSR_LP_BOOLEAN,
};

/* InfluxDB's name for a field type: "float", "integer", "unsigned", "string", "boolean". */
const char *tsr_lp_ftype_name(enum tsr_lp_ftype t);

/* The measurement and the field set of a valid line (a normalised one, or any line
 * tsr_lp_parse_line accepted), as spans into it, still escaped. */
struct tsr_lp_sections {
    const char *meas;
    size_t mlen;
    const char *fields;
    size_t flen;
};
void tsr_lp_sections(const char *line, size_t len, struct tsr_lp_sections *sec);

/* The '\n' that ends the normalised line at p, or NULL when it runs to end: a quoted
 * string field may hold newlines of its own, so a line with a quote is read section by
 * section. */
const char *tsr_lp_line_end(const char *p, const char *end);

/* The next non-empty normalised line in [*p, end): returns its start, with its length
 * (without the '\n') in *n, and moves *p past it; NULL when none is left. */
const char *tsr_lp_next_line(const char **p, const char *end, size_t *n);

/* One field of a field set: its key (escaped), its type, and where it ends. */
struct tsr_lp_field {
    const char *key;
    size_t klen;
    enum tsr_lp_ftype type;
    const char *end; /* just past the value */
};

/* Reads the field that starts at *p in the valid field set ending at end, and moves *p
 * to the next one. Returns 0, or -1 when *p is at the end. */
int tsr_lp_next_field(const char **p, const char *end, struct tsr_lp_field *f);

/* Appends s[0..n) to out without the backslashes that escape one of `specials`, which is
 * how InfluxDB 1.x names a measurement (specials ", ") or a field key (", =\""). */
void tsr_lp_unescape(struct tsr_buf *out, const char *s, size_t n, const char *specials);

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

/* The series hash of a series key (measurement and sorted tags, as in a normalised
 * line): tsr_fnv1a64 from TSR_FNV1A64_INIT, as the parser computes it. */
uint64_t tsr_lp_series_hash(const char *key, size_t n);

#endif

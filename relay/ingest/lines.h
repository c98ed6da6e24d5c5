/* relay/ingest/lines.h — the lines of a payload whose sender gets no answer (a UDP
 * datagram, a Kafka input's record): each parsed and normalised as a write's lines are,
 * shaped by the ingest rules and the cardinality guard, then handed to the owner to
 * produce, or refused with the reason (InfluxDB's message for its own rules).
 *
 * Owns nothing but its two scratch buffers (tsr_lines_free). Borrows opts and shaper.
 * The caller's thread: the shaper's (the event loop). */
#ifndef TSR_INGEST_LINES_H
#define TSR_INGEST_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "relay/core/buf.h"
#include "relay/core/lineproto.h"

struct tsr_shaper;

struct tsr_lines {
    const struct tsr_lp_opts *opts; /* opts->now_ns: the time of lines without one */
    struct tsr_shaper *shaper;
    const char *db;
    /* A point to produce: the normalised line (with its '\n') and its series hash. */
    void (*take)(void *arg, const char *line, size_t len, uint64_t series);
    /* A line refused: the raw line, its number in the payload, why. */
    void (*refuse)(void *arg, const char *raw, size_t len, long line_no, const char *reason);
    void *arg;
    struct tsr_buf line; /* the normalised point being shaped */
    struct tsr_buf why;
};

/* Every line of p[0..n); line numbers count the newlines inside quoted strings too. */
void tsr_lines_take(struct tsr_lines *l, const char *p, size_t n);

/* The normalised point in l->line (of series, from raw[0..raw_len), line line_no), made
 * by a parser of another format: shaped, then taken or refused. */
void tsr_lines_shape(struct tsr_lines *l, const char *raw, size_t raw_len, long line_no,
                     uint64_t series);

void tsr_lines_free(struct tsr_lines *l);

#endif

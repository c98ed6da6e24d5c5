/* relay/ingest/graphite.h — Graphite plaintext lines to normalised line protocol.
 *
 * Owns: template matching. A template set is compiled once from the config (the
 * InfluxDB graphite syntax: "[filter] template [tag1=v1,tag2=v2]", e.g.
 * "servers.*.cpu.* .host.measurement.field") and is then read-only, so any thread may
 * use it. A line "name value [timestamp]" becomes one line-protocol point: the
 * template splits the dotted name into measurement, tags and field; with no matching
 * template the whole name is the measurement and the field is "value". A Graphite 1.1
 * tagged name "name;tag=value;..." has its tags split off first: the name alone goes
 * through the templates, and the tags join the point (over template tags of the same
 * name).
 * Output is normalised exactly as relay/core/lineproto.h does (sorted tags, ns timestamp). */
#ifndef TSR_GRAPHITE_H
#define TSR_GRAPHITE_H

#include <stddef.h>
#include <stdint.h>

#include "relay/core/buf.h"

struct tsr_graphite_tmpl;

/* Compiles `n` template specs; `separator` joins multiple measurement/field parts
 * (NULL means "."). On error returns -1 and writes a message naming the bad template
 * into err. On success *tp is owned by the caller: free with tsr_graphite_tmpl_free. */
int tsr_graphite_tmpl_compile(const char *const *specs, size_t n, const char *separator,
                              struct tsr_graphite_tmpl **tp, char *err, size_t errlen);
void tsr_graphite_tmpl_free(struct tsr_graphite_tmpl **tp);

/* If a component of the line's path looks like an ID or a timestamp (9 or more digits,
 * 16 or more hex digits with a digit among them, a UUID), returns 1 with *comp and
 * *clen set to it and *what to "a timestamp or a number" or "an ID"; else 0. */
int tsr_graphite_id_component(const char *line, size_t len, const char **comp, size_t *clen,
                              const char **what);

/* Converts one line (no '\n'; a trailing '\r' is ignored). The timestamp is Unix seconds
 * (fractions allowed); missing or -1 means now_ns. Returns 0 and appends one normalised
 * point and '\n' to out, setting *series_hash; returns -1 with *reason set (static text)
 * and out unchanged. Blank lines return 1 (skip). */
int tsr_graphite_line(const struct tsr_graphite_tmpl *t, const char *line, size_t len,
                      int64_t now_ns, struct tsr_buf *out, uint64_t *series_hash,
                      const char **reason);

#endif

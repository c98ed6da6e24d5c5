/* relay/core/gzip.h — bounded gzip decoding of request bodies, and gzip encoding of the
 * batches sent to clusters across a WAN.
 * zlib is the one extra dependency here: gzip bodies are part of InfluxDB's write API
 * (Telegraf sends them by default), and zlib is already pulled in by libcurl and
 * librdkafka. Pure function; any thread. */
#ifndef TSR_GZIP_H
#define TSR_GZIP_H

#include <stddef.h>

#include "relay/core/buf.h"

/* Appends the decoded form of in[0..len) (one or more gzip members) to out, never
 * letting out grow past max bytes. Returns 0, -1 if the data is not valid gzip, or -2
 * if the decoded body would exceed max (a gzip bomb is stopped at max). */
int tsr_gunzip(const void *in, size_t len, struct tsr_buf *out, size_t max);

/* Appends in[0..len) gzip-compressed at `level` (1 = fastest) to out. Returns 0, or -1
 * if zlib fails (out unchanged). */
int tsr_gzip(const void *in, size_t len, int level, struct tsr_buf *out);

#endif

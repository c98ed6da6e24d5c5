/* relay/core/gzip.h — bounded gzip decoding of request bodies, and gzip encoding of the
 * batches sent to clusters across a WAN.
 *
 * libdeflate does the work: it makes the same gzip format as zlib at level 1 several
 * times faster (whole-buffer, which is what a batch is), and decodes faster too. zlib
 * stays for the one case libdeflate cannot do without knowing the decoded size up
 * front: a body of several gzip members (`cat a.gz b.gz`), or one whose trailer lies
 * about its size; those are decoded as a stream, still bounded by max.
 * Each thread keeps its own compressor and decompressor (allocated on first use, freed
 * at thread exit), so any thread may call these. */
#ifndef TSR_GZIP_H
#define TSR_GZIP_H

#include <stddef.h>

#include "relay/core/buf.h"

/* Appends the decoded form of in[0..len) (one or more gzip members) to out, never
 * letting out grow past max bytes. Returns 0, -1 if the data is not valid gzip, or -2
 * if the decoded body would exceed max (a gzip bomb is stopped at max). */
int tsr_gunzip(const void *in, size_t len, struct tsr_buf *out, size_t max);

/* The same through zlib's stream decoder alone: what tsr_gunzip falls back to, and the
 * reference the fuzz target holds the fast path to. */
int tsr_gunzip_stream(const void *in, size_t len, struct tsr_buf *out, size_t max);

/* Appends in[0..len) gzip-compressed at `level` (1 = fastest, up to 12) to out.
 * Returns 0, or -1 if it cannot (out unchanged). */
int tsr_gzip(const void *in, size_t len, int level, struct tsr_buf *out);

#endif

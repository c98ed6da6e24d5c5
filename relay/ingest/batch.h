/* relay/ingest/batch.h — normalised lines grouped by Kafka partition, one record per group.
 *
 * The partition of a point is its series hash mixed with its database, modulo the
 * partition count, so one series' points always travel through one partition, in
 * order. Owns the per-partition buffers; the caller takes a full buffer's data with
 * tsr_buf_detach and produces it. Single-threaded. */
#ifndef TSR_BATCH_H
#define TSR_BATCH_H

#include <stdint.h>
#include <stdlib.h>

#include "relay/core/buf.h"
#include "relay/core/lineproto.h"

struct tsr_batch {
    struct tsr_buf *parts;
    int nparts;
};

/* Grows to nparts partitions (a topic's count only grows); buffers keep their data. */
static inline void tsr_batch_resize(struct tsr_batch *b, int nparts)
{
    if (nparts <= b->nparts) return;
    b->parts = realloc(b->parts, sizeof(*b->parts) * (size_t)nparts);
    if (!b->parts) abort();
    for (int i = b->nparts; i < nparts; i++) b->parts[i] = (struct tsr_buf){0};
    b->nparts = nparts;
}

static inline int tsr_batch_partition(const struct tsr_batch *b, uint64_t series_hash,
                                      uint64_t db_hash)
{
    uint64_t h = series_hash ^ (db_hash * 0x9E3779B97F4A7C15ULL);
    return (int)(h % (uint64_t)b->nparts);
}

static inline void tsr_batch_free(struct tsr_batch *b)
{
    for (int i = 0; i < b->nparts; i++) tsr_buf_free(&b->parts[i]);
    free(b->parts);
    b->parts = NULL;
    b->nparts = 0;
}

#endif

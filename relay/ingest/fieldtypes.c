/* relay/ingest/fieldtypes.c — bounded cache of accepted field types (see fieldtypes.h).
 *
 * An entry is (hash & ~7) | type, so 0 is an empty slot. A bucket is kept in recency
 * order, most recent first: a hit moves its entry to the front, a new entry goes to the
 * front and pushes the last one out. With eight slots that is at most one short memmove
 * inside one cache line, and the common case (a hit on a hot field) is a compare. */
#include "relay/ingest/fieldtypes.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "relay/core/lineproto.h"

#define WAYS      8
#define TYPE_MASK 7ULL

struct bucket {
    uint64_t e[WAYS];
};

struct tsr_fieldtypes {
    struct bucket *b;
    size_t nbuckets;
    size_t count;
    uint64_t evicted;
};

struct tsr_fieldtypes *tsr_fieldtypes_new(size_t max_entries)
{
    struct tsr_fieldtypes *ft = calloc(1, sizeof(*ft));
    if (!ft) abort();
    ft->nbuckets = (max_entries + WAYS - 1) / WAYS;
    if (ft->nbuckets == 0) ft->nbuckets = 1;
    /* One bucket per cache line. */
    ft->b = aligned_alloc(64, ft->nbuckets * sizeof(struct bucket));
    if (!ft->b) abort();
    memset(ft->b, 0, ft->nbuckets * sizeof(struct bucket));
    return ft;
}

void tsr_fieldtypes_free(struct tsr_fieldtypes **ftp)
{
    struct tsr_fieldtypes *ft = *ftp;
    if (!ft) return;
    free(ft->b);
    free(ft);
    *ftp = NULL;
}

uint64_t tsr_fieldtypes_key(const char *db, const char *rp, const char *meas, size_t mlen,
                            const char *field, size_t flen)
{
    /* NUL separates the names: line protocol cannot carry one in a measurement or key. */
    static const char nul = 0;
    uint64_t h = TSR_FNV1A64_INIT;
    h = tsr_fnv1a64(h, db, strlen(db));
    h = tsr_fnv1a64(h, &nul, 1);
    h = tsr_fnv1a64(h, rp, strlen(rp));
    h = tsr_fnv1a64(h, &nul, 1);
    h = tsr_fnv1a64(h, meas, mlen);
    h = tsr_fnv1a64(h, &nul, 1);
    h = tsr_fnv1a64(h, field, flen);
    /* FNV's low bits are its weakest; fold the high half in before they pick a bucket. */
    return h ^ (h >> 29);
}

/* The bucket is picked by the high 32 bits, the slot tag is the rest of the hash. */
static struct bucket *bucket_of(const struct tsr_fieldtypes *ft, uint64_t key)
{
    return &ft->b[((key >> 32) * (uint64_t)ft->nbuckets) >> 32];
}

int tsr_fieldtypes_get(struct tsr_fieldtypes *ft, uint64_t key)
{
    struct bucket *b = bucket_of(ft, key);
    uint64_t tag = key & ~TYPE_MASK;
    for (int i = 0; i < WAYS && b->e[i]; i++) {
        if ((b->e[i] & ~TYPE_MASK) != tag) continue;
        uint64_t e = b->e[i];
        if (i) {
            memmove(&b->e[1], &b->e[0], (size_t)i * sizeof(b->e[0]));
            b->e[0] = e;
        }
        return (int)(e & TYPE_MASK);
    }
    return 0;
}

void tsr_fieldtypes_put(struct tsr_fieldtypes *ft, uint64_t key, int type)
{
    assert(type > 0 && (uint64_t)type <= TYPE_MASK);
    struct bucket *b = bucket_of(ft, key);
    uint64_t tag = key & ~TYPE_MASK;
    int i;
    /* The slot to vacate: this key's own, the first empty one, or the last (oldest). */
    for (i = 0; i < WAYS - 1 && b->e[i]; i++)
        if ((b->e[i] & ~TYPE_MASK) == tag) break;
    if (!b->e[i]) {
        ft->count++;
    } else if ((b->e[i] & ~TYPE_MASK) != tag) {
        ft->evicted++;
    }
    memmove(&b->e[1], &b->e[0], (size_t)i * sizeof(b->e[0]));
    b->e[0] = tag | (uint64_t)type;
}

size_t tsr_fieldtypes_count(const struct tsr_fieldtypes *ft)
{
    return ft->count;
}

uint64_t tsr_fieldtypes_evicted(const struct tsr_fieldtypes *ft)
{
    return ft->evicted;
}

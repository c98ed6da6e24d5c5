/* relay/deliver/park.h — points a cluster cannot take yet, set aside so that nothing
 * else waits for them.
 *
 * A cluster that answers "database not found", "retention policy not found" or "not
 * authorized" for one database refuses every point of that database (and retention
 * policy), and only those: its key is parked. The parked points stay where they are,
 * in the relay's Kafka topic: the partition lanes skip them and go on, and a drain
 * (relay/deliver/forward.c) reads them again from the key's cursor, in topic order,
 * once the cluster may take them. Nothing is copied, so their order is the topic's and
 * they live as long as any backlog does (Kafka retention).
 *
 * Owns: the table of parked keys of one cluster on this relay, each with its cursor per
 * partition (every point of the key before it is delivered), its reason and its retry
 * schedule; and their encoding in the committed offsets' metadata, which carries them
 * to the next owner of a partition. Pure data: the forwarding thread only. */
#ifndef TSR_PARK_H
#define TSR_PARK_H

#include <stddef.h>
#include <stdint.h>

#include "relay/deliver/ckpt.h"

/* Past this many parked keys a cluster's lanes wait again, like a database down: the
 * commit metadata that carries the keys is bounded (Kafka: offset.metadata.max.bytes). */
#define TSR_PARK_MAX 16
/* Metadata a partition's parked keys may take in a commit. */
#define TSR_PARK_META_MAX 2048

struct tsr_park_key {
    int used;
    char db[256];
    char rp[256];
    char reason[200];
    int64_t since_ms;     /* parked since (carried to the next owner) */
    int64_t next_try_ms;  /* the drain tries again then */
    int attempts;         /* failed drains since the last success */
    uint64_t points;      /* skipped by the lanes since this relay parked it */
    /* Per partition: every point of the key before this offset is delivered; -1: not
     * parked on that partition (not delivered by this relay). */
    int64_t cursor[TSR_CKPT_MAX_PARTITIONS];
};

struct tsr_park {
    int n; /* keys in use */
    struct tsr_park_key key[TSR_PARK_MAX];
};

/* The key of db and rp, or NULL. */
struct tsr_park_key *tsr_park_find(struct tsr_park *pk, const char *db, const char *rp);

/* The key parked on partition p, or NULL: what the lanes skip. */
struct tsr_park_key *tsr_park_on(struct tsr_park *pk, const char *db, const char *rp, int32_t p);

/* Parks db/rp (or returns the key already parked), every cursor -1. NULL when the table
 * is full. */
struct tsr_park_key *tsr_park_add(struct tsr_park *pk, const char *db, const char *rp,
                                  const char *reason, int64_t now_ms);

/* Forgets a key: delivered up to the lanes, or its partitions handed off. */
void tsr_park_remove(struct tsr_park *pk, struct tsr_park_key *k);

/* Forgets partition p in every key (handed off); keys left with no partition go. */
void tsr_park_drop_partition(struct tsr_park *pk, int32_t p);

/* Appends to out (NUL-terminated, within outlen) " park=DB/RP@CURSOR@SINCE" for every
 * key parked on p, names percent-encoded. Returns the length appended, or -1 if it did
 * not fit (out unchanged). */
int tsr_park_meta(const struct tsr_park *pk, int32_t p, char *out, size_t outlen);

/* Parks again every key named in a partition's commit metadata, at its cursor on p.
 * Returns how many keys it named; a malformed entry is skipped. */
int tsr_park_parse_meta(struct tsr_park *pk, int32_t p, const char *meta, int64_t now_ms);

#endif

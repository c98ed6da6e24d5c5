/* relay/ingest/fieldtypes.h — the bounded cache of field types the relay has accepted.
 *
 * InfluxDB (1.x and 2.x) and CnosDB keep one type per field of a measurement and refuse
 * a point whose field has another ("field type conflict"). Once a point is in Kafka its
 * client has been answered, so the relay remembers, for each (database, retention
 * policy, measurement, field key), the type of the first point it accepted, and refuses
 * a later conflicting point at ingest, where the client still hears about it.
 *
 * Owns: the table. Entries are 8 bytes each: a 61-bit hash of the four names and the
 * type, in buckets of eight that share one cache line; a full bucket forgets its least
 * recently used entry, so memory is fixed at creation whatever the cardinality. A
 * forgotten field is learnt again from the next point that has it. Two different names
 * whose hashes agree on 61 bits would share an entry (about one chance in 10^12 per
 * lookup with a million entries).
 *
 * Not thread-safe: one cache per thread (the HTTP ingest loop owns one). */
#ifndef TSR_FIELDTYPES_H
#define TSR_FIELDTYPES_H

#include <stddef.h>
#include <stdint.h>

struct tsr_fieldtypes;

/* Bytes of memory per entry, for the documentation and the tests. */
#define TSR_FIELDTYPES_ENTRY_BYTES 8

/* A cache of at most max_entries (rounded up to a multiple of eight; at least eight).
 * Aborts when memory is exhausted. Free with tsr_fieldtypes_free. */
struct tsr_fieldtypes *tsr_fieldtypes_new(size_t max_entries);
void tsr_fieldtypes_free(struct tsr_fieldtypes **ftp);

/* The key of one field: hash with tsr_fieldtypes_key of the database, retention policy
 * ("" for the default one), measurement and field key, unescaped. */
uint64_t tsr_fieldtypes_key(const char *db, const char *rp, const char *meas, size_t mlen,
                            const char *field, size_t flen);

/* The type remembered for key (1..7, as enum tsr_lp_ftype), or 0 if none; a hit makes
 * the entry the most recently used of its bucket. */
int tsr_fieldtypes_get(struct tsr_fieldtypes *ft, uint64_t key);

/* Remembers type (1..7) for key, replacing what was there, forgetting the bucket's
 * least recently used entry if it is full. */
void tsr_fieldtypes_put(struct tsr_fieldtypes *ft, uint64_t key, int type);

/* Entries held now and entries forgotten to make room, since creation. */
size_t tsr_fieldtypes_count(const struct tsr_fieldtypes *ft);
uint64_t tsr_fieldtypes_evicted(const struct tsr_fieldtypes *ft);

#endif

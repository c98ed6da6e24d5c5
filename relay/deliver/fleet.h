/* relay/deliver/fleet.h — the fleet's view of every cluster: where each partition of the
 * topic stands for that cluster, whichever relay delivers it.
 *
 * The relays of a datacenter share a cluster's partitions through its consumer group
 * (relay/deliver/forward.h), and each commits its positions there with metadata
 * "ts=<last delivered record's Kafka time> sent=<end of the request in flight>
 * by=<instance>". So any relay can answer for the whole cluster by reading the group's
 * committed offsets and the topic's end offsets: that is what this module does, once a
 * second, so that /status, /metrics and /clusters/NAME/ready give the same answer on
 * every relay.
 *
 * Owns: a thread ("tsr-fleet") doing those blocking reads (through the producer's
 * connections, so it needs no consumer of its own and never blocks a loop), and the
 * latest view of each cluster under a mutex.
 * Threads: new and free from the thread that owns the delivery; get from any thread. */
#ifndef TSR_FLEET_H
#define TSR_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "relay/deliver/ckpt.h"

struct tsr_config;
struct tsr_kafka;
struct tsr_fleet;

struct tsr_fleet_part {
    int64_t committed;  /* the group's committed offset, -1 if none */
    int64_t low, high;  /* the oldest retained offset and the offset after the last */
    int64_t last_ts_ms; /* Kafka time of the last delivered record, 0 if unknown */
    char owner[64];     /* the instance that committed last, "" if none */
};

struct tsr_fleet_cluster {
    int nparts;
    int64_t read_ms; /* wall time of the reads; 0 while never read */
    struct tsr_fleet_part part[TSR_CKPT_MAX_PARTITIONS];
};

/* The consumer group of cluster `cluster` of cf, as the forwarders and this module
 * name it: "tsrelay-<datacenter>-<cluster>". */
void tsr_fleet_group_name(const struct tsr_config *cf, const char *cluster, char *out,
                          size_t outlen);

/* Starts the thread. Borrows cf and k, which must outlive it. Returns 0, or -1 with err
 * set. *flp is the caller's: tsr_fleet_free. */
int tsr_fleet_new(const struct tsr_config *cf, struct tsr_kafka *k, struct tsr_fleet **flp,
                  char *err, size_t errlen);

/* Copies the latest view of cf->clusters[i] into out. Returns 0, or -1 when it was never
 * read or is older than 5 s (Kafka unreachable): the caller then knows only its own
 * partitions. Any thread. */
int tsr_fleet_get(struct tsr_fleet *fl, int i, struct tsr_fleet_cluster *out);

/* Stops and joins the thread, frees; *flp becomes NULL. */
void tsr_fleet_free(struct tsr_fleet **flp);

/* Parses the commit metadata "ts=... sent=... by=..."; absent fields are left as they
 * are. by may be NULL. Pure. */
void tsr_fleet_parse_meta(const char *meta, int64_t *ts, int64_t *sent, char *by, size_t bylen);

#endif

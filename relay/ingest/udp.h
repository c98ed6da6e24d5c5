/* relay/ingest/udp.h — InfluxDB line protocol over UDP (udp[], InfluxDB's [[udp]]).
 *
 * Owns: one UDP socket per listener and the records built from its datagrams
 * (relay/ingest/unacked.h). Each datagram holds one or more lines; they are parsed and
 * normalised as an HTTP write's are (the listener's database, retention policy and
 * precision), go through the ingest rules and the cardinality guard, and become
 * records of the relay's topic. UDP has no answer: a record is kept until Kafka or the
 * spool confirms it; while they are behind the socket is not read (datagrams wait in
 * its buffer, read_buffer). A bad line is logged, counted and dead-lettered with the
 * reason. Event-loop thread only. */
#ifndef TSR_INGEST_UDP_H
#define TSR_INGEST_UDP_H

#include <stddef.h>

struct event_base;
struct tsr_config;
struct tsr_udp_conf;
struct tsr_kafka;
struct tsr_durable;
struct tsr_shaper;
struct tsr_ingest_udp;

/* Binds uc->listen. Borrows cf, uc, k (the dead-letter topic), dur and shaper.
 * Returns 0, or -1 with err set (an address in use). */
int tsr_ingest_udp_new(const struct tsr_config *cf, const struct tsr_udp_conf *uc,
                       struct event_base *base, struct tsr_kafka *k, struct tsr_durable *dur,
                       struct tsr_shaper *shaper, struct tsr_ingest_udp **iup, char *err,
                       size_t errlen);

/* Shutdown: takes the datagrams already in the socket buffer, produces every record. */
void tsr_ingest_udp_drain(struct tsr_ingest_udp *iu);

/* Records not yet confirmed by Kafka. */
int tsr_ingest_udp_pending(const struct tsr_ingest_udp *iu);

void tsr_ingest_udp_free(struct tsr_ingest_udp **iup);

#endif

/* relay/kafka/topics.h — the relay's topics as a managed dependency.
 *
 * Owns: creating the topic and the dead-letter topic when they are missing
 * (kafka.create_topics: kafka.partitions, replication_factor, min_insync_replicas,
 * retention; the dead-letter topic with one partition), and checking the topic as it is
 * against what the relay promises: a replication factor below kafka.replication_factor
 * or a min.insync.replicas below 2 (acks=all then means fewer copies than an operator
 * thinks), a retention shorter than kafka.min_retention (an outage that long loses
 * points before a cluster catches up), a partition count that changed while the relay
 * runs (series move to other partitions). Findings are logged when they change.
 *
 * Blocking Admin API calls (a few seconds at most): called from the Kafka metadata
 * thread only. The report is plain data, copied by the caller under its own lock. */
#ifndef TSR_KAFKA_TOPICS_H
#define TSR_KAFKA_TOPICS_H

#include <stdint.h>

#include "relay/core/log.h"

struct rd_kafka_s;
struct rd_kafka_metadata_topic;
struct rd_kafka_NewTopic_s;
struct tsr_config;

#define TSR_TOPIC_WARNINGS 4

struct tsr_topic_report {
    int described;            /* the broker answered at least once */
    int partitions;           /* of the topic as described last */
    int first_partitions;     /* as first seen by this relay */
    int replication_factor;
    int min_insync_replicas;  /* -1: not known */
    int64_t retention_ms;     /* -1: unlimited, -2: not known */
    int nwarnings;
    char warnings[TSR_TOPIC_WARNINGS][200];
};

/* What the metadata thread keeps between calls. */
struct tsr_topics {
    const struct tsr_config *cf;
    int created;              /* both topics exist (made, or found) */
    struct tsr_log_limit create_log; /* retried every second: logged once a minute */
    struct tsr_topic_report report;
};

/* Creates what is missing (until both exist), then describes the topic into
 * t->report. mt: the topic as the caller's metadata request just returned it (the
 * metadata thread asks every round anyway). Returns 0, or -1 when the topic is not
 * there yet or the broker did not answer (the caller tries again at its next round). */
int tsr_topics_tend(struct tsr_topics *t, struct rd_kafka_s *rk,
                    const struct rd_kafka_metadata_topic *mt);

/* A topic to create with cf's replication factor, min.insync.replicas and retention;
 * NULL (logged) if librdkafka refuses the arguments. Any thread. */
struct rd_kafka_NewTopic_s *tsr_topics_new_topic(const struct tsr_config *cf, const char *name,
                                                 int partitions);

#endif

/* replay/topic_reader.h — reading a range of a topic straight from Kafka: tsrelayctl's
 * dlq and verify, and the relay's periodic verify (replay/verifier.h).
 *
 * A consumer with no group and manual assignment reads every partition from the first
 * record at or after a time (or one record) up to the high watermark seen when it was
 * opened; nothing is committed. The relay's config file gives the brokers and the
 * client's TLS and SASL settings. One thread, blocking; any thread. */
#ifndef TSR_TOPIC_READER_H
#define TSR_TOPIC_READER_H

#include <stddef.h>
#include <stdint.h>

struct tsr_config;
struct rd_kafka_s;
struct rd_kafka_message_s;

struct tsr_topic_reader {
    struct rd_kafka_s *rk;
    const char *topic;
    int nparts;
    int64_t *high; /* per partition: stop before this offset */
    int open;      /* partitions not yet read to their end */
    int64_t total; /* records in the range (offsets: compaction gaps count) */
    int64_t done;  /* records returned so far */
};

/* Opens topic for reading from since_ms (0: the first record retained), or, with
 * only >= 0, the one record at offset `at` of partition `only`; client names the
 * consumer in the brokers' logs. Returns 0, or -1 with err set (Kafka unreachable or
 * the topic unknown); tsr_topic_reader_close either way. */
int tsr_topic_reader_open(const struct tsr_config *cf, const char *client, const char *topic,
                          int64_t since_ms, int32_t only, int64_t at, struct tsr_topic_reader *rd,
                          char *err, size_t errlen);

/* The next record (the caller destroys it), or NULL once every partition is read to its
 * end (*failed 0), or on an error (*failed 1, err set). */
struct rd_kafka_message_s *tsr_topic_reader_next(struct tsr_topic_reader *rd, int *failed,
                                                 char *err, size_t errlen);

void tsr_topic_reader_close(struct tsr_topic_reader *rd);

#endif

/* replay/ctl_kafka.h — tsrelayctl reading a topic straight from Kafka (dlq, verify),
 * with the relay's config file for the brokers and the client's TLS and SASL settings.
 *
 * A consumer with no group and manual assignment reads every partition from the first
 * record at or after a time (or one record) up to the high watermark seen when it was
 * opened; nothing is committed. One thread, blocking. */
#ifndef TSR_CTL_KAFKA_H
#define TSR_CTL_KAFKA_H

#include <stdint.h>

struct ctl;
struct tsr_config;
struct rd_kafka_s;
struct rd_kafka_message_s;

struct ctl_reader {
    struct rd_kafka_s *rk;
    const char *topic;
    int nparts;
    int64_t *high; /* per partition: stop before this offset */
    int open;      /* partitions not yet read to their end */
};

/* Opens topic for reading from since_ms (0: the first record retained), or, with
 * only >= 0, the one record at offset `at` of partition `only`. Returns EXIT_OK, or the
 * exit code with the message in c->msg; ctl_reader_close either way. */
int ctl_reader_open(struct ctl *c, const struct tsr_config *cf, const char *topic, int64_t since_ms,
                    int32_t only, int64_t at, struct ctl_reader *rd);

/* The next record (the caller destroys it), or NULL once every partition is read to its
 * end, or on an error with *rc set. */
struct rd_kafka_message_s *ctl_reader_next(struct ctl *c, struct ctl_reader *rd, int *rc);

void ctl_reader_close(struct ctl_reader *rd);

#endif

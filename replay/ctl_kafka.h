/* replay/ctl_kafka.h — tsrelayctl reading a topic straight from Kafka (dlq, verify):
 * replay/topic_reader.h with its errors as tsrelayctl's exit code and message. One
 * thread, blocking. */
#ifndef TSR_CTL_KAFKA_H
#define TSR_CTL_KAFKA_H

#include <stdint.h>

#include "replay/topic_reader.h"

struct ctl;

/* tsr_topic_reader_open; EXIT_OK, or EXIT_UNREACHABLE with the message in c->msg;
 * ctl_reader_close either way. */
int ctl_reader_open(struct ctl *c, const struct tsr_config *cf, const char *topic, int64_t since_ms,
                    int32_t only, int64_t at, struct tsr_topic_reader *rd);

/* The next record (the caller destroys it), or NULL once every partition is read to its
 * end, or on an error with *rc set. */
struct rd_kafka_message_s *ctl_reader_next(struct ctl *c, struct tsr_topic_reader *rd, int *rc);

void ctl_reader_close(struct tsr_topic_reader *rd);

#endif

#include "replay/ctl_kafka.h"

#include <librdkafka/rdkafka.h>

#include "replay/ctl.h"

int ctl_reader_open(struct ctl *c, const struct tsr_config *cf, const char *topic, int64_t since,
                    int32_t only, int64_t at, struct tsr_topic_reader *rd)
{
    char err[512];
    if (tsr_topic_reader_open(cf, "tsrelayctl", topic, since, only, at, rd, err, sizeof(err)))
        return fail(c, EXIT_UNREACHABLE, "%s", err);
    return EXIT_OK;
}

rd_kafka_message_t *ctl_reader_next(struct ctl *c, struct tsr_topic_reader *rd, int *rc)
{
    char err[512];
    int failed;
    rd_kafka_message_t *m = tsr_topic_reader_next(rd, &failed, err, sizeof(err));
    if (failed) *rc = fail(c, EXIT_UNREACHABLE, "%s", err);
    return m;
}

void ctl_reader_close(struct tsr_topic_reader *rd)
{
    tsr_topic_reader_close(rd);
}

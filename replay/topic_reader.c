/* replay/topic_reader.c — see topic_reader.h. */
#include "replay/topic_reader.h"

#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "relay/kafka/kafka.h"
#include <stdio.h>

#define TIMEOUT_MS 10000

int tsr_topic_reader_open(const struct tsr_config *cf, const char *client, const char *topic,
                          int64_t since, int32_t only, int64_t at, struct tsr_topic_reader *rd,
                          char *err, size_t errlen)
{
    memset(rd, 0, sizeof(*rd));
    rd->topic = topic;
    rd->rk = tsr_kafka_consumer_new(cf, client, "earliest", 4 << 20, NULL, err, errlen);
    if (!rd->rk) return -1;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rd->rk, rd->topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rd->rk, 0, t, &md, TIMEOUT_MS);
    rd_kafka_topic_destroy(t);
    if (e || md->topic_cnt != 1 || md->topics[0].err) {
        snprintf(err, errlen, "cannot read topic '%s' from %s: %s", rd->topic,
                      cf->kafka_brokers,
                      rd_kafka_err2str(e               ? e
                                       : md->topic_cnt ? md->topics[0].err
                                                       : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        if (md) rd_kafka_metadata_destroy(md);
        return -1;
    }
    rd->nparts = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd->high = calloc((size_t)rd->nparts + 1, sizeof(*rd->high));
    if (!rd->high) abort();
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(rd->nparts);
    for (int p = 0; p < rd->nparts; p++) {
        if (only >= 0 && p != only) continue;
        int64_t lo, hi;
        e = rd_kafka_query_watermark_offsets(rd->rk, rd->topic, p, &lo, &hi, TIMEOUT_MS);
        if (e) {
            rd_kafka_topic_partition_list_destroy(parts);
            snprintf(err, errlen, "topic '%s' partition %d: %s", rd->topic, p, rd_kafka_err2str(e));
            return -1;
        }
        rd->high[p] = only >= 0 ? (at + 1 < hi ? at + 1 : hi) : hi;
        int64_t start = only >= 0 ? at : since ? since : lo;
        if ((only >= 0 && (at < lo || at >= hi)) || lo >= rd->high[p]) continue;
        rd_kafka_topic_partition_list_add(parts, rd->topic, p)->offset = start;
    }
    /* --since is a time: ask Kafka for the first offset at or after it. */
    if (since && only < 0 && parts->cnt &&
        (e = rd_kafka_offsets_for_times(rd->rk, parts, TIMEOUT_MS))) {
        rd_kafka_topic_partition_list_destroy(parts);
        snprintf(err, errlen, "topic '%s': offsets for the start time: %s", rd->topic,
                 rd_kafka_err2str(e));
        return -1;
    }
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        if (tp->offset < 0 || tp->offset >= rd->high[tp->partition]) {
            rd->high[tp->partition] = 0; /* nothing that late: done already */
        } else {
            rd->open++;
            rd->total += rd->high[tp->partition] - tp->offset;
        }
    }
    e = rd_kafka_assign(rd->rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e) {
        snprintf(err, errlen, "topic '%s': %s", rd->topic, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

rd_kafka_message_t *tsr_topic_reader_next(struct tsr_topic_reader *rd, int *failed, char *err,
                                          size_t errlen)
{
    *failed = 0;
    while (rd->open > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rd->rk, TIMEOUT_MS);
        if (!m) {
            *failed = 1;
            snprintf(err, errlen, "topic '%s': no record for %d s", rd->topic, TIMEOUT_MS / 1000);
            return NULL;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) {
            *failed = 1;
            snprintf(err, errlen, "topic '%s': %s", rd->topic, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            return NULL;
        }
        int32_t p = m->partition;
        if (p < 0 || p >= rd->nparts || m->offset >= rd->high[p]) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->offset + 1 >= rd->high[p]) {
            rd->high[p] = 0;
            rd->open--;
        }
        rd->done++;
        return m;
    }
    return NULL;
}

void tsr_topic_reader_close(struct tsr_topic_reader *rd)
{
    if (rd->rk) {
        rd_kafka_consumer_close(rd->rk);
        rd_kafka_destroy(rd->rk);
    }
    free(rd->high);
}

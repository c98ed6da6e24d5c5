#include "relay/kafka/topics.h"

#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "relay/core/log.h"

#define ADMIN_TIMEOUT_MS 5000

/* Waits for the one result event of an Admin API call on q. */
static rd_kafka_event_t *wait_result(rd_kafka_queue_t *q)
{
    return rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS + 2000);
}

rd_kafka_NewTopic_t *tsr_topics_new_topic(const struct tsr_config *cf, const char *name,
                                          int partitions)
{
    char why[256], v[32];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(name, partitions,
                                                    (int)cf->kafka_replication_factor, why,
                                                    sizeof(why));
    if (!nt) {
        tsr_error("kafka: cannot describe topic '%s' to create: %s", name, why);
        return NULL;
    }
    snprintf(v, sizeof(v), "%lld", (long long)cf->kafka_min_insync_replicas);
    rd_kafka_NewTopic_set_config(nt, "min.insync.replicas", v);
    snprintf(v, sizeof(v), "%lld", (long long)cf->kafka_retention_ms);
    rd_kafka_NewTopic_set_config(nt, "retention.ms", v);
    return nt;
}

/* CreateTopics for the topic and the dead-letter topic; 0 once both exist. */
static int create(struct tsr_topics *t, rd_kafka_t *rk)
{
    const struct tsr_config *cf = t->cf;
    rd_kafka_NewTopic_t *nts[2] = {
        tsr_topics_new_topic(cf, cf->kafka_topic, (int)cf->kafka_partitions),
        tsr_topics_new_topic(cf, cf->kafka_dlq_topic, 1)};
    if (!nts[0] || !nts[1]) {
        for (int i = 0; i < 2; i++)
            if (nts[i]) rd_kafka_NewTopic_destroy(nts[i]);
        return -1;
    }
    char why[256];
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(o, ADMIN_TIMEOUT_MS, why, sizeof(why));
    rd_kafka_AdminOptions_set_operation_timeout(o, ADMIN_TIMEOUT_MS, why, sizeof(why));
    rd_kafka_CreateTopics(rk, nts, 2, o, q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_NewTopic_destroy_array(nts, 2);
    rd_kafka_event_t *ev = wait_result(q);
    int done = 0;
    if (ev && !rd_kafka_event_error(ev)) {
        size_t n = 0;
        const rd_kafka_topic_result_t **tr =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        for (size_t i = 0; i < n; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
            const char *name = rd_kafka_topic_result_name(tr[i]);
            if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                done++;
            } else if (e) {
                const char *s = rd_kafka_topic_result_error_string(tr[i]);
                tsr_log_limited(&t->create_log, TSR_LOG_ERROR, "kafka: cannot create topic '%s': %s",
                                name, s ? s : rd_kafka_err2str(e));
            } else {
                done++;
                int parts = strcmp(name, cf->kafka_topic) == 0 ? (int)cf->kafka_partitions : 1;
                tsr_info("kafka: created topic '%s': %d partition%s, replication factor %lld, "
                         "min.insync.replicas %lld, retention %lld ms",
                         name, parts, parts == 1 ? "" : "s",
                         (long long)cf->kafka_replication_factor,
                         (long long)cf->kafka_min_insync_replicas,
                         (long long)cf->kafka_retention_ms);
            }
        }
    } else if (ev) {
        tsr_log_limited(&t->create_log, TSR_LOG_WARN, "kafka: cannot create topics yet: %s",
                        rd_kafka_event_error_string(ev));
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    return done == 2 ? 0 : -1;
}

/* min.insync.replicas and retention.ms of the topic as the broker has them. */
static int describe_configs(rd_kafka_t *rk, const char *topic, struct tsr_topic_report *r)
{
    char why[256];
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_AdminOptions_set_request_timeout(o, ADMIN_TIMEOUT_MS, why, sizeof(why));
    rd_kafka_DescribeConfigs(rk, &res, 1, o, q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_event_t *ev = wait_result(q);
    int rc = -1;
    if (ev && !rd_kafka_event_error(ev)) {
        size_t nres = 0, nconf = 0;
        const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(
            rd_kafka_event_DescribeConfigs_result(ev), &nres);
        if (nres == 1 && !rd_kafka_ConfigResource_error(rs[0])) {
            const rd_kafka_ConfigEntry_t **ce = rd_kafka_ConfigResource_configs(rs[0], &nconf);
            for (size_t i = 0; i < nconf; i++) {
                const char *name = rd_kafka_ConfigEntry_name(ce[i]);
                const char *value = rd_kafka_ConfigEntry_value(ce[i]);
                if (!value) continue;
                if (strcmp(name, "min.insync.replicas") == 0) r->min_insync_replicas = atoi(value);
                if (strcmp(name, "retention.ms") == 0) r->retention_ms = strtoll(value, NULL, 10);
            }
            rc = 0;
        }
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    return rc;
}

static void warn(struct tsr_topic_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct tsr_topic_report *r, const char *fmt, ...)
{
    if (r->nwarnings == TSR_TOPIC_WARNINGS) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->warnings[r->nwarnings++], sizeof(r->warnings[0]), fmt, ap);
    va_end(ap);
}

/* What the topic as described cannot give: the relay's promises, in words. */
static void judge(const struct tsr_config *cf, struct tsr_topic_report *r)
{
    r->nwarnings = 0;
    const char *topic = cf->kafka_topic;
    if (r->replication_factor < cf->kafka_replication_factor)
        warn(r, "topic '%s' has replication factor %d, below kafka.replication_factor %lld: "
             "acks=all keeps only %d cop%s of each write", topic, r->replication_factor,
             (long long)cf->kafka_replication_factor, r->replication_factor,
             r->replication_factor == 1 ? "y" : "ies");
    if (r->min_insync_replicas >= 0 && r->min_insync_replicas < cf->kafka_min_insync_replicas)
        warn(r, "topic '%s' has min.insync.replicas %d, below kafka.min_insync_replicas %lld: "
             "an acknowledged write may be on %d broker%s only", topic, r->min_insync_replicas,
             (long long)cf->kafka_min_insync_replicas, r->min_insync_replicas,
             r->min_insync_replicas == 1 ? "" : "s");
    if (r->retention_ms >= 0 && r->retention_ms < cf->kafka_min_retention_ms)
        warn(r, "topic '%s' keeps records %lld ms, less than kafka.min_retention %lld ms: a "
             "cluster down that long loses points before it catches up", topic,
             (long long)r->retention_ms, (long long)cf->kafka_min_retention_ms);
    if (r->first_partitions && r->partitions != r->first_partitions)
        warn(r, "topic '%s' went from %d to %d partitions while the relay ran: series now "
             "hash to other partitions, so their order across the change is not kept",
             topic, r->first_partitions, r->partitions);
}

int tsr_topics_tend(struct tsr_topics *t, rd_kafka_t *rk, const rd_kafka_metadata_topic_t *mt)
{
    const struct tsr_config *cf = t->cf;
    if (!t->created && cf->kafka_create_topics && create(t, rk) == 0) t->created = 1;
    if (mt->err != RD_KAFKA_RESP_ERR_NO_ERROR || mt->partition_cnt < 1) return -1;

    struct tsr_topic_report r = t->report;
    r.partitions = mt->partition_cnt;
    if (!r.first_partitions) r.first_partitions = r.partitions;
    r.replication_factor = mt->partitions[0].replica_cnt;
    r.min_insync_replicas = -1;
    r.retention_ms = -2;
    if (describe_configs(rk, cf->kafka_topic, &r) != 0) return -1;
    r.described = 1;
    judge(cf, &r);
    /* Logged when the findings change, not every round. */
    int changed = r.nwarnings != t->report.nwarnings;
    for (int i = 0; !changed && i < r.nwarnings; i++)
        changed = strcmp(r.warnings[i], t->report.warnings[i]) != 0;
    if (changed && r.nwarnings == 0 && t->report.described)
        tsr_info("kafka: topic '%s' settings now give the promised durability", cf->kafka_topic);
    for (int i = 0; changed && i < r.nwarnings; i++) tsr_warn("kafka: %s", r.warnings[i]);
    t->report = r;
    return 0;
}

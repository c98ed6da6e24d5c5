/* relay/kafka/kafka.h — the durable hand-off: an idempotent librdkafka producer on the loop.
 *
 * Owns: the producer (enable.idempotence=true, so acks=all and no duplicates from
 * librdkafka's own retries), the topic's partition count, the broker reachability
 * state, and the accounting of records in flight. Delivery reports are served on the
 * event-loop thread through librdkafka's queue wake-up fd, so every tsr_kafka_done_fn
 * runs on that thread, and nothing here blocks the loop.
 *
 * A record is a payload of normalised line-protocol lines for one partition. The caller
 * keeps the payload alive until its done callback runs, then frees or re-produces it:
 * that is what lets a stream listener retry through a Kafka outage without a copy.
 *
 * All functions: event-loop thread only, unless noted. */
#ifndef TSR_KAFKA_H
#define TSR_KAFKA_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct tsr_config;
struct tsr_kafka;

/* Called once per record, on the loop thread. err is 0 when the record is durable
 * (acknowledged by all in-sync replicas), else a librdkafka error code; errstr is a
 * static human string for err. */
typedef void tsr_kafka_done_fn(void *opaque, int err, const char *errstr);

/* Headers stored with every record, so forwarders know where the points belong. */
/* The relay's own record headers are named TSR_KAFKA_HDR "db" and so on, so that a
 * consumer mapping headers to tags (Telegraf's msg_headers_as_tags) never confuses them
 * with a user's tag "db" or "src". */
#define TSR_KAFKA_HDR "tsrelay."

struct tsr_kafka_hdrs {
    const char *db; /* database (or v2 bucket) */
    const char *rp; /* retention policy, may be NULL */
    const char *src; /* listener: "http", "graphite_tcp", "graphite_udp", "udp" */
    const char *kind; /* NULL: points; TSR_KAFKA_KIND_STATEMENT: an InfluxQL statement */
};

/* A record whose value is one InfluxQL statement (CREATE DATABASE) for every cluster
 * whose type has databases, rather than points. The value is written as a line-protocol
 * comment (TSR_KAFKA_STATEMENT_PREFIX, then the statement), so that any other reader of
 * the topic that parses it as line protocol (Telegraf's kafka_consumer) skips it. */
#define TSR_KAFKA_KIND_STATEMENT "statement"
#define TSR_KAFKA_STATEMENT_PREFIX "# "

/* Creates the producer from cf (kafka.* keys) and hooks it into base. Does not wait for
 * the brokers: readiness is reported by tsr_kafka_ready. Returns 0, or -1 with err set
 * (a bad librdkafka property, say). *kp is owned by the caller: tsr_kafka_free. */
int tsr_kafka_new(const struct tsr_config *cf, struct event_base *base, struct tsr_kafka **kp,
                  char *err, size_t errlen);

/* Waits up to timeout_ms for every record in flight to be confirmed or failed, running
 * their done callbacks, then destroys the producer and sets *kp to NULL. Returns the
 * number of records still unconfirmed when it gave up (0 on a clean flush). */
int tsr_kafka_free(struct tsr_kafka **kp, int timeout_ms);

/* 1 when the topic's partition count is known and a broker connection is up. */
int tsr_kafka_ready(const struct tsr_kafka *k);

/* While no broker is up: librdkafka's last error ("SASL authentication error: ...",
 * "Connection refused"), else "". The loop thread. */
const char *tsr_kafka_last_error(const struct tsr_kafka *k);

/* 1 after a fatal producer error (librdkafka cannot go on with this instance): the
 * relay must drain and exit so its supervisor restarts it with a fresh producer. */
int tsr_kafka_fatal(const struct tsr_kafka *k);

/* Partitions of the topic, 0 while unknown. */
int tsr_kafka_partitions(const struct tsr_kafka *k);

/* The topic as the broker last described it, and what it cannot give
 * (relay/kafka/topics.h). Any thread. */
struct tsr_topic_report;
void tsr_kafka_topic_report(struct tsr_kafka *k, struct tsr_topic_report *out);

/* --check-config --live: describes cf->kafka_topic on the live broker (creating
 * nothing) into *r. Blocks up to about 15 s. Returns 0, or -1 with err set. */
int tsr_kafka_check_topics(const struct tsr_config *cf, struct tsr_topic_report *r, char *err,
                           size_t errlen);

/* The offset after the last record this relay's producer had confirmed in partition
 * p (-1 if none): a high watermark that is exact for what this relay wrote. Any
 * thread. */
int64_t tsr_kafka_high(const struct tsr_kafka *k, int32_t p);

/* For times in the topic's partitions 0..nparts-1: out[p] = the first offset of
 * partition p whose record time is at or after at_ms, or -1 if there is none that
 * late. at_ms may also be TSR_KAFKA_EARLIEST (the oldest offset Kafka retains) or
 * TSR_KAFKA_LATEST (the offset after the last record). One request per partition
 * leader, through the producer's connections: no consumer to set up. Blocks up to
 * timeout_ms. Returns 0, or -1 with err set. Any thread. */
#define TSR_KAFKA_EARLIEST (-2)
#define TSR_KAFKA_LATEST (-1)
int tsr_kafka_offsets_at(struct tsr_kafka *k, int nparts, int64_t at_ms, int64_t *out,
                         int timeout_ms, char *err, size_t errlen);

/* The committed offsets of consumer group `group` for the topic's partitions
 * 0..nparts-1: pos[p] = the committed offset (-1 if none) and meta[p] its metadata
 * (NUL-terminated, cut to metalen; "" if none). One ListConsumerGroupOffsets request
 * through `via`, a consumer made with a group.id of its own (tsr_kafka_consumer_new,
 * never subscribed): librdkafka 2.0 handles a NOT_COORDINATOR answer to that request
 * through the handle's own consumer group, and crashes on a handle without one (the
 * producer; librdkafka issue 5040), which a broker restart or a new group provokes.
 * Blocks up to timeout_ms. Returns 0, or -1 with err set. Any thread. */
struct rd_kafka_s;
int tsr_kafka_group_offsets(struct tsr_kafka *k, struct rd_kafka_s *via, const char *group,
                            int nparts, int64_t *pos, char (*meta)[128], int timeout_ms, char *err,
                            size_t errlen);

/* Bytes of records produced and not yet confirmed; the backpressure signal. */
int64_t tsr_kafka_inflight_bytes(const struct tsr_kafka *k);

/* Enqueues one record for `partition` of the main topic. On 0 the done callback will
 * run exactly once, later. On -1 (the local queue is full, or the partition is
 * unknown) done is never called, *errstr says why, and the caller still owns payload. */
int tsr_kafka_produce(struct tsr_kafka *k, int32_t partition, const char *payload, size_t len,
                      const struct tsr_kafka_hdrs *hdrs, tsr_kafka_done_fn *done, void *opaque,
                      const char **errstr);

/* Writes one rejected input to the dead-letter topic (<topic>.dlq unless configured),
 * copying raw; headers carry the reason, the source, the line number and the client.
 * Best effort: failures are counted in tsrelay_dlq_errors_total and logged, since the
 * client already got its error. Any thread (the forwarders dead-letter what a cluster
 * rejects). */
void tsr_kafka_dead_letter(struct tsr_kafka *k, const char *raw, size_t len, const char *reason,
                           const char *src, long line_no, const char *db, const char *client);

/* The same for a record of an input topic (inputs.kafka[]) the relay could not take
 * (src "kafka"): headers also name its topic, partition and offset, and its client is
 * "topic/partition@offset". */
void tsr_kafka_dead_letter_input(struct tsr_kafka *k, const char *raw, size_t len,
                                 const char *reason, long line_no, const char *db,
                                 const char *topic, int32_t partition, int64_t offset);

/* Membership of a consumer group, for a consumer that shares a topic's partitions
 * with the other relays of the fleet: static membership under instance_id
 * (group.instance.id), session timeout kafka.session_timeout_ms, eager round-robin
 * assignment. rebalance is librdkafka's rebalance callback, called on the thread that
 * polls the consumer; it must (now or later) call rd_kafka_assign. */
struct rd_kafka_s;
struct rd_kafka_topic_partition_list_s;
struct tsr_kafka_member {
    const char *instance_id;
    void (*rebalance)(struct rd_kafka_s *rk, int err,
                      struct rd_kafka_topic_partition_list_s *parts, void *opaque);
    void *opaque;
};

/* A consumer of the topic for a forwarder or a replay job: a member of group_id when
 * mb is given (offsets are committed by the caller, never automatically), else manual
 * assignment (the group id only names it; nothing is committed); prefetch capped at read_ahead bytes
 * per fetch queue (a partition's own queue, or the consumer queue all its partitions
 * feed),
 * offset_reset "error" (a position Kafka no longer holds must be noticed) or
 * "earliest", the operator's kafka.properties that apply to consumers, and its log
 * lines in ours; its client id is the group id, so log lines name the forwarder or
 * job. Returns the handle (the caller's: rd_kafka_consumer_close + rd_kafka_destroy),
 * or NULL with err set. */
struct rd_kafka_s *tsr_kafka_consumer_new(const struct tsr_config *cf, const char *group_id,
                                          const char *offset_reset, int64_t read_ahead,
                                          const struct tsr_kafka_member *mb, char *err,
                                          size_t errlen);

/* A consumer of an input's topic (inputs.kafka[]), as tsr_kafka_consumer_new makes one
 * for mb's group, reading in->brokers with in->properties, or this datacenter's Kafka
 * with kafka.properties and then in->properties when in->brokers is empty; a group
 * without commits starts at in->offset. */
struct tsr_kafka_input_conf;
struct rd_kafka_s *tsr_kafka_input_consumer_new(const struct tsr_config *cf,
                                                const struct tsr_kafka_input_conf *in,
                                                const char *group_id, int64_t read_ahead,
                                                const struct tsr_kafka_member *mb, char *err,
                                                size_t errlen);

/* Pauses (pause != 0) or resumes fetching partitions first..first+count-1 of topic on
 * consumer rk; pausing also drops what librdkafka had fetched of them. Returns
 * librdkafka's error code (0 on success). */
int tsr_kafka_pause(struct rd_kafka_s *rk, const char *topic, int32_t first, int32_t count,
                    int pause);

/* Appends one record to partition 0 of the fleet topic (kafka.fleet_topic): key, and
 * val[0..len) copied, or a tombstone when val is NULL. Best effort: failures are logged.
 * Returns 0, or -1 if it could not be queued. Any thread. */
int tsr_kafka_fleet_put(struct tsr_kafka *k, const char *key, const char *val, size_t len);

/* Creates topic as the fleet topic (1 partition, replication factor the broker's
 * default, cleanup.policy=compact), without blocking: the first call with *cp NULL
 * sends the request, later calls poll for the answer. Returns 1 while waiting, 0 once
 * the topic exists (created now or before), -1 with err set on failure (call again to
 * retry). *cp is the caller's until 0 or -1 free it. Any thread, one at a time. */
struct tsr_kafka_create;
int tsr_kafka_fleet_create(struct tsr_kafka *k, const char *topic, struct tsr_kafka_create **cp,
                           char *err, size_t errlen);
void tsr_kafka_fleet_create_free(struct tsr_kafka_create **cp);

/* Copies the last header TSR_KAFKA_HDR `name` of a consumed message (NUL-terminated,
 * cut to outlen) into out, or the bare `name` of a record older than the prefix; ""
 * when absent. The producer writes "db", "rp", "src" and "kind". Any thread. */
struct rd_kafka_message_s;
void tsr_kafka_header(struct rd_kafka_message_s *m, const char *name, char *out, size_t outlen);

/* Number of brokers in state UP in a librdkafka statistics JSON document (not counting
 * librdkafka's internal pseudo-broker). Pure; exposed for tests. */
int tsr_kafka_stats_brokers_up(const char *json);

#endif

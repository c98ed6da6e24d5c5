/* relay/ingest/kafka_input.h — Kafka topics consumed as inputs (inputs.kafka[]).
 *
 * Owns: one consumer per input, a member of the input's group, so the relays of a fleet
 * share the topic's partitions through Kafka's own group protocol; the records built
 * from what it reads (relay/ingest/unacked.h); and its offsets. Each record of the
 * topic is converted by its input's format (line protocol, Graphite plaintext with
 * templates, or JSON: relay/ingest/json_points.h) into normalised points of the input's
 * database, which go through the ingest rules and the cardinality guard as HTTP's do
 * and become records of the relay's own topic, so they reach every cluster with
 * checkpoints and replays. A point without a time of its own takes its record's Kafka
 * timestamp, so reading a record twice writes the same points twice, which the TSDBs
 * store once.
 *
 * At least once: the records taken in one read form a cycle, and a cycle's offsets are
 * committed only once every point of it is durable (Kafka or the spool confirmed it),
 * cycles in the order they were read. A relay killed before that reads them again. A
 * partition taken away by a rebalance is dropped from the cycles still waiting, so
 * only its new owner commits it.
 *
 * A record that cannot be converted (bad JSON, a bad line) is dead-lettered with the
 * reason, its topic, partition and offset, and counted; the rest go on.
 *
 * Event-loop thread only. */
#ifndef TSR_INGEST_KAFKA_INPUT_H
#define TSR_INGEST_KAFKA_INPUT_H

#include <stddef.h>

struct event_base;
struct tsr_buf;
struct tsr_config;
struct tsr_kafka;
struct tsr_durable;
struct tsr_shaper;
struct tsr_ingest_kafka;

/* Starts a consumer for each of cf->kafka_inputs. Borrows cf, k (the dead-letter topic),
 * dur (where points become durable) and shaper. Returns 0, or -1 with err set (a bad
 * template or time layout, a property librdkafka refuses). */
int tsr_ingest_kafka_new(const struct tsr_config *cf, struct event_base *base, struct tsr_kafka *k,
                         struct tsr_durable *dur, struct tsr_shaper *shaper,
                         struct tsr_ingest_kafka **ikp, char *err, size_t errlen);

/* What tsr_ingest_kafka_new would refuse in cf's inputs, short of Kafka (a bad
 * template or time layout), for --check-config. Returns 0, or -1 with err set. */
int tsr_ingest_kafka_check(const struct tsr_config *cf, char *err, size_t errlen);

/* Shutdown: reads nothing more, produces what was read; the offsets of each cycle are
 * committed (synchronously) as it becomes durable. */
void tsr_ingest_kafka_drain(struct tsr_ingest_kafka *ik);

/* Cycles whose offsets are not yet committed. */
int tsr_ingest_kafka_pending(const struct tsr_ingest_kafka *ik);

/* ,"inputs":[{...}, ...] for /status: per input its topic, format, database, group,
 * state, partitions owned, lag (records of those partitions not yet read), and counts. */
void tsr_ingest_kafka_json(const struct tsr_ingest_kafka *ik, struct tsr_buf *b);

/* The tsrelay_input_* families, Prometheus text format. */
void tsr_ingest_kafka_metrics(const struct tsr_ingest_kafka *ik, struct tsr_buf *b);

/* Closes the consumers (a static member keeps its partitions for the session timeout,
 * so a restart takes them back at once). Cycles never made durable are read again by
 * whoever owns their partitions next. */
void tsr_ingest_kafka_free(struct tsr_ingest_kafka **ikp);

#endif

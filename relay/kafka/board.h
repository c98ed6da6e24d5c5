/* relay/kafka/board.h — the fleet's board: records every relay of the datacenter reads,
 * and the election of the one relay (the coordinator) that acts on them.
 *
 * The board is the fleet topic (kafka.fleet_topic: one partition, compacted), created
 * here when missing. Every relay reads it from the beginning and then follows it, and
 * hands each record (key, value; a NULL value is a deletion) to the listeners in log
 * order, its own records included. So replay jobs and ledger intervals written there
 * are known to every relay.
 *
 * The coordinator is elected by Kafka: every relay is a static member (its instance
 * name) of the consumer group "tsrelay-<datacenter>-fleet" on the fleet topic, and the
 * member assigned partition 0 is the coordinator, once it has read the board to its
 * end. It runs the replay jobs, records the ledger and rewinds after outages; when it
 * dies, the group hands partition 0 to another relay after kafka.session_timeout_ms.
 * Nothing is fetched through the group: the assignment is all it is for.
 *
 * Owns: the topic creation, the reader (a consumer of its own), the election member,
 * the listeners. Threads: everything on the thread of base (the forwarding thread),
 * except tsr_board_coordinator, which any thread may call. */
#ifndef TSR_BOARD_H
#define TSR_BOARD_H

#include <stddef.h>

struct event_base;
struct tsr_config;
struct tsr_kafka;
struct tsr_board;

/* A record of the board, in log order: val[0..len) (not NUL-terminated), or val NULL
 * when the key was deleted. Valid only during the call. */
typedef void tsr_board_record_fn(void *opaque, const char *key, const char *val, size_t len);
/* This relay became (1) or stopped being (0) the coordinator. */
typedef void tsr_board_role_fn(void *opaque, int coordinator);

/* Starts creating the topic, reading it and joining the election, on base. Borrows cf
 * and k. Returns 0, or -1 with err set. *bp is the caller's: tsr_board_free. */
int tsr_board_new(const struct tsr_config *cf, struct tsr_kafka *k, struct event_base *base,
                  struct tsr_board **bp, char *err, size_t errlen);

/* Adds a listener (up to 8); either function may be NULL. */
void tsr_board_listen(struct tsr_board *b, tsr_board_record_fn *rec, tsr_board_role_fn *role,
                      void *opaque);

/* 1 while this relay is the coordinator (elected, and has read the board to the end).
 * Any thread. */
int tsr_board_coordinator(const struct tsr_board *b);

/* 1 once the board was read to its end (what it held at start is known). */
int tsr_board_caught_up(const struct tsr_board *b);

/* Writes key = val[0..len) (copied), or deletes key when val is NULL. Returns 0, or -1
 * if it could not be queued (logged). */
int tsr_board_put(struct tsr_board *b, const char *key, const char *val, size_t len);

/* Leaves the election and frees; *bp becomes NULL. */
void tsr_board_free(struct tsr_board **bp);

#endif

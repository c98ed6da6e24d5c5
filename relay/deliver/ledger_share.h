/* relay/deliver/ledger_share.h — one out-of-sync ledger per cluster for the whole fleet.
 *
 * The ledger lives in every relay's LMDB (relay/deliver/ckpt.h), but only the fleet's
 * coordinator (relay/kafka/board.h) writes it: it opens and closes the outage
 * intervals, and every entry it writes goes to the board under
 * "ledger/<cluster>/<id>", which every relay copies into its own store. A relay that is
 * not the coordinator and sees something the ledger must hold (a retention gap in a
 * partition it delivers) hands the entry to the coordinator through the board
 * ("ledger-new/<cluster>/<instance>/<ms>"), which records it under the next id. So the
 * ids stay one sequence per cluster, and any relay shows the same ledger.
 *
 * Owns: the board listener that copies entries and, on the coordinator, records the
 * handed-over ones (kept pending while no relay is coordinator). Threads: the forwarding
 * thread (the board's and the store's writer). */
#ifndef TSR_LEDGER_SHARE_H
#define TSR_LEDGER_SHARE_H

#include <stdint.h>

struct tsr_board;
struct tsr_ckpt;
struct tsr_ledger_entry;
struct tsr_ledger_share;

/* Starts listening on b (NULL: a relay without a board records everything itself).
 * Borrows b and ck. *lsp is the caller's: tsr_ledger_share_free. */
void tsr_ledger_share_new(struct tsr_board *b, struct tsr_ckpt *ck, struct tsr_ledger_share **lsp);
void tsr_ledger_share_free(struct tsr_ledger_share **lsp);

/* Puts the stored entry id of cluster on the board (nothing without a board). */
void tsr_ledger_share_publish(struct tsr_board *b, struct tsr_ckpt *ck, const char *cluster,
                              uint64_t id);

/* Records e, an interval already over (to_ms and to_offset set): at once on the
 * coordinator or without a board, else by handing it to the coordinator. */
void tsr_ledger_share_record(struct tsr_board *b, struct tsr_ckpt *ck, const char *cluster,
                             const char *instance, const struct tsr_ledger_entry *e);

#endif

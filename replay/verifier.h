/* replay/verifier.h — verify results kept by the relay, and the periodic verify.
 *
 * Owns: the verify results of this relay's state store (relay/deliver/ckpt.h,
 * "verifies": the newest TSR_CKPT_VERIFY_KEEP), whether run here or by `tsrelayctl
 * verify` (POST /verifies), which are the audit trail's and the status page's; and the
 * periodic verify of the clusters with verify_interval_ms set: one at a time, counted
 * by replay/verify.h on a thread of its own (it blocks on Kafka and the cluster), over
 * the windows of point time from verify_lookback_ms to verify_delay_ms ago. A run's
 * windows that differ, and did not at its cluster's previous run, go into the cluster's
 * ledger (kind "verify") and raise tsrelay_verify_windows_differ. In a fleet only the
 * coordinator runs them (its ledger is the fleet's).
 *
 * Threads: everything on the forwarding thread (the replayer owns it), except the
 * counting thread, which touches nothing but its own run. */
#ifndef TSR_VERIFIER_H
#define TSR_VERIFIER_H

#include <stddef.h>

struct tsr_buf;
struct tsr_ckpt;
struct tsr_config;
struct tsr_fwd_env;
struct tsr_verifier;

/* Starts the periodic verify's timer (env borrowed: outlives it). */
int tsr_verifier_new(const struct tsr_fwd_env *env, struct tsr_verifier **vp, char *err,
                     size_t errlen);
/* Stops a run in progress (it is dropped, not recorded) and frees; *vp becomes NULL. */
void tsr_verifier_free(struct tsr_verifier **vp);

/* Records a result sent by tsrelayctl verify: body {"started_by", "report": {...}}.
 * Appends the answer ({"id": N} or {"error"}) and returns its HTTP status. */
int tsr_verifier_record(struct tsr_verifier *v, const char *body, size_t len, struct tsr_buf *out);

/* Appends {"verifies": [...]}: the results kept, newest first. */
void tsr_verifier_list(struct tsr_verifier *v, struct tsr_buf *out);

/* The newest result of each cluster of cf, from the state store: out[i] gets the record
 * of cf->clusters[i], or stays empty. Reads only: any thread (the admin endpoint's). */
void tsr_verifier_newest(struct tsr_ckpt *ck, const struct tsr_config *cf, struct tsr_buf *out);

#endif

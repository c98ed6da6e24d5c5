/* relay/core/tcpsend.h — a body sent over a TCP connection of its own, for a sink whose
 * protocol has no answers (Graphite's carbon plaintext, tcp://HOST:PORT).
 *
 * A send connects, writes the body, shuts its side down and waits for the peer to close
 * in turn. carbon reads what it was sent up to that end before it closes, so the close
 * is the one acknowledgement the protocol gives: done runs with status 200 then, and
 * with 0 and the error otherwise (refused, reset, timed out, or the peer closing before
 * the body was all written). A connection a batch costs a handshake, which carbon takes
 * in its stride, and a failure can only ever affect one batch, which is then sent again.
 *
 * tsr_httpc_send hands tcp:// URLs here, so its callers need not know. Owns: the sends
 * in flight and the resolver. Loop thread only. */
#ifndef TSR_TCPSEND_H
#define TSR_TCPSEND_H

#include <stddef.h>

#include "relay/core/httpc.h"

struct event_base;
struct tsr_tcpsend;

/* Returns 0; *tp is the caller's: tsr_tcpsend_free. */
int tsr_tcpsend_new(struct event_base *base, struct tsr_tcpsend **tp);

/* Sends body[0..len) (borrowed until done runs; len 0: only connects) to url
 * "tcp://HOST:PORT", all of it within timeout_ms. Returns 0 (done runs later, never
 * from inside this call) or -1 when url is not of that form (done never runs). */
int tsr_tcpsend_start(struct tsr_tcpsend *t, const char *url, const char *body, size_t len,
                      long timeout_ms, tsr_httpc_done_fn *done, void *opaque);

/* Sends in flight. */
int tsr_tcpsend_active(const struct tsr_tcpsend *t);

/* Ends the sends in flight (their done runs with error "cancelled") and frees. */
void tsr_tcpsend_free(struct tsr_tcpsend **tp);

#endif

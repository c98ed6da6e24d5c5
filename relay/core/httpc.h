/* relay/core/httpc.h — asynchronous HTTP requests on an event loop (libcurl multi-socket).
 *
 * Owns: one curl multi handle per event loop, its sockets' events and its timer, and
 * the connection cache they share (keep-alive to each TSDB node). A request is
 * described by struct tsr_httpc_req; its done callback runs exactly once, on the loop
 * thread, with the HTTP status (0 on a transport failure: refused, timed out, reset).
 * A tcp://HOST:PORT URL is no HTTP at all: its body goes over a connection of its own
 * (relay/core/tcpsend.h), status 200 once the peer closed after reading it.
 * Nothing here blocks the loop. Loop thread only. */
#ifndef TSR_HTTPC_H
#define TSR_HTTPC_H

#include <stddef.h>

struct event_base;
struct tsr_httpc;

/* What a request trusts over TLS. */
struct tsr_httpc_tls {
    const char *ca_file;   /* CA bundle, NULL for the system's */
    const char *cert_file; /* client certificate (mTLS), or NULL */
    const char *key_file;  /* its private key */
    int insecure;          /* skip certificate verification (tests, never prod) */
};

struct tsr_httpc_req {
    const char *url;
    const char *method;    /* "GET", "HEAD" or "POST" */
    const char *body;      /* POST body; borrowed until done runs */
    size_t body_len;
    const char *content_encoding; /* e.g. "gzip", or NULL */
    const char *authorization;    /* full header value ("Token x", "Basic y"), or NULL */
    long timeout_ms;
    struct tsr_httpc_tls tls;
};

struct tsr_httpc_resp {
    int status;            /* HTTP status, or 0 when no response arrived */
    const char *error;     /* transport error text when status is 0 */
    const char *body;      /* first bytes of the response body (up to 64 KiB) */
    size_t body_len;
    long retry_after_s;    /* Retry-After in seconds, -1 if absent */
    double seconds;        /* total time of the request */
};

typedef void tsr_httpc_done_fn(void *opaque, const struct tsr_httpc_resp *resp);

/* Returns 0, or -1 if libcurl cannot be initialised. *hp is the caller's: free it with
 * tsr_httpc_free. */
int tsr_httpc_new(struct event_base *base, struct tsr_httpc **hp);

/* Starts a request. Copies what it needs from req except body, which must stay valid
 * until done runs. Returns 0 (done will run later, never from inside this call), or -1
 * if the request could not be started (done never runs). */
int tsr_httpc_send(struct tsr_httpc *h, const struct tsr_httpc_req *req, tsr_httpc_done_fn *done,
                   void *opaque);

/* Requests started and not yet done (tests check that nothing is left behind). */
int tsr_httpc_active(const struct tsr_httpc *h);

/* Cancels what is still running (their done callbacks run with status 0 and error
 * "cancelled"), frees, sets *hp to NULL. */
void tsr_httpc_free(struct tsr_httpc **hp);

#endif

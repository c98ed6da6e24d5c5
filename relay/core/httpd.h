/* relay/core/httpd.h — the HTTP/1.1 server under the ingest and admin listeners.
 *
 * Owns: one listening socket, its connections (plain, or TLS through
 * relay/core/tls_server.h), and each request from its first byte to its answer. Requests
 * are parsed by http-parser (Debian's libhttp-parser), one at a time per connection
 * (pipelined requests wait their turn, unread, in the socket).
 *
 * What it holds in memory is bounded by its limits, checked before a body is read:
 * - max_connections: more are accepted and closed at once (plain: after a 503);
 * - max_header_bytes: a longer request line + headers gets 431;
 * - max_body_bytes: a larger body gets 413 when its Content-Length says so, or as soon
 *   as a chunked body passes it;
 * - max_reading_bytes: the bodies being received at once, over all connections; a body
 *   that does not fit gets 503 with Retry-After before any of it is read (clients that
 *   send `Expect: 100-continue` never send it). Bodies over 1 MiB share at most three
 *   quarters of it, so small writes find room while large uploads queue;
 * - timeouts: header_timeout_ms from a request's first byte to its last header (a slow
 *   client), read_timeout_ms between two reads of a body, idle_timeout_ms on a
 *   keep-alive connection between requests.
 * A body received counts against max_reading_bytes until the request callback returns,
 * and is freed then: callbacks read it at once.
 *
 * Event-loop thread only. */
#ifndef TSR_HTTPD_H
#define TSR_HTTPD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct tsr_conn_metrics;
struct tsr_tls_server;
struct tsr_httpd;
struct tsr_httpd_req;

enum tsr_httpd_method { TSR_HTTPD_GET, TSR_HTTPD_HEAD, TSR_HTTPD_POST, TSR_HTTPD_OTHER };

/* Each request is handed over once complete; the callback (or a later one) answers it
 * exactly once with tsr_httpd_reply. */
typedef void (*tsr_httpd_cb)(struct tsr_httpd_req *req, void *arg);

struct tsr_httpd_conf {
    const char *name;   /* "http", "admin": in logs */
    const char *listen; /* host:port */
    struct tsr_tls_server *tls; /* NULL: plain HTTP */
    int64_t max_connections;
    int64_t max_header_bytes;
    int64_t max_body_bytes;
    int64_t max_reading_bytes;
    int64_t header_timeout_ms;
    int64_t read_timeout_ms;
    int64_t idle_timeout_ms;
    struct tsr_conn_metrics *metrics; /* counters of this listener */
    tsr_httpd_cb on_request;
    void *arg;
};

/* Binds conf->listen and serves it. Copies conf (its strings must outlive the server).
 * Returns 0, or -1 with err set. */
int tsr_httpd_new(struct event_base *base, const struct tsr_httpd_conf *conf,
                  struct tsr_httpd **hp, char *err, size_t errlen);

/* The port it listens on (the one the system chose for ":0"), or 0 once it stopped. */
int tsr_httpd_port(const struct tsr_httpd *h);

/* Stops accepting; open connections are served until they close. */
void tsr_httpd_stop_accepting(struct tsr_httpd *h);

/* Closes every connection (requests awaiting their answer are answered into the void)
 * and frees; *hp becomes NULL. */
void tsr_httpd_free(struct tsr_httpd **hp);

/* The request. Strings are NUL-terminated and live until the answer. */
enum tsr_httpd_method tsr_httpd_method(const struct tsr_httpd_req *req);
const char *tsr_httpd_path(const struct tsr_httpd_req *req);  /* as sent, no query */
const char *tsr_httpd_query(const struct tsr_httpd_req *req); /* after '?', or "" */
/* The first header of that name (case-insensitive), or NULL. */
const char *tsr_httpd_header(const struct tsr_httpd_req *req, const char *name);
/* The body as received (not decoded); valid only inside the request callback. */
const char *tsr_httpd_body(const struct tsr_httpd_req *req, size_t *len);
/* The client: numeric address ("127.0.0.1", "::1") and its sockaddr. */
const char *tsr_httpd_peer(const struct tsr_httpd_req *req);
const struct sockaddr *tsr_httpd_peer_addr(const struct tsr_httpd_req *req);

/* Adds a response header; name and value are copied. */
void tsr_httpd_add_header(struct tsr_httpd_req *req, const char *name, const char *value);

/* Answers and frees req. ctype NULL: no Content-Type (an empty body, say). A request
 * whose client went away meanwhile is just freed. */
void tsr_httpd_reply(struct tsr_httpd_req *req, int status, const char *ctype,
                     const void *body, size_t len);

#endif

/* relay/core/tls_server.h — the server side of TLS for the relay's own listeners.
 *
 * Owns: the OpenSSL context built from tls.cert_file / tls.key_file / tls.client_ca_file
 * (TLS 1.2 and 1.3 only), and its reloading. A reload builds a whole new context and
 * swaps it in only if it loaded cleanly, so a half-written certificate (cert-manager
 * rotates key and certificate as two files) keeps the old one serving; connections
 * already open keep the context they started with. Reloads happen on
 * tsr_tls_server_reload (SIGHUP) and when a watch timer sees either file change.
 * Handshakes that fail are counted and logged (rate-limited) with OpenSSL's reason.
 *
 * Event-loop thread only. */
#ifndef TSR_TLS_SERVER_H
#define TSR_TLS_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct bufferevent;
struct tsr_config;
struct tsr_tls_server;

/* How often the files' identity (inode, size, mtime) is checked. */
#define TSR_TLS_WATCH_MS 2000

/* Loads the certificate, key and (if set) client CA of cf->tls_*. Returns 0, or -1 with
 * err naming the file and OpenSSL's reason. */
int tsr_tls_server_new(const struct tsr_config *cf, struct event_base *base,
                       struct tsr_tls_server **tsp, char *err, size_t errlen);

/* Re-reads the files now. Returns 0 (new context in use, logged) or -1 (old one kept,
 * reason logged). */
int tsr_tls_server_reload(struct tsr_tls_server *ts);

/* A bufferevent doing the server side of a TLS handshake on the accepted socket fd,
 * which it closes when freed. NULL if OpenSSL cannot make a session (fd closed). */
struct bufferevent *tsr_tls_server_accept(struct tsr_tls_server *ts, struct event_base *base,
                                          int fd);

/* Called by a listener when bev (made by tsr_tls_server_accept) ends before its
 * handshake finished (no BEV_EVENT_CONNECTED yet): counts it and logs OpenSSL's reason
 * with peer (at most one line every 10 s, with the number left unlogged). */
void tsr_tls_server_failed(struct tsr_tls_server *ts, struct bufferevent *bev, const char *peer);

/* Handshakes refused since start (bad certificate, wrong protocol, ...). */
uint64_t tsr_tls_server_failures(const struct tsr_tls_server *ts);

void tsr_tls_server_free(struct tsr_tls_server **tsp);

#endif

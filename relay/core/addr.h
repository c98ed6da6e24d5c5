/* relay/core/addr.h — "host:port" listen addresses, as written in the config.
 * Pure functions; any thread. */
#ifndef TSR_ADDR_H
#define TSR_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* Splits "host:port", "[v6]:port" or ":port" (all interfaces). Returns 0, or -1 if the
 * text is not such an address. host gets "0.0.0.0" for ":port". */
int tsr_addr_split(const char *addr, char *host, size_t hostlen, unsigned short *port);

/* The accept queue of a listening socket: as deep as the listeners' default
 * max_connections, so that a burst of that many connects (clients reconnecting after a
 * restart, 0036's 1,000 slow clients) waits in the queue while the loop is busy. Past a
 * full queue Linux answers with SYN cookies and drops handshakes it cannot queue, and
 * a client that writes before its handshake is queued can lose its first bytes: the
 * kernel takes a later data segment as the handshake's end and the stream starts
 * mid-request (a 400 "invalid HTTP method" for "OST /write"). Linux lowers it to
 * net.core.somaxconn (4096 by default). */
#define TSR_ADDR_BACKLOG 4096

/* Opens a non-blocking listening (SOCK_STREAM, backlog TSR_ADDR_BACKLOG) or bound
 * (SOCK_DGRAM) socket with SO_REUSEADDR. Returns the fd, or -1 with err set. The caller
 * owns the fd; it must not listen() on it again (libevent's evconnlistener_new does
 * unless its backlog is 0: -1 means 128). */
int tsr_addr_listen(const char *addr, int socktype, char *err, size_t errlen);

/* The numeric address of sa ("10.0.0.7", "::1"), into out; "?" for other families. */
void tsr_addr_ntop(const struct sockaddr *sa, char *out, size_t outlen);

/* 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
int tsr_addr_is_loopback(const struct sockaddr *sa);

#endif

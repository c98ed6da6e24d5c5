/* relay/core/addr.h — "host:port" listen addresses, as written in the config.
 * Pure functions; any thread. */
#ifndef TSR_ADDR_H
#define TSR_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* Splits "host:port", "[v6]:port" or ":port" (all interfaces). Returns 0, or -1 if the
 * text is not such an address. host gets "0.0.0.0" for ":port". */
int tsr_addr_split(const char *addr, char *host, size_t hostlen, unsigned short *port);

/* Opens a non-blocking listening (SOCK_STREAM) or bound (SOCK_DGRAM) socket with
 * SO_REUSEADDR. Returns the fd, or -1 with err set. The caller owns the fd. */
int tsr_addr_listen(const char *addr, int socktype, char *err, size_t errlen);

/* The numeric address of sa ("10.0.0.7", "::1"), into out; "?" for other families. */
void tsr_addr_ntop(const struct sockaddr *sa, char *out, size_t outlen);

/* 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
int tsr_addr_is_loopback(const struct sockaddr *sa);

#endif

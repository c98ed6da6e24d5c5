#include "relay/core/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int tsr_addr_split(const char *addr, char *host, size_t hostlen, unsigned short *port)
{
    const char *colon, *h = addr;
    size_t hl;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':') return -1;
        h = addr + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon) return -1;
        hl = (size_t)(colon - addr);
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || p < 0 || p > 65535) return -1;
    if (hl == 0) {
        snprintf(host, hostlen, "0.0.0.0");
    } else {
        if (hl >= hostlen) return -1;
        memcpy(host, h, hl);
        host[hl] = '\0';
    }
    *port = (unsigned short)p;
    return 0;
}

int tsr_addr_listen(const char *addr, int socktype, char *err, size_t errlen)
{
    char host[256], portstr[8];
    unsigned short port;
    struct addrinfo hints = {0}, *res = NULL;
    int fd = -1, one = 1;

    if (tsr_addr_split(addr, host, sizeof(host), &port)) {
        snprintf(err, errlen, "invalid listen address '%s': want host:port", addr);
        return -1;
    }
    snprintf(portstr, sizeof(portstr), "%u", port);
    hints.ai_socktype = socktype;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc) {
        snprintf(err, errlen, "cannot resolve listen address '%s': %s", addr, gai_strerror(rc));
        return -1;
    }
    fd = socket(res->ai_family, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) goto syserr;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) goto syserr;
    if (socktype == SOCK_STREAM && listen(fd, TSR_ADDR_BACKLOG) != 0) goto syserr;
    freeaddrinfo(res);
    return fd;
syserr:
    snprintf(err, errlen, "cannot listen on '%s': %s", addr, strerror(errno));
    if (fd >= 0) close(fd);
    freeaddrinfo(res);
    return -1;
}

void tsr_addr_ntop(const struct sockaddr *sa, char *out, size_t outlen)
{
    const void *a = NULL;
    if (sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (!a || !inet_ntop(sa->sa_family, a, out, (socklen_t)outlen)) snprintf(out, outlen, "?");
}

int tsr_addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a6) || (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
    }
    return 0;
}

#include "relay/ingest/udp.h"

#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "relay/core/addr.h"
#include "relay/core/clock.h"
#include "relay/core/lineproto.h"
#include "relay/core/log.h"
#include "relay/core/metrics.h"
#include "relay/ingest/influx_rules.h"
#include "relay/ingest/lines.h"
#include "relay/ingest/unacked.h"
#include "relay/kafka/kafka.h"

#define DATAGRAM_MAX         65536
#define DATAGRAMS_PER_WAKEUP 64 /* keeps the loop fair to HTTP clients */

struct tsr_ingest_udp {
    const struct tsr_config *cf;
    const struct tsr_udp_conf *uc;
    struct tsr_kafka *k;
    struct tsr_unacked *records;
    struct tsr_lp_opts opts;
    int fd;
    struct event *ev;
    int reading;
    char *buf;
    struct tsr_lines lines;
    const char *peer; /* of the datagram being taken */
};

static struct tsr_listener_metrics *lm(void)
{
    return &tsr_metrics.listener[TSR_LISTENER_UDP];
}

static void set_reading(void *arg, int on)
{
    struct tsr_ingest_udp *iu = arg;
    if (!iu->ev || on == iu->reading) return;
    iu->reading = on;
    if (on)
        event_add(iu->ev, NULL);
    else
        event_del(iu->ev);
}

static void reject(void *arg, const char *line, size_t len, long line_no, const char *reason)
{
    struct tsr_ingest_udp *iu = arg;
    lm()->points_rejected++;
    tsr_debug("udp %s: line %ld from %s rejected: %s", iu->uc->listen, line_no, iu->peer, reason);
    tsr_kafka_dead_letter(iu->k, line, len, reason, tsr_listener_names[TSR_LISTENER_UDP], line_no,
                          iu->uc->database, iu->peer);
}

static void take(void *arg, const char *line, size_t len, uint64_t series)
{
    struct tsr_ingest_udp *iu = arg;
    tsr_unacked_add(iu->records, line, len, series);
}

static void take_datagram(struct tsr_ingest_udp *iu, const char *p, size_t n, const char *peer)
{
    iu->peer = peer;
    iu->opts.now_ns = tsr_clock_now_ns();
    tsr_lines_take(&iu->lines, p, n);
}

/* Reads up to max datagrams; returns how many. */
static int read_datagrams(struct tsr_ingest_udp *iu, int max)
{
    int i;
    if (tsr_unacked_ready(iu->records) != 0) return 0;
    for (i = 0; i < max && !tsr_unacked_overloaded(iu->records); i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        ssize_t n = recvfrom(iu->fd, iu->buf, DATAGRAM_MAX, 0, (struct sockaddr *)&ss, &sl);
        if (n < 0) break;
        char peer[64] = "?";
        tsr_addr_ntop((struct sockaddr *)&ss, peer, sizeof(peer));
        lm()->requests++;
        take_datagram(iu, iu->buf, (size_t)n, peer);
    }
    return i;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_ingest_udp *iu = arg;
    read_datagrams(iu, DATAGRAMS_PER_WAKEUP);
    tsr_unacked_check(iu->records);
}

int tsr_ingest_udp_new(const struct tsr_config *cf, const struct tsr_udp_conf *uc,
                       struct event_base *base, struct tsr_kafka *k, struct tsr_durable *dur,
                       struct tsr_shaper *shaper, struct tsr_ingest_udp **iup, char *err,
                       size_t errlen)
{
    struct tsr_ingest_udp *iu = calloc(1, sizeof(*iu));
    if (!iu) abort();
    iu->cf = cf;
    iu->uc = uc;
    iu->k = k;
    iu->fd = -1;
    iu->buf = malloc(DATAGRAM_MAX);
    if (!iu->buf) abort();
    tsr_precision_parse(uc->precision, &iu->opts.precision); /* the schema checked it */
    iu->opts.max_line_bytes = (size_t)cf->ingest_max_line_bytes;
    iu->opts.max_tags = (unsigned)cf->ingest_max_tags;
    iu->opts.reject_unsigned = tsr_influx_rules_no_unsigned(cf);
    iu->lines = (struct tsr_lines){.opts = &iu->opts,
                                   .shaper = shaper,
                                   .db = uc->database,
                                   .take = take,
                                   .refuse = reject,
                                   .arg = iu};
    iu->records = tsr_unacked_new(cf, base, dur, TSR_LISTENER_UDP, uc->database,
                                  uc->retention_policy, set_reading, iu);
    iu->fd = tsr_addr_listen(uc->listen, SOCK_DGRAM, err, errlen);
    if (iu->fd < 0) {
        tsr_ingest_udp_free(&iu);
        return -1;
    }
    int rcvbuf = (int)uc->read_buffer;
    setsockopt(iu->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    iu->ev = event_new(base, iu->fd, EV_READ | EV_PERSIST, on_readable, iu);
    event_add(iu->ev, NULL);
    iu->reading = 1;
    *iup = iu;
    return 0;
}

void tsr_ingest_udp_drain(struct tsr_ingest_udp *iu)
{
    if (iu->ev) {
        /* Datagrams already in the socket buffer were sent to us: take them. */
        while (read_datagrams(iu, DATAGRAMS_PER_WAKEUP) > 0) {
        }
        event_free(iu->ev);
        iu->ev = NULL;
    }
    tsr_unacked_drain(iu->records);
}

int tsr_ingest_udp_pending(const struct tsr_ingest_udp *iu)
{
    return tsr_unacked_pending(iu->records);
}

void tsr_ingest_udp_free(struct tsr_ingest_udp **iup)
{
    struct tsr_ingest_udp *iu = *iup;
    if (!iu) return;
    if (iu->ev) event_free(iu->ev);
    if (iu->fd >= 0) close(iu->fd);
    tsr_unacked_free(&iu->records);
    tsr_lines_free(&iu->lines);
    free(iu->buf);
    free(iu);
    *iup = NULL;
}

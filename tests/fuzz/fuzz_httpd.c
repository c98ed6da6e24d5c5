/* tests/fuzz/fuzz_httpd.c — libFuzzer target for relay/core/httpd.c (with http-parser)
 * and the admin listener's routing (relay/admin/admin_auth.c, evhttp_parse_query_str).
 *
 * The input is what one client sends on one connection: request heads, bodies,
 * pipelined requests, garbage. It goes through a real loopback connection to a server
 * with small limits (4 KiB heads, 64 KiB bodies, 128 KiB being read), then the client
 * half-closes and the loop runs until the server has closed too. Besides the
 * sanitizers, it checks:
 *   - every request handed over has a path that starts with '/' (or is "*" / a full URL
 *     as sent), no '?' in it, and a query that is a NUL-terminated string;
 *   - its body is no larger than the limit, and the reading budget is back to 0 after
 *     every request and after the connection;
 *   - the server answers every request it handed over exactly once, and closes the
 *     connection: nothing is left open once the client is gone.
 * Build and run with tests/fuzz/run.sh. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "relay/admin/admin_auth.h"
#include "relay/core/httpd.h"
#include "relay/core/log.h"
#include "relay/core/metrics.h"
#include "tests/fuzz/fuzz.h"

static struct event_base *base;
static struct tsr_httpd *srv;
static struct tsr_config cf; /* no admin tokens: routing decides by path and method */
static int handed, answered;

static void on_request(struct tsr_httpd_req *req, void *arg)
{
    const char *path = tsr_httpd_path(req), *query = tsr_httpd_query(req);
    size_t len;
    tsr_httpd_body(req, &len);
    CHECK(strchr(path, '?') == NULL);
    CHECK(query != NULL);
    CHECK(len <= 64 * 1024);
    handed++;
    struct evkeyvalq q = {0};
    evhttp_parse_query_str(query, &q);
    evhttp_clear_headers(&q);
    const struct tsr_admin_token *who;
    const char *why;
    int post = tsr_httpd_method(req) == TSR_HTTPD_POST;
    int refused = tsr_admin_authorize(&cf, tsr_admin_need(&cf, post, path),
                                      tsr_httpd_header(req, "Authorization"), 1, &who, &why);
    tsr_httpd_add_header(req, "X-Seen", tsr_httpd_header(req, "Host") ? "host" : "none");
    answered++;
    tsr_httpd_reply(req, refused ? refused : 200, "text/plain", path, strlen(path));
}

static void setup(void)
{
    tsr_log_min = TSR_LOG_ERROR + 1; /* refusals are the point here, not news */
    base = event_base_new();
    struct tsr_httpd_conf hc = {
        .name = "fuzz",
        .listen = "127.0.0.1:0",
        .max_connections = 16,
        .max_header_bytes = 4096,
        .max_body_bytes = 64 * 1024,
        .max_reading_bytes = 128 * 1024,
        .header_timeout_ms = 2000,
        .read_timeout_ms = 2000,
        .idle_timeout_ms = 2000,
        .metrics = &tsr_metrics.conn[TSR_ENDPOINT_ADMIN],
        .on_request = on_request,
    };
    char err[256];
    CHECK(tsr_httpd_new(base, &hc, &srv, err, sizeof(err)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!base) setup();
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)tsr_httpd_port(srv))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Loopback ports can run short in a long run, and a backlog fill: that is the
     * machine, not a finding. A socket whose connect failed is not reused. */
    int fd = -1;
    for (int tries = 0;; tries++) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(fd >= 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) break;
        int e = errno;
        close(fd);
        if (tries == 1000) {
            fprintf(stderr, "connect to the server: %s\n", strerror(e));
            CHECK(tries < 1000);
        }
        event_base_loop(base, EVLOOP_NONBLOCK);
        usleep(1000);
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    handed = answered = 0;
    size_t off = 0;
    int eof = 0;
    char buf[65536];
    /* Until the server closes: feed the input, then half-close, and drain answers. */
    for (int rounds = 0; !eof && rounds < 100000; rounds++) {
        if (off < size) {
            ssize_t w = send(fd, data + off, size - off, MSG_NOSIGNAL);
            if (w > 0) off += (size_t)w;
            else if (w < 0 && errno != EAGAIN) off = size; /* the server is gone */
            if (off == size) shutdown(fd, SHUT_WR);
        } else if (size == 0 && rounds == 0) {
            shutdown(fd, SHUT_WR);
        }
        event_base_loop(base, EVLOOP_NONBLOCK);
        for (;;) {
            ssize_t r = recv(fd, buf, sizeof(buf), 0);
            if (r > 0) continue;
            if (r == 0 || (r < 0 && errno != EAGAIN)) eof = 1;
            break;
        }
    }
    CHECK(eof);
    /* Closed with a reset: tens of thousands of runs would otherwise use up the
     * ephemeral ports in TIME_WAIT, and connect() would fail. */
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
    /* The server frees a connection on its side's events: give it a few more turns. */
    for (int i = 0; i < 100 && tsr_metrics.conn[TSR_ENDPOINT_ADMIN].open > 0; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
    CHECK(answered == handed);
    CHECK(tsr_metrics.conn[TSR_ENDPOINT_ADMIN].reading_bytes == 0);
    CHECK(tsr_metrics.conn[TSR_ENDPOINT_ADMIN].open == 0);
    return 0;
}

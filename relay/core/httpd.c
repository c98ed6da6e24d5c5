#include "relay/core/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "relay/core/addr.h"
#include "relay/core/buf.h"
#include "relay/core/log.h"
#include "relay/core/metrics.h"
#include "relay/core/tls_server.h"

/* Bodies above this size are "large": together they may hold only LARGE_SHARE of
 * max_reading_bytes. */
#define LARGE_BODY (1 << 20)
#define LARGE_SHARE(max) ((max) / 4 * 3)
#define MAX_HEADERS 100
/* After a refusal with the body still coming, what the client sends is read and dropped
 * (as nginx's lingering close does) until it closes, goes quiet for LINGER_IDLE_MS or
 * LINGER_MAX_MS have passed: closing with unread data would send a reset, which can
 * destroy the answer before a busy client has read it. */
#define LINGER_IDLE_MS 5000
#define LINGER_MAX_MS 30000
/* A listener that cannot accept (out of file descriptors) rests this long. */
#define ACCEPT_REST_MS 100
#define REFUSAL_LOG_EVERY_S 10

enum conn_state {
    ST_HEAD,    /* waiting for, or reading, a request line and headers */
    ST_BODY,    /* reading a body */
    ST_HANDLER, /* the request is with the callback */
    ST_CLOSING, /* writing the last answer, then closing */
    ST_LINGER,  /* answer sent; reading and dropping what the client still sends */
};

struct hdr {
    size_t name, name_len, val, val_len; /* offsets into req->hdrs */
};

struct conn;

struct tsr_httpd_req {
    struct conn *c; /* NULL once the connection is gone */
    enum tsr_httpd_method method;
    struct tsr_buf url; /* path NUL query NUL */
    size_t query_off;
    struct tsr_buf hdrs;
    struct hdr h[MAX_HEADERS];
    int nh;
    int last_was_value;
    int64_t head_bytes;
    struct tsr_buf body;
    int64_t reserved; /* of max_reading_bytes */
    int large;        /* reserved from the large bodies' share */
    struct tsr_buf out; /* response headers */
    int keep_alive;
    char peer[INET6_ADDRSTRLEN];
    struct sockaddr_storage sa;
};

struct conn {
    struct tsr_httpd *h;
    struct conn *prev, *next;
    struct bufferevent *bev;
    int fd;
    int tls;
    int tls_up; /* its handshake finished */
    http_parser parser;
    enum conn_state state;
    struct event *timer;
    struct tsr_httpd_req *req;
    int in_parse;   /* inside the read loop: an answer must not re-enter it */
    int refuse;     /* a status decided inside a parser callback */
    const char *refuse_msg;
    int linger;     /* closing while the client may still send (a body, a head): linger */
    int seen_bytes; /* this connection has sent a request's first byte */
    struct timespec linger_end;
    char peer[INET6_ADDRSTRLEN];
    struct sockaddr_storage sa;
};

struct tsr_httpd {
    struct tsr_httpd_conf conf;
    struct event_base *base;
    struct evconnlistener *lev;
    struct event *rest;
    struct conn *conns;
    int64_t nconns;
    int64_t reading, reading_large;
    struct tsr_log_limit refusals;
};

static const http_parser_settings settings;

static const char *reason_phrase(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

static void arm(struct conn *c, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

static void release_body(struct tsr_httpd_req *req, struct tsr_httpd *h)
{
    h->reading -= req->reserved;
    if (req->large) h->reading_large -= req->reserved;
    if (h->conf.metrics) h->conf.metrics->reading_bytes = h->reading;
    req->reserved = 0;
    req->large = 0;
    tsr_buf_free(&req->body);
}

static void req_free(struct tsr_httpd_req *req)
{
    tsr_buf_free(&req->url);
    tsr_buf_free(&req->hdrs);
    tsr_buf_free(&req->body);
    tsr_buf_free(&req->out);
    free(req);
}

static void conn_free(struct conn *c)
{
    struct tsr_httpd *h = c->h;
    if (c->req) {
        release_body(c->req, h);
        if (c->state == ST_HANDLER)
            c->req->c = NULL; /* the callback still answers it, into the void */
        else
            req_free(c->req);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    h->nconns--;
    if (h->conf.metrics) h->conf.metrics->open = h->nconns;
    event_free(c->timer);
    bufferevent_free(c->bev);
    free(c);
}

static struct tsr_httpd_req *req_new(struct conn *c)
{
    struct tsr_httpd_req *req = calloc(1, sizeof(*req));
    if (!req) abort();
    req->c = c;
    memcpy(req->peer, c->peer, sizeof(req->peer));
    req->sa = c->sa;
    return req;
}

/* Writes status line, headers (extra: more header lines, "" for none) and body of an
 * answer to c. */
static void write_answer(struct conn *c, int status, const char *ctype, const char *extra,
                         int keep_alive, const void *body, size_t len, int head_only)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status, reason_phrase(status));
    if (ctype) evbuffer_add_printf(out, "Content-Type: %s\r\n", ctype);
    evbuffer_add(out, extra, strlen(extra));
    /* RFC 9110: no Content-Length (and no body) on a 204. */
    if (status != 204) evbuffer_add_printf(out, "Content-Length: %zu\r\n", len);
    evbuffer_add_printf(out, "%s\r\n", keep_alive ? "" : "Connection: close\r\n");
    if (len && !head_only && status != 204) evbuffer_add(out, body, len);
}

/* Ends c after what is queued has been written (lingering if a body is still coming). */
static void close_after_write(struct conn *c)
{
    c->state = ST_CLOSING;
    bufferevent_disable(c->bev, EV_READ);
    bufferevent_enable(c->bev, EV_WRITE);
    arm(c, c->h->conf.read_timeout_ms);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        bufferevent_trigger(c->bev, EV_WRITE,
                            BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* An answer the server itself gives (limits, bad requests, timeouts); closes. */
static void refuse(struct conn *c, int status, const char *msg, int retry_after)
{
    char body[256], extra[32] = "";
    int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", msg);
    if (retry_after) snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", retry_after);
    if (c->req) release_body(c->req, c->h);
    write_answer(c, status, "application/json", extra, 0, body, (size_t)n, 0);
    if (c->h->conf.metrics) c->h->conf.metrics->refused_requests++;
    close_after_write(c);
}

static void log_refusal(struct tsr_httpd *h, const char *peer, const char *what)
{
    tsr_log_limited(&h->refusals, TSR_LOG_WARN, "%s: %s refused: %s", h->conf.name, peer, what);
}

/* ---- parser callbacks --------------------------------------------------------------- */

static int head_grow(struct conn *c, size_t n)
{
    c->req->head_bytes += (int64_t)n;
    if (c->req->head_bytes <= c->h->conf.max_header_bytes) return 0;
    c->refuse = 431;
    c->refuse_msg = "request line and headers too large";
    return -1;
}

static int on_message_begin(http_parser *p)
{
    struct conn *c = p->data;
    if (!c->req) c->req = req_new(c);
    if (!c->seen_bytes) {
        /* A keep-alive connection's next request: from now on the header timeout. */
        c->seen_bytes = 1;
        arm(c, c->h->conf.header_timeout_ms);
    }
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    struct conn *c = p->data;
    if (head_grow(c, n)) return -1;
    tsr_buf_append(&c->req->url, at, n);
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    struct conn *c = p->data;
    struct tsr_httpd_req *r = c->req;
    if (head_grow(c, n)) return -1;
    if (r->nh == 0 || r->last_was_value) {
        if (r->nh == MAX_HEADERS) {
            c->refuse = 431;
            c->refuse_msg = "too many headers";
            return -1;
        }
        if (r->nh) tsr_buf_putc(&r->hdrs, '\0');
        r->h[r->nh++] = (struct hdr){.name = r->hdrs.len};
        r->last_was_value = 0;
    }
    tsr_buf_append(&r->hdrs, at, n);
    r->h[r->nh - 1].name_len += n;
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    struct conn *c = p->data;
    struct tsr_httpd_req *r = c->req;
    if (head_grow(c, n)) return -1;
    if (r->nh == 0) return 0;
    if (!r->last_was_value) {
        tsr_buf_putc(&r->hdrs, '\0');
        r->h[r->nh - 1].val = r->hdrs.len;
        r->last_was_value = 1;
    }
    tsr_buf_append(&r->hdrs, at, n);
    r->h[r->nh - 1].val_len += n;
    return 0;
}

/* Takes n bytes of max_reading_bytes for a body. */
static int reserve(struct tsr_httpd *h, struct tsr_httpd_req *req, int64_t n)
{
    int64_t max = h->conf.max_reading_bytes;
    int large = req->large || req->reserved + n > LARGE_BODY;
    if (h->reading + n > max) return -1;
    if (large) {
        int64_t move = req->large ? n : req->reserved + n;
        if (h->reading_large + move > LARGE_SHARE(max)) return -1;
        h->reading_large += move;
        req->large = 1;
    }
    h->reading += n;
    req->reserved += n;
    if (h->conf.metrics) h->conf.metrics->reading_bytes = h->reading;
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct conn *c = p->data;
    struct tsr_httpd *h = c->h;
    struct tsr_httpd_req *r = c->req;
    tsr_buf_putc(&r->hdrs, '\0');
    tsr_buf_putc(&r->url, '\0');
    char *q = memchr(r->url.data, '?', r->url.len);
    if (q) {
        *q = '\0';
        r->query_off = (size_t)(q - r->url.data) + 1;
    } else {
        tsr_buf_putc(&r->url, '\0');
        r->query_off = r->url.len - 1;
    }
    r->method = p->method == HTTP_GET    ? TSR_HTTPD_GET
                : p->method == HTTP_HEAD ? TSR_HTTPD_HEAD
                : p->method == HTTP_POST ? TSR_HTTPD_POST
                                         : TSR_HTTPD_OTHER;
    /* Upgrade (h2c, websocket) and CONNECT are not served: answer, then close. */
    r->keep_alive = http_should_keep_alive(p) && !p->upgrade && !(p->flags & F_UPGRADE);
    int chunked = (p->flags & F_CHUNKED) != 0;
    int64_t len = (p->flags & F_CONTENTLENGTH) ? (int64_t)p->content_length : 0;
    if (len > h->conf.max_body_bytes) {
        c->refuse = 413;
        c->refuse_msg = "request body too large";
        return -1;
    }
    if ((len > 0 || chunked) && reserve(h, r, len) != 0) {
        c->refuse = 503;
        c->refuse_msg = "relay busy: too many request bodies being received, retry";
        if (h->conf.metrics) h->conf.metrics->reading_refused++;
        log_refusal(h, c->peer, "request bodies being received reached max_reading_bytes");
        return -1;
    }
    if (len > 0) tsr_buf_reserve(&r->body, (size_t)len);
    const char *expect = tsr_httpd_header(r, "Expect");
    if ((len > 0 || chunked) && expect && strcasecmp(expect, "100-continue") == 0)
        evbuffer_add_printf(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n");
    if (len > 0 || chunked) {
        c->state = ST_BODY;
        arm(c, h->conf.read_timeout_ms);
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct conn *c = p->data;
    struct tsr_httpd_req *r = c->req;
    if ((int64_t)(r->body.len + n) > c->h->conf.max_body_bytes) {
        c->refuse = 413;
        c->refuse_msg = "request body too large";
        return -1;
    }
    if ((int64_t)(r->body.len + n) > r->reserved &&
        reserve(c->h, r, (int64_t)(r->body.len + n) - r->reserved) != 0) {
        c->refuse = 503;
        c->refuse_msg = "relay busy: too many request bodies being received, retry";
        if (c->h->conf.metrics) c->h->conf.metrics->reading_refused++;
        return -1;
    }
    tsr_buf_append(&r->body, at, n);
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct conn *c = p->data;
    c->state = ST_HANDLER;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- the connection ----------------------------------------------------------------- */

static void dispatch(struct conn *c)
{
    struct tsr_httpd *h = c->h;
    struct tsr_httpd_req *req = c->req;
    bufferevent_disable(c->bev, EV_READ);
    evtimer_del(c->timer);
    h->conf.on_request(req, h->conf.arg);
    /* req may be answered and freed by now; its body is released either way. */
    if (c->req == req) release_body(req, h);
}

/* Feeds what has arrived to the parser, request after request, until one is with its
 * callback or the input is used up. */
static void parse_input(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    c->in_parse = 1;
    while (c->state == ST_HEAD || c->state == ST_BODY) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0) break;
        size_t done = http_parser_execute(&c->parser, &settings, v.iov_base, v.iov_len);
        evbuffer_drain(in, done);
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        if (e == HPE_OK && done == 0) e = HPE_UNKNOWN; /* no progress: never spin */
        if (e == HPE_PAUSED) {
            http_parser_pause(&c->parser, 0);
            dispatch(c);
            /* Answered from inside the callback: back in ST_HEAD, go on. */
            continue;
        }
        if (e != HPE_OK) {
            c->linger = 1;
            if (c->refuse)
                refuse(c, c->refuse, c->refuse_msg, c->refuse == 503 ? 1 : 0);
            else
                refuse(c, 400, http_errno_description(e), 0);
            break;
        }
        if (c->state == ST_BODY) arm(c, c->h->conf.read_timeout_ms);
    }
    c->in_parse = 0;
    if (c->state == ST_HEAD || c->state == ST_BODY) bufferevent_enable(c->bev, EV_READ);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    if (c->state == ST_LINGER) {
        evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > c->linger_end.tv_sec ||
            (now.tv_sec == c->linger_end.tv_sec && now.tv_nsec >= c->linger_end.tv_nsec))
            conn_free(c);
        else
            arm(c, LINGER_IDLE_MS);
        return;
    }
    parse_input(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    if (c->state != ST_CLOSING) return;
    if (evbuffer_get_length(bufferevent_get_output(bev)) > 0) return;
    if (!c->linger) {
        conn_free(c);
        return;
    }
    /* The body (or the head) is still on its way: say we are done, and drop what comes
     * until the client closes or the linger time ends. */
    c->state = ST_LINGER;
    if (!c->tls) shutdown(c->fd, SHUT_WR);
    evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
    bufferevent_enable(bev, EV_READ);
    clock_gettime(CLOCK_MONOTONIC, &c->linger_end);
    c->linger_end.tv_sec += LINGER_MAX_MS / 1000;
    arm(c, LINGER_IDLE_MS);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        c->tls_up = 1; /* the TLS handshake finished */
        return;
    }
    if (c->tls && !c->tls_up) {
        tsr_tls_server_failed(c->h->conf.tls, bev, c->peer);
        if (c->h->conf.metrics) c->h->conf.metrics->tls_failed++;
    }
    /* In ST_HANDLER the answer is still to come: the request outlives its connection. */
    conn_free(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    struct tsr_httpd *h = c->h;
    switch (c->state) {
    case ST_HEAD:
        if (!c->seen_bytes) {
            conn_free(c); /* a keep-alive connection idle between requests */
            return;
        }
        if (h->conf.metrics) h->conf.metrics->timed_out++;
        if (c->req) {
            log_refusal(h, c->peer, "request head not complete within header_timeout");
            /* A slow client is still sending its head: closing on it would reset the
             * connection, and the reset can destroy the 408 before the client reads it. */
            c->linger = 1;
            refuse(c, 408, "request head not complete in time", 0);
            return;
        }
        conn_free(c); /* a new connection that sent nothing (or stalled its TLS handshake) */
        return;
    case ST_BODY:
        if (h->conf.metrics) h->conf.metrics->timed_out++;
        log_refusal(h, c->peer, "request body stalled longer than read_timeout");
        c->linger = 1;
        refuse(c, 408, "request body stalled", 0);
        return;
    case ST_HANDLER:
        return;
    case ST_CLOSING:
    case ST_LINGER:
        conn_free(c);
        return;
    }
}

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct tsr_httpd *h = arg;
    char peer[INET6_ADDRSTRLEN] = "?";
    tsr_addr_ntop(sa, peer, sizeof(peer));
    if (h->nconns >= h->conf.max_connections) {
        if (h->conf.metrics) h->conf.metrics->refused_connections++;
        log_refusal(h, peer, "max_connections reached");
        if (!h->conf.tls) {
            static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"
                                       "Content-Type: application/json\r\nContent-Length: 48\r\n"
                                       "Connection: close\r\n\r\n"
                                       "{\"error\":\"relay busy: too many connections\"}\n  ";
            ssize_t w = send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
            (void)w;
        }
        close(fd);
        return;
    }
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) abort();
    c->h = h;
    c->fd = fd;
    memcpy(&c->sa, sa, (size_t)salen < sizeof(c->sa) ? (size_t)salen : sizeof(c->sa));
    memcpy(c->peer, peer, sizeof(c->peer));
    if (h->conf.tls) {
        c->tls = 1;
        c->bev = tsr_tls_server_accept(h->conf.tls, h->base, fd);
    } else {
        c->bev = bufferevent_socket_new(h->base, fd, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!c->bev) {
        free(c);
        return;
    }
    c->timer = evtimer_new(h->base, on_timer, c);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->state = ST_HEAD;
    c->next = h->conns;
    if (h->conns) h->conns->prev = c;
    h->conns = c;
    h->nconns++;
    if (h->conf.metrics) {
        h->conf.metrics->open = h->nconns;
        h->conf.metrics->accepted++;
    }
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    /* The first request (and a TLS handshake before it) within the header timeout. */
    c->seen_bytes = 1;
    arm(c, h->conf.header_timeout_ms);
}

static void on_rest_over(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_httpd *h = arg;
    if (h->lev) evconnlistener_enable(h->lev);
}

static void on_accept_error(struct evconnlistener *lev, void *arg)
{
    struct tsr_httpd *h = arg;
    int e = EVUTIL_SOCKET_ERROR();
    log_refusal(h, "a new client", evutil_socket_error_to_string(e));
    evconnlistener_disable(lev);
    struct timeval tv = {0, ACCEPT_REST_MS * 1000};
    evtimer_add(h->rest, &tv);
}

/* ---- public ------------------------------------------------------------------------- */

int tsr_httpd_new(struct event_base *base, const struct tsr_httpd_conf *conf,
                  struct tsr_httpd **hp, char *err, size_t errlen)
{
    int fd = tsr_addr_listen(conf->listen, SOCK_STREAM, err, errlen);
    if (fd < 0) return -1;
    struct tsr_httpd *h = calloc(1, sizeof(*h));
    if (!h) abort();
    h->conf = *conf;
    h->base = base;
    h->refusals.every_s = REFUSAL_LOG_EVERY_S;
    /* Backlog 0: keep tsr_addr_listen's queue (-1 would listen again with 128). */
    h->lev = evconnlistener_new(base, on_accept, h, LEV_OPT_CLOSE_ON_FREE, 0, fd);
    if (!h->lev) {
        close(fd);
        free(h);
        snprintf(err, errlen, "cannot serve HTTP on '%s'", conf->listen);
        return -1;
    }
    evconnlistener_set_error_cb(h->lev, on_accept_error);
    h->rest = evtimer_new(base, on_rest_over, h);
    *hp = h;
    return 0;
}

int tsr_httpd_port(const struct tsr_httpd *h)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (!h->lev || getsockname(evconnlistener_get_fd(h->lev), (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

void tsr_httpd_stop_accepting(struct tsr_httpd *h)
{
    if (h->lev) evconnlistener_free(h->lev);
    h->lev = NULL;
}

void tsr_httpd_free(struct tsr_httpd **hp)
{
    struct tsr_httpd *h = *hp;
    if (!h) return;
    tsr_httpd_stop_accepting(h);
    while (h->conns) conn_free(h->conns);
    event_free(h->rest);
    free(h);
    *hp = NULL;
}

enum tsr_httpd_method tsr_httpd_method(const struct tsr_httpd_req *req)
{
    return req->method;
}

const char *tsr_httpd_path(const struct tsr_httpd_req *req)
{
    return req->url.data;
}

const char *tsr_httpd_query(const struct tsr_httpd_req *req)
{
    return req->url.data + req->query_off;
}

const char *tsr_httpd_header(const struct tsr_httpd_req *req, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < req->nh; i++) {
        const struct hdr *h = &req->h[i];
        if (h->name_len == n && strncasecmp(req->hdrs.data + h->name, name, n) == 0)
            return h->val ? req->hdrs.data + h->val : "";
    }
    return NULL;
}

const char *tsr_httpd_body(const struct tsr_httpd_req *req, size_t *len)
{
    *len = req->body.len;
    return req->body.len ? req->body.data : "";
}

const char *tsr_httpd_peer(const struct tsr_httpd_req *req)
{
    return req->peer;
}

const struct sockaddr *tsr_httpd_peer_addr(const struct tsr_httpd_req *req)
{
    return (const struct sockaddr *)&req->sa;
}

void tsr_httpd_add_header(struct tsr_httpd_req *req, const char *name, const char *value)
{
    tsr_buf_printf(&req->out, "%s: %s\r\n", name, value);
}

void tsr_httpd_reply(struct tsr_httpd_req *req, int status, const char *ctype,
                     const void *body, size_t len)
{
    struct conn *c = req->c;
    if (!c) {
        req_free(req);
        return;
    }
    struct tsr_httpd *h = c->h;
    if (!h->lev) req->keep_alive = 0; /* shutting down: let the client go elsewhere */
    tsr_buf_putc(&req->out, '\0');
    write_answer(c, status, ctype, req->out.data, req->keep_alive, body, len,
                 req->method == TSR_HTTPD_HEAD);
    int keep = req->keep_alive;
    release_body(req, h);
    req_free(req);
    c->req = NULL;
    if (!keep) {
        close_after_write(c);
        return;
    }
    c->state = ST_HEAD;
    c->seen_bytes = 0;
    arm(c, h->conf.idle_timeout_ms);
    if (!c->in_parse) parse_input(c);
}

#include "relay/core/httpc.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "relay/core/buf.h"
#include "relay/core/tcpsend.h"

#define RESP_BODY_MAX (64 * 1024)

struct tsr_httpc {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    int active;
    struct xfer *xfers;  /* in flight, so free can cancel them */
    struct sock *socks;  /* watched, so free can release what curl leaves behind */
    struct tsr_tcpsend *tcp; /* tcp:// URLs (relay/core/tcpsend.h) */
};

/* One request in flight. */
struct xfer {
    struct tsr_httpc *h;
    CURL *easy;
    struct curl_slist *headers;
    tsr_httpc_done_fn *done;
    void *opaque;
    struct tsr_buf body;
    long retry_after_s;
    char errbuf[CURL_ERROR_SIZE];
    struct xfer *prev, *next;
};

/* The libevent side of one curl socket. */
struct sock {
    struct event *ev;
    struct sock *prev, *next;
};

static void xfer_unlink(struct tsr_httpc *h, struct xfer *x)
{
    if (x->prev) x->prev->next = x->next;
    else h->xfers = x->next;
    if (x->next) x->next->prev = x->prev;
}

/* Detaches x from curl, runs its callback with resp, and frees it. */
static void xfer_finish(struct tsr_httpc *h, struct xfer *x, struct tsr_httpc_resp *resp)
{
    tsr_buf_putc(&x->body, '\0');
    resp->body = x->body.data;
    resp->body_len = x->body.len - 1;
    curl_multi_remove_handle(h->multi, x->easy);
    xfer_unlink(h, x);
    h->active--;
    x->done(x->opaque, resp);
    curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    tsr_buf_free(&x->body);
    free(x);
}

static void check_done(struct tsr_httpc *h)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) continue;
        struct xfer *x;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        struct tsr_httpc_resp resp = {.retry_after_s = x->retry_after_s};
        long code = 0;
        if (msg->data.result == CURLE_OK) {
            curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
            resp.status = (int)code;
        } else {
            resp.error = x->errbuf[0] ? x->errbuf : curl_easy_strerror(msg->data.result);
        }
        curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &resp.seconds);
        xfer_finish(h, x, &resp);
    }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_httpc *h = arg;
    int running, flags = (what & EV_READ ? CURL_CSELECT_IN : 0) |
                         (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    curl_multi_socket_action(h->multi, fd, flags, &running);
    check_done(h);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_httpc *h = arg;
    int running;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

/* libcurl tells which sockets to watch for what. */
static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct tsr_httpc *h = userp;
    struct sock *sk = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (sk) {
            event_free(sk->ev);
            if (sk->prev) sk->prev->next = sk->next;
            else h->socks = sk->next;
            if (sk->next) sk->next->prev = sk->prev;
            free(sk);
            curl_multi_assign(h->multi, s, NULL);
        }
        return 0;
    }
    short kind = (short)(EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
                         (what & CURL_POLL_OUT ? EV_WRITE : 0));
    if (!sk) {
        sk = calloc(1, sizeof(*sk));
        if (!sk) abort();
        sk->next = h->socks;
        if (h->socks) h->socks->prev = sk;
        h->socks = sk;
        curl_multi_assign(h->multi, s, sk);
    } else {
        event_free(sk->ev);
    }
    sk->ev = event_new(h->base, s, kind, on_socket_event, h);
    event_add(sk->ev, NULL);
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct tsr_httpc *h = userp;
    if (timeout_ms < 0) {
        evtimer_del(h->timer);
    } else {
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        evtimer_add(h->timer, &tv);
    }
    return 0;
}

static size_t write_cb(char *p, size_t size, size_t n, void *userp)
{
    struct xfer *x = userp;
    size_t len = size * n;
    if (x->body.len < RESP_BODY_MAX) {
        size_t take = len < RESP_BODY_MAX - x->body.len ? len : RESP_BODY_MAX - x->body.len;
        tsr_buf_append(&x->body, p, take);
    }
    return len;
}

static size_t header_cb(char *p, size_t size, size_t n, void *userp)
{
    struct xfer *x = userp;
    size_t len = size * n;
    /* Retry-After in seconds; the HTTP-date form is rare from TSDBs and treated as 1s. */
    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        char *end;
        long v = strtol(p + 12, &end, 10);
        x->retry_after_s = end != p + 12 && v >= 0 ? v : 1;
    }
    return len;
}

int tsr_httpc_new(struct event_base *base, struct tsr_httpc **hp)
{
    static int curl_ready;
    if (!curl_ready) {
        /* Not thread-safe: the first call happens before other threads exist. */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
        curl_ready = 1;
    }
    struct tsr_httpc *h = calloc(1, sizeof(*h));
    if (!h) abort();
    h->base = base;
    h->multi = curl_multi_init();
    h->timer = evtimer_new(base, on_timeout, h);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    tsr_tcpsend_new(base, &h->tcp);
    *hp = h;
    return 0;
}

int tsr_httpc_send(struct tsr_httpc *h, const struct tsr_httpc_req *req, tsr_httpc_done_fn *done,
                   void *opaque)
{
    if (strncmp(req->url, "tcp://", 6) == 0)
        return tsr_tcpsend_start(h->tcp, req->url, req->body, req->body_len, req->timeout_ms, done,
                                 opaque);
    struct xfer *x = calloc(1, sizeof(*x));
    if (!x) abort();
    x->h = h;
    x->done = done;
    x->opaque = opaque;
    x->retry_after_s = -1;
    x->easy = curl_easy_init();
    if (!x->easy) {
        free(x);
        return -1;
    }
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 10000L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (req->tls.ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, req->tls.ca_file);
    if (req->tls.cert_file) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, req->tls.cert_file);
        curl_easy_setopt(e, CURLOPT_SSLKEY, req->tls.key_file);
    }
    if (req->tls.insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        /* No "Expect: 100-continue" round trip before each batch. */
        x->headers = curl_slist_append(x->headers, "Expect:");
        x->headers = curl_slist_append(x->headers, "Content-Type: text/plain; charset=utf-8");
    } else if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    }
    if (req->content_encoding) {
        char hdr[128];
        snprintf(hdr, sizeof(hdr), "Content-Encoding: %s", req->content_encoding);
        x->headers = curl_slist_append(x->headers, hdr);
    }
    if (req->authorization) {
        struct tsr_buf hdr = {0};
        tsr_buf_printf(&hdr, "Authorization: %s", req->authorization);
        tsr_buf_putc(&hdr, '\0');
        x->headers = curl_slist_append(x->headers, hdr.data);
        tsr_buf_free(&hdr);
    }
    if (x->headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        curl_slist_free_all(x->headers);
        free(x);
        return -1;
    }
    h->active++;
    x->next = h->xfers;
    if (h->xfers) h->xfers->prev = x;
    h->xfers = x;
    return 0;
}

int tsr_httpc_active(const struct tsr_httpc *h)
{
    return h->active + tsr_tcpsend_active(h->tcp);
}

void tsr_httpc_free(struct tsr_httpc **hp)
{
    struct tsr_httpc *h = *hp;
    if (!h) return;
    while (h->xfers) {
        struct tsr_httpc_resp resp = {.error = "cancelled", .retry_after_s = -1};
        xfer_finish(h, h->xfers, &resp);
    }
    tsr_tcpsend_free(&h->tcp);
    curl_multi_cleanup(h->multi);
    while (h->socks) {
        struct sock *sk = h->socks;
        h->socks = sk->next;
        event_free(sk->ev);
        free(sk);
    }
    event_free(h->timer);
    free(h);
    *hp = NULL;
}

#include "admin.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include "config/config.h"
#include "json.h"
#include "kafka.h"
#include "metrics.h"

struct tsr_admin {
    const struct tsr_config *cf;
    struct tsr_kafka *k;
    struct evhttp *http;
    int draining;
};

static void send_buf(struct evhttp_request *req, int status, const char *ctype,
                     const struct tsr_buf *b)
{
    struct evbuffer *out = evbuffer_new();
    evbuffer_add(out, b->data, b->len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    evhttp_send_reply(req, status, NULL, out);
    evbuffer_free(out);
}

static void render_status(const struct tsr_admin *a, struct tsr_buf *b)
{
    const struct tsr_metrics *m = &tsr_metrics;
    tsr_buf_puts(b, "{\"datacenter\":");
    tsr_json_string(b, a->cf->datacenter);
    tsr_buf_printf(b, ",\"uptime_s\":%lld,\"draining\":%s", (long long)(time(NULL) - m->start_time_s),
                   a->draining ? "true" : "false");
    tsr_buf_puts(b, ",\"kafka\":{\"brokers\":");
    tsr_json_string(b, a->cf->kafka_brokers);
    tsr_buf_puts(b, ",\"topic\":");
    tsr_json_string(b, a->cf->kafka_topic);
    tsr_buf_printf(b,
                   ",\"ready\":%s,\"up\":%s,\"partitions\":%d,\"inflight_records\":%lld,"
                   "\"inflight_bytes\":%lld,\"records\":%llu,\"errors\":%llu}",
                   tsr_kafka_ready(a->k) ? "true" : "false", m->kafka_up ? "true" : "false",
                   tsr_kafka_partitions(a->k), (long long)m->inflight_records,
                   (long long)m->inflight_bytes, (unsigned long long)m->kafka_records,
                   (unsigned long long)m->kafka_errors);
    tsr_buf_puts(b, ",\"listeners\":{");
    for (int l = 0; l < TSR_LISTENER_MAX; l++) {
        const struct tsr_listener_metrics *x = &m->listener[l];
        tsr_buf_printf(b,
                       "%s\"%s\":{\"points_accepted\":%llu,\"points_rejected\":%llu,"
                       "\"points_failed\":%llu,\"requests\":%llu,\"throttled\":%llu}",
                       l ? "," : "", tsr_listener_names[l],
                       (unsigned long long)x->points_accepted,
                       (unsigned long long)x->points_rejected, (unsigned long long)x->points_failed,
                       (unsigned long long)x->requests, (unsigned long long)x->throttled);
    }
    tsr_buf_puts(b, "}}\n");
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct tsr_admin *a = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    struct tsr_buf b = {0};
    if (!path) path = "/";

    if (strcmp(path, "/health") == 0) {
        tsr_buf_puts(&b, "ok\n");
        send_buf(req, 200, "text/plain", &b);
    } else if (strcmp(path, "/ready") == 0) {
        int ok = tsr_kafka_ready(a->k) && !a->draining;
        tsr_buf_puts(&b, ok ? "ready\n" : a->draining ? "draining\n" : "kafka unavailable\n");
        send_buf(req, ok ? 200 : 503, "text/plain", &b);
    } else if (strcmp(path, "/metrics") == 0) {
        tsr_metrics_render(&tsr_metrics, &b);
        send_buf(req, 200, "text/plain; version=0.0.4", &b);
    } else if (strcmp(path, "/status") == 0) {
        render_status(a, &b);
        send_buf(req, 200, "application/json", &b);
    } else if (strcmp(path, "/") == 0) {
        tsr_buf_puts(&b, "tsrelay admin: /health /ready /metrics /status\n");
        send_buf(req, 200, "text/plain", &b);
    } else {
        tsr_buf_puts(&b, "not found\n");
        send_buf(req, 404, "text/plain", &b);
    }
    tsr_buf_free(&b);
}

int tsr_admin_new(const struct tsr_config *cf, struct event_base *base, struct tsr_kafka *k,
                  struct tsr_admin **ap, char *err, size_t errlen)
{
    struct tsr_admin *a = calloc(1, sizeof(*a));
    if (!a) abort();
    a->cf = cf;
    a->k = k;
    a->http = evhttp_new(base);
    int fd = tsr_addr_listen(cf->listen_admin, SOCK_STREAM, err, errlen);
    if (fd < 0 || !evhttp_accept_socket_with_handle(a->http, fd)) {
        if (fd >= 0) snprintf(err, errlen, "cannot serve HTTP on '%s'", cf->listen_admin);
        tsr_admin_free(&a);
        return -1;
    }
    evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(a->http, on_request, a);
    *ap = a;
    return 0;
}

void tsr_admin_set_draining(struct tsr_admin *a)
{
    a->draining = 1;
}

void tsr_admin_free(struct tsr_admin **ap)
{
    struct tsr_admin *a = *ap;
    if (!a) return;
    if (a->http) evhttp_free(a->http);
    free(a);
    *ap = NULL;
}

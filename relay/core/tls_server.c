#include "relay/core/tls_server.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "relay/core/log.h"

#define FAILURE_LOG_EVERY_S 10

/* What a file was when last loaded: a rotation changes at least one of these. */
struct file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct tsr_tls_server {
    const struct tsr_config *cf;
    SSL_CTX *ctx;
    struct file_id cert_id, key_id, ca_id;
    struct event *watch;
    uint64_t failures;
    struct tsr_log_limit failure_log;
};

static void file_id_of(const char *path, struct file_id *id)
{
    struct stat st;
    memset(id, 0, sizeof(*id));
    if (!*path || stat(path, &st) != 0) return;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    id->size = st.st_size;
    id->mtime = st.st_mtim;
}

static int file_id_eq(const struct file_id *a, const struct file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* OpenSSL's most recent reason, emptying its error queue. */
static const char *ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_get_error(), last = e;
    while (e) {
        last = e;
        e = ERR_get_error();
    }
    if (!last) return "unknown error";
    ERR_error_string_n(last, buf, len);
    return buf;
}

static SSL_CTX *build_ctx(const struct tsr_config *cf, char *err, size_t errlen)
{
    char why[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, errlen, "tls: cannot make a context: %s", ssl_reason(why, sizeof(why)));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Release read/write buffers of idle connections: thousands of keep-alive clients
     * would otherwise hold 34 KiB each. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, cf->tls_cert_file) != 1) {
        snprintf(err, errlen, "tls.cert_file '%s': %s", cf->tls_cert_file,
                 ssl_reason(why, sizeof(why)));
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cf->tls_key_file, SSL_FILETYPE_PEM) != 1) {
        snprintf(err, errlen, "tls.key_file '%s': %s", cf->tls_key_file,
                 ssl_reason(why, sizeof(why)));
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "tls.key_file '%s' does not match tls.cert_file '%s'",
                 cf->tls_key_file, cf->tls_cert_file);
        ERR_clear_error();
        goto fail;
    }
    if (*cf->tls_client_ca_file) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cf->tls_client_ca_file);
        if (!names || SSL_CTX_load_verify_locations(ctx, cf->tls_client_ca_file, NULL) != 1) {
            if (names) sk_X509_NAME_pop_free(names, X509_NAME_free);
            snprintf(err, errlen, "tls.client_ca_file '%s': %s", cf->tls_client_ca_file,
                     ssl_reason(why, sizeof(why)));
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

static void remember_files(struct tsr_tls_server *ts)
{
    file_id_of(ts->cf->tls_cert_file, &ts->cert_id);
    file_id_of(ts->cf->tls_key_file, &ts->key_id);
    file_id_of(ts->cf->tls_client_ca_file, &ts->ca_id);
}

int tsr_tls_server_reload(struct tsr_tls_server *ts)
{
    char err[512];
    /* Remembered first: a file that fails to load is retried when it changes again,
     * not every watch tick. */
    remember_files(ts);
    SSL_CTX *ctx = build_ctx(ts->cf, err, sizeof(err));
    if (!ctx) {
        tsr_error("tls: reload failed, still serving the previous certificate: %s", err);
        return -1;
    }
    SSL_CTX_free(ts->ctx);
    ts->ctx = ctx;
    tsr_info("tls: certificate '%s' (re)loaded", ts->cf->tls_cert_file);
    return 0;
}

static void on_watch(evutil_socket_t fd, short what, void *arg)
{
    struct tsr_tls_server *ts = arg;
    struct file_id cert, key, ca;
    file_id_of(ts->cf->tls_cert_file, &cert);
    file_id_of(ts->cf->tls_key_file, &key);
    file_id_of(ts->cf->tls_client_ca_file, &ca);
    if (!file_id_eq(&cert, &ts->cert_id) || !file_id_eq(&key, &ts->key_id) ||
        !file_id_eq(&ca, &ts->ca_id)) {
        tsr_info("tls: certificate files changed on disk, reloading");
        tsr_tls_server_reload(ts);
    }
}

int tsr_tls_server_new(const struct tsr_config *cf, struct event_base *base,
                       struct tsr_tls_server **tsp, char *err, size_t errlen)
{
    SSL_CTX *ctx = build_ctx(cf, err, errlen);
    if (!ctx) return -1;
    struct tsr_tls_server *ts = calloc(1, sizeof(*ts));
    if (!ts) abort();
    ts->cf = cf;
    ts->ctx = ctx;
    ts->failure_log.every_s = FAILURE_LOG_EVERY_S;
    remember_files(ts);
    ts->watch = event_new(base, -1, EV_PERSIST, on_watch, ts);
    struct timeval tv = {TSR_TLS_WATCH_MS / 1000, (TSR_TLS_WATCH_MS % 1000) * 1000};
    event_add(ts->watch, &tv);
    *tsp = ts;
    return 0;
}

struct bufferevent *tsr_tls_server_accept(struct tsr_tls_server *ts, struct event_base *base,
                                          int fd)
{
    SSL *ssl = SSL_new(ts->ctx);
    if (!ssl) {
        ERR_clear_error();
        close(fd);
        return NULL;
    }
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        close(fd);
        return NULL;
    }
    /* Clients that close without close_notify (most HTTP clients) end the stream; they do
     * not make an error of it. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

void tsr_tls_server_failed(struct tsr_tls_server *ts, struct bufferevent *bev, const char *peer)
{
    ts->failures++;
    /* libevent queues SSL_get_error()'s code (small numbers) and then OpenSSL's own
     * errors (library and reason): the last real one says most. */
    char why[256] = "connection closed during the handshake";
    unsigned long e, real = 0;
    while ((e = bufferevent_get_openssl_error(bev)) != 0)
        if (ERR_GET_LIB(e) != 0) real = e;
    if (real) ERR_error_string_n(real, why, sizeof(why));
    ERR_clear_error();
    tsr_log_limited(&ts->failure_log, TSR_LOG_WARN, "tls: handshake with %s failed: %s", peer, why);
}

uint64_t tsr_tls_server_failures(const struct tsr_tls_server *ts)
{
    return ts->failures;
}

void tsr_tls_server_free(struct tsr_tls_server **tsp)
{
    struct tsr_tls_server *ts = *tsp;
    if (!ts) return;
    if (ts->watch) event_free(ts->watch);
    SSL_CTX_free(ts->ctx);
    free(ts);
    *tsp = NULL;
}

#include "relay/deliver/sink.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "relay/core/gzip.h"
#include "relay/core/remote_write.h"
#include "relay/deliver/carbon.h"

/* Percent-encodes a query parameter value. */
static void put_param(struct tsr_buf *b, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    tsr_buf_putc(b, b->len && memchr(b->data, '?', b->len) ? '&' : '?');
    tsr_buf_puts(b, name);
    tsr_buf_putc(b, '=');
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            tsr_buf_putc(b, (char)*p);
        } else {
            tsr_buf_putc(b, '%');
            tsr_buf_putc(b, hex[*p >> 4]);
            tsr_buf_putc(b, hex[*p & 15]);
        }
    }
}

/* The base URL without a trailing '/'. */
static void put_base(struct tsr_buf *b, const struct tsr_cluster_conf *cc, int idx)
{
    const char *u = cc->urls[idx];
    size_t n = strlen(u);
    while (n > 0 && u[n - 1] == '/') n--;
    tsr_buf_append(b, u, n);
}

void tsr_sink_write_url(const struct tsr_cluster_conf *cc, int idx, const char *db,
                        const char *rp, struct tsr_buf *url)
{
    const char *tdb = *cc->database ? cc->database : db;
    const char *trp = *cc->retention_policy ? cc->retention_policy : rp ? rp : "";
    put_base(url, cc, idx);
    if (strcmp(cc->type, "graphite") == 0) return; /* tcp://HOST:PORT, carbon plaintext */
    if (strcmp(cc->type, "prometheus") == 0) {
        /* Remote write has no databases: each sample carries its db as a label. */
        tsr_buf_puts(url, "/api/v1/write");
        return;
    }
    if (strcmp(cc->type, "influxdb2") == 0) {
        tsr_buf_puts(url, "/api/v2/write");
        if (*cc->org) put_param(url, "org", cc->org);
        if (*cc->bucket) {
            put_param(url, "bucket", cc->bucket);
        } else {
            /* InfluxDB 2's database/retention-policy mapping names buckets "db/rp". */
            char bucket[512];
            snprintf(bucket, sizeof(bucket), "%s%s%s", tdb, *trp ? "/" : "", trp);
            put_param(url, "bucket", bucket);
        }
    } else {
        tsr_buf_puts(url, strcmp(cc->type, "cnosdb") == 0 ? "/api/v1/write" : "/write");
        put_param(url, "db", tdb);
        if (*trp && strcmp(cc->type, "influxdb") == 0) put_param(url, "rp", trp);
    }
    put_param(url, "precision", "ns");
}

int tsr_sink_authorization(const struct tsr_cluster_conf *cc, struct tsr_buf *out)
{
    if (*cc->bearer_token) {
        tsr_buf_puts(out, "Bearer ");
        tsr_buf_puts(out, cc->bearer_token);
        return 1;
    }
    if (cc->token && *cc->token) {
        tsr_buf_puts(out, "Token ");
        tsr_buf_puts(out, cc->token);
        return 1;
    }
    if (cc->username && *cc->username) {
        struct tsr_buf plain = {0};
        tsr_buf_printf(&plain, "%s:%s", cc->username, cc->password ? cc->password : "");
        tsr_buf_puts(out, "Basic ");
        tsr_buf_reserve(out, 4 * ((plain.len + 2) / 3) + 1);
        int n = EVP_EncodeBlock((unsigned char *)out->data + out->len,
                                (const unsigned char *)plain.data, (int)plain.len);
        out->len += (size_t)n;
        /* Wipe the password copy: this buffer may be reused by the allocator. */
        memset(plain.data, 0, plain.len);
        tsr_buf_free(&plain);
        return 1;
    }
    return 0;
}

/* Answers tied to one database or retention policy, as InfluxDB 1.x, InfluxDB 2 and
 * VictoriaMetrics word them. */
static int about_one_database(int status, const char *body)
{
    if (!body) return 0;
    if (status == 404)
        return strstr(body, "database not found") || (strstr(body, "bucket") && strstr(body, "not found"));
    if (status == 403) return strstr(body, "not authorized to write to database") != NULL;
    /* InfluxDB 1.x answers a missing retention policy with a 500. */
    return strstr(body, "retention policy not found") != NULL;
}

/* A 4xx from whatever checks credentials before the TSDB sees the lines. A TSDB's own
 * refusal of a line quotes it, and the line may hold any word: those phrases win. */
static int about_credentials(const char *body)
{
    if (!body) return 0;
    if (strstr(body, "partial write") || strstr(body, "unable to parse") ||
        strstr(body, "cannot parse"))
        return 0;
    static const char *const words[] = {"auth token", "Authorization", "authoriz",
                                        "SSL certificate", "client certificate", "credential"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcasestr(body, words[i])) return 1;
    return 0;
}

enum tsr_sink_verdict tsr_sink_judge(int status, const char *body)
{
    if (status == 0) return TSR_SINK_RETRY; /* no answer: a transport error */
    if (status >= 200 && status < 300) return TSR_SINK_DONE;
    if (about_one_database(status, body)) return TSR_SINK_PARK;
    if ((status == 400 || status == 422) && about_credentials(body)) return TSR_SINK_RETRY;
    if (status == 400 || status == 422) return TSR_SINK_REJECTED;
    if (status == 413) return TSR_SINK_SPLIT;
    /* Everything else may pass and concerns every database: 429 and 5xx by nature, 401
     * and other 4xx once an operator fixes credentials or routing. Skipping would lose
     * data; holding is visible (the cluster turns degraded, then down). */
    return TSR_SINK_RETRY;
}

/* Replaces every copy of secret in s with "***", in place. */
static void mask(char *s, const char *secret)
{
    size_t n = strlen(secret);
    if (n == 0) return;
    for (char *p = s; (p = strstr(p, secret)) != NULL;) {
        memcpy(p, "***", 3);
        memmove(p + 3, p + n, strlen(p + n) + 1);
        p += 3;
    }
}

void tsr_sink_describe(const struct tsr_cluster_conf *cc, int status, const char *body,
                       const char *error, char *why, size_t len)
{
    if (status == 0)
        snprintf(why, len, "%s", error ? error : "no answer");
    else
        snprintf(why, len, "HTTP %d: %.200s", status, body ? body : "");
    /* "***" is never longer than a secret of 3 bytes or more; shorter ones would not
     * be secrets. */
    const char *secrets[] = {cc->bearer_token, cc->token, cc->password};
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        if (secrets[i] && strlen(secrets[i]) >= 3) mask(why, secrets[i]);
}

int tsr_sink_no_database(int status, const char *body)
{
    return status == 404 && body && strstr(body, "database not found");
}

int tsr_sink_has_databases(const struct tsr_cluster_conf *cc)
{
    return strcmp(cc->type, "influxdb") == 0;
}

void tsr_sink_query_url(const struct tsr_cluster_conf *cc, int idx, const char *q,
                        struct tsr_buf *url)
{
    put_base(url, cc, idx);
    tsr_buf_puts(url, "/query");
    put_param(url, "q", q);
}

void tsr_sink_create_db_url(const struct tsr_cluster_conf *cc, int idx, const char *db,
                            struct tsr_buf *url)
{
    char q[600];
    snprintf(q, sizeof(q), "CREATE DATABASE \"%s\"", *cc->database ? cc->database : db);
    tsr_sink_query_url(cc, idx, q, url);
}

struct tsr_httpc_tls tsr_sink_tls(const struct tsr_cluster_conf *cc)
{
    return (struct tsr_httpc_tls){.ca_file = *cc->tls_ca_file ? cc->tls_ca_file : NULL,
                                  .cert_file = *cc->tls_cert_file ? cc->tls_cert_file : NULL,
                                  .key_file = *cc->tls_key_file ? cc->tls_key_file : NULL,
                                  .insecure = cc->tls_insecure};
}

int tsr_sink_send(struct tsr_httpc *hc, const struct tsr_cluster_conf *cc, int idx,
                  const char *db, const char *rp, const char *body, size_t len,
                  struct tsr_buf *gz, const char *authorization, tsr_httpc_done_fn *done,
                  void *opaque)
{
    const char *encoding = NULL;
    if (strcmp(cc->type, "graphite") == 0) {
        long strings;
        gz->len = 0;
        tsr_carbon_encode(cc->graphite_template, *cc->database ? cc->database : db, body, len, gz,
                          &strings);
        body = gz->data ? gz->data : "";
        len = gz->len;
    } else if (strcmp(cc->type, "prometheus") == 0) {
        /* Remote write is snappy-compressed protobuf, whatever compression says. */
        tsr_remote_write_encode(*cc->database ? cc->database : db, body, len, gz);
        body = gz->data;
        len = gz->len;
        encoding = "snappy";
    } else if (strcmp(cc->compression, "gzip") == 0) {
        gz->len = 0;
        /* Level 1: across a WAN most of the gain for a fraction of the CPU. A body that
         * will not compress goes as it is. */
        if (tsr_gzip(body, len, 1, gz) == 0) {
            body = gz->data;
            len = gz->len;
            encoding = "gzip";
        }
    }
    struct tsr_buf url = {0};
    tsr_sink_write_url(cc, idx, db, rp, &url);
    tsr_buf_putc(&url, '\0');
    struct tsr_httpc_req req = {
        .url = url.data,
        .method = "POST",
        .body = body,
        .body_len = len,
        .content_encoding = encoding,
        .authorization = authorization,
        .timeout_ms = cc->timeout_ms,
        .tls = tsr_sink_tls(cc),
    };
    int rc = tsr_httpc_send(hc, &req, done, opaque);
    tsr_buf_free(&url);
    return rc;
}

long tsr_sink_append_record(struct tsr_buf *body, const char *rec, size_t len)
{
    tsr_buf_append(body, rec, len);
    if (len > 0 && rec[len - 1] != '\n') tsr_buf_putc(body, '\n');
    long points = 0;
    for (const char *q = rec, *end = rec + len; q < end;) {
        const char *nl = memchr(q, '\n', (size_t)(end - q));
        if (!nl) nl = end;
        points += nl > q;
        q = nl < end ? nl + 1 : end;
    }
    return points;
}

struct curl_slist *tsr_sink_curl_easy(void *h, const struct tsr_cluster_conf *cc)
{
    struct curl_slist *hdrs = NULL;
    struct tsr_buf auth = {0};
    tsr_buf_puts(&auth, "Authorization: ");
    if (tsr_sink_authorization(cc, &auth)) {
        tsr_buf_putc(&auth, '\0');
        hdrs = curl_slist_append(hdrs, auth.data); /* copies it */
    }
    explicit_bzero(auth.data, auth.cap);
    tsr_buf_free(&auth);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (*cc->tls_ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, cc->tls_ca_file);
    if (*cc->tls_cert_file) curl_easy_setopt(h, CURLOPT_SSLCERT, cc->tls_cert_file);
    if (*cc->tls_key_file) curl_easy_setopt(h, CURLOPT_SSLKEY, cc->tls_key_file);
    if (cc->tls_insecure) curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    return hdrs;
}

/* replay/ctl_http.c — tsrelayctl's requests to the admin endpoint: one blocking libcurl
 * easy handle, reused so that --wait polls over one connection, and the answer's
 * failure turned into the message main prints. */
#include "ctl.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "relay/core/buf.h"
#include "relay/deliver/sink.h"
#include "relay/core/version.h"
#include "replay/ctl_json.h"

#define MAX_ANSWER (64 << 20)

/* One HTTP exchange. */
struct answer {
    long status;
    struct tsr_buf body;
    int too_big;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;
    if (a->body.len + size * n > MAX_ANSWER) {
        a->too_big = 1;
        return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
    }
    tsr_buf_append(&a->body, data, size * n);
    return size * n;
}

/* Frees a header list whose Authorization line holds the token: each line is wiped
 * first, so the freed memory does not keep it. */
static void free_headers(struct curl_slist **hdrsp)
{
    for (struct curl_slist *h = *hdrsp; h; h = h->next)
        explicit_bzero(h->data, strlen(h->data));
    curl_slist_free_all(*hdrsp);
    *hdrsp = NULL;
}

/* Appends line to *hdrsp; on failure frees the list (curl keeps the old one) and
 * returns -1. */
static int add_header(struct curl_slist **hdrsp, const char *line)
{
    struct curl_slist *h = curl_slist_append(*hdrsp, line);
    if (!h) {
        free_headers(hdrsp);
        return -1;
    }
    *hdrsp = h;
    return 0;
}

/* One request. Returns 0 with a->status and a->body set (whatever the status), or
 * EXIT_UNREACHABLE / EXIT_FAIL with the message in c->msg. body NULL means GET. */
static int http(struct ctl *c, const char *method, const char *path, const char *body,
                struct answer *a)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", c->base_url, path);
    memset(a, 0, sizeof(*a));
    /* Reset keeps the connection cache: --wait polls over one connection. */
    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_err);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, 30000L);
    /* The admin listener is local to the datacenter: an http_proxy set for the outside
     * world must not capture these requests. */
    curl_easy_setopt(c->curl, CURLOPT_PROXY, "");
    curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "tsrelayctl/" TSR_VERSION);
    if (c->ca_file) curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->ca_file);
    if (c->cert_file) {
        curl_easy_setopt(c->curl, CURLOPT_SSLCERT, c->cert_file);
        curl_easy_setopt(c->curl, CURLOPT_SSLKEY, c->key_file);
    }
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, a);
    /* Redirects are not followed (curl's default), so the token goes to c->admin only. */
    struct curl_slist *hdrs = NULL;
    int hrc = 0;
    if (c->token[0]) {
        char auth[sizeof(c->token) + 32];
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
        hrc = add_header(&hdrs, auth); /* curl copies the line */
        explicit_bzero(auth, sizeof(auth));
    }
    if (body && !hrc) hrc = add_header(&hdrs, "Content-Type: application/json");
    if (body && !hrc) hrc = add_header(&hdrs, "Expect:");
    if (hrc)
        return fail(c, EXIT_FAIL, "cannot build the request %s %s: out of memory", method, path);
    if (hdrs) curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
    if (body) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    }
    c->curl_err[0] = '\0';
    CURLcode cc = curl_easy_perform(c->curl);
    free_headers(&hdrs);
    if (cc != CURLE_OK) {
        tsr_buf_free(&a->body);
        if (a->too_big)
            return fail(c, EXIT_FAIL, "answer to %s %s larger than %d MiB", method, path,
                        MAX_ANSWER >> 20);
        return fail(c, EXIT_UNREACHABLE,
                    "cannot reach tsrelay admin endpoint at %s: %s; is tsrelay running? set -a or "
                    "TSRELAY_ADMIN",
                    c->admin, c->curl_err[0] ? c->curl_err : curl_easy_strerror(cc));
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &a->status);
    return 0;
}

/* The "error" of a JSON error answer into out; 0 when the answer has none. */
static int json_error_text(const struct answer *a, char *out, size_t len)
{
    struct tsr_jsonr *doc = NULL;
    char perr[8];
    const char *e = NULL;
    if (a->body.len && tsr_jsonr_parse(a->body.data, a->body.len, &doc, perr, sizeof(perr)) == 0)
        e = tsr_jsonr_get_str(doc, "error", NULL);
    if (e) snprintf(out, len, "%s", e);
    tsr_jsonr_free(&doc);
    return e != NULL;
}

/* The human part of an error answer: its JSON "error", else the first line of the
 * body (the relay answers unknown paths in text/plain). */
static void error_text(const struct answer *a, char *out, size_t len)
{
    if (json_error_text(a, out, len)) return;
    size_t n = 0;
    while (n < a->body.len && a->body.data[n] != '\n' && a->body.data[n] != '\r' && n < 200)
        n++;
    snprintf(out, len, "%.*s", (int)n, n ? a->body.data : "empty answer");
}

/* 401 and 403: the relay's own words when it answered JSON (an HTML page from a proxy
 * in between says nothing useful), and what to do about it. The token is never part
 * of the message, only where it came from. */
static int refused(struct ctl *c, const struct answer *a, const char *what)
{
    char e[512], hint[400] = "";
    if (a->status == 401) {
        if (!json_error_text(a, e, sizeof(e)))
            snprintf(e, sizeof(e), "%s",
                     c->token[0] ? "the token was not accepted" : "an admin token is needed");
        if (!c->token[0])
            snprintf(hint, sizeof(hint), " (give --token-file or TSRELAY_TOKEN)");
        else if (c->token_file)
            snprintf(hint, sizeof(hint), " (check the token in '%s')", c->token_file);
        else
            snprintf(hint, sizeof(hint), " (check TSRELAY_TOKEN)");
    } else if (!json_error_text(a, e, sizeof(e))) {
        /* 403 with a token is its role; without one, the relay takes no changes from
         * this host at all. */
        snprintf(e, sizeof(e), "%s",
                 c->token[0] ? "this token's role may not do that" : "not allowed from here");
    }
    return fail(c, EXIT_FAIL, "%s: the relay refused: %ld %s%s", what, a->status, e, hint);
}

int call(struct ctl *c, const char *method, const char *path, const char *body, const char *what,
         struct tsr_jsonr **docp, struct tsr_buf *rawp)
{
    struct answer a;
    char perr[256];
    *docp = NULL;
    int rc = http(c, method, path, body, &a);
    if (rc) return rc;
    if (a.status == 401 || a.status == 403) {
        rc = refused(c, &a, what);
    } else if (a.status < 200 || a.status > 299) {
        char e[512];
        error_text(&a, e, sizeof(e));
        rc = fail(c, EXIT_FAIL, "%s: %s (HTTP %ld)", what, e, a.status);
    } else if (tsr_jsonr_parse(a.body.data ? a.body.data : "", a.body.len, docp, perr,
                               sizeof(perr)) != 0) {
        rc = fail(c, EXIT_FAIL, "%s: invalid JSON from %s %s: %s", what, method, path, perr);
    } else if (rawp) {
        *rawp = a.body;
        return 0;
    }
    tsr_buf_free(&a.body);
    return rc;
}

void print_json(const char *s, size_t len)
{
    while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
        len--;
    fwrite(s, 1, len, stdout);
    fputc('\n', stdout);
}

/* replay/ctl_http.c — tsrelayctl's requests to the admin endpoint: one blocking libcurl
 * easy handle, reused so that --wait polls over one connection, and the answer's
 * failure turned into the message main prints. */
#include "ctl.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "relay/core/buf.h"
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
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, a);
    struct curl_slist *hdrs = NULL;
    if (body) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        hdrs = curl_slist_append(hdrs, "Expect:");
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    }
    c->curl_err[0] = '\0';
    CURLcode cc = curl_easy_perform(c->curl);
    curl_slist_free_all(hdrs);
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

/* The human part of an error answer: its JSON "error", else the first line of the
 * body (the relay answers unknown paths in text/plain). */
static void error_text(const struct answer *a, char *out, size_t len)
{
    struct tsr_jsonr *doc = NULL;
    char perr[8];
    const char *e = NULL;
    if (a->body.len && tsr_jsonr_parse(a->body.data, a->body.len, &doc, perr, sizeof(perr)) == 0)
        e = tsr_jsonr_get_str(doc, "error", NULL);
    if (e) {
        snprintf(out, len, "%s", e);
    } else {
        size_t n = 0;
        while (n < a->body.len && a->body.data[n] != '\n' && a->body.data[n] != '\r' && n < 200)
            n++;
        snprintf(out, len, "%.*s", (int)n, n ? a->body.data : "empty answer");
    }
    tsr_jsonr_free(&doc);
}

int call(struct ctl *c, const char *method, const char *path, const char *body, const char *what,
         struct tsr_jsonr **docp, struct tsr_buf *rawp)
{
    struct answer a;
    char perr[256];
    *docp = NULL;
    int rc = http(c, method, path, body, &a);
    if (rc) return rc;
    if (a.status < 200 || a.status > 299) {
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

/* replay/ctl_main.c — tsrelayctl, the operators' command line: status, checkpoints,
 * the out-of-sync ledger, and replay jobs, over the relay's admin endpoint (HTTP+JSON,
 * docs/replay-api.md; the /status document is relay/admin.c's render_status).
 *
 * Blocking libcurl easy calls: a CLI has nothing else to do while it waits.
 *
 * Exit codes (scripts depend on them; also in --help and docs/tsrelayctl.md):
 *   0  success; with --wait, --follow or --dry-run: the job finished "done"
 *   1  the server refused (its message is printed), or the job failed or was cancelled
 *   2  usage error (bad option, bad TIME, missing argument)
 *   3  the admin endpoint could not be reached
 * Messages go to stderr, lowercase, the failure first. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "relay/buf.h"
#include "relay/json.h"
#include "relay/version.h"
#include "replay/ctl_json.h"
#include "replay/ctl_time.h"

#define DEFAULT_ADMIN   "127.0.0.1:8093"

#define POLL_MS            500   /* --wait / --follow: GET /replays/ID this often */
#define PLAIN_EVERY_MS     5000  /* progress line interval when stdout is not a terminal */
#define UNREACHABLE_MAX_MS 60000 /* --wait rides out a relay restart this long */
#define MAX_ANSWER         (64 << 20)
#define LAST_ERROR_WIDTH   60

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

/* Options, as bits: each command says which it takes. */
enum {
    OPT_CLUSTER = 1 << 0,
    OPT_SINCE = 1 << 1,
    OPT_UNTIL = 1 << 2,
    OPT_RATE = 1 << 3,
    OPT_DB = 1 << 4,
    OPT_MEASUREMENT = 1 << 5,
    OPT_DRY_RUN = 1 << 6,
    OPT_WAIT = 1 << 7,
    OPT_FOLLOW = 1 << 8,
};

struct ctl {
    char admin[256];    /* HOST:PORT, for messages */
    char base_url[300]; /* http://HOST:PORT */
    int json;
    unsigned given; /* OPT_* seen on the command line */
    const char *cluster, *since, *until, *rate, *db, *measurement;
    int64_t id; /* the job of show/pause/resume/cancel */
    int tty;    /* stdout is a terminal: redraw progress in place */
    CURL *curl;
    char curl_err[CURL_ERROR_SIZE];
    char msg[1024]; /* the failure main prints, if any */
};

/* One HTTP exchange. */
struct answer {
    long status;
    struct tsr_buf body;
    int too_big;
};

static volatile sig_atomic_t interrupted;

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: tsrelayctl [-a HOST:PORT] [--json] COMMAND\n"
        "\n"
        "commands:\n"
        "  status                      clusters (state, lag, last error), kafka, running replays\n"
        "  checkpoints [--cluster NAME]\n"
        "                              delivery position, high watermark and lag per partition\n"
        "  ledger --cluster NAME       when the cluster fell out of sync, each with the\n"
        "                              replay command that resends that interval\n"
        "  replay start --cluster NAME --since TIME [--until TIME] [--rate N] [--db DB]\n"
        "               [--measurement PREFIX] [--dry-run] [--wait]\n"
        "                              resend what Kafka holds for [since, until) to one cluster\n"
        "  replay list                 every job, finished ones too\n"
        "  replay show ID [--follow]   one job; --follow shows progress until it finishes\n"
        "  replay pause ID | resume ID | cancel ID\n"
        "\n"
        "options:\n"
        "  -a, --admin HOST:PORT  the relay's admin listener (default: $TSRELAY_ADMIN,\n"
        "                         else " DEFAULT_ADMIN ")\n"
        "  --json                 print the server's JSON instead of tables\n"
        "  --since TIME           first point time to resend (inclusive); also 'earliest'\n"
        "  --until TIME           end (exclusive); default: the moment the job is created\n"
        "  --rate N               at most N points/s (the relay's default otherwise)\n"
        "  --db DB                only points of database DB\n"
        "  --measurement PREFIX   only measurements whose name starts with PREFIX\n"
        "  --dry-run              count what would be sent, per measurement; send nothing\n"
        "  --wait                 show progress until the job finishes\n"
        "  -h, --help             this text          --version   print the version\n"
        "\n"
        "TIME: RFC 3339 (2026-11-23T05:00:00Z, 2026-11-23T07:00:00+02:00, fractions allowed),\n"
        "      relative to now (-2h, -30m, -90s, -1d, -1h30m), now, or Unix milliseconds\n"
        "\n"
        "exit codes: 0 success (--wait/--follow/--dry-run: the job is done)\n"
        "            1 the server refused, or the job failed or was cancelled\n"
        "            2 usage error    3 the admin endpoint cannot be reached\n");
}

/* Stores the failure message for main to print and returns rc. */
static int fail(struct ctl *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct ctl *c, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
    va_end(ap);
    return rc;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    /* A signal ends the nap early; the caller checks `interrupted`. */
    nanosleep(&ts, NULL);
}

static void on_sigint(int sig)
{
    interrupted = 1;
}

/* --- formatting ---------------------------------------------------------------------- */

/* 1234567 -> "1,234,567". */
static const char *fmt_count(int64_t n, char *buf, size_t len)
{
    char digits[32];
    uint64_t u = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
    int nd = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)u);
    size_t o = 0;
    if (n < 0 && o + 1 < len) buf[o++] = '-';
    for (int k = 0; k < nd && o + 1 < len; k++) {
        if (k && (nd - k) % 3 == 0 && o + 2 < len) buf[o++] = ',';
        buf[o++] = digits[k];
    }
    buf[o] = '\0';
    return buf;
}

static const char *fmt_bytes(double b, char *buf, size_t len)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4)
        b /= 1024, u++;
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, units[u]);
    return buf;
}

/* Seconds as "0:42", "12:05", "1:02:03"; "-:--" when unknown (negative). */
static const char *fmt_eta(double s, char *buf, size_t len)
{
    if (!(s >= 0 && s <= 99 * 3600.0)) { /* NaN too */
        snprintf(buf, len, "-:--");
        return buf;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
    return buf;
}

static const char *fmt_time(int64_t ms, char *buf, size_t len)
{
    tsr_ctl_time_format(ms, buf, len);
    return buf;
}

/* A cluster name quoted for a shell only when it needs it, so the common case reads
 * clean and the rare one still pastes safely. */
static const char *shell_word(const char *s, char *buf, size_t len)
{
    if (*s &&
        strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-:/@+=,") ==
            strlen(s)) {
        snprintf(buf, len, "%s", s);
        return buf;
    }
    size_t o = 0;
    buf[o++] = '\'';
    for (; *s && o + 5 < len; s++) {
        if (*s == '\'') {
            memcpy(buf + o, "'\\''", 4);
            o += 4;
        } else {
            buf[o++] = *s;
        }
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

/* --- tables -------------------------------------------------------------------------- */

#define TABLE_MAX_COLS 10

/* Rows of strings printed in aligned columns; a header starting with '>' is right-
 * aligned (numbers). A row may carry a line printed under it (the ledger's commands). */
struct table {
    int ncols;
    const char *head[TABLE_MAX_COLS];
    size_t nrows, cap;
    char **cells; /* nrows * (ncols + 1): the last is the line under the row, or NULL */
};

static void table_init_list(struct table *t, const char *const *head)
{
    memset(t, 0, sizeof(*t));
    for (; *head && t->ncols < TABLE_MAX_COLS; head++)
        t->head[t->ncols++] = *head;
}

/* table_init(&t, "NAME", ">COUNT"): the headers as a NULL-terminated array, so no
 * variadic NULL sentinel (whose type varargs do not fix). */
#define table_init(t, ...) table_init_list((t), (const char *const[]){__VA_ARGS__, NULL})

/* Adds a row of ncols strings (copied). */
static void table_row(struct table *t, ...)
{
    size_t w = (size_t)t->ncols + 1;
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = realloc(t->cells, t->cap * w * sizeof(char *));
        if (!t->cells) abort();
    }
    char **row = t->cells + t->nrows++ * w;
    va_list ap;
    va_start(ap, t);
    for (int k = 0; k < t->ncols; k++) {
        const char *s = va_arg(ap, const char *);
        row[k] = strdup(s ? s : "");
        if (!row[k]) abort();
    }
    va_end(ap);
    row[t->ncols] = NULL;
}

static void table_under(struct table *t, const char *line)
{
    char **slot = &t->cells[(t->nrows - 1) * ((size_t)t->ncols + 1) + (size_t)t->ncols];
    free(*slot);
    *slot = strdup(line);
    if (!*slot) abort();
}

/* Display width in characters of UTF-8 text (continuation bytes do not count). */
static size_t text_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

static void print_cell(const char *s, size_t width, int right, int last)
{
    size_t pad = width - text_width(s);
    if (right)
        printf("%*s%s", (int)pad, "", s);
    else if (last)
        fputs(s, stdout);
    else
        printf("%s%*s", s, (int)pad, "");
}

static void table_print(struct table *t)
{
    size_t width[TABLE_MAX_COLS], w = (size_t)t->ncols + 1;
    for (int k = 0; k < t->ncols; k++) {
        const char *h = t->head[k] + (t->head[k][0] == '>');
        width[k] = text_width(h);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t cw = text_width(t->cells[r * w + (size_t)k]);
            if (cw > width[k]) width[k] = cw;
        }
    }
    for (int k = 0; k < t->ncols; k++) {
        int right = t->head[k][0] == '>';
        print_cell(t->head[k] + right, width[k], right, k == t->ncols - 1);
        fputs(k == t->ncols - 1 ? "\n" : "  ", stdout);
    }
    for (size_t r = 0; r < t->nrows; r++) {
        char **row = t->cells + r * w;
        for (int k = 0; k < t->ncols; k++) {
            print_cell(row[k], width[k], t->head[k][0] == '>', k == t->ncols - 1);
            fputs(k == t->ncols - 1 ? "\n" : "  ", stdout);
        }
        if (row[t->ncols]) printf("%s\n", row[t->ncols]);
    }
}

static void table_free(struct table *t)
{
    for (size_t r = 0; r < t->nrows * ((size_t)t->ncols + 1); r++)
        free(t->cells[r]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

/* --- HTTP ---------------------------------------------------------------------------- */

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

/* A request whose answer must be 2xx JSON. On success sets *docp (caller frees) and, if
 * rawp, hands over the body (caller frees with tsr_buf_free). Otherwise returns the
 * exit code with "WHAT: <server's message> (HTTP n)" in c->msg. */
static int call(struct ctl *c, const char *method, const char *path, const char *body,
                const char *what, struct tsr_jsonr **docp, struct tsr_buf *rawp)
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

/* Prints a JSON text with exactly one newline after it. */
static void print_json(const char *s, size_t len)
{
    while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
        len--;
    fwrite(s, 1, len, stdout);
    fputc('\n', stdout);
}

/* --- jobs ---------------------------------------------------------------------------- */

static int job_finished(const char *state)
{
    return strcmp(state, "done") == 0 || strcmp(state, "failed") == 0 ||
           strcmp(state, "cancelled") == 0;
}

/* Seconds until the job is done judged from its own numbers (for status and list,
 * which see one snapshot): the current point rate converted to records, else the
 * average progress since creation. -1 when unknown. */
static double job_eta_snapshot(const struct tsr_jsonr *job)
{
    const char *state = tsr_jsonr_get_str(job, "state", "");
    if (strcmp(state, "running") != 0) return -1;
    double done = (double)tsr_jsonr_get_int(job, "records_done", 0);
    double total = (double)tsr_jsonr_get_int(job, "records_total", 0);
    double points = (double)tsr_jsonr_get_int(job, "points_sent", 0);
    double rate = tsr_jsonr_get_num(job, "rate_now", 0);
    if (total <= done) return 0;
    if (rate > 0 && done > 0 && points > 0) return (total - done) / (rate * done / points);
    double p = tsr_jsonr_get_num(job, "progress", 0);
    double elapsed =
        (double)(tsr_jsonr_get_int(job, "updated_ms", 0) - tsr_jsonr_get_int(job, "created_ms", 0));
    if (p > 0 && p < 1 && elapsed > 0) return elapsed / 1000.0 * (1 - p) / p;
    return -1;
}

static void job_range(const struct tsr_jsonr *job, char *out, size_t len)
{
    int64_t since = tsr_jsonr_get_int(job, "since_ms", 0),
            until = tsr_jsonr_get_int(job, "until_ms", 0);
    int64_t created = tsr_jsonr_get_int(job, "created_ms", 0);
    char a[40], b[40], d[40];
    if (since == 0)
        snprintf(a, sizeof(a), "earliest");
    else
        fmt_time(since, a, sizeof(a));
    fmt_time(until ? until : created, b, sizeof(b));
    if (since && (until ? until : created) > since) {
        tsr_ctl_duration_format((until ? until : created) - since, d, sizeof(d));
        snprintf(out, len, "%s .. %s (%s)%s", a, b, d, until ? "" : ", up to the job's creation");
    } else {
        snprintf(out, len, "%s .. %s%s", a, b, until ? "" : ", up to the job's creation");
    }
}

/* The job as a block of "  key  value" lines. */
static void print_job(const struct tsr_jsonr *job, int detail)
{
    char b1[64], b2[64], b3[64], line[512];
    int dry = tsr_jsonr_get_bool(job, "dry_run", 0);
    const char *state = tsr_jsonr_get_str(job, "state", "?");
    printf("replay %lld: %s%s\n", (long long)tsr_jsonr_get_int(job, "id", 0), state,
           dry ? " (dry run)" : "");
    printf("  cluster      %s\n", tsr_jsonr_get_str(job, "cluster", ""));
    job_range(job, line, sizeof(line));
    printf("  range        %s\n", line);
    const char *db = tsr_jsonr_get_str(job, "db", ""),
               *mp = tsr_jsonr_get_str(job, "measurement_prefix", "");
    if (*db || *mp) {
        printf("  only         ");
        if (*db) printf("database '%s'%s", db, *mp ? ", " : "");
        if (*mp) printf("measurements starting with '%s'", mp);
        printf("\n");
    }
    int64_t rate = tsr_jsonr_get_int(job, "rate", 0);
    if (rate > 0) printf("  rate cap     %s points/s\n", fmt_count(rate, b1, sizeof(b1)));
    printf("  started by   %s at %s\n", tsr_jsonr_get_str(job, "started_by", "?"),
           fmt_time(tsr_jsonr_get_int(job, "created_ms", 0), b1, sizeof(b1)));
    int64_t done = tsr_jsonr_get_int(job, "records_done", 0),
            total = tsr_jsonr_get_int(job, "records_total", 0);
    printf("  records      %s of %s (%.1f%%)\n", fmt_count(done, b1, sizeof(b1)),
           fmt_count(total, b2, sizeof(b2)), tsr_jsonr_get_num(job, "progress", 0) * 100);
    printf("  points       %s %s (%s)\n",
           fmt_count(tsr_jsonr_get_int(job, "points_sent", 0), b1, sizeof(b1)),
           dry ? "counted" : "sent",
           fmt_bytes((double)tsr_jsonr_get_int(job, "bytes_sent", 0), b3, sizeof(b3)));
    if (!job_finished(state))
        printf("  rate now     %s points/s\n",
               fmt_count((int64_t)(tsr_jsonr_get_num(job, "rate_now", 0) + 0.5), b1, sizeof(b1)));
    int64_t fin = tsr_jsonr_get_int(job, "finished_ms", 0);
    if (fin) printf("  finished     %s\n", fmt_time(fin, b1, sizeof(b1)));
    const char *result = tsr_jsonr_get_str(job, "result", "");
    if (*result) printf("  result       %s\n", result);
    const struct tsr_jsonr *parts = tsr_jsonr_get(job, "partitions");
    for (size_t k = 0; detail && k < tsr_jsonr_len(parts); k++) {
        const struct tsr_jsonr *p = tsr_jsonr_at(parts, k);
        printf("  partition %-3lld offsets %lld..%lld, at %lld\n",
               (long long)tsr_jsonr_get_int(p, "partition", 0),
               (long long)tsr_jsonr_get_int(p, "start", 0),
               (long long)tsr_jsonr_get_int(p, "end", 0),
               (long long)tsr_jsonr_get_int(p, "position", 0));
    }
}

/* --- following a job ----------------------------------------------------------------- */

#define RATE_SAMPLES 21 /* polls (about 10 s) behind the observed progress rate */
#define BAR_WIDTH    20

struct progress {
    int64_t t[RATE_SAMPLES], done[RATE_SAMPLES];
    int n, next;
    size_t drawn;       /* terminal: length of the line on screen, to blank its rest */
    int64_t last_plain; /* not a terminal: when the last line was printed (0: never) */
};

/* ETA in seconds from the records left and the rate records_done grew at over the
 * last RATE_SAMPLES polls: what the operator watching sees, pauses and rate changes
 * included. -1 while unknown. */
static double progress_eta(struct progress *pg, int64_t now, int64_t done, int64_t total)
{
    pg->t[pg->next] = now;
    pg->done[pg->next] = done;
    pg->next = (pg->next + 1) % RATE_SAMPLES;
    if (pg->n < RATE_SAMPLES) pg->n++;
    if (total <= done) return 0;
    int oldest = pg->n < RATE_SAMPLES ? 0 : pg->next;
    double dt = (double)(now - pg->t[oldest]), dd = (double)(done - pg->done[oldest]);
    if (dt <= 0 || dd <= 0) return -1;
    return (double)(total - done) / (dd / dt) / 1000.0;
}

static void progress_draw(struct ctl *c, struct progress *pg, const struct tsr_jsonr *job, int last)
{
    int64_t now = mono_ms();
    const char *state = tsr_jsonr_get_str(job, "state", "?");
    int64_t done = tsr_jsonr_get_int(job, "records_done", 0),
            total = tsr_jsonr_get_int(job, "records_total", 0);
    double eta = progress_eta(pg, now, done, total);
    if (!c->tty && !last && pg->last_plain && now - pg->last_plain < PLAIN_EVERY_MS) return;

    double p = tsr_jsonr_get_num(job, "progress", 0);
    if (p < 0) p = 0;
    if (p > 1) p = 1;
    char pts[32], rate[32], etas[32], line[256], bar[BAR_WIDTH + 1];
    int filled = (int)(p * BAR_WIDTH);
    for (int k = 0; k < BAR_WIDTH; k++)
        bar[k] = k < filled ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    int running = strcmp(state, "running") == 0;
    snprintf(line, sizeof(line), "%d%% %s points %s/s ETA %s%s%s%s", (int)(p * 100),
             fmt_count(tsr_jsonr_get_int(job, "points_sent", 0), pts, sizeof(pts)),
             fmt_count((int64_t)(tsr_jsonr_get_num(job, "rate_now", 0) + 0.5), rate, sizeof(rate)),
             fmt_eta(running || job_finished(state) ? eta : -1, etas, sizeof(etas)),
             running ? "" : " (", running ? "" : state, running ? "" : ")");
    if (c->tty) {
        int n = printf("\r[%s] %s", bar, line);
        /* Blank what is left of a longer previous line. */
        if (n >= 0 && (size_t)n < pg->drawn) printf("%*s", (int)(pg->drawn - (size_t)n), "");
        pg->drawn = n > 0 ? (size_t)n : 0;
        if (last) putchar('\n');
    } else {
        printf("replay %lld: %s\n", (long long)c->id, line);
        pg->last_plain = now;
    }
    fflush(stdout);
}

/* Polls GET /replays/ID until the job finishes; sets *docp to its last state (and
 * *rawp to the body if rawp). Shows progress when show. A relay that restarts is ridden
 * out for UNREACHABLE_MAX_MS (jobs survive restarts); Ctrl-C stops watching, not the
 * job. */
static int follow(struct ctl *c, int show, struct tsr_jsonr **docp, struct tsr_buf *rawp)
{
    struct progress pg = {0};
    char path[64], what[64];
    int64_t unreachable_since = 0;
    snprintf(path, sizeof(path), "/replays/%lld", (long long)c->id);
    snprintf(what, sizeof(what), "cannot follow replay %lld", (long long)c->id);
    signal(SIGINT, on_sigint);
    for (;;) {
        struct tsr_jsonr *doc = NULL;
        struct tsr_buf raw = {0};
        int rc = call(c, "GET", path, NULL, what, &doc, &raw);
        if (rc == EXIT_UNREACHABLE) {
            int64_t now = mono_ms();
            if (!unreachable_since) {
                unreachable_since = now;
                if (c->tty && pg.drawn) putchar('\n');
                pg.drawn = 0;
                fprintf(stderr, "%s; retrying for %d s\n", c->msg, UNREACHABLE_MAX_MS / 1000);
            }
            if (now - unreachable_since > UNREACHABLE_MAX_MS) return rc;
        } else if (rc) {
            if (c->tty && pg.drawn) putchar('\n');
            return rc;
        } else {
            unreachable_since = 0;
            c->msg[0] = '\0';
            int fin = job_finished(tsr_jsonr_get_str(doc, "state", ""));
            if (show) progress_draw(c, &pg, doc, fin);
            if (fin) {
                *docp = doc;
                if (rawp)
                    *rawp = raw;
                else
                    tsr_buf_free(&raw);
                return 0;
            }
        }
        tsr_jsonr_free(&doc);
        tsr_buf_free(&raw);
        if (!interrupted) sleep_ms(POLL_MS);
        if (interrupted) {
            if (c->tty && pg.drawn) putchar('\n');
            return fail(c, 130,
                        "stopped watching replay %lld; it goes on: 'tsrelayctl replay cancel %lld' "
                        "stops it",
                        (long long)c->id, (long long)c->id);
        }
    }
}

/* Per-measurement counts of a finished dry run, largest first. */
static int cmp_points_desc(const void *x, const void *y)
{
    int64_t a = tsr_jsonr_get_int(*(const struct tsr_jsonr *const *)x, "points", 0);
    int64_t b = tsr_jsonr_get_int(*(const struct tsr_jsonr *const *)y, "points", 0);
    return a < b ? 1 : a > b ? -1 : 0;
}

static void print_measurements(const struct tsr_jsonr *job)
{
    const struct tsr_jsonr *ms = tsr_jsonr_get(job, "measurements");
    size_t n = tsr_jsonr_len(ms);
    if (n == 0) {
        printf("no points in the range\n");
        return;
    }
    const struct tsr_jsonr **sorted = calloc(n, sizeof(*sorted));
    if (!sorted) abort();
    for (size_t k = 0; k < n; k++)
        sorted[k] = tsr_jsonr_at(ms, k);
    qsort(sorted, n, sizeof(*sorted), cmp_points_desc);
    struct table t;
    char a[32], b[32];
    table_init(&t, "MEASUREMENT", ">POINTS", ">BYTES");
    int64_t tp = 0, tb = 0;
    for (size_t k = 0; k < n; k++) {
        int64_t p = tsr_jsonr_get_int(sorted[k], "points", 0),
                by = tsr_jsonr_get_int(sorted[k], "bytes", 0);
        tp += p, tb += by;
        table_row(&t, tsr_jsonr_get_str(sorted[k], "name", "?"), fmt_count(p, a, sizeof(a)),
                  fmt_count(by, b, sizeof(b)));
    }
    table_row(&t, "(total)", fmt_count(tp, a, sizeof(a)), fmt_count(tb, b, sizeof(b)));
    table_print(&t);
    table_free(&t);
    free(sorted);
}

/* Waits for job c->id and turns its end into the exit code: 0 for done, 1 (with the
 * job's result as the message) for failed or cancelled. */
static int wait_job(struct ctl *c, int dry)
{
    struct tsr_jsonr *job = NULL;
    struct tsr_buf raw = {0};
    int rc = follow(c, !c->json, &job, c->json ? &raw : NULL);
    if (rc) return rc;
    const char *state = tsr_jsonr_get_str(job, "state", "?");
    const char *result = tsr_jsonr_get_str(job, "result", "");
    if (c->json) {
        print_json(raw.data, raw.len);
    } else if (strcmp(state, "done") == 0) {
        char pts[32];
        printf("replay %lld done: %s\n", (long long)c->id,
               *result ? result
                       : fmt_count(tsr_jsonr_get_int(job, "points_sent", 0), pts, sizeof(pts)));
        if (dry) print_measurements(job);
    }
    if (strcmp(state, "done") != 0)
        rc = fail(c, EXIT_FAIL, "replay %lld %s: %s", (long long)c->id, state,
                  *result ? result : "no reason given");
    tsr_jsonr_free(&job);
    tsr_buf_free(&raw);
    return rc;
}

/* --- commands ------------------------------------------------------------------------ */

static const struct tsr_jsonr *find_cluster(const struct tsr_jsonr *clusters, const char *name)
{
    for (size_t k = 0; k < tsr_jsonr_len(clusters); k++) {
        const struct tsr_jsonr *cl = tsr_jsonr_at(clusters, k);
        if (strcmp(tsr_jsonr_get_str(cl, "name", ""), name) == 0) return cl;
    }
    return NULL;
}

static int no_such_cluster(struct ctl *c, const struct tsr_jsonr *clusters)
{
    struct tsr_buf names = {0};
    for (size_t k = 0; k < tsr_jsonr_len(clusters); k++)
        tsr_buf_printf(&names, "%s%s", k ? ", " : "",
                       tsr_jsonr_get_str(tsr_jsonr_at(clusters, k), "name", "?"));
    tsr_buf_putc(&names, '\0');
    fail(c, EXIT_FAIL, "no such cluster '%s' (configured: %s)", c->cluster,
         names.len > 1 ? names.data : "none");
    tsr_buf_free(&names);
    return EXIT_FAIL;
}

static void lag_text(double s, char *buf, size_t len)
{
    if (s < 60)
        snprintf(buf, len, "%.1fs", s);
    else
        tsr_ctl_duration_format((int64_t)(s * 1000), buf, len);
}

/* One line, at most LAST_ERROR_WIDTH characters: errors can quote a whole response. */
static void short_text(const char *s, char *buf, size_t len)
{
    size_t o = 0, chars = 0;
    for (; *s && o + 4 < len; s++) {
        if (((unsigned char)*s & 0xC0) != 0x80 && ++chars > LAST_ERROR_WIDTH - 3) {
            while (o && buf[o - 1] == ' ')
                o--;
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        buf[o++] = (*s == '\n' || *s == '\r' || *s == '\t') ? ' ' : *s;
    }
    buf[o] = '\0';
    if (o == 0) snprintf(buf, len, "-");
}

static void print_status(const struct tsr_jsonr *st)
{
    char b1[64], b2[64], b3[64], b4[256];
    tsr_ctl_duration_format(tsr_jsonr_get_int(st, "uptime_s", 0) * 1000, b1, sizeof(b1));
    printf("tsrelay %s: up %s%s\n\n", tsr_jsonr_get_str(st, "datacenter", "?"), b1,
           tsr_jsonr_get_bool(st, "draining", 0) ? ", draining (not accepting writes)" : "");

    const struct tsr_jsonr *clusters = tsr_jsonr_get(st, "clusters");
    if (tsr_jsonr_len(clusters) == 0) {
        printf("no clusters configured\n");
    } else {
        struct table t;
        table_init(&t, "CLUSTER", "STATE", "READY", ">LAG", ">LAG POINTS", "LAST ERROR");
        for (size_t k = 0; k < tsr_jsonr_len(clusters); k++) {
            const struct tsr_jsonr *cl = tsr_jsonr_at(clusters, k);
            lag_text(tsr_jsonr_get_num(cl, "lag_seconds", 0), b1, sizeof(b1));
            short_text(tsr_jsonr_get_str(cl, "last_error", ""), b4, sizeof(b4));
            table_row(&t, tsr_jsonr_get_str(cl, "name", "?"), tsr_jsonr_get_str(cl, "state", "?"),
                      tsr_jsonr_get_bool(cl, "ready", 0) ? "yes" : "no", b1,
                      fmt_count(tsr_jsonr_get_int(cl, "lag_points", 0), b2, sizeof(b2)), b4);
        }
        table_print(&t);
        table_free(&t);
    }

    const struct tsr_jsonr *k = tsr_jsonr_get(st, "kafka");
    printf("\nkafka: %s, %s; brokers %s, topic %s, %lld partitions; %s records in flight (%s); "
           "%s records produced, %s errors\n",
           tsr_jsonr_get_bool(k, "up", 0) ? "up" : "DOWN",
           tsr_jsonr_get_bool(k, "ready", 0) ? "ready" : "not ready",
           tsr_jsonr_get_str(k, "brokers", "?"), tsr_jsonr_get_str(k, "topic", "?"),
           (long long)tsr_jsonr_get_int(k, "partitions", 0),
           fmt_count(tsr_jsonr_get_int(k, "inflight_records", 0), b1, sizeof(b1)),
           fmt_bytes((double)tsr_jsonr_get_int(k, "inflight_bytes", 0), b2, sizeof(b2)),
           fmt_count(tsr_jsonr_get_int(k, "records", 0), b3, sizeof(b3)),
           fmt_count(tsr_jsonr_get_int(k, "errors", 0), b4, sizeof(b4)));

    const struct tsr_jsonr *replays = tsr_jsonr_get(st, "replays");
    if (tsr_jsonr_len(replays) == 0) {
        printf("\nno replays running\n");
        return;
    }
    printf("\nreplays:\n");
    struct table t;
    table_init(&t, ">ID", "CLUSTER", "STATE", ">PROGRESS", ">RATE", ">ETA");
    for (size_t r = 0; r < tsr_jsonr_len(replays); r++) {
        const struct tsr_jsonr *job = tsr_jsonr_at(replays, r);
        char id[24], pct[16], rate[48], eta[32];
        snprintf(id, sizeof(id), "%lld", (long long)tsr_jsonr_get_int(job, "id", 0));
        snprintf(pct, sizeof(pct), "%.1f%%", tsr_jsonr_get_num(job, "progress", 0) * 100);
        snprintf(rate, sizeof(rate), "%s/s",
                 fmt_count((int64_t)(tsr_jsonr_get_num(job, "rate_now", 0) + 0.5), b1, sizeof(b1)));
        fmt_eta(job_eta_snapshot(job), eta, sizeof(eta));
        table_row(&t, id, tsr_jsonr_get_str(job, "cluster", "?"),
                  tsr_jsonr_get_str(job, "state", "?"), pct, rate, eta);
    }
    table_print(&t);
    table_free(&t);
}

static int cmd_status(struct ctl *c)
{
    struct tsr_jsonr *st = NULL;
    struct tsr_buf raw = {0};
    int rc = call(c, "GET", "/status", NULL, "cannot read status", &st, &raw);
    if (rc) return rc;
    if (c->json)
        print_json(raw.data, raw.len);
    else
        print_status(st);
    tsr_jsonr_free(&st);
    tsr_buf_free(&raw);
    return EXIT_OK;
}

static int cmd_checkpoints(struct ctl *c)
{
    struct tsr_jsonr *st = NULL;
    int rc = call(c, "GET", "/status", NULL, "cannot read checkpoints", &st, NULL);
    if (rc) return rc;
    const struct tsr_jsonr *clusters = tsr_jsonr_get(st, "clusters");
    if (c->cluster && !find_cluster(clusters, c->cluster)) {
        rc = no_such_cluster(c, clusters);
        goto out;
    }
    struct table t;
    struct tsr_buf js = {0};
    table_init(&t, "CLUSTER", ">PARTITION", ">POSITION", ">HIGH", ">LAG");
    tsr_buf_putc(&js, '[');
    for (size_t k = 0, nsel = 0; k < tsr_jsonr_len(clusters); k++) {
        const struct tsr_jsonr *cl = tsr_jsonr_at(clusters, k);
        const char *name = tsr_jsonr_get_str(cl, "name", "?");
        if (c->cluster && strcmp(name, c->cluster) != 0) continue;
        /* --json: the server's own text of each name and partition list. */
        size_t nl, pl;
        const char *nraw = tsr_jsonr_raw(tsr_jsonr_get(cl, "name"), &nl);
        const char *praw = tsr_jsonr_raw(tsr_jsonr_get(cl, "partitions"), &pl);
        tsr_buf_printf(&js, "%s{\"name\":%.*s,\"partitions\":%.*s}", nsel++ ? "," : "", (int)nl,
                       nraw ? nraw : "", (int)(praw ? pl : 2), praw ? praw : "[]");
        const struct tsr_jsonr *parts = tsr_jsonr_get(cl, "partitions");
        for (size_t p = 0; p < tsr_jsonr_len(parts); p++) {
            const struct tsr_jsonr *pp = tsr_jsonr_at(parts, p);
            int64_t pos = tsr_jsonr_get_int(pp, "position", -1),
                    high = tsr_jsonr_get_int(pp, "high", -1);
            char pn[24], ps[24], hs[24], ls[24];
            snprintf(pn, sizeof(pn), "%lld", (long long)tsr_jsonr_get_int(pp, "partition", 0));
            snprintf(ps, sizeof(ps), pos >= 0 ? "%lld" : "-", (long long)pos);
            snprintf(hs, sizeof(hs), high >= 0 ? "%lld" : "-", (long long)high);
            snprintf(ls, sizeof(ls), pos >= 0 && high >= 0 ? "%lld" : "-",
                     (long long)(high > pos ? high - pos : 0));
            table_row(&t, name, pn, ps, hs, ls);
        }
    }
    tsr_buf_putc(&js, ']');
    if (c->json)
        print_json(js.data, js.len);
    else if (t.nrows)
        table_print(&t);
    else
        printf("no partitions assigned yet\n");
    table_free(&t);
    tsr_buf_free(&js);
out:
    tsr_jsonr_free(&st);
    return rc;
}

static int cmd_ledger(struct ctl *c)
{
    struct tsr_jsonr *st = NULL;
    int rc = call(c, "GET", "/status", NULL, "cannot read the ledger", &st, NULL);
    if (rc) return rc;
    const struct tsr_jsonr *clusters = tsr_jsonr_get(st, "clusters");
    const struct tsr_jsonr *cl = find_cluster(clusters, c->cluster);
    if (!cl) {
        rc = no_such_cluster(c, clusters);
        goto out;
    }
    const struct tsr_jsonr *ledger = tsr_jsonr_get(cl, "ledger");
    if (c->json) {
        size_t len;
        const char *raw = tsr_jsonr_raw(ledger, &len);
        print_json(raw ? raw : "[]", raw ? len : 2);
        goto out;
    }
    if (tsr_jsonr_len(ledger) == 0) {
        printf("cluster '%s' has never been out of sync\n", c->cluster);
        goto out;
    }
    struct table t;
    char name[300];
    shell_word(c->cluster, name, sizeof(name));
    table_init(&t, ">ID", "KIND", "FROM", "TO", ">DURATION", "REASON");
    int64_t now = wall_ms();
    for (size_t k = 0; k < tsr_jsonr_len(ledger); k++) {
        const struct tsr_jsonr *e = tsr_jsonr_at(ledger, k);
        int64_t from = tsr_jsonr_get_int(e, "from_ms", 0), to = tsr_jsonr_get_int(e, "to_ms", 0);
        char id[24], fs[40], ts[40], dur[48], cmd[512];
        snprintf(id, sizeof(id), "%lld", (long long)tsr_jsonr_get_int(e, "id", 0));
        fmt_time(from, fs, sizeof(fs));
        if (to)
            fmt_time(to, ts, sizeof(ts));
        else
            snprintf(ts, sizeof(ts), "open");
        tsr_ctl_duration_format((to ? to : now) - from, dur, sizeof(dur));
        if (!to) strncat(dur, " so far", sizeof(dur) - strlen(dur) - 1);
        table_row(&t, id, tsr_jsonr_get_str(e, "kind", "?"), fs, ts, dur,
                  tsr_jsonr_get_str(e, "reason", ""));
        snprintf(cmd, sizeof(cmd), "    tsrelayctl replay start --cluster %s --since %s%s%s", name,
                 fs, to ? " --until " : "", to ? ts : "");
        table_under(&t, cmd);
    }
    table_print(&t);
    table_free(&t);
out:
    tsr_jsonr_free(&st);
    return rc;
}

static const char *started_by(char *buf, size_t len)
{
    char host[256] = "";
    const char *user = getenv("USER");
    if (!user || !*user) {
        struct passwd *pw = getpwuid(getuid());
        user = pw ? pw->pw_name : "unknown";
    }
    if (gethostname(host, sizeof(host) - 1) != 0 || !*host) snprintf(host, sizeof(host), "unknown");
    snprintf(buf, len, "%s@%s", user, host);
    return buf;
}

/* Parses a TIME option; a bad one is a usage error naming the option. */
static int time_arg(struct ctl *c, const char *opt, const char *s, int64_t now, int flags,
                    int64_t *ms)
{
    char err[256];
    if (tsr_ctl_time_parse(s, now, flags, ms, err, sizeof(err)) == 0) return 0;
    return fail(c, EXIT_USAGE, "invalid %s '%s': %s", opt, s, err);
}

static int cmd_replay_start(struct ctl *c)
{
    int64_t now = wall_ms(), since, until = 0, rate = 0;
    int rc;
    if (!c->cluster) return fail(c, EXIT_USAGE, "replay start needs --cluster NAME");
    if (!c->since) return fail(c, EXIT_USAGE, "replay start needs --since TIME");
    if ((rc = time_arg(c, "--since", c->since, now, TSR_CTL_TIME_EARLIEST, &since))) return rc;
    if (c->until && (rc = time_arg(c, "--until", c->until, now, 0, &until))) return rc;
    if (c->until && until <= since)
        return fail(c, EXIT_USAGE, "invalid --until '%s': not after --since '%s'", c->until,
                    c->since);
    if (c->rate) {
        char *end;
        errno = 0;
        long long v = strtoll(c->rate, &end, 10);
        if (errno || end == c->rate || *end || v <= 0)
            return fail(c, EXIT_USAGE,
                        "invalid --rate '%s': expected points per second, a whole number above 0",
                        c->rate);
        rate = v;
    }

    char who[300];
    struct tsr_buf body = {0};
    tsr_buf_puts(&body, "{\"cluster\":");
    tsr_json_string(&body, c->cluster);
    tsr_buf_printf(&body, ",\"since_ms\":%lld", (long long)since);
    if (c->until) tsr_buf_printf(&body, ",\"until_ms\":%lld", (long long)until);
    if (rate) tsr_buf_printf(&body, ",\"rate\":%lld", (long long)rate);
    if (c->db) tsr_buf_puts(&body, ",\"db\":"), tsr_json_string(&body, c->db);
    if (c->measurement)
        tsr_buf_puts(&body, ",\"measurement_prefix\":"), tsr_json_string(&body, c->measurement);
    if (c->given & OPT_DRY_RUN) tsr_buf_puts(&body, ",\"dry_run\":true");
    tsr_buf_puts(&body, ",\"started_by\":");
    tsr_json_string(&body, started_by(who, sizeof(who)));
    tsr_buf_puts(&body, "}");
    tsr_buf_putc(&body, '\0');

    struct tsr_jsonr *job = NULL;
    struct tsr_buf raw = {0};
    rc = call(c, "POST", "/replays", body.data, "cannot start replay", &job, &raw);
    tsr_buf_free(&body);
    if (rc) return rc;
    c->id = tsr_jsonr_get_int(job, "id", 0);
    int waiting = (c->given & (OPT_WAIT | OPT_DRY_RUN)) != 0;
    if (c->json && !waiting) print_json(raw.data, raw.len);
    if (!c->json) print_job(job, 0);
    tsr_jsonr_free(&job);
    tsr_buf_free(&raw);
    if (!waiting) return EXIT_OK;
    if (c->id <= 0)
        return fail(c, EXIT_FAIL, "cannot follow the replay: the server's answer has no job id");
    if (!c->json) putchar('\n');
    return wait_job(c, (c->given & OPT_DRY_RUN) != 0);
}

static int cmd_replay_list(struct ctl *c)
{
    struct tsr_jsonr *doc = NULL;
    struct tsr_buf raw = {0};
    int rc = call(c, "GET", "/replays", NULL, "cannot list replays", &doc, &raw);
    if (rc) return rc;
    const struct tsr_jsonr *jobs = tsr_jsonr_get(doc, "replays");
    if (c->json) {
        print_json(raw.data, raw.len);
    } else if (tsr_jsonr_len(jobs) == 0) {
        printf("no replays\n");
    } else {
        struct table t;
        table_init(&t, ">ID", "CLUSTER", "STATE", "SINCE", "UNTIL", ">PROGRESS", ">POINTS",
                   "STARTED BY");
        for (size_t k = 0; k < tsr_jsonr_len(jobs); k++) {
            const struct tsr_jsonr *job = tsr_jsonr_at(jobs, k);
            char id[24], st[48], since[40], until[40], pct[16], pts[32];
            int64_t s = tsr_jsonr_get_int(job, "since_ms", 0),
                    u = tsr_jsonr_get_int(job, "until_ms", 0);
            snprintf(id, sizeof(id), "%lld", (long long)tsr_jsonr_get_int(job, "id", 0));
            snprintf(st, sizeof(st), "%s%s", tsr_jsonr_get_str(job, "state", "?"),
                     tsr_jsonr_get_bool(job, "dry_run", 0) ? " (dry run)" : "");
            if (s)
                fmt_time(s, since, sizeof(since));
            else
                snprintf(since, sizeof(since), "earliest");
            fmt_time(u ? u : tsr_jsonr_get_int(job, "created_ms", 0), until, sizeof(until));
            snprintf(pct, sizeof(pct), "%.1f%%", tsr_jsonr_get_num(job, "progress", 0) * 100);
            fmt_count(tsr_jsonr_get_int(job, "points_sent", 0), pts, sizeof(pts));
            table_row(&t, id, tsr_jsonr_get_str(job, "cluster", "?"), st, since, until, pct, pts,
                      tsr_jsonr_get_str(job, "started_by", ""));
        }
        table_print(&t);
        table_free(&t);
    }
    tsr_jsonr_free(&doc);
    tsr_buf_free(&raw);
    return EXIT_OK;
}

static int cmd_replay_show(struct ctl *c)
{
    if (c->given & OPT_FOLLOW) {
        struct tsr_jsonr *job = NULL;
        char path[64], what[64];
        int rc, dry = 0;
        if (!c->json) {
            /* The job first, so the operator sees what is being followed. */
            snprintf(path, sizeof(path), "/replays/%lld", (long long)c->id);
            snprintf(what, sizeof(what), "cannot show replay %lld", (long long)c->id);
            if ((rc = call(c, "GET", path, NULL, what, &job, NULL))) return rc;
            print_job(job, 0);
            putchar('\n');
            dry = tsr_jsonr_get_bool(job, "dry_run", 0);
            tsr_jsonr_free(&job);
        }
        return wait_job(c, dry);
    }
    struct tsr_jsonr *job = NULL;
    struct tsr_buf raw = {0};
    char path[64], what[64];
    snprintf(path, sizeof(path), "/replays/%lld", (long long)c->id);
    snprintf(what, sizeof(what), "cannot show replay %lld", (long long)c->id);
    int rc = call(c, "GET", path, NULL, what, &job, &raw);
    if (rc) return rc;
    if (c->json) {
        print_json(raw.data, raw.len);
    } else {
        print_job(job, 1);
        if (tsr_jsonr_get_bool(job, "dry_run", 0) &&
            job_finished(tsr_jsonr_get_str(job, "state", ""))) {
            putchar('\n');
            print_measurements(job);
        }
    }
    tsr_jsonr_free(&job);
    tsr_buf_free(&raw);
    return EXIT_OK;
}

/* pause, resume, cancel: POST /replays/ID/VERB. */
static int replay_verb(struct ctl *c, const char *verb)
{
    struct tsr_jsonr *job = NULL;
    struct tsr_buf raw = {0};
    char path[96], what[96];
    snprintf(path, sizeof(path), "/replays/%lld/%s", (long long)c->id, verb);
    snprintf(what, sizeof(what), "cannot %s replay %lld", verb, (long long)c->id);
    int rc = call(c, "POST", path, "", what, &job, &raw);
    if (rc) return rc;
    if (c->json)
        print_json(raw.data, raw.len);
    else
        printf("replay %lld: %s\n", (long long)c->id, tsr_jsonr_get_str(job, "state", "?"));
    tsr_jsonr_free(&job);
    tsr_buf_free(&raw);
    return EXIT_OK;
}

static int cmd_replay_pause(struct ctl *c)
{
    return replay_verb(c, "pause");
}

static int cmd_replay_resume(struct ctl *c)
{
    return replay_verb(c, "resume");
}

static int cmd_replay_cancel(struct ctl *c)
{
    return replay_verb(c, "cancel");
}

/* --- command line -------------------------------------------------------------------- */

static const struct command {
    const char *word, *sub; /* "replay" "start", or "status" NULL */
    int takes_id;
    unsigned allowed; /* OPT_* bits; -a and --json go with every command */
    int (*run)(struct ctl *c);
} commands[] = {
    {"status", NULL, 0, 0, cmd_status},
    {"checkpoints", NULL, 0, OPT_CLUSTER, cmd_checkpoints},
    {"ledger", NULL, 0, OPT_CLUSTER, cmd_ledger},
    {"replay", "start", 0,
     OPT_CLUSTER | OPT_SINCE | OPT_UNTIL | OPT_RATE | OPT_DB | OPT_MEASUREMENT | OPT_DRY_RUN |
         OPT_WAIT,
     cmd_replay_start},
    {"replay", "list", 0, 0, cmd_replay_list},
    {"replay", "show", 1, OPT_FOLLOW, cmd_replay_show},
    {"replay", "pause", 1, 0, cmd_replay_pause},
    {"replay", "resume", 1, 0, cmd_replay_resume},
    {"replay", "cancel", 1, 0, cmd_replay_cancel},
};

static const struct {
    unsigned bit;
    const char *name;
} opt_names[] = {
    {OPT_CLUSTER, "--cluster"}, {OPT_SINCE, "--since"}, {OPT_UNTIL, "--until"},
    {OPT_RATE, "--rate"},       {OPT_DB, "--db"},       {OPT_MEASUREMENT, "--measurement"},
    {OPT_DRY_RUN, "--dry-run"}, {OPT_WAIT, "--wait"},   {OPT_FOLLOW, "--follow"},
};

/* HOST:PORT (an IPv6 host in brackets), optionally written as http://HOST:PORT/. */
static int set_admin(struct ctl *c, const char *addr, const char *from)
{
    const char *a = addr;
    if (strncmp(a, "http://", 7) == 0) a += 7;
    size_t n = strlen(a);
    if (n && a[n - 1] == '/') n--;
    const char *colon = NULL;
    if (a[0] == '[') {
        const char *rb = memchr(a, ']', n);
        if (rb && rb + 1 < a + n && rb[1] == ':') colon = rb + 1;
    } else {
        colon = memchr(a, ':', n);
        if (colon && memchr(colon + 1, ':', n - (size_t)(colon + 1 - a))) colon = NULL;
    }
    size_t plen = colon ? n - (size_t)(colon + 1 - a) : 0;
    int port_ok = colon && colon > a && plen >= 1 && plen <= 5 &&
                  strspn(colon + 1, "0123456789") >= plen && atoi(colon + 1) >= 1 &&
                  atoi(colon + 1) <= 65535;
    if (!port_ok || n >= sizeof(c->admin))
        return fail(c, EXIT_USAGE,
                    "invalid admin address '%s'%s: expected HOST:PORT (like " DEFAULT_ADMIN ")",
                    addr, from);
    snprintf(c->admin, sizeof(c->admin), "%.*s", (int)n, a);
    snprintf(c->base_url, sizeof(c->base_url), "http://%s", c->admin);
    return 0;
}

/* Everything from argv into c; returns the command, or NULL with the message set. */
static const struct command *parse_args(struct ctl *c, int argc, char **argv, int *rc)
{
    enum {
        O_JSON = 256,
        O_CLUSTER,
        O_SINCE,
        O_UNTIL,
        O_RATE,
        O_DB,
        O_MEASUREMENT,
        O_DRY_RUN,
        O_WAIT,
        O_FOLLOW,
        O_VERSION
    };
    static const struct option opts[] = {
        {"admin", required_argument, NULL, 'a'},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, O_VERSION},
        {"cluster", required_argument, NULL, O_CLUSTER},
        {"since", required_argument, NULL, O_SINCE},
        {"until", required_argument, NULL, O_UNTIL},
        {"rate", required_argument, NULL, O_RATE},
        {"db", required_argument, NULL, O_DB},
        {"measurement", required_argument, NULL, O_MEASUREMENT},
        {"dry-run", no_argument, NULL, O_DRY_RUN},
        {"wait", no_argument, NULL, O_WAIT},
        {"follow", no_argument, NULL, O_FOLLOW},
        {NULL, 0, NULL, 0},
    };
    const char *words[4] = {NULL}, *admin = NULL;
    int nwords = 0, opt;
    opterr = 0; /* our own messages, in our style */
    /* The leading '-' hands over words in order wherever they are, so options may come
     * before or after the command ("tsrelayctl replay list --json") even under
     * POSIXLY_CORRECT. */
    while ((opt = getopt_long(argc, argv, "-:a:h", opts, NULL)) != -1) {
        switch (opt) {
        case 1:
            if (nwords == 4) {
                *rc = fail(c, EXIT_USAGE, "unexpected argument '%s'", optarg);
                return NULL;
            }
            words[nwords++] = optarg;
            break;
        case 'a':
            admin = optarg;
            break;
        case O_JSON:
            c->json = 1;
            break;
        case 'h':
            usage(stdout);
            *rc = EXIT_OK;
            return NULL;
        case O_VERSION:
            printf("tsrelayctl %s\n", TSR_VERSION);
            *rc = EXIT_OK;
            return NULL;
        case O_CLUSTER:
            c->cluster = optarg, c->given |= OPT_CLUSTER;
            break;
        case O_SINCE:
            c->since = optarg, c->given |= OPT_SINCE;
            break;
        case O_UNTIL:
            c->until = optarg, c->given |= OPT_UNTIL;
            break;
        case O_RATE:
            c->rate = optarg, c->given |= OPT_RATE;
            break;
        case O_DB:
            c->db = optarg, c->given |= OPT_DB;
            break;
        case O_MEASUREMENT:
            c->measurement = optarg, c->given |= OPT_MEASUREMENT;
            break;
        case O_DRY_RUN:
            c->given |= OPT_DRY_RUN;
            break;
        case O_WAIT:
            c->given |= OPT_WAIT;
            break;
        case O_FOLLOW:
            c->given |= OPT_FOLLOW;
            break;
        case ':':
            *rc = fail(c, EXIT_USAGE, "option '%s' needs a value", argv[optind - 1]);
            return NULL;
        default:
            /* optopt names an unknown short option; for a long one it is 0. */
            if (optopt)
                *rc = fail(c, EXIT_USAGE, "unknown option '-%c'", optopt);
            else
                *rc = fail(c, EXIT_USAGE, "unknown option '%s'", argv[optind - 1]);
            return NULL;
        }
    }

    if (nwords == 0) {
        *rc = fail(c, EXIT_USAGE, "missing command");
        return NULL;
    }
    const struct command *cmd = NULL;
    int known_word = 0;
    for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
        if (strcmp(commands[k].word, words[0]) != 0) continue;
        known_word = 1;
        if (!commands[k].sub || (nwords > 1 && strcmp(commands[k].sub, words[1]) == 0)) {
            cmd = &commands[k];
            break;
        }
    }
    if (!cmd) {
        if (!known_word)
            *rc = fail(c, EXIT_USAGE, "unknown command '%s'", words[0]);
        else if (nwords == 1)
            *rc = fail(c, EXIT_USAGE,
                       "'%s' needs a subcommand: start, list, show, pause, resume or cancel",
                       words[0]);
        else
            *rc = fail(c, EXIT_USAGE, "unknown command '%s %s'", words[0], words[1]);
        return NULL;
    }
    int used = cmd->sub ? 2 : 1;
    char name[64];
    snprintf(name, sizeof(name), "%s%s%s", cmd->word, cmd->sub ? " " : "",
             cmd->sub ? cmd->sub : "");
    if (cmd->takes_id) {
        char *end;
        if (nwords <= used) {
            *rc = fail(c, EXIT_USAGE, "%s needs a replay ID", name);
            return NULL;
        }
        errno = 0;
        long long id = strtoll(words[used], &end, 10);
        if (errno || end == words[used] || *end || id <= 0) {
            *rc = fail(c, EXIT_USAGE, "invalid replay ID '%s': expected a number like 3",
                       words[used]);
            return NULL;
        }
        c->id = id;
        used++;
    }
    if (nwords > used) {
        *rc = fail(c, EXIT_USAGE, "unexpected argument '%s' after '%s'", words[used], name);
        return NULL;
    }
    for (size_t k = 0; k < sizeof(opt_names) / sizeof(opt_names[0]); k++) {
        if ((c->given & opt_names[k].bit) && !(cmd->allowed & opt_names[k].bit)) {
            *rc =
                fail(c, EXIT_USAGE, "option '%s' does not apply to '%s'", opt_names[k].name, name);
            return NULL;
        }
    }
    if (cmd->run == cmd_ledger && !c->cluster) {
        *rc = fail(c, EXIT_USAGE, "ledger needs --cluster NAME");
        return NULL;
    }

    const char *env = getenv("TSRELAY_ADMIN");
    if (admin)
        *rc = set_admin(c, admin, "");
    else if (env && *env)
        *rc = set_admin(c, env, " (from TSRELAY_ADMIN)");
    else
        *rc = set_admin(c, DEFAULT_ADMIN, "");
    return *rc ? NULL : cmd;
}

int main(int argc, char **argv)
{
    struct ctl c = {0};
    int rc = EXIT_OK;
    const struct command *cmd = parse_args(&c, argc, argv, &rc);
    if (!cmd) {
        if (rc == EXIT_USAGE) fprintf(stderr, "%s\nrun 'tsrelayctl --help' for usage\n", c.msg);
        return rc;
    }
    c.tty = isatty(STDOUT_FILENO);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(c.curl = curl_easy_init())) {
        fprintf(stderr, "cannot initialise libcurl\n");
        return EXIT_FAIL;
    }
    rc = cmd->run(&c);
    fflush(stdout);
    if (rc && c.msg[0]) {
        fprintf(stderr, "%s\n", c.msg);
        if (rc == EXIT_USAGE) fprintf(stderr, "run 'tsrelayctl --help' for usage\n");
    }
    curl_easy_cleanup(c.curl);
    curl_global_cleanup();
    return rc;
}

/* bench/loadgen.c — HTTP line-protocol load for the ingest benchmark.
 *
 * Pre-builds its request bodies (3-field lines with explicit ns timestamps), then
 * sends them over keep-alive connections, one thread per connection, and counts the
 * answers. The client does as little work per line as possible, so the figures
 * measure the server. Prints one line: requests, lines, seconds, lines/s, statuses.
 * -k turns keep-alive off, as a client without a connection pool does: every request
 * gets a new TCP connection, says `Connection: close`, and the connection is closed
 * once the answer is read.
 *
 * By default 16 bodies are built and sent round-robin, so a long run repeats the same
 * points (fine for an ingest rate). -d builds one body per request instead: line n of
 * the run (FIRST <= n < FIRST + LINES) is a distinct point with timestamp
 * T0 + n * STEP_NS, which a TSDB can count afterwards (bench/e2e.sh). -s sets STEP_NS
 * (default 1000; 1000000 gives 1 ms, VictoriaMetrics's resolution). -o FIRST numbers
 * the lines from FIRST instead of 0 (a warm-up of lines 0..FIRST-1 then leaves the
 * measured lines distinct from it). Series: host=h(n % SERIES), region=r((n % SERIES)
 * % 8), SERIES from -S (1000), so there are exactly SERIES series and a series' points
 * are SERIES * STEP_NS apart.
 *
 * -r RATE paces the requests at RATE lines/s in all (request r is sent no earlier than
 * r * LINES_PER_REQUEST / RATE seconds after the start), for latency at a given load
 * rather than the most the server takes. Each request's answer time (from its first
 * byte sent to its status line read) is kept, and p50, p99 and the maximum printed.
 *
 * -w sends the same points as Prometheus remote write instead (each body encoded once,
 * up front, by relay/core/remote_write.h: three samples a line, database "bench"), with
 * Content-Encoding: snappy; give -u the receiver's path (/api/v1/write). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "relay/core/remote_write.h"

#define NBODIES 16

struct opts {
    int port;
    const char *path;
    long lines;
    int batch;
    int conns;
    long long step_ns;
    int distinct;
    long series;
    long first;
    int close_each; /* -k: one connection per request */
    double rate;    /* -r: lines/s in all, 0: as fast as the server answers */
    int remote_write; /* -w */
};

static struct opts o = {0, "/write?db=bench", 1000000, 5000, 2, 1000, 0, 1000, 0, 0, 0, 0};
static double t_start;
static double *latency; /* per request, seconds; -1 when it failed */
static long nbodies;
static char **bodies;
static size_t *body_len;
static long *body_lines;
static atomic_long next_req;
static atomic_long ok_lines, n_204, n_other, n_err;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void build_bodies(long total_reqs)
{
    nbodies = o.distinct ? total_reqs : NBODIES;
    bodies = calloc((size_t)nbodies, sizeof(*bodies));
    body_len = calloc((size_t)nbodies, sizeof(*body_len));
    body_lines = calloc((size_t)nbodies, sizeof(*body_lines));
    if (!bodies || !body_len || !body_lines) abort();
    for (long b = 0; b < nbodies; b++) {
        long nl = o.batch;
        /* Distinct: the last request carries only what is left of LINES. */
        if (o.distinct && (b + 1) * o.batch > o.lines) nl = o.lines - b * o.batch;
        size_t cap = (size_t)nl * 128, len = 0;
        char *s = malloc(cap);
        if (!s) abort();
        for (long i = 0; i < nl; i++) {
            long n = o.first + b * o.batch + i, series = n % o.series;
            /* The region follows the host, so there are exactly SERIES series. */
            len += (size_t)snprintf(s + len, cap - len,
                                    "bench,host=h%ld,region=r%ld f1=%ld,f2=%ld.25,f3=%ld "
                                    "%lld\n",
                                    series, series % 8, n, n % 977, n % 13,
                                    1700000000000000000LL + n * o.step_ns);
        }
        if (o.remote_write) {
            struct tsr_buf rw = {0};
            tsr_remote_write_encode("bench", s, len, &rw);
            free(s);
            s = tsr_buf_detach(&rw, &len);
        }
        bodies[b] = s;
        body_len[b] = len;
        body_lines[b] = nl;
    }
}

static int connect_to(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o.port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one HTTP response; returns its status, or -1. */
static int read_response(int fd)
{
    char buf[8192];
    size_t len = 0;
    char *hdr_end = NULL;
    while (!hdr_end) {
        ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (r <= 0) return -1;
        len += (size_t)r;
        buf[len] = '\0';
        hdr_end = strstr(buf, "\r\n\r\n");
        if (!hdr_end && len >= sizeof(buf) - 1) return -1;
    }
    int status = atoi(buf + 9);
    long clen = 0;
    char *cl = strcasestr(buf, "\r\nContent-Length:");
    if (cl) clen = atol(cl + 17);
    long have = (long)(len - (size_t)(hdr_end + 4 - buf));
    while (have < clen) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r <= 0) return -1;
        have += r;
    }
    return status;
}

static void *worker(void *arg)
{
    (void)arg;
    int fd = o.close_each ? -1 : connect_to();
    long total_reqs = (o.lines + o.batch - 1) / o.batch;
    char head[512];
    for (;;) {
        long r = atomic_fetch_add(&next_req, 1);
        if (r >= total_reqs) break;
        long b = r % nbodies;
        if (o.rate > 0) {
            double due = t_start + (double)r * o.batch / o.rate, wait = due - now_s();
            if (wait > 0) {
                struct timespec ts = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
                nanosleep(&ts, NULL);
            }
        }
        double t_req = now_s();
        latency[r] = -1;
        if (fd < 0) fd = connect_to();
        if (fd < 0) {
            atomic_fetch_add(&n_err, 1);
            continue;
        }
        int hl = snprintf(head, sizeof(head),
                          "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\n"
                          "%s%s\r\n",
                          o.path, body_len[b],
                          o.remote_write ? "Content-Type: application/x-protobuf\r\n"
                                           "Content-Encoding: snappy\r\n"
                                           "X-Prometheus-Remote-Write-Version: 0.1.0\r\n"
                                         : "Content-Type: text/plain\r\n",
                          o.close_each ? "Connection: close\r\n" : "");
        int st = -1;
        if (send_all(fd, head, (size_t)hl) == 0 && send_all(fd, bodies[b], body_len[b]) == 0)
            st = read_response(fd);
        if (st > 0) latency[r] = now_s() - t_req;
        if (st == 204) {
            atomic_fetch_add(&n_204, 1);
            atomic_fetch_add(&ok_lines, body_lines[b]);
        } else if (st > 0) {
            atomic_fetch_add(&n_other, 1);
        } else {
            atomic_fetch_add(&n_err, 1);
            close(fd);
            fd = -1;
        }
        /* Without keep-alive the answer ends the connection: the next request opens a
         * new one, its handshake and the server's accept counted in the rate. */
        if (o.close_each && fd >= 0) {
            close(fd);
            fd = -1;
        }
    }
    if (fd >= 0) close(fd);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, "p:u:n:b:c:s:dS:o:kr:wh")) != -1) {
        switch (c) {
        case 'p': o.port = atoi(optarg); break;
        case 'u': o.path = optarg; break;
        case 'n': o.lines = atol(optarg); break;
        case 'b': o.batch = atoi(optarg); break;
        case 'c': o.conns = atoi(optarg); break;
        case 's': o.step_ns = atoll(optarg); break;
        case 'd': o.distinct = 1; break;
        case 'S': o.series = atol(optarg); break;
        case 'o': o.first = atol(optarg); break;
        case 'k': o.close_each = 1; break;
        case 'r': o.rate = atof(optarg); break;
        case 'w': o.remote_write = 1; break;
        case 'h':
            printf("usage: loadgen -p PORT [-u PATH] [-n LINES] [-b LINES_PER_REQUEST] "
                   "[-c CONNECTIONS] [-s STEP_NS] [-d] [-S SERIES] [-o FIRST] [-k] [-r RATE] [-w]\n"
                   "  -s STEP_NS  timestamp step between lines (default 1000)\n"
                   "  -d          every line distinct: one pre-built body per request\n"
                   "  -S SERIES   distinct series, host tag h0..h(SERIES-1) (default 1000)\n"
                   "  -o FIRST    number of the first line (default 0): its timestamp, f1\n"
                   "              and series\n"
                   "  -k          keep-alive off: a new connection per request, sent with\n"
                   "              Connection: close and closed after the answer\n"
                   "  -r RATE     pace requests at RATE lines/s in all (default: no pacing)\n"
                   "  -w          Prometheus remote write (3 samples a line) to -u PATH\n");
            return 0;
        default: return 2;
        }
    }
    if (o.port <= 0 || o.batch <= 0 || o.conns <= 0 || o.lines <= 0 || o.step_ns <= 0 ||
        o.series <= 0 || o.first < 0) {
        fprintf(stderr, "loadgen: -p PORT is required, and counts must be positive (see -h)\n");
        return 2;
    }
    long total_reqs = (o.lines + o.batch - 1) / o.batch;
    build_bodies(total_reqs);
    latency = calloc((size_t)total_reqs, sizeof(*latency));
    if (!latency) return 1;
    pthread_t th[64];
    if (o.conns > 64) o.conns = 64;
    double t0 = t_start = now_s();
    for (int i = 0; i < o.conns; i++) pthread_create(&th[i], NULL, worker, NULL);
    for (int i = 0; i < o.conns; i++) pthread_join(th[i], NULL);
    double dt = now_s() - t0;
    long nl = 0;
    for (long r = 0; r < total_reqs; r++)
        if (latency[r] >= 0) latency[nl++] = latency[r];
    qsort(latency, (size_t)nl, sizeof(*latency), cmp_double);
    double p50 = nl ? latency[nl / 2] : 0, p99 = nl ? latency[(nl * 99) / 100] : 0,
           pmax = nl ? latency[nl - 1] : 0;
    printf("lines=%ld seconds=%.3f lines_per_s=%.0f status_204=%ld status_other=%ld "
           "errors=%ld p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
           atomic_load(&ok_lines), dt, atomic_load(&ok_lines) / dt, atomic_load(&n_204),
           atomic_load(&n_other), atomic_load(&n_err), p50 * 1e3, p99 * 1e3, pmax * 1e3);
    return atomic_load(&n_other) || atomic_load(&n_err) ? 1 : 0;
}

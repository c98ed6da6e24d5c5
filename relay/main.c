/* relay/main.c — the tsrelay daemon: wiring, signals, and the shutdown sequence.
 *
 * Exit codes: 0 clean shutdown, every acknowledged write confirmed by Kafka;
 * 1 runtime failure (a listener could not start, a fatal producer error, or records
 * still unconfirmed when the drain deadline passed); 2 usage or configuration error. */
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "relay/admin/admin.h"
#include "relay/check.h"
#include "config/config.h"
#include "relay/deliver/delivery.h"
#include "relay/ingest/graphite_listener.h"
#include "relay/ingest/kafka_input.h"
#include "relay/ingest/udp.h"
#include "relay/ingest/http.h"
#include "relay/kafka/durable.h"
#include "relay/kafka/kafka.h"
#include "relay/core/log.h"
#include "relay/core/metrics.h"
#include "relay/core/tls_server.h"
#include "relay/core/version.h"
#include "relay/shape/shaper.h"
#include "replay/replay.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Freed heap memory is handed back to the system once this much of it is free: after a
 * catch-up or a replay, not in the churn of steady ingest (where every page handed back
 * would soon be faulted in again). */
#define TRIM_SLACK_BYTES (32 << 20)

struct relay {
    struct tsr_config *cf;
    /* Configs replaced by a reload: the producer, the spool and the listeners still
     * borrow the first one (what they read is equal in every one, or the reload was
     * refused), so all are kept until the exit. */
    struct tsr_config **old_cfs;
    size_t nold_cfs;
    struct event_base *base;
    struct tsr_kafka *k;
    struct tsr_durable *dur;
    struct tsr_delivery *d;
    struct tsr_ingest_http *ih;
    struct tsr_ingest_graphite *ig;
    struct tsr_ingest_udp **iu; /* one per udp[] listener */
    size_t niu;
    struct tsr_ingest_kafka *ik; /* inputs.kafka[] */
    struct tsr_admin *admin;
    struct tsr_shaper *shaper;  /* ingest rules and the cardinality guard */
    struct tsr_tls_server *tls; /* NULL: no listener speaks TLS */
    struct event *sigterm_ev, *sigint_ev, *sighup_ev, *house_ev, *drain_ev;
    int draining;
    int64_t drain_deadline_s;
    int exit_code;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tsrelay -c FILE            run the relay\n"
            "       tsrelay --check-config [--live] [--test-input FILE [--db DB] [--graphite]] -c FILE\n"
            "                                  validate FILE (keys, templates, rules, certificates),\n"
            "                                  print the problem and exit 2 if bad;\n"
            "                                  --live: also describe kafka.topic on the broker and\n"
            "                                  exit 1 if it is unreachable or the topic cannot give\n"
            "                                  the durability configured (docs/kafka.md);\n"
            "                                  --test-input: print what the rules make of each line\n"
            "                                  of FILE (- for stdin): kept, rewritten or dropped, at\n"
            "                                  ingest and per cluster (docs/shaping.md); lines are\n"
            "                                  line protocol of database DB (default test), or\n"
            "                                  Graphite plaintext with --graphite\n"
            "       tsrelay --config-reference print the reference of every config key (Markdown)\n"
            "       tsrelay --version | --help\n"
            "\n"
            "tsrelay accepts InfluxDB line protocol over HTTP (/write, /api/v2/write) and\n"
            "Graphite plaintext over TCP/UDP, and answers a write only once it is durable in\n"
            "Kafka (acks=all), or, while Kafka cannot take it, in the LMDB spool in state_dir\n"
            "(spool.*; drained into Kafka in order once it is back). Operators use the admin\n"
            "listener: /health /ready /metrics /status.\n"
            "\n"
            "signals: SIGTERM/SIGINT stop accepting, wait until every accepted write is\n"
            "         confirmed by Kafka or the spool (up to kafka.message_timeout_ms), then exit\n"
            "         SIGHUP reloads FILE (as tsrelayctl reload does): rules, cardinality, clusters,\n"
            "         ingest.auth, admin.tokens, log.level and the TLS certificate change live; a\n"
            "         change to anything else is refused, naming the key (it needs a restart);\n"
            "         a file that does not validate is refused and the running config kept\n"
            "exit codes: 0 clean shutdown, 1 runtime failure, 2 usage or config error\n");
}

static void drain_check(evutil_socket_t fd, short what, void *arg)
{
    struct relay *r = arg;
    int pending = (r->ih ? tsr_ingest_http_pending(r->ih) : 0) +
                  (r->ig ? tsr_ingest_graphite_pending(r->ig) : 0);
    for (size_t i = 0; i < r->niu; i++) pending += tsr_ingest_udp_pending(r->iu[i]);
    pending += tsr_ingest_kafka_pending(r->ik);
    /* While Kafka is there, the spool is emptied into it before the exit: a relay that
     * is not coming back (scaled down) must not leave points on its disk. Without Kafka
     * they stay spooled for the next start. */
    if (pending == 0 && !tsr_durable_draining(r->dur)) {
        event_base_loopexit(r->base, NULL);
        return;
    }
    if (time(NULL) >= r->drain_deadline_s) {
        if (pending) {
            tsr_error("shutdown deadline passed with %d writes still unconfirmed by kafka",
                      pending);
            r->exit_code = EXIT_RUNTIME;
        } else {
            tsr_warn("shutdown deadline passed before the spool was drained into kafka; what "
                     "is left goes first at the next start");
        }
        event_base_loopexit(r->base, NULL);
    }
}

static void begin_drain(struct relay *r, const char *why)
{
    if (r->draining) return;
    r->draining = 1;
    tsr_info("%s: no longer accepting writes, waiting for kafka to confirm the ones in flight",
             why);
    if (r->admin) tsr_admin_set_draining(r->admin);
    if (r->ih) tsr_ingest_http_drain(r->ih);
    if (r->ig) tsr_ingest_graphite_drain(r->ig);
    for (size_t i = 0; i < r->niu; i++) tsr_ingest_udp_drain(r->iu[i]);
    tsr_ingest_kafka_drain(r->ik);
    r->drain_deadline_s = time(NULL) + r->cf->kafka_message_timeout_ms / 1000 + 5;
    r->drain_ev = event_new(r->base, -1, EV_PERSIST, drain_check, r);
    struct timeval tv = {0, 20000};
    event_add(r->drain_ev, &tv);
}

/* What a reload may change; every other key must be as it was, or it is refused. */
static const char *const reloadable[] = {
    "rules", "cardinality", "clusters", "ingest.auth", "admin.tokens", "admin.metrics_public",
    "log.level", NULL,
};
/* What the forwarding thread is made from: a change restarts it. */
static const char *const delivery_keys[] = {"clusters", NULL};

/* SIGHUP and POST /reload: re-reads the config file, validates and compiles it, and
 * swaps it in only if all of that succeeded and nothing that needs a restart changed.
 * Appends what it did, or why not, to msg; returns 0 or -1. */
static int reload(struct relay *r, struct tsr_buf *msg)
{
    char err[1024];
    struct tsr_config *cf = NULL;
    int rc = -1;
    if (r->draining) {
        tsr_buf_puts(msg, "the relay is shutting down");
        goto out;
    }
    if (tsr_config_load(r->cf->path, &cf, err, sizeof(err)) || tsr_check_compile(cf, err, sizeof(err))) {
        tsr_buf_printf(msg, "%s; the running configuration is unchanged", err);
        goto out;
    }
    const char *fixed = tsr_config_differs(r->cf, cf, NULL, reloadable);
    if (fixed) {
        tsr_buf_printf(msg, "'%s' changed, which needs a restart; nothing was reloaded", fixed);
        goto out;
    }
    int restart = tsr_config_differs(r->cf, cf, delivery_keys, NULL) != NULL;
    if (tsr_shaper_reload(r->shaper, cf, err, sizeof(err))) {
        tsr_buf_printf(msg, "%s; the running configuration is unchanged", err);
        goto out;
    }
    if (restart) {
        /* Handed off as on SIGTERM (positions committed once the requests in flight are
         * answered), then started again: no point lost, none sent twice. Ingest goes on. */
        tsr_admin_set_config(r->admin, r->cf, NULL);
        tsr_delivery_stop(&r->d);
        if (cf->nclusters &&
            tsr_delivery_start(cf, r->k, &tsr_replay_runner, &r->d, err, sizeof(err))) {
            /* The checks passed, so this is the state store or a thread: not recoverable
             * here. Exit as a start that failed would. */
            tsr_error("reload: cannot restart delivery: %s", err);
            r->exit_code = EXIT_RUNTIME;
            begin_drain(r, "delivery failed to restart");
            tsr_buf_printf(msg, "delivery could not restart (%s): the relay is stopping", err);
            goto out;
        }
    }
    if (r->ih) tsr_ingest_http_set_config(r->ih, cf);
    tsr_admin_set_config(r->admin, cf, r->d);
    enum tsr_log_level level;
    if (tsr_log_level_parse(cf->log_level, &level) == 0) tsr_log_min = level;
    r->old_cfs = realloc(r->old_cfs, sizeof(*r->old_cfs) * (r->nold_cfs + 1));
    if (!r->old_cfs) abort();
    r->old_cfs[r->nold_cfs++] = r->cf;
    r->cf = cf;
    cf = NULL;
    tsr_buf_printf(msg, "reloaded: %zu ingest rules, %zu clusters%s%s", r->cf->nrules,
                   r->cf->nclusters, restart ? " (delivery restarted)" : "",
                   r->tls ? ", TLS certificate re-read" : "");
    rc = 0;
out:
    /* The certificate is re-read whatever became of the rest: it validates itself, and
     * keeps serving the last good one if the new one does not load. */
    if (r->tls && !r->draining) tsr_tls_server_reload(r->tls);
    tsr_buf_putc(msg, '\0');
    msg->len--;
    if (rc)
        tsr_warn("reload refused: %s", msg->data);
    else
        tsr_info("%s", msg->data);
    tsr_config_free(&cf);
    return rc;
}

static int admin_reload(void *opaque, struct tsr_buf *msg)
{
    return reload(opaque, msg);
}

static void on_sighup(evutil_socket_t fd, short what, void *arg)
{
    struct relay *r = arg;
    if (tsr_admin_busy(r->admin)) {
        /* A replay request is on the forwarding thread, which a reload may restart. */
        struct timeval tv = {0, 200000};
        event_base_once(r->base, -1, EV_TIMEOUT, on_sighup, r, &tv);
        return;
    }
    struct tsr_buf msg = {0};
    tsr_info("SIGHUP received: reloading %s", r->cf->path);
    reload(r, &msg);
    tsr_buf_free(&msg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct relay *r = arg;
    if (sig == SIGHUP) {
        on_sighup(-1, 0, r);
        return;
    }
    if (r->draining) {
        tsr_warn("second %s: exiting now without waiting", strsignal((int)sig));
        r->exit_code = EXIT_RUNTIME;
        event_base_loopexit(r->base, NULL);
        return;
    }
    begin_drain(r, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void housekeeping(evutil_socket_t fd, short what, void *arg)
{
    struct relay *r = arg;
    if (tsr_kafka_fatal(r->k) && !r->draining) {
        r->exit_code = EXIT_RUNTIME;
        begin_drain(r, "fatal kafka producer error");
    }
    /* A catch-up or a replay fills read-aheads and batches that glibc keeps in its
     * heaps once freed; hand the free pages back, so the RSS falls when it is over. */
    if (mallinfo2().fordblks > TRIM_SLACK_BYTES) malloc_trim(0);
}

static int start(struct relay *r)
{
    char err[512];
    if (tsr_kafka_new(r->cf, r->base, &r->k, err, sizeof(err))) goto fail;
    if (tsr_durable_new(r->cf, r->base, r->k, &r->dur, err, sizeof(err))) goto fail;
    if (r->cf->nclusters && tsr_delivery_start(r->cf, r->k, &tsr_replay_runner, &r->d, err, sizeof(err))) goto fail;
    if (*r->cf->tls_cert_file &&
        tsr_tls_server_new(r->cf, r->base, &r->tls, err, sizeof(err)))
        goto fail;
    if (tsr_shaper_new(r->cf, &r->shaper, err, sizeof(err))) goto fail;
    if (tsr_admin_new(r->cf, r->base, r->k, r->dur, r->d, r->cf->tls_admin ? r->tls : NULL, &r->admin,
                      err, sizeof(err)))
        goto fail;
    tsr_admin_set_shaper(r->admin, r->shaper);
    tsr_admin_set_reload(r->admin, admin_reload, r);
    if (*r->cf->listen_http &&
        tsr_ingest_http_new(r->cf, r->base, r->k, r->dur, r->shaper,
                            r->cf->tls_http ? r->tls : NULL, &r->ih, err, sizeof(err)))
        goto fail;
    if (*r->cf->listen_graphite &&
        tsr_ingest_graphite_new(r->cf, r->base, r->k, r->dur, r->shaper,
                                r->cf->tls_graphite ? r->tls : NULL, &r->ig, err, sizeof(err)))
        goto fail;
    r->iu = calloc(r->cf->nudp ? r->cf->nudp : 1, sizeof(*r->iu));
    if (!r->iu) abort();
    for (; r->niu < r->cf->nudp; r->niu++)
        if (tsr_ingest_udp_new(r->cf, &r->cf->udp[r->niu], r->base, r->k, r->dur, r->shaper,
                               &r->iu[r->niu], err, sizeof(err)))
            goto fail;
    if (tsr_ingest_kafka_new(r->cf, r->base, r->k, r->dur, r->shaper, &r->ik, err, sizeof(err)))
        goto fail;
    tsr_admin_set_inputs(r->admin, r->ik);

    r->sigterm_ev = evsignal_new(r->base, SIGTERM, on_signal, r);
    r->sigint_ev = evsignal_new(r->base, SIGINT, on_signal, r);
    r->sighup_ev = evsignal_new(r->base, SIGHUP, on_signal, r);
    r->house_ev = event_new(r->base, -1, EV_PERSIST, housekeeping, r);
    struct timeval sec = {1, 0};
    event_add(r->sigterm_ev, NULL);
    event_add(r->sigint_ev, NULL);
    event_add(r->sighup_ev, NULL);
    event_add(r->house_ev, &sec);
    tsr_info("tsrelay %s started: datacenter '%s', http '%s'%s, graphite '%s'%s, admin '%s'%s, "
             "kafka '%s' topic '%s'",
             TSR_VERSION, r->cf->datacenter, r->cf->listen_http, r->cf->tls_http ? " (tls)" : "",
             r->cf->listen_graphite, r->cf->tls_graphite ? " (tls, tcp)" : "",
             r->cf->listen_admin, r->cf->tls_admin ? " (tls)" : "", r->cf->kafka_brokers,
             r->cf->kafka_topic);
    for (size_t i = 0; i < r->cf->nudp; i++)
        tsr_info("udp line protocol on '%s': database '%s'%s%s, precision %s",
                 r->cf->udp[i].listen, r->cf->udp[i].database,
                 *r->cf->udp[i].retention_policy ? ", retention policy " : "",
                 r->cf->udp[i].retention_policy, r->cf->udp[i].precision);
    return 0;
fail:
    tsr_error("%s", err);
    return -1;
}

static void stop(struct relay *r)
{
    /* Forwarding stops first: it uses the producer for the dead-letter topic. */
    tsr_delivery_stop(&r->d);
    /* Kafka goes first: flushing it runs the last delivery reports, which answer HTTP
     * requests and release graphite records, so those modules must still exist. */
    tsr_durable_stop(r->dur);
    if (r->k) {
        int left = tsr_kafka_free(&r->k, 5000);
        if (left > 0 && r->cf->spool_enabled) {
            tsr_warn("%d kafka records unconfirmed at exit: they stay in the spool", left);
        } else if (left > 0) {
            tsr_error("%d kafka records unconfirmed at exit", left);
            r->exit_code = EXIT_RUNTIME;
        }
    }
    /* Commits what the flush spooled and answers those writes. */
    tsr_durable_free(&r->dur);
    tsr_ingest_graphite_free(&r->ig);
    for (size_t i = 0; i < r->niu; i++) tsr_ingest_udp_free(&r->iu[i]);
    free(r->iu);
    tsr_ingest_kafka_free(&r->ik);
    r->iu = NULL;
    r->niu = 0;
    tsr_ingest_http_free(&r->ih);
    tsr_admin_free(&r->admin);
    tsr_shaper_free(&r->shaper);
    tsr_tls_server_free(&r->tls);
    struct event **evs[] = {&r->sigterm_ev, &r->sigint_ev, &r->sighup_ev, &r->house_ev,
                            &r->drain_ev};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (*evs[i]) event_free(*evs[i]), *evs[i] = NULL;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'C'},
        {"live", no_argument, NULL, 'L'},
        {"test-input", required_argument, NULL, 'T'},
        {"db", required_argument, NULL, 'D'},
        {"graphite", no_argument, NULL, 'G'},
        {"config-reference", no_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    /* Request bodies, Kafka records and batches of a few MiB come and go many times a
     * second. glibc's defaults hand such blocks back to the system as they are freed
     * (mmap'd, or trimmed off the top of a heap), and every reuse then faults fresh
     * zeroed pages in: 14 % of the relay's CPU under ingest (perf), 18 % less CPU per
     * line without it (bench/run.sh). Keep them in the heaps instead; housekeeping hands
     * back what stays free (TRIM_SLACK_BYTES). */
    mallopt(M_MMAP_THRESHOLD, 8 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    const char *path = NULL;
    int check = 0, opt;
    struct tsr_check_opts co = {0};
    while ((opt = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 'C': check = 1; break;
        case 'L': co.live = 1; break;
        case 'T': co.test_input = optarg; break;
        case 'D': co.db = optarg; break;
        case 'G': co.graphite = 1; break;
        case 'R': tsr_config_write_reference(stdout); return EXIT_OK;
        case 'h': usage(stdout); return EXIT_OK;
        case 'V': printf("tsrelay %s\n", TSR_VERSION); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if ((co.live || co.test_input || co.db || co.graphite) && !check) {
        fprintf(stderr, "tsrelay: --live, --test-input, --db and --graphite go with "
                        "--check-config\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!path || optind != argc) {
        fprintf(stderr, "tsrelay: %s\n", path ? "unexpected argument" : "missing -c FILE");
        usage(stderr);
        return EXIT_USAGE;
    }

    struct relay r = {.exit_code = EXIT_OK};
    char err[1024];
    if (tsr_config_load(path, &r.cf, err, sizeof(err))) {
        fprintf(stderr, "tsrelay: %s\n", err);
        return EXIT_USAGE;
    }
    if (check) {
        int rc = tsr_check(r.cf, path, &co);
        tsr_config_free(&r.cf);
        return rc;
    }
    enum tsr_log_level level;
    if (tsr_log_level_parse(r.cf->log_level, &level) == 0) tsr_log_min = level;
    signal(SIGPIPE, SIG_IGN);
    tsr_metrics.start_time_s = time(NULL);

    /* The forwarding thread hands its answers to admin requests to this loop: every
     * base must be lock-aware and wake up for events added from another thread, so
     * libevent's threading comes before the first base is made. */
    evthread_use_pthreads();
    r.base = event_base_new();
    if (!r.base || start(&r) != 0) {
        r.exit_code = EXIT_RUNTIME;
    } else {
        event_base_dispatch(r.base);
    }
    stop(&r);
    if (r.base) event_base_free(r.base);
    tsr_config_free(&r.cf);
    for (size_t i = 0; i < r.nold_cfs; i++) tsr_config_free(&r.old_cfs[i]);
    free(r.old_cfs);
    tsr_info("tsrelay stopped (exit %d)", r.exit_code);
    return r.exit_code;
}

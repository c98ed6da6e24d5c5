/* relay/check.c — see check.h. */
#include "relay/check.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "relay/core/clock.h"
#include "relay/core/lineproto.h"
#include "relay/core/log.h"
#include "relay/core/tls_server.h"
#include "relay/deliver/route.h"
#include "relay/ingest/graphite.h"
#include "relay/ingest/kafka_input.h"
#include "relay/kafka/kafka.h"
#include "relay/kafka/topics.h"
#include "relay/shape/rules.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* --live: the topic as the broker has it, against the config. */
static int check_live(const struct tsr_config *cf)
{
    struct tsr_topic_report tr;
    char err[512];
    tsr_log_min = TSR_LOG_ERROR; /* librdkafka's retries are not the answer */
    if (tsr_kafka_check_topics(cf, &tr, err, sizeof(err)) != 0) {
        fprintf(stderr, "tsrelay: %s\n", err);
        return EXIT_RUNTIME;
    }
    printf("kafka topic '%s': %d partitions, replication factor %d, min.insync.replicas %d, "
           "retention %lld ms\n",
           cf->kafka_topic, tr.partitions, tr.replication_factor, tr.min_insync_replicas,
           (long long)tr.retention_ms);
    for (int i = 0; i < tr.nwarnings; i++) printf("warning: %s\n", tr.warnings[i]);
    return tr.nwarnings ? EXIT_RUNTIME : EXIT_OK;
}

struct compiled {
    struct tsr_graphite_tmpl *tmpl;
    struct tsr_rules *rules;
    struct tsr_route **routes;
    size_t nroutes;
};

static void free_compiled(struct compiled *c)
{
    tsr_graphite_tmpl_free(&c->tmpl);
    tsr_rules_free(&c->rules);
    for (size_t i = 0; i < c->nroutes; i++) tsr_route_free(&c->routes[i]);
    free(c->routes);
}

/* Everything the start compiles; 0, or -1 with the problem in err. */
static int compile_all(const struct tsr_config *cf, struct compiled *c, char *err, size_t errlen)
{
    char why[1024];
    if (tsr_graphite_tmpl_compile((const char *const *)cf->graphite_templates,
                                  cf->ngraphite_templates, cf->graphite_separator, &c->tmpl, why,
                                  sizeof(why))) {
        snprintf(err, errlen, "graphite.templates: %s", why);
        return -1;
    }
    if (tsr_rules_compile(cf->rules, cf->nrules, "rules", &c->rules, err, errlen)) return -1;
    if (tsr_ingest_kafka_check(cf, err, errlen)) return -1;
    c->routes = calloc(cf->nclusters ? cf->nclusters : 1, sizeof(*c->routes));
    if (!c->routes) abort();
    for (; c->nroutes < cf->nclusters; c->nroutes++)
        if (tsr_route_new(&cf->clusters[c->nroutes], (int)c->nroutes, &c->routes[c->nroutes], err,
                          errlen))
            return -1;
    if (*cf->tls_cert_file) {
        /* A certificate that does not load fails the check, not the start. */
        struct event_base *base = event_base_new();
        struct tsr_tls_server *tls = NULL;
        int bad = tsr_tls_server_new(cf, base, &tls, err, errlen);
        tsr_tls_server_free(&tls);
        event_base_free(base);
        if (bad) return -1;
    }
    return 0;
}

int tsr_check_compile(const struct tsr_config *cf, char *err, size_t errlen)
{
    struct compiled c = {0};
    int rc = compile_all(cf, &c, err, errlen);
    free_compiled(&c);
    return rc;
}

static void print_line(const char *s, size_t n)
{
    if (n && s[n - 1] == '\n') n--;
    fwrite(s, 1, n, stdout);
}

/* One test line's fate: at ingest, then at every cluster. */
static void explain(const struct tsr_config *cf, struct compiled *c, const char *db,
                    const char *line, size_t len)
{
    struct tsr_buf out = {0}, trace = {0};
    struct tsr_rules_result res = {.verdict = TSR_RULES_SAME};
    if (c->rules) tsr_rules_apply(c->rules, db, line, len, &out, &res, &trace);
    if (res.verdict == TSR_RULES_DROPPED) {
        printf("  dropped at ingest: %.*s\n", (int)trace.len, trace.data);
        goto done;
    }
    if (res.verdict == TSR_RULES_REWRITTEN) {
        printf("  ingest: %.*s\n    -> ", (int)trace.len, trace.data);
        print_line(out.data, out.len);
        printf("\n");
        line = out.data;
        len = out.len;
    } else {
        printf("  ingest: kept as is\n");
    }
    if (cf->nclusters == 0) printf("  no clusters\n");
    for (size_t i = 0; i < cf->nclusters; i++) {
        struct tsr_buf cout = {0}, ctrace = {0};
        int v = tsr_route_explain(c->routes[i], db, line, len, &cout, &ctrace);
        const char *name = cf->clusters[i].name;
        if (v == 0)
            printf("  cluster %s: not sent (database '%s' is not in its databases)\n", name, db);
        else if (v == 1 + TSR_RULES_SAME)
            printf("  cluster %s: sent as is\n", name);
        else if (v == 1 + TSR_RULES_DROPPED)
            printf("  cluster %s: not sent, %.*s\n", name, (int)ctrace.len, ctrace.data);
        else {
            printf("  cluster %s: %.*s\n    -> ", name, (int)ctrace.len, ctrace.data);
            print_line(cout.data, cout.len);
            printf("\n");
        }
        tsr_buf_free(&cout);
        tsr_buf_free(&ctrace);
    }
done:
    tsr_buf_free(&out);
    tsr_buf_free(&trace);
}

static int test_input(const struct tsr_config *cf, struct compiled *c, const struct tsr_check_opts *o)
{
    FILE *in = strcmp(o->test_input, "-") == 0 ? stdin : fopen(o->test_input, "r");
    if (!in) {
        fprintf(stderr, "tsrelay: cannot read %s\n", o->test_input);
        return EXIT_USAGE;
    }
    const char *db = o->db ? o->db : o->graphite ? cf->graphite_database : "test";
    printf("test input %s, database '%s'%s; the cardinality guard is not applied\n",
           o->test_input, db, o->graphite ? ", graphite plaintext" : "");
    struct tsr_lp_opts lo = {.now_ns = tsr_clock_now_ns(),
                             .max_line_bytes = (size_t)cf->ingest_max_line_bytes,
                             .max_tags = (unsigned)cf->ingest_max_tags};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long no = 0;
    struct tsr_buf norm = {0};
    while ((n = getline(&line, &cap, in)) >= 0) {
        no++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        if (n == 0 || line[0] == '#') continue;
        printf("line %ld: %s\n", no, line);
        norm.len = 0;
        uint64_t hash;
        const char *reason = NULL;
        int ok;
        if (o->graphite) {
            ok = tsr_graphite_line(c->tmpl, line, (size_t)n, lo.now_ns, &norm, &hash, &reason) == 0;
            const char *comp, *what;
            size_t clen;
            if (ok && cf->graphite_reject_ids &&
                tsr_graphite_id_component(line, (size_t)n, &comp, &clen, &what)) {
                printf("  refused: path component '%.*s' looks like %s (graphite.reject_ids)\n",
                       (int)clen, comp, what);
                continue;
            }
        } else {
            struct tsr_lp_result res;
            tsr_lp_parse_line(line, line + n, &lo, &norm, &res);
            ok = res.status == TSR_LP_OK;
            reason = res.reason ? res.reason : "not a point";
        }
        if (!ok) {
            printf("  invalid: %s\n", reason);
            continue;
        }
        printf("  normalised: ");
        print_line(norm.data, norm.len);
        printf("\n");
        explain(cf, c, db, norm.data, norm.len);
    }
    free(line);
    tsr_buf_free(&norm);
    if (in != stdin) fclose(in);
    return EXIT_OK;
}

int tsr_check(const struct tsr_config *cf, const char *path, const struct tsr_check_opts *o)
{
    struct compiled c = {0};
    char err[1024];
    if (compile_all(cf, &c, err, sizeof(err))) {
        fprintf(stderr, "tsrelay: %s: %s\n", path, err);
        free_compiled(&c);
        return EXIT_USAGE;
    }
    printf("%s: configuration is valid\n", path);
    int rc = o->live ? check_live(cf) : EXIT_OK;
    if (rc == EXIT_OK && o->test_input) rc = test_input(cf, &c, o);
    free_compiled(&c);
    return rc;
}

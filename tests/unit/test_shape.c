/* tests/unit/test_shape.c — the rules (relay/shape/rules.h), their patterns, the
 * cardinality guard (relay/shape/cardinality.h) and Graphite's ID components: what a
 * point becomes, that a rewritten point is normalised again (its series hash is the
 * parser's for the new line), and that the guard counts, refuses and forgets as
 * documented. Rules come from YAML through the config loader, as a user writes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "relay/core/lineproto.h"
#include "relay/ingest/graphite.h"
#include "relay/shape/cardinality.h"
#include "relay/shape/match.h"
#include "relay/shape/rules.h"

static struct tsr_config *load(const char *tail)
{
    char yaml[4096];
    snprintf(yaml, sizeof(yaml),
             "datacenter: dc1\nkafka: {brokers: 'k:9092', topic: t}\nstate_dir: /tmp/x\n%s", tail);
    struct tsr_config *cf = NULL;
    char err[512];
    if (tsr_config_load_string(yaml, strlen(yaml), "test.yaml", &cf, err, sizeof(err)))
        fail_msg("%s", err);
    return cf;
}

static struct tsr_rules *compile(const struct tsr_config *cf)
{
    struct tsr_rules *r = NULL;
    char err[512];
    if (tsr_rules_compile(cf->rules, cf->nrules, "rules", &r, err, sizeof(err))) fail_msg("%s", err);
    assert_non_null(r);
    return r;
}

static void normalise(const char *raw, struct tsr_buf *out, uint64_t *hash)
{
    struct tsr_lp_opts o = {.now_ns = 1};
    struct tsr_lp_result res;
    out->len = 0;
    tsr_lp_parse_line(raw, raw + strlen(raw), &o, out, &res);
    assert_int_equal(res.status, TSR_LP_OK);
    *hash = res.series_hash;
}

/* Applies r to raw (normalised first); returns the verdict and the line as it leaves
 * (without '\n'), checking that a rewritten line is what the parser would make of it. */
static enum tsr_rules_verdict run(struct tsr_rules *r, const char *db, const char *raw,
                                  char *got, size_t gotlen)
{
    struct tsr_buf in = {0}, out = {0}, again = {0};
    uint64_t h;
    normalise(raw, &in, &h);
    struct tsr_rules_result res;
    tsr_rules_apply(r, db, in.data, in.len, &out, &res, NULL);
    const struct tsr_buf *line = res.verdict == TSR_RULES_REWRITTEN ? &out : &in;
    snprintf(got, gotlen, "%.*s", (int)(line->len ? line->len - 1 : 0), line->data);
    if (res.verdict == TSR_RULES_REWRITTEN) {
        uint64_t h2;
        char copy[1024];
        snprintf(copy, sizeof(copy), "%.*s", (int)out.len - 1, out.data);
        normalise(copy, &again, &h2);
        assert_int_equal(again.len, out.len);
        assert_memory_equal(again.data, out.data, out.len);
        assert_true(h2 == res.hash);
    }
    if (res.verdict == TSR_RULES_DROPPED) assert_non_null(strstr(res.reason, "dropped by"));
    tsr_buf_free(&in);
    tsr_buf_free(&out);
    tsr_buf_free(&again);
    return res.verdict;
}

static void test_patterns(void **state)
{
    struct tsr_match m;
    struct tsr_match_scratch sc;
    char why[256];
    tsr_match_scratch_init(&sc);
    assert_int_equal(tsr_match_compile(&m, "cpu", why, sizeof(why)), 0);
    assert_true(tsr_match_test(&m, "cpu", 3, &sc));
    assert_false(tsr_match_test(&m, "cpu2", 4, &sc));
    tsr_match_free(&m);
    assert_int_equal(tsr_match_compile(&m, "cpu_*", why, sizeof(why)), 0);
    assert_true(tsr_match_test(&m, "cpu_0", 5, &sc));
    assert_true(tsr_match_test(&m, "cpu_", 4, &sc));
    assert_false(tsr_match_test(&m, "cpu", 3, &sc));
    tsr_match_free(&m);
    assert_int_equal(tsr_match_compile(&m, "*", why, sizeof(why)), 0);
    assert_true(tsr_match_test(&m, "", 0, &sc));
    tsr_match_free(&m);
    assert_int_equal(tsr_match_compile(&m, "/^web\\d+$/", why, sizeof(why)), 0);
    assert_true(tsr_match_test(&m, "web12", 5, &sc));
    assert_false(tsr_match_test(&m, "web12x", 6, &sc));
    assert_true(tsr_match_test(&m, "web12x", 5, &sc)); /* the length given, not a NUL */
    tsr_match_free(&m);
    /* What PCRE2 says a match needs is checked before calling it: those checks must
     * never refuse a name the expression matches. */
    static const struct {
        const char *re, *name;
        int yes;
    } cases[] = {
        {"/^(a|b)x/", "bx", 1},       {"/^(a|b)x/", "cx", 0},     {"/^(a|b)x/", "", 0},
        {"/_id$/", "user_id", 1},     {"/_id$/", "host", 0},      {"/(?i)^abc/", "ABC", 1},
        {"/(?i)^abc/", "xbc", 0},     {"/a(?i)bc/", "aBC", 1},    {"/(?i)_ID$/", "user_id", 1},
        {"/^$/", "", 1},              {"/^x*$/", "", 1},          {"/\\.\\d{9,}\\./", "a.155747134.b", 1},
        {"/\\.\\d{9,}\\./", "a.1.b", 0}, {"/^[0-9a-f]{8}-/", "deadbeef-1", 1},
        {"/^[0-9a-f]{8}-/", "h1234567-", 0},   {"/(?i)^[a-f]x/", "Fx", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(tsr_match_compile(&m, cases[i].re, why, sizeof(why)), 0);
        for (int twice = 0; twice < 2; twice++) /* the second answer from the cache */
            if (tsr_match_test(&m, cases[i].name, strlen(cases[i].name), &sc) != cases[i].yes)
                fail_msg("%s on '%s': want %d", cases[i].re, cases[i].name, cases[i].yes);
        tsr_match_free(&m);
    }
    assert_int_equal(tsr_match_compile(&m, "/a(/", why, sizeof(why)), -1);
    assert_non_null(strstr(why, "invalid regular expression /a(/: missing closing parenthesis"));
    tsr_match_scratch_free(&sc);
    (void)state;
}

static void test_actions(void **state)
{
    struct tsr_config *cf = load(
        "rules:\n"
        "  - {name: no-debug, match: {measurement: 'debug_*'}, action: drop}\n"
        "  - {match: {database: prod, measurement: 'cpu'}, action: rename_measurement, to: 'cpu all'}\n"
        "  - {match: {tags: {host: '/^web/'}}, action: add_tags, tags: {role: web, a: '1'}}\n"
        "  - {action: rename_tags, tags: {dc: datacenter}}\n"
        "  - {action: drop_tags, names: ['/_id$/']}\n"
        "  - {match: {field: 'tmp_*'}, action: drop_fields, names: ['tmp_*']}\n");
    struct tsr_rules *r = compile(cf);
    char got[1024];
    assert_int_equal(run(r, "prod", "debug_x v=1 5", got, sizeof(got)), TSR_RULES_DROPPED);
    assert_int_equal(run(r, "prod", "mem v=1 5", got, sizeof(got)), TSR_RULES_SAME);
    assert_string_equal(got, "mem v=1 5");
    assert_int_equal(run(r, "prod", "cpu,host=web1 v=1 5", got, sizeof(got)), TSR_RULES_REWRITTEN);
    assert_string_equal(got, "cpu\\ all,a=1,host=web1,role=web v=1 5");
    assert_int_equal(run(r, "dev", "cpu,host=db1 v=1 5", got, sizeof(got)), TSR_RULES_SAME);
    /* A renamed key lands in its sorted place, and wins over a tag of that key. */
    assert_int_equal(run(r, "dev", "m,dc=x,datacenter=y,z=1 v=1 5", got, sizeof(got)),
                     TSR_RULES_REWRITTEN);
    assert_string_equal(got, "m,datacenter=x,z=1 v=1 5");
    assert_int_equal(run(r, "dev", "m,req_id=7,user_id=9,host=h v=1 5", got, sizeof(got)),
                     TSR_RULES_REWRITTEN);
    assert_string_equal(got, "m,host=h v=1 5");
    assert_int_equal(run(r, "dev", "m tmp_a=1,v=2,tmp_b=\"x\" 5", got, sizeof(got)),
                     TSR_RULES_REWRITTEN);
    assert_string_equal(got, "m v=2 5");
    assert_int_equal(run(r, "dev", "m tmp_a=1 5", got, sizeof(got)), TSR_RULES_DROPPED);
    /* A string field holding ',', ' ', '=' and escaped quotes is one field. */
    assert_int_equal(run(r, "dev", "m s=\"a, b=c \\\"q\\\"\",tmp_z=1 5", got, sizeof(got)),
                     TSR_RULES_REWRITTEN);
    assert_string_equal(got, "m s=\"a, b=c \\\"q\\\"\" 5");
    /* Escaped names are matched unescaped. */
    assert_int_equal(run(r, "dev", "debug_a\\ b v=1 5", got, sizeof(got)), TSR_RULES_DROPPED);
    tsr_rules_free(&r);
    assert_null(r);
    tsr_config_free(&cf);
    (void)state;
}

static void test_keep(void **state)
{
    struct tsr_config *cf =
        load("rules:\n  - {match: {database: '/^(a|b)$/', tags: {env: prod}}, action: keep}\n");
    struct tsr_rules *r = compile(cf);
    char got[256];
    assert_int_equal(run(r, "a", "m,env=prod v=1 1", got, sizeof(got)), TSR_RULES_SAME);
    assert_int_equal(run(r, "a", "m,env=dev v=1 1", got, sizeof(got)), TSR_RULES_DROPPED);
    assert_int_equal(run(r, "a", "m v=1 1", got, sizeof(got)), TSR_RULES_DROPPED);
    assert_int_equal(run(r, "c", "m,env=prod v=1 1", got, sizeof(got)), TSR_RULES_DROPPED);
    tsr_rules_free(&r);
    tsr_config_free(&cf);
    (void)state;
}

static void test_record(void **state)
{
    struct tsr_config *cf = load("rules:\n  - {match: {measurement: drop}, action: drop}\n"
                                 "  - {action: add_tags, tags: {t: x}}\n");
    struct tsr_rules *r = compile(cf);
    /* A string field may hold a newline: the line does not end there. */
    const char rec[] = "a s=\"one\ndrop v=1 2\" 1\ndrop v=1 2\nb v=2 3\n";
    struct tsr_buf body = {0};
    long n = tsr_rules_append_record(r, "db", rec, sizeof(rec) - 1, &body);
    assert_int_equal(n, 2);
    assert_int_equal(body.len, strlen("a,t=x s=\"one\ndrop v=1 2\" 1\nb,t=x v=2 3\n"));
    assert_memory_equal(body.data, "a,t=x s=\"one\ndrop v=1 2\" 1\nb,t=x v=2 3\n", body.len);
    tsr_buf_free(&body);
    tsr_rules_free(&r);
    tsr_config_free(&cf);
    (void)state;
}

/* The memo's answers against the rules' own, line for line. */
static struct tsr_buf in, a, b;
static void compare_memo(struct tsr_rules *direct, struct tsr_rules *memo, const char *db,
                         const char *raw, int i)
{
    uint64_t h;
    normalise(raw, &in, &h);
    struct tsr_rules_result ra, rb;
    a.len = b.len = 0;
    tsr_rules_apply(direct, db, in.data, in.len, &a, &ra, NULL);
    tsr_rules_apply_series(memo, db, in.data, in.len, h, &b, &rb);
    if (ra.verdict != rb.verdict || (ra.verdict == TSR_RULES_DROPPED && strcmp(ra.reason, rb.reason)) ||
        (ra.verdict == TSR_RULES_REWRITTEN &&
         (a.len != b.len || memcmp(a.data, b.data, a.len) || ra.hash != rb.hash)))
        fail_msg("line %d '%s' (%s): direct %d '%.*s' %s, memo %d '%.*s' %s", i, raw, db,
                 ra.verdict, (int)a.len, a.data ? a.data : "", ra.reason ? ra.reason : "",
                 rb.verdict, (int)b.len, b.data ? b.data : "", rb.reason ? rb.reason : "");
}

static void end_compare(struct tsr_config *cf, struct tsr_rules *direct, struct tsr_rules *memo)
{
    tsr_buf_free(&in);
    tsr_buf_free(&a);
    tsr_buf_free(&b);
    tsr_rules_free(&direct);
    tsr_rules_free(&memo);
    tsr_config_free(&cf);
}

/* Field rules skip a line that does not hold their pattern's literal (an exact name, a
 * prefix, a regular expression's start after '^' or the byte it needs): the answers are
 * those of the rules themselves, with the literal elsewhere in the line, made optional
 * by a quantifier, or escaped in the line. And more series than the memo holds, in
 * cycles, over its eight-way sets. */
static void test_field_needles(void **state)
{
    struct tsr_config *cf = load(
        "rules:\n"
        "  - {match: {field: '/^debu?g/'}, action: drop}\n"
        "  - {match: {field: '/^tm*p/'}, action: drop}\n"
        "  - {match: {field: 'a b'}, action: drop}\n"
        "  - {match: {field: '/,x$/'}, action: drop}\n"
        "  - {match: {field: 'cnt_*'}, action: drop_fields, names: ['cnt_*']}\n"
        "  - {match: {field: '/^(?i)LOUD/'}, action: drop}\n"
        "  - {action: add_tags, tags: {dc: east}}\n");
    struct tsr_rules *direct = compile(cf), *memo = compile(cf);
    static const char *const fields[] = {
        "v=1",        "debug=1",  "deg=1",       "xdebug=1", "v=\"debug\"", "tp=1",
        "tmmp=1,v=2", "a\\ b=1", "ab=1",        "a\\,x=1", "cnt_a=1,v=2",  "cnt_a=1",
        "loud=1",     "xloud=1",  "v=1,LOUD=2"};
    size_t nf = sizeof(fields) / sizeof(fields[0]);
    char raw[256];
    for (int i = 0; i < 200000; i++) {
        /* 40,000 series, each back every 40,000 lines: beyond the memo's 32,768. */
        int series = i % 40000;
        snprintf(raw, sizeof(raw), "m,host=h%d %s %d", series, fields[(size_t)(i / 40000 + series) % nf], i);
        compare_memo(direct, memo, "db", raw, i);
    }
    for (int i = 0; i < 60000; i++) {
        snprintf(raw, sizeof(raw), "m,host=h%d %s %d", i % 3000, fields[(size_t)i % nf], i);
        compare_memo(direct, memo, "db", raw, i);
    }
    end_compare(cf, direct, memo);
    (void)state;
}

/* The series memo (tsr_rules_apply_series) answers as the rules themselves do, line for
 * line, with rules on fields between the others, renames before matches on the new
 * name, keeps and drops, over series that come back. */
static void test_series_memo(void **state)
{
    struct tsr_config *cf = load(
        "rules:\n"
        "  - {match: {measurement: '/^cpu[0-9]$/'}, action: rename_measurement, to: cpu}\n"
        "  - {match: {measurement: cpu, field: 'debug_*'}, action: drop}\n"
        "  - {match: {tags: {host: '/[05]$/'}}, action: drop}\n"
        "  - {match: {measurement: cpu}, action: drop_fields, names: ['tmp_*']}\n"
        "  - {action: rename_tags, tags: {region: zone}}\n"
        "  - {match: {tags: {zone: r2}}, action: add_tags, tags: {hot: 'yes'}}\n"
        "  - {match: {field: '/^(v|tmp_a|debug_x|s)$/'}, action: keep}\n"
        "  - {match: {database: scratch}, action: drop}\n");
    struct tsr_rules *direct = compile(cf), *memo = compile(cf);
    static const char *const fields[] = {"v=1", "v=1,tmp_a=2", "tmp_a=2", "debug_x=1,v=2",
                                         "w=3", "s=\"a b,c\",tmp_q=1"};
    for (int i = 0; i < 20000; i++) {
        char raw[256];
        snprintf(raw, sizeof(raw), "cpu%d,host=h%d,region=r%d %s %d", i % 3, (i * 7) % 23, i % 4,
                 fields[(i / 3) % 6], i);
        compare_memo(direct, memo, i % 11 == 0 ? "scratch" : "prod", raw, i);
    }
    end_compare(cf, direct, memo);
    (void)state;
}

static void expect_error(const char *rules, const char *want)
{
    struct tsr_config *cf = load(rules);
    struct tsr_rules *r = NULL;
    char err[512];
    assert_int_equal(tsr_rules_compile(cf->rules, cf->nrules, "rules", &r, err, sizeof(err)), -1);
    assert_null(r);
    if (!strstr(err, want)) fail_msg("'%s' does not say '%s'", err, want);
    tsr_config_free(&cf);
}

static void test_errors(void **state)
{
    expect_error("rules:\n  - {action: rename_measurement}\n", "rules[0]: rename_measurement needs 'to'");
    expect_error("rules:\n  - {name: x, action: drop, to: y}\n", "rule 'x': 'to' belongs to");
    expect_error("rules:\n  - {action: add_tags}\n", "this action needs 'tags'");
    expect_error("rules:\n  - {action: rename_tags, tags: {a: time}}\n", "must not be empty or 'time'");
    expect_error("rules:\n  - {action: drop, match: {measurement: '/(/'}}\n",
                 "rules[0]: match.measurement: invalid regular expression");
    /* The loader refuses an unknown action and names the key. */
    char err[512];
    struct tsr_config *cf = NULL;
    const char *y = "datacenter: d\nkafka: {brokers: 'k:1', topic: t}\nstate_dir: /x\n"
                    "rules:\n  - {action: explode}\n";
    assert_int_equal(tsr_config_load_string(y, strlen(y), "t.yaml", &cf, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "rules[0].action"));
    (void)state;
}

/* Admits the point raw; returns 0 or -1, the reason in why. */
static int admit(struct tsr_cardinality *g, const char *db, const char *raw, int64_t now_ms,
                 char *why, size_t whylen)
{
    struct tsr_buf line = {0}, w = {0};
    uint64_t h;
    normalise(raw, &line, &h);
    int rc = tsr_cardinality_admit(g, db, line.data, line.len - 1, h, now_ms, &w);
    snprintf(why, whylen, "%.*s", (int)w.len, w.data ? w.data : "");
    tsr_buf_free(&line);
    tsr_buf_free(&w);
    return rc;
}

static void test_cardinality(void **state)
{
    struct tsr_config *cf = load("cardinality: {max_series: 100, window: 1h}\n");
    struct tsr_cardinality *g = tsr_cardinality_new(cf);
    assert_non_null(g);
    char line[128], why[256];
    int64_t t0 = 3600000 * 10;
    int admitted = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(line, sizeof(line), "req,host=h%d,id=%d v=1 1", i % 5, i);
        admitted += admit(g, "db", line, t0, why, sizeof(why)) == 0;
    }
    assert_int_equal(admitted, 100);
    assert_string_equal(why, "cardinality guard: measurement 'req' of database 'db' has 100 "
                             "series this window (cardinality.max_series)");
    /* Admitted series keep passing, others measurements and databases are apart. */
    assert_int_equal(admit(g, "db", "req,host=h0,id=0 v=2 2", t0, why, sizeof(why)), 0);
    assert_int_equal(admit(g, "db", "other,id=1 v=2 2", t0, why, sizeof(why)), 0);
    assert_int_equal(admit(g, "db2", "req,host=h0,id=999 v=2 2", t0, why, sizeof(why)), 0);
    struct tsr_buf js = {0};
    tsr_cardinality_json(g, t0, &js);
    tsr_buf_putc(&js, '\0');
    assert_non_null(strstr(js.data, "\"measurement\":\"req\",\"series\":100,\"cap\":100,\"refused\":900"));
    /* The tag key with the most values comes first: id (about 900), not host (5). */
    assert_non_null(strstr(js.data, "\"top_tags\":[{\"key\":\"id\""));
    assert_non_null(strstr(js.data, "{\"key\":\"host\",\"distinct_values\":5}"));
    tsr_buf_free(&js);
    /* The next window starts from nothing. */
    assert_int_equal(admit(g, "db", "req,host=h1,id=500 v=1 1", t0 + 3600000, why, sizeof(why)), 0);
    tsr_cardinality_free(&g);
    tsr_config_free(&cf);

    cf = load("cardinality: {max_measurements: 3}\n");
    g = tsr_cardinality_new(cf);
    for (int i = 0; i < 3; i++) {
        snprintf(line, sizeof(line), "stats.app.%d.count value=1 1", 1557471341 + i);
        assert_int_equal(admit(g, "graphite", line, t0, why, sizeof(why)), 0);
    }
    assert_int_equal(admit(g, "graphite", "stats.app.9.count value=1 1", t0, why, sizeof(why)), -1);
    assert_string_equal(why, "cardinality guard: database 'graphite' has 3 measurements this "
                             "window (cardinality.max_measurements)");
    assert_int_equal(admit(g, "other", "x value=1 1", t0, why, sizeof(why)), 0);
    tsr_cardinality_free(&g);
    tsr_config_free(&cf);

    cf = load("");
    assert_null(tsr_cardinality_new(cf));
    tsr_config_free(&cf);
    (void)state;
}

static void test_graphite_ids(void **state)
{
    const char *comp, *what;
    size_t n;
    const char *l = "stats.application.dc1.1557471341.count 4 1557471341";
    assert_int_equal(tsr_graphite_id_component(l, strlen(l), &comp, &n, &what), 1);
    assert_int_equal(n, 10);
    assert_memory_equal(comp, "1557471341", 10);
    assert_string_equal(what, "a timestamp or a number");
    l = "jobs.4f3c2a9e8d7b6a5f.duration 1";
    assert_int_equal(tsr_graphite_id_component(l, strlen(l), &comp, &n, &what), 1);
    assert_string_equal(what, "an ID");
    l = "req.123e4567-e89b-12d3-a456-426614174000.ms 1";
    assert_int_equal(tsr_graphite_id_component(l, strlen(l), &comp, &n, &what), 1);
    l = "servers.web01.cpu.user 1 1557471341";
    assert_int_equal(tsr_graphite_id_component(l, strlen(l), &comp, &n, &what), 0);
    l = "deadbeefdeadbeefcafe.x 1"; /* hex letters alone could be a word; this has none */
    assert_int_equal(tsr_graphite_id_component(l, strlen(l), &comp, &n, &what), 0);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patterns),     cmocka_unit_test(test_actions),
        cmocka_unit_test(test_keep),         cmocka_unit_test(test_record),
        cmocka_unit_test(test_errors),       cmocka_unit_test(test_cardinality),
        cmocka_unit_test(test_graphite_ids), cmocka_unit_test(test_series_memo),
        cmocka_unit_test(test_field_needles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

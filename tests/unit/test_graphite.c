/* tests/unit/test_graphite.c — Graphite templates: one table of
 * (templates, separator, input line) -> exact normalised output or refusal reason,
 * and one table of template specs that must not compile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "relay/ingest/graphite.h"
#include "relay/core/lineproto.h"

/* The "now" handed in; every point without a timestamp must carry exactly this. */
#define NOW 1700000000123456789LL

#define SPECS(...)                                                                                 \
    .specs = (const char *const[]){__VA_ARGS__},                                                   \
    .nspecs = sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)

struct line_case {
    const char *name;
    const char *const *specs;
    size_t nspecs;
    const char *sep; /* NULL: the default "." */
    const char *line;
    const char *want; /* normalised output; NULL when the line must be refused */
    const char *why;  /* refused: a substring of the reason */
};

/* Templates shared by the most-specific-match cases; listed so that the winner is
 * never first, to show the order of the list does not decide. */
#define SPECIFICITY                                                                                \
    SPECS("servers.* .host.measurement*", "*.*.cpu.* dc.host.resource.measurement",                \
          "servers.*.cpu .host.resource.measurement*",                                             \
          "*.localhost.cpu.idle .host.resource.measurement local=yes")

static const struct line_case line_cases[] = {
    /* --- no template: the whole name, field "value" --- */
    {"no templates", .line = "servers.localhost.cpu.loadavg.10 42 1700000000",
     .want = "servers.localhost.cpu.loadavg.10 value=42 1700000000000000000\n"},
    {"no filter matches", SPECS("servers.*.cpu.* .host.measurement.field"),
     .line = "servers.web01.mem.free 1 1700000000",
     .want = "servers.web01.mem.free value=1 1700000000000000000\n"},
    {"default separator not applied to the raw name", SPECS("servers.* .host.measurement*"),
     .sep = "_", .line = "apps.web.hits 1 1700000000",
     .want = "apps.web.hits value=1 1700000000000000000\n"},

    /* --- the example: filter + host tag + measurement + field --- */
    {"filter, tag, measurement, field", SPECS("servers.*.cpu.* .host.measurement.field"),
     .line = "servers.web01.cpu.idle 99.5 1700000000",
     .want = "cpu,host=web01 idle=99.5 1700000000000000000\n"},
    {"filter is a prefix of the name", SPECS("servers.* .host.measurement*"),
     .line = "servers.localhost.cpu.loadavg.10 3 1700000000",
     .want = "cpu.loadavg.10,host=localhost value=3 1700000000000000000\n"},
    {"name shorter than the filter", SPECS("servers.*.cpu .host.measurement"),
     .line = "servers.web01 3 1700000000", .want = "servers.web01 value=3 1700000000000000000\n"},

    /* --- measurement*, field*, separators --- */
    {"measurement* joined by the separator", SPECS(".host.measurement*"), .sep = "_",
     .line = "servers.web01.cpu.load.1m 0.25 1700000000",
     .want = "cpu_load_1m,host=web01 value=0.25 1700000000000000000\n"},
    {"measurement used twice", SPECS(".host.measurement.cpu.measurement"),
     .line = "servers.localhost.cpu.cpu0.user 1 1700000000",
     .want = "cpu.user,cpu=cpu0,host=localhost value=1 1700000000000000000\n"},
    {"measurement used twice, separator _", SPECS(".host.measurement.cpu.measurement"), .sep = "_",
     .line = "servers.localhost.cpu.cpu0.user 1 1700000000",
     .want = "cpu_user,cpu=cpu0,host=localhost value=1 1700000000000000000\n"},
    {"field* joined by the separator", SPECS("servers.* .host.measurement.field*"), .sep = "_",
     .line = "servers.web01.cpu.user.pct 5 1700000000",
     .want = "cpu,host=web01 user_pct=5 1700000000000000000\n"},
    {"field* with one part left", SPECS(".measurement.field*"), .line = "x.cpu.idle 5 1700000000",
     .want = "cpu idle=5 1700000000000000000\n"},
    {"field part beyond the name: value", SPECS("measurement.host.field"),
     .line = "cpu.web01 5 1700000000", .want = "cpu,host=web01 value=5 1700000000000000000\n"},
    {"tag used twice is joined", SPECS("region.region.measurement*"), .sep = "-",
     .line = "us.west.cpu.load 1 1700000000",
     .want = "cpu-load,region=us-west value=1 1700000000000000000\n"},
    {"name longer than the template", SPECS(".host.measurement"),
     .line = "servers.web01.cpu.extra.parts 1 1700000000",
     .want = "cpu,host=web01 value=1 1700000000000000000\n"},
    {"no measurement extracted: the whole name", SPECS(".host.measurement"),
     .line = "servers.web01 1 1700000000",
     .want = "servers.web01,host=web01 value=1 1700000000000000000\n"},
    {"empty name part drops the tag", SPECS(".host.measurement"),
     .line = "servers..cpu 1 1700000000", .want = "cpu value=1 1700000000000000000\n"},
    {"more name parts than a template can have", SPECS("measurement*"), .sep = "_",
     .line = "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.0.1.2.3.4.5.6.7.8.9 1 1700000000",
     .want = "a_b_c_d_e_f_g_h_i_j_k_l_m_n_o_p_q_r_s_t_u_v_w_x_y_z_0_1_2_3_4_5_6_7_8_9 value=1 "
             "1700000000000000000\n"},

    /* --- default tags --- */
    {"default tags", SPECS("stats.* .host.measurement* region=us-west,agent=sensu"),
     .line = "stats.h1.requests 7 1700000000",
     .want = "requests,agent=sensu,host=h1,region=us-west value=7 1700000000000000000\n"},
    {"default tags on the default template", SPECS("measurement* dc=eu1"),
     .line = "load.1m 7 1700000000", .want = "load.1m,dc=eu1 value=7 1700000000000000000\n"},
    {"extracted tag overrides the default", SPECS("env.host.measurement env=prod,host=unknown"),
     .line = "dev.web01.cpu 1 1700000000",
     .want = "cpu,env=dev,host=web01 value=1 1700000000000000000\n"},
    {"empty extracted tag falls back to the default", SPECS("env.host.measurement env=prod"),
     .line = ".web01.cpu 1 1700000000",
     .want = "cpu,env=prod,host=web01 value=1 1700000000000000000\n"},
    {"default tags only for their template",
     SPECS("stats.* .host.measurement* region=us-west", "measurement*"),
     .line = "other.requests 7 1700000000", .want = "other.requests value=7 1700000000000000000\n"},

    /* --- most specific filter wins --- */
    {"longer literal prefix wins", SPECIFICITY, .line = "servers.h1.cpu.idle 1 1700000000",
     .want = "idle,host=h1,resource=cpu value=1 1700000000000000000\n"},
    {"shorter filter when the longer does not match", SPECIFICITY,
     .line = "servers.h1.mem.free 1 1700000000",
     .want = "mem.free,host=h1 value=1 1700000000000000000\n"},
    {"wildcard filter", SPECIFICITY, .line = "dc1.h1.cpu.idle 1 1700000000",
     .want = "idle,dc=dc1,host=h1,resource=cpu value=1 1700000000000000000\n"},
    {"leftmost literal beats more literals", SPECIFICITY,
     .line = "servers.localhost.cpu.idle 1 1700000000",
     .want = "idle,host=localhost,resource=cpu value=1 1700000000000000000\n"},
    {"literal beats wildcard at the first difference", SPECIFICITY,
     .line = "dc1.localhost.cpu.idle 1 1700000000",
     .want = "idle,host=localhost,local=yes,resource=cpu value=1 1700000000000000000\n"},
    {"wildcard beats a filter that has ended", SPECS("a .measurement*", "a.* measurement.host"),
     .line = "a.b.c 1 1700000000", .want = "a,host=b value=1 1700000000000000000\n"},
    {"a '*' sibling is tried after a literal branch fails",
     SPECS("servers.foo.bar .a.measurement", "*.x .a.measurement*"),
     .line = "servers.x.y 1 1700000000", .want = "y,a=x value=1 1700000000000000000\n"},
    {"filtered template beats the default",
     SPECS("env.measurement*", "servers.* .host.measurement*"),
     .line = "servers.h1.load 1 1700000000", .want = "load,host=h1 value=1 1700000000000000000\n"},
    {"default template when no filter matches",
     SPECS("env.measurement*", "servers.* .host.measurement*"),
     .line = "prod.http.requests 1 1700000000",
     .want = "http.requests,env=prod value=1 1700000000000000000\n"},

    /* --- Graphite 1.1 tagged names: name;tag=value;... --- */
    {"tagged name, no template", .line = "disk.used;rack=a1;datacenter=dc1 42 1700000000",
     .want = "disk.used,datacenter=dc1,rack=a1 value=42 1700000000000000000\n"},
    {"tagged name through a template", SPECS("servers.*.cpu.* .host.measurement.field"),
     .line = "servers.web01.cpu.idle;dc=eu 99 1700000000",
     .want = "cpu,dc=eu,host=web01 idle=99 1700000000000000000\n"},
    {"the name's tag beats the template's", SPECS("servers.* .host.measurement* dc=us,x=1"),
     .line = "servers.h1.load;dc=eu 1 1700000000",
     .want = "load,dc=eu,host=h1,x=1 value=1 1700000000000000000\n"},
    {"the name's tag beats the template's part", SPECS("servers.* .host.measurement*"),
     .line = "servers.h1.load;host=h2 1 1700000000",
     .want = "load,host=h2 value=1 1700000000000000000\n"},
    {"a repeated tag: the last one", .line = "a.b;k=1;k=2 1 1700000000",
     .want = "a.b,k=2 value=1 1700000000000000000\n"},
    {"filter sees only the name", SPECS("a.b .measurement.field"), .line = "a.b;c=d 1 1700000000",
     .want = "b,c=d value=1 1700000000000000000\n"},
    {"tag values may hold '=' and ','", .line = "m;k=a=b,c 1 1700000000",
     .want = "m,k=a\\=b\\,c value=1 1700000000000000000\n"},
    {"tag names may hold ',' and '~'", .line = "m;a,~b=1 1 1700000000",
     .want = "m,a\\,~b=1 value=1 1700000000000000000\n"},
    {"tag value may hold '~' later", .line = "m;k=a~ 1 1700000000",
     .want = "m,k=a~ value=1 1700000000000000000\n"},
    {"no metric name", .line = ";k=v 1 1700000000", .why = "no metric name"},
    {"tag without '='", .line = "m;k 1 1700000000", .why = "not 'name=value'"},
    {"empty tag name", .line = "m;=v 1 1700000000", .why = "not 'name=value'"},
    {"empty tag value", .line = "m;k= 1 1700000000", .why = "not 'name=value'"},
    {"empty tag", .line = "m;a=1;;b=2 1 1700000000", .why = "not 'name=value'"},
    {"trailing ';'", .line = "m;a=1; 1 1700000000", .why = "not 'name=value'"},
    {"'!' in a tag name", .line = "m;a!b=1 1 1700000000", .why = "tag name has one of"},
    {"'^' in a tag name", .line = "m;a^b=1 1 1700000000", .why = "tag name has one of"},
    {"value starting with '~'", .line = "m;k=~v 1 1700000000", .why = "starts with '~'"},
    {"tag named time", .line = "m;time=1 1 1700000000", .why = "time"},
    {"backslash ending a tag value", .line = "m;k=v\\ 1 1700000000", .why = "backslash"},

    /* --- timestamps --- */
    {"missing timestamp: now", .line = "a.b 1", .want = "a.b value=1 1700000000123456789\n"},
    {"-1 timestamp: now", .line = "a.b 1 -1", .want = "a.b value=1 1700000000123456789\n"},
    {"-1.0 timestamp: now", .line = "a.b 1 -1.0", .want = "a.b value=1 1700000000123456789\n"},
    {"fractional timestamp", .line = "a.b 1 1700000000.5",
     .want = "a.b value=1 1700000000500000000\n"},
    {"nanosecond fraction is exact", .line = "a.b 1 1700000000.123456789",
     .want = "a.b value=1 1700000000123456789\n"},
    {"digits past nanoseconds dropped", .line = "a.b 1 1700000000.1234567899",
     .want = "a.b value=1 1700000000123456789\n"},
    {"exponent timestamp", .line = "a.b 1 1.7e9", .want = "a.b value=1 1700000000000000000\n"},
    {"zero timestamp", .line = "a.b 1 0", .want = "a.b value=1 0\n"},
    {"negative fractional timestamp", .line = "a.b 1 -1.5", .want = "a.b value=1 -1500000000\n"},
    {"timestamp not a number", .line = "a.b 1 yesterday", .why = "timestamp is not a number"},
    {"timestamp out of range", .line = "a.b 1 99999999999", .why = "timestamp out of range"},
    {"huge timestamp digits", .line = "a.b 1 123456789012345678901234567890",
     .why = "timestamp out of range"},

    /* --- values --- */
    {"integer value is a float", .line = "a.b 42 0", .want = "a.b value=42 0\n"},
    {"shortest float text", .line = "a.b 0.1 0", .want = "a.b value=0.1 0\n"},
    {"negative value", .line = "a.b -0.5 0", .want = "a.b value=-0.5 0\n"},
    {"plus sign", .line = "a.b +3 0", .want = "a.b value=3 0\n"},
    {"exponent value", .line = "a.b 1.5e3 0", .want = "a.b value=1500 0\n"},
    {"big value", .line = "a.b 1e20 0", .want = "a.b value=1e+20 0\n"},
    {"17 digits kept", .line = "a.b 0.30000000000000004 0",
     .want = "a.b value=0.30000000000000004 0\n"},
    {"NaN refused", .line = "a.b NaN 0", .why = "NaN or infinite"},
    {"inf refused", .line = "a.b -inf 0", .why = "NaN or infinite"},
    {"Infinity refused", .line = "a.b Infinity 0", .why = "NaN or infinite"},
    {"overflow refused", .line = "a.b 1e999 0", .why = "NaN or infinite"},
    {"word refused", .line = "a.b abc 0", .why = "value is not a number"},
    {"hex refused", .line = "a.b 0x10 0", .why = "value is not a number"},
    {"trailing junk refused", .line = "a.b 12abc 0", .why = "value is not a number"},
    {"bare dot refused", .line = "a.b . 0", .why = "value is not a number"},

    /* --- line shape --- */
    {"missing value", .line = "a.b", .why = "expected 'name value [timestamp]'"},
    {"too many fields", .line = "a.b 1 2 3", .why = "expected 'name value [timestamp]'"},
    {"tabs and runs of spaces", .line = "\ta.b  \t 1   1700000000  ",
     .want = "a.b value=1 1700000000000000000\n"},
    {"trailing CR ignored", .line = "a.b 1 1700000000\r",
     .want = "a.b value=1 1700000000000000000\n"},

    /* --- escaping --- */
    {"comma in measurement", .line = "a,b.c 1 0", .want = "a\\,b.c value=1 0\n"},
    {"equals in measurement kept", .line = "a=b 1 0", .want = "a=b value=1 0\n"},
    {"comma and equals in tag value", SPECS(".host.measurement"), .line = "x.h=1,2.cpu 1 0",
     .want = "cpu,host=h\\=1\\,2 value=1 0\n"},
    {"equals in field key", SPECS("measurement.field"), .line = "cpu.a=b 1 0",
     .want = "cpu a\\=b=1 0\n"},
    {"space separator escaped", SPECS("measurement*"), .sep = " ", .line = "cpu.load 1 0",
     .want = "cpu\\ load value=1 0\n"},
    {"space separator in a tag value", SPECS("region.region.measurement"), .sep = " ",
     .line = "us.west.cpu 1 0", .want = "cpu,region=us\\ west value=1 0\n"},
    {"backslash inside a name kept", .line = "a\\b.c 1 0", .want = "a\\b.c value=1 0\n"},
    {"backslash ending a tag value refused", SPECS(".host.measurement"), .line = "x.h\\.cpu 1 0",
     .why = "backslash"},
    {"backslash ending a measurement refused", SPECS(".measurement"), .line = "x.cpu\\ 1 0",
     .why = "backslash"},
    {"even backslashes ending a tag value refused", SPECS(".host.measurement"),
     .line = "x.h\\\\.cpu 1 0", .why = "backslash"},
    {"backslash before an escaped comma kept", .line = "a\\,b 1 0", .want = "a\\\\,b value=1 0\n"},
    {"backslash before an escaped tag comma kept", SPECS(".host.measurement"),
     .line = "x.h\\,1.cpu 1 0", .want = "cpu,host=h\\\\,1 value=1 0\n"},
    {"backslash in a field key kept", SPECS("measurement.field"), .line = "cpu.a\\b 1 0",
     .want = "cpu a\\b=1 0\n"},
    {"backslash pair before an escaped field key comma kept", SPECS("measurement.field"),
     .line = "cpu.a\\\\,b 1 0", .want = "cpu a\\\\\\,b=1 0\n"},
    {"odd backslash before an escaped field key comma refused", SPECS("measurement.field"),
     .line = "cpu.a\\,b 1 0", .why = "backslash"},
    {"odd backslash ending a field key refused", SPECS("measurement.field"), .line = "cpu.a\\ 1 0",
     .why = "backslash"},
    {"even backslashes ending a field key kept", SPECS("measurement.field"),
     .line = "cpu.a\\\\ 1 0", .want = "cpu a\\\\=1 0\n"},
    {"field key time refused by line protocol", SPECS("measurement.field"), .line = "cpu.time 1 0",
     .why = "time"},
    {"comment-like measurement refused", .line = "#cpu.load 1 0", .why = "'#'"},

    /* --- blank lines --- */
    {"empty line skipped", .line = ""},
    {"blank line skipped", .line = " \t "},
    {"CR only skipped", .line = "\r"},
};

static void test_lines(void **state)
{
    (void)state;
    int failures = 0;

    for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
        const struct line_case *c = &line_cases[i];
        struct tsr_graphite_tmpl *t = NULL;
        char err[512] = "";
        if (tsr_graphite_tmpl_compile(c->specs, c->nspecs, c->sep, &t, err, sizeof(err))) {
            print_error("case '%s': templates do not compile: %s\n", c->name, err);
            failures++;
            continue;
        }

        /* Output must be appended after what the buffer already holds, or not at all. */
        struct tsr_buf out = {0};
        tsr_buf_puts(&out, "keep\n");
        uint64_t hash = 0;
        const char *reason = NULL;
        int rc = tsr_graphite_line(t, c->line, strlen(c->line), NOW, &out, &hash, &reason);
        const char *got = out.len > 5 ? out.data + 5 : "";
        size_t gotlen = out.len > 5 ? out.len - 5 : 0;

        if (c->want) {
            if (rc != 0 || gotlen != strlen(c->want) || memcmp(got, c->want, gotlen)) {
                print_error("case '%s': input '%s'\n  want rc 0: %s  got rc %d: %.*s%s%s\n",
                            c->name, c->line, c->want, rc, (int)gotlen, got,
                            reason ? " reason: " : "", reason ? reason : "");
                failures++;
            } else {
                /* Same series hash as the HTTP path gives for the same point. */
                struct tsr_buf again = {0};
                struct tsr_lp_opts opts = {.precision = TSR_PREC_NS, .now_ns = NOW};
                struct tsr_lp_result res;
                tsr_lp_parse_line(c->want, c->want + strlen(c->want), &opts, &again, &res);
                if (res.status != TSR_LP_OK || res.series_hash != hash) {
                    print_error("case '%s': series hash %llx, line protocol gives %llx\n", c->name,
                                (unsigned long long)hash, (unsigned long long)res.series_hash);
                    failures++;
                }
                tsr_buf_free(&again);
            }
        } else if (c->why) {
            if (rc != -1 || out.len != 5 || !reason || !strstr(reason, c->why)) {
                print_error("case '%s': input '%s'\n  want rc -1 reason ~'%s'  got rc %d "
                            "reason '%s' output %.*s\n",
                            c->name, c->line, c->why, rc, reason ? reason : "(null)", (int)gotlen,
                            got);
                failures++;
            }
        } else if (rc != 1 || out.len != 5) {
            print_error("case '%s': want a skipped blank line, got rc %d\n", c->name, rc);
            failures++;
        }
        tsr_buf_free(&out);
        tsr_graphite_tmpl_free(&t);
        assert_null(t);
    }
    assert_int_equal(failures, 0);
}

struct compile_case {
    const char *const *specs;
    size_t nspecs;
    const char *sep;
    const char *why; /* a substring of the message, which must also quote the template */
    const char *bad; /* the template the message must name */
};

static const struct compile_case compile_cases[] = {
    {SPECS(""), .why = "empty template", .bad = "#1 ''"},
    {SPECS("servers.* .host.cpu"), .why = "no 'measurement'", .bad = "'servers.* .host.cpu'"},
    {SPECS("a.* .measurement*.field"), .why = "'measurement*' must be the last part",
     .bad = "'a.* .measurement*.field'"},
    {SPECS(".measurement.field*.host"), .why = "'field*' must be the last part",
     .bad = "'.measurement.field*.host'"},
    {SPECS("measurement*.field*"), .why = "'measurement*' must be the last part",
     .bad = "'measurement*.field*'"},
    {SPECS("measurement.field.field"), .why = "more than one 'field'",
     .bad = "'measurement.field.field'"},
    {SPECS("measurement.field.field*"), .why = "more than one 'field'",
     .bad = "'measurement.field.field*'"},
    {SPECS("servers.cpu* .measurement"), .why = "mixes '*'", .bad = "'servers.cpu* .measurement'"},
    {SPECS("host*.measurement"), .why = "only 'measurement*' and 'field*'",
     .bad = "'host*.measurement'"},
    {SPECS("a b c d"), .why = "too many words", .bad = "'a b c d'"},
    {SPECS("a.* measurement x"), .why = "bad tag 'x'", .bad = "'a.* measurement x'"},
    {SPECS(".host.measurement region="), .why = "bad tag 'region='",
     .bad = "'.host.measurement region='"},
    {SPECS(".host.measurement =x"), .why = "bad tag '=x'", .bad = "'.host.measurement =x'"},
    {SPECS(".host.measurement a=b=c"), .why = "bad tag 'a=b=c'",
     .bad = "'.host.measurement a=b=c'"},
    {SPECS(".host.measurement a=1,,b=2"), .why = "bad tag ''", .bad = "#1"},
    {SPECS(".host.measurement a=1,a=2"), .why = "duplicate tag 'a'",
     .bad = "'.host.measurement a=1,a=2'"},
    {SPECS("a=b"), .why = "missing template", .bad = "'a=b'"},
    {SPECS(".ho\\st.measurement"), .why = "backslash", .bad = "#1"},
    {SPECS("time.measurement"), .why = "'time' cannot be a tag name", .bad = "#1"},
    {SPECS("measurement time=now"), .why = "'time' cannot be a tag name", .bad = "#1"},
    {SPECS("a.* measurement*", "b.* measurement*", "measurement", ".measurement*"),
     .why = "second default template (template #3", .bad = "#4 '.measurement*'"},
    {SPECS("a.* measurement*", "b.* .measurement*", "a.* .host.measurement"),
     .why = "same filter as template #1", .bad = "#3 'a.* .host.measurement'"},
    {SPECS("measurement*"), .sep = "\\", .why = "separator", .bad = "'\\'"},
    {SPECS("a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a measurement"),
     .why = "more than 32 parts", .bad = "#1"},
};

static void test_compile_errors(void **state)
{
    (void)state;
    int failures = 0;

    for (size_t i = 0; i < sizeof(compile_cases) / sizeof(compile_cases[0]); i++) {
        const struct compile_case *c = &compile_cases[i];
        struct tsr_graphite_tmpl *t = (struct tsr_graphite_tmpl *)&failures; /* must be reset */
        char err[512] = "";
        int rc = tsr_graphite_tmpl_compile(c->specs, c->nspecs, c->sep, &t, err, sizeof(err));
        if (rc != -1 || t != NULL || !strstr(err, c->why) || !strstr(err, c->bad)) {
            print_error("compile case %zu: want -1 with '%s' naming %s\n  got rc %d: %s\n", i,
                        c->why, c->bad, rc, err);
            failures++;
        }
        if (rc == 0) tsr_graphite_tmpl_free(&t);
    }
    assert_int_equal(failures, 0);
}

static void test_compile_ok(void **state)
{
    (void)state;
    /* Every template form of the doc compiles, in any order, and an empty set is fine. */
    const char *specs[] = {
        "servers.*.cpu.* .host.measurement.field",
        "stats.* .host.measurement* region=us-west,agent=sensu",
        "*.app env.service.resource.measurement",
        "measurement* dc=eu1",
        "  a.b.c   .measurement.field*  ",
    };
    struct tsr_graphite_tmpl *t = NULL;
    char err[256] = "";
    assert_int_equal(tsr_graphite_tmpl_compile(specs, 5, "_", &t, err, sizeof(err)), 0);
    assert_non_null(t);
    tsr_graphite_tmpl_free(&t);
    assert_null(t);
    tsr_graphite_tmpl_free(&t); /* freeing NULL is a no-op */

    assert_int_equal(tsr_graphite_tmpl_compile(NULL, 0, NULL, &t, err, sizeof(err)), 0);
    struct tsr_buf out = {0};
    uint64_t hash;
    const char *reason;
    assert_int_equal(tsr_graphite_line(t, "x.y 1 1", 7, NOW, &out, &hash, &reason), 0);
    assert_int_equal(out.len, strlen("x.y value=1 1000000000\n"));
    assert_memory_equal(out.data, "x.y value=1 1000000000\n", out.len);
    tsr_buf_free(&out);
    tsr_graphite_tmpl_free(&t);
}

static void test_line_not_terminated(void **state)
{
    (void)state;
    /* The line is (pointer, length): nothing past len may be read or used. */
    const char *specs[] = {".host.measurement"};
    struct tsr_graphite_tmpl *t = NULL;
    char err[256];
    assert_int_equal(tsr_graphite_tmpl_compile(specs, 1, NULL, &t, err, sizeof(err)), 0);
    const char buf[] = "servers.h1.cpu 5 1700000000.25GARBAGE";
    struct tsr_buf out = {0};
    uint64_t hash;
    const char *reason;
    assert_int_equal(tsr_graphite_line(t, buf, strlen(buf) - 7, NOW, &out, &hash, &reason), 0);
    const char *want = "cpu,host=h1 value=5 1700000000250000000\n";
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    tsr_buf_free(&out);
    tsr_graphite_tmpl_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_compile_ok),
        cmocka_unit_test(test_line_not_terminated),
    };
    return cmocka_run_group_tests_name("graphite", tests, NULL, NULL);
}

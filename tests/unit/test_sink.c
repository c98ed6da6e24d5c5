/* Write URLs, credentials and response verdicts per cluster type (relay/deliver/sink.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "config/config.h"
#include "relay/deliver/sink.h"

static char *urls[] = {"http://a:8086/", "https://b:8086"};

static struct tsr_cluster_conf cluster(const char *type)
{
    struct tsr_cluster_conf cc = {.name = "c", .type = (char *)type, .urls = urls, .nurls = 2,
                                  .database = "", .retention_policy = "", .org = "",
                                  .bucket = "", .token = "", .username = "", .password = "",
                                  .bearer_token = "", .tls_ca_file = "", .tls_cert_file = "",
                                  .tls_key_file = ""};
    return cc;
}

static void expect_url(const struct tsr_cluster_conf *cc, int idx, const char *db, const char *rp,
                       const char *want)
{
    struct tsr_buf b = {0};
    tsr_sink_write_url(cc, idx, db, rp, &b);
    tsr_buf_putc(&b, '\0');
    assert_string_equal(b.data, want);
    tsr_buf_free(&b);
}

static void test_urls(void **state)
{
    struct tsr_cluster_conf cc = cluster("influxdb");
    expect_url(&cc, 0, "telegraf", "", "http://a:8086/write?db=telegraf&precision=ns");
    expect_url(&cc, 1, "db 1", "rp", "https://b:8086/write?db=db%201&rp=rp&precision=ns");
    cc.database = "fixed";
    cc.retention_policy = "weekly";
    expect_url(&cc, 0, "telegraf", "", "http://a:8086/write?db=fixed&rp=weekly&precision=ns");

    cc = cluster("victoriametrics");
    expect_url(&cc, 0, "telegraf", "autogen", "http://a:8086/write?db=telegraf&precision=ns");

    cc = cluster("cnosdb");
    expect_url(&cc, 0, "public", "", "http://a:8086/api/v1/write?db=public&precision=ns");

    cc = cluster("influxdb2");
    cc.org = "my org";
    expect_url(&cc, 0, "telegraf", "autogen",
               "http://a:8086/api/v2/write?org=my%20org&bucket=telegraf%2Fautogen&precision=ns");
    cc.bucket = "b1";
    expect_url(&cc, 0, "telegraf", "", "http://a:8086/api/v2/write?org=my%20org&bucket=b1&precision=ns");
}

static void test_authorization(void **state)
{
    struct tsr_cluster_conf cc = cluster("influxdb");
    struct tsr_buf b = {0};
    assert_int_equal(tsr_sink_authorization(&cc, &b), 0);
    assert_int_equal(b.len, 0);
    cc.username = "user";
    cc.password = "pass";
    assert_int_equal(tsr_sink_authorization(&cc, &b), 1);
    tsr_buf_putc(&b, '\0');
    assert_string_equal(b.data, "Basic dXNlcjpwYXNz");
    b.len = 0;
    cc.token = "t0k";
    assert_int_equal(tsr_sink_authorization(&cc, &b), 1);
    tsr_buf_putc(&b, '\0');
    assert_string_equal(b.data, "Token t0k");
    b.len = 0;
    cc.bearer_token = "b3arer";
    assert_int_equal(tsr_sink_authorization(&cc, &b), 1);
    tsr_buf_putc(&b, '\0');
    assert_string_equal(b.data, "Bearer b3arer");
    tsr_buf_free(&b);
}

/* Each answer sorted by what the forwarder does with it: retried where it stands, parked
 * for one database or retention policy, split, or refused line by line. */
/* A token a proxy echoes back is masked wherever the answer is shown. */
static void test_describe_masks_secrets(void **state)
{
    struct tsr_cluster_conf cc = cluster("victoriametrics");
    cc.bearer_token = "s3cr3t-tok";
    char why[300];
    tsr_sink_describe(&cc, 400, "no token \"Bearer s3cr3t-tok\" (s3cr3t-tok)", NULL, why,
                      sizeof(why));
    assert_string_equal(why, "HTTP 400: no token \"Bearer ***\" (***)");
    tsr_sink_describe(&cc, 0, NULL, "Connection refused", why, sizeof(why));
    assert_string_equal(why, "Connection refused");
}

static void test_verdicts(void **state)
{
    assert_int_equal(tsr_sink_judge(204, ""), TSR_SINK_DONE);
    assert_int_equal(tsr_sink_judge(200, ""), TSR_SINK_DONE);
    assert_int_equal(tsr_sink_judge(400, "{\"error\":\"partial write\"}"), TSR_SINK_REJECTED);
    assert_int_equal(tsr_sink_judge(422, "{\"code\":\"unprocessable entity\"}"),
                     TSR_SINK_REJECTED);
    assert_int_equal(tsr_sink_judge(413, ""), TSR_SINK_SPLIT);
    /* A proxy's refusal of the credentials is no line's fault: retried, not dead-lettered. */
    assert_int_equal(tsr_sink_judge(400, "cannot find the provided auth token \"Bearer x\" in config"),
                     TSR_SINK_RETRY);
    assert_int_equal(tsr_sink_judge(400, "<center>No required SSL certificate was sent</center>"),
                     TSR_SINK_RETRY);
    assert_int_equal(tsr_sink_judge(400, "{\"error\":\"unable to parse 'authorization x=1'\"}"),
                     TSR_SINK_REJECTED);
    assert_int_equal(tsr_sink_judge(404, "{\"error\":\"database not found: \\\"x\\\"\"}"),
                     TSR_SINK_PARK);
    assert_int_equal(tsr_sink_judge(404, "{\"code\":\"not found\",\"message\":\"bucket \\\"b\\\" not found\"}"),
                     TSR_SINK_PARK);
    assert_int_equal(tsr_sink_judge(500, "{\"error\":\"retention policy not found: nope\"}"),
                     TSR_SINK_PARK);
    assert_int_equal(tsr_sink_judge(403, "{\"error\":\"user is not authorized to write to database \\\"x\\\"\"}"),
                     TSR_SINK_PARK);
    /* A plain 404 is a wrong URL or a proxy, not one database: the whole cluster waits. */
    assert_int_equal(tsr_sink_judge(404, "not found"), TSR_SINK_RETRY);
    assert_int_equal(tsr_sink_judge(429, ""), TSR_SINK_RETRY);
    assert_int_equal(tsr_sink_judge(500, ""), TSR_SINK_RETRY);
    assert_int_equal(tsr_sink_judge(503, NULL), TSR_SINK_RETRY);
    assert_int_equal(tsr_sink_judge(401, ""), TSR_SINK_RETRY);
    assert_int_equal(tsr_sink_judge(403, ""), TSR_SINK_RETRY);
    assert_int_equal(tsr_sink_judge(0, NULL), TSR_SINK_RETRY);
}

/* A record's lines go into the body whole; the body always ends a line; empty lines are
 * not points (as a dry run counts them). */
static void test_append_record(void **state)
{
    (void)state;
    struct tsr_buf b = {0};
    assert_int_equal(tsr_sink_append_record(&b, "a v=1 1\nb v=2 2\n", 16), 2);
    assert_int_equal(tsr_sink_append_record(&b, "c v=3 3", 7), 1);
    assert_int_equal(tsr_sink_append_record(&b, "\nd v=4 4\n\n", 10), 1);
    assert_int_equal(tsr_sink_append_record(&b, "", 0), 0);
    assert_int_equal(b.len, 16 + 8 + 10);
    assert_memory_equal(b.data, "a v=1 1\nb v=2 2\nc v=3 3\n\nd v=4 4\n\n", b.len);
    tsr_buf_free(&b);
}

static void test_create_db_url(void **state)
{
    struct tsr_cluster_conf cc = cluster("influxdb");
    struct tsr_buf b = {0};
    tsr_sink_create_db_url(&cc, 0, "tele graf", &b);
    tsr_buf_putc(&b, '\0');
    assert_string_equal(b.data, "http://a:8086/query?q=CREATE%20DATABASE%20%22tele%20graf%22");
    tsr_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_authorization),
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_describe_masks_secrets),
        cmocka_unit_test(test_create_db_url),
        cmocka_unit_test(test_append_record),
    };
    return cmocka_run_group_tests_name("sink", tests, NULL, NULL);
}

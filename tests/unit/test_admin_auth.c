/* tests/unit/test_admin_auth.c — who may use which admin endpoint (relay/admin/admin_auth.c)
 * and the admin.tokens keys that configure it (config/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "relay/admin/admin_auth.h"

#define BASE "datacenter: t\nkafka:\n  brokers: 127.0.0.1:9092\n  topic: m\nstate_dir: /tmp/x\n"
#define TOKENS                                                                                     \
    "admin:\n"                                                                                     \
    "  tokens:\n"                                                                                  \
    "    - {name: oncall, role: operate, token_env: TSR_T_OPERATE}\n"                              \
    "    - {name: grafana, token_env: TSR_T_READ}\n"

static struct tsr_config *load(const char *yaml, char *err, size_t errlen)
{
    struct tsr_config *cf = NULL;
    if (tsr_config_load_string(yaml, strlen(yaml), "t.yaml", &cf, err, errlen) != 0) return NULL;
    return cf;
}

static int setup(void **state)
{
    setenv("TSR_T_OPERATE", "op-secret-1234", 1);
    setenv("TSR_T_READ", "read-secret-5678", 1);
    return 0;
}

static void test_needs(void **state)
{
    char err[256];
    struct tsr_config *cf = load(BASE, err, sizeof(err));
    assert_non_null(cf);
    assert_int_equal(tsr_admin_need(cf, 0, "/health"), TSR_ADMIN_OPEN);
    assert_int_equal(tsr_admin_need(cf, 0, "/ready"), TSR_ADMIN_OPEN);
    assert_int_equal(tsr_admin_need(cf, 0, "/"), TSR_ADMIN_OPEN);
    assert_int_equal(tsr_admin_need(cf, 0, "/status"), TSR_ADMIN_READ);
    assert_int_equal(tsr_admin_need(cf, 0, "/metrics"), TSR_ADMIN_READ);
    assert_int_equal(tsr_admin_need(cf, 0, "/clusters/a/ready"), TSR_ADMIN_READ);
    assert_int_equal(tsr_admin_need(cf, 0, "/replays"), TSR_ADMIN_READ);
    assert_int_equal(tsr_admin_need(cf, 1, "/replays"), TSR_ADMIN_OPERATE);
    assert_int_equal(tsr_admin_need(cf, 1, "/replays/3/cancel"), TSR_ADMIN_OPERATE);
    tsr_config_free(&cf);
    cf = load(BASE "admin:\n  metrics_public: true\n", err, sizeof(err));
    assert_non_null(cf);
    assert_int_equal(tsr_admin_need(cf, 0, "/metrics"), TSR_ADMIN_OPEN);
    tsr_config_free(&cf);
}

/* No tokens: reads for anyone, changes from loopback only. */
static void test_without_tokens(void **state)
{
    char err[256];
    const struct tsr_admin_token *who;
    const char *why;
    struct tsr_config *cf = load(BASE, err, sizeof(err));
    assert_non_null(cf);
    assert_int_equal(tsr_admin_authorize(cf, TSR_ADMIN_READ, NULL, 0, &who, &why), 0);
    assert_int_equal(tsr_admin_authorize(cf, TSR_ADMIN_OPERATE, NULL, 1, &who, &why), 0);
    assert_null(who);
    assert_int_equal(tsr_admin_authorize(cf, TSR_ADMIN_OPERATE, NULL, 0, &who, &why), 403);
    assert_non_null(strstr(why, "admin.tokens"));
    tsr_config_free(&cf);
}

static void test_with_tokens(void **state)
{
    char err[256];
    const struct tsr_admin_token *who;
    const char *why;
    struct tsr_config *cf = load(BASE TOKENS, err, sizeof(err));
    if (!cf) fail_msg("%s", err);
    assert_int_equal(cf->nadmin_tokens, 2);
    assert_string_equal(cf->admin_tokens[1].role, "read");
    /* Probes stay open; loopback no longer lets anything through. */
    assert_int_equal(tsr_admin_authorize(cf, TSR_ADMIN_OPEN, NULL, 0, &who, &why), 0);
    assert_int_equal(tsr_admin_authorize(cf, TSR_ADMIN_READ, NULL, 1, &who, &why), 401);
    assert_int_equal(tsr_admin_authorize(cf, TSR_ADMIN_READ, "Basic b3A6eA==", 1, &who, &why), 401);
    assert_int_equal(tsr_admin_authorize(cf, TSR_ADMIN_READ, "Bearer op-secret-123", 0, &who, &why),
                     401);
    assert_int_equal(tsr_admin_authorize(cf, TSR_ADMIN_READ, "Bearer op-secret-12345", 0, &who, &why),
                     401);
    assert_int_equal(tsr_admin_authorize(cf, TSR_ADMIN_READ, "Bearer ", 0, &who, &why), 401);
    assert_string_equal(why, "unknown admin token");
    /* Either role reads; only operate changes. */
    assert_int_equal(tsr_admin_authorize(cf, TSR_ADMIN_READ, "Bearer read-secret-5678", 0, &who, &why),
                     0);
    assert_string_equal(who->name, "grafana");
    assert_int_equal(
        tsr_admin_authorize(cf, TSR_ADMIN_OPERATE, "Bearer read-secret-5678", 0, &who, &why), 403);
    assert_non_null(strstr(why, "operate"));
    assert_int_equal(
        tsr_admin_authorize(cf, TSR_ADMIN_OPERATE, "bearer  op-secret-1234 ", 0, &who, &why), 0);
    assert_string_equal(who->name, "oncall");
    tsr_config_free(&cf);
}

static void test_config_errors(void **state)
{
    char err[256];
    assert_null(load(BASE "admin:\n  tokens:\n    - {name: a, role: admin, token_env: TSR_T_READ}\n",
                     err, sizeof(err)));
    assert_non_null(strstr(err, "role"));
    assert_null(load(BASE "admin:\n  tokens:\n    - {name: a}\n", err, sizeof(err)));
    assert_non_null(strstr(err, "token_file"));
    assert_null(load(BASE "admin:\n  tokens:\n    - {name: a, token: abc}\n", err, sizeof(err)));
    assert_non_null(strstr(err, "inline secret"));
    assert_null(load(BASE "admin:\n  tokens:\n    - {name: a, token_env: TSR_T_READ}\n"
                          "    - {name: a, token_env: TSR_T_OPERATE}\n",
                     err, sizeof(err)));
    assert_non_null(strstr(err, "must be unique"));
    assert_null(load(BASE "admin:\n  tokens:\n    - {name: a, token_env: TSR_T_READ}\n"
                          "    - {name: b, token_env: TSR_T_READ}\n",
                     err, sizeof(err)));
    assert_non_null(strstr(err, "same token"));
    /* The message never holds the secret. */
    assert_null(strstr(err, "read-secret"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_needs),
        cmocka_unit_test(test_without_tokens),
        cmocka_unit_test(test_with_tokens),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests_name("admin_auth", tests, setup, NULL);
}

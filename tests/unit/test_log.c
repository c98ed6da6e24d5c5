/* tests/unit/test_log.c — the rate-limited logger (relay/core/log.c): one line per
 * period, the next one counting what was left out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "relay/core/log.h"

/* What the logger writes to stderr while fn runs. */
static void capture(void (*fn)(void), char *out, size_t len)
{
    int fds[2], saved = dup(STDERR_FILENO);
    assert_int_equal(pipe(fds), 0);
    dup2(fds[1], STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    ssize_t n = read(fds[0], out, len - 1);
    out[n > 0 ? n : 0] = '\0';
    close(fds[0]);
}

static struct tsr_log_limit lim = {.every_s = 3600};

static void three_refusals(void)
{
    for (int i = 0; i < 3; i++) tsr_log_limited(&lim, TSR_LOG_WARN, "refused client %d", i);
}

static void one_more(void)
{
    lim.logged_at -= 3600; /* the period is over */
    tsr_log_limited(&lim, TSR_LOG_WARN, "refused client %d", 3);
}

static void test_limited(void **state)
{
    (void)state;
    char out[1024];
    capture(three_refusals, out, sizeof(out));
    assert_non_null(strstr(out, " warn refused client 0\n"));
    assert_null(strstr(out, "client 1"));
    assert_null(strstr(out, "client 2"));
    assert_int_equal(lim.unlogged, 2);
    capture(one_more, out, sizeof(out));
    assert_non_null(strstr(out, " warn refused client 3 (and 2 more since the last such line)\n"));
    assert_int_equal(lim.unlogged, 0);
}

/* Below the level, nothing is written and nothing counted. */
static void debug_line(void)
{
    struct tsr_log_limit l = {.every_s = 1};
    tsr_log_limited(&l, TSR_LOG_DEBUG, "not shown");
    assert_int_equal(l.unlogged, 0);
}

static void test_below_level(void **state)
{
    (void)state;
    char out[256];
    capture(debug_line, out, sizeof(out));
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limited),
        cmocka_unit_test(test_below_level),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}

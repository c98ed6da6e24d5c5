/* Broker reachability as read from librdkafka's statistics JSON (relay/kafka/kafka.c). The
 * samples are shaped like librdkafka 2.0.2's output, with its ", " separators. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "relay/kafka/kafka.h"

static void test_bootstrap_down(void **state)
{
    const char *json =
        "{ \"name\": \"p\", \"brokers\":{ \"127.0.0.1:1/bootstrap\": { \"name\":\"127.0.0.1:1/"
        "bootstrap\", \"nodeid\":-1, \"nodename\":\"127.0.0.1:1\", \"source\":\"configured\", "
        "\"state\":\"INIT\", \"stateage\":8 } }, \"topics\":{ } }";
    assert_int_equal(tsr_kafka_stats_brokers_up(json), 0);
}

static void test_internal_broker_does_not_count(void **state)
{
    const char *json = "{\"brokers\":{\":0/internal\": {\"name\":\":0/internal\", \"nodeid\":-1, "
                       "\"source\":\"internal\", \"state\":\"UP\"}, \"h:9092/1\": {"
                       "\"source\":\"learned\", \"state\":\"TRY_CONNECT\"}}, \"topics\":{"
                       "\"t\":{\"partitions\":{\"0\":{\"fetch_state\":\"none\"}}}}}";
    assert_int_equal(tsr_kafka_stats_brokers_up(json), 0);
}

static void test_learned_and_configured_up(void **state)
{
    const char *json = "{\"brokers\":{\"a/bootstrap\": {\"source\":\"configured\", "
                       "\"state\":\"UP\"}, \"a/1\": {\"source\":\"learned\",\"state\":\"UP\"}, "
                       "\"b/2\": {\"source\":\"learned\", \"state\":\"DOWN\"}}}";
    assert_int_equal(tsr_kafka_stats_brokers_up(json), 2);
}

static void test_garbage(void **state)
{
    assert_int_equal(tsr_kafka_stats_brokers_up(""), 0);
    assert_int_equal(tsr_kafka_stats_brokers_up("{\"brokers\":{\"x\":{\"source\":\"learned\""), 0);
    assert_int_equal(tsr_kafka_stats_brokers_up("{\"brokers\":{\"x\":{\"source\":\"learned\", \"state\":\"UP"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bootstrap_down),
        cmocka_unit_test(test_internal_broker_does_not_count),
        cmocka_unit_test(test_learned_and_configured_up),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests_name("kafka_stats", tests, NULL, NULL);
}

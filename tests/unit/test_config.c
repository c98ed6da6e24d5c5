/* tests/unit/test_config.c — the config loader: the example, defaults, every kind of
 * error with its exact message and position, secrets, value syntax, and that
 * config/CONFIG.md is the current generated reference.
 * Run from the repository root (or set TSR_SRCDIR to it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

/* The smallest valid config; cases append to it. */
#define BASE                                                                                       \
    "datacenter: dc1\n"                                                                            \
    "kafka:\n"                                                                                     \
    "  brokers: 127.0.0.1:9092\n"                                                                  \
    "  topic: metrics\n"

static const char *src_path(const char *rel, char *buf, size_t len)
{
    const char *dir = getenv("TSR_SRCDIR");
    snprintf(buf, len, "%s/%s", dir ? dir : ".", rel);
    return buf;
}

/* Loads yaml that must be valid; fails the test with the loader's message otherwise. */
static struct tsr_config *load_ok(const char *yaml)
{
    char err[512];
    struct tsr_config *cf = NULL;
    if (tsr_config_load_string(yaml, strlen(yaml), "t.yaml", &cf, err, sizeof(err)) != 0)
        fail_msg("unexpected error: %s\n--- yaml:\n%s", err, yaml);
    assert_non_null(cf);
    return cf;
}

/* Loads yaml that must be refused with exactly `want`. */
static void load_err(const char *yaml, const char *want)
{
    char err[512];
    struct tsr_config *cf = (struct tsr_config *)1;
    int rc = tsr_config_load_string(yaml, strlen(yaml), "t.yaml", &cf, err, sizeof(err));
    if (rc == 0) {
        tsr_config_free(&cf);
        fail_msg("loaded, but expected: %s\n--- yaml:\n%s", want, yaml);
    }
    assert_null(cf);
    if (strcmp(err, want) != 0) fail_msg("got:  %s\nwant: %s\n--- yaml:\n%s", err, want, yaml);
}

static void test_example_loads(void **state)
{
    char path[512], err[512];
    struct tsr_config *cf = NULL;
    src_path("config/example.yaml", path, sizeof(path));
    if (tsr_config_load(path, &cf, err, sizeof(err))) fail_msg("%s", err);

    assert_string_equal(cf->path, path);
    assert_string_equal(cf->datacenter, "dc1");
    assert_string_equal(cf->listen_http, "127.0.0.1:8086");
    assert_string_equal(cf->listen_graphite, "127.0.0.1:2003");
    assert_string_equal(cf->listen_admin, "127.0.0.1:8093");
    assert_string_equal(cf->kafka_brokers, "127.0.0.1:9092");
    assert_string_equal(cf->kafka_topic, "metrics");
    assert_string_equal(cf->kafka_dlq_topic, "metrics.dlq");
    assert_string_equal(cf->kafka_fleet_topic, "metrics.fleet");
    assert_int_equal(cf->kafka_session_timeout_ms, 10000);
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    if (!getenv("TSRELAY_INSTANCE")) assert_string_equal(cf->instance, host);
    assert_string_equal(cf->state_dir, "./tmp/state");
    assert_int_equal(cf->nkafka_properties, 0);
    assert_int_equal(cf->ngraphite_templates, 2);
    assert_string_equal(cf->graphite_templates[0], "servers.* .host.measurement.field");
    assert_string_equal(cf->graphite_templates[1], "stats.* .measurement.field*");

    assert_int_equal(cf->nclusters, 2);
    assert_string_equal(cf->clusters[0].name, "influx");
    assert_string_equal(cf->clusters[0].type, "influxdb");
    assert_int_equal(cf->clusters[0].nurls, 1);
    assert_string_equal(cf->clusters[0].urls[0], "http://127.0.0.1:8186");
    assert_string_equal(cf->clusters[0].database, "metrics");
    assert_string_equal(cf->clusters[1].name, "vm");
    assert_string_equal(cf->clusters[1].type, "victoriametrics");
    assert_string_equal(cf->clusters[1].urls[0], "http://127.0.0.1:8428");
    assert_string_equal(cf->clusters[1].database, "");
    assert_string_equal(cf->clusters[1].compression, "gzip");
    assert_int_equal(cf->clusters[1].timeout_ms, 10000);

    tsr_config_free(&cf);
    assert_null(cf);
    tsr_config_free(&cf); /* a NULL config is a no-op */
}

static void test_defaults(void **state)
{
    struct tsr_config *cf = load_ok(BASE "clusters:\n"
                                         "  - name: a\n"
                                         "    type: influxdb\n"
                                         "    urls: [http://127.0.0.1:8086]\n");
    assert_string_equal(cf->path, "t.yaml");
    assert_string_equal(cf->listen_http, "0.0.0.0:8086");
    assert_string_equal(cf->listen_graphite, "");
    assert_string_equal(cf->listen_admin, "0.0.0.0:8093");
    assert_string_equal(cf->kafka_dlq_topic, "metrics.dlq");
    assert_string_equal(cf->kafka_compression, "lz4");
    assert_int_equal(cf->kafka_linger_ms, 5);
    assert_int_equal(cf->kafka_record_max_bytes, 262144);
    assert_int_equal(cf->kafka_queue_max_bytes, 64 << 20);
    assert_int_equal(cf->kafka_message_timeout_ms, 30000);
    assert_int_equal(cf->nkafka_properties, 0);
    assert_string_equal(cf->state_dir, "/var/lib/tsrelay");
    assert_int_equal(cf->ingest_max_body_bytes, 25 << 20);
    assert_int_equal(cf->ingest_max_line_bytes, 1 << 20);
    assert_int_equal(cf->ingest_max_tags, 256);
    assert_int_equal(cf->ingest_read_timeout_ms, 30000);
    assert_int_equal(cf->ingest_max_inflight_bytes, 64 << 20);
    assert_int_equal(cf->ingest_auth_enabled, 0);
    assert_int_equal(cf->ningest_users, 0);
    assert_int_equal(cf->ningest_tokens, 0);
    assert_int_equal(cf->ngraphite_templates, 0);
    assert_string_equal(cf->graphite_separator, ".");
    assert_string_equal(cf->graphite_database, "graphite");
    assert_string_equal(cf->log_level, "info");

    const struct tsr_cluster_conf *cc = &cf->clusters[0];
    assert_string_equal(cc->database, "");
    assert_string_equal(cc->retention_policy, "");
    assert_string_equal(cc->org, "");
    assert_string_equal(cc->bucket, "");
    assert_string_equal(cc->token, "");
    assert_string_equal(cc->username, "");
    assert_string_equal(cc->password, "");
    assert_string_equal(cc->compression, "gzip");
    assert_int_equal(cc->timeout_ms, 10000);
    assert_int_equal(cc->batch_lines, 5000);
    assert_int_equal(cc->batch_bytes, 1 << 20);
    tsr_config_free(&cf);
}

/* Every numeric default lies within its own bounds (set_defaults only checks syntax). */
static void check_table_defaults(const struct tsr_config_key *keys, const void *base)
{
    for (const struct tsr_config_key *k = keys; k->name; k++) {
        if (k->type != TSR_CT_INT && k->type != TSR_CT_SIZE && k->type != TSR_CT_DURATION) continue;
        int64_t v = *(const int64_t *)(const void *)((const char *)base + k->off);
        if (v < k->min || v > k->max)
            fail_msg("default of '%s' (%lld) is outside %lld..%lld", k->name, (long long)v,
                     (long long)k->min, (long long)k->max);
        assert_non_null(k->doc);
        assert_null(strchr(k->doc, '\n'));
    }
}

static void test_schema_defaults_in_bounds(void **state)
{
    struct tsr_config *cf = load_ok(BASE "clusters: [{name: a, type: cnosdb, urls: [http://x]}]\n");
    check_table_defaults(tsr_config_keys, cf);
    check_table_defaults(tsr_config_cluster_keys, &cf->clusters[0]);
    tsr_config_free(&cf);
}

static void test_empty_sections(void **state)
{
    struct tsr_config *cf = load_ok(BASE "listen:\n"
                                         "clusters:\n"
                                         "graphite:\n"
                                         "  templates: []\n"
                                         "ingest: {auth: {}}\n"
                                         "log: ~\n");
    assert_int_equal(cf->nclusters, 0);
    assert_string_equal(cf->listen_http, "0.0.0.0:8086");
    tsr_config_free(&cf);

    /* "" and null both turn an optional listener off */
    cf = load_ok(BASE "listen:\n  graphite: \"\"\n  http:\n");
    assert_string_equal(cf->listen_graphite, "");
    assert_string_equal(cf->listen_http, "");
    tsr_config_free(&cf);
}

/* instance: $TSRELAY_INSTANCE when the file has none (the DaemonSet's node name), and
 * what Kafka takes as a group.instance.id. */
static void test_instance(void **state)
{
    (void)state;
    setenv("TSRELAY_INSTANCE", "node-7", 1);
    struct tsr_config *cf = load_ok(BASE);
    assert_string_equal(cf->instance, "node-7");
    tsr_config_free(&cf);
    cf = load_ok("instance: relay-a\n" BASE);
    assert_string_equal(cf->instance, "relay-a");
    tsr_config_free(&cf);
    setenv("TSRELAY_INSTANCE", "no/slash", 1);
    load_err(BASE, "t.yaml:1:1: 'instance' must be 1 to 200 letters, digits, '-', '_' or '.': 'no/slash'");
    unsetenv("TSRELAY_INSTANCE");
    load_err("instance: a b\n" BASE,
             "t.yaml:1:11: 'instance' must be 1 to 200 letters, digits, '-', '_' or '.': 'a b'");
    load_err(BASE "  fleet_topic: metrics.dlq\n",
             "t.yaml:5:16: 'kafka.fleet_topic' must differ from 'kafka.dlq_topic'");
    load_err(BASE "  session_timeout_ms: 1s\n",
             "t.yaml:5:23: 'kafka.session_timeout_ms' must be between 6000 and 300000");
}

static void test_errors(void **state)
{
    static const struct {
        const char *yaml, *err;
    } cases[] = {
        /* unknown, duplicate, dotted */
        {BASE "listen:\n  htp: 127.0.0.1:8086\n", "t.yaml:6:3: unknown key 'listen.htp'"},
        {BASE "kafak: {}\n", "t.yaml:5:1: unknown key 'kafak'"},
        {BASE "kafka:\n  linger_ms: 1\n", "t.yaml:5:1: duplicate key 'kafka'"},
        {BASE "  topic: again\n", "t.yaml:5:3: duplicate key 'kafka.topic'"},
        {BASE "kafka.linger_ms: 3\n",
         "t.yaml:5:1: dotted key 'kafka.linger_ms' not allowed: nest it as maps"},
        {BASE "clusters:\n  - {name: a, type: influxdb, urls: [http://x], timeout: 5}\n",
         "t.yaml:6:49: unknown key 'clusters[0].timeout'"},
        /* wrong types */
        {BASE "  linger_ms: [5]\n", "t.yaml:5:14: 'kafka.linger_ms' must be a duration such as "
                                    "500ms, 30s, 2m or 7d"},
        {BASE "ingest:\n  max_tags: many\n", "t.yaml:6:13: 'ingest.max_tags' must be an integer"},
        {BASE "ingest:\n  max_tags: 1.5\n", "t.yaml:6:13: 'ingest.max_tags' must be an integer"},
        {BASE "ingest:\n  auth:\n    enabled: maybe\n",
         "t.yaml:7:14: 'ingest.auth.enabled' must be true or false"},
        {BASE "log:\n  level: [debug]\n", "t.yaml:6:10: 'log.level' must be a string"},
        {BASE "listen: 127.0.0.1:8086\n", "t.yaml:5:9: 'listen' must be a map"},
        {BASE "clusters: influx\n", "t.yaml:5:11: 'clusters' must be a list of maps"},
        {BASE "clusters:\n  - influx\n", "t.yaml:6:5: 'clusters[0]' must be a map"},
        {BASE "graphite:\n  templates: a.b\n",
         "t.yaml:6:14: 'graphite.templates' must be a list of strings"},
        {BASE "graphite:\n  templates: [[a]]\n",
         "t.yaml:6:15: 'graphite.templates[0]' must be a string"},
        {BASE "  properties: [a]\n", "t.yaml:5:15: 'kafka.properties' must be a map"},
        {BASE "  properties: {client.id: {a: b}}\n",
         "t.yaml:5:27: 'kafka.properties.client.id' must be a string"},
        {"- datacenter\n", "t.yaml:1:1: the top level must be a map of keys"},
        /* out of range and bad values */
        {BASE "  linger_ms: 70000\n", "t.yaml:5:14: 'kafka.linger_ms' must be between 0 and 60000"},
        {BASE "  linger_ms: 2m\n", "t.yaml:5:14: 'kafka.linger_ms' must be between 0 and 60000"},
        {BASE "  record_max_bytes: 512\n",
         "t.yaml:5:21: 'kafka.record_max_bytes' must be between 1024 and 10485760"},
        {BASE "  record_max_bytes: 99999999999999999999999GiB\n",
         "t.yaml:5:21: 'kafka.record_max_bytes' must be between 1024 and 10485760"},
        {BASE "ingest:\n  max_tags: -1\n", "t.yaml:6:13: 'ingest.max_tags' must be between 1 "
                                           "and 65535"},
        {BASE "  compression: brotli\n",
         "t.yaml:5:16: 'kafka.compression' must be one of lz4, zstd, gzip, snappy, none"},
        {BASE "log:\n  level: verbose\n",
         "t.yaml:6:10: 'log.level' must be one of debug, info, warn, error"},
        {BASE "listen:\n  http: 8086\n",
         "t.yaml:6:9: 'listen.http' must be host:port, [ipv6]:port or :port"},
        {BASE "listen:\n  admin: \"\"\n",
         "t.yaml:6:10: 'listen.admin' must be host:port, [ipv6]:port or :port"},
        {BASE "listen:\n  admin: 127.0.0.1:99999\n",
         "t.yaml:6:10: 'listen.admin' must be host:port, [ipv6]:port or :port"},
        {"datacenter: dc 1\n", "t.yaml:1:13: 'datacenter' must be 1 to 64 letters, digits, "
                               "'-', '_' or '.'"},
        {BASE "  dlq_topic: metrics\n",
         "t.yaml:5:14: 'kafka.dlq_topic' must differ from 'kafka.topic'"},
        {"datacenter: dc1\nkafka: {brokers: k, topic: a/b}\n",
         "t.yaml:2:28: 'kafka.topic' must be a kafka topic name: 1 to 249 letters, digits, "
         "'-', '_' or '.'"},
        {"datacenter: dc1\nkafka: {brokers: 'a:1,,b:2', topic: m}\n",
         "t.yaml:2:18: 'kafka.brokers' must be a comma-separated list of host:port"},
        {BASE "ingest:\n  max_body_bytes: 1MiB\n  max_line_bytes: 2MiB\n",
         "t.yaml:7:19: 'ingest.max_line_bytes' must not exceed 'ingest.max_body_bytes'"},
        {BASE "ingest:\n  max_body_bytes: 512KiB\n",
         "t.yaml:6:19: 'ingest.max_line_bytes' must not exceed 'ingest.max_body_bytes'"},
        /* missing required keys: reported at the enclosing map */
        {"", "t.yaml:1:1: missing required key 'datacenter'"},
        {"# nothing yet\n\nlog: {level: info}\n", "t.yaml:3:1: missing required key 'datacenter'"},
        {"datacenter: dc1\n", "t.yaml:1:1: missing required key 'kafka.brokers'"},
        {"datacenter: dc1\nkafka:\n  brokers: k:9092\n",
         "t.yaml:2:1: missing required key 'kafka.topic'"},
        {"datacenter: dc1\nkafka:\n", "t.yaml:2:1: missing required key 'kafka.brokers'"},
        {BASE "clusters:\n  - name: a\n    type: influxdb\n",
         "t.yaml:6:5: missing required key 'clusters[0].urls'"},
        {BASE "clusters:\n  - name: a\n    type: influxdb\n    urls: [http://x]\n"
              "  - type: influxdb\n    urls: [http://y]\n",
         "t.yaml:9:5: missing required key 'clusters[1].name'"},
        {BASE "ingest:\n  auth:\n    users:\n      - name: telegraf\n",
         "t.yaml:8:9: missing required key 'ingest.auth.users[0].password_file' or "
         "'ingest.auth.users[0].password_env'"},
        /* clusters */
        {BASE "clusters:\n  - {name: a, type: influx, urls: [http://x]}\n",
         "t.yaml:6:21: 'clusters[0].type' must be one of influxdb, influxdb2, victoriametrics, "
         "cnosdb, prometheus, graphite"},
        {BASE "clusters:\n  - name: a\n    type: influxdb\n    urls: []\n",
         "t.yaml:8:11: 'clusters[0].urls' must not be empty"},
        {BASE "clusters:\n  - name: a\n    type: influxdb\n    urls:\n      - http://x\n"
              "      - ftp://y\n",
         "t.yaml:10:9: 'clusters[0].urls[1]' must be an http://, https:// or tcp:// url"},
        {BASE "clusters:\n  - name: a/b\n    type: influxdb\n    urls: [http://x]\n",
         "t.yaml:6:11: 'clusters[0].name' must be 1 to 64 letters, digits, '-', '_' or '.'"},
        {BASE "clusters:\n  - name: fleet-view\n    type: influxdb\n    urls: [http://x]\n",
         "t.yaml:6:11: 'clusters[0].name' must not be 'fleet' or start with 'fleet-' or "
         "'input-' (the relay's own consumer groups)"},
        {BASE "clusters:\n  - name: input-x\n    type: influxdb\n    urls: [http://x]\n",
         "t.yaml:6:11: 'clusters[0].name' must not be 'fleet' or start with 'fleet-' or "
         "'input-' (the relay's own consumer groups)"},
        /* inputs.kafka */
        {BASE "inputs:\n  kafka:\n    - {topic: t, database: d}\n",
         "t.yaml:7:7: missing required key 'inputs.kafka[0].format'"},
        {BASE "inputs:\n  kafka:\n    - {topic: t, database: d, format: xml}\n",
         "t.yaml:7:39: 'inputs.kafka[0].format' must be one of influx, graphite, json"},
        {BASE "inputs:\n  kafka:\n    - {topic: t, database: d, format: influx, json: {time_key: ts}}\n",
         "t.yaml:7:7: 'inputs.kafka[0]': json keys go with format json, not influx"},
        {BASE "inputs:\n  kafka:\n    - {topic: t, database: d, format: json, json: {measurement: \"\"}}\n",
         "t.yaml:7:7: 'inputs.kafka[0]' needs 'json.measurement' or 'json.name_key'"},
        {BASE "inputs:\n  kafka:\n    - {topic: metrics, database: d, format: influx}\n",
         "t.yaml:7:7: 'inputs.kafka[0].topic' is the relay's own topic (kafka.topic)"},
        {BASE "inputs:\n  kafka:\n    - {topic: t, database: d, format: influx}\n"
              "    - {topic: t, database: e, format: json}\n",
         "t.yaml:8:7: 'inputs.kafka[1]' reads the same topic as 'inputs.kafka[0]'"},
        {BASE "inputs:\n  kafka:\n    - {topic: t, database: d, format: influx, "
              "properties: {group.id: g}}\n",
         "t.yaml:7:60: 'inputs.kafka[0].properties.group.id' is set through the input's 'group'"},
        {BASE "inputs:\n  kafka:\n    - {topic: t, format: influx}\n",
         "t.yaml:7:7: missing required key 'inputs.kafka[0].database'"},
        {BASE "clusters:\n  - {name: a, type: influxdb, urls: [http://x], compression: lz4}\n",
         "t.yaml:6:62: 'clusters[0].compression' must be one of gzip, none"},
        {BASE "clusters:\n  - {name: a, type: influxdb, urls: [http://x], batch_lines: 0}\n",
         "t.yaml:6:62: 'clusters[0].batch_lines' must be between 1 and 1000000"},
        /* auth */
        {BASE "ingest:\n  auth:\n    enabled: true\n",
         "t.yaml:7:14: 'ingest.auth.enabled' needs 'ingest.auth.users', "
         "'ingest.auth.token_files' or 'ingest.auth.token_envs'"},
        {BASE "ingest:\n  auth:\n    users:\n      - {name: 'a:b', password_env: HOME}\n",
         "t.yaml:8:16: 'ingest.auth.users[0].name' must be a non-empty name without ':'"},
        /* kafka.properties */
        {BASE "  properties:\n    linger.ms: 100\n",
         "t.yaml:6:5: 'kafka.properties.linger.ms' is set through 'kafka.linger_ms'"},
        {BASE "  properties:\n    enable.idempotence: false\n",
         "t.yaml:6:5: 'kafka.properties.enable.idempotence' cannot be changed: durable writes "
         "need acks=all and idempotence"},
        {BASE "  properties:\n    client.id: a\n    client.id: b\n",
         "t.yaml:7:5: duplicate key 'kafka.properties.client.id'"},
        /* yaml syntax */
        {BASE "graphite:\n  templates: [a\n",
         "t.yaml:7:1: did not find expected ',' or ']' while parsing a flow sequence at line 6"},
        {"datacenter: a\n  kafka: 1\n", "t.yaml:2:8: mapping values are not allowed in this "
                                        "context"},
        {"datacenter: dc1\nkafka:\n\ttopic: x\n",
         "t.yaml:3:1: found character that cannot start any token: yaml does not allow tabs "
         "for indentation"},
        {BASE "log: *level\n", "t.yaml:5:6: found undefined alias"},
        {"datacenter: \"dc\xff\"\n", "t.yaml:1:16: invalid leading UTF-8 octet"},
        {BASE "---\ndatacenter: dc2\n",
         "t.yaml:5:1: a config file holds one yaml document, not several"},
        {BASE "? [a]\n: b\n", "t.yaml:5:3: a key at the top level is not a string"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        load_err(cases[i].yaml, cases[i].err);
}

static void test_duplicate_cluster_names(void **state)
{
    load_err(BASE "clusters:\n"
                  "  - name: influx\n"
                  "    type: influxdb\n"
                  "    urls: [http://127.0.0.1:8086]\n"
                  "  - name: vm\n"
                  "    type: victoriametrics\n"
                  "    urls: [http://127.0.0.1:8428]\n"
                  "  - name: influx\n"
                  "    type: influxdb2\n"
                  "    urls: [http://127.0.0.1:8087]\n",
             "t.yaml:12:11: 'clusters[2].name' must be unique: 'influx' is already used");
    load_err(BASE "ingest:\n"
                  "  auth:\n"
                  "    users:\n"
                  "      - {name: a, password_env: HOME}\n"
                  "      - {name: a, password_env: HOME}\n",
             "t.yaml:9:16: 'ingest.auth.users[1].name' must be unique: 'a' is already used");
}

/* ---- secrets -------------------------------------------------------------------------- */

struct tmp {
    char dir[64];
    char path[8][128];
    int n;
};

static const char *tmp_file(struct tmp *t, const char *name, const char *content)
{
    char *p = t->path[t->n++], buf[sizeof(t->path[0])];
    /* via buf: gcc -O2 cannot tell t->dir and t->path apart (-Wrestrict) */
    snprintf(buf, sizeof(buf), "%s/%s", t->dir, name);
    memcpy(p, buf, sizeof(buf));
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    return p;
}

static void tmp_init(struct tmp *t)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/test_config.XXXXXX");
    assert_non_null(mkdtemp(t->dir));
}

static void tmp_cleanup(struct tmp *t)
{
    for (int i = 0; i < t->n; i++)
        unlink(t->path[i]);
    rmdir(t->dir);
}

static void test_secrets_from_files(void **state)
{
    struct tmp t;
    char yaml[2048];
    tmp_init(&t);
    const char *token = tmp_file(&t, "token", "s3cr3t-token\n");
    const char *pass = tmp_file(&t, "pass", "hunter2\r\n");
    const char *ingest = tmp_file(&t, "ingest", "ingest-token");
    const char *kafka = tmp_file(&t, "kafka", "kafka-pass\n\n");
    snprintf(yaml, sizeof(yaml),
             BASE "  properties:\n"
                  "    security.protocol: SASL_SSL\n"
                  "    sasl.password_file: %s\n"
                  "ingest:\n"
                  "  auth:\n"
                  "    enabled: true\n"
                  "    users:\n"
                  "      - name: telegraf\n"
                  "        password_file: %s\n"
                  "    token_files: [%s]\n"
                  "clusters:\n"
                  "  - name: v2\n"
                  "    type: influxdb2\n"
                  "    urls: [https://influx.example:8086]\n"
                  "    org: ops\n"
                  "    bucket: metrics\n"
                  "    token_file: %s\n"
                  "  - name: cnos\n"
                  "    type: cnosdb\n"
                  "    urls: [http://127.0.0.1:8902]\n"
                  "    username: root\n"
                  "    password_file: %s\n",
             kafka, pass, ingest, token, pass);
    struct tsr_config *cf = load_ok(yaml);
    assert_int_equal(cf->nkafka_properties, 2);
    assert_string_equal(cf->kafka_properties[0].key, "security.protocol");
    assert_string_equal(cf->kafka_properties[0].value, "SASL_SSL");
    assert_string_equal(cf->kafka_properties[1].key, "sasl.password");
    assert_string_equal(cf->kafka_properties[1].value, "kafka-pass");
    assert_int_equal(cf->ingest_auth_enabled, 1);
    assert_int_equal(cf->ningest_users, 1);
    assert_string_equal(cf->ingest_users[0].name, "telegraf");
    assert_string_equal(cf->ingest_users[0].password, "hunter2");
    assert_int_equal(cf->ningest_tokens, 1);
    assert_string_equal(cf->ingest_tokens[0], "ingest-token");
    assert_string_equal(cf->clusters[0].token, "s3cr3t-token");
    assert_string_equal(cf->clusters[0].org, "ops");
    assert_string_equal(cf->clusters[1].username, "root");
    assert_string_equal(cf->clusters[1].password, "hunter2");
    tsr_config_free(&cf);

    /* an empty file is an error, not an empty password */
    const char *empty = tmp_file(&t, "empty", "\n");
    snprintf(yaml, sizeof(yaml), BASE "ingest:\n  auth:\n    token_files: [%s]\n", empty);
    char want[512];
    snprintf(want, sizeof(want), "t.yaml:7:19: '%s' for 'ingest.auth.token_files[0]' is empty",
             empty);
    load_err(yaml, want);

    snprintf(yaml, sizeof(yaml),
             BASE "clusters:\n  - name: a\n    type: influxdb2\n    urls: [http://x]\n"
                  "    token_file: %s/missing\n",
             t.dir);
    snprintf(want, sizeof(want),
             "t.yaml:9:17: cannot read '%s/missing' for 'clusters[0].token_file': No such file "
             "or directory",
             t.dir);
    load_err(yaml, want);
    tmp_cleanup(&t);
}

static void test_secrets_from_env(void **state)
{
    setenv("TSR_TEST_TOKEN", "env-token", 1);
    setenv("TSR_TEST_PASS", "env-pass", 1);
    setenv("TSR_TEST_EMPTY", "", 1);
    unsetenv("TSR_TEST_UNSET");
    struct tsr_config *cf = load_ok(BASE "  properties:\n"
                                         "    ssl.key.password_env: TSR_TEST_PASS\n"
                                         "ingest:\n"
                                         "  auth:\n"
                                         "    enabled: yes\n"
                                         "    users:\n"
                                         "      - name: app\n"
                                         "        password_env: TSR_TEST_PASS\n"
                                         "    token_envs: [TSR_TEST_TOKEN, TSR_TEST_PASS]\n"
                                         "clusters:\n"
                                         "  - name: v2\n"
                                         "    type: influxdb2\n"
                                         "    urls: [http://x]\n"
                                         "    token_env: TSR_TEST_TOKEN\n");
    assert_string_equal(cf->kafka_properties[0].key, "ssl.key.password");
    assert_string_equal(cf->kafka_properties[0].value, "env-pass");
    assert_string_equal(cf->ingest_users[0].password, "env-pass");
    assert_int_equal(cf->ningest_tokens, 2);
    assert_string_equal(cf->ingest_tokens[0], "env-token");
    assert_string_equal(cf->ingest_tokens[1], "env-pass");
    assert_string_equal(cf->clusters[0].token, "env-token");
    tsr_config_free(&cf);

    load_err(BASE "clusters:\n  - {name: a, type: influxdb2, urls: [http://x], "
                  "token_env: TSR_TEST_UNSET}\n",
             "t.yaml:6:61: environment variable 'TSR_TEST_UNSET' for 'clusters[0].token_env' is "
             "not set");
    load_err(BASE "ingest:\n  auth:\n    token_envs: [TSR_TEST_EMPTY]\n",
             "t.yaml:7:18: environment variable 'TSR_TEST_EMPTY' for "
             "'ingest.auth.token_envs[0]' is empty");
}

static void test_inline_secrets_rejected(void **state)
{
    load_err(BASE "clusters:\n  - name: a\n    type: influxdb2\n    urls: [http://x]\n"
                  "    token: abc\n",
             "t.yaml:9:5: inline secret 'clusters[0].token' not allowed: use "
             "'clusters[0].token_file' or 'clusters[0].token_env'");
    load_err(BASE "clusters:\n  - name: a\n    type: cnosdb\n    urls: [http://x]\n"
                  "    username: root\n    password: abc\n",
             "t.yaml:10:5: inline secret 'clusters[0].password' not allowed: use "
             "'clusters[0].password_file' or 'clusters[0].password_env'");
    load_err(BASE "ingest:\n  auth:\n    users:\n      - name: a\n        password: abc\n",
             "t.yaml:9:9: inline secret 'ingest.auth.users[0].password' not allowed: use "
             "'ingest.auth.users[0].password_file' or 'ingest.auth.users[0].password_env'");
    load_err(BASE "ingest:\n  auth:\n    tokens: [abc]\n",
             "t.yaml:7:5: inline secret 'ingest.auth.tokens' not allowed: use "
             "'ingest.auth.token_files' or 'ingest.auth.token_envs'");
    load_err(BASE "  properties:\n    sasl.password: abc\n",
             "t.yaml:6:5: inline secret 'kafka.properties.sasl.password' not allowed: use "
             "'kafka.properties.sasl.password_file' or 'kafka.properties.sasl.password_env'");
    /* one field, two sources: ambiguous */
    load_err(BASE "clusters:\n  - name: a\n    type: influxdb2\n    urls: [http://x]\n"
                  "    token_env: HOME\n    token_file: /etc/hostname\n",
             "t.yaml:10:5: 'clusters[0].token_file' cannot be used together with "
             "'clusters[0].token_env'");
    load_err(BASE "clusters:\n  - name: a\n    type: influxdb\n    urls: [http://x]\n"
                  "    password_env: HOME\n",
             "t.yaml:9:5: 'clusters[0].password_env' needs 'clusters[0].username'");
}

/* ---- value syntax ---------------------------------------------------------------------- */

static void test_sizes(void **state)
{
    static const struct {
        const char *text;
        int64_t bytes;
    } ok[] = {
        {"1048576", 1048576},   {"64MiB", 64 << 20},   {"64MB", 64000000},
        {"64 MiB", 64 << 20},   {"64mib", 64 << 20},   {"65536k", 65536000},
        {"65536KiB", 64 << 20}, {"64Mi", 64 << 20},    {"2GiB", INT64_C(2) << 30},
        {"2G", 2000000000},     {"1048576B", 1048576},
    };
    static const char *const bad[] = {"64XB", "1.5MiB", "MiB", "-1", "64 MiB extra", "0x100"};
    char yaml[512], want[512];
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(yaml, sizeof(yaml), BASE "  queue_max_bytes: %s\n", ok[i].text);
        struct tsr_config *cf = load_ok(yaml);
        if (cf->kafka_queue_max_bytes != ok[i].bytes)
            fail_msg("'%s' gave %lld, want %lld", ok[i].text, (long long)cf->kafka_queue_max_bytes,
                     (long long)ok[i].bytes);
        tsr_config_free(&cf);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(yaml, sizeof(yaml), BASE "  queue_max_bytes: %s\n", bad[i]);
        snprintf(want, sizeof(want),
                 "t.yaml:5:20: 'kafka.queue_max_bytes' must be a size such as 65536, 64KiB or "
                 "64MB");
        load_err(yaml, want);
    }
}

static void test_durations(void **state)
{
    static const struct {
        const char *text;
        int64_t ms;
    } ok[] = {
        {"250", 250},     {"500ms", 500},  {"30s", 30000},    {"2m", 120000},
        {"1m30s", 90000}, {"1h", 3600000}, {"1s500ms", 1500}, {"\"45s\"", 45000},
    };
    static const char *const bad[] = {"5x", "s", "1.5s", "-5", "30 s", "1w"};
    char yaml[512];
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(yaml, sizeof(yaml), BASE "ingest:\n  read_timeout_ms: %s\n", ok[i].text);
        struct tsr_config *cf = load_ok(yaml);
        if (cf->ingest_read_timeout_ms != ok[i].ms)
            fail_msg("'%s' gave %lld, want %lld", ok[i].text, (long long)cf->ingest_read_timeout_ms,
                     (long long)ok[i].ms);
        tsr_config_free(&cf);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(yaml, sizeof(yaml), BASE "ingest:\n  read_timeout_ms: %s\n", bad[i]);
        load_err(yaml, "t.yaml:6:20: 'ingest.read_timeout_ms' must be a duration such as "
                       "500ms, 30s, 2m or 7d");
    }
    load_err(BASE "ingest:\n  read_timeout_ms: 2h\n",
             "t.yaml:6:20: 'ingest.read_timeout_ms' must be between 100 and 3600000");
    /* Days, for retention. */
    struct tsr_config *cf = load_ok(BASE "  retention: 2d\n  min_retention: 1d12h\n");
    assert_int_equal(cf->kafka_retention_ms, 2 * 86400000LL);
    assert_int_equal(cf->kafka_min_retention_ms, 36 * 3600000LL);
    tsr_config_free(&cf);
    load_err(BASE "  replication_factor: 2\n  min_insync_replicas: 3\n",
             "t.yaml:6:24: 'kafka.min_insync_replicas' must not exceed 'kafka.replication_factor' "
             "(no write could be acknowledged)");
}

static void test_bools(void **state)
{
    static const struct {
        const char *text;
        int v;
    } cases[] = {{"true", 1},  {"True", 1},  {"yes", 1}, {"on", 1},
                 {"false", 0}, {"FALSE", 0}, {"no", 0},  {"off", 0}};
    char yaml[512];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(yaml, sizeof(yaml),
                 BASE "ingest:\n  auth:\n    enabled: %s\n"
                      "    token_envs: [HOME]\n",
                 cases[i].text);
        struct tsr_config *cf = load_ok(yaml);
        assert_int_equal(cf->ingest_auth_enabled, cases[i].v);
        tsr_config_free(&cf);
    }
}

static void test_addresses(void **state)
{
    static const char *const ok[] = {"127.0.0.1:8086", ":8086", "[::1]:8086", "[::]:1",
                                     "relay.example:65535"};
    char yaml[512];
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(yaml, sizeof(yaml), BASE "listen:\n  http: \"%s\"\n", ok[i]);
        struct tsr_config *cf = load_ok(yaml);
        assert_string_equal(cf->listen_http, ok[i]);
        tsr_config_free(&cf);
    }
}

/* ---- files and the reference ----------------------------------------------------------- */

static void test_load_file_errors(void **state)
{
    char err[512];
    struct tsr_config *cf = (struct tsr_config *)1;
    assert_int_equal(tsr_config_load("/nonexistent/tsrelay.yaml", &cf, err, sizeof(err)), -1);
    assert_null(cf);
    assert_string_equal(
        err, "cannot open config '/nonexistent/tsrelay.yaml': No such file or directory");

    struct tmp t;
    tmp_init(&t);
    const char *path = tmp_file(&t, "tsrelay.yaml", BASE "listen:\n  htp: x\n");
    assert_int_equal(tsr_config_load(path, &cf, err, sizeof(err)), -1);
    char want[512];
    snprintf(want, sizeof(want), "%s:6:3: unknown key 'listen.htp'", path);
    assert_string_equal(err, want);
    tmp_cleanup(&t);

    /* a short err buffer truncates, it does not overflow */
    char small[16];
    assert_int_equal(tsr_config_load_string("x: 1\n", 5, "t.yaml", &cf, small, sizeof(small)), -1);
    assert_string_equal(small, "t.yaml:1:1: unk");
}

static void test_reference_is_config_md(void **state)
{
    char path[512], *ref = NULL;
    size_t reflen = 0;
    FILE *out = open_memstream(&ref, &reflen);
    assert_non_null(out);
    tsr_config_write_reference(out);
    fclose(out);

    /* every key is in it */
    for (const struct tsr_config_key *k = tsr_config_keys; k->name; k++) {
        char needle[160];
        snprintf(needle, sizeof(needle), "| `%s` |", k->name);
        if (!strstr(ref, needle)) fail_msg("reference lacks %s", needle);
    }

    FILE *f = fopen(src_path("config/CONFIG.md", path, sizeof(path)), "r");
    if (!f) fail_msg("cannot open %s", path);
    char *md = malloc(reflen + 2);
    size_t mdlen = fread(md, 1, reflen + 1, f);
    fclose(f);
    if (mdlen != reflen || memcmp(md, ref, reflen) != 0)
        fail_msg("config/CONFIG.md is stale: regenerate it with `make config-reference`");
    free(md);
    free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_loads),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_schema_defaults_in_bounds),
        cmocka_unit_test(test_empty_sections),
        cmocka_unit_test(test_instance),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_duplicate_cluster_names),
        cmocka_unit_test(test_secrets_from_files),
        cmocka_unit_test(test_secrets_from_env),
        cmocka_unit_test(test_inline_secrets_rejected),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_bools),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_load_file_errors),
        cmocka_unit_test(test_reference_is_config_md),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

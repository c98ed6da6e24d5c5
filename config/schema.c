/* config/schema.c — every configuration key, once: name, type, default, bounds, where
 * it lands in struct tsr_config, and its line in the reference. The loader
 * (config/config.c) and the reference below are both driven by these tables, so adding
 * a key is one row here plus the field in config.h. */
#include "config/config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define CF(field)  offsetof(struct tsr_config, field)
#define CL(field)  offsetof(struct tsr_cluster_conf, field)
#define USR(field) offsetof(struct tsr_user, field)
#define ATK(field) offsetof(struct tsr_admin_token, field)
#define RL(field)  offsetof(struct tsr_rule_conf, field)
#define UDP(field) offsetof(struct tsr_udp_conf, field)
#define KIN(field) offsetof(struct tsr_kafka_input_conf, field)

#define KiB (INT64_C(1) << 10)
#define MiB (INT64_C(1) << 20)
#define GiB (INT64_C(1) << 30)

/* ---- value checks: 0, or -1 with a reason that reads after the quoted key ---------- */

static int why_is(char *why, size_t whylen, const char *reason)
{
    snprintf(why, whylen, "%s", reason);
    return -1;
}

/* Datacenter and cluster names end up in URLs (/clusters/NAME/ready), metric labels and
 * checkpoint keys, so they keep to a character set that needs no escaping anywhere. */
static int check_name(const char *s, char *why, size_t whylen)
{
    size_t n = strlen(s);
    int ok = n >= 1 && n <= 64;
    for (const char *p = s; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.';
    return ok ? 0 : why_is(why, whylen, "must be 1 to 64 letters, digits, '-', '_' or '.'");
}

/* A cluster's consumer group is tsrelay-<datacenter>-<name>; the relay's own groups are
 * tsrelay-<datacenter>-fleet, tsrelay-<datacenter>-fleet-* and the inputs'
 * tsrelay-<datacenter>-input-*, so such a name would share one of them. */
static int check_cluster_name(const char *s, char *why, size_t whylen)
{
    if (check_name(s, why, whylen)) return -1;
    if (strcmp(s, "fleet") == 0 || strncmp(s, "fleet-", 6) == 0 || strncmp(s, "input-", 6) == 0)
        return why_is(why, whylen,
                      "must not be 'fleet' or start with 'fleet-' or 'input-' "
                      "(the relay's own consumer groups)");
    return 0;
}

static int check_nonempty(const char *s, char *why, size_t whylen)
{
    return *s ? 0 : why_is(why, whylen, "must not be empty");
}

static int check_tls_listener(const char *s, char *why, size_t whylen)
{
    if (strcmp(s, "http") == 0 || strcmp(s, "graphite") == 0 || strcmp(s, "admin") == 0) return 0;
    return why_is(why, whylen, "must be http, graphite or admin");
}

/* The forms relay/core/addr.h accepts: "host:port", "[v6]:port" and ":port". */
static int check_addr(const char *s, char *why, size_t whylen)
{
    const char *colon = strrchr(s, ':');
    int ok = colon != NULL && colon[1] != '\0' && strlen(colon + 1) <= 5;
    long port = 0;
    for (const char *p = colon ? colon + 1 : ""; ok && *p; p++) {
        ok = isdigit((unsigned char)*p);
        port = port * 10 + (*p - '0');
    }
    ok = ok && port >= 1 && port <= 65535;
    if (ok && s[0] == '[') {
        ok = colon - s >= 3 && colon[-1] == ']';
    } else if (ok) {
        /* An unbracketed host may not hold a ':' (that would be a bare IPv6 address). */
        for (const char *p = s; ok && p < colon; p++)
            ok = *p != ':' && !isspace((unsigned char)*p);
    }
    return ok ? 0 : why_is(why, whylen, "must be host:port, [ipv6]:port or :port");
}

static int check_addr_or_off(const char *s, char *why, size_t whylen)
{
    return *s ? check_addr(s, why, whylen) : 0;
}

/* librdkafka parses the list itself (and knows about default ports and protocol
 * prefixes); this only catches the empty and the obviously garbled. */
static int check_brokers(const char *s, char *why, size_t whylen)
{
    int ok = 1;
    const char *p = s;
    do {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, ",");
        size_t len = n;
        while (len > 0 && p[len - 1] == ' ')
            len--;
        ok = len > 0;
        for (size_t i = 0; ok && i < len; i++)
            ok = !isspace((unsigned char)p[i]);
        p += n;
    } while (ok && *p++ == ',');
    return ok ? 0 : why_is(why, whylen, "must be a comma-separated list of host:port");
}

/* Kafka's own rule for topic names. */
static int check_topic(const char *s, char *why, size_t whylen)
{
    size_t n = strlen(s);
    int ok = n >= 1 && n <= 249 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
    for (const char *p = s; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.';
    return ok ? 0
              : why_is(why, whylen,
                       "must be a kafka topic name: 1 to 249 letters, digits, '-', '_' or '.'");
}

static int check_url(const char *s, char *why, size_t whylen)
{
    size_t scheme = strncasecmp(s, "http://", 7) == 0    ? 7
                    : strncasecmp(s, "https://", 8) == 0 ? 8
                                                         : 0;
    if (strncasecmp(s, "tcp://", 6) == 0) scheme = 6; /* graphite's; checked with the type */
    int ok = scheme > 0 && s[scheme] != '\0' && s[scheme] != '/';
    for (const char *p = s; ok && *p; p++)
        ok = !isspace((unsigned char)*p);
    return ok ? 0 : why_is(why, whylen, "must be an http://, https:// or tcp:// url");
}

/* Clients send "user:pass" (Basic, and "Token user:pass"), split at the first ':'. */
static int check_user(const char *s, char *why, size_t whylen)
{
    int ok = *s != '\0';
    for (const char *p = s; ok && *p; p++)
        ok = *p != ':' && !iscntrl((unsigned char)*p);
    return ok ? 0 : why_is(why, whylen, "must be a non-empty name without ':'");
}

/* kafka.properties may tune librdkafka freely, except where a key of ours already says
 * it (two places for one setting invite the wrong one winning) or where the delivery
 * guarantee depends on it (a 2xx means acks=all with an idempotent producer). */
static int check_kafka_property(const char *s, char *why, size_t whylen)
{
    static const struct {
        const char *name, *owner;
    } owned[] = {
        {"bootstrap.servers", "kafka.brokers"},
        {"metadata.broker.list", "kafka.brokers"},
        {"compression.codec", "kafka.compression"},
        {"compression.type", "kafka.compression"},
        {"linger.ms", "kafka.linger_ms"},
        {"queue.buffering.max.ms", "kafka.linger_ms"},
        {"queue.buffering.max.kbytes", "kafka.queue_max_bytes"},
        {"message.timeout.ms", "kafka.message_timeout_ms"},
        {"delivery.timeout.ms", "kafka.message_timeout_ms"},
    };
    static const char *const fixed[] = {"acks", "request.required.acks", "enable.idempotence"};

    if (*s == '\0') return why_is(why, whylen, "must not be empty");
    for (const char *p = s; *p; p++)
        if (isspace((unsigned char)*p)) return why_is(why, whylen, "must not contain spaces");
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
        if (strcmp(s, owned[i].name) == 0) {
            snprintf(why, whylen, "is set through '%s'", owned[i].owner);
            return -1;
        }
    }
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (strcmp(s, fixed[i]) == 0)
            return why_is(why, whylen,
                          "cannot be changed: durable writes need acks=all and idempotence");
    return 0;
}

/* An input's consumer commits its own offsets, once the points are durable, in a
 * group and from a start of its own keys. */
static int check_input_property(const char *s, char *why, size_t whylen)
{
    static const struct {
        const char *name, *owner;
    } owned[] = {
        {"bootstrap.servers", "brokers"},      {"metadata.broker.list", "brokers"},
        {"group.id", "group"},                 {"auto.offset.reset", "offset"},
        {"enable.auto.commit", NULL},          {"enable.auto.offset.store", NULL},
    };
    if (*s == '\0') return why_is(why, whylen, "must not be empty");
    for (const char *p = s; *p; p++)
        if (isspace((unsigned char)*p)) return why_is(why, whylen, "must not contain spaces");
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
        if (strcmp(s, owned[i].name) != 0) continue;
        if (!owned[i].owner)
            return why_is(why, whylen,
                          "cannot be changed: offsets are committed once the points are durable");
        snprintf(why, whylen, "is set through the input's '%s'", owned[i].owner);
        return -1;
    }
    return 0;
}

/* ---- the tables ----------------------------------------------------------------------
 * Order matters twice: missing required keys are reported in this order, and the
 * reference lists sections in the order their first key appears. */

/* clang-format off: a row per key reads better than a line per field */
const struct tsr_config_key tsr_config_user_keys[] = {
    {.name = "name",
     .type = TSR_CT_STRING,
     .flags = TSR_CK_REQUIRED,
     .check = check_user,
     .off = USR(name),
     .doc = "User name, as sent in `u=`, Basic auth or `Token user:pass`"},
    {.name = "password_file",
     .type = TSR_CT_SECRET_FILE,
     .flags = TSR_CK_REQUIRED,
     .off = USR(password),
     .doc = "File holding the password (this or `password_env`)"},
    {.name = "password_env",
     .type = TSR_CT_SECRET_ENV,
     .off = USR(password),
     .doc = "Environment variable holding the password"},
    {.name = NULL},
};

const struct tsr_config_key tsr_config_admin_token_keys[] = {
    {.name = "name",
     .type = TSR_CT_STRING,
     .flags = TSR_CK_REQUIRED,
     .check = check_name,
     .off = ATK(name),
     .doc = "Who holds the token; recorded as `started_by` of the replays it starts"},
    {.name = "role",
     .type = TSR_CT_STRING,
     .def = "read",
     .choices = "read|operate",
     .off = ATK(role),
     .doc = "`read`: status, metrics, ledger, replay list; `operate`: also starting, pausing, "
            "resuming and cancelling replays"},
    {.name = "token_file",
     .type = TSR_CT_SECRET_FILE,
     .flags = TSR_CK_REQUIRED,
     .off = ATK(token),
     .doc = "File holding the token (this or `token_env`), sent as `Authorization: Bearer TOKEN`"},
    {.name = "token_env",
     .type = TSR_CT_SECRET_ENV,
     .off = ATK(token),
     .doc = "Environment variable holding the token"},
    {.name = NULL},
};

/* A rule: rules[] at ingest, clusters[].rules[] at delivery (relay/shape/rules.h). */
const struct tsr_config_key tsr_config_rule_keys[] = {
    {.name = "name",
     .type = TSR_CT_STRING,
     .def = "",
     .off = RL(name),
     .doc = "Names the rule in `--test-input` and in errors; empty: `rules[N]`"},
    {.name = "match.database",
     .type = TSR_CT_STRING,
     .def = "",
     .type_doc = "pattern",
     .off = RL(match_database),
     .doc = "The point's database: `name` exactly, `prefix*`, or `/regex/` (PCRE2); empty: "
            "any"},
    {.name = "match.measurement",
     .type = TSR_CT_STRING,
     .def = "",
     .type_doc = "pattern",
     .off = RL(match_measurement),
     .doc = "The measurement (unescaped, as InfluxDB names it); empty: any"},
    {.name = "match.tags",
     .type = TSR_CT_MAP,
     .flags = TSR_CK_PLAIN,
     .type_doc = "map of tag key to pattern",
     .off = RL(match_tags),
     .count_off = RL(nmatch_tags),
     .doc = "Every tag key named must be present with a value matching its pattern (`*`: "
            "any value)"},
    {.name = "match.field",
     .type = TSR_CT_STRING,
     .def = "",
     .type_doc = "pattern",
     .off = RL(match_field),
     .doc = "Some field key of the point matches; empty: any"},
    {.name = "action",
     .type = TSR_CT_STRING,
     .flags = TSR_CK_REQUIRED,
     .choices = "drop|keep|rename_measurement|add_tags|rename_tags|drop_tags|drop_fields",
     .off = RL(action),
     .doc = "What is done to a matching point: `drop` it; `keep` (drop every point that does "
            "not match); `rename_measurement` to `to`; `add_tags` (`tags`: key to value, "
            "replacing a value already there); `rename_tags` (`tags`: old key to new); "
            "`drop_tags` and `drop_fields` whose keys match one of `names` (a point left "
            "without a field is dropped)"},
    {.name = "to",
     .type = TSR_CT_STRING,
     .def = "",
     .off = RL(to),
     .doc = "rename_measurement: the new name"},
    {.name = "tags",
     .type = TSR_CT_MAP,
     .flags = TSR_CK_PLAIN,
     .type_doc = "map of strings",
     .off = RL(tags),
     .count_off = RL(ntags),
     .doc = "add_tags: key to value; rename_tags: old key to new key"},
    {.name = "names",
     .type = TSR_CT_LIST,
     .min = 0,
     .max = 1000,
     .type_doc = "list of patterns",
     .off = RL(names),
     .count_off = RL(nnames),
     .doc = "drop_tags, drop_fields: the keys to drop, as patterns"},
    {.name = NULL},
};

/* A Kafka topic consumed as an input (relay/ingest/kafka_input.h). */
const struct tsr_config_key tsr_config_kafka_input_keys[] = {
    {.name = "topic",
     .type = TSR_CT_STRING,
     .flags = TSR_CK_REQUIRED,
     .check = check_topic,
     .off = KIN(topic),
     .doc = "The topic to consume"},
    {.name = "brokers",
     .type = TSR_CT_STRING,
     .def = "",
     .def_doc = "kafka.brokers",
     .off = KIN(brokers),
     .doc = "Its Kafka, comma-separated host:port; empty: this datacenter's (kafka.brokers, "
            "with kafka.properties)"},
    {.name = "properties",
     .type = TSR_CT_MAP,
     .check = check_input_property,
     .off = KIN(properties),
     .count_off = KIN(nproperties),
     .doc = "librdkafka properties of its consumer (TLS, SASL), over kafka.properties when "
            "brokers is empty; secrets as `NAME_file` or `NAME_env`"},
    {.name = "group",
     .type = TSR_CT_STRING,
     .def = "",
     .def_doc = "tsrelay-DATACENTER-input-TOPIC",
     .off = KIN(group),
     .doc = "The consumer group: the relays of a fleet share the topic's partitions in it"},
    {.name = "offset",
     .type = TSR_CT_STRING,
     .def = "oldest",
     .choices = "oldest|newest",
     .off = KIN(offset),
     .doc = "Where a group that has committed nothing starts"},
    {.name = "format",
     .type = TSR_CT_STRING,
     .flags = TSR_CK_REQUIRED,
     .choices = "influx|graphite|json",
     .off = KIN(format),
     .doc = "What a message holds: line protocol, Graphite plaintext lines, or JSON"},
    {.name = "database",
     .type = TSR_CT_STRING,
     .flags = TSR_CK_REQUIRED,
     .check = check_nonempty,
     .off = KIN(database),
     .doc = "The database of every point taken from the topic"},
    {.name = "retention_policy",
     .type = TSR_CT_STRING,
     .def = "",
     .off = KIN(retention_policy),
     .doc = "Their retention policy; empty: the database's default"},
    {.name = "precision",
     .type = TSR_CT_STRING,
     .def = "ns",
     .choices = "ns|us|ms|s|m|h",
     .off = KIN(precision),
     .doc = "influx: the unit of timestamps in the lines"},
    {.name = "graphite.templates",
     .type = TSR_CT_LIST,
     .min = 0,
     .max = 10000,
     .off = KIN(graphite_templates),
     .count_off = KIN(ngraphite_templates),
     .doc = "graphite: templates as graphite.templates (graphite.separator joins parts)"},
    {.name = "json.measurement",
     .type = TSR_CT_STRING,
     .def = "kafka_consumer",
     .off = KIN(json_measurement),
     .doc = "json: the measurement of every point, unless json.name_key names one"},
    {.name = "json.name_key",
     .type = TSR_CT_STRING,
     .def = "",
     .off = KIN(json_name_key),
     .doc = "json: the key whose string value is the measurement; empty: none"},
    {.name = "json.tag_keys",
     .type = TSR_CT_LIST,
     .min = 0,
     .max = 1000,
     .off = KIN(json_tag_keys),
     .count_off = KIN(njson_tag_keys),
     .doc = "json: keys (nested ones joined with `_`; exact or globs such as `st_*`) whose "
            "values are tags"},
    {.name = "json.string_fields",
     .type = TSR_CT_LIST,
     .min = 0,
     .max = 1000,
     .off = KIN(json_string_fields),
     .count_off = KIN(njson_string_fields),
     .doc = "json: keys (exact or globs) whose string or boolean values are fields; other "
            "strings and booleans are left out, as Telegraf leaves them out"},
    {.name = "json.time_key",
     .type = TSR_CT_STRING,
     .def = "",
     .off = KIN(json_time_key),
     .doc = "json: the key holding the time; empty: the record's Kafka timestamp"},
    {.name = "json.time_format",
     .type = TSR_CT_STRING,
     .def = "unix",
     .off = KIN(json_time_format),
     .doc = "json: unix, unix_ms, unix_us, unix_ns, rfc3339 (or another of Telegraf's "
            "names for Go's layouts), or a Go layout (`2006-01-02 15:04:05`, UTC unless it "
            "has a zone)"},
    {.name = NULL},
};

/* A line-protocol UDP listener (relay/ingest/udp.h). */
const struct tsr_config_key tsr_config_udp_keys[] = {
    {.name = "listen",
     .type = TSR_CT_STRING,
     .flags = TSR_CK_REQUIRED,
     .check = check_addr,
     .type_doc = "address",
     .off = UDP(listen),
     .doc = "Where to receive datagrams of InfluxDB line protocol, one or more lines each"},
    {.name = "database",
     .type = TSR_CT_STRING,
     .def = "udp",
     .check = check_nonempty,
     .off = UDP(database),
     .doc = "The database of every point received"},
    {.name = "retention_policy",
     .type = TSR_CT_STRING,
     .def = "",
     .off = UDP(retention_policy),
     .doc = "Their retention policy; empty: the database's default"},
    {.name = "precision",
     .type = TSR_CT_STRING,
     .def = "ns",
     .choices = "ns|us|ms|s|m|h",
     .off = UDP(precision),
     .doc = "The unit of the timestamps in the lines"},
    {.name = "read_buffer",
     .type = TSR_CT_SIZE,
     .def = "8MiB",
     .min = 64 * KiB,
     .max = GiB,
     .off = UDP(read_buffer),
     .doc = "The socket's receive buffer (SO_RCVBUF; the kernel caps it at "
            "net.core.rmem_max): what rides out a pause while Kafka is slow"},
    {.name = NULL},
};

const struct tsr_config_key tsr_config_cluster_keys[] = {
    {.name = "name",
     .type = TSR_CT_STRING,
     .flags = TSR_CK_REQUIRED,
     .check = check_cluster_name,
     .off = CL(name),
     .doc = "Unique name, used in status, metrics, checkpoints, its Kafka consumer group "
            "(`tsrelay-<datacenter>-<name>`) and `tsrelayctl --cluster`; not `fleet` or "
            "`fleet-*`, the relay's own groups"},
    {.name = "type",
     .type = TSR_CT_STRING,
     .flags = TSR_CK_REQUIRED,
     .choices = "influxdb|influxdb2|victoriametrics|cnosdb|prometheus|graphite",
     .off = CL(type),
     .doc = "Write protocol the cluster speaks"},
    {.name = "urls",
     .type = TSR_CT_LIST,
     .flags = TSR_CK_REQUIRED,
     .min = 1,
     .max = 64,
     .check = check_url,
     .type_doc = "list of URLs, 1 to 64",
     .off = CL(urls),
     .count_off = CL(nurls),
     .doc = "Base URLs of the cluster's nodes: http:// or https://; `tcp://HOST:PORT` (carbon's "
            "plaintext port, 2003) for graphite"},
    {.name = "database",
     .type = TSR_CT_STRING,
     .def = "",
     .off = CL(database),
     .doc = "Database to write to; empty keeps the database each point was written to"},
    {.name = "retention_policy",
     .type = TSR_CT_STRING,
     .def = "",
     .off = CL(retention_policy),
     .doc = "Retention policy to write to; empty keeps the one each point was written with"},
    {.name = "org",
     .type = TSR_CT_STRING,
     .def = "",
     .off = CL(org),
     .doc = "Organization (influxdb2)"},
    {.name = "bucket",
     .type = TSR_CT_STRING,
     .def = "",
     .off = CL(bucket),
     .doc = "Bucket (influxdb2); empty keeps the database each point was written to"},
    {.name = "template",
     .type = TSR_CT_STRING,
     .def = "host.tags.measurement.field",
     .off = CL(graphite_template),
     .doc = "Path of each field's value (graphite), Telegraf's way: `.`-separated words, "
            "each `measurement`, `field` (left out for a field named `value`), `tags` (the "
            "values of the tags not named, in key order), `db`, or a tag key (its value)"},
    {.name = "token_file",
     .type = TSR_CT_SECRET_FILE,
     .off = CL(token),
     .doc = "File holding the API token (influxdb2)"},
    {.name = "token_env",
     .type = TSR_CT_SECRET_ENV,
     .off = CL(token),
     .doc = "Environment variable holding the API token (influxdb2)"},
    {.name = "username",
     .type = TSR_CT_STRING,
     .def = "",
     .off = CL(username),
     .doc = "User for HTTP basic auth (influxdb, cnosdb)"},
    {.name = "password_file",
     .type = TSR_CT_SECRET_FILE,
     .off = CL(password),
     .doc = "File holding the basic-auth password; needs `username`"},
    {.name = "password_env",
     .type = TSR_CT_SECRET_ENV,
     .off = CL(password),
     .doc = "Environment variable holding the basic-auth password; needs `username`"},
    {.name = "compression",
     .type = TSR_CT_STRING,
     .def = "gzip",
     .choices = "gzip|none",
     .off = CL(compression),
     .doc = "Compression of write request bodies"},
    {.name = "timeout_ms",
     .type = TSR_CT_DURATION,
     .def = "10s",
     .min = 100,
     .max = 600000,
     .off = CL(timeout_ms),
     .doc = "Timeout of one write request"},
    {.name = "batch_lines",
     .type = TSR_CT_INT,
     .def = "5000",
     .min = 1,
     .max = 1000000,
     .off = CL(batch_lines),
     .doc = "Most lines in one write request"},
    {.name = "batch_bytes",
     .type = TSR_CT_SIZE,
     .def = "1MiB",
     .min = KiB,
     .max = 256 * MiB,
     .off = CL(batch_bytes),
     .doc = "Largest write request body, before compression"},
    {.name = "replay_batch_lines",
     .type = TSR_CT_INT,
     .def = "10000",
     .min = 1,
     .max = 1000000,
     .off = CL(replay_batch_lines),
     .doc = "Most lines in one write request of a replay. Bigger is not cheaper: "
            "VictoriaMetrics spent 10-15 % more CPU per point on 20,000-line requests "
            "than on 5,000 or 10,000"},
    {.name = "replay_batch_bytes",
     .type = TSR_CT_SIZE,
     .def = "4MiB",
     .min = KiB,
     .max = 256 * MiB,
     .off = CL(replay_batch_bytes),
     .doc = "Largest write request body of a replay, before compression; keep it under the "
            "cluster's own limit (InfluxDB max-body-size 25 MB, VictoriaMetrics "
            "-maxInsertRequestSize 32 MB)"},
    {.name = "max_inflight",
     .type = TSR_CT_INT,
     .def = "4",
     .min = 1,
     .max = 64,
     .off = CL(max_inflight),
     .doc = "Write requests in flight at once; each partition always uses the same one, so "
            "a series stays in order"},
    {.name = "catchup_rate",
     .type = TSR_CT_INT,
     .def = "0",
     .min = 0,
     .max = 100000000,
     .off = CL(catchup_rate),
     .doc = "Most points per second sent to the cluster (protects a recovering cluster); 0 = "
            "no limit"},
    {.name = "probe_interval_ms",
     .type = TSR_CT_DURATION,
     .def = "1s",
     .min = 100,
     .max = 60000,
     .off = CL(probe_interval_ms),
     .doc = "How often each URL's health endpoint is probed (a URL that is down: every "
            "200 ms, or this if shorter)"},
    {.name = "lag_threshold_ms",
     .type = TSR_CT_DURATION,
     .def = "2s",
     .min = 100,
     .max = 86400000,
     .off = CL(lag_threshold_ms),
     .doc = "Lag above which a reachable cluster is catching_up rather than in_sync"},
    {.name = "retry_max_ms",
     .type = TSR_CT_DURATION,
     .def = "10s",
     .min = 100,
     .max = 600000,
     .off = CL(retry_max_ms),
     .doc = "Longest wait between retries of a failed write (backoff doubles from 100ms); a "
            "probe that sees the cluster back retries at once"},
    {.name = "create_database",
     .type = TSR_CT_BOOL,
     .def = "false",
     .off = CL(create_database),
     .doc = "influxdb: create the database when a write answers \"database not found\""},
    {.name = "tls_ca_file",
     .type = TSR_CT_STRING,
     .def = "",
     .off = CL(tls_ca_file),
     .doc = "CA bundle for https URLs (writes, health probes and CREATE DATABASE); empty "
            "uses the system's"},
    {.name = "tls_cert_file",
     .type = TSR_CT_STRING,
     .def = "",
     .off = CL(tls_cert_file),
     .doc = "Client certificate (PEM) presented to https URLs that ask for one (mTLS); "
            "with `tls_key_file`"},
    {.name = "tls_key_file",
     .type = TSR_CT_STRING,
     .def = "",
     .off = CL(tls_key_file),
     .doc = "Private key (PEM) of `tls_cert_file`"},
    {.name = "bearer_token_file",
     .type = TSR_CT_SECRET_FILE,
     .off = CL(bearer_token),
     .doc = "File holding a token sent as `Authorization: Bearer TOKEN` with writes, "
            "probes and CREATE DATABASE (vmauth, a proxy in front of the TSDB); not "
            "with `token_*` or `username`"},
    {.name = "bearer_token_env",
     .type = TSR_CT_SECRET_ENV,
     .off = CL(bearer_token),
     .doc = "Environment variable holding that token"},
    {.name = "tls_insecure",
     .type = TSR_CT_BOOL,
     .def = "false",
     .off = CL(tls_insecure),
     .doc = "Skip TLS certificate verification (tests only)"},
    {.name = "recovery_rewind_ms",
     .type = TSR_CT_DURATION,
     .def = "10s",
     .min = 0,
     .max = 3600000,
     .off = CL(recovery_rewind_ms),
     .doc = "When a cluster comes back from down, a replay job resends what it was sent in "
            "this much time before the outage: a TSDB killed hard loses writes it had "
            "acknowledged (VictoriaMetrics buffers about a second in memory); resent points "
            "overwrite themselves; 0 turns it off"},
    {.name = "fresh_first_after_ms",
     .type = TSR_CT_DURATION,
     .def = "0",
     .min = 0,
     .max = 7 * 24 * 3600000LL,
     .off = CL(fresh_first_after_ms),
     .doc = "While the oldest point not yet delivered to the cluster is older than this, new "
            "points go to it first and the backlog fills in behind, at `catchup_rate` "
            "(which then holds back the backlog only); a point of the backlog that a newer "
            "write of the same series and time crossed is overwritten again by it "
            "afterwards. 0: strictly oldest first"},
    {.name = "verify_interval_ms",
     .type = TSR_CT_DURATION,
     .def = "0",
     .min = 0,
     .max = 7 * 24 * 3600000LL,
     .off = CL(verify_interval_ms),
     .doc = "Verify the cluster against Kafka this often, as `tsrelayctl verify` does "
            "(influxdb and victoriametrics): windows that differ go into its ledger and "
            "raise `tsrelay_verify_windows_differ`; the fleet's coordinator runs it; 0: "
            "never"},
    {.name = "verify_lookback_ms",
     .type = TSR_CT_DURATION,
     .def = "1h",
     .min = 1000,
     .max = 7 * 24 * 3600000LL,
     .off = CL(verify_lookback_ms),
     .doc = "How much point time each periodic verify looks at, ending `verify_delay_ms` "
            "ago; Kafka is read from 5 minutes before it"},
    {.name = "verify_window_ms",
     .type = TSR_CT_DURATION,
     .def = "5m",
     .min = 1000,
     .max = 24 * 3600000LL,
     .off = CL(verify_window_ms),
     .doc = "The periodic verify's windows of point time (aligned on multiples of it), "
            "at most 10,000 in `verify_lookback_ms`"},
    {.name = "verify_delay_ms",
     .type = TSR_CT_DURATION,
     .def = "2m",
     .min = 0,
     .max = 24 * 3600000LL,
     .off = CL(verify_delay_ms),
     .doc = "The periodic verify leaves out the newest point time, this much: points "
            "still on their way (client buffers, a TSDB making them searchable)"},
    {.name = "start_from",
     .type = TSR_CT_STRING,
     .def = "earliest",
     .choices = "earliest|latest",
     .off = CL(start_from),
     .doc = "Where a cluster with no checkpoint starts reading the topic: everything Kafka "
            "retains, or only new points"},
    {.name = "databases",
     .type = TSR_CT_LIST,
     .min = 0,
     .max = 1000,
     .type_doc = "list of patterns",
     .off = CL(databases),
     .count_off = CL(ndatabases),
     .doc = "The databases this cluster receives (exact, `prefix*` or `/regex/`); empty: "
            "every one"},
    {.name = "rules",
     .type = TSR_CT_MAPLIST,
     .off = CL(rules),
     .count_off = CL(nrules),
     .sub = tsr_config_rule_keys,
     .sub_size = sizeof(struct tsr_rule_conf),
     .type_doc = "list of rules, keys as in `rules[]`",
     .doc = "Rules applied, in order, to this cluster's points as they are delivered "
            "(live, catch-up and replays); the other clusters are unaffected"},
    {.name = NULL},
};

const struct tsr_config_key tsr_config_keys[] = {
    {.name = "datacenter",
     .type = TSR_CT_STRING,
     .flags = TSR_CK_REQUIRED,
     .check = check_name,
     .off = CF(datacenter),
     .doc = "Name of this datacenter, shown in status, metrics and Kafka client ids"},
    {.name = "instance",
     .type = TSR_CT_STRING,
     .def = "",
     .def_doc = "`$TSRELAY_INSTANCE`, else the host name",
     .off = CF(instance),
     .doc = "This relay's name in the fleet of relays that share the datacenter's topic; "
            "unique per relay and stable across restarts (Kafka static membership), so a "
            "restarted relay takes its own partitions back without a rebalance. In "
            "Kubernetes, the node name"},
    {.name = "state_dir",
     .type = TSR_CT_STRING,
     .def = "/var/lib/tsrelay",
     .check = check_nonempty,
     .type_doc = "directory",
     .off = CF(state_dir),
     .doc = "Where checkpoints, the out-of-sync ledger, replay jobs and the spool are kept "
            "(LMDB); local disk"},
    {.name = "spool.enabled",
     .type = TSR_CT_BOOL,
     .def = "true",
     .off = CF(spool_enabled),
     .doc = "While Kafka cannot take a write (no broker reachable, too few in-sync "
            "replicas, `kafka.message_timeout_ms` passed), keep it in an LMDB spool in "
            "`state_dir/spool` and answer 204 once it is on disk; once Kafka takes writes "
            "again the spool drains into it in arrival order, new writes queued behind. "
            "false: such writes get 503 (see docs/kafka.md)"},
    {.name = "spool.max_bytes",
     .type = TSR_CT_SIZE,
     .def = "1GiB",
     .min = MiB,
     .max = INT64_C(1) << 40,
     .off = CF(spool_max_bytes),
     .doc = "Most bytes of records the spool holds (its file can take up to twice this "
            "on disk); a write that does not fit gets 503 with Retry-After, as does one "
            "the disk has no room for"},
    {.name = "clusters",
     .type = TSR_CT_MAPLIST,
     .off = CF(clusters),
     .count_off = CF(nclusters),
     .sub = tsr_config_cluster_keys,
     .sub_size = sizeof(struct tsr_cluster_conf),
     .doc = "Downstream clusters; every point goes to every cluster (unless its "
            "`databases` or `rules` say otherwise); may be empty"},
    {.name = "rules",
     .type = TSR_CT_MAPLIST,
     .off = CF(rules),
     .count_off = CF(nrules),
     .sub = tsr_config_rule_keys,
     .sub_size = sizeof(struct tsr_rule_conf),
     .doc = "Rules applied in order to every point at ingest, before Kafka: a dropped point "
            "costs nothing downstream (docs/shaping.md)"},
    {.name = "udp",
     .type = TSR_CT_MAPLIST,
     .off = CF(udp),
     .count_off = CF(nudp),
     .sub = tsr_config_udp_keys,
     .sub_size = sizeof(struct tsr_udp_conf),
     .type_doc = "list of listeners",
     .doc = "Line-protocol listeners over UDP, each with its database (InfluxDB's "
            "`[[udp]]`). UDP has no answer: a point is durable once Kafka or the spool has "
            "it, bad lines go to the dead-letter topic (docs/influxdb-compat.md#udp)"},

    {.name = "inputs.kafka",
     .type = TSR_CT_MAPLIST,
     .off = CF(kafka_inputs),
     .count_off = CF(nkafka_inputs),
     .sub = tsr_config_kafka_input_keys,
     .sub_size = sizeof(struct tsr_kafka_input_conf),
     .type_doc = "list of inputs",
     .doc = "Kafka topics consumed into the relay's topic, each with its format and database; "
            "offsets are committed once the points are durable (docs/inputs.md)"},

    {.name = "listen.http",
     .type = TSR_CT_STRING,
     .def = "0.0.0.0:8086",
     .check = check_addr_or_off,
     .type_doc = "address",
     .off = CF(listen_http),
     .doc = "InfluxDB-compatible HTTP ingest (`/write`, `/api/v2/write`, `/ping`); empty "
            "disables it"},
    {.name = "listen.graphite",
     .type = TSR_CT_STRING,
     .def = "",
     .check = check_addr_or_off,
     .type_doc = "address",
     .off = CF(listen_graphite),
     .doc = "Graphite plaintext ingest, TCP and UDP on the same address; empty disables it"},
    {.name = "listen.admin",
     .type = TSR_CT_STRING,
     .def = "0.0.0.0:8093",
     .check = check_addr,
     .type_doc = "address",
     .off = CF(listen_admin),
     .doc = "Admin HTTP (`/health`, `/ready`, `/status`, `/metrics`); cannot be disabled"},

    {.name = "kafka.brokers",
     .type = TSR_CT_STRING,
     .flags = TSR_CK_REQUIRED,
     .check = check_brokers,
     .type_doc = "host:port,...",
     .off = CF(kafka_brokers),
     .doc = "Bootstrap brokers of this datacenter's Kafka cluster"},
    {.name = "kafka.topic",
     .type = TSR_CT_STRING,
     .flags = TSR_CK_REQUIRED,
     .check = check_topic,
     .type_doc = "topic name",
     .off = CF(kafka_topic),
     .doc = "Topic every accepted point is written to; the source of every replay"},
    {.name = "kafka.dlq_topic",
     .type = TSR_CT_STRING,
     .def_doc = "`<kafka.topic>.dlq`",
     .check = check_topic,
     .type_doc = "topic name",
     .off = CF(kafka_dlq_topic),
     .doc = "Dead-letter topic for the raw bytes of rejected input"},
    {.name = "kafka.fleet_topic",
     .type = TSR_CT_STRING,
     .def_doc = "`<kafka.topic>.fleet`",
     .check = check_topic,
     .type_doc = "topic name",
     .off = CF(kafka_fleet_topic),
     .doc = "Compacted one-partition topic the relays of the datacenter share: replay jobs, "
            "the out-of-sync ledger, and the election of the relay that runs them "
            "(created at start when missing)"},
    {.name = "kafka.compression",
     .type = TSR_CT_STRING,
     .def = "lz4",
     .choices = "lz4|zstd|gzip|snappy|none",
     .off = CF(kafka_compression),
     .doc = "Compression of produced batches"},
    {.name = "kafka.linger_ms",
     .type = TSR_CT_DURATION,
     .def = "5ms",
     .min = 0,
     .max = 60000,
     .off = CF(kafka_linger_ms),
     .doc = "How long the producer waits to fill a batch"},
    {.name = "kafka.record_max_bytes",
     .type = TSR_CT_SIZE,
     .def = "256KiB",
     .min = KiB,
     .max = 10 * MiB,
     .off = CF(kafka_record_max_bytes),
     .doc = "Points are packed into Kafka records of at most this size; the topic's "
            "`max.message.bytes` must allow it"},
    {.name = "kafka.queue_max_bytes",
     .type = TSR_CT_SIZE,
     .def = "64MiB",
     .min = MiB,
     .max = 16 * GiB,
     .off = CF(kafka_queue_max_bytes),
     .doc = "Cap on the producer's in-memory queue"},
    {.name = "kafka.message_timeout_ms",
     .type = TSR_CT_DURATION,
     .def = "30s",
     .min = 1000,
     .max = 600000,
     .off = CF(kafka_message_timeout_ms),
     .doc = "A write not durable within this time is answered 503"},
    {.name = "kafka.read_ahead",
     .type = TSR_CT_SIZE,
     .def = "32MiB",
     .min = MiB,
     .max = GiB, /* librdkafka takes at most 2 GiB per queue */
     .off = CF(kafka_read_ahead_bytes),
     .doc = "Records the clusters' readers fetch ahead of delivery, all together: each "
            "cluster's reader gets an equal share, split over the topic's partitions (at "
            "least 256 KiB a partition). A down cluster's reader holds none"},
    {.name = "kafka.session_timeout_ms",
     .type = TSR_CT_DURATION,
     .def = "10s",
     .min = 6000, /* the broker's group.min.session.timeout.ms */
     .max = 300000,
     .off = CF(kafka_session_timeout_ms),
     .doc = "A relay that stops heartbeating (killed, hung, cut off) loses its partitions "
            "to the rest of the fleet after this long; a relay restarted within it takes "
            "its partitions back without a rebalance"},
    {.name = "kafka.replay_read_ahead",
     .type = TSR_CT_SIZE,
     .def = "16MiB",
     .min = MiB,
     .max = GiB,
     .off = CF(kafka_replay_read_ahead_bytes),
     .doc = "Records each replay job fetches ahead of sending, all partitions together; "
            "two jobs read at once, the others wait queued"},
    {.name = "kafka.create_topics",
     .type = TSR_CT_BOOL,
     .def = "true",
     .off = CF(kafka_create_topics),
     .doc = "At start, create `kafka.topic` and `kafka.dlq_topic` when they are missing "
            "(Admin API), with the settings below; the dead-letter topic gets 1 partition"},
    {.name = "kafka.partitions",
     .type = TSR_CT_INT,
     .def = "12",
     .min = 1,
     .max = 256, /* relay/kafka/kafka.c tracks at most 256 partitions */
     .off = CF(kafka_partitions),
     .doc = "Partitions of a topic the relay creates: the most relays that share a "
            "cluster's delivery, and lanes per cluster"},
    {.name = "kafka.replication_factor",
     .type = TSR_CT_INT,
     .def = "3",
     .min = 1,
     .max = 16,
     .off = CF(kafka_replication_factor),
     .doc = "Copies of each record in a topic the relay creates; an existing topic with "
            "fewer is reported in the log and `/status`"},
    {.name = "kafka.min_insync_replicas",
     .type = TSR_CT_INT,
     .def = "2",
     .min = 1,
     .max = 16,
     .off = CF(kafka_min_insync_replicas),
     .doc = "min.insync.replicas of a topic the relay creates: how many copies acks=all "
            "waits for; an existing topic with fewer is reported"},
    {.name = "kafka.retention",
     .type = TSR_CT_DURATION,
     .def = "7d",
     .min = 3600000,
     .max = INT64_C(3153600000000),
     .off = CF(kafka_retention_ms),
     .doc = "retention.ms of a topic the relay creates: the longest cluster outage that "
            "is caught up without loss"},
    {.name = "kafka.min_retention",
     .type = TSR_CT_DURATION,
     .def = "1d",
     .min = 0,
     .max = INT64_C(3153600000000),
     .off = CF(kafka_min_retention_ms),
     .doc = "The shortest outage the topic must outlast: a topic that keeps records less "
            "long is reported"},
    {.name = "kafka.properties",
     .type = TSR_CT_MAP,
     .check = check_kafka_property,
     .off = CF(kafka_properties),
     .count_off = CF(nkafka_properties),
     .doc = "Extra librdkafka properties (TLS, SASL, tuning); `NAME_file: PATH` or "
            "`NAME_env: VAR` sets NAME from a file or variable, and secrets such as "
            "`sasl.password` must be given that way"},

    {.name = "ingest.max_body_bytes",
     .type = TSR_CT_SIZE,
     .def = "25MiB",
     .min = KiB,
     .max = GiB,
     .off = CF(ingest_max_body_bytes),
     .doc = "Largest request body after gzip decoding; larger requests get 413"},
    {.name = "ingest.max_line_bytes",
     .type = TSR_CT_SIZE,
     .def = "1MiB",
     .min = 256,
     .max = 64 * MiB,
     .off = CF(ingest_max_line_bytes),
     .doc = "Longest accepted line; at most `ingest.max_body_bytes`"},
    {.name = "ingest.max_tags",
     .type = TSR_CT_INT,
     .def = "256",
     .min = 1,
     .max = 65535,
     .off = CF(ingest_max_tags),
     .doc = "Most tags on one point"},
    {.name = "ingest.read_timeout_ms",
     .type = TSR_CT_DURATION,
     .def = "30s",
     .min = 100,
     .max = 3600000,
     .off = CF(ingest_read_timeout_ms),
     .doc = "A client whose request body stalls this long between two reads gets 408 and "
            "is disconnected (the admin listener too)"},
    {.name = "ingest.max_inflight_bytes",
     .type = TSR_CT_SIZE,
     .def = "64MiB",
     .min = MiB,
     .max = 64 * GiB,
     .off = CF(ingest_max_inflight_bytes),
     .doc = "Bytes of accepted writes held in memory until Kafka confirms them or the spool "
            "commits them; above it HTTP answers 429 with Retry-After and TCP reads pause"},
    {.name = "ingest.field_types_max",
     .type = TSR_CT_INT,
     .def = "100000",
     .min = 0,
     .max = 64 * 1024 * 1024,
     .off = CF(ingest_field_types_max),
     .doc = "Fields (database, retention policy, measurement, field key) whose type HTTP "
            "ingest remembers, 8 bytes each, to refuse a point whose field changes type "
            "with InfluxDB's 400 \"field type conflict\" (the least recently used are "
            "forgotten beyond it); 0 turns the check off. See docs/influxdb-compat.md"},

    {.name = "ingest.max_connections",
     .type = TSR_CT_INT,
     .def = "4096",
     .min = 1,
     .max = 1000000,
     .off = CF(ingest_max_connections),
     .doc = "Most HTTP connections open at once; more are answered 503 and closed"},
    {.name = "ingest.max_reading_bytes",
     .type = TSR_CT_SIZE,
     .def = "128MiB",
     .min = MiB,
     .max = 64 * GiB,
     .off = CF(ingest_max_reading_bytes),
     .doc = "Request bodies being received at once, over all HTTP connections (counted by "
            "Content-Length before the body is read); a body that does not fit gets 503 "
            "with Retry-After. Bodies over 1 MiB share at most three quarters of it"},
    {.name = "ingest.header_timeout_ms",
     .type = TSR_CT_DURATION,
     .def = "10s",
     .min = 100,
     .max = 600000,
     .off = CF(ingest_header_timeout_ms),
     .doc = "Time from a request's first byte (or a new connection, its TLS handshake "
            "included) to its last header; a slower client gets 408"},
    {.name = "ingest.idle_timeout_ms",
     .type = TSR_CT_DURATION,
     .def = "5m",
     .min = 100,
     .max = 86400000,
     .off = CF(ingest_idle_timeout_ms),
     .doc = "A keep-alive connection without a request this long is closed (longer than "
            "clients' own idle timeout, 90s in Go's, so they close first)"},

    {.name = "ingest.auth.enabled",
     .type = TSR_CT_BOOL,
     .def = "false",
     .off = CF(ingest_auth_enabled),
     .doc = "Require credentials on HTTP ingest: `u`/`p` parameters, Basic or Token"},
    {.name = "ingest.auth.users",
     .type = TSR_CT_MAPLIST,
     .off = CF(ingest_users),
     .count_off = CF(ningest_users),
     .sub = tsr_config_user_keys,
     .sub_size = sizeof(struct tsr_user),
     .doc = "Users who may write"},
    {.name = "ingest.auth.token_files",
     .type = TSR_CT_SECRET_FILES,
     .off = CF(ingest_tokens),
     .count_off = CF(ningest_tokens),
     .doc = "Files each holding one token accepted as `Authorization: Token TOKEN`"},
    {.name = "ingest.auth.token_envs",
     .type = TSR_CT_SECRET_ENVS,
     .off = CF(ingest_tokens),
     .count_off = CF(ningest_tokens),
     .doc = "Environment variables each holding one such token"},

    {.name = "graphite.templates",
     .type = TSR_CT_LIST,
     .min = 0,
     .max = 10000,
     .off = CF(graphite_templates),
     .count_off = CF(ngraphite_templates),
     .doc = "InfluxDB graphite templates, `[filter] template [tag=value,...]`"},
    {.name = "graphite.separator",
     .type = TSR_CT_STRING,
     .def = ".",
     .off = CF(graphite_separator),
     .doc = "Joins multiple measurement or field parts"},
    {.name = "graphite.database",
     .type = TSR_CT_STRING,
     .def = "graphite",
     .check = check_nonempty,
     .off = CF(graphite_database),
     .doc = "Database graphite points are written to"},

    {.name = "graphite.max_connections",
     .type = TSR_CT_INT,
     .def = "4096",
     .min = 1,
     .max = 1000000,
     .off = CF(graphite_max_connections),
     .doc = "Most Graphite TCP connections open at once; more are closed at once"},
    {.name = "graphite.idle_timeout_ms",
     .type = TSR_CT_DURATION,
     .def = "10m",
     .min = 1000,
     .max = 86400000,
     .off = CF(graphite_idle_timeout_ms),
     .doc = "A Graphite TCP connection that sends nothing this long is closed"},
    {.name = "graphite.reject_ids",
     .type = TSR_CT_BOOL,
     .def = "false",
     .off = CF(graphite_reject_ids),
     .doc = "Refuse a path with a component that looks like an ID or a timestamp (9 or more "
            "digits, 16 or more hex digits, a UUID), naming it: such paths make a new series "
            "per value"},

    {.name = "cardinality.max_series",
     .type = TSR_CT_INT,
     .def = "0",
     .min = 0,
     .max = 1000000000,
     .off = CF(cardinality_max_series),
     .doc = "Series admitted per database and measurement per window; points of other "
            "series are refused (400 naming the reason, dead-lettered); 0: no guard"},
    {.name = "cardinality.window",
     .type = TSR_CT_DURATION,
     .def = "1h",
     .min = 1000,
     .max = 604800000,
     .off = CF(cardinality_window_ms),
     .doc = "The window over which series are counted; every series is new again in the "
            "next"},
    {.name = "cardinality.max_measurements",
     .type = TSR_CT_INT,
     .def = "0",
     .min = 0,
     .max = 100000000,
     .off = CF(cardinality_max_measurements),
     .doc = "Measurements admitted per database per window (Graphite paths with IDs in "
            "them make a measurement each); 0: no cap"},
    {.name = "cardinality.tracked_series",
     .type = TSR_CT_INT,
     .def = "4000000",
     .min = 1000,
     .max = 1000000000,
     .off = CF(cardinality_tracked_series),
     .doc = "Series the guard's Bloom filter is sized for (1.2 bytes each: 4.6 MiB at the "
            "default); beyond it more new series slip past a cap (docs/shaping.md)"},

    {.name = "tls.cert_file",
     .type = TSR_CT_STRING,
     .def = "",
     .off = CF(tls_cert_file),
     .doc = "PEM certificate (chain) of the relay's listeners; empty: no TLS. Re-read on "
            "SIGHUP and when it changes on disk"},
    {.name = "tls.key_file",
     .type = TSR_CT_STRING,
     .def = "",
     .off = CF(tls_key_file),
     .doc = "PEM private key of `tls.cert_file`"},
    {.name = "tls.client_ca_file",
     .type = TSR_CT_STRING,
     .def = "",
     .off = CF(tls_client_ca_file),
     .doc = "PEM CA bundle; set: clients must present a certificate it signed (mTLS)"},
    {.name = "tls.listeners",
     .type = TSR_CT_LIST,
     .min = 0,
     .max = 3,
     .check = check_tls_listener,
     .type_doc = "list of http, graphite, admin",
     .off = CF(tls_listeners),
     .count_off = CF(ntls_listeners),
     .doc = "Listeners that speak TLS (TLS 1.2 and 1.3 only; Graphite over TCP, not UDP); "
            "not given: http and admin"},

    {.name = "log.level",
     .type = TSR_CT_STRING,
     .def = "info",
     .choices = "debug|info|warn|error",
     .off = CF(log_level),
     .doc = "Least severe level that is logged"},

    {.name = "admin.tokens",
     .type = TSR_CT_MAPLIST,
     .off = CF(admin_tokens),
     .count_off = CF(nadmin_tokens),
     .sub = tsr_config_admin_token_keys,
     .sub_size = sizeof(struct tsr_admin_token),
     .doc = "Bearer tokens for the admin listener. With any, every endpoint but `/health` and "
            "`/ready` needs one; with none, replays can be started, paused, resumed and "
            "cancelled from loopback only"},
    {.name = "admin.metrics_public",
     .type = TSR_CT_BOOL,
     .def = "false",
     .off = CF(admin_metrics_public),
     .doc = "`/metrics` answers without a token (for a Prometheus that scrapes without one)"},
    {.name = NULL},
};
/* clang-format on */

/* ---- the reference ------------------------------------------------------------------ */

static const struct {
    const char *name; /* the part of the key before the last '.' */
    const char *intro;
} sections[] = {
    {"listen", "Listening addresses: `host:port`, `[ipv6]:port` or `:port` (all interfaces)."},
    {"kafka", "The datacenter's Kafka cluster, where every accepted write is made durable."},
    {"ingest", "Limits on what clients may send and on what the relay holds in memory."},
    {"ingest.auth", "Credentials for HTTP ingest, compatible with InfluxDB clients."},
    {"graphite", "How Graphite plaintext lines become points."},
    {"cardinality", "The cardinality guard: see docs/shaping.md. Off by default."},
    {"log", "Logs go to stderr."},
    {"tls", "TLS on the relay's own listeners: see docs/security.md."},
    {"admin", "Who may use the admin listener (`listen.admin`): see docs/security.md."},
};

/* Markdown cells: a '|' would end the cell. */
static void put_cell(FILE *out, const char *s)
{
    fputs(" ", out);
    for (; *s; s++) {
        if (*s == '|') fputc('\\', out);
        fputc(*s, out);
    }
    fputs(" |", out);
}

static void fmt_size(char *buf, size_t len, int64_t v)
{
    if (v != 0 && v % GiB == 0)
        snprintf(buf, len, "%" PRId64 "GiB", v / GiB);
    else if (v != 0 && v % MiB == 0)
        snprintf(buf, len, "%" PRId64 "MiB", v / MiB);
    else if (v != 0 && v % KiB == 0)
        snprintf(buf, len, "%" PRId64 "KiB", v / KiB);
    else
        snprintf(buf, len, "%" PRId64, v);
}

static void fmt_duration(char *buf, size_t len, int64_t v)
{
    if (v != 0 && v % 3600000 == 0)
        snprintf(buf, len, "%" PRId64 "h", v / 3600000);
    else if (v != 0 && v % 60000 == 0)
        snprintf(buf, len, "%" PRId64 "m", v / 60000);
    else if (v != 0 && v % 1000 == 0)
        snprintf(buf, len, "%" PRId64 "s", v / 1000);
    else
        snprintf(buf, len, "%" PRId64 "ms", v);
}

static void type_text(const struct tsr_config_key *k, char *buf, size_t len)
{
    char lo[32], hi[32];
    if (k->type_doc) {
        snprintf(buf, len, "%s", k->type_doc);
        return;
    }
    switch (k->type) {
    case TSR_CT_STRING:
        if (!k->choices) {
            snprintf(buf, len, "string");
            break;
        }
        /* "a|b|c" -> "`a`, `b` or `c`" */
        size_t n = (size_t)snprintf(buf, len, "`");
        for (const char *p = k->choices; *p && n + 8 < len; p++) {
            if (*p != '|') {
                buf[n++] = *p;
                continue;
            }
            const char *sep = strchr(p + 1, '|') ? "`, `" : "` or `";
            n += (size_t)snprintf(buf + n, len - n, "%s", sep);
        }
        snprintf(buf + n, len - n, "`");
        break;
    case TSR_CT_INT:
        snprintf(buf, len, "integer, %" PRId64 " to %" PRId64, k->min, k->max);
        break;
    case TSR_CT_BOOL:
        snprintf(buf, len, "bool");
        break;
    case TSR_CT_SIZE:
        fmt_size(lo, sizeof(lo), k->min);
        fmt_size(hi, sizeof(hi), k->max);
        snprintf(buf, len, "size, %s to %s", lo, hi);
        break;
    case TSR_CT_DURATION:
        fmt_duration(lo, sizeof(lo), k->min);
        fmt_duration(hi, sizeof(hi), k->max);
        snprintf(buf, len, "duration, %s to %s", lo, hi);
        break;
    case TSR_CT_LIST:
        snprintf(buf, len, "list of strings");
        break;
    case TSR_CT_MAP:
        snprintf(buf, len, "map of strings");
        break;
    case TSR_CT_MAPLIST:
        snprintf(buf, len, "list of maps, see below");
        break;
    case TSR_CT_SECRET_FILE:
        snprintf(buf, len, "file path");
        break;
    case TSR_CT_SECRET_ENV:
        snprintf(buf, len, "variable name");
        break;
    case TSR_CT_SECRET_FILES:
        snprintf(buf, len, "list of file paths");
        break;
    case TSR_CT_SECRET_ENVS:
        snprintf(buf, len, "list of variable names");
        break;
    }
}

static void default_text(const struct tsr_config_key *k, char *buf, size_t len)
{
    if (k->flags & TSR_CK_REQUIRED)
        snprintf(buf, len, "required");
    else if (k->def_doc)
        snprintf(buf, len, "%s", k->def_doc);
    else if (k->def)
        snprintf(buf, len, *k->def ? "`%s`" : "empty", k->def);
    else if (k->type == TSR_CT_MAP)
        snprintf(buf, len, "`{}`");
    else if (k->type == TSR_CT_SECRET_FILE || k->type == TSR_CT_SECRET_ENV)
        snprintf(buf, len, "unset");
    else
        snprintf(buf, len, "`[]`");
}

static void put_table_head(FILE *out)
{
    fputs("| Key | Type | Default | Description |\n|---|---|---|---|\n", out);
}

static void put_row(FILE *out, const char *prefix, const struct tsr_config_key *k)
{
    char key[160], type[160], def[96];
    snprintf(key, sizeof(key), "`%s%s`", prefix, k->name);
    type_text(k, type, sizeof(type));
    default_text(k, def, sizeof(def));
    fputs("|", out);
    put_cell(out, key);
    put_cell(out, type);
    put_cell(out, def);
    put_cell(out, k->doc);
    fputs("\n", out);
}

/* A list of maps gets its own table, headed by the list's key, e.g. `clusters[]`. */
static void put_sub_table(FILE *out, const struct tsr_config_key *list)
{
    char prefix[96];
    snprintf(prefix, sizeof(prefix), "%s[].", list->name);
    fprintf(out, "\n### `%s[]`\n\nEach entry of `%s`.\n\n", list->name, list->name);
    put_table_head(out);
    for (const struct tsr_config_key *k = list->sub; k->name; k++)
        put_row(out, prefix, k);
}

static size_t section_len(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? (size_t)(dot - name) : 0;
}

void tsr_config_write_reference(FILE *out)
{
    fputs("# tsrelay configuration reference\n\n"
          "This file is generated by `tsrelay --config-reference` from config/schema.c; "
          "run `make config-reference` after changing a key, do not edit it by hand.\n\n"
          "The configuration is one YAML map. Unknown keys, duplicate keys, wrong types and "
          "out-of-range values are errors that name the file, line, column and key.\n\n"
          "- Sizes are bytes: `65536`, or with a suffix: `k`/`KB` (1000), `KiB`/`Ki` (1024), "
          "and likewise `M`/`MB`, `MiB`/`Mi`, `G`/`GB`, `GiB`/`Gi`, `T`/`TB`, `TiB`/`Ti`; "
          "the case of a suffix does not matter.\n"
          "- Durations are milliseconds: `500`, or with units: `500ms`, `30s`, `2m`, `1h`, "
          "`1m30s`.\n"
          "- Secrets are never written in the file. A `*_file` key names a file that holds "
          "the secret (a trailing newline is dropped), a `*_env` key names an environment "
          "variable. Relative paths are relative to the working directory.\n",
          out);

    /* Rows of a section are contiguous in the table; each run becomes one table, and the
     * lists of maps declared in it follow with tables of their own. */
    const struct tsr_config_key *first = tsr_config_keys;
    while (first->name) {
        size_t slen = section_len(first->name);
        const struct tsr_config_key *end = first;
        while (end->name && section_len(end->name) == slen &&
               strncmp(end->name, first->name, slen) == 0)
            end++;
        if (slen == 0) {
            fputs("\n## Top level\n\n", out);
        } else {
            fprintf(out, "\n## `%.*s`\n\n", (int)slen, first->name);
            for (size_t s = 0; s < sizeof(sections) / sizeof(sections[0]); s++)
                if (strlen(sections[s].name) == slen &&
                    strncmp(sections[s].name, first->name, slen) == 0)
                    fprintf(out, "%s\n\n", sections[s].intro);
        }
        put_table_head(out);
        for (const struct tsr_config_key *k = first; k < end; k++)
            put_row(out, "", k);
        for (const struct tsr_config_key *k = first; k < end; k++)
            if (k->type == TSR_CT_MAPLIST) put_sub_table(out, k);
        first = end;
    }
}

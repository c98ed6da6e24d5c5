/* config/config.h — the relay's configuration: schema, YAML loader, reference.
 *
 * Owns: the one schema table (config/schema.c) that drives parsing, defaults,
 * validation, `tsrelay --check-config` and the generated reference config/CONFIG.md.
 * Loading is strict: unknown keys, duplicate keys, wrong types and out-of-range values
 * are errors that name the file, line, column and the full key ("listen.http").
 * A loaded struct tsr_config is immutable and owned by whoever loaded it; reload
 * (SIGHUP) loads a new one and swaps only if it validated. */
#ifndef TSR_CONFIG_H
#define TSR_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct tsr_kv {
    char *key;
    char *value;
};

/* A line-protocol UDP listener (udp[], InfluxDB's [[udp]]). */
struct tsr_udp_conf {
    char *listen;    /* host:port */
    char *database;  /* every point of the listener goes to this database */
    char *retention_policy; /* "" : the database's default */
    char *precision; /* of timestamps without a unit: ns, us, ms, s, m, h */
    int64_t read_buffer; /* SO_RCVBUF */
};

/* A Kafka topic consumed as an input (inputs.kafka[], relay/ingest/kafka_input.h). */
struct tsr_kafka_input_conf {
    char *topic;
    char *brokers;            /* "": kafka.brokers, with kafka.properties */
    struct tsr_kv *properties; /* librdkafka properties of this input's consumer */
    size_t nproperties;
    char *group;              /* "": tsrelay-<datacenter>-input-<topic> */
    char *offset;             /* oldest | newest: where a group without commits starts */
    char *format;             /* influx | graphite | json */
    char *database;
    char *retention_policy;   /* "": the database's default */
    char *precision;          /* influx: the unit of timestamps without one */
    char **graphite_templates; /* graphite: as graphite.templates */
    size_t ngraphite_templates;
    char *json_measurement;   /* json: the measurement, unless json.name_key names one */
    char *json_name_key;
    char **json_tag_keys;
    size_t njson_tag_keys;
    char **json_string_fields;
    size_t njson_string_fields;
    char *json_time_key;      /* "": the record's Kafka timestamp */
    char *json_time_format;
};

struct tsr_user {
    char *name;
    char *password; /* read from password_file or password_env; never logged */
};

/* An admin token (admin.tokens): who holds it, and what it may do. */
struct tsr_admin_token {
    char *name;  /* recorded in the replay audit trail */
    char *role;  /* read (status, metrics, ledger, page data) or operate (also replays) */
    char *token; /* read from token_file or token_env; never logged */
};

/* A rule (rules[], clusters[].rules[]): which points, and what is done to them
 * (relay/shape/rules.h). Patterns are exact, `prefix*` or `/regex/`. */
struct tsr_rule_conf {
    char *name;
    char *match_database;
    char *match_measurement;
    char *match_field;          /* some field key matches */
    struct tsr_kv *match_tags;  /* tag key -> value pattern; every one must match */
    size_t nmatch_tags;
    char *action; /* drop, keep, rename_measurement, add_tags, rename_tags, drop_tags,
                     drop_fields */
    char *to;                   /* rename_measurement */
    struct tsr_kv *tags;        /* add_tags: key -> value; rename_tags: old -> new */
    size_t ntags;
    char **names;               /* drop_tags, drop_fields: key patterns */
    size_t nnames;
};

struct tsr_cluster_conf {
    char *name;
    char *type; /* influxdb, influxdb2, victoriametrics, cnosdb, prometheus, graphite */
    char **urls;
    size_t nurls;
    char *database; /* target database ("" = the one the point was written to) */
    char *retention_policy;
    char *org;    /* influxdb2 */
    char *bucket; /* influxdb2 */
    char *graphite_template; /* graphite: how a point's path is made (relay/deliver/carbon.h) */
    char *token;  /* influxdb2: from token_file or token_env */
    char *username, *password; /* cnosdb / influxdb basic auth, from *_file or *_env */
    char *compression;         /* "gzip" or "none" */
    int64_t timeout_ms;
    int64_t batch_lines;
    int64_t batch_bytes;
    int64_t replay_batch_lines;
    int64_t replay_batch_bytes;
    int64_t max_inflight;      /* write requests in flight (lanes of partitions) */
    int64_t catchup_rate;      /* points/s cap while delivering; 0 = no cap */
    int64_t probe_interval_ms; /* active health probe period */
    int64_t lag_threshold_ms;  /* above it the cluster is catching_up, not in_sync */
    int64_t retry_max_ms;      /* cap of the exponential retry backoff */
    int create_database;       /* influxdb: CREATE DATABASE on "database not found" */
    char *tls_ca_file;         /* CA bundle for https URLs ("" = system) */
    char *tls_cert_file;       /* client certificate for mTLS ("" = none) */
    char *tls_key_file;        /* its key */
    char *bearer_token;        /* sent as "Authorization: Bearer", from *_file / *_env */
    int tls_insecure;          /* skip certificate checks (tests only) */
    char *start_from;          /* "earliest" or "latest": where a cluster without a
                                  checkpoint starts */
    int64_t recovery_rewind_ms; /* resent from before an outage when a cluster returns */
    int64_t fresh_first_after_ms; /* backlog older than this: new points first; 0 off */
    int64_t verify_interval_ms;   /* periodic verify every so often; 0 off */
    int64_t verify_lookback_ms;   /* over this much point time */
    int64_t verify_window_ms;     /* in windows this long */
    int64_t verify_delay_ms;      /* ending this long ago */
    char **databases; /* patterns of the databases it receives; none: every one */
    size_t ndatabases;
    struct tsr_rule_conf *rules; /* applied as its points are delivered */
    size_t nrules;
};

struct tsr_config {
    char *path; /* the file it was loaded from */

    char *datacenter;
    /* This relay's name in the fleet (Kafka static membership); "" in the file means
     * $TSRELAY_INSTANCE, else the host name, resolved by the loader. */
    char *instance;

    /* listen.*: "host:port"; "" disables the listener (admin cannot be disabled) */
    char *listen_http;
    char *listen_graphite; /* TCP and UDP on the same address */
    char *listen_admin;

    /* kafka.* */
    char *kafka_brokers;
    char *kafka_topic;
    char *kafka_dlq_topic;       /* default: "<topic>.dlq" */
    char *kafka_fleet_topic;     /* the fleet's shared records; default "<topic>.fleet" */
    char *kafka_compression;     /* lz4 (default), zstd, gzip, snappy, none */
    int64_t kafka_linger_ms;     /* default 5 */
    int64_t kafka_record_max_bytes;   /* points per Kafka record, by size; default 262144 */
    int64_t kafka_queue_max_bytes;    /* librdkafka queue cap; default 64 MiB */
    int64_t kafka_message_timeout_ms; /* a write not durable by then gets 503; 30000 */
    int64_t kafka_read_ahead_bytes;   /* per cluster reader; default 64 MiB */
    int64_t kafka_session_timeout_ms; /* a dead relay's partitions move after this */
    int64_t kafka_replay_read_ahead_bytes; /* per replay job; default 64 MiB */
    int kafka_create_topics;          /* create the topic and dead-letter topic if missing */
    int64_t kafka_partitions;         /* of a topic the relay creates */
    int64_t kafka_replication_factor; /* of a topic it creates; less on one is reported */
    int64_t kafka_min_insync_replicas;
    int64_t kafka_retention_ms;       /* of a topic it creates */
    int64_t kafka_min_retention_ms;   /* a topic keeping records less long is reported */
    struct tsr_kv *kafka_properties;  /* extra librdkafka properties (TLS, SASL, ...) */
    size_t nkafka_properties;

    char *state_dir;

    /* spool.* */
    int spool_enabled;       /* writes Kafka cannot take go to state_dir/spool */
    int64_t spool_max_bytes; /* its bound; full: 503 */

    /* ingest.* */
    int64_t ingest_max_body_bytes; /* after gzip decoding; default 25 MiB; 413 above */
    int64_t ingest_max_line_bytes; /* default 1 MiB */
    int64_t ingest_max_tags;       /* default 256 */
    int64_t ingest_read_timeout_ms; /* a client that stalls mid-body is cut; 30000 */
    int64_t ingest_max_inflight_bytes; /* normalised bytes awaiting Kafka; default 64 MiB:
                                          above it HTTP answers 503 and TCP stops reading */
    int64_t ingest_field_types_max; /* entries of the field-type cache (8 bytes each);
                                       0 turns the check off; default 100000 */
    int64_t ingest_max_connections;   /* open HTTP connections; more are closed at once */
    int64_t ingest_max_reading_bytes; /* request bodies being received at once; 503 above */
    int64_t ingest_header_timeout_ms; /* a request's first byte to its last header */
    int64_t ingest_idle_timeout_ms;   /* keep-alive connection between requests */
    int ingest_auth_enabled;
    struct tsr_user *ingest_users; /* for u/p, Basic and "Token user:pass" */
    size_t ningest_users;
    char **ingest_tokens; /* for "Token <token>" (from token_files / token_envs) */
    size_t ningest_tokens;

    /* graphite.* */
    char **graphite_templates;
    size_t ngraphite_templates;
    char *graphite_separator; /* default "." */
    char *graphite_database;  /* db header on graphite points; default "graphite" */
    int64_t graphite_max_connections;
    int64_t graphite_idle_timeout_ms; /* a TCP connection that sends nothing is closed */
    int graphite_reject_ids; /* refuse paths with a component that looks like an ID */

    /* udp[]: line protocol over UDP */
    struct tsr_udp_conf *udp;
    size_t nudp;

    /* inputs.kafka[]: topics consumed into the relay's topic */
    struct tsr_kafka_input_conf *kafka_inputs;
    size_t nkafka_inputs;

    /* rules[]: applied at ingest, in order, before Kafka */
    struct tsr_rule_conf *rules;
    size_t nrules;

    /* cardinality.*: new series admitted per database and measurement per window */
    int64_t cardinality_max_series;       /* 0: no guard */
    int64_t cardinality_window_ms;
    int64_t cardinality_max_measurements; /* per database per window; 0: no cap */
    int64_t cardinality_tracked_series;   /* the bloom filter's capacity */

    /* tls.*: the relay's own listeners; off while cert_file is "" */
    char *tls_cert_file;
    char *tls_key_file;
    char *tls_client_ca_file; /* set: clients must present a certificate it signed */
    char **tls_listeners;     /* of http, graphite, admin; none given: http and admin */
    size_t ntls_listeners;
    int tls_http, tls_graphite, tls_admin; /* resolved from tls_listeners */

    /* log.* */
    char *log_level; /* debug, info (default), warn, error */

    /* admin.* */
    struct tsr_admin_token *admin_tokens; /* none: state changes from loopback only */
    size_t nadmin_tokens;
    int admin_metrics_public; /* /metrics without a token, for scrapers */

    struct tsr_cluster_conf *clusters;
    size_t nclusters;
};

/* Every char * in a loaded config is non-NULL; "" means unset. Secrets (tokens,
 * passwords, kafka.properties read from *_file / *_env) are wiped by tsr_config_free.
 * Loading reads files and the environment: call it from one thread at a time (startup,
 * SIGHUP). A loaded config is read-only, so any thread may read it. */

/* Loads and validates `path`. On success returns 0 and *cfp (owned by the caller, free
 * with tsr_config_free). On failure returns -1 and writes one human message into err,
 * e.g. "tsrelay.yaml:12:5: unknown key 'listen.htp'". */
int tsr_config_load(const char *path, struct tsr_config **cfp, char *err, size_t errlen);

/* The same, from a string (tests); `name` is used in messages in place of the path. */
int tsr_config_load_string(const char *yaml, size_t len, const char *name,
                           struct tsr_config **cfp, char *err, size_t errlen);

void tsr_config_free(struct tsr_config **cfp);

/* The first key (its schema name, e.g. "listen.http" or "clusters") whose value differs
 * between a and b, among the keys under one of the NULL-terminated prefixes `within`
 * (NULL: every key), leaving out those under a prefix of `except` (NULL: none); NULL
 * when they are all equal. Secrets are compared by content. For reload. */
const char *tsr_config_differs(const struct tsr_config *a, const struct tsr_config *b,
                               const char *const *within, const char *const *except);

/* Writes the generated reference (Markdown, one row per key with type, default, bounds
 * and description) to out. config/CONFIG.md is this output. */
void tsr_config_write_reference(FILE *out);

/* ---- The schema (internal to config/: schema.c defines it, config.c walks it) ----------
 * One row per key. Parsing, defaults, bounds, validation, freeing and the reference
 * (tsr_config_write_reference) are all driven by these rows, so a key added here is
 * complete. Other modules read struct tsr_config and need none of this. */

enum tsr_config_type {
    TSR_CT_STRING,       /* char *                                                 */
    TSR_CT_INT,          /* int64_t, min..max                                      */
    TSR_CT_BOOL,         /* int, 0 or 1                                            */
    TSR_CT_SIZE,         /* int64_t bytes, min..max; "65536", "64KiB", "64MB"      */
    TSR_CT_DURATION,     /* int64_t ms, min..max; "500", "500ms", "30s", "2m", "1h" */
    TSR_CT_LIST,         /* char ** + size_t count at count_off; min..max items     */
    TSR_CT_MAP,          /* struct tsr_kv * + count; NAME_file / NAME_env read NAME  */
    TSR_CT_MAPLIST,      /* array of sub_size structs + count, keys in `sub`         */
    TSR_CT_SECRET_FILE,  /* char *: the value names a file holding the secret        */
    TSR_CT_SECRET_ENV,   /* char *: the value names an environment variable          */
    TSR_CT_SECRET_FILES, /* char ** + count: each item names a file (appends)        */
    TSR_CT_SECRET_ENVS,  /* char ** + count: each item names a variable (appends)    */
};

#define TSR_CK_REQUIRED 1u /* for a SECRET_FILE/_ENV pair: one of the two is required */
#define TSR_CK_PLAIN 2u    /* MAP: keys are data (tag names), never NAME_file / NAME_env */

struct tsr_config_key {
    const char *name; /* full dotted name; in a sub-table, relative to the list entry */
    enum tsr_config_type type;
    unsigned flags;
    const char *def;     /* default in the file's own syntax; NULL: none or derived */
    const char *def_doc; /* the reference's text for a derived default              */
    int64_t min, max;    /* bounds (INT, SIZE, DURATION) or item counts (LIST)      */
    const char *choices; /* STRING: allowed values, "a|b|c"                          */
    /* STRING and LIST items: 0 if s is acceptable, else -1 with why ("must be ..."),
     * which follows the quoted key in the message. MAP: checks each key. */
    int (*check)(const char *s, char *why, size_t whylen);
    const char *type_doc; /* the reference's type column, when the generic one is vague */
    size_t off;           /* offsetof the field in struct tsr_config (or sub struct)     */
    size_t count_off;     /* LIST, MAP, MAPLIST, SECRET_*S: offsetof the count           */
    const struct tsr_config_key *sub; /* MAPLIST: the entry's keys                       */
    size_t sub_size;                  /* MAPLIST: sizeof the entry struct                */
    const char *doc;                  /* one line for the reference, no '|'              */
};

/* Each table ends with a row whose name is NULL. */
extern const struct tsr_config_key tsr_config_keys[];
extern const struct tsr_config_key tsr_config_cluster_keys[];
extern const struct tsr_config_key tsr_config_user_keys[];
extern const struct tsr_config_key tsr_config_admin_token_keys[];
extern const struct tsr_config_key tsr_config_rule_keys[];
extern const struct tsr_config_key tsr_config_udp_keys[];
extern const struct tsr_config_key tsr_config_kafka_input_keys[];

#endif

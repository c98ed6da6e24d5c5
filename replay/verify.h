/* replay/verify.h — does a cluster hold what Kafka holds for it? The counting behind
 * `tsrelayctl verify` and the relay's periodic verify (replay/verifier.h).
 *
 * For every window of point time in [since, until): the field values Kafka holds for
 * the cluster (its databases and rules applied, as delivery applies them; a value
 * written twice with the same series, field and timestamp counted once, as a TSDB
 * stores it) against what the cluster holds (InfluxDB: count(*) grouped by the windows;
 * VictoriaMetrics: the samples of its export). Kafka is read from entry time since
 * minus TSR_VERIFY_LOOKBACK_MS; the cluster is asked at its first URL with its own
 * credentials and CA.
 *
 * Owns: one verify's windows and the set of values seen. One thread, blocking; any
 * thread (its own Kafka consumer and curl handles). */
#ifndef TSR_VERIFY_H
#define TSR_VERIFY_H

#include <stddef.h>
#include <stdint.h>

struct tsr_buf;
struct tsr_config;
struct tsr_cluster_conf;

/* Points that entered Kafka this long before their own time may still be counted:
 * later than that (a backfill hours old) they are not read, and show as extra in the
 * cluster. */
#define TSR_VERIFY_LOOKBACK_MS (60 * 60 * 1000)
#define TSR_VERIFY_MAX_WINDOWS 100000
#define TSR_VERIFY_MAX_DBS 64

enum tsr_verify_rc { TSR_VERIFY_OK = 0, TSR_VERIFY_FAILED = 1, TSR_VERIFY_UNREACHABLE = 2 };

struct tsr_verify_dbrp {
    char db[256], rp[256];
};

struct tsr_verify {
    const struct tsr_cluster_conf *cc;
    int vm; /* victoriametrics: no retention policies */
    const char *db; /* NULL: every database */
    int64_t since, until, window;
    int nwin;
    int64_t *kafka, *cluster; /* values per window */
    /* The (database, retention policy) pairs Kafka had points of, to ask the cluster. */
    struct tsr_verify_dbrp dbs[TSR_VERIFY_MAX_DBS];
    int ndbs;
    uint64_t *seen; /* open-addressing set of value hashes (0: empty) */
    size_t seen_cap, seen_n;
    /* Kafka is read from entry time since minus this (TSR_VERIFY_LOOKBACK_MS). */
    int64_t entry_margin_ms;
    /* Set (atomically) from another thread: the count gives up, UNREACHABLE. */
    const int *stop;
    /* Called while Kafka is read (every 10,000 records, and once at its end) with the
     * records read and those in the range; NULL: none. */
    void (*progress)(void *opaque, int64_t done, int64_t total, int last);
    void *progress_opaque;
};

/* Sets v up for cluster cc (influxdb or victoriametrics) and the windows of `window`
 * ms from since to until; db NULL for every database. Returns 0, or -1 with err set (a
 * type verify cannot count, too many windows). tsr_verify_free either way. */
int tsr_verify_init(struct tsr_verify *v, const struct tsr_cluster_conf *cc, int64_t since_ms,
                    int64_t until_ms, int64_t window_ms, const char *db, char *err,
                    size_t errlen);

/* Counts both sides afresh; client names the Kafka consumer. TSR_VERIFY_OK, or
 * UNREACHABLE (Kafka or the cluster) or FAILED (the cluster refused or answered
 * nonsense) with err set. */
enum tsr_verify_rc tsr_verify_count(struct tsr_verify *v, const struct tsr_config *cf,
                                    const char *client, char *err, size_t errlen);

/* Windows whose counts differ. */
int tsr_verify_differ(const struct tsr_verify *v);

/* {"cluster", "since_ms", "until_ms", "window_ms", "windows": [{"start_ms", "end_ms",
 * "kafka", "cluster", "missing", "extra"}], "kafka", "cluster_values", "missing",
 * "extra", "differ", "equal"}; with windows_differing_only, only the windows that
 * differ are listed. */
void tsr_verify_json(const struct tsr_verify *v, int windows_differing_only, struct tsr_buf *out);

/* Start and end (ms) of window w. */
void tsr_verify_window(const struct tsr_verify *v, int w, int64_t *start, int64_t *end);

void tsr_verify_free(struct tsr_verify *v);

#endif

/* relay/shape/cardinality.c — see cardinality.h. */
#include "relay/shape/cardinality.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "relay/core/json.h"
#include "relay/core/lineproto.h"
#include "relay/shape/point.h"

#define BLOOM_K 7           /* hashes per key: 1 % false positives at 9.6 bits a key */
#define HOT_PERCENT 80      /* a measurement this close to its cap is watched */
#define HOT_TAG_KEYS 8      /* tag keys estimated per watched measurement */
#define HLL_REGISTERS 64
#define SHOWN 20            /* measurements listed in /status and /metrics */

struct tag_estimate {
    char *key; /* escaped, as in the line */
    unsigned char reg[HLL_REGISTERS];
};

/* A measurement of a database (meas NULL: the database itself, counting measurements). */
struct entry {
    struct entry *next; /* hash chain */
    uint64_t h;
    char *db, *meas;    /* meas: escaped, as in the line */
    int64_t count;      /* series (of a measurement) or measurements (of a database) */
    uint64_t refused;   /* points refused this window */
    struct tag_estimate *tags; /* watched: HOT_TAG_KEYS slots */
};

struct tsr_cardinality {
    int64_t max_series, max_measurements, window_ms;
    uint64_t *bloom;
    uint64_t bloom_bits;
    int64_t window; /* now_ms / window_ms of the current window */
    struct entry **table;
    size_t table_size; /* buckets, a power of two */
    size_t entries;
    int64_t series;            /* admitted this window */
    uint64_t refused_window;   /* points refused this window */
    uint64_t refused_total;    /* since start */
    uint64_t windows;          /* windows started */
    size_t hot;                /* entries with tag estimates */
    struct tsr_point pt;
};

struct tsr_cardinality *tsr_cardinality_new(const struct tsr_config *cf)
{
    if (cf->cardinality_max_series == 0 && cf->cardinality_max_measurements == 0) return NULL;
    struct tsr_cardinality *g = calloc(1, sizeof(*g));
    if (!g) abort();
    g->max_series = cf->cardinality_max_series;
    g->max_measurements = cf->cardinality_max_measurements;
    g->window_ms = cf->cardinality_window_ms;
    g->bloom_bits = ((uint64_t)cf->cardinality_tracked_series * 96 / 10 + 63) & ~UINT64_C(63);
    g->bloom = calloc(g->bloom_bits / 64, sizeof(uint64_t));
    g->table_size = 1u << 17; /* twice TSR_CARD_MAX_TRACKED */
    g->table = calloc(g->table_size, sizeof(*g->table));
    if (!g->bloom || !g->table) abort();
    g->window = -1;
    return g;
}

static void free_entry(struct entry *e)
{
    if (e->tags)
        for (int i = 0; i < HOT_TAG_KEYS; i++) free(e->tags[i].key);
    free(e->tags);
    free(e->db);
    free(e->meas);
    free(e);
}

static void clear_window(struct tsr_cardinality *g)
{
    for (size_t i = 0; i < g->table_size; i++) {
        for (struct entry *e = g->table[i], *n; e; e = n) {
            n = e->next;
            free_entry(e);
        }
        g->table[i] = NULL;
    }
    memset(g->bloom, 0, g->bloom_bits / 8);
    g->entries = 0;
    g->hot = 0;
    g->series = 0;
    g->refused_window = 0;
}

void tsr_cardinality_free(struct tsr_cardinality **gp)
{
    struct tsr_cardinality *g = *gp;
    if (!g) return;
    clear_window(g);
    free(g->table);
    free(g->bloom);
    tsr_point_free(&g->pt);
    free(g);
    *gp = NULL;
}

/* ---- the Bloom filter: k probes from two halves of one 64-bit hash (Kirsch-Mitzenmacher) */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static bool bloom_test_set(struct tsr_cardinality *g, uint64_t key, bool set)
{
    uint64_t h = mix(key), h1 = h & 0xffffffff, h2 = (h >> 32) | 1;
    bool all = true;
    for (uint64_t i = 0; i < BLOOM_K; i++) {
        uint64_t bit = (h1 + i * h2) % g->bloom_bits;
        uint64_t w = bit / 64, m = UINT64_C(1) << (bit % 64);
        if (!(g->bloom[w] & m)) {
            all = false;
            if (!set) return false;
            g->bloom[w] |= m;
        }
    }
    return all;
}

/* ---- the table ------------------------------------------------------------------- */

/* The entry of (db, meas), or of db alone when meas is NULL; created when create is set
 * and the table has room (*full set when it has not). */
static struct entry *find(struct tsr_cardinality *g, uint64_t h, const char *db,
                          const char *meas, size_t mlen, bool create, bool *full)
{
    struct entry **b = &g->table[h & (g->table_size - 1)];
    for (struct entry *e = *b; e; e = e->next)
        if (e->h == h && strcmp(e->db, db) == 0 &&
            (meas ? e->meas && strlen(e->meas) == mlen && memcmp(e->meas, meas, mlen) == 0
                  : !e->meas))
            return e;
    if (!create) return NULL;
    if (g->entries >= TSR_CARD_MAX_TRACKED) {
        *full = true;
        return NULL;
    }
    struct entry *e = calloc(1, sizeof(*e));
    if (!e) abort();
    e->h = h;
    e->db = strdup(db);
    e->meas = meas ? strndup(meas, mlen) : NULL;
    if (!e->db || (meas && !e->meas)) abort();
    e->next = *b;
    *b = e;
    g->entries++;
    return e;
}

/* ---- tag estimates (HyperLogLog) ---------------------------------------------------- */

static void hll_add(unsigned char *reg, uint64_t h)
{
    h = mix(h);
    unsigned idx = (unsigned)(h & (HLL_REGISTERS - 1));
    uint64_t rest = h >> 6;
    unsigned rank = rest ? (unsigned)__builtin_ctzll(rest) + 1 : 59;
    if (rank > reg[idx]) reg[idx] = (unsigned char)rank;
}

static double hll_estimate(const unsigned char *reg)
{
    double sum = 0;
    int zeros = 0;
    for (int i = 0; i < HLL_REGISTERS; i++) {
        sum += ldexp(1.0, -reg[i]);
        zeros += reg[i] == 0;
    }
    double m = HLL_REGISTERS, e = 0.709 * m * m / sum;
    if (e <= 2.5 * m && zeros) e = m * log(m / zeros); /* linear counting for small sets */
    return e;
}

static bool hot(const struct tsr_cardinality *g, const struct entry *e)
{
    return g->max_series && e->count * 100 >= g->max_series * HOT_PERCENT;
}

/* Notes the tag values of a new series of a watched measurement. */
static void watch(struct tsr_cardinality *g, struct entry *e, const char *line, size_t len)
{
    if (!e->tags) {
        if (g->hot >= TSR_CARD_MAX_TRACKED / 64) return; /* a bound on their memory */
        e->tags = calloc(HOT_TAG_KEYS, sizeof(*e->tags));
        if (!e->tags) abort();
        g->hot++;
    }
    tsr_point_parse(&g->pt, line, len);
    for (size_t t = 0; t < g->pt.ntags; t++) {
        struct tsr_span k = g->pt.tags[t].key, v = g->pt.tags[t].value;
        int slot = -1;
        for (int i = 0; i < HOT_TAG_KEYS && slot < 0; i++) {
            if (!e->tags[i].key) {
                e->tags[i].key = strndup(k.p, k.n);
                if (!e->tags[i].key) abort();
                slot = i;
            } else if (strlen(e->tags[i].key) == k.n && !memcmp(e->tags[i].key, k.p, k.n)) {
                slot = i;
            }
        }
        if (slot >= 0) hll_add(e->tags[slot].reg, tsr_fnv1a64(TSR_FNV1A64_INIT, v.p, v.n));
    }
}

static void refuse(struct tsr_cardinality *g, struct entry *e)
{
    g->refused_window++;
    g->refused_total++;
    if (e) e->refused++;
}

int tsr_cardinality_admit(struct tsr_cardinality *g, const char *db, const char *line,
                          size_t len, uint64_t series_hash, int64_t now_ms, struct tsr_buf *why)
{
    int64_t w = now_ms / g->window_ms;
    if (w != g->window) {
        clear_window(g);
        g->window = w;
        g->windows++;
    }
    uint64_t dbh = tsr_fnv1a64(TSR_FNV1A64_INIT, db, strlen(db) + 1);
    uint64_t key = series_hash ^ (dbh * 0x9E3779B97F4A7C15ULL);
    if (bloom_test_set(g, key, false)) return 0;

    struct tsr_lp_sections sec;
    tsr_lp_sections(line, len, &sec);
    bool full = false;
    uint64_t mh = tsr_fnv1a64(dbh, sec.meas, sec.mlen);
    struct entry *m = find(g, mh, db, sec.meas, sec.mlen, false, &full);
    if (!m) {
        /* A measurement new in this window: counted against its database first, so a
         * flood of names refused takes no entry each. */
        struct entry *d = g->max_measurements ? find(g, dbh, db, NULL, 0, true, &full) : NULL;
        if (d && d->count >= g->max_measurements) {
            refuse(g, d);
            tsr_buf_printf(why, "cardinality guard: database '%s' has %lld measurements this "
                                "window (cardinality.max_measurements)", db, (long long)d->count);
            return -1;
        }
        if (!full) m = find(g, mh, db, sec.meas, sec.mlen, true, &full);
        if (!m) {
            refuse(g, NULL);
            tsr_buf_printf(why, "cardinality guard: %d measurements tracked this window already "
                                "(the guard's bound)", TSR_CARD_MAX_TRACKED);
            return -1;
        }
        if (d) d->count++;
    }
    if (hot(g, m)) watch(g, m, line, len);
    if (g->max_series && m->count >= g->max_series) {
        refuse(g, m);
        tsr_buf_puts(why, "cardinality guard: measurement '");
        tsr_lp_unescape(why, sec.meas, sec.mlen, ", ");
        tsr_buf_printf(why, "' of database '%s' has %lld series this window "
                            "(cardinality.max_series)", db, (long long)m->count);
        return -1;
    }
    m->count++;
    g->series++;
    bloom_test_set(g, key, true);
    return 0;
}

/* ---- what it shows --------------------------------------------------------------- */

static int by_count(const void *a, const void *b)
{
    const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

/* The measurements at or above HOT_PERCENT of max_series, most series first. */
static size_t shown(const struct tsr_cardinality *g, struct entry **out)
{
    size_t n = 0;
    for (size_t i = 0; i < g->table_size; i++)
        for (struct entry *e = g->table[i]; e; e = e->next)
            if (e->meas && (hot(g, e) || e->refused) && n < TSR_CARD_MAX_TRACKED) out[n++] = e;
    qsort(out, n, sizeof(*out), by_count);
    return n < SHOWN ? n : SHOWN;
}

static size_t memory_bytes(const struct tsr_cardinality *g)
{
    return g->bloom_bits / 8 + g->table_size * sizeof(void *) +
           g->entries * (sizeof(struct entry) + 64) +
           g->hot * HOT_TAG_KEYS * (sizeof(struct tag_estimate) + 32);
}

static void tag_json(const struct entry *e, struct tsr_buf *out)
{
    int order[HOT_TAG_KEYS], n = 0;
    double est[HOT_TAG_KEYS];
    for (int i = 0; e->tags && i < HOT_TAG_KEYS && e->tags[i].key; i++) {
        est[i] = hll_estimate(e->tags[i].reg);
        int j = n++;
        while (j > 0 && est[order[j - 1]] < est[i]) order[j] = order[j - 1], j--;
        order[j] = i;
    }
    tsr_buf_puts(out, "[");
    for (int j = 0; j < n && j < 3; j++) {
        const struct tag_estimate *t = &e->tags[order[j]];
        tsr_buf_puts(out, j ? ",{\"key\":\"" : "{\"key\":\"");
        tsr_json_escape(out, t->key, strlen(t->key));
        tsr_buf_printf(out, "\",\"distinct_values\":%.0f}", est[order[j]]);
    }
    tsr_buf_puts(out, "]");
}

void tsr_cardinality_json(const struct tsr_cardinality *g, int64_t now_ms, struct tsr_buf *out)
{
    if (!g) {
        tsr_buf_puts(out, "{\"enabled\":false}");
        return;
    }
    struct entry **list = malloc(TSR_CARD_MAX_TRACKED * sizeof(*list));
    if (!list) abort();
    size_t n = g->window == now_ms / g->window_ms ? shown(g, list) : 0;
    int64_t ends = (now_ms / g->window_ms + 1) * g->window_ms;
    tsr_buf_printf(out,
                   "{\"enabled\":true,\"max_series\":%lld,\"max_measurements\":%lld,"
                   "\"window_ms\":%lld,\"window_ends_ms\":%lld,\"series\":%lld,"
                   "\"measurements_tracked\":%zu,\"refused_window\":%llu,\"refused_total\":%llu,"
                   "\"memory_bytes\":%zu,\"measurements\":[",
                   (long long)g->max_series, (long long)g->max_measurements,
                   (long long)g->window_ms, (long long)ends, (long long)g->series, g->entries,
                   (unsigned long long)g->refused_window, (unsigned long long)g->refused_total,
                   memory_bytes(g));
    for (size_t i = 0; i < n; i++) {
        struct entry *e = list[i];
        tsr_buf_puts(out, i ? ",{\"db\":" : "{\"db\":");
        tsr_json_string(out, e->db);
        tsr_buf_puts(out, ",\"measurement\":\"");
        struct tsr_buf plain = {0};
        tsr_lp_unescape(&plain, e->meas, strlen(e->meas), ", ");
        tsr_json_escape(out, plain.data ? plain.data : "", plain.len);
        tsr_buf_free(&plain);
        tsr_buf_printf(out, "\",\"series\":%lld,\"cap\":%lld,\"refused\":%llu,\"top_tags\":",
                       (long long)e->count, (long long)g->max_series,
                       (unsigned long long)e->refused);
        tag_json(e, out);
        tsr_buf_puts(out, "}");
    }
    tsr_buf_puts(out, "]}");
    free(list);
}

static void label(struct tsr_buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' || s[i] == '"') tsr_buf_putc(out, '\\');
        if (s[i] == '\n') {
            tsr_buf_puts(out, "\\n");
            continue;
        }
        tsr_buf_putc(out, s[i]);
    }
}

void tsr_cardinality_metrics(const struct tsr_cardinality *g, struct tsr_buf *out)
{
    if (!g) return;
    tsr_buf_printf(out,
                   "# HELP tsrelay_cardinality_refused_total Points refused by the cardinality "
                   "guard.\n# TYPE tsrelay_cardinality_refused_total counter\n"
                   "tsrelay_cardinality_refused_total %llu\n"
                   "# HELP tsrelay_cardinality_series Series admitted in the current window.\n"
                   "# TYPE tsrelay_cardinality_series gauge\ntsrelay_cardinality_series %lld\n"
                   "# HELP tsrelay_cardinality_measurements Measurements (and databases) "
                   "tracked in the current window.\n"
                   "# TYPE tsrelay_cardinality_measurements gauge\n"
                   "tsrelay_cardinality_measurements %zu\n"
                   "# HELP tsrelay_cardinality_memory_bytes Memory the guard holds.\n"
                   "# TYPE tsrelay_cardinality_memory_bytes gauge\n"
                   "tsrelay_cardinality_memory_bytes %zu\n",
                   (unsigned long long)g->refused_total, (long long)g->series, g->entries,
                   memory_bytes(g));
    struct entry **list = malloc(TSR_CARD_MAX_TRACKED * sizeof(*list));
    if (!list) abort();
    size_t n = shown(g, list);
    tsr_buf_puts(out, "# HELP tsrelay_cardinality_hot_series Series this window of the "
                      "measurements at or above 80 % of cardinality.max_series.\n"
                      "# TYPE tsrelay_cardinality_hot_series gauge\n");
    for (size_t i = 0; i < n; i++) {
        tsr_buf_puts(out, "tsrelay_cardinality_hot_series{db=\"");
        label(out, list[i]->db, strlen(list[i]->db));
        tsr_buf_puts(out, "\",measurement=\"");
        label(out, list[i]->meas, strlen(list[i]->meas));
        tsr_buf_printf(out, "\"} %lld\n", (long long)list[i]->count);
    }
    free(list);
}

/* config/config.c — loads a YAML config by walking the schema (config/schema.c).
 *
 * libyaml's document API gives a node tree with a line and column on every key and
 * value; the walker matches each map key against the schema rows, so every error can
 * name the position and the full key. The first error stops the load: one message, the
 * one the operator has to fix first. */
#include "config/config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "relay/core/buf.h"

#define MAX_FILE_BYTES   (16 << 20) /* a config this big is a mistake, not a config */
#define MAX_SECRET_BYTES 65536      /* room for a PEM key with its chain */
#define MAX_KEYS         64         /* rows per schema table */
#define NAME_LEN         256        /* longest key name shown in a message */

#define FIELD(base, off, type) ((type *)(void *)((char *)(base) + (off)))

struct loader {
    const char *name; /* the file name in messages */
    const char *text; /* the whole input, to place reader errors */
    size_t len;
    yaml_document_t doc;
    char *err;
    size_t errlen;
};

/* One map being walked against one schema table. */
struct walk {
    const struct tsr_config_key *keys;
    void *base;       /* the struct the table's offsets point into */
    const char *disp; /* prefix of key names in messages: "" or "clusters[1]" */
    bool seen[MAX_KEYS];
};

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) abort(); /* a few hundred bytes of config: nothing sensible to do without them */
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p) abort();
    return p;
}

static char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

static int fail(struct loader *ld, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct loader *ld, yaml_mark_t m, const char *fmt, ...)
{
    int n = snprintf(ld->err, ld->errlen, "%s:%zu:%zu: ", ld->name, m.line + 1, m.column + 1);
    if (n < 0 || (size_t)n >= ld->errlen) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Key names for messages and lookups live in NAME_LEN buffers. A longer name (only a
 * garbage key can be that long) is cut short: it still reads as unknown, because no
 * schema row is anywhere near that long. */
static void namef(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void namef(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, NAME_LEN, fmt, ap);
    va_end(ap);
}

/* ---- nodes -------------------------------------------------------------------------- */

static yaml_node_t *node_at(struct loader *ld, int i)
{
    return yaml_document_get_node(&ld->doc, i);
}

/* YAML's null: `key:` with nothing after it, `~` or `null`. */
static bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE) return false;
    if (n->tag && strcmp((const char *)n->tag, YAML_NULL_TAG) == 0) return true;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
    const char *s = (const char *)n->data.scalar.value;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* A scalar as a C string; NULs inside would silently cut it short. */
static int scalar_text(struct loader *ld, const yaml_node_t *n, const char *key, const char **s)
{
    *s = (const char *)n->data.scalar.value;
    if (memchr(*s, '\0', n->data.scalar.length))
        return fail(ld, n->start_mark, "'%s' must not contain a NUL character", key);
    return 0;
}

/* The value (or, with want_key, the key node) at a dotted path under map, or NULL. */
static yaml_node_t *lookup(struct loader *ld, yaml_node_t *map, const char *path, bool want_key)
{
    while (map && map->type == YAML_MAPPING_NODE) {
        size_t n = strcspn(path, ".");
        yaml_node_t *k = NULL, *v = NULL;
        for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
             p++) {
            yaml_node_t *pk = node_at(ld, p->key);
            if (pk->type == YAML_SCALAR_NODE && pk->data.scalar.length == n &&
                memcmp(pk->data.scalar.value, path, n) == 0) {
                k = pk;
                v = node_at(ld, p->value);
            }
        }
        if (!k || !path[n]) return want_key ? k : v;
        path += n + 1;
        map = v;
    }
    return NULL;
}

/* Where a post-load check points: the key's value if the file has it, else `fallback`. */
static yaml_mark_t mark_of(struct loader *ld, yaml_node_t *map, const char *path,
                           yaml_mark_t fallback)
{
    yaml_node_t *n = lookup(ld, map, path, false);
    return n ? n->start_mark : fallback;
}

/* ---- scalar values ------------------------------------------------------------------ */

/* Adds with saturation, so an absurd value fails the range check, not the syntax. */
static int64_t sat_add(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static int64_t sat_mul(int64_t a, int64_t b)
{
    return b != 0 && a > INT64_MAX / b ? INT64_MAX : a * b;
}

/* Leading digits of *p as a saturated number; -1 if there are none. */
static int64_t digits(const char **p)
{
    int64_t v = 0;
    if (**p < '0' || **p > '9') return -1;
    for (; **p >= '0' && **p <= '9'; (*p)++)
        v = sat_add(sat_mul(v, 10), **p - '0');
    return v;
}

static int parse_int(const char *s, int64_t *v)
{
    bool neg = *s == '-';
    if (*s == '-' || *s == '+') s++;
    int64_t x = digits(&s);
    if (x < 0 || *s) return -1;
    *v = neg ? -x : x;
    return 0;
}

/* "65536", "64k", "64 KB" (SI), "64KiB", "64Ki" (binary), up to T/TiB. */
static int parse_size(const char *s, int64_t *v)
{
    static const struct {
        const char *unit;
        int64_t mult;
    } units[] = {
        {"", 1},
        {"b", 1},
        {"k", 1000},
        {"kb", 1000},
        {"ki", INT64_C(1) << 10},
        {"kib", INT64_C(1) << 10},
        {"m", 1000000},
        {"mb", 1000000},
        {"mi", INT64_C(1) << 20},
        {"mib", INT64_C(1) << 20},
        {"g", 1000000000},
        {"gb", 1000000000},
        {"gi", INT64_C(1) << 30},
        {"gib", INT64_C(1) << 30},
        {"t", INT64_C(1000000000000)},
        {"tb", INT64_C(1000000000000)},
        {"ti", INT64_C(1) << 40},
        {"tib", INT64_C(1) << 40},
    };
    int64_t n = digits(&s);
    if (n < 0) return -1;
    while (*s == ' ')
        s++;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(s, units[i].unit) == 0) {
            *v = sat_mul(n, units[i].mult);
            return 0;
        }
    }
    return -1;
}

/* Milliseconds: "500" alone, or number-unit pairs: "500ms", "30s", "2m", "1h", "1m30s". */
static int parse_duration(const char *s, int64_t *v)
{
    const char *p = s;
    int64_t total = digits(&p);
    if (total < 0) return -1;
    if (!*p) {
        *v = total;
        return 0;
    }
    total = 0;
    for (p = s; *p;) {
        int64_t n = digits(&p), mult;
        if (n < 0) return -1;
        if (strncmp(p, "ms", 2) == 0) {
            mult = 1;
            p += 2;
        } else if (*p == 's' || *p == 'm' || *p == 'h' || *p == 'd') {
            mult = *p == 's' ? 1000 : *p == 'm' ? 60000 : *p == 'h' ? 3600000 : 86400000;
            p++;
        } else {
            return -1;
        }
        total = sat_add(total, sat_mul(n, mult));
    }
    *v = total;
    return 0;
}

static int parse_bool(const char *s, int *v)
{
    if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on")) {
        *v = 1;
        return 0;
    }
    if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off")) {
        *v = 0;
        return 0;
    }
    return -1;
}

static bool is_secret(enum tsr_config_type t)
{
    return t == TSR_CT_SECRET_FILE || t == TSR_CT_SECRET_ENV;
}

static bool is_secret_list(enum tsr_config_type t)
{
    return t == TSR_CT_SECRET_FILES || t == TSR_CT_SECRET_ENVS;
}

/* ---- defaults and freeing ------------------------------------------------------------ */

/* token_file and token_env fill one field; the first row naming a field owns it. */
static bool owns_field(const struct tsr_config_key *keys, const struct tsr_config_key *k)
{
    for (const struct tsr_config_key *o = keys; o < k; o++)
        if (o->off == k->off) return false;
    return true;
}

static void set_defaults(const struct tsr_config_key *keys, void *base)
{
    size_t nkeys = 0;
    while (keys[nkeys].name)
        nkeys++;
    assert(nkeys <= MAX_KEYS); /* struct walk's seen[] holds one table */
    for (const struct tsr_config_key *k = keys; k->name; k++) {
        int rc = 0;
        switch (k->type) {
        case TSR_CT_STRING:
            *FIELD(base, k->off, char *) = xstrdup(k->def ? k->def : "");
            break;
        case TSR_CT_SECRET_FILE:
        case TSR_CT_SECRET_ENV:
            if (owns_field(keys, k)) *FIELD(base, k->off, char *) = xstrdup("");
            break;
        case TSR_CT_INT:
            if (k->def) rc = parse_int(k->def, FIELD(base, k->off, int64_t));
            break;
        case TSR_CT_SIZE:
            if (k->def) rc = parse_size(k->def, FIELD(base, k->off, int64_t));
            break;
        case TSR_CT_DURATION:
            if (k->def) rc = parse_duration(k->def, FIELD(base, k->off, int64_t));
            break;
        case TSR_CT_BOOL:
            if (k->def) rc = parse_bool(k->def, FIELD(base, k->off, int));
            break;
        default: /* lists and maps start empty */
            break;
        }
        if (rc) {
            /* A schema row whose default does not parse is a bug in config/schema.c. */
            fprintf(stderr, "%s:%d: bad default '%s' for '%s'\n", __FILE__, __LINE__, k->def,
                    k->name);
            abort();
        }
    }
}

static void wipe_free(char *s)
{
    if (!s) return;
    explicit_bzero(s, strlen(s));
    free(s);
}

static void free_fields(const struct tsr_config_key *keys, void *base)
{
    for (const struct tsr_config_key *k = keys; k->name; k++) {
        if (!owns_field(keys, k)) continue;
        void *field = FIELD(base, k->off, void);
        size_t n = k->count_off ? *FIELD(base, k->count_off, size_t) : 0;
        switch (k->type) {
        case TSR_CT_STRING:
            free(*(char **)field);
            break;
        case TSR_CT_SECRET_FILE:
        case TSR_CT_SECRET_ENV:
            wipe_free(*(char **)field);
            break;
        case TSR_CT_LIST:
        case TSR_CT_SECRET_FILES:
        case TSR_CT_SECRET_ENVS:
            for (size_t i = 0; i < n; i++)
                wipe_free((*(char ***)field)[i]);
            free(*(char ***)field);
            break;
        case TSR_CT_MAP:
            for (size_t i = 0; i < n; i++) {
                free((*(struct tsr_kv **)field)[i].key);
                wipe_free((*(struct tsr_kv **)field)[i].value); /* may come from *_file */
            }
            free(*(struct tsr_kv **)field);
            break;
        case TSR_CT_MAPLIST:
            for (size_t i = 0; i < n; i++)
                free_fields(k->sub, (char *)*(void **)field + i * k->sub_size);
            free(*(void **)field);
            break;
        default:
            break;
        }
    }
}

/* ---- comparing two configs (reload) ---------------------------------------------------- */

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool rows_equal(const struct tsr_config_key *keys, const void *a, const void *b);

static bool field_equal(const struct tsr_config_key *k, const void *a, const void *b)
{
    const void *fa = FIELD(a, k->off, const void), *fb = FIELD(b, k->off, const void);
    size_t na = k->count_off ? *FIELD(a, k->count_off, const size_t) : 0;
    size_t nb = k->count_off ? *FIELD(b, k->count_off, const size_t) : 0;
    switch (k->type) {
    case TSR_CT_STRING:
    case TSR_CT_SECRET_FILE:
    case TSR_CT_SECRET_ENV:
        return str_eq(*(char *const *)fa, *(char *const *)fb);
    case TSR_CT_INT:
    case TSR_CT_SIZE:
    case TSR_CT_DURATION:
        return *(const int64_t *)fa == *(const int64_t *)fb;
    case TSR_CT_BOOL:
        return *(const int *)fa == *(const int *)fb;
    case TSR_CT_LIST:
    case TSR_CT_SECRET_FILES:
    case TSR_CT_SECRET_ENVS:
        if (na != nb) return false;
        for (size_t i = 0; i < na; i++)
            if (!str_eq((*(char **const *)fa)[i], (*(char **const *)fb)[i])) return false;
        return true;
    case TSR_CT_MAP:
        if (na != nb) return false;
        for (size_t i = 0; i < na; i++) {
            const struct tsr_kv *x = &(*(struct tsr_kv *const *)fa)[i];
            const struct tsr_kv *y = &(*(struct tsr_kv *const *)fb)[i];
            if (!str_eq(x->key, y->key) || !str_eq(x->value, y->value)) return false;
        }
        return true;
    case TSR_CT_MAPLIST:
        if (na != nb) return false;
        for (size_t i = 0; i < na; i++)
            if (!rows_equal(k->sub, (const char *)*(void *const *)fa + i * k->sub_size,
                            (const char *)*(void *const *)fb + i * k->sub_size))
                return false;
        return true;
    }
    return true;
}

static bool rows_equal(const struct tsr_config_key *keys, const void *a, const void *b)
{
    for (const struct tsr_config_key *k = keys; k->name; k++)
        if (!field_equal(k, a, b)) return false;
    return true;
}

/* name is prefix, or lies under it ("ingest.auth" holds "ingest.auth.users"). */
static bool under(const char *name, const char *const *prefixes)
{
    for (; prefixes && *prefixes; prefixes++) {
        size_t n = strlen(*prefixes);
        if (strncmp(name, *prefixes, n) == 0 && (name[n] == '\0' || name[n] == '.')) return true;
    }
    return false;
}

const char *tsr_config_differs(const struct tsr_config *a, const struct tsr_config *b,
                               const char *const *within, const char *const *except)
{
    for (const struct tsr_config_key *k = tsr_config_keys; k->name; k++) {
        if ((within && !under(k->name, within)) || under(k->name, except)) continue;
        if (!field_equal(k, a, b)) return k->name;
    }
    return NULL;
}

/* ---- secrets ------------------------------------------------------------------------- */

/* The whole file, minus trailing newlines. Read with read(2) into one buffer that is
 * wiped afterwards, so no stdio buffer keeps a copy of the secret. */
static int secret_from_file(struct loader *ld, yaml_mark_t m, const char *key, const char *path,
                            char **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(ld, m, "cannot read '%s' for '%s': %s", path, key, strerror(errno));
    char *buf = xcalloc(1, MAX_SECRET_BYTES + 1);
    size_t len = 0;
    ssize_t r;
    int rc = 0;
    do {
        r = read(fd, buf + len, MAX_SECRET_BYTES + 1 - len);
        if (r > 0) len += (size_t)r;
    } while ((r > 0 || (r < 0 && errno == EINTR)) && len <= MAX_SECRET_BYTES);
    if (r < 0) rc = fail(ld, m, "cannot read '%s' for '%s': %s", path, key, strerror(errno));
    close(fd);

    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    if (rc) {
    } else if (len > MAX_SECRET_BYTES) {
        rc = fail(ld, m, "'%s' for '%s' is larger than 64KiB", path, key);
    } else if (len == 0) {
        rc = fail(ld, m, "'%s' for '%s' is empty", path, key);
    } else if (memchr(buf, '\0', len)) {
        rc = fail(ld, m, "'%s' for '%s' must not contain a NUL character", path, key);
    } else {
        *out = xstrndup(buf, len);
    }
    explicit_bzero(buf, MAX_SECRET_BYTES + 1);
    free(buf);
    return rc;
}

static int secret_from_env(struct loader *ld, yaml_mark_t m, const char *key, const char *var,
                           char **out)
{
    const char *v = getenv(var);
    if (!v) return fail(ld, m, "environment variable '%s' for '%s' is not set", var, key);
    if (!*v) return fail(ld, m, "environment variable '%s' for '%s' is empty", var, key);
    *out = xstrdup(v);
    return 0;
}

static int read_secret(struct loader *ld, bool from_file, const yaml_node_t *vn, const char *key,
                       char **out)
{
    const char *s =
        vn->type == YAML_SCALAR_NODE && !is_null(vn) ? (const char *)vn->data.scalar.value : "";
    if (!*s || (vn->type == YAML_SCALAR_NODE && memchr(s, '\0', vn->data.scalar.length)))
        return fail(ld, vn->start_mark, "'%s' must be %s", key,
                    from_file ? "a file path" : "an environment variable name");
    return from_file ? secret_from_file(ld, vn->start_mark, key, s, out)
                     : secret_from_env(ld, vn->start_mark, key, s, out);
}

/* Names librdkafka uses for secrets: sasl.password, ssl.key.password, *.secret, ... */
static bool is_secret_property(const char *name)
{
    const char *last = strrchr(name, '.');
    last = last ? last + 1 : name;
    return !strcmp(last, "password") || !strcmp(last, "secret") || !strcmp(name, "ssl.key.pem");
}

/* ---- walking the document against the schema ------------------------------------------ */

static int walk_map(struct loader *ld, struct walk *w, const char *sect, yaml_node_t *map,
                    yaml_mark_t at);

static void key_name(char *buf, const char *disp, const char *rel)
{
    namef(buf, "%s%s%s", disp, *disp && *rel ? "." : "", rel);
}

static int find_key(const struct tsr_config_key *keys, const char *name)
{
    for (int i = 0; keys[i].name; i++)
        if (strcmp(keys[i].name, name) == 0) return i;
    return -1;
}

/* Whether some key lies under `name.`, i.e. `name` is a section such as "ingest.auth". */
static bool is_section(const struct tsr_config_key *keys, const char *name)
{
    size_t n = strlen(name);
    for (const struct tsr_config_key *k = keys; k->name; k++)
        if (strncmp(k->name, name, n) == 0 && k->name[n] == '.') return true;
    return false;
}

static bool in_section(const char *name, const char *sect)
{
    size_t n = strlen(sect);
    return n == 0 || (strncmp(name, sect, n) == 0 && name[n] == '.');
}

static int check_string(struct loader *ld, const struct tsr_config_key *k, const char *key,
                        const char *s, yaml_mark_t m)
{
    char why[192];
    if (k->choices) {
        size_t n = strlen(s);
        for (const char *c = k->choices;; c++) {
            size_t len = strcspn(c, "|");
            if (len == n && strncmp(c, s, n) == 0) return 0;
            c += len;
            if (!*c) break;
        }
        /* "a|b|c" reads as "a, b, c" */
        char list[128];
        size_t j = 0;
        for (const char *c = k->choices; *c && j + 3 < sizeof(list); c++) {
            if (*c == '|') list[j++] = ',';
            list[j++] = *c == '|' ? ' ' : *c;
        }
        list[j] = '\0';
        return fail(ld, m, "'%s' must be one of %s", key, list);
    }
    if (k->check && k->check(s, why, sizeof(why))) return fail(ld, m, "'%s' %s", key, why);
    return 0;
}

static int set_list(struct loader *ld, void *base, const struct tsr_config_key *k, const char *key,
                    yaml_node_t *vn)
{
    char item[NAME_LEN];
    size_t n = 0;
    if (!is_null(vn) && vn->type != YAML_SEQUENCE_NODE)
        return fail(ld, vn->start_mark, "'%s' must be a list of strings", key);
    if (vn->type == YAML_SEQUENCE_NODE)
        n = (size_t)(vn->data.sequence.items.top - vn->data.sequence.items.start);
    if ((int64_t)n < k->min)
        return k->min == 1 ? fail(ld, vn->start_mark, "'%s' must not be empty", key)
                           : fail(ld, vn->start_mark, "'%s' must have at least %lld items", key,
                                  (long long)k->min);
    if (k->max && (int64_t)n > k->max)
        return fail(ld, vn->start_mark, "'%s' must have at most %lld items", key,
                    (long long)k->max);

    char ***list = FIELD(base, k->off, char **);
    size_t *count = FIELD(base, k->count_off, size_t);
    *list = xcalloc(n, sizeof(char *));
    *count = n; /* NULL entries free fine if we stop half way */
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *in = node_at(ld, vn->data.sequence.items.start[i]);
        const char *s;
        namef(item, "%s[%zu]", key, i);
        if (in->type != YAML_SCALAR_NODE)
            return fail(ld, in->start_mark, "'%s' must be a string", item);
        if (scalar_text(ld, in, item, &s)) return -1;
        if (is_null(in)) s = "";
        if (check_string(ld, k, item, s, in->start_mark)) return -1;
        (*list)[i] = xstrdup(s);
    }
    return 0;
}

/* kafka.properties: free-form names, checked by the row; NAME_file / NAME_env read NAME's
 * value from a file or variable, which is the only way to give a secret. */
static int set_map(struct loader *ld, void *base, const struct tsr_config_key *k, const char *key,
                   yaml_node_t *vn)
{
    char name[NAME_LEN], why[192];
    size_t n = 0;
    if (!is_null(vn) && vn->type != YAML_MAPPING_NODE)
        return fail(ld, vn->start_mark, "'%s' must be a map", key);
    if (vn->type == YAML_MAPPING_NODE)
        n = (size_t)(vn->data.mapping.pairs.top - vn->data.mapping.pairs.start);

    struct tsr_kv **kv = FIELD(base, k->off, struct tsr_kv *);
    size_t *count = FIELD(base, k->count_off, size_t);
    *kv = xcalloc(n, sizeof(struct tsr_kv));
    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *p = &vn->data.mapping.pairs.start[i];
        yaml_node_t *pk = node_at(ld, p->key), *pv = node_at(ld, p->value);
        const char *prop, *s;
        if (pk->type != YAML_SCALAR_NODE)
            return fail(ld, pk->start_mark, "keys of '%s' must be strings", key);
        if (scalar_text(ld, pk, key, &prop)) return -1;
        namef(name, "%s.%s", key, prop);
        if (pv->type != YAML_SCALAR_NODE)
            return fail(ld, pv->start_mark, "'%s' must be a string", name);
        if (scalar_text(ld, pv, name, &s)) return -1;

        size_t len = strlen(prop), cut = 0;
        bool plain = k->flags & TSR_CK_PLAIN;
        if (!plain && len > 5 && strcmp(prop + len - 5, "_file") == 0) cut = 5;
        if (!plain && len > 4 && strcmp(prop + len - 4, "_env") == 0) cut = 4;
        char *pname = xstrndup(prop, len - cut);
        char shown[NAME_LEN];
        namef(shown, "%s.%s", key, pname);
        int rc = 0;
        for (size_t j = 0; !rc && j < *count; j++)
            if (strcmp((*kv)[j].key, pname) == 0)
                rc = fail(ld, pk->start_mark, "duplicate key '%s'", shown);
        if (!rc && k->check && k->check(pname, why, sizeof(why)))
            rc = fail(ld, pk->start_mark, "'%s' %s", shown, why);
        if (!rc && !cut && !plain && is_secret_property(pname))
            rc =
                fail(ld, pk->start_mark,
                     "inline secret '%s' not allowed: use '%s_file' or '%s_env'", name, name, name);
        char *value = NULL;
        if (!rc && cut) rc = read_secret(ld, cut == 5, pv, name, &value);
        if (!rc && !cut) value = xstrdup(is_null(pv) ? "" : s);
        if (rc) {
            free(pname);
            return -1;
        }
        (*kv)[*count].key = pname;
        (*kv)[*count].value = value;
        (*count)++;
    }
    return 0;
}

static int set_maplist(struct loader *ld, void *base, const struct tsr_config_key *k,
                       const char *key, yaml_node_t *vn)
{
    char item[NAME_LEN];
    size_t n = 0;
    if (!is_null(vn) && vn->type != YAML_SEQUENCE_NODE)
        return fail(ld, vn->start_mark, "'%s' must be a list of maps", key);
    if (vn->type == YAML_SEQUENCE_NODE)
        n = (size_t)(vn->data.sequence.items.top - vn->data.sequence.items.start);

    char *entries = xcalloc(n, k->sub_size);
    *FIELD(base, k->off, void *) = entries;
    *FIELD(base, k->count_off, size_t) = n;
    for (size_t i = 0; i < n; i++)
        set_defaults(k->sub, entries + i * k->sub_size);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *in = node_at(ld, vn->data.sequence.items.start[i]);
        namef(item, "%s[%zu]", key, i);
        if (in->type != YAML_MAPPING_NODE)
            return fail(ld, in->start_mark, "'%s' must be a map", item);
        struct walk sub = {.keys = k->sub, .base = entries + i * k->sub_size, .disp = item};
        if (walk_map(ld, &sub, "", in, in->start_mark)) return -1;
    }
    return 0;
}

static int set_secret_list(struct loader *ld, void *base, const struct tsr_config_key *k,
                           const char *key, yaml_node_t *vn)
{
    char item[NAME_LEN];
    bool from_file = k->type == TSR_CT_SECRET_FILES;
    if (is_null(vn)) return 0;
    if (vn->type != YAML_SEQUENCE_NODE)
        return fail(ld, vn->start_mark, "'%s' must be a list of %s", key,
                    from_file ? "file paths" : "environment variable names");
    size_t n = (size_t)(vn->data.sequence.items.top - vn->data.sequence.items.start);
    char ***list = FIELD(base, k->off, char **);
    size_t *count = FIELD(base, k->count_off, size_t);
    /* token_files and token_envs append to the same list */
    char **grown = realloc(*list, (*count + n + 1) * sizeof(char *));
    if (!grown) abort();
    *list = grown;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *in = node_at(ld, vn->data.sequence.items.start[i]);
        namef(item, "%s[%zu]", key, i);
        if (read_secret(ld, from_file, in, item, &(*list)[*count])) return -1;
        (*count)++;
    }
    return 0;
}

static int set_value(struct loader *ld, struct walk *w, const struct tsr_config_key *k,
                     const char *key, yaml_node_t *kn, yaml_node_t *vn)
{
    void *field = FIELD(w->base, k->off, void);
    yaml_mark_t m = vn->start_mark;
    bool scalar = vn->type == YAML_SCALAR_NODE && !is_null(vn);
    const char *s = "";
    int64_t v = 0;
    int rc = 0;
    if (scalar && scalar_text(ld, vn, key, &s)) return -1;

    switch (k->type) {
    case TSR_CT_STRING:
        if (vn->type != YAML_SCALAR_NODE) return fail(ld, m, "'%s' must be a string", key);
        if (check_string(ld, k, key, s, m)) return -1;
        free(*(char **)field);
        *(char **)field = xstrdup(s);
        return 0;
    case TSR_CT_INT:
        if (!scalar || parse_int(s, &v)) return fail(ld, m, "'%s' must be an integer", key);
        break;
    case TSR_CT_SIZE:
        if (!scalar || parse_size(s, &v))
            return fail(ld, m, "'%s' must be a size such as 65536, 64KiB or 64MB", key);
        break;
    case TSR_CT_DURATION:
        if (!scalar || parse_duration(s, &v))
            return fail(ld, m, "'%s' must be a duration such as 500ms, 30s, 2m or 7d", key);
        break;
    case TSR_CT_BOOL:
        if (!scalar || parse_bool(s, (int *)field))
            return fail(ld, m, "'%s' must be true or false", key);
        return 0;
    case TSR_CT_LIST:
        return set_list(ld, w->base, k, key, vn);
    case TSR_CT_MAP:
        return set_map(ld, w->base, k, key, vn);
    case TSR_CT_MAPLIST:
        return set_maplist(ld, w->base, k, key, vn);
    case TSR_CT_SECRET_FILES:
    case TSR_CT_SECRET_ENVS:
        return set_secret_list(ld, w->base, k, key, vn);
    case TSR_CT_SECRET_FILE:
    case TSR_CT_SECRET_ENV:
        /* token_file and token_env are two ways to one field: only one may be given */
        for (int i = 0; w->keys[i].name; i++) {
            const struct tsr_config_key *o = &w->keys[i];
            if (o != k && o->off == k->off && w->seen[i]) {
                char other[NAME_LEN];
                key_name(other, w->disp, o->name);
                return fail(ld, kn->start_mark, "'%s' cannot be used together with '%s'", key,
                            other);
            }
        }
        char *secret;
        if (read_secret(ld, k->type == TSR_CT_SECRET_FILE, vn, key, &secret)) return -1;
        wipe_free(*(char **)field);
        *(char **)field = secret;
        return 0;
    }
    if (v < k->min || v > k->max)
        rc = fail(ld, m, "'%s' must be between %lld and %lld", key, (long long)k->min,
                  (long long)k->max);
    else
        *(int64_t *)field = v;
    return rc;
}

/* An unknown key, with a hint where a likely intent is clear. */
static int unknown_key(struct loader *ld, struct walk *w, const char *rel, const char *name,
                       const char *key, yaml_node_t *kn)
{
    char alt[NAME_LEN];
    size_t n = strlen(rel);
    int i;
    /* "token: abc" where token_file / token_env exist */
    namef(alt, "%s_file", rel);
    i = find_key(w->keys, alt);
    if (i >= 0 && is_secret(w->keys[i].type))
        return fail(ld, kn->start_mark, "inline secret '%s' not allowed: use '%s_file' or '%s_env'",
                    key, key, key);
    /* "tokens: [...]" where token_files / token_envs exist */
    namef(alt, "%.*s_files", (int)(n ? n - 1 : 0), rel);
    i = n > 1 && rel[n - 1] == 's' ? find_key(w->keys, alt) : -1;
    if (i >= 0 && is_secret_list(w->keys[i].type)) {
        int kl = (int)strlen(key) - 1;
        return fail(ld, kn->start_mark,
                    "inline secret '%s' not allowed: use '%.*s_files' or '%.*s_envs'", key, kl, key,
                    kl, key);
    }
    if (strchr(name, '.') && (find_key(w->keys, rel) >= 0 || is_section(w->keys, rel)))
        return fail(ld, kn->start_mark, "dotted key '%s' not allowed: nest it as maps", key);
    return fail(ld, kn->start_mark, "unknown key '%s'", key);
}

/* Whether a required row is given; one of a *_file / *_env pair is enough. */
static bool given(const struct walk *w, int i)
{
    if (w->seen[i]) return true;
    for (int j = 0; w->keys[j].name; j++)
        if (w->seen[j] && is_secret(w->keys[i].type) && w->keys[j].off == w->keys[i].off)
            return true;
    return false;
}

/* Walks one map of the file. `sect` is the schema section it stands for ("" for the top
 * of the table, "ingest.auth", ...); `at` is where a missing key is reported: the key that
 * opened this map, or the start of the document or list entry. */
static int walk_map(struct loader *ld, struct walk *w, const char *sect, yaml_node_t *map,
                    yaml_mark_t at)
{
    char rel[NAME_LEN], key[NAME_LEN];
    size_t n = map ? (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start) : 0;

    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *pairs = map->data.mapping.pairs.start;
        yaml_node_t *kn = node_at(ld, pairs[i].key), *vn = node_at(ld, pairs[i].value);
        if (kn->type != YAML_SCALAR_NODE) {
            key_name(key, w->disp, sect);
            if (!*key) return fail(ld, kn->start_mark, "a key at the top level is not a string");
            return fail(ld, kn->start_mark, "a key in '%s' is not a string", key);
        }
        const char *name = (const char *)kn->data.scalar.value;
        namef(rel, "%s%s%s", sect, *sect ? "." : "", name);
        key_name(key, w->disp, rel);
        for (size_t j = 0; j < i; j++) {
            yaml_node_t *o = node_at(ld, pairs[j].key);
            if (o->type == YAML_SCALAR_NODE && o->data.scalar.length == kn->data.scalar.length &&
                memcmp(o->data.scalar.value, name, kn->data.scalar.length) == 0)
                return fail(ld, kn->start_mark, "duplicate key '%s'", key);
        }

        bool dotted = strchr(name, '.') || memchr(name, '\0', kn->data.scalar.length);
        int idx = dotted ? -1 : find_key(w->keys, rel);
        if (idx >= 0) {
            assert(idx < MAX_KEYS);
            w->seen[idx] = true;
            if (set_value(ld, w, &w->keys[idx], key, kn, vn)) return -1;
        } else if (!dotted && is_section(w->keys, rel)) {
            if (!is_null(vn) && vn->type != YAML_MAPPING_NODE)
                return fail(ld, vn->start_mark, "'%s' must be a map", key);
            if (walk_map(ld, w, rel, is_null(vn) ? NULL : vn, kn->start_mark)) return -1;
        } else {
            return unknown_key(ld, w, rel, name, key, kn);
        }
    }

    /* Keys of sections present in this map were checked by the walk into them; what is
     * missing here belongs to this map or to a section the file left out. */
    for (int i = 0; w->keys[i].name; i++) {
        const struct tsr_config_key *k = &w->keys[i];
        if (!(k->flags & TSR_CK_REQUIRED) || !in_section(k->name, sect) || given(w, i)) continue;
        key_name(key, w->disp, k->name);
        if (is_secret(k->type)) {
            for (int j = i + 1; w->keys[j].name; j++) {
                if (w->keys[j].off != k->off) continue;
                key_name(rel, w->disp, w->keys[j].name);
                return fail(ld, at, "missing required key '%s' or '%s'", key, rel);
            }
        }
        return fail(ld, at, "missing required key '%s'", key);
    }
    return 0;
}

/* ---- checks across keys -------------------------------------------------------------- */

static yaml_node_t *item_at(struct loader *ld, yaml_node_t *seq, size_t i)
{
    return node_at(ld, seq->data.sequence.items.start[i]);
}

/* Entries of a list of maps whose first field is `char *name` must differ by name. */
static int unique_names(struct loader *ld, yaml_node_t *root, const char *list, const void *arr,
                        size_t n, size_t size)
{
    yaml_node_t *seq = lookup(ld, root, list, false);
    for (size_t i = 1; i < n; i++) {
        const char *name = *(char *const *)(const void *)((const char *)arr + i * size);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(name, *(char *const *)(const void *)((const char *)arr + j * size)))
                continue;
            yaml_mark_t m =
                mark_of(ld, item_at(ld, seq, i), "name", item_at(ld, seq, i)->start_mark);
            return fail(ld, m, "'%s[%zu].name' must be unique: '%s' is already used", list, i,
                        name);
        }
    }
    return 0;
}

/* Kafka takes a group.instance.id of letters, digits, '.', '_' and '-' (up to 249). */
static int check_instance(const char *s, char *why, size_t whylen)
{
    size_t n = strlen(s);
    int ok = n >= 1 && n <= 200;
    for (const char *p = s; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.';
    if (!ok) snprintf(why, whylen, "must be 1 to 200 letters, digits, '-', '_' or '.'");
    return ok ? 0 : -1;
}

/* tls.*: both files or neither; the listeners named resolved to flags. */
static int validate_tls(struct loader *ld, struct tsr_config *cf, yaml_node_t *root,
                        yaml_mark_t top)
{
    if (!*cf->tls_cert_file != !*cf->tls_key_file)
        return fail(ld, mark_of(ld, root, *cf->tls_cert_file ? "tls.cert_file" : "tls.key_file", top),
                    "'tls.cert_file' and 'tls.key_file' go together: set both or neither");
    if (*cf->tls_client_ca_file && !*cf->tls_cert_file)
        return fail(ld, mark_of(ld, root, "tls.client_ca_file", top),
                    "'tls.client_ca_file' needs 'tls.cert_file' and 'tls.key_file'");
    if (cf->ntls_listeners && !*cf->tls_cert_file)
        return fail(ld, mark_of(ld, root, "tls.listeners", top),
                    "'tls.listeners' needs 'tls.cert_file' and 'tls.key_file'");
    if (!*cf->tls_cert_file) return 0;
    if (cf->ntls_listeners == 0) cf->tls_http = cf->tls_admin = 1;
    for (size_t i = 0; i < cf->ntls_listeners; i++) {
        const char *l = cf->tls_listeners[i];
        cf->tls_http |= strcmp(l, "http") == 0;
        cf->tls_graphite |= strcmp(l, "graphite") == 0;
        cf->tls_admin |= strcmp(l, "admin") == 0;
    }
    return 0;
}

/* A format's own keys only make sense with that format; two inputs of one topic on one
 * Kafka would share a group and read each record once between them. */
static int validate_kafka_inputs(struct loader *ld, struct tsr_config *cf, yaml_node_t *root)
{
    yaml_node_t *seq = lookup(ld, root, "inputs.kafka", false);
    for (size_t i = 0; i < cf->nkafka_inputs; i++) {
        const struct tsr_kafka_input_conf *in = &cf->kafka_inputs[i];
        yaml_node_t *item = item_at(ld, seq, i);
        int json = strcmp(in->format, "json") == 0;
        if (!json && lookup(ld, item, "json", true))
            return fail(ld, item->start_mark,
                        "'inputs.kafka[%zu]': json keys go with format json, not %s", i, in->format);
        if (strcmp(in->format, "graphite") != 0 && in->ngraphite_templates)
            return fail(ld, item->start_mark,
                        "'inputs.kafka[%zu]': graphite.templates go with format graphite", i);
        if (json && !*in->json_measurement && !*in->json_name_key)
            return fail(ld, item->start_mark,
                        "'inputs.kafka[%zu]' needs 'json.measurement' or 'json.name_key'", i);
        if (strcmp(in->topic, cf->kafka_topic) == 0 && !*in->brokers)
            return fail(ld, item->start_mark,
                        "'inputs.kafka[%zu].topic' is the relay's own topic (kafka.topic)", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(in->topic, cf->kafka_inputs[j].topic) == 0 &&
                strcmp(in->brokers, cf->kafka_inputs[j].brokers) == 0)
                return fail(ld, item->start_mark,
                            "'inputs.kafka[%zu]' reads the same topic as 'inputs.kafka[%zu]'", i, j);
    }
    return 0;
}

static int validate(struct loader *ld, struct tsr_config *cf, yaml_node_t *root)
{
    yaml_mark_t top = root ? root->start_mark : (yaml_mark_t){0};

    if (!*cf->instance) {
        const char *env = getenv("TSRELAY_INSTANCE");
        char host[256] = "";
        if (!env || !*env) {
            if (gethostname(host, sizeof(host) - 1) != 0 || !*host) snprintf(host, sizeof(host), "tsrelay");
            env = host;
        }
        free(cf->instance);
        cf->instance = xstrdup(env);
    }
    char why[128];
    if (check_instance(cf->instance, why, sizeof(why)))
        return fail(ld, mark_of(ld, root, "instance", top), "'instance' %s: '%s'", why,
                    cf->instance);

    /* The dead-letter and fleet topics default to the topic's name plus a suffix. */
    struct {
        char **topic;
        const char *key, *suffix;
    } derived[] = {{&cf->kafka_dlq_topic, "kafka.dlq_topic", ".dlq"},
                   {&cf->kafka_fleet_topic, "kafka.fleet_topic", ".fleet"}};
    for (size_t i = 0; i < sizeof(derived) / sizeof(derived[0]); i++) {
        char **t = derived[i].topic;
        if (!**t) {
            size_t n = strlen(cf->kafka_topic), m = strlen(derived[i].suffix);
            if (n + m > 249)
                return fail(ld, mark_of(ld, root, "kafka.topic", top),
                            "'kafka.topic' is too long to add '%s': set '%s'", derived[i].suffix,
                            derived[i].key);
            free(*t);
            *t = xcalloc(1, n + m + 1);
            memcpy(*t, cf->kafka_topic, n);
            memcpy(*t + n, derived[i].suffix, m);
        } else if (strcmp(*t, cf->kafka_topic) == 0) {
            return fail(ld, mark_of(ld, root, derived[i].key, top),
                        "'%s' must differ from 'kafka.topic'", derived[i].key);
        }
    }
    if (strcmp(cf->kafka_fleet_topic, cf->kafka_dlq_topic) == 0)
        return fail(ld, mark_of(ld, root, "kafka.fleet_topic", top),
                    "'kafka.fleet_topic' must differ from 'kafka.dlq_topic'");

    if (cf->kafka_min_insync_replicas > cf->kafka_replication_factor)
        return fail(ld, mark_of(ld, root, "kafka.min_insync_replicas", top),
                    "'kafka.min_insync_replicas' must not exceed 'kafka.replication_factor' "
                    "(no write could be acknowledged)");

    if (cf->ingest_max_line_bytes > cf->ingest_max_body_bytes)
        return fail(ld,
                    mark_of(ld, root, "ingest.max_line_bytes",
                            mark_of(ld, root, "ingest.max_body_bytes", top)),
                    "'ingest.max_line_bytes' must not exceed 'ingest.max_body_bytes'");

    if (unique_names(ld, root, "ingest.auth.users", cf->ingest_users, cf->ningest_users,
                     sizeof(struct tsr_user)))
        return -1;
    if (cf->ingest_auth_enabled && cf->ningest_users == 0 && cf->ningest_tokens == 0)
        return fail(ld, mark_of(ld, root, "ingest.auth.enabled", top),
                    "'ingest.auth.enabled' needs 'ingest.auth.users', 'ingest.auth.token_files' "
                    "or 'ingest.auth.token_envs'");

    if (unique_names(ld, root, "admin.tokens", cf->admin_tokens, cf->nadmin_tokens,
                     sizeof(struct tsr_admin_token)))
        return -1;
    for (size_t i = 1; i < cf->nadmin_tokens; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(cf->admin_tokens[i].token, cf->admin_tokens[j].token) == 0)
                /* One token, two names: the audit trail could not tell who it was. */
                return fail(ld, item_at(ld, lookup(ld, root, "admin.tokens", false), i)->start_mark,
                            "'admin.tokens[%zu]' holds the same token as 'admin.tokens[%zu]'", i, j);

    if (validate_tls(ld, cf, root, top)) return -1;
    if (validate_kafka_inputs(ld, cf, root)) return -1;

    if (unique_names(ld, root, "clusters", cf->clusters, cf->nclusters,
                     sizeof(struct tsr_cluster_conf)))
        return -1;
    yaml_node_t *seq = lookup(ld, root, "clusters", false);
    for (size_t i = 0; i < cf->nclusters; i++) {
        const struct tsr_cluster_conf *cc = &cf->clusters[i];
        yaml_node_t *item = item_at(ld, seq, i);
        if (!*cc->tls_cert_file != !*cc->tls_key_file)
            return fail(ld, item->start_mark,
                        "'clusters[%zu].tls_cert_file' and 'tls_key_file' go together", i);
        if (cc->verify_interval_ms > 0 && strcmp(cc->type, "influxdb") != 0 &&
            strcmp(cc->type, "victoriametrics") != 0)
            return fail(ld, item->start_mark,
                        "'clusters[%zu].verify_interval_ms': verify counts influxdb and "
                        "victoriametrics clusters, not %s", i, cc->type);
        if (cc->verify_interval_ms > 0 && cc->verify_lookback_ms / cc->verify_window_ms > 10000)
            return fail(ld, item->start_mark,
                        "'clusters[%zu].verify_lookback_ms' makes more than 10,000 windows of "
                        "'verify_window_ms'", i);
        int graphite = strcmp(cc->type, "graphite") == 0;
        for (size_t u = 0; u < cc->nurls; u++) {
            int tcp = strncasecmp(cc->urls[u], "tcp://", 6) == 0;
            if (tcp != graphite)
                return fail(ld, item->start_mark,
                            graphite ? "'clusters[%zu].urls[%zu]': a graphite cluster takes "
                                       "tcp://HOST:PORT (carbon's plaintext port)"
                                     : "'clusters[%zu].urls[%zu]': tcp:// is for graphite "
                                       "clusters; this one takes http:// or https://",
                            i, u);
        }
        if (graphite && (*cc->bearer_token || *cc->token || *cc->username || *cc->tls_ca_file ||
                         *cc->tls_cert_file))
            return fail(ld, item->start_mark,
                        "'clusters[%zu]': carbon's plaintext protocol has no credentials or TLS",
                        i);
        if (*cc->bearer_token && (*cc->token || *cc->username))
            return fail(ld, item->start_mark,
                        "'clusters[%zu]' has one Authorization header: a bearer token, or "
                        "token_*, or username, not two of them", i);
    }
    for (size_t i = 0; i < cf->nclusters; i++) {
        const struct tsr_cluster_conf *cc = &cf->clusters[i];
        if (!*cc->password || *cc->username) continue;
        yaml_node_t *item = item_at(ld, seq, i);
        yaml_node_t *kn = lookup(ld, item, "password_file", true);
        const char *which = kn ? "password_file" : "password_env";
        if (!kn) kn = lookup(ld, item, "password_env", true);
        return fail(ld, kn ? kn->start_mark : item->start_mark,
                    "'clusters[%zu].%s' needs 'clusters[%zu].username'", i, which, i);
    }
    return 0;
}

/* ---- the public functions --------------------------------------------------------------- */

static void syntax_error(struct loader *ld, const yaml_parser_t *parser)
{
    yaml_mark_t m = parser->problem_mark;
    if (parser->error == YAML_MEMORY_ERROR) abort();
    if (parser->error == YAML_READER_ERROR) {
        /* the reader knows only the byte offset */
        m = (yaml_mark_t){0};
        for (size_t i = 0; i < parser->problem_offset && i < ld->len; i++) {
            m.column = ld->text[i] == '\n' ? 0 : m.column + 1;
            m.line += ld->text[i] == '\n';
        }
    }
    const char *problem = parser->problem ? parser->problem : "invalid yaml";
    if (parser->error == YAML_SCANNER_ERROR && m.index < ld->len && ld->text[m.index] == '\t')
        fail(ld, m, "%s: yaml does not allow tabs for indentation", problem);
    else if (parser->context && parser->context_mark.line != m.line)
        /* "did not find expected key while parsing a block mapping at line 3" */
        fail(ld, m, "%s %s at line %zu", problem, parser->context, parser->context_mark.line + 1);
    else
        fail(ld, m, "%s", problem);
}

int tsr_config_load_string(const char *yaml, size_t len, const char *name, struct tsr_config **cfp,
                           char *err, size_t errlen)
{
    struct loader ld = {.name = name, .text = yaml, .len = len, .err = err, .errlen = errlen};
    struct tsr_config *cf = xcalloc(1, sizeof(*cf));
    struct walk w = {.keys = tsr_config_keys, .base = cf, .disp = ""};
    yaml_parser_t parser;
    yaml_document_t more;
    yaml_node_t *root;
    int rc = -1;

    *cfp = NULL;
    if (errlen) err[0] = '\0';
    cf->path = xstrdup(name);
    set_defaults(tsr_config_keys, cf);
    if (!yaml_parser_initialize(&parser)) abort();
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &ld.doc)) {
        syntax_error(&ld, &parser);
        goto free_parser;
    }
    /* A second document would be silently ignored: refuse it instead. */
    if (!yaml_parser_load(&parser, &more)) {
        syntax_error(&ld, &parser);
        goto free_doc;
    }
    root = yaml_document_get_root_node(&more);
    if (root) fail(&ld, more.start_mark, "a config file holds one yaml document, not several");
    yaml_document_delete(&more);
    if (root) goto free_doc;

    root = yaml_document_get_root_node(&ld.doc);
    if (root && is_null(root)) root = NULL;
    if (root && root->type != YAML_MAPPING_NODE) {
        fail(&ld, root->start_mark, "the top level must be a map of keys");
        goto free_doc;
    }
    if (walk_map(&ld, &w, "", root, root ? root->start_mark : (yaml_mark_t){0})) goto free_doc;
    if (validate(&ld, cf, root)) goto free_doc;
    rc = 0;

free_doc:
    yaml_document_delete(&ld.doc);
free_parser:
    yaml_parser_delete(&parser);
    if (rc == 0)
        *cfp = cf;
    else
        tsr_config_free(&cf);
    return rc;
}

int tsr_config_load(const char *path, struct tsr_config **cfp, char *err, size_t errlen)
{
    struct tsr_buf b = {0};
    ssize_t r;
    int rc = -1;

    *cfp = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open config '%s': %s", path, strerror(errno));
        return -1;
    }
    do {
        tsr_buf_reserve(&b, 65536);
        r = read(fd, b.data + b.len, b.cap - b.len);
        if (r > 0) b.len += (size_t)r;
    } while ((r > 0 || (r < 0 && errno == EINTR)) && b.len <= MAX_FILE_BYTES);
    if (r < 0)
        snprintf(err, errlen, "cannot read config '%s': %s", path, strerror(errno));
    else if (b.len > MAX_FILE_BYTES)
        snprintf(err, errlen, "config '%s' is larger than 16MiB", path);
    else
        rc = tsr_config_load_string(b.data, b.len, path, cfp, err, errlen);
    close(fd);
    tsr_buf_free(&b);
    return rc;
}

void tsr_config_free(struct tsr_config **cfp)
{
    struct tsr_config *cf = cfp ? *cfp : NULL;
    if (!cf) return;
    free_fields(tsr_config_keys, cf);
    free(cf->path);
    free(cf);
    *cfp = NULL;
}

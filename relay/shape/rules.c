/* relay/shape/rules.c — see rules.h. */
#include "relay/shape/rules.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "relay/shape/match.h"
#include "relay/shape/point.h"
#include "relay/core/lineproto.h"

enum action {
    A_DROP,
    A_KEEP,
    A_RENAME_MEASUREMENT,
    A_ADD_TAGS,
    A_RENAME_TAGS,
    A_DROP_TAGS,
    A_DROP_FIELDS,
};

static const char *const action_names[] = {
    "drop", "keep", "rename_measurement", "add_tags", "rename_tags", "drop_tags", "drop_fields",
};

struct tag_match {
    char *key; /* plain */
    size_t klen;
    struct tsr_match value;
};

/* A tag to add, or a key to rename: escaped once here, spliced into points as is. */
struct tag_edit {
    char *from;  /* rename_tags: the plain old key */
    size_t from_len;
    struct tsr_buf key, value; /* escaped */
};

struct rule {
    char *label;  /* "rule 'NAME'" or "rules[N]" */
    char *reason; /* "dropped by rule 'NAME'" */
    enum action action;
    bool has_db, has_meas, has_field;
    struct tsr_match db, meas, field;
    struct tag_match *tags;
    size_t ntags;
    bool needs_point; /* matches on tags or fields, or rewrites */
    bool by_name;     /* matches on database and measurement alone: memoised */
    bool on_fields;   /* looks at the fields (match.field, drop_fields): run per line */
    /* match.field's needle as it shows in a line (no byte a line escapes): the fields
     * of a line without it are not looked at. */
    bool field_needle;
    struct tsr_buf to; /* rename_measurement, escaped */
    struct tag_edit *edits;
    size_t nedits;
    struct tsr_match *names;
    size_t nnames;
};

/* Lines in a row mostly share their database and measurement: the answers of the rules
 * that look at nothing else are kept for the last pair (bit i: rule i matched). */
#define MEMO_RULES 64
struct name_memo {
    int valid;
    struct tsr_buf key; /* db '\0' measurement (escaped) */
    uint64_t bits;
};

/* What the rules make of one series, kept for the next line of it: lines of a series come
 * again and again, and all but the rules on fields give the same answer each time. The
 * rules on fields run per line, in their place, with the rest of their match
 * (database, measurement, tags as the rules before left them) taken from here. */
#define MEMO_WAYS 8
#define MEMO_SETS 4096 /* 32,768 series; about 5 MiB when full */
#define SERIES_KEY_MAX 240
struct series_memo {
    uint64_t key;       /* series hash mixed with the database's; 0: empty */
    uint16_t in_len;    /* of db '\0' input series key, at buf */
    uint16_t out_len;   /* of the output series key, after it */
    int16_t drop_rule;  /* index of the rule (not on fields) that drops it; -1: none */
    uint8_t changed;    /* the output series key differs from the input one */
    uint64_t field_bits; /* rules on fields whose other conditions hold in their place */
    uint64_t out_hash;
    char buf[];
};

/* Eight ways a set: series come back in cycles (every agent's interval), and a set
 * holding one series more than its ways misses on every one of them. The keys share a
 * cache line, so a lookup that misses touches no memo; their memos' addresses are in
 * the line after it. */
struct memo_set {
    uint64_t key[MEMO_WAYS]; /* 0: empty */
    struct series_memo *e[MEMO_WAYS];
};

struct tsr_rules {
    struct rule *r;
    size_t n;
    struct name_memo memo;
    int cacheable;               /* <= 64 rules, rules on fields only drop or drop fields */
    struct memo_set *series;     /* MEMO_SETS sets, made on first use */
    /* More series than the memo holds make it miss most of the time, and a miss costs
     * more than the rules themselves: then it is left alone for a while. */
    unsigned lookups, misses, bypass;
    struct tsr_point pt;
    struct tsr_match_scratch sc;
    struct tsr_buf line; /* a record's line being rewritten */
};

static char *xstrdup_(const char *s)
{
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

static void *xcalloc_(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) abort();
    return p;
}

static int compile_pattern(struct tsr_match *m, const char *s, const char *key, char *err,
                           size_t errlen, const char *label)
{
    char why[256];
    if (tsr_match_compile(m, s, why, sizeof(why)) == 0) return 0;
    snprintf(err, errlen, "%s: %s: %s", label, key, why);
    return -1;
}

static int bad(char *err, size_t errlen, const char *label, const char *what)
{
    snprintf(err, errlen, "%s: %s", label, what);
    return -1;
}

static bool valid_key(const char *k)
{
    return *k && strcmp(k, "time") != 0;
}

static int compile_rule(struct rule *r, const struct tsr_rule_conf *c, const char *label,
                        char *err, size_t errlen)
{
    r->label = xstrdup_(label);
    char reason[400];
    snprintf(reason, sizeof(reason), "dropped by %s", label);
    r->reason = xstrdup_(reason);
    for (size_t a = 0; a < sizeof(action_names) / sizeof(action_names[0]); a++)
        if (strcmp(c->action, action_names[a]) == 0) r->action = (enum action)a;

    if ((r->has_db = *c->match_database) &&
        compile_pattern(&r->db, c->match_database, "match.database", err, errlen, label))
        return -1;
    if ((r->has_meas = *c->match_measurement) &&
        compile_pattern(&r->meas, c->match_measurement, "match.measurement", err, errlen, label))
        return -1;
    if ((r->has_field = *c->match_field) &&
        compile_pattern(&r->field, c->match_field, "match.field", err, errlen, label))
        return -1;
    r->tags = xcalloc_(c->nmatch_tags, sizeof(*r->tags));
    for (size_t i = 0; i < c->nmatch_tags; i++) {
        char key[320];
        snprintf(key, sizeof(key), "match.tags.%s", c->match_tags[i].key);
        r->tags[i].key = xstrdup_(c->match_tags[i].key);
        r->tags[i].klen = strlen(r->tags[i].key);
        r->ntags = i + 1; /* counted before the pattern, so a failed one is freed too */
        if (compile_pattern(&r->tags[i].value, c->match_tags[i].value, key, err, errlen, label))
            return -1;
    }

    bool wants_to = r->action == A_RENAME_MEASUREMENT;
    bool wants_tags = r->action == A_ADD_TAGS || r->action == A_RENAME_TAGS;
    bool wants_names = r->action == A_DROP_TAGS || r->action == A_DROP_FIELDS;
    if (wants_to != (*c->to != 0))
        return bad(err, errlen, label, wants_to ? "rename_measurement needs 'to'"
                                                : "'to' belongs to rename_measurement only");
    if (wants_tags != (c->ntags > 0))
        return bad(err, errlen, label, wants_tags ? "this action needs 'tags'"
                                                  : "'tags' belongs to add_tags and rename_tags only");
    if (wants_names != (c->nnames > 0))
        return bad(err, errlen, label, wants_names ? "this action needs 'names'"
                                                   : "'names' belongs to drop_tags and drop_fields only");
    if (wants_to) tsr_point_escape(&r->to, c->to, TSR_MEAS_SPECIALS);
    r->edits = xcalloc_(c->ntags, sizeof(*r->edits));
    for (size_t i = 0; i < c->ntags; i++, r->nedits++) {
        struct tag_edit *e = &r->edits[i];
        const char *key = r->action == A_RENAME_TAGS ? c->tags[i].value : c->tags[i].key;
        if (!valid_key(key))
            return bad(err, errlen, label, "a tag key must not be empty or 'time'");
        if (r->action == A_ADD_TAGS && !*c->tags[i].value)
            return bad(err, errlen, label, "a tag value must not be empty");
        tsr_point_escape(&e->key, key, TSR_KEY_SPECIALS);
        if (r->action == A_RENAME_TAGS) {
            e->from = xstrdup_(c->tags[i].key);
            e->from_len = strlen(e->from);
        }
        else
            tsr_point_escape(&e->value, c->tags[i].value, TSR_KEY_SPECIALS);
    }
    r->names = xcalloc_(c->nnames, sizeof(*r->names));
    for (size_t i = 0; i < c->nnames; i++, r->nnames++)
        if (compile_pattern(&r->names[i], c->names[i], "names", err, errlen, label)) return -1;
    r->needs_point = r->ntags || r->has_field || (r->action != A_DROP && r->action != A_KEEP);
    r->by_name = !r->ntags && !r->has_field;
    r->on_fields = r->has_field || r->action == A_DROP_FIELDS;
    r->field_needle = r->has_field && r->field.needle_len &&
                      strcspn(r->field.needle, " ,=\\\"\n") == r->field.needle_len;
    return 0;
}

static void free_rule(struct rule *r)
{
    free(r->label);
    free(r->reason);
    tsr_match_free(&r->db);
    tsr_match_free(&r->meas);
    tsr_match_free(&r->field);
    for (size_t i = 0; i < r->ntags; i++) {
        free(r->tags[i].key);
        tsr_match_free(&r->tags[i].value);
    }
    free(r->tags);
    tsr_buf_free(&r->to);
    for (size_t i = 0; i < r->nedits; i++) {
        free(r->edits[i].from);
        tsr_buf_free(&r->edits[i].key);
        tsr_buf_free(&r->edits[i].value);
    }
    free(r->edits);
    for (size_t i = 0; i < r->nnames; i++) tsr_match_free(&r->names[i]);
    free(r->names);
}

int tsr_rules_compile(const struct tsr_rule_conf *rc, size_t n, const char *where,
                      struct tsr_rules **rp, char *err, size_t errlen)
{
    *rp = NULL;
    if (n == 0) return 0;
    struct tsr_rules *rs = xcalloc_(1, sizeof(*rs));
    rs->r = xcalloc_(n, sizeof(*rs->r));
    for (size_t i = 0; i < n; i++, rs->n++) {
        char label[320];
        if (*rc[i].name)
            snprintf(label, sizeof(label), "rule '%s'", rc[i].name);
        else
            snprintf(label, sizeof(label), "%s[%zu]", where, i);
        if (compile_rule(&rs->r[i], &rc[i], label, err, errlen)) {
            rs->n++;
            tsr_rules_free(&rs);
            return -1;
        }
    }
    rs->cacheable = rs->n <= 64;
    for (size_t i = 0; i < rs->n; i++) {
        const struct rule *r = &rs->r[i];
        /* A rename or an added tag decided by a field would make the series depend on
         * the line: such a set goes the slow way. */
        if (r->has_field && r->action != A_DROP && r->action != A_KEEP && r->action != A_DROP_FIELDS)
            rs->cacheable = 0;
    }
    *rp = rs;
    return 0;
}

void tsr_rules_free(struct tsr_rules **rp)
{
    struct tsr_rules *rs = *rp;
    if (!rs) return;
    for (size_t i = 0; i < rs->n; i++) free_rule(&rs->r[i]);
    free(rs->r);
    tsr_point_free(&rs->pt);
    tsr_match_scratch_free(&rs->sc);
    tsr_buf_free(&rs->memo.key);
    if (rs->series)
        for (size_t i = 0; i < MEMO_SETS; i++)
            for (int w = 0; w < MEMO_WAYS; w++) free(rs->series[i].e[w]);
    free(rs->series);
    tsr_buf_free(&rs->line);
    free(rs);
    *rp = NULL;
}

/* ---- applying --------------------------------------------------------------------- */

static inline bool span_is(struct tsr_span s, const char *plain, size_t n)
{
    return n == s.n && (n == 0 || (*s.p == *plain && memcmp(s.p, plain, n) == 0));
}

static bool test_span(struct tsr_rules *rs, const struct tsr_match *m, struct tsr_span s,
                      const char *specials)
{
    struct tsr_span plain = tsr_point_plain(&rs->pt, s, specials);
    return tsr_match_test(m, plain.p, plain.n, &rs->sc);
}

static bool matches_part(struct tsr_rules *rs, const struct rule *r, const char *db, size_t dblen,
                         bool with_fields);

static bool matches(struct tsr_rules *rs, const struct rule *r, const char *db, size_t dblen)
{
    return matches_part(rs, r, db, dblen, true);
}

/* Whether r's match holds; without with_fields, its field condition is left out. */
static bool matches_part(struct tsr_rules *rs, const struct rule *r, const char *db, size_t dblen,
                         bool with_fields)
{
    struct tsr_point *pt = &rs->pt;
    if (r->has_db && !tsr_match_test(&r->db, db, dblen, &rs->sc)) return false;
    if (r->has_meas && !test_span(rs, &r->meas, pt->meas, TSR_MEAS_SPECIALS)) return false;
    for (size_t i = 0; i < r->ntags; i++) {
        bool found = false;
        for (size_t t = 0; t < pt->ntags && !found; t++) {
            struct tsr_span k = tsr_point_plain(pt, pt->tags[t].key, TSR_KEY_SPECIALS);
            if (!span_is(k, r->tags[i].key, r->tags[i].klen)) continue;
            found = true;
            if (!test_span(rs, &r->tags[i].value, pt->tags[t].value, TSR_KEY_SPECIALS))
                return false;
        }
        if (!found) return false;
    }
    if (r->has_field && with_fields) {
        tsr_point_fields(pt);
        bool any = false;
        for (size_t f = 0; f < pt->nfields && !any; f++)
            any = test_span(rs, &r->field, pt->fields[f].key, TSR_KEY_SPECIALS);
        if (!any) return false;
    }
    return true;
}

static bool any_name(struct tsr_rules *rs, const struct rule *r, struct tsr_span key)
{
    for (size_t i = 0; i < r->nnames; i++)
        if (test_span(rs, &r->names[i], key, TSR_KEY_SPECIALS)) return true;
    return false;
}

/* Sets tag key to value, replacing the tag of that key if there is one. */
static void set_tag(struct tsr_point *pt, struct tsr_span key, struct tsr_span value, size_t skip)
{
    for (size_t t = 0; t < pt->ntags; t++) {
        if (t == skip || pt->tags[t].key.n != key.n || memcmp(pt->tags[t].key.p, key.p, key.n))
            continue;
        pt->tags[t].value = value;
        return;
    }
    if (pt->ntags == pt->tags_cap) {
        pt->tags_cap = pt->tags_cap ? pt->tags_cap * 2 : 16;
        pt->tags = realloc(pt->tags, pt->tags_cap * sizeof(*pt->tags));
        if (!pt->tags) abort();
    }
    pt->tags[pt->ntags++] = (struct tsr_point_tag){key, value};
}

static void drop_tag(struct tsr_point *pt, size_t t)
{
    memmove(&pt->tags[t], &pt->tags[t + 1], (pt->ntags - t - 1) * sizeof(*pt->tags));
    pt->ntags--;
}

/* Does r's action to the point; returns 1 if it changed it. */
static int act(struct tsr_rules *rs, const struct rule *r)
{
    struct tsr_point *pt = &rs->pt;
    int changed = 0;
    switch (r->action) {
    case A_DROP:
    case A_KEEP:
        break;
    case A_RENAME_MEASUREMENT:
        pt->meas = (struct tsr_span){r->to.data, r->to.len};
        changed = 1;
        break;
    case A_ADD_TAGS:
        for (size_t i = 0; i < r->nedits; i++)
            set_tag(pt, (struct tsr_span){r->edits[i].key.data, r->edits[i].key.len},
                    (struct tsr_span){r->edits[i].value.data, r->edits[i].value.len}, (size_t)-1);
        changed = 1;
        break;
    case A_RENAME_TAGS:
        for (size_t i = 0; i < r->nedits; i++) {
            for (size_t t = 0; t < pt->ntags; t++) {
                struct tsr_span k = tsr_point_plain(pt, pt->tags[t].key, TSR_KEY_SPECIALS);
                if (!span_is(k, r->edits[i].from, r->edits[i].from_len)) continue;
                struct tsr_span key = {r->edits[i].key.data, r->edits[i].key.len};
                struct tsr_span value = pt->tags[t].value;
                drop_tag(pt, t);
                set_tag(pt, key, value, (size_t)-1); /* the renamed tag wins */
                changed = 1;
                break;
            }
        }
        break;
    case A_DROP_TAGS:
        for (size_t t = 0; t < pt->ntags;) {
            if (any_name(rs, r, pt->tags[t].key)) {
                drop_tag(pt, t);
                changed = 1;
            } else {
                t++;
            }
        }
        break;
    case A_DROP_FIELDS:
        tsr_point_fields(pt);
        for (size_t f = 0; f < pt->nfields;) {
            if (any_name(rs, r, pt->fields[f].key)) {
                memmove(&pt->fields[f], &pt->fields[f + 1],
                        (pt->nfields - f - 1) * sizeof(*pt->fields));
                pt->nfields--;
                changed = 1;
            } else {
                f++;
            }
        }
        break;
    }
    return changed;
}

static void trace_add(struct tsr_buf *trace, const struct rule *r, const char *what)
{
    if (!trace) return;
    if (trace->len) tsr_buf_puts(trace, "; ");
    tsr_buf_printf(trace, "%s: %s", r->label, what);
}

/* The answers of the by_name rules for this database and the point's measurement. */
static uint64_t name_answers(struct tsr_rules *rs, const char *db, size_t dblen)
{
    struct name_memo *mm = &rs->memo;
    struct tsr_span meas = rs->pt.meas;
    if (mm->valid && mm->key.len == dblen + 1 + meas.n && memcmp(mm->key.data, db, dblen) == 0 &&
        memcmp(mm->key.data + dblen + 1, meas.p, meas.n) == 0)
        return mm->bits;
    uint64_t bits = 0;
    for (size_t i = 0; i < rs->n && i < MEMO_RULES; i++)
        if (rs->r[i].by_name && matches(rs, &rs->r[i], db, dblen)) bits |= UINT64_C(1) << i;
    mm->key.len = 0;
    tsr_buf_append(&mm->key, db, dblen + 1);
    tsr_buf_append(&mm->key, meas.p, meas.n);
    mm->bits = bits;
    mm->valid = 1;
    return bits;
}

void tsr_rules_apply(struct tsr_rules *rs, const char *db, const char *line, size_t len,
                     struct tsr_buf *out, struct tsr_rules_result *res, struct tsr_buf *trace)
{
    if (len && line[len - 1] == '\n') len--;
    res->verdict = TSR_RULES_SAME;
    res->reason = NULL;
    tsr_point_parse(&rs->pt, line, len);
    int changed = 0, renamed = 0;
    size_t dblen = strlen(db);
    uint64_t bits = name_answers(rs, db, dblen);
    for (size_t i = 0; i < rs->n; i++) {
        const struct rule *r = &rs->r[i];
        /* After a rename the measurement is another: the memo says nothing of it. */
        bool m = r->by_name && i < MEMO_RULES && !renamed ? (bits >> i) & 1
                                                           : matches(rs, r, db, dblen);
        renamed |= r->action == A_RENAME_MEASUREMENT && m;
        if (r->action == A_KEEP ? m : !m) continue;
        if (r->action == A_DROP || r->action == A_KEEP) {
            res->verdict = TSR_RULES_DROPPED;
            res->reason = r->reason;
            trace_add(trace, r, r->action == A_DROP ? "drop" : "not kept");
            return;
        }
        if (act(rs, r)) {
            changed = 1;
            trace_add(trace, r, action_names[r->action]);
        }
        if (rs->pt.fields_read && rs->pt.nfields == 0) {
            res->verdict = TSR_RULES_DROPPED;
            res->reason = r->reason;
            trace_add(trace, r, "no field left");
            return;
        }
    }
    if (!changed) return;
    res->verdict = TSR_RULES_REWRITTEN;
    res->hash = tsr_point_write(&rs->pt, out);
}

/* ---- the series memo ---------------------------------------------------------------- */

/* Learns what the rules not on fields make of the series of the point in rs->pt. */
static struct series_memo *series_learn(struct tsr_rules *rs, const char *db, size_t dblen,
                                        const char *inkey, size_t klen, uint64_t key)
{
    int16_t drop = -1;
    uint64_t fbits = 0;
    int changed = 0, renamed = 0;
    uint64_t bits = name_answers(rs, db, dblen);
    for (size_t i = 0; i < rs->n; i++) {
        const struct rule *r = &rs->r[i];
        if (r->on_fields) {
            if (matches_part(rs, r, db, dblen, false)) fbits |= UINT64_C(1) << i;
            continue;
        }
        bool m = r->by_name && !renamed ? (bits >> i) & 1 : matches(rs, r, db, dblen);
        renamed |= r->action == A_RENAME_MEASUREMENT && m;
        if (r->action == A_KEEP ? m : !m) continue;
        if (r->action == A_DROP || r->action == A_KEEP) {
            drop = (int16_t)i;
            break;
        }
        changed |= act(rs, r);
    }
    struct tsr_buf out = {0};
    uint64_t h = changed ? tsr_point_write_key(&rs->pt, &out) : 0;
    size_t in_len = dblen + 1 + klen;
    if (out.len > SERIES_KEY_MAX) {
        tsr_buf_free(&out);
        return NULL;
    }
    struct series_memo *e = malloc(sizeof(*e) + in_len + out.len);
    if (!e) abort();
    *e = (struct series_memo){.key = key, .in_len = (uint16_t)in_len, .out_len = (uint16_t)out.len,
                              .drop_rule = drop, .changed = (uint8_t)changed, .field_bits = fbits,
                              .out_hash = h};
    memcpy(e->buf, db, dblen + 1);
    memcpy(e->buf + dblen + 1, inkey, klen);
    if (out.len) memcpy(e->buf + in_len, out.data, out.len);
    tsr_buf_free(&out);
    return e;
}

/* Whether s[0..n) holds needle[0..nn) (nn > 0). glibc's memmem prepares for long texts;
 * the rest of a line is a few dozen bytes. */
static bool holds(const char *s, size_t n, const char *needle, size_t nn)
{
    for (const char *p = s, *end = s + n; (size_t)(end - p) >= nn; p++) {
        p = memchr(p, needle[0], (size_t)(end - p) - nn + 1);
        if (!p) return false;
        if (memcmp(p + 1, needle + 1, nn - 1) == 0) return true;
    }
    return false;
}

/* The memo's key of a series: its hash mixed with its database's; never 0 (empty). */
static uint64_t memo_key(uint64_t db_hash, uint64_t series_hash)
{
    uint64_t key = series_hash ^ (db_hash * 0x9E3779B97F4A7C15ULL);
    return key | (key == 0);
}

static struct memo_set *memo_set(const struct tsr_rules *rs, uint64_t key)
{
    return &rs->series[key % MEMO_SETS];
}

void tsr_rules_prefetch(const struct tsr_rules *rs, uint64_t db_hash, uint64_t series_hash)
{
    if (!rs->series || rs->bypass) return;
    const struct memo_set *set = memo_set(rs, memo_key(db_hash, series_hash));
    __builtin_prefetch(set->key);
    __builtin_prefetch(set->e);
}

/* End of the series key at the start of a normalised line: its first unescaped space. */
static size_t key_len(const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && line[i] != ' ') i += line[i] == '\\' && i + 1 < len ? 2 : 1;
    return i;
}

void tsr_rules_apply_series(struct tsr_rules *rs, const char *db, const char *line, size_t len,
                            uint64_t series_hash, struct tsr_buf *out, struct tsr_rules_result *res)
{
    if (len && line[len - 1] == '\n') len--;
    size_t dblen = strlen(db), klen = key_len(line, len);
    if (!rs->cacheable || dblen + 1 + klen > SERIES_KEY_MAX || klen >= len) {
        tsr_rules_apply(rs, db, line, len, out, res, NULL);
        return;
    }
    uint64_t key = memo_key(tsr_fnv1a64(TSR_FNV1A64_INIT, db, dblen), series_hash);
    if (!rs->series) {
        rs->series = aligned_alloc(64, MEMO_SETS * sizeof(*rs->series));
        if (!rs->series) abort();
        memset(rs->series, 0, MEMO_SETS * sizeof(*rs->series));
    }
    if (rs->bypass) {
        rs->bypass--;
        tsr_rules_apply(rs, db, line, len, out, res, NULL);
        return;
    }
    /* The way found moves to the front; a new series takes the front, the back one
     * goes. */
    struct memo_set *set = memo_set(rs, key);
    struct series_memo *e = NULL;
    int w = 0;
    for (; w < MEMO_WAYS; w++) {
        struct series_memo *c = set->e[w];
        if (set->key[w] == key && c->in_len == dblen + 1 + klen &&
            memcmp(c->buf, db, dblen + 1) == 0 && memcmp(c->buf + dblen + 1, line, klen) == 0) {
            e = c;
            break;
        }
    }
    if (++rs->lookups == 1024) {
        if (rs->misses > 768) rs->bypass = 16384;
        rs->lookups = rs->misses = 0;
    }
    if (!e) {
        rs->misses++;
        tsr_point_parse(&rs->pt, line, len);
        e = series_learn(rs, db, dblen, line, klen, key);
        if (!e) {
            tsr_rules_apply(rs, db, line, len, out, res, NULL);
            return;
        }
        w = MEMO_WAYS - 1;
        free(set->e[w]);
    }
    memmove(&set->key[1], &set->key[0], (size_t)w * sizeof(set->key[0]));
    memmove(&set->e[1], &set->e[0], (size_t)w * sizeof(set->e[0]));
    set->key[0] = key;
    set->e[0] = e;

    /* The rules on fields, in their place: before the rule that drops the series. */
    res->verdict = TSR_RULES_SAME;
    res->reason = NULL;
    int drop = e->drop_rule, touched = 0;
    size_t last = drop >= 0 ? (size_t)drop : rs->n;
    struct tsr_point *pt = &rs->pt;
    tsr_point_set_rest(pt, line + klen + 1, len - klen - 1);
    for (size_t i = 0; i < last; i++) {
        const struct rule *r = &rs->r[i];
        if (!r->on_fields) continue;
        bool m = (e->field_bits >> i) & 1;
        if (m && r->field_needle &&
            !holds(line + klen + 1, len - klen - 1, r->field.needle, r->field.needle_len))
            m = false;
        else if (m && r->has_field) {
            tsr_point_fields(pt);
            bool any = false;
            for (size_t f = 0; f < pt->nfields && !any; f++)
                any = test_span(rs, &r->field, pt->fields[f].key, TSR_KEY_SPECIALS);
            m = any;
        }
        if (r->action == A_KEEP ? m : !m) continue;
        if (r->action == A_DROP || r->action == A_KEEP) {
            drop = (int)i;
            break;
        }
        touched |= act(rs, r); /* drop_fields */
        if (pt->nfields == 0) {
            drop = (int)i;
            break;
        }
    }
    if (drop >= 0) {
        res->verdict = TSR_RULES_DROPPED;
        res->reason = rs->r[drop].reason;
        return;
    }
    if (!e->changed && !touched) return;
    res->verdict = TSR_RULES_REWRITTEN;
    res->hash = e->changed ? e->out_hash : series_hash;
    if (e->changed)
        tsr_buf_append(out, e->buf + e->in_len, e->out_len);
    else
        tsr_buf_append(out, line, klen);
    if (touched) {
        tsr_point_write_fields(pt, out);
    } else {
        tsr_buf_putc(out, ' ');
        tsr_buf_append(out, line + klen + 1, len - klen - 1);
    }
    tsr_buf_putc(out, '\n');
}

long tsr_rules_append_record(struct tsr_rules *rs, const char *db, const char *rec, size_t len,
                             struct tsr_buf *body)
{
    long points = 0;
    struct tsr_rules_result res;
    const char *p = rec, *line;
    size_t n;
    while ((line = tsr_lp_next_line(&p, rec + len, &n))) {
        tsr_rules_apply_series(rs, db, line, n, tsr_lp_series_hash(line, key_len(line, n)), body, &res);
        if (res.verdict == TSR_RULES_SAME) {
            tsr_buf_append(body, line, n);
            tsr_buf_putc(body, '\n');
        }
        points += res.verdict != TSR_RULES_DROPPED;
    }
    return points;
}

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
    struct tsr_match value;
};

/* A tag to add, or a key to rename: escaped once here, spliced into points as is. */
struct tag_edit {
    char *from;  /* rename_tags: the plain old key */
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
    struct tsr_buf to; /* rename_measurement, escaped */
    struct tag_edit *edits;
    size_t nedits;
    struct tsr_match *names;
    size_t nnames;
};

struct tsr_rules {
    struct rule *r;
    size_t n;
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
    for (size_t i = 0; i < c->nmatch_tags; i++, r->ntags++) {
        char key[320];
        snprintf(key, sizeof(key), "match.tags.%s", c->match_tags[i].key);
        r->tags[i].key = xstrdup_(c->match_tags[i].key);
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
        if (r->action == A_RENAME_TAGS)
            e->from = xstrdup_(c->tags[i].key);
        else
            tsr_point_escape(&e->value, c->tags[i].value, TSR_KEY_SPECIALS);
    }
    r->names = xcalloc_(c->nnames, sizeof(*r->names));
    for (size_t i = 0; i < c->nnames; i++, r->nnames++)
        if (compile_pattern(&r->names[i], c->names[i], "names", err, errlen, label)) return -1;
    r->needs_point = r->ntags || r->has_field || (r->action != A_DROP && r->action != A_KEEP);
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
    tsr_buf_free(&rs->line);
    free(rs);
    *rp = NULL;
}

/* ---- applying --------------------------------------------------------------------- */

static bool span_is(struct tsr_span s, const char *plain)
{
    return strlen(plain) == s.n && memcmp(s.p, plain, s.n) == 0;
}

static bool test_span(struct tsr_rules *rs, const struct tsr_match *m, struct tsr_span s,
                      const char *specials)
{
    struct tsr_span plain = tsr_point_plain(&rs->pt, s, specials);
    return tsr_match_test(m, plain.p, plain.n, &rs->sc);
}

static bool matches(struct tsr_rules *rs, const struct rule *r, const char *db)
{
    struct tsr_point *pt = &rs->pt;
    if (r->has_db && !tsr_match_test(&r->db, db, strlen(db), &rs->sc)) return false;
    if (r->has_meas && !test_span(rs, &r->meas, pt->meas, TSR_MEAS_SPECIALS)) return false;
    for (size_t i = 0; i < r->ntags; i++) {
        bool found = false;
        for (size_t t = 0; t < pt->ntags && !found; t++) {
            struct tsr_span k = tsr_point_plain(pt, pt->tags[t].key, TSR_KEY_SPECIALS);
            if (!span_is(k, r->tags[i].key)) continue;
            found = true;
            if (!test_span(rs, &r->tags[i].value, pt->tags[t].value, TSR_KEY_SPECIALS))
                return false;
        }
        if (!found) return false;
    }
    if (r->has_field) {
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
                if (!span_is(tsr_point_plain(pt, pt->tags[t].key, TSR_KEY_SPECIALS), r->edits[i].from))
                    continue;
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

void tsr_rules_apply(struct tsr_rules *rs, const char *db, const char *line, size_t len,
                     struct tsr_buf *out, struct tsr_rules_result *res, struct tsr_buf *trace)
{
    if (len && line[len - 1] == '\n') len--;
    res->verdict = TSR_RULES_SAME;
    res->reason = NULL;
    tsr_point_parse(&rs->pt, line, len);
    int changed = 0;
    for (size_t i = 0; i < rs->n; i++) {
        const struct rule *r = &rs->r[i];
        bool m = matches(rs, r, db);
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
        if (rs->pt.nfields == 0) {
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

/* The '\n' that ends the normalised line at p, or NULL: a quoted string field may hold
 * newlines of its own, so a line with a quote is read section by section. */
static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl || !memchr(p, '"', (size_t)(nl - p))) return nl;
    struct tsr_lp_sections sec;
    tsr_lp_sections(p, (size_t)(end - p), &sec);
    const char *fe = sec.fields + sec.flen;
    return fe <= end ? memchr(fe, '\n', (size_t)(end - fe)) : NULL;
}

long tsr_rules_append_record(struct tsr_rules *rs, const char *db, const char *rec, size_t len,
                             struct tsr_buf *body)
{
    long points = 0;
    struct tsr_rules_result res;
    for (const char *p = rec, *end = rec + len; p < end;) {
        const char *nl = line_end(p, end);
        const char *le = nl ? nl : end;
        if (le > p) {
            tsr_rules_apply(rs, db, p, (size_t)(le - p), body, &res, NULL);
            if (res.verdict == TSR_RULES_SAME) {
                tsr_buf_append(body, p, (size_t)(le - p));
                tsr_buf_putc(body, '\n');
            }
            points += res.verdict != TSR_RULES_DROPPED;
        }
        p = nl ? nl + 1 : end;
    }
    return points;
}

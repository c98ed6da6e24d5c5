#include "relay/deliver/ledger_share.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/core/buf.h"
#include "relay/core/clock.h"
#include "relay/core/log.h"
#include "relay/deliver/ckpt.h"
#include "relay/kafka/board.h"

#define NEW_PREFIX "ledger-new/"
#define ENTRY_PREFIX "ledger/"

/* An entry handed over by another relay, waiting for a coordinator. */
struct pending {
    char key[256];
    struct tsr_buf rec;
    struct pending *next;
};

struct tsr_ledger_share {
    struct tsr_board *b;
    struct tsr_ckpt *ck;
    struct pending *pending; /* oldest first */
};

void tsr_ledger_share_publish(struct tsr_board *b, struct tsr_ckpt *ck, const char *cluster,
                              uint64_t id)
{
    if (!b) return;
    struct tsr_ledger_entry *e = calloc(1, sizeof(*e));
    if (!e) abort();
    char err[256], key[160];
    if (tsr_ledger_get(ck, cluster, id, e, err, sizeof(err)) == 0) {
        struct tsr_buf rec = {0};
        tsr_ledger_serialize(e, &rec);
        snprintf(key, sizeof(key), ENTRY_PREFIX "%s/%llu", cluster, (unsigned long long)id);
        tsr_board_put(b, key, rec.data, rec.len);
        tsr_buf_free(&rec);
    }
    free(e);
}

/* Opens and closes e under the cluster's next id, and shares it. */
static void record_here(struct tsr_board *b, struct tsr_ckpt *ck, const char *cluster,
                        const struct tsr_ledger_entry *e)
{
    struct tsr_ledger_entry *c = malloc(sizeof(*c));
    if (!c) abort();
    memcpy(c, e, sizeof(*c));
    char err[256];
    if (tsr_ledger_open(ck, cluster, c, err, sizeof(err)) != 0 ||
        tsr_ledger_close(ck, cluster, c->id, e->to_ms, e->nparts, e->to_offset, err,
                         sizeof(err)) != 0)
        tsr_error("cluster '%s': %s", cluster, err);
    else
        tsr_ledger_share_publish(b, ck, cluster, c->id);
    free(c);
}

void tsr_ledger_share_record(struct tsr_board *b, struct tsr_ckpt *ck, const char *cluster,
                             const char *instance, const struct tsr_ledger_entry *e)
{
    if (!b || tsr_board_coordinator(b)) {
        record_here(b, ck, cluster, e);
        return;
    }
    struct tsr_buf rec = {0};
    tsr_ledger_serialize(e, &rec);
    /* Unique per relay and time: several gaps are often found in one pull. */
    static unsigned seq; /* the forwarding thread's */
    char key[256];
    snprintf(key, sizeof(key), NEW_PREFIX "%s/%s/%lld.%u", cluster, instance,
             (long long)(tsr_clock_now_ns() / 1000000), ++seq);
    tsr_board_put(b, key, rec.data, rec.len);
    tsr_buf_free(&rec);
}

/* "PREFIX<cluster>/..." -> cluster; 0 if the key has no cluster. */
static int cluster_of(const char *key, size_t plen, char *out, size_t outlen)
{
    const char *c = key + plen, *slash = strchr(c, '/');
    if (!slash || slash == c || (size_t)(slash - c) >= outlen) return 0;
    memcpy(out, c, (size_t)(slash - c));
    out[slash - c] = '\0';
    return 1;
}

/* On the coordinator: records every handed-over entry and clears it from the board. */
static void record_pending(struct tsr_ledger_share *ls)
{
    while (ls->pending && tsr_board_coordinator(ls->b)) {
        struct pending *p = ls->pending;
        ls->pending = p->next;
        char cluster[128];
        struct tsr_ledger_entry *e = calloc(1, sizeof(*e));
        if (!e) abort();
        if (cluster_of(p->key, strlen(NEW_PREFIX), cluster, sizeof(cluster)) &&
            tsr_ledger_parse(p->rec.data, p->rec.len, e) == 0)
            record_here(ls->b, ls->ck, cluster, e);
        else
            tsr_warn("fleet: unreadable ledger record '%s'; dropped", p->key);
        tsr_board_put(ls->b, p->key, NULL, 0);
        free(e);
        tsr_buf_free(&p->rec);
        free(p);
    }
}

static void drop_pending(struct tsr_ledger_share *ls, const char *key)
{
    for (struct pending **pp = &ls->pending; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->key, key) != 0) continue;
        struct pending *p = *pp;
        *pp = p->next;
        tsr_buf_free(&p->rec);
        free(p);
        return;
    }
}

static void on_record(void *opaque, const char *key, const char *val, size_t len)
{
    struct tsr_ledger_share *ls = opaque;
    char cluster[128], err[256];
    if (strncmp(key, ENTRY_PREFIX, strlen(ENTRY_PREFIX)) == 0 && val) {
        /* Every relay, the coordinator too (the same bytes again): one ledger. */
        struct tsr_ledger_entry *e = calloc(1, sizeof(*e));
        if (!e) abort();
        if (!cluster_of(key, strlen(ENTRY_PREFIX), cluster, sizeof(cluster)) ||
            tsr_ledger_parse(val, len, e) != 0)
            tsr_warn("fleet: unreadable ledger record '%s'; skipped", key);
        else if (tsr_ledger_store(ls->ck, cluster, e, err, sizeof(err)) != 0)
            tsr_error("fleet: %s", err);
        free(e);
    } else if (strncmp(key, NEW_PREFIX, strlen(NEW_PREFIX)) == 0) {
        drop_pending(ls, key);
        if (!val) return;
        struct pending *p = calloc(1, sizeof(*p));
        if (!p) abort();
        snprintf(p->key, sizeof(p->key), "%s", key);
        tsr_buf_append(&p->rec, val, len);
        struct pending **tail = &ls->pending;
        while (*tail) tail = &(*tail)->next;
        *tail = p;
        record_pending(ls);
    }
}

static void on_role(void *opaque, int coordinator)
{
    if (coordinator) record_pending(opaque);
}

void tsr_ledger_share_new(struct tsr_board *b, struct tsr_ckpt *ck, struct tsr_ledger_share **lsp)
{
    struct tsr_ledger_share *ls = calloc(1, sizeof(*ls));
    if (!ls) abort();
    ls->b = b;
    ls->ck = ck;
    if (b) tsr_board_listen(b, on_record, on_role, ls);
    *lsp = ls;
}

void tsr_ledger_share_free(struct tsr_ledger_share **lsp)
{
    struct tsr_ledger_share *ls = *lsp;
    if (!ls) return;
    while (ls->pending) {
        struct pending *p = ls->pending;
        ls->pending = p->next;
        tsr_buf_free(&p->rec);
        free(p);
    }
    free(ls);
    *lsp = NULL;
}

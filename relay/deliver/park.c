#include "relay/deliver/park.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tsr_park_key *tsr_park_find(struct tsr_park *pk, const char *db, const char *rp)
{
    for (int i = 0; i < TSR_PARK_MAX; i++) {
        struct tsr_park_key *k = &pk->key[i];
        if (k->used && strcmp(k->db, db) == 0 && strcmp(k->rp, rp) == 0) return k;
    }
    return NULL;
}

struct tsr_park_key *tsr_park_on(struct tsr_park *pk, const char *db, const char *rp, int32_t p)
{
    if (pk->n == 0 || p < 0 || p >= TSR_CKPT_MAX_PARTITIONS) return NULL;
    struct tsr_park_key *k = tsr_park_find(pk, db, rp);
    return k && k->cursor[p] >= 0 ? k : NULL;
}

struct tsr_park_key *tsr_park_add(struct tsr_park *pk, const char *db, const char *rp,
                                  const char *reason, int64_t now_ms)
{
    struct tsr_park_key *k = tsr_park_find(pk, db, rp);
    if (k) return k;
    for (int i = 0; i < TSR_PARK_MAX; i++) {
        k = &pk->key[i];
        if (k->used) continue;
        memset(k, 0, sizeof(*k));
        k->used = 1;
        snprintf(k->db, sizeof(k->db), "%s", db);
        snprintf(k->rp, sizeof(k->rp), "%s", rp);
        snprintf(k->reason, sizeof(k->reason), "%s", reason);
        k->since_ms = now_ms;
        k->next_try_ms = now_ms;
        for (int p = 0; p < TSR_CKPT_MAX_PARTITIONS; p++) k->cursor[p] = -1;
        pk->n++;
        return k;
    }
    return NULL;
}

void tsr_park_remove(struct tsr_park *pk, struct tsr_park_key *k)
{
    if (!k->used) return;
    k->used = 0;
    pk->n--;
}

void tsr_park_drop_partition(struct tsr_park *pk, int32_t p)
{
    for (int i = 0; i < TSR_PARK_MAX; i++) {
        struct tsr_park_key *k = &pk->key[i];
        if (!k->used) continue;
        k->cursor[p] = -1;
        int left = 0;
        for (int q = 0; q < TSR_CKPT_MAX_PARTITIONS && !left; q++) left = k->cursor[q] >= 0;
        if (!left) tsr_park_remove(pk, k);
    }
}

/* Percent-encodes what would end a field of the metadata. */
static int put_name(char *out, size_t outlen, size_t *at, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        int plain = *c > ' ' && *c < 0x7f && *c != '%' && *c != '/' && *c != '@';
        int n = plain ? snprintf(out + *at, outlen - *at, "%c", *c)
                      : snprintf(out + *at, outlen - *at, "%%%02X", *c);
        if (n < 0 || (size_t)n >= outlen - *at) return -1;
        *at += (size_t)n;
    }
    return 0;
}

int tsr_park_meta(const struct tsr_park *pk, int32_t p, char *out, size_t outlen)
{
    size_t start = strlen(out), at = start;
    for (int i = 0; i < TSR_PARK_MAX; i++) {
        const struct tsr_park_key *k = &pk->key[i];
        if (!k->used || k->cursor[p] < 0) continue;
        int n = snprintf(out + at, outlen - at, " park=");
        if (n < 0 || (size_t)n >= outlen - at) goto full;
        at += (size_t)n;
        if (put_name(out, outlen, &at, k->db) != 0) goto full;
        if (at + 1 >= outlen) goto full;
        out[at++] = '/';
        out[at] = '\0';
        if (put_name(out, outlen, &at, k->rp) != 0) goto full;
        n = snprintf(out + at, outlen - at, "@%lld@%lld", (long long)k->cursor[p],
                     (long long)k->since_ms);
        if (n < 0 || (size_t)n >= outlen - at) goto full;
        at += (size_t)n;
    }
    return (int)(at - start);
full:
    out[start] = '\0';
    return -1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Decodes s[0..n) into out; -1 if malformed or too long. */
static int get_name(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n) return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= outlen) return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

int tsr_park_parse_meta(struct tsr_park *pk, int32_t p, const char *meta, int64_t now_ms)
{
    int named = 0;
    if (p < 0 || p >= TSR_CKPT_MAX_PARTITIONS) return 0;
    for (const char *at = strstr(meta, " park="); at; at = strstr(at + 1, " park=")) {
        const char *s = at + 6;
        size_t len = strcspn(s, " ");
        const char *slash = memchr(s, '/', len), *a1 = memchr(s, '@', len);
        const char *a2 = a1 ? memchr(a1 + 1, '@', len - (size_t)(a1 + 1 - s)) : NULL;
        named++;
        if (!slash || !a1 || !a2 || slash > a1) continue;
        char db[256], rp[256];
        long long cursor, since;
        if (get_name(s, (size_t)(slash - s), db, sizeof(db)) ||
            get_name(slash + 1, (size_t)(a1 - slash - 1), rp, sizeof(rp)) ||
            sscanf(a1 + 1, "%lld", &cursor) != 1 || sscanf(a2 + 1, "%lld", &since) != 1 ||
            cursor < 0)
            continue;
        struct tsr_park_key *k = tsr_park_add(pk, db, rp, "parked by the previous owner", now_ms);
        if (!k) continue;
        if (since > 0 && since < k->since_ms) k->since_ms = since;
        k->cursor[p] = cursor;
    }
    return named;
}

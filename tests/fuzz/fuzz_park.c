/* tests/fuzz/fuzz_park.c — libFuzzer target for the commit-metadata codec of
 * relay/deliver/park.c.
 *
 * The input (a NUL-terminated copy) is the metadata of a committed offset as another
 * relay, or anything else that commits to the group, left it. Besides the sanitizers,
 * it checks:
 *   - tsr_park_parse_meta never holds more than TSR_PARK_MAX keys, and n matches the
 *     keys in use;
 *   - a key it parks has a cursor >= 0 on the partition and names of the sizes allowed;
 *   - round trip: tsr_park_meta of that table for the partition parses back, into an
 *     empty table, to the same keys (db, rp) with the same cursors and since times.
 * Build and run with tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "relay/deliver/park.h"

#define PART   7
#define NOW_MS 1800000000000LL

static int count_used(const struct tsr_park *pk)
{
    int used = 0;
    for (int i = 0; i < TSR_PARK_MAX; i++)
        used += pk->key[i].used != 0;
    return used;
}

/* The tables are large (a cursor per partition per key): static, cleared per input. */
static struct tsr_park pk, back;
/* Big enough for TSR_PARK_MAX keys of two 255-byte names, every byte percent-encoded. */
static char meta[TSR_PARK_MAX * (6 + 2 * 3 * 255 + 1 + 2 * 21) + 1];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = strndup((const char *)data, size);
    memset(&pk, 0, sizeof(pk));
    memset(&back, 0, sizeof(back));

    int named = tsr_park_parse_meta(&pk, PART, in, NOW_MS);
    CHECK(named >= 0 && pk.n >= 0 && pk.n <= TSR_PARK_MAX && pk.n <= named);
    CHECK(count_used(&pk) == pk.n);
    for (int i = 0; i < TSR_PARK_MAX; i++) {
        const struct tsr_park_key *k = &pk.key[i];
        if (!k->used) continue;
        CHECK(k->cursor[PART] >= 0 && k->since_ms <= NOW_MS);
        CHECK(memchr(k->db, '\0', sizeof(k->db)) && memchr(k->rp, '\0', sizeof(k->rp)));
        for (int q = 0; q < TSR_CKPT_MAX_PARTITIONS; q++)
            CHECK(q == PART || k->cursor[q] == -1);
    }
    /* Out-of-range partitions name nothing and park nothing. */
    CHECK(tsr_park_parse_meta(&back, -1, in, NOW_MS) == 0 && back.n == 0);
    CHECK(tsr_park_parse_meta(&back, TSR_CKPT_MAX_PARTITIONS, in, NOW_MS) == 0 && back.n == 0);

    meta[0] = '\0';
    int len = tsr_park_meta(&pk, PART, meta, sizeof(meta));
    CHECK(len >= 0 && (size_t)len == strlen(meta));
    CHECK(tsr_park_parse_meta(&back, PART, meta, NOW_MS) == pk.n && back.n == pk.n);
    for (int i = 0; i < TSR_PARK_MAX; i++) {
        const struct tsr_park_key *k = &pk.key[i];
        if (!k->used) continue;
        struct tsr_park_key *b = tsr_park_find(&back, k->db, k->rp);
        if (!b) {
            fprintf(stderr, "key '%s'/'%s' lost in '%s'\n", k->db, k->rp, meta);
            abort();
        }
        CHECK(b->cursor[PART] == k->cursor[PART] && b->since_ms == k->since_ms);
    }
    /* A short buffer is refused whole, never cut mid-key. */
    if (len > 0) {
        char small[64];
        small[0] = '\0';
        int r = tsr_park_meta(&pk, PART, small, sizeof(small));
        CHECK((r == -1 && small[0] == '\0') || (r == len && strcmp(small, meta) == 0));
    }
    free(in);
    return 0;
}

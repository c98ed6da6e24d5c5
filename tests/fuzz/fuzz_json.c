/* tests/fuzz/fuzz_json.c — libFuzzer target for replay/ctl_json.c.
 *
 * The input is a JSON document as the admin API and the relay's POST /replays read it.
 * Besides the sanitizers, it checks the contract of tsr_jsonr_parse and its accessors:
 *   - parse returns 0 with a tree, or -1 with NULL and a non-empty message;
 *   - a walk over the whole tree through every accessor agrees with itself: the type
 *     is one of the six, len counts exactly the nodes tsr_jsonr_at returns, an object
 *     member has a key and tsr_jsonr_get of that key finds a member with that key
 *     (unless the document has a \u0000, which may cut a key short for C: such a key
 *     must then not be found by its prefix, which it is not),
 *     strings are NUL-terminated at strlen (or earlier for a \u0000), tsr_jsonr_raw
 *     points inside the tree's copy and parses again to a node of the same type;
 *   - depth stays within TSR_JSONR_MAX_DEPTH.
 * Build and run with tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "replay/ctl_json.h"

/* The document holds a \u0000 escape: a key may end early as a C string. */
static int nul_escape;

static void walk(const struct tsr_jsonr *v, int depth)
{
    CHECK(v != NULL && depth <= TSR_JSONR_MAX_DEPTH + 1);
    enum tsr_jsonr_type ty = tsr_jsonr_type(v);
    CHECK(ty >= TSR_JSONR_NULL && ty <= TSR_JSONR_OBJECT);

    size_t rawlen = 0;
    const char *raw = tsr_jsonr_raw(v, &rawlen);
    CHECK(raw != NULL && rawlen > 0);
    /* A scalar's own text is a document of its own; containers are re-parsed at the root
     * only, or the walk would be quadratic. */
    if (ty != TSR_JSONR_ARRAY && ty != TSR_JSONR_OBJECT) {
        struct tsr_jsonr *again = NULL;
        char err[256] = "";
        if (tsr_jsonr_parse(raw, rawlen, &again, err, sizeof(err)) != 0) {
            fprintf(stderr, "raw text does not parse (%s): '%.*s'\n", err, (int)rawlen, raw);
            abort();
        }
        CHECK(tsr_jsonr_type(again) == ty);
        if (ty == TSR_JSONR_STRING) {
            CHECK(tsr_jsonr_strlen(again) == tsr_jsonr_strlen(v));
            CHECK(memcmp(tsr_jsonr_str(again, NULL), tsr_jsonr_str(v, NULL), tsr_jsonr_strlen(v)) ==
                  0);
        }
        if (ty == TSR_JSONR_NUMBER) {
            CHECK(tsr_jsonr_is_int(again) == tsr_jsonr_is_int(v));
            CHECK(tsr_jsonr_int(again, 7) == tsr_jsonr_int(v, 7));
        }
        tsr_jsonr_free(&again);
        CHECK(again == NULL);
    }

    switch (ty) {
    case TSR_JSONR_NULL:
        CHECK(tsr_jsonr_len(v) == 0 && tsr_jsonr_str(v, NULL) == NULL);
        break;
    case TSR_JSONR_BOOL: {
        int b = tsr_jsonr_bool(v, -1);
        CHECK(b == 0 || b == 1);
        break;
    }
    case TSR_JSONR_NUMBER: {
        (void)tsr_jsonr_num(v, 0);
        int64_t a = tsr_jsonr_int(v, 1), b = tsr_jsonr_int(v, 2);
        if (tsr_jsonr_is_int(v)) CHECK(a == b);
        CHECK(tsr_jsonr_bool(v, -1) == -1 && tsr_jsonr_str(v, NULL) == NULL);
        break;
    }
    case TSR_JSONR_STRING: {
        const char *s = tsr_jsonr_str(v, NULL);
        size_t n = tsr_jsonr_strlen(v);
        CHECK(s != NULL && s[n] == '\0' && strlen(s) <= n);
        CHECK(tsr_jsonr_int(v, 5) == 5 && tsr_jsonr_len(v) == 0);
        break;
    }
    case TSR_JSONR_ARRAY:
    case TSR_JSONR_OBJECT: {
        size_t n = tsr_jsonr_len(v);
        for (size_t i = 0; i < n; i++) {
            const struct tsr_jsonr *c = tsr_jsonr_at(v, i);
            CHECK(c != NULL);
            const char *key = tsr_jsonr_key(c);
            if (ty == TSR_JSONR_OBJECT) {
                CHECK(key != NULL);
                const struct tsr_jsonr *f = tsr_jsonr_get(v, key);
                CHECK(f != NULL || nul_escape);
                CHECK(f == NULL || strcmp(tsr_jsonr_key(f), key) == 0);
                (void)tsr_jsonr_get_str(v, key, NULL);
                (void)tsr_jsonr_get_int(v, key, 0);
                (void)tsr_jsonr_get_num(v, key, 0);
                (void)tsr_jsonr_get_bool(v, key, 0);
            } else {
                CHECK(key == NULL);
            }
            walk(c, depth + 1);
        }
        CHECK(tsr_jsonr_at(v, n) == NULL);
        if (ty == TSR_JSONR_ARRAY) CHECK(tsr_jsonr_get(v, "cluster") == NULL);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy that is not NUL-terminated: the parser must stop at len. */
    char *text = malloc(size ? size : 1);
    memcpy(text, data, size);
    nul_escape = memmem(data, size, "\\u0000", 6) != NULL;
    struct tsr_jsonr *root = NULL;
    char err[256] = "";
    int rc = tsr_jsonr_parse(text, size, &root, err, sizeof(err));
    free(text); /* the tree keeps its own copy */
    if (rc != 0) {
        CHECK(rc == -1 && root == NULL && err[0] != '\0');
        return 0;
    }
    CHECK(root != NULL);
    walk(root, 0);
    tsr_jsonr_free(&root);
    CHECK(root == NULL);
    return 0;
}

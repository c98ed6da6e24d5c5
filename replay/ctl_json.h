/* replay/ctl_json.h — a small JSON reader: parse a document into a tree, then query it
 * by key and index.
 *
 * Why our own and not a library: tsrelayctl reads a handful of small documents from
 * the relay's own admin endpoint (/status, /replays). About 400 lines of reader are less
 * to review than a new build dependency (json-c, jansson, cJSON) for every packager and
 * container image, and the relay side already writes its JSON by hand (relay/core/json.h).
 *
 * What it accepts is RFC 8259, strictly: one value per document, whitespace around
 * it, no trailing commas, no comments, no leading zeros or '+', control characters in
 * strings only as escapes. Strings are decoded (\" \\ \/ \b \f \n \r \t \u plus four hex digits with
 * surrogate pairs) to UTF-8; a lone surrogate becomes U+FFFD, so a document the relay
 * wrote from odd client bytes still reads. Bytes of the input are otherwise copied as
 * they are (not validated as UTF-8). Nesting deeper than TSR_JSONR_MAX_DEPTH is an error,
 * so a hostile document cannot exhaust the stack.
 *
 * Ownership: tsr_jsonr_parse returns a tree the caller owns and frees with
 * tsr_jsonr_free; every node and string returned by the query functions belongs to that
 * tree and lives until it is freed. The tree keeps a copy of the input text (for
 * tsr_jsonr_raw), so the caller's buffer may be freed at once.
 *
 * Query functions accept NULL for the node and then return their default: lookups chain
 * without checks in between, e.g.
 *     int64_t n = tsr_jsonr_int(tsr_jsonr_get(tsr_jsonr_get(root, "kafka"), "partitions"), -1);
 *
 * Threads: no global state; a tree may be read from several threads at once. */
#ifndef TSR_CTL_JSON_H
#define TSR_CTL_JSON_H

#include <stddef.h>
#include <stdint.h>

#define TSR_JSONR_MAX_DEPTH 64

enum tsr_jsonr_type {
    TSR_JSONR_NULL,
    TSR_JSONR_BOOL,
    TSR_JSONR_NUMBER,
    TSR_JSONR_STRING,
    TSR_JSONR_ARRAY,
    TSR_JSONR_OBJECT,
};

/* A node of a parsed document (opaque). The root node owns the whole tree. */
struct tsr_jsonr;

/* Parses text[0..len) (need not be NUL-terminated). On success sets *rootp to the tree
 * and returns 0. On failure returns -1, leaves *rootp NULL and writes a message naming
 * the problem and where it is ("expected ':' after object key at line 1, column 9") to
 * err. */
int tsr_jsonr_parse(const char *text, size_t len, struct tsr_jsonr **rootp, char *err,
                    size_t errlen);

/* Frees a tree returned by tsr_jsonr_parse and sets *rootp to NULL. NULL is a no-op.
 * Only for the root: inner nodes belong to it. */
void tsr_jsonr_free(struct tsr_jsonr **rootp);

/* The node's type; TSR_JSONR_NULL for a NULL node (a missing key reads as null). */
enum tsr_jsonr_type tsr_jsonr_type(const struct tsr_jsonr *v);

/* The member `key` of an object (the first one, if the document repeats the key), or
 * NULL when v is not an object or has no such member. */
const struct tsr_jsonr *tsr_jsonr_get(const struct tsr_jsonr *v, const char *key);

/* Element i of an array or member i of an object (in document order), or NULL when out
 * of range or v is neither. */
const struct tsr_jsonr *tsr_jsonr_at(const struct tsr_jsonr *v, size_t i);

/* Number of elements of an array or members of an object; 0 for anything else. */
size_t tsr_jsonr_len(const struct tsr_jsonr *v);

/* The key of a node that is a member of an object, or NULL. */
const char *tsr_jsonr_key(const struct tsr_jsonr *v);

/* The decoded value of a string (NUL-terminated; a \u0000 in the document ends it early
 * for C, see tsr_jsonr_strlen), or def when v is not a string. */
const char *tsr_jsonr_str(const struct tsr_jsonr *v, const char *def);
/* The decoded length in bytes of a string, or 0. */
size_t tsr_jsonr_strlen(const struct tsr_jsonr *v);

/* A number as int64_t: exact for integers written without fraction or exponent that fit
 * (-9223372036854775808 .. 9223372036854775807); numbers with a fraction or exponent are
 * truncated toward zero when they fit. def when v is not a number or does not fit (an
 * integer literal past int64_t never fits, even when its nearest double would). */
int64_t tsr_jsonr_int(const struct tsr_jsonr *v, int64_t def);

/* 1 when v is a number written as an integer that fits int64_t exactly. */
int tsr_jsonr_is_int(const struct tsr_jsonr *v);

/* A number as double (nearest), or def when v is not a number. */
double tsr_jsonr_num(const struct tsr_jsonr *v, double def);

/* true -> 1, false -> 0, anything else -> def. */
int tsr_jsonr_bool(const struct tsr_jsonr *v, int def);

/* Member `key` of object v, as string / int / number / bool, or def. Shorthands for
 * tsr_jsonr_str(tsr_jsonr_get(v, key), def) and so on. */
const char *tsr_jsonr_get_str(const struct tsr_jsonr *v, const char *key, const char *def);
int64_t tsr_jsonr_get_int(const struct tsr_jsonr *v, const char *key, int64_t def);
double tsr_jsonr_get_num(const struct tsr_jsonr *v, const char *key, double def);
int tsr_jsonr_get_bool(const struct tsr_jsonr *v, const char *key, int def);

/* The node's own text in the document as parsed (valid JSON, no surrounding
 * whitespace); sets *len. Points into the tree's copy of the input, not NUL-terminated
 * in general. For printing a part of a document exactly as the server wrote it. NULL
 * (and *len = 0) for a NULL node. */
const char *tsr_jsonr_raw(const struct tsr_jsonr *v, size_t *len);

#endif

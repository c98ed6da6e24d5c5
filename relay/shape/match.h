/* relay/shape/match.h — one name pattern of a rule: exact, prefix or regular expression.
 *
 * The text of a pattern says which:
 *   cpu          exactly "cpu"
 *   cpu_*        anything starting with "cpu_" (a trailing '*'; "*" alone: anything)
 *   /^cpu\d+$/   a PCRE2 regular expression between slashes, unanchored as InfluxQL's
 * Regular expressions are compiled once, JIT-compiled where PCRE2 can (it falls back to
 * its interpreter), and matched against the name as InfluxDB shows it: unescaped.
 * Owns the compiled code; a compiled pattern is read-only, so several threads may
 * match with it at once, each with its own tsr_match_scratch. */
#ifndef TSR_SHAPE_MATCH_H
#define TSR_SHAPE_MATCH_H

#include <stddef.h>
#include <stdint.h>

enum tsr_match_kind { TSR_MATCH_EXACT, TSR_MATCH_PREFIX, TSR_MATCH_REGEX };

struct tsr_match {
    enum tsr_match_kind kind;
    char *text;  /* EXACT: the name; PREFIX: the prefix; REGEX: the expression */
    size_t len;
    void *code;  /* REGEX: pcre2_code_8 */
    uint32_t id; /* REGEX: tells its answers apart in the scratch's cache */
    /* REGEX: what PCRE2 knows every match needs, checked before calling it: an anchored
     * pattern's possible first bytes, and a byte that must appear. */
    int anchored_first; /* first[] holds the bytes a name may start with */
    uint8_t first[32];
    int required;       /* -1: none */
    /* Bytes every matching name holds somewhere: an exact name, a prefix, a regular
     * expression's literal start (/^debug/) or the byte it requires. needle_len 0: none
     * known. Lets a caller rule out a whole line that does not hold them, without
     * finding its names first. */
    char *needle;
    size_t needle_len;
};

/* Recent answers of regular expressions: names repeat from line to line (tag keys, field
 * keys, measurements, the request's database), and a lookup here costs a fraction of a
 * PCRE2 call. Direct-mapped; a name longer than TSR_MATCH_CACHED is not kept. */
#define TSR_MATCH_CACHE 1024
#define TSR_MATCH_CACHED 54
struct tsr_match_answer {
    uint32_t id; /* 0: empty */
    unsigned char len, yes;
    char name[TSR_MATCH_CACHED];
};

/* Per thread: PCRE2's match data, sized for any compiled pattern, and the answer cache. */
struct tsr_match_scratch {
    void *md; /* pcre2_match_data_8 */
    struct tsr_match_answer *cache;
};

/* Compiles pattern text s into m. Returns 0, or -1 with why set ("invalid regular
 * expression /x(/: missing closing parenthesis at offset 2"). */
int tsr_match_compile(struct tsr_match *m, const char *s, char *why, size_t whylen);
void tsr_match_free(struct tsr_match *m);

/* 1 if name[0..len) matches m. */
int tsr_match_test(const struct tsr_match *m, const char *name, size_t len,
                   struct tsr_match_scratch *sc);

void tsr_match_scratch_init(struct tsr_match_scratch *sc);
void tsr_match_scratch_free(struct tsr_match_scratch *sc);

#endif

/* relay/check.h — `tsrelay --check-config`: everything a start would refuse, found
 * before the start; and `--test-input`: what the rules make of sample lines.
 *
 * Owns nothing beyond the call: it compiles the Graphite templates, the TLS
 * certificates, the ingest rules and every cluster's route, as the start does, and
 * frees them. Main thread: before the relay runs, and on a reload. */
#ifndef TSR_CHECK_H
#define TSR_CHECK_H

#include <stddef.h>

struct tsr_config;

struct tsr_check_opts {
    int live;               /* also describe the topic on the broker */
    const char *test_input; /* a file of lines to run through the rules, or NULL */
    const char *db;         /* the database the test lines are written to */
    int graphite;           /* the test lines are Graphite plaintext */
};

/* Prints the verdict (and the test lines' fates) to stdout, problems to stderr.
 * Returns the exit code: 0 valid, 1 --live found a problem, 2 invalid. */
int tsr_check(const struct tsr_config *cf, const char *path, const struct tsr_check_opts *o);

/* Compiles what the start compiles (templates, rules, routes, certificates) and frees
 * it: 0, or -1 with the problem in err. For a reload, before anything is swapped. */
int tsr_check_compile(const struct tsr_config *cf, char *err, size_t errlen);

#endif

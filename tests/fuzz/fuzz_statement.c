/* tests/fuzz/fuzz_statement.c — libFuzzer target for relay/ingest/statement.c.
 *
 * The input (up to its first NUL) is the q parameter of a /query request. Besides the
 * sanitizers, it checks the contract of tsr_statement_create_database:
 *   - it returns -1, 0 or 1;
 *   - on 0 the database name is non-empty, and the statement is the input with its
 *     leading whitespace skipped, cut short (trailing ';' and whitespace dropped), so a
 *     prefix of what the client sent and never anything it did not send;
 *   - on -1 the error message is non-empty.
 * It runs with small buffers too, where a name or statement that does not fit must be
 * an error or a truncation inside the buffer, never an overflow.
 * Build and run with tests/fuzz/run.sh. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "relay/ingest/statement.h"

static void check(const char *q, size_t dblen, size_t stmtlen)
{
    /* Heap buffers of exactly the size given, so ASan sees any write past them. */
    char *db = malloc(dblen), *stmt = malloc(stmtlen), err[256] = "";
    memset(db, 0, dblen);
    memset(stmt, 0, stmtlen);
    int rc = tsr_statement_create_database(q, db, dblen, stmt, stmtlen, err, sizeof(err));
    CHECK(rc == -1 || rc == 0 || rc == 1);
    if (rc == 0) {
        CHECK(memchr(db, '\0', dblen) != NULL && db[0] != '\0');
        CHECK(memchr(stmt, '\0', stmtlen) != NULL);
        const char *s = q;
        while (isspace((unsigned char)*s))
            s++;
        size_t n = strlen(stmt);
        CHECK(n > 0 && n <= strlen(s) && memcmp(stmt, s, n) == 0);
        CHECK(!isspace((unsigned char)stmt[n - 1]) && stmt[n - 1] != ';');
    } else if (rc == -1) {
        CHECK(err[0] != '\0');
    }
    free(db);
    free(stmt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *q = strndup((const char *)data, size);
    check(q, 256, 4096);
    check(q, 4, 16);
    free(q);
    return 0;
}

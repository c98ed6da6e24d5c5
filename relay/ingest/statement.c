#include "relay/ingest/statement.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *skip_space(const char *s)
{
    while (*s && isspace((unsigned char)*s)) s++;
    return s;
}

/* Matches keyword kw (case-insensitive) followed by a space or the end. */
static const char *keyword(const char *s, const char *kw)
{
    size_t n = strlen(kw);
    if (strncasecmp(s, kw, n) != 0) return NULL;
    if (s[n] && !isspace((unsigned char)s[n])) return NULL;
    return s + n;
}

/* An InfluxQL identifier: "double quoted" with \" and \\ escapes, or unquoted
 * [A-Za-z_][A-Za-z0-9_]*. Returns the character after it, or NULL. */
static const char *identifier(const char *s, char *out, size_t outlen)
{
    size_t o = 0;
    if (*s == '"') {
        for (s++; *s && *s != '"'; s++) {
            if (*s == '\\' && (s[1] == '"' || s[1] == '\\')) s++;
            if (*s == '\n' || o + 1 >= outlen) return NULL;
            out[o++] = *s;
        }
        if (*s != '"') return NULL;
        s++;
    } else {
        if (!(isalpha((unsigned char)*s) || *s == '_')) return NULL;
        while (isalnum((unsigned char)*s) || *s == '_') {
            if (o + 1 >= outlen) return NULL;
            out[o++] = *s++;
        }
    }
    out[o] = '\0';
    return o ? s : NULL;
}

int tsr_statement_create_database(const char *q, char *db, size_t dblen, char *stmt,
                                  size_t stmtlen, char *err, size_t errlen)
{
    const char *s = skip_space(q), *start = s;
    if (!(s = keyword(s, "CREATE"))) return 1;
    s = skip_space(s);
    if (!(s = keyword(s, "DATABASE"))) return 1;
    s = skip_space(s);
    const char *after = identifier(s, db, dblen);
    if (!after) {
        snprintf(err, errlen, "error parsing query: found %.40s, expected identifier at line 1, "
                 "char %d", *s ? s : "EOF", (int)(s - q) + 1);
        return -1;
    }
    /* WITH DURATION ... : InfluxDB's own clauses go along as they are; a second
     * statement does not. */
    const char *end = after + strlen(after);
    const char *semi = strchr(after, ';');
    if (semi) {
        if (*skip_space(semi + 1)) {
            snprintf(err, errlen, "tsrelay forwards one CREATE DATABASE statement per request");
            return -1;
        }
        end = semi;
    }
    while (end > after && isspace((unsigned char)end[-1])) end--;
    const char *rest = skip_space(after);
    if (rest < end && !keyword(rest, "WITH")) {
        snprintf(err, errlen, "error parsing query: found %.40s, expected WITH, ;, EOF at line 1",
                 rest);
        return -1;
    }
    size_t n = (size_t)(end - start);
    if (n + 1 > stmtlen) {
        snprintf(err, errlen, "statement too long");
        return -1;
    }
    memcpy(stmt, start, n);
    stmt[n] = '\0';
    return 0;
}

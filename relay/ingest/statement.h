/* relay/ingest/statement.h — the InfluxQL the relay forwards: CREATE DATABASE.
 *
 * Telegraf and the InfluxDB client libraries send `CREATE DATABASE "name"` through
 * /query before writing. The relay makes it durable like a write (a record of its own
 * in the topic) and every cluster whose type has databases executes it in its place in
 * the stream. Owns: recognising such a statement and naming its database. Pure; any
 * thread. */
#ifndef TSR_STATEMENT_H
#define TSR_STATEMENT_H

#include <stddef.h>

/* Parses q as one CREATE DATABASE statement (optionally followed by InfluxQL's WITH
 * clauses, and a ';'). On success copies the database name (unquoted, unescaped) into
 * db and the statement, trimmed, into stmt, and returns 0. Returns 1 when q is some
 * other statement, and -1 with err set when it is a CREATE DATABASE that does not
 * parse (InfluxDB's wording). */
int tsr_statement_create_database(const char *q, char *db, size_t dblen, char *stmt,
                                  size_t stmtlen, char *err, size_t errlen);

#endif

/* replay/ctl_text.h — how tsrelayctl writes numbers, sizes, times and tables for
 * people: "1,234,567", "1.5 MiB", "1:02:03", RFC 3339 times, rows of strings in
 * aligned columns, and progress bars.
 *
 * No global state, one thread per table; only table_print writes (to stdout). The fmt_*
 * functions write into the caller's buf, truncated to len, and return buf, so they nest
 * in a printf. A table keeps the header pointers it is given (string literals) and
 * copies its cells; running out of memory aborts. */
#ifndef TSR_CTL_TEXT_H
#define TSR_CTL_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* 1234567 -> "1,234,567". */
const char *fmt_count(int64_t n, char *buf, size_t len);
/* Bytes in binary units: "512 B", "1.5 MiB". */
const char *fmt_bytes(double b, char *buf, size_t len);
/* Seconds as "0:42", "12:05", "1:02:03"; "-:--" when unknown (negative). */
const char *fmt_eta(double s, char *buf, size_t len);
/* Unix milliseconds as RFC 3339 in UTC (tsr_ctl_time_format). */
const char *fmt_time(int64_t ms, char *buf, size_t len);
/* s as one shell word, quoted only when it needs it. */
const char *shell_word(const char *s, char *buf, size_t len);

/* A progress line on a terminal, drawn again in place: "\r[#####.....] LINE", with what
 * is left of a longer previous one blanked (*drawn: its length, 0 at first) and a
 * newline when last. p in [0, 1]. */
void draw_progress(FILE *out, double p, const char *line, int last, size_t *drawn);

#define TABLE_MAX_COLS 10

/* Rows of strings printed in aligned columns; a header starting with '>' is right-
 * aligned (numbers). A row may carry a line printed under it (the ledger's commands). */
struct table {
    int ncols;
    const char *head[TABLE_MAX_COLS];
    size_t nrows, cap;
    char **cells; /* nrows * (ncols + 1): the last is the line under the row, or NULL */
};

void table_init_list(struct table *t, const char *const *head);
/* table_init(&t, "NAME", ">COUNT"): the headers as a NULL-terminated array, so no
 * variadic NULL sentinel (whose type varargs do not fix). */
#define table_init(t, ...) table_init_list((t), (const char *const[]){__VA_ARGS__, NULL})

/* Adds a row of ncols strings (copied). */
void table_row(struct table *t, ...);
/* Sets the line printed under the last row (copied). */
void table_under(struct table *t, const char *line);
/* Prints the headers and rows to stdout. */
void table_print(struct table *t);
/* Frees the rows; t may then be thrown away. */
void table_free(struct table *t);

#endif

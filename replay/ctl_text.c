/* replay/ctl_text.c — numbers, sizes, times and tables as tsrelayctl prints them
 * (ctl_text.h). */
#include "ctl_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/ctl_time.h"

/* --- formatting ---------------------------------------------------------------------- */

const char *fmt_count(int64_t n, char *buf, size_t len)
{
    char digits[32];
    uint64_t u = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
    int nd = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)u);
    size_t o = 0;
    if (n < 0 && o + 1 < len) buf[o++] = '-';
    for (int k = 0; k < nd && o + 1 < len; k++) {
        if (k && (nd - k) % 3 == 0 && o + 2 < len) buf[o++] = ',';
        buf[o++] = digits[k];
    }
    buf[o] = '\0';
    return buf;
}

const char *fmt_bytes(double b, char *buf, size_t len)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4)
        b /= 1024, u++;
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, units[u]);
    return buf;
}

const char *fmt_eta(double s, char *buf, size_t len)
{
    if (!(s >= 0 && s <= 99 * 3600.0)) { /* NaN too */
        snprintf(buf, len, "-:--");
        return buf;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
    return buf;
}

const char *fmt_time(int64_t ms, char *buf, size_t len)
{
    tsr_ctl_time_format(ms, buf, len);
    return buf;
}

/* A cluster name quoted for a shell only when it needs it, so the common case reads
 * clean and the rare one still pastes safely. */
const char *shell_word(const char *s, char *buf, size_t len)
{
    if (*s &&
        strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-:/@+=,") ==
            strlen(s)) {
        snprintf(buf, len, "%s", s);
        return buf;
    }
    size_t o = 0;
    buf[o++] = '\'';
    for (; *s && o + 5 < len; s++) {
        if (*s == '\'') {
            memcpy(buf + o, "'\\''", 4);
            o += 4;
        } else {
            buf[o++] = *s;
        }
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

/* --- tables -------------------------------------------------------------------------- */

void table_init_list(struct table *t, const char *const *head)
{
    memset(t, 0, sizeof(*t));
    for (; *head && t->ncols < TABLE_MAX_COLS; head++)
        t->head[t->ncols++] = *head;
}

void table_row(struct table *t, ...)
{
    size_t w = (size_t)t->ncols + 1;
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = realloc(t->cells, t->cap * w * sizeof(char *));
        if (!t->cells) abort();
    }
    char **row = t->cells + t->nrows++ * w;
    va_list ap;
    va_start(ap, t);
    for (int k = 0; k < t->ncols; k++) {
        const char *s = va_arg(ap, const char *);
        row[k] = strdup(s ? s : "");
        if (!row[k]) abort();
    }
    va_end(ap);
    row[t->ncols] = NULL;
}

void table_under(struct table *t, const char *line)
{
    char **slot = &t->cells[(t->nrows - 1) * ((size_t)t->ncols + 1) + (size_t)t->ncols];
    free(*slot);
    *slot = strdup(line);
    if (!*slot) abort();
}

/* Display width in characters of UTF-8 text (continuation bytes do not count). */
static size_t text_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

static void print_cell(const char *s, size_t width, int right, int last)
{
    size_t pad = width - text_width(s);
    if (right)
        printf("%*s%s", (int)pad, "", s);
    else if (last)
        fputs(s, stdout);
    else
        printf("%s%*s", s, (int)pad, "");
}

void table_print(struct table *t)
{
    size_t width[TABLE_MAX_COLS], w = (size_t)t->ncols + 1;
    for (int k = 0; k < t->ncols; k++) {
        const char *h = t->head[k] + (t->head[k][0] == '>');
        width[k] = text_width(h);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t cw = text_width(t->cells[r * w + (size_t)k]);
            if (cw > width[k]) width[k] = cw;
        }
    }
    for (int k = 0; k < t->ncols; k++) {
        int right = t->head[k][0] == '>';
        print_cell(t->head[k] + right, width[k], right, k == t->ncols - 1);
        fputs(k == t->ncols - 1 ? "\n" : "  ", stdout);
    }
    for (size_t r = 0; r < t->nrows; r++) {
        char **row = t->cells + r * w;
        for (int k = 0; k < t->ncols; k++) {
            print_cell(row[k], width[k], t->head[k][0] == '>', k == t->ncols - 1);
            fputs(k == t->ncols - 1 ? "\n" : "  ", stdout);
        }
        if (row[t->ncols]) printf("%s\n", row[t->ncols]);
    }
}

void table_free(struct table *t)
{
    for (size_t r = 0; r < t->nrows * ((size_t)t->ncols + 1); r++)
        free(t->cells[r]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

#define BAR_WIDTH 20

void draw_progress(FILE *out, double p, const char *line, int last, size_t *drawn)
{
    char bar[BAR_WIDTH + 1];
    int filled = (int)((p < 0 ? 0 : p > 1 ? 1 : p) * BAR_WIDTH);
    for (int k = 0; k < BAR_WIDTH; k++) bar[k] = k < filled ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    int n = fprintf(out, "\r[%s] %s", bar, line);
    if (n >= 0 && (size_t)n < *drawn) fprintf(out, "%*s", (int)(*drawn - (size_t)n), "");
    *drawn = n > 0 ? (size_t)n : 0;
    if (last) fputc('\n', out);
    fflush(out);
}

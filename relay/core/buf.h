/* relay/core/buf.h — a growable byte buffer.
 *
 * Owns: its data. The caller owns the struct itself (usually embedded or on the stack);
 * tsr_buf_free releases the data and leaves an empty buffer that may be reused.
 * Allocation failure aborts: a relay that cannot allocate a few KB cannot do anything
 * useful, and every hot-path size is bounded by configured limits. Not thread-safe. */
#ifndef TSR_BUF_H
#define TSR_BUF_H

#include <stddef.h>
#include <string.h>

struct tsr_buf {
    char *data;
    size_t len;
    size_t cap;
};

/* Makes room for at least `extra` more bytes after len. */
void tsr_buf_reserve(struct tsr_buf *b, size_t extra);
void tsr_buf_free(struct tsr_buf *b);
/* Hands the data to the caller (who frees it with free()) and empties the buffer. */
char *tsr_buf_detach(struct tsr_buf *b, size_t *len);
void tsr_buf_printf(struct tsr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline void tsr_buf_append(struct tsr_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len < n) tsr_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline void tsr_buf_putc(struct tsr_buf *b, char c)
{
    if (b->cap == b->len) tsr_buf_reserve(b, 1);
    b->data[b->len++] = c;
}

static inline void tsr_buf_puts(struct tsr_buf *b, const char *s)
{
    tsr_buf_append(b, s, strlen(s));
}

#endif

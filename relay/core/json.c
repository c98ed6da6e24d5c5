#include "relay/core/json.h"

#include <stdint.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t min, cp;
    if (s[0] < 0x80) return 1;
    if ((s[0] & 0xE0) == 0xC0) len = 2, min = 0x80, cp = s[0] & 0x1F;
    else if ((s[0] & 0xF0) == 0xE0) len = 3, min = 0x800, cp = s[0] & 0x0F;
    else if ((s[0] & 0xF8) == 0xF0) len = 4, min = 0x10000, cp = s[0] & 0x07;
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

void tsr_json_escape(struct tsr_buf *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            tsr_buf_putc(out, '\\');
            tsr_buf_putc(out, (char)c);
            i++;
        } else if (c == '\n') {
            tsr_buf_puts(out, "\\n");
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            tsr_buf_printf(out, "\\u%04x", c);
            i++;
        } else {
            size_t n = utf8_seq(p + i, len - i);
            if (n == 0) {
                tsr_buf_puts(out, "\\ufffd");
                i++;
            } else {
                tsr_buf_append(out, p + i, n);
                i += n;
            }
        }
    }
}

void tsr_json_string(struct tsr_buf *out, const char *s)
{
    tsr_buf_putc(out, '"');
    tsr_json_escape(out, s, strlen(s));
    tsr_buf_putc(out, '"');
}

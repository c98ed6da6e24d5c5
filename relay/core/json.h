/* relay/core/json.h — just enough JSON writing for error bodies and /status.
 * Pure functions on a caller-owned buffer; any thread. */
#ifndef TSR_JSON_H
#define TSR_JSON_H

#include <stddef.h>

#include "relay/core/buf.h"

/* Appends s[0..len) as the inside of a JSON string: quotes, backslashes and control
 * characters escaped, and bytes that are not valid UTF-8 written as \ufffd so the
 * document stays valid whatever the client sent. */
void tsr_json_escape(struct tsr_buf *out, const char *s, size_t len);

/* Appends "s" with the quotes. */
void tsr_json_string(struct tsr_buf *out, const char *s);

#endif

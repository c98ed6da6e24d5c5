/* relay/admin/status_page.h — the status page for humans, served by the admin listener on GET /.
 *
 * The page is relay/admin/status_page.html: one self-contained HTML file (inline CSS and
 * JavaScript, no external assets) that polls GET /status and GET /replays every 2 s and
 * renders them in the browser. tools/embed.sh turns it into build/gen/status_page.c at
 * build time, so the daemon serves it from memory and needs no file at run time.
 *
 * Both symbols are constant data with static storage: any thread may read them, nobody
 * frees them. tsr_status_page holds tsr_status_page_len bytes of UTF-8 HTML followed by
 * one NUL byte (not counted in the length). */
#ifndef TSR_STATUS_PAGE_H
#define TSR_STATUS_PAGE_H

#include <stddef.h>

extern const char tsr_status_page[];
extern const size_t tsr_status_page_len;

#endif

/* replay/ctl_reload.c — tsrelayctl reload: POST /reload, which has the relay re-read its
 * config file and swap it in only if it validates (relay/main.c, docs/shaping.md). */
#include "ctl.h"

#include <stdio.h>

#include "relay/core/buf.h"
#include "replay/ctl_json.h"

int cmd_reload(struct ctl *c)
{
    struct tsr_jsonr *doc = NULL;
    struct tsr_buf raw = {0};
    int rc = call(c, "POST", "/reload", "", "reload refused", &doc, &raw);
    if (rc) return rc;
    if (c->json)
        print_json(raw.data, raw.len);
    else
        printf("%s\n", tsr_jsonr_get_str(doc, "message", "reloaded"));
    tsr_jsonr_free(&doc);
    tsr_buf_free(&raw);
    return EXIT_OK;
}

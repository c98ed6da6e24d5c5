#include "relay/admin/replay_metrics.h"

#include <string.h>

#include "config/config.h"
#include "relay/core/buf.h"
#include "relay/core/version.h"
#include "relay/deliver/delivery.h"
#include "replay/ctl_json.h"

static const char *const states[] = {"queued", "running", "paused", "done", "failed", "cancelled"};
#define NSTATES (sizeof(states) / sizeof(states[0]))

/* A label value: names here are config names and versions, but quote what must be. */
static void label(struct tsr_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '"' || *v == '\\') tsr_buf_putc(b, '\\');
        if (*v == '\n') {
            tsr_buf_puts(b, "\\n");
            continue;
        }
        tsr_buf_putc(b, *v);
    }
}

void tsr_info_metric(const struct tsr_config *cf, struct tsr_buf *b)
{
    tsr_buf_puts(b, "# HELP tsrelay_info The relay's datacenter, fleet instance and version.\n"
                    "# TYPE tsrelay_info gauge\ntsrelay_info{datacenter=\"");
    label(b, cf->datacenter);
    tsr_buf_puts(b, "\",instance_name=\"");
    label(b, cf->instance);
    tsr_buf_puts(b, "\",version=\"");
    label(b, TSR_VERSION);
    tsr_buf_puts(b, "\"} 1\n");
}

void tsr_replay_metrics(struct tsr_delivery *d, struct tsr_buf *b)
{
    struct tsr_buf js = {0};
    struct tsr_jsonr *root = NULL;
    char err[128];
    long counts[NSTATES] = {0};
    if (d) tsr_delivery_replays(d, &js);
    if (js.len && tsr_jsonr_parse(js.data, js.len, &root, err, sizeof(err)) != 0) root = NULL;
    size_t n = root ? tsr_jsonr_len(root) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *st = tsr_jsonr_get_str(tsr_jsonr_at(root, i), "state", "");
        for (size_t s = 0; s < NSTATES; s++)
            if (strcmp(st, states[s]) == 0) counts[s]++;
    }
    tsr_buf_puts(b, "# HELP tsrelay_replay_jobs Replay jobs this relay lists, by state "
                    "(finished ones stay listed as the audit trail).\n"
                    "# TYPE tsrelay_replay_jobs gauge\n");
    for (size_t s = 0; s < NSTATES; s++)
        tsr_buf_printf(b, "tsrelay_replay_jobs{state=\"%s\"} %ld\n", states[s], counts[s]);
    tsr_buf_puts(b, "# HELP tsrelay_replay_progress Share of an unfinished replay job's "
                    "records sent, 0 to 1.\n# TYPE tsrelay_replay_progress gauge\n");
    for (size_t i = 0; i < n; i++) {
        const struct tsr_jsonr *job = tsr_jsonr_at(root, i);
        const char *st = tsr_jsonr_get_str(job, "state", "");
        if (strcmp(st, "done") == 0 || strcmp(st, "failed") == 0 || strcmp(st, "cancelled") == 0)
            continue;
        tsr_buf_printf(b, "tsrelay_replay_progress{id=\"%lld\",cluster=\"",
                       (long long)tsr_jsonr_get_int(job, "id", 0));
        label(b, tsr_jsonr_get_str(job, "cluster", ""));
        tsr_buf_printf(b, "\"} %.4f\n", tsr_jsonr_get_num(job, "progress", 0));
    }
    tsr_jsonr_free(&root);
    tsr_buf_free(&js);
}

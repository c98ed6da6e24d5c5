/* relay/admin/spool_view.h — the spool as /status and /metrics show it.
 *
 * Reads relay/kafka/durable.h's status; owns nothing. The event-loop thread. */
#ifndef TSR_SPOOL_VIEW_H
#define TSR_SPOOL_VIEW_H

struct tsr_buf;
struct tsr_durable;

/* ,"spool":{...} for /status. */
void tsr_spool_view_json(struct tsr_durable *d, struct tsr_buf *b);

/* The tsrelay_spool_* families, Prometheus text format. */
void tsr_spool_view_metrics(struct tsr_durable *d, struct tsr_buf *b);

#endif

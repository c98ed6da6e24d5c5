/* relay/admin/replay_metrics.h — replay jobs and the relay's identity in /metrics, for
 * dashboards and alerts (deploy/grafana, deploy/prometheus).
 *
 * Reads the delivery's replay snapshot (JSON); owns nothing. The event-loop thread. */
#ifndef TSR_REPLAY_METRICS_H
#define TSR_REPLAY_METRICS_H

struct tsr_buf;
struct tsr_config;
struct tsr_delivery;

/* tsrelay_info{datacenter,instance,version} 1: the labels a dashboard groups the fleet
 * by, joined onto any other family with `* on(instance) group_left(datacenter)`. */
void tsr_info_metric(const struct tsr_config *cf, struct tsr_buf *b);

/* tsrelay_replay_jobs{state} (jobs this relay lists, finished ones included) and
 * tsrelay_replay_progress{id,cluster} (0 to 1, unfinished jobs). d may be NULL. */
void tsr_replay_metrics(struct tsr_delivery *d, struct tsr_buf *b);

#endif

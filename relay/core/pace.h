/* relay/core/pace.h — how fast to send to a cluster: a token bucket for a points/s cap,
 * and the retry backoff. Shared by the forwarders and replay jobs, so a cluster is
 * paced the same way whoever writes to it. Pure functions on caller-owned state. */
#ifndef TSR_PACE_H
#define TSR_PACE_H

#include <stdint.h>
#include <stdlib.h>

struct tsr_bucket {
    double tokens;
    int64_t at_ns; /* when tokens was last refilled (monotonic) */
};

/* Takes n points from a bucket refilled at rate per second and holding at most one
 * second's worth. Returns 0 when they may go now (tokens may go negative for a batch
 * larger than the rate: the next one waits), or the milliseconds to wait. */
static inline int64_t tsr_bucket_take(struct tsr_bucket *b, double rate, double n, int64_t now_ns)
{
    b->tokens += (double)(now_ns - b->at_ns) / 1e9 * rate;
    if (b->tokens > rate) b->tokens = rate;
    b->at_ns = now_ns;
    double need = n < rate ? n : rate;
    if (b->tokens < need) return (int64_t)((need - b->tokens) / rate * 1000) + 1;
    b->tokens -= n;
    return 0;
}

/* Wait before try number `attempts` (1 = the first retry): 100 ms doubling up to
 * max_ms, with jitter so relays that failed together do not retry together, and never
 * less than the Retry-After (seconds, <= 0 if none) the cluster asked for. */
static inline int64_t tsr_backoff_ms(int attempts, int64_t max_ms, long retry_after_s)
{
    int64_t ms = 100;
    for (int i = 1; i < attempts && ms < max_ms; i++) ms *= 2;
    if (ms > max_ms) ms = max_ms;
    ms = ms / 2 + (rand() % (ms / 2 + 1));
    if (retry_after_s > 0 && retry_after_s * 1000 > ms) ms = retry_after_s * 1000;
    return ms;
}

#endif

/* relay/core/clock.h — the relay's notion of "now".
 *
 * Every timestamp the relay stamps on a point and every batching or timeout decision
 * reads the clock through here. Code whose timing tests must control takes the time as
 * an argument instead (the parser's now_ns, health/health.h's now_ms). Thread-safe. */
#ifndef TSR_CLOCK_H
#define TSR_CLOCK_H

#include <stdint.h>

/* Wall-clock time in nanoseconds since the Unix epoch. */
int64_t tsr_clock_now_ns(void);
/* Monotonic time in nanoseconds, for durations. */
int64_t tsr_clock_mono_ns(void);

#endif

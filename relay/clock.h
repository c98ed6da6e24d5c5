/* relay/clock.h — the relay's notion of "now", injectable for tests.
 *
 * Every timestamp the relay stamps on a point and every batching or timeout decision
 * reads the clock through here, so unit tests can set the time and get deterministic
 * results. Thread-safe to read; set only from tests before threads start. */
#ifndef TSR_CLOCK_H
#define TSR_CLOCK_H

#include <stdint.h>

/* Wall-clock time in nanoseconds since the Unix epoch. */
int64_t tsr_clock_now_ns(void);
/* Monotonic time in nanoseconds, for durations. */
int64_t tsr_clock_mono_ns(void);

/* Tests only: make tsr_clock_now_ns return `fake_ns` (0 restores the real clock). */
void tsr_clock_set_fake(int64_t fake_ns);

#endif

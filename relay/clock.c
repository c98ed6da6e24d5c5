#include "clock.h"

#include <time.h>

static int64_t fake_now_ns;

int64_t tsr_clock_now_ns(void)
{
    if (fake_now_ns) return fake_now_ns;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t tsr_clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void tsr_clock_set_fake(int64_t fake_ns)
{
    fake_now_ns = fake_ns;
}

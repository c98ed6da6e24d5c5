#include "relay/core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum tsr_log_level tsr_log_min = TSR_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int tsr_log_level_parse(const char *name, enum tsr_log_level *level)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *level = (enum tsr_log_level)i;
            return 0;
        }
    }
    return -1;
}

void tsr_log_write(enum tsr_log_level level, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s ", ts.tv_nsec / 1000000,
                          level_names[level]);

    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    /* A truncated message still ends with a newline, so lines never run together. */
    if (m < 0) m = 0;
    n += (size_t)m;
    if (n > sizeof(line) - 2) n = sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}

void tsr_log_limited(struct tsr_log_limit *lim, enum tsr_log_level level, const char *fmt, ...)
{
    if (level < tsr_log_min) return;
    long long now = (long long)time(NULL);
    if (lim->logged_at && now - lim->logged_at < lim->every_s) {
        lim->unlogged++;
        return;
    }
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (lim->unlogged)
        tsr_log_write(level, "%s (and %llu more since the last such line)", msg, lim->unlogged);
    else
        tsr_log_write(level, "%s", msg);
    lim->logged_at = now;
    lim->unlogged = 0;
}

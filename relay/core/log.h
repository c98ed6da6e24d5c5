/* relay/core/log.h — the process-wide logger.
 *
 * Owns: the log level and the format of every log line. Lines go to stderr (Kubernetes
 * and journald collect it) as "2026-11-23T05:47:42.123Z level message". The level is
 * checked before the message is formatted, so a disabled debug line costs one compare.
 * Thread-safe: each line is written with a single write(2). */
#ifndef TSR_LOG_H
#define TSR_LOG_H

enum tsr_log_level { TSR_LOG_DEBUG, TSR_LOG_INFO, TSR_LOG_WARN, TSR_LOG_ERROR };

extern enum tsr_log_level tsr_log_min;

/* Parses "debug", "info", "warn" or "error". Returns 0, or -1 if the name is unknown. */
int tsr_log_level_parse(const char *name, enum tsr_log_level *level);

void tsr_log_write(enum tsr_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define tsr_log(level, ...)                                                                        \
    do {                                                                                           \
        if ((level) >= tsr_log_min) tsr_log_write((level), __VA_ARGS__);                           \
    } while (0)
/* A message that can repeat many times a second (refused clients, failed handshakes):
 * at most one line every every_s seconds, saying how many were left out since the last.
 * One per message kind, zeroed but for every_s; one thread per struct. */
struct tsr_log_limit {
    int every_s;
    long long logged_at;
    unsigned long long unlogged;
};
void tsr_log_limited(struct tsr_log_limit *lim, enum tsr_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define tsr_debug(...) tsr_log(TSR_LOG_DEBUG, __VA_ARGS__)
#define tsr_info(...)  tsr_log(TSR_LOG_INFO, __VA_ARGS__)
#define tsr_warn(...)  tsr_log(TSR_LOG_WARN, __VA_ARGS__)
#define tsr_error(...) tsr_log(TSR_LOG_ERROR, __VA_ARGS__)

#endif

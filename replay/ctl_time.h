/* replay/ctl_time.h — the TIME arguments of tsrelayctl, and times and durations as
 * operators read them.
 *
 * Accepted forms of TIME (all become Unix milliseconds):
 *   RFC 3339      2026-11-23T05:00:00Z, 2026-11-23T07:00:00+02:00,
 *                 2026-11-23T05:00:00.250Z (fraction truncated to ms); 't', 'z' and a
 *                 space instead of 'T' are accepted, as RFC 3339 allows
 *   relative      -2h, -30m, -90s, -1d, -1h30m, -500ms: now minus the sum of the parts;
 *                 units d h m s ms, each part a whole number
 *   now           the injected "now"
 *   earliest      0 ("everything Kafka retains"), only with TSR_CTL_TIME_EARLIEST
 *   an integer    Unix milliseconds, e.g. 1795410000000. Numbers of exactly 10 digits
 *                 are refused: that is what Unix seconds look like (until 2286), and as
 *                 milliseconds they would mean January 1970, i.e. replay everything
 *                 Kafka retains. The message says to append 000
 *
 * Pure functions, no global state: any thread. "now" is a parameter so tests are
 * deterministic. */
#ifndef TSR_CTL_TIME_H
#define TSR_CTL_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Flag for tsr_ctl_time_parse: accept "earliest" (only --since means anything by it). */
#define TSR_CTL_TIME_EARLIEST 1

/* Parses s into *ms (Unix milliseconds) relative to now_ms. Returns 0, or -1 with the
 * reason in err ("unknown unit 'x' in relative time", "month 13 out of range"); the
 * caller adds which argument it was. *ms is untouched on error. */
int tsr_ctl_time_parse(const char *s, int64_t now_ms, int flags, int64_t *ms, char *err,
                       size_t errlen);

/* Writes ms as RFC 3339 in UTC: "2026-11-23T05:00:00Z", with ".250" before the Z when
 * ms is not a whole second, so parsing the result gives ms back exactly. */
void tsr_ctl_time_format(int64_t ms, char *buf, size_t len);

/* Writes a duration compactly, largest units first: "1d2h", "1h30m", "42m10s", "9s",
 * "350ms", "0s". Seconds are dropped from durations of a day or more and milliseconds
 * from those of a second or more. Negative durations get a leading '-'. */
void tsr_ctl_duration_format(int64_t ms, char *buf, size_t len);

#endif

#include "job.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/core/json.h"

static const char *const state_names[] = {"queued", "running", "paused",
                                          "done",   "failed",  "cancelled"};

const char *tsr_replay_state_name(enum tsr_replay_state s)
{
    return state_names[s];
}

int tsr_replay_finished(enum tsr_replay_state s)
{
    return s == TSR_REPLAY_DONE || s == TSR_REPLAY_FAILED || s == TSR_REPLAY_CANCELLED;
}

int64_t tsr_replay_records_total(const struct tsr_replay_job *j)
{
    int64_t n = 0;
    for (int i = 0; i < j->nparts; i++) n += j->parts[i].end - j->parts[i].start;
    return n;
}

int64_t tsr_replay_records_done(const struct tsr_replay_job *j)
{
    int64_t n = 0;
    for (int i = 0; i < j->nparts; i++) n += j->parts[i].position - j->parts[i].start;
    return n;
}

void tsr_replay_count(struct tsr_replay_job *j, const char *name, size_t len, int64_t points,
                      int64_t bytes)
{
    /* Linear: a dry run sees a handful to a few hundred measurements. */
    for (size_t i = 0; i < j->nmeasurements; i++) {
        struct tsr_replay_measurement *m = &j->measurements[i];
        if (strlen(m->name) == len && memcmp(m->name, name, len) == 0) {
            m->points += points;
            m->bytes += bytes;
            return;
        }
    }
    j->measurements = realloc(j->measurements, sizeof(*j->measurements) * (j->nmeasurements + 1));
    if (!j->measurements) abort();
    struct tsr_replay_measurement *m = &j->measurements[j->nmeasurements++];
    m->name = strndup(name, len);
    if (!m->name) abort();
    m->points = points;
    m->bytes = bytes;
}

/* Text values are stored to the end of their line: no newlines inside. */
static void put_text(struct tsr_buf *out, const char *key, const char *v)
{
    tsr_buf_printf(out, "%s ", key);
    for (const char *p = v; *p; p++) tsr_buf_putc(out, *p == '\n' ? ' ' : *p);
    tsr_buf_putc(out, '\n');
}

void tsr_replay_job_encode(const struct tsr_replay_job *j, struct tsr_buf *out)
{
    tsr_buf_puts(out, "v1\n");
    tsr_buf_printf(out, "id %" PRIu64 "\n", j->id);
    put_text(out, "cluster", j->cluster);
    tsr_buf_printf(out,
                   "since_ms %" PRId64 "\nuntil_ms %" PRId64 "\nrate %" PRId64 "\ndry_run %d\n"
                   "state %d\ncreated_ms %" PRId64 "\nupdated_ms %" PRId64
                   "\nfinished_ms %" PRId64 "\npoints_sent %" PRId64 "\nbytes_sent %" PRId64 "\n",
                   j->since_ms, j->until_ms, j->rate, j->dry_run, (int)j->state, j->created_ms,
                   j->updated_ms, j->finished_ms, j->points_sent, j->bytes_sent);
    put_text(out, "db", j->db);
    put_text(out, "measurement_prefix", j->measurement_prefix);
    /* Written only when set, so an older relay reads the record as it always did. */
    if (j->points_since_ms || j->points_until_ms)
        tsr_buf_printf(out, "points_since_ms %" PRId64 "\npoints_until_ms %" PRId64 "\n",
                       j->points_since_ms, j->points_until_ms);
    put_text(out, "started_by", j->started_by);
    put_text(out, "result", j->result);
    for (int i = 0; i < j->nparts; i++)
        tsr_buf_printf(out, "part %d %" PRId64 " %" PRId64 " %" PRId64 "\n", j->parts[i].partition,
                       j->parts[i].start, j->parts[i].end, j->parts[i].position);
    for (size_t i = 0; i < j->nmeasurements; i++) {
        char head[96];
        snprintf(head, sizeof(head), "m %" PRId64 " %" PRId64, j->measurements[i].points,
                 j->measurements[i].bytes);
        put_text(out, head, j->measurements[i].name);
    }
}

static void copy_text(char *dst, size_t dstlen, const char *v, size_t vlen)
{
    if (vlen >= dstlen) vlen = dstlen - 1;
    memcpy(dst, v, vlen);
    dst[vlen] = '\0';
}

int tsr_replay_job_decode(const char *rec, size_t len, struct tsr_replay_job *j)
{
    memset(j, 0, sizeof(*j));
    if (len < 3 || memcmp(rec, "v1\n", 3) != 0) return -1;
    const char *p = rec + 3, *end = rec + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        const char *sp = memchr(p, ' ', (size_t)(nl - p));
        if (sp) {
            size_t klen = (size_t)(sp - p);
            const char *v = sp + 1;
            size_t vlen = (size_t)(nl - v);
            char num[512];
            copy_text(num, sizeof(num), v, vlen);
#define KEY(k) (klen == sizeof(k) - 1 && memcmp(p, k, klen) == 0)
            if (KEY("id")) j->id = strtoull(num, NULL, 10);
            else if (KEY("cluster")) copy_text(j->cluster, sizeof(j->cluster), v, vlen);
            else if (KEY("since_ms")) j->since_ms = strtoll(num, NULL, 10);
            else if (KEY("until_ms")) j->until_ms = strtoll(num, NULL, 10);
            else if (KEY("rate")) j->rate = strtoll(num, NULL, 10);
            else if (KEY("points_since_ms")) j->points_since_ms = strtoll(num, NULL, 10);
            else if (KEY("points_until_ms")) j->points_until_ms = strtoll(num, NULL, 10);
            else if (KEY("dry_run")) j->dry_run = atoi(num);
            else if (KEY("state")) j->state = (enum tsr_replay_state)atoi(num);
            else if (KEY("created_ms")) j->created_ms = strtoll(num, NULL, 10);
            else if (KEY("updated_ms")) j->updated_ms = strtoll(num, NULL, 10);
            else if (KEY("finished_ms")) j->finished_ms = strtoll(num, NULL, 10);
            else if (KEY("points_sent")) j->points_sent = strtoll(num, NULL, 10);
            else if (KEY("bytes_sent")) j->bytes_sent = strtoll(num, NULL, 10);
            else if (KEY("db")) copy_text(j->db, sizeof(j->db), v, vlen);
            else if (KEY("measurement_prefix"))
                copy_text(j->measurement_prefix, sizeof(j->measurement_prefix), v, vlen);
            else if (KEY("started_by")) copy_text(j->started_by, sizeof(j->started_by), v, vlen);
            else if (KEY("result")) copy_text(j->result, sizeof(j->result), v, vlen);
            else if (KEY("part") && j->nparts < TSR_CKPT_MAX_PARTITIONS) {
                struct tsr_replay_part *rp = &j->parts[j->nparts];
                long long a, b, c, d;
                if (sscanf(num, "%lld %lld %lld %lld", &a, &b, &c, &d) == 4) {
                    *rp = (struct tsr_replay_part){(int32_t)a, b, c, d};
                    j->nparts++;
                }
            } else if (KEY("m")) {
                long long pts, bytes;
                int n = 0;
                if (sscanf(num, "%lld %lld %n", &pts, &bytes, &n) == 2 && n > 0)
                    tsr_replay_count(j, v + n, vlen - (size_t)n, pts, bytes);
            }
#undef KEY
        }
        p = nl + 1;
    }
    if (j->state > TSR_REPLAY_CANCELLED || !j->id) {
        tsr_replay_job_clear(j);
        return -1;
    }
    return 0;
}

void tsr_replay_job_json(const struct tsr_replay_job *j, struct tsr_buf *out)
{
    int64_t total = tsr_replay_records_total(j), done = tsr_replay_records_done(j);
    tsr_buf_printf(out, "{\"id\":%" PRIu64 ",\"cluster\":", j->id);
    tsr_json_string(out, j->cluster);
    tsr_buf_printf(out,
                   ",\"since_ms\":%" PRId64 ",\"until_ms\":%" PRId64 ",\"rate\":%" PRId64
                   ",\"db\":",
                   j->since_ms, j->until_ms, j->rate);
    tsr_json_string(out, j->db);
    tsr_buf_puts(out, ",\"measurement_prefix\":");
    tsr_json_string(out, j->measurement_prefix);
    tsr_buf_printf(out, ",\"points_since_ms\":%" PRId64 ",\"points_until_ms\":%" PRId64,
                   j->points_since_ms, j->points_until_ms);
    tsr_buf_printf(out, ",\"dry_run\":%s,\"state\":\"%s\",\"started_by\":",
                   j->dry_run ? "true" : "false", tsr_replay_state_name(j->state));
    tsr_json_string(out, j->started_by);
    tsr_buf_printf(out,
                   ",\"created_ms\":%" PRId64 ",\"updated_ms\":%" PRId64 ",\"finished_ms\":%" PRId64
                   ",\"points_sent\":%" PRId64 ",\"bytes_sent\":%" PRId64
                   ",\"records_done\":%" PRId64 ",\"records_total\":%" PRId64
                   ",\"progress\":%.4f,\"rate_now\":%.1f,\"result\":",
                   j->created_ms, j->updated_ms, j->finished_ms, j->points_sent, j->bytes_sent,
                   done, total, total ? (double)done / (double)total : 1.0, j->rate_now);
    tsr_json_string(out, j->result);
    tsr_buf_puts(out, ",\"partitions\":[");
    for (int i = 0; i < j->nparts; i++)
        tsr_buf_printf(out,
                       "%s{\"partition\":%d,\"start\":%" PRId64 ",\"end\":%" PRId64
                       ",\"position\":%" PRId64 "}",
                       i ? "," : "", j->parts[i].partition, j->parts[i].start, j->parts[i].end,
                       j->parts[i].position);
    tsr_buf_puts(out, "],\"measurements\":[");
    for (size_t i = 0; i < j->nmeasurements; i++) {
        tsr_buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
        tsr_json_string(out, j->measurements[i].name);
        tsr_buf_printf(out, ",\"points\":%" PRId64 ",\"bytes\":%" PRId64 "}",
                       j->measurements[i].points, j->measurements[i].bytes);
    }
    tsr_buf_puts(out, "]}");
}

void tsr_replay_job_clear(struct tsr_replay_job *j)
{
    for (size_t i = 0; i < j->nmeasurements; i++) free(j->measurements[i].name);
    free(j->measurements);
    j->measurements = NULL;
    j->nmeasurements = 0;
}

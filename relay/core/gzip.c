#include "relay/core/gzip.h"

#include <zlib.h>

int tsr_gunzip(const void *in, size_t len, struct tsr_buf *out, size_t max)
{
    z_stream zs = {0};
    int rc = -1;
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return -1;
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    size_t start = out->len;
    for (;;) {
        /* Room for one byte past max: only inflate writing that byte tells a body longer
         * than max from one of exactly max bytes, which is accepted (even an empty one
         * with max 0, or one followed by an empty member). */
        size_t left = max - (out->len - start);
        size_t room = left < 65536 ? left + 1 : 65536;
        tsr_buf_reserve(out, room);
        zs.next_out = (Bytef *)out->data + out->len;
        zs.avail_out = (uInt)room;
        int z = inflate(&zs, Z_NO_FLUSH);
        out->len += room - zs.avail_out;
        if (out->len - start > max) {
            rc = -2;
            break;
        }
        if (z == Z_STREAM_END) {
            /* Concatenated gzip members are legal (and what `cat a.gz b.gz` makes). */
            if (zs.avail_in == 0) {
                rc = 0;
                break;
            }
            if (inflateReset(&zs) != Z_OK) break;
            continue;
        }
        if (z != Z_OK && z != Z_BUF_ERROR) break;
        if (z == Z_BUF_ERROR && zs.avail_in == 0) break; /* truncated input */
    }
    inflateEnd(&zs);
    if (rc != 0) out->len = start;
    return rc;
}

int tsr_gzip(const void *in, size_t len, int level, struct tsr_buf *out)
{
    z_stream zs = {0};
    size_t start = out->len;
    if (deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t bound = deflateBound(&zs, (uLong)len);
    tsr_buf_reserve(out, bound);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out->data + out->len;
    zs.avail_out = (uInt)bound;
    /* deflateBound guarantees one Z_FINISH call is enough. */
    int z = deflate(&zs, Z_FINISH);
    out->len += bound - zs.avail_out;
    deflateEnd(&zs);
    if (z != Z_STREAM_END) {
        out->len = start;
        return -1;
    }
    return 0;
}

#include "relay/core/gzip.h"

#include <libdeflate.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

/* Deflate cannot expand data more than about 1032 to 1; a trailer that claims more is
 * not the size of this member (several members, or a lie). */
#define MAX_RATIO 1032

struct coders {
    struct libdeflate_compressor *comp;
    int level;
    struct libdeflate_decompressor *decomp;
};

static pthread_key_t coders_key;
static pthread_once_t coders_once = PTHREAD_ONCE_INIT;

static void coders_free(void *p)
{
    struct coders *c = p;
    if (c->comp) libdeflate_free_compressor(c->comp);
    if (c->decomp) libdeflate_free_decompressor(c->decomp);
    free(c);
}

static void coders_init(void)
{
    if (pthread_key_create(&coders_key, coders_free) != 0) abort();
}

static struct coders *coders(void)
{
    pthread_once(&coders_once, coders_init);
    struct coders *c = pthread_getspecific(coders_key);
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c || pthread_setspecific(coders_key, c) != 0) abort();
    }
    return c;
}

int tsr_gunzip_stream(const void *in, size_t len, struct tsr_buf *out, size_t max)
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

int tsr_gunzip(const void *in, size_t len, struct tsr_buf *out, size_t max)
{
    /* The common body is one member whose trailer (ISIZE, the size mod 2^32) says how
     * much room it needs: decode it in one call. Anything else goes to the stream, and
     * so does a header with its own CRC (FHCRC), which zlib checks and libdeflate skips. */
    if (len >= 18 && !(((const unsigned char *)in)[3] & 0x02)) {
        const unsigned char *t = (const unsigned char *)in + len - 4;
        size_t isize = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
        if (isize <= max && isize / MAX_RATIO <= len) {
            struct coders *c = coders();
            if (!c->decomp && !(c->decomp = libdeflate_alloc_decompressor())) abort();
            tsr_buf_reserve(out, isize + 1); /* never a null buffer, even when empty */
            size_t used = 0, made = 0;
            enum libdeflate_result r = libdeflate_gzip_decompress_ex(
                c->decomp, in, len, out->data + out->len, isize, &used, &made);
            if (r == LIBDEFLATE_SUCCESS && used == len && made == isize) {
                out->len += made;
                return 0;
            }
            if (r == LIBDEFLATE_BAD_DATA) return -1;
        }
    }
    return tsr_gunzip_stream(in, len, out, max);
}

int tsr_gzip(const void *in, size_t len, int level, struct tsr_buf *out)
{
    struct coders *c = coders();
    if (c->comp && c->level != level) {
        libdeflate_free_compressor(c->comp);
        c->comp = NULL;
    }
    if (!c->comp) {
        if (!(c->comp = libdeflate_alloc_compressor(level))) return -1; /* level out of range */
        c->level = level;
    }
    size_t bound = libdeflate_gzip_compress_bound(c->comp, len);
    tsr_buf_reserve(out, bound);
    size_t n = libdeflate_gzip_compress(c->comp, in, len, out->data + out->len, bound);
    if (n == 0) return -1;
    out->len += n;
    return 0;
}

/*
 * Compressed clusters: raw deflate (zlib, windowBits negative) or zstd
 * frames, each decompressing to exactly one cluster. The stored length
 * is rounded up to 512-byte sectors, so trailing bytes are ignored.
 */
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

#include "backends/block/qcow2.h"

static int inflate_cluster(const uint8_t *in, size_t inlen, uint8_t *out, size_t outlen)
{
    z_stream s = {0};
    if (inflateInit2(&s, -15) != Z_OK)
        return HK_ENOMEM;
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)inlen;
    s.next_out = out;
    s.avail_out = (uInt)outlen;
    int z = inflate(&s, Z_FINISH);
    inflateEnd(&s);
    /* Z_BUF_ERROR with a full output: the cluster is complete and what
     * follows is sector padding. */
    return (z == Z_STREAM_END || z == Z_BUF_ERROR) && s.avail_out == 0 ? 0 : HK_EIO;
}

static int unzstd_cluster(const uint8_t *in, size_t inlen, uint8_t *out, size_t outlen)
{
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (!d)
        return HK_ENOMEM;
    ZSTD_inBuffer ib = {in, inlen, 0};
    ZSTD_outBuffer ob = {out, outlen, 0};
    int r = HK_EIO;
    while (ob.pos < ob.size) {
        size_t before_in = ib.pos, before_out = ob.pos;
        size_t z = ZSTD_decompressStream(d, &ob, &ib);
        if (ZSTD_isError(z) || (ib.pos == before_in && ob.pos == before_out))
            break;
    }
    if (ob.pos == ob.size)
        r = 0;
    ZSTD_freeDCtx(d);
    return r;
}

int qcow2_decompress(struct qcow2 *q, const struct qcow2_map *m, uint8_t *out)
{
    uint8_t *in = malloc(m->csize);
    if (!in)
        return HK_ENOMEM;
    int r = blk_file_pread(&q->file, in, m->csize, m->host);
    if (r == 0)
        r = q->h.compression_type == QCOW2_COMPRESS_ZSTD
                ? unzstd_cluster(in, m->csize, out, q->cluster_size)
                : inflate_cluster(in, m->csize, out, q->cluster_size);
    free(in);
    return r;
}

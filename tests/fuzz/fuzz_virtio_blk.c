/*
 * libFuzzer target for virtio-blk request parsing (vblk_parse), the part
 * of the device a guest feeds directly. Input:
 *   byte 0: flags (bit 0 read-only, bit 1 discard, bit 2 write-zeroes)
 *   byte 1: capacity in sectors (0-255, so range checks are reached)
 *   byte 2: readable segment count (0-7), byte 3: writable count (0-7)
 *   then one length byte per segment, then the bytes the segments cover
 *   (each segment a separate heap buffer, so ASan sees any overrun).
 * Whatever the input, the verdict must be consistent:
 *  - no status byte only when the writable part is empty;
 *  - an accepted IN/OUT lies within capacity, is whole sectors, and its
 *    data iovecs add up to len inside the right part of the chain;
 *  - an accepted GET_ID has 20 bytes, discard/write-zeroes segments are
 *    within capacity and their count within the limit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtio_blk_req.h"

#define MAX_SEGS 7

static void fail(const char *why)
{
    fprintf(stderr, "fuzz_virtio_blk: %s\n", why);
    abort();
}

static bool inside(const struct iovec *part, int n, const struct iovec *v)
{
    for (int i = 0; i < n; i++) {
        uint8_t *b = part[i].iov_base;
        if ((uint8_t *)v->iov_base >= b && (uint8_t *)v->iov_base + v->iov_len <= b + part[i].iov_len)
            return true;
    }
    return false;
}

static void check(const struct vblk_limits *lim, const struct iovec *iov, int nout, int nin,
                  const struct vblk_req *r)
{
    uint64_t in_bytes = 0;
    for (int i = 0; i < nin; i++)
        in_bytes += iov[nout + i].iov_len;
    if (!r->status != (in_bytes == 0))
        fail("status byte found iff the writable part is non-empty");
    if (r->result != VIRTIO_BLK_S_OK) {
        if (r->iovcnt || r->len)
            fail("a refused request carries data");
        return;
    }
    uint64_t sum = 0;
    bool writable = r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_GET_ID;
    for (int i = 0; i < r->iovcnt; i++) {
        sum += r->iov[i].iov_len;
        if (!inside(writable ? iov + nout : iov, writable ? nin : nout, &r->iov[i]))
            fail("data iovec outside its part of the chain");
    }
    if (r->iovcnt > nout + nin)
        fail("more data iovecs than segments");
    if (writable && sum >= in_bytes)
        fail("read data reaches the status byte");
    switch (r->type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        if (sum != r->len || r->len % 512 || r->sector > lim->capacity ||
            r->len / 512 > lim->capacity - r->sector)
            fail("accepted I/O outside capacity or not whole sectors");
        if (r->type == VIRTIO_BLK_T_OUT && lim->readonly)
            fail("write accepted on a read-only disk");
        break;
    case VIRTIO_BLK_T_GET_ID:
        if (r->len != VIRTIO_BLK_ID_BYTES || sum != r->len)
            fail("get-id not 20 bytes");
        break;
    case VIRTIO_BLK_T_FLUSH:
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        if (r->nsegs < 1 || r->nsegs > VIRTIO_BLK_MAX_DWZ_SEGS || lim->readonly)
            fail("discard/write-zeroes segment count");
        for (int i = 0; i < r->nsegs; i++)
            if (r->segs[i].sector > lim->capacity ||
                r->segs[i].nsectors > lim->capacity - r->segs[i].sector)
                fail("discard/write-zeroes segment outside capacity");
        break;
    default:
        fail("unknown type accepted");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    struct vblk_limits lim = {.capacity = data[1],
                              .readonly = data[0] & 1,
                              .discard = data[0] & 2,
                              .write_zeroes = data[0] & 4,
                              .max_dwz_sectors = 64};
    int nout = data[2] % (MAX_SEGS + 1), nin = data[3] % (MAX_SEGS + 1), n = nout + nin;
    size_t pos = 4;
    if (size < pos + (size_t)n)
        return 0;
    struct iovec iov[2 * MAX_SEGS], data_iov[2 * MAX_SEGS];
    const uint8_t *lens = data + pos;
    pos += (size_t)n;
    for (int i = 0; i < n; i++) {
        size_t l = lens[i];
        if (size - pos < l)
            l = size - pos;
        iov[i].iov_base = malloc(l ? l : 1);
        iov[i].iov_len = l;
        memcpy(iov[i].iov_base, data + pos, l);
        pos += l;
    }
    struct vblk_req r;
    vblk_parse(&lim, iov, nout, nin, data_iov, &r);
    check(&lim, iov, nout, nin, &r);
    for (int i = 0; i < n; i++)
        free(iov[i].iov_base);
    return 0;
}

/*
 * virtio-blk request parsing (5.2.6). Framing is free (2.6.4: the header,
 * data and status may be split across descriptors any way), so the
 * parser works on byte ranges of the readable and writable parts.
 */
#include "devices/virtio/virtio_blk_req.h"

#include <stddef.h>
#include <string.h>

#include "core/bytes.h"
#include "core/iov.h"

/* The last byte of the writable part (the status), or NULL. */
static uint8_t *status_byte(const struct iovec *in, int nin)
{
    for (int i = nin - 1; i >= 0; i--)
        if (in[i].iov_len > 0)
            return (uint8_t *)in[i].iov_base + in[i].iov_len - 1;
    return NULL;
}

static bool in_range(const struct vblk_limits *lim, uint64_t sector, uint64_t nsectors)
{
    return sector <= lim->capacity && nsectors <= lim->capacity - sector;
}

static uint8_t parse_dwz(const struct vblk_limits *lim, const struct iovec *out, int nout,
                         uint64_t payload, struct vblk_req *req)
{
    bool discard = req->type == VIRTIO_BLK_T_DISCARD;
    if (discard ? !lim->discard : !lim->write_zeroes)
        return VIRTIO_BLK_S_UNSUPP;
    if (lim->readonly)
        return VIRTIO_BLK_S_IOERR;
    if (payload == 0 || payload % VIRTIO_BLK_DWZ_SEG_SIZE ||
        payload / VIRTIO_BLK_DWZ_SEG_SIZE > VIRTIO_BLK_MAX_DWZ_SEGS)
        return VIRTIO_BLK_S_IOERR;
    req->nsegs = (int)(payload / VIRTIO_BLK_DWZ_SEG_SIZE);
    for (int i = 0; i < req->nsegs; i++) {
        uint8_t s[VIRTIO_BLK_DWZ_SEG_SIZE];
        iov_to_buf(out, nout, VIRTIO_BLK_HDR_SIZE + (size_t)i * sizeof(s), s, sizeof(s));
        uint32_t flags = le32(s + 12);
        struct vblk_seg *g = &req->segs[i];
        g->sector = le64(s);
        g->nsectors = le32(s + 8);
        g->unmap = flags & VIRTIO_BLK_DWZ_FLAG_UNMAP;
        /* Reserved flags, or unmap on a discard (5.2.6.2): unsupported. */
        if ((flags & ~(uint32_t)VIRTIO_BLK_DWZ_FLAG_UNMAP) || (discard && g->unmap))
            return VIRTIO_BLK_S_UNSUPP;
        if (g->nsectors > lim->max_dwz_sectors || !in_range(lim, g->sector, g->nsectors))
            return VIRTIO_BLK_S_IOERR;
    }
    return VIRTIO_BLK_S_OK;
}

static uint8_t parse_body(const struct vblk_limits *lim, const struct iovec *out, int nout,
                          const struct iovec *in, int nin, uint64_t out_bytes, uint64_t in_bytes,
                          struct iovec *data_iov, struct vblk_req *req)
{
    uint64_t payload = out_bytes - VIRTIO_BLK_HDR_SIZE;   /* readable bytes after the header */
    uint64_t data_in = in_bytes - 1;                       /* writable bytes before the status */
    switch (req->type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_GET_ID:
        if (payload != 0)
            return VIRTIO_BLK_S_IOERR;
        req->len = data_in;
        req->iovcnt = iov_slice(in, nin, 0, data_in, data_iov);
        if (req->type == VIRTIO_BLK_T_GET_ID)
            return data_in == VIRTIO_BLK_ID_BYTES ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
        if (data_in % VIRTIO_BLK_SECTOR || !in_range(lim, req->sector, data_in / VIRTIO_BLK_SECTOR))
            return VIRTIO_BLK_S_IOERR;
        return VIRTIO_BLK_S_OK;
    case VIRTIO_BLK_T_OUT:
        if (data_in != 0 || lim->readonly)
            return VIRTIO_BLK_S_IOERR;
        req->len = payload;
        req->iovcnt = iov_slice(out, nout, VIRTIO_BLK_HDR_SIZE, payload, data_iov);
        if (payload % VIRTIO_BLK_SECTOR || !in_range(lim, req->sector, payload / VIRTIO_BLK_SECTOR))
            return VIRTIO_BLK_S_IOERR;
        return VIRTIO_BLK_S_OK;
    case VIRTIO_BLK_T_FLUSH:
        return payload == 0 && data_in == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        if (data_in != 0)
            return VIRTIO_BLK_S_IOERR;
        return parse_dwz(lim, out, nout, payload, req);
    default:
        return VIRTIO_BLK_S_UNSUPP;
    }
}

void vblk_parse(const struct vblk_limits *lim, const struct iovec *iov, int nout, int nin,
                struct iovec *data_iov, struct vblk_req *req)
{
    memset(req, 0, offsetof(struct vblk_req, segs));
    req->iov = data_iov;
    const struct iovec *in = iov + nout;
    req->status = status_byte(in, nin);
    req->result = VIRTIO_BLK_S_IOERR;
    if (!req->status)
        return;
    uint64_t out_bytes = iov_total(iov, nout), in_bytes = iov_total(in, nin);
    uint8_t hdr[VIRTIO_BLK_HDR_SIZE];
    if (out_bytes < sizeof(hdr))
        return;
    iov_to_buf(iov, nout, 0, hdr, sizeof(hdr));
    req->type = le32(hdr);
    req->sector = le64(hdr + 8);
    req->result = parse_body(lim, iov, nout, in, nin, out_bytes, in_bytes, data_iov, req);
    if (req->result != VIRTIO_BLK_S_OK) {
        req->iovcnt = 0;
        req->len = 0;
    }
}

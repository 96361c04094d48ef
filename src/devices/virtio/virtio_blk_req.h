/*
 * virtio-blk request parsing (virtio 1.x, 5.2.6), kept pure so it can be
 * fuzzed: a descriptor chain's buffers in, a checked request out. Every
 * header field is checked: the type, sector and length within capacity
 * (overflow-safe), data sized as the type says, the status byte the last
 * writable byte. Problems become VIRTIO_BLK_S_IOERR or _UNSUPP answers;
 * nothing here trusts the guest.
 */
#ifndef HK_DEVICES_VIRTIO_VIRTIO_BLK_REQ_H
#define HK_DEVICES_VIRTIO_VIRTIO_BLK_REQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_SECTOR 512
#define VIRTIO_BLK_HDR_SIZE 16
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_DWZ_SEG_SIZE 16
#define VIRTIO_BLK_MAX_DWZ_SEGS 16          /* max_discard_seg, max_write_zeroes_seg */
#define VIRTIO_BLK_DWZ_FLAG_UNMAP 1

/* What the device accepts. */
struct vblk_limits {
    uint64_t capacity;                      /* 512-byte sectors */
    bool readonly;
    bool discard;                           /* DISCARD offered */
    bool write_zeroes;                      /* WRITE_ZEROES offered */
    uint32_t max_dwz_sectors;               /* per discard / write-zeroes segment */
};

struct vblk_seg {
    uint64_t sector;
    uint32_t nsectors;
    bool unmap;
};

struct vblk_req {
    uint32_t type;
    uint64_t sector;
    uint8_t *status;        /* the status byte; NULL: the chain has no writable byte */
    uint8_t result;         /* VIRTIO_BLK_S_OK: carry it out; else answer this */
    uint64_t len;           /* data bytes: IN, OUT, GET_ID */
    struct iovec *iov;      /* the data, iovcnt entries */
    int iovcnt;
    int nsegs;              /* DISCARD, WRITE_ZEROES (copied, so the guest cannot change them) */
    struct vblk_seg segs[VIRTIO_BLK_MAX_DWZ_SEGS];
};

/* Parse the chain iov[0..nout) (device-readable) then iov[nout..nout+nin)
 * (device-writable). data_iov has room for nout + nin entries and backs
 * req->iov. Never fails: the verdict is req->result (and req->status). */
void vblk_parse(const struct vblk_limits *lim, const struct iovec *iov, int nout, int nin,
                struct iovec *data_iov, struct vblk_req *req);

#endif

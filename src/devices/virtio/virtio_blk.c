/*
 * virtio-blk (virtio 1.x, 5.2): one request queue served by its worker
 * thread with scatter-gather preadv/pwritev into guest RAM through the
 * block backend. A flush is answered only after blk_flush returned.
 */
#include "devices/virtio/virtio_blk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/iov.h"
#include "devices/virtio/virtio_blk_req.h"
#include "hyperkit.h"

#define VBLK_QUEUE_SIZE 256
#define VBLK_PCI_CLASS 0x010000         /* mass storage, SCSI (as QEMU and bhyve) */
#define VBLK_LEGACY_ID 0x1001
#define VBLK_CONFIG_SIZE 60
#define VBLK_MAX_DWZ_SECTORS (1u << 22) /* 2 GiB per segment */

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_TOPOLOGY 10
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

struct vblk {
    struct dev_env *env;
    struct blk *blk;
    struct virtio_pci *vp;
    struct vblk_limits lim;
    uint64_t features;
    uint8_t config[VBLK_CONFIG_SIZE];
    char serial[VIRTIO_BLK_ID_BYTES];
    struct iovec *data_iov;             /* room for a whole chain */
};

static uint64_t vblk_features(void *opaque)
{
    return ((struct vblk *)opaque)->features;
}

static void vblk_config_read(void *opaque, unsigned off, void *buf, unsigned len)
{
    memcpy(buf, ((struct vblk *)opaque)->config + off, len);
}

/* Every field is read-only (writeback is not offered). */
static void vblk_config_write(void *opaque, unsigned off, const void *buf, unsigned len) {}

static uint8_t errno_status(int r)
{
    return r == 0 ? VIRTIO_BLK_S_OK : r == HK_ENOTSUP ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
}

static uint8_t run_dwz(struct vblk *v, const struct vblk_req *req)
{
    for (int i = 0; i < req->nsegs; i++) {
        const struct vblk_seg *g = &req->segs[i];
        uint64_t off = g->sector * VIRTIO_BLK_SECTOR, len = (uint64_t)g->nsectors * VIRTIO_BLK_SECTOR;
        if (len == 0)
            continue;
        int r = req->type == VIRTIO_BLK_T_DISCARD ? blk_discard(v->blk, off, len)
                                                  : blk_write_zeroes(v->blk, off, len, g->unmap);
        if (r)
            return errno_status(r);
    }
    return VIRTIO_BLK_S_OK;
}

static uint8_t run(struct vblk *v, struct vblk_req *req)
{
    uint64_t off = req->sector * VIRTIO_BLK_SECTOR;
    switch (req->type) {
    case VIRTIO_BLK_T_IN:
        return req->len ? errno_status(blk_preadv(v->blk, req->iov, req->iovcnt, off)) : 0;
    case VIRTIO_BLK_T_OUT:
        return req->len ? errno_status(blk_pwritev(v->blk, req->iov, req->iovcnt, off)) : 0;
    case VIRTIO_BLK_T_FLUSH:
        return errno_status(blk_flush(v->blk));
    case VIRTIO_BLK_T_GET_ID:
        iov_from_buf(req->iov, req->iovcnt, 0, v->serial, sizeof(v->serial));
        return VIRTIO_BLK_S_OK;
    default:
        return run_dwz(v, req);
    }
}

static int vblk_handle(void *opaque, int q, struct virtq_chain *c, uint32_t *written)
{
    struct vblk *v = opaque;
    struct vblk_req req;
    vblk_parse(&v->lim, c->iov, c->nout, c->nin, v->data_iov, &req);
    if (!req.status) {
        /* Nowhere to answer: give the chain back untouched. */
        *written = 0;
        return HK_OK;
    }
    uint8_t st = req.result == VIRTIO_BLK_S_OK ? run(v, &req) : req.result;
    *req.status = st;
    bool reads = req.type == VIRTIO_BLK_T_IN || req.type == VIRTIO_BLK_T_GET_ID;
    *written = (uint32_t)((reads && req.result == VIRTIO_BLK_S_OK ? req.len : 0) + 1);
    return HK_OK;
}

static const struct virtio_dev_ops vblk_ops = {
    .features = vblk_features,
    .config_read = vblk_config_read,
    .config_write = vblk_config_write,
    .handle = vblk_handle,
};

/* Configuration layout (5.2.4). */
static void build_config(struct vblk *v, const struct vblk_conf *c)
{
    uint8_t *p = v->config;
    uint32_t lbs = c->sector_size;
    int exp = 0;
    while ((lbs << exp) < c->phys_sector_size)
        exp++;
    put64(p + 0, v->lim.capacity);
    put32(p + 12, VBLK_QUEUE_SIZE - 2);                 /* seg_max: header and status aside */
    put32(p + 20, lbs);                                 /* blk_size */
    p[24] = (uint8_t)exp;                               /* physical_block_exp */
    put16(p + 26, (uint16_t)(1u << exp));               /* min_io_size, in logical blocks */
    put16(p + 34, 1);                                   /* num_queues */
    put32(p + 36, VBLK_MAX_DWZ_SECTORS);                /* max_discard_sectors */
    put32(p + 40, VIRTIO_BLK_MAX_DWZ_SEGS);             /* max_discard_seg */
    put32(p + 44, lbs / VIRTIO_BLK_SECTOR);             /* discard_sector_alignment */
    put32(p + 48, VBLK_MAX_DWZ_SECTORS);                /* max_write_zeroes_sectors */
    put32(p + 52, VIRTIO_BLK_MAX_DWZ_SEGS);             /* max_write_zeroes_seg */
    p[56] = v->lim.discard;                             /* write_zeroes_may_unmap */
}

/* GET_ID's serial: 20 bytes (not NUL-terminated when full) derived from
 * the VM's -U uuid, if any, and the image path, so it is stable. */
static void make_serial(struct vblk *v, const char *path)
{
    uint64_t h = 0xcbf29ce484222325ull;             /* FNV-1a */
    for (int i = 0; v->env->uuid && i < 16; i++)
        h = (h ^ v->env->uuid[i]) * 0x100000001b3ull;
    for (const char *s = path; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    char buf[VIRTIO_BLK_ID_BYTES + 1];
    snprintf(buf, sizeof(buf), "HK-%016llx", (unsigned long long)h);
    memcpy(v->serial, buf, sizeof(v->serial));
}

static void vblk_free(struct vblk *v)
{
    virtio_pci_destroy(v->vp);
    blk_close(v->blk);
    free(v->data_iov);
    free(v);
}

static void vblk_destroy(void *opaque)
{
    vblk_free(opaque);
}

static int setup(struct vblk *v, const struct vblk_conf *c, char *err, size_t errlen)
{
    int r = blk_open(c->path, &c->opts, &v->blk, err, errlen);
    if (r)
        return r;
    bool ro = blk_readonly(v->blk);
    uint64_t bytes = blk_size(v->blk) / c->sector_size * c->sector_size;
    v->lim = (struct vblk_limits){.capacity = bytes / VIRTIO_BLK_SECTOR,
                                  .readonly = ro,
                                  .discard = !ro && blk_can_discard(v->blk),
                                  .write_zeroes = !ro,
                                  .max_dwz_sectors = VBLK_MAX_DWZ_SECTORS};
    v->features = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
                  1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_BLK_F_TOPOLOGY;
    if (ro)
        v->features |= 1ull << VIRTIO_BLK_F_RO;
    if (v->lim.discard)
        v->features |= 1ull << VIRTIO_BLK_F_DISCARD;
    if (v->lim.write_zeroes)
        v->features |= 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
    build_config(v, c);
    make_serial(v, c->path);
    if (!(v->data_iov = calloc(VBLK_QUEUE_SIZE, sizeof(*v->data_iov))))
        return HK_ENOMEM;
    return HK_OK;
}

int virtio_blk_parse(const char *conf, void **parsed, char *err, size_t errlen)
{
    struct vblk_conf *c = malloc(sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "virtio-blk: out of memory");
        return HK_ENOMEM;
    }
    int r = vblk_conf_parse(conf, c, err, errlen);
    if (r) {
        free(c);
        return r;
    }
    *parsed = c;
    return HK_OK;
}

void virtio_blk_free(void *parsed)
{
    if (parsed)
        vblk_conf_free(parsed);
    free(parsed);
}

int virtio_blk_create(struct dev_env *env, struct pci_bus *bus, int slot, int func, void *parsed,
                      char *err, size_t errlen)
{
    const struct vblk_conf *c = parsed;
    struct virtio_pci_params pp = {.bus = bus, .slot = slot, .func = func}, *p = &pp;
    if (!c) {
        snprintf(err, errlen, "virtio-blk: a disk image path is required");
        return HK_EINVAL;
    }
    struct vblk *v = calloc(1, sizeof(*v));
    if (!v)
        return HK_ENOMEM;
    v->env = env;
    int r = setup(v, c, err, errlen);
    struct virtio_dev_info info = {
        .name = "virtio-blk",
        .device_type = VIRTIO_ID_BLOCK,
        .legacy_id = VBLK_LEGACY_ID,
        .pci_class = VBLK_PCI_CLASS,
        .nqueues = 1,
        .queue_size = VBLK_QUEUE_SIZE,
        .config_size = VBLK_CONFIG_SIZE,
        .ops = &vblk_ops,
        .opaque = v,
    };
    if (!r && (r = virtio_pci_create(env, p, &info, &v->vp)) != 0)
        snprintf(err, errlen, "virtio-blk %s: cannot add PCI function %d:%d: %s", c->path, p->slot,
                 p->func, hk_strerror(r));
    if (!r && (r = env->ops->add_teardown(env->ctx, "virtio-blk", v, vblk_destroy)) != 0)
        snprintf(err, errlen, "virtio-blk %s: %s", c->path, hk_strerror(r));
    if (r)
        vblk_free(v);
    return r;
}

/*
 * A tiny virtio PCI guest driver for device unit tests: it maps the BARs
 * through configuration space, walks the capabilities, initialises the
 * device through the modern or the legacy interface, and puts chains on
 * queue 0 in guest RAM of a fake_env, as a guest kernel would.
 */
#ifndef HK_TESTS_VIRTIO_DRIVER_H
#define HK_TESTS_VIRTIO_DRIVER_H

#include <time.h>

#include "core/bytes.h"
#include "devices/pci/pci.h"
#include "devices/virtio/virtio_pci.h"
#include "fake_env.h"

#define VD_IO_BASE 0xc000
#define VD_MEM_BASE 0xe0000000ull
#define VD_RING 0x10000ull          /* 4096-aligned: a legacy PFN too */
#define VD_BUF 0x100000ull
#define VD_RAM (16ull << 20)

struct vd_seg {
    uint64_t gpa;
    uint32_t len;
    bool write;
};

struct vd {
    struct fake_env *f;
    struct pci_bus *bus;
    int slot;
    bool legacy;
    uint16_t qsize;
    uint64_t desc, avail, used;
    uint16_t avail_idx, next_desc, used_seen;
};

static inline uint32_t vd_cfg(struct vd *d, unsigned off, unsigned size)
{
    return pci_cfg_read(d->bus, 0, d->slot, 0, off, size);
}

static inline void vd_cfg_w(struct vd *d, unsigned off, unsigned size, uint32_t v)
{
    pci_cfg_write(d->bus, 0, d->slot, 0, off, size, v);
}

/* The offset of the first capability with this id (and virtio cfg_type
 * if id is vendor-specific), or 0. */
static inline unsigned vd_find_cap(struct vd *d, uint8_t id, int cfg_type)
{
    unsigned n = 0;
    for (unsigned p = vd_cfg(d, PCI_CAPABILITY_LIST, 1); p && n < 48;
         p = vd_cfg(d, p + 1, 1), n++)
        if (vd_cfg(d, p, 1) == id && (cfg_type < 0 || vd_cfg(d, p + 3, 1) == (unsigned)cfg_type))
            return p;
    return 0;
}

static inline void vd_map(struct vd *d, uint64_t mem)
{
    vd_cfg_w(d, PCI_BAR0, 4, VD_IO_BASE);
    vd_cfg_w(d, PCI_BAR0 + 4 * VIRTIO_PCI_MODERN_BAR, 4, (uint32_t)mem);
    vd_cfg_w(d, PCI_BAR0 + 4 * VIRTIO_PCI_MODERN_BAR + 4, 4, (uint32_t)(mem >> 32));
    vd_cfg_w(d, PCI_COMMAND, 2, PCI_CMD_IO | PCI_CMD_MEM | 0x4);
}

static inline uint64_t vd_mr(struct vd *d, uint64_t off, unsigned size)
{
    uint64_t v = 0;
    iobus_access(&d->f->mmio, VD_MEM_BASE + off, size, false, &v);
    return v;
}

static inline void vd_mw(struct vd *d, uint64_t off, unsigned size, uint64_t v)
{
    iobus_access(&d->f->mmio, VD_MEM_BASE + off, size, true, &v);
}

static inline uint64_t vd_ir(struct vd *d, uint64_t off, unsigned size)
{
    return fake_env_in(d->f, (uint16_t)(VD_IO_BASE + off), size);
}

static inline void vd_iw(struct vd *d, uint64_t off, unsigned size, uint64_t v)
{
    fake_env_out(d->f, (uint16_t)(VD_IO_BASE + off), size, v);
}

static inline uint8_t vd_status(struct vd *d)
{
    return d->legacy ? (uint8_t)vd_ir(d, VIRTIO_PCI_LEG_STATUS, 1)
                     : (uint8_t)vd_mr(d, VIRTIO_PCI_COMMON_STATUS, 1);
}

static inline void vd_set_status(struct vd *d, uint8_t s)
{
    if (d->legacy)
        vd_iw(d, VIRTIO_PCI_LEG_STATUS, 1, s);
    else
        vd_mw(d, VIRTIO_PCI_COMMON_STATUS, 1, s);
}

static inline void vd_ring_clear(struct vd *d)
{
    uint8_t *p = gmem_ptr(&d->f->mem, VD_RING, 0x4000);
    memset(p, 0, 0x4000);
    d->avail_idx = d->next_desc = d->used_seen = 0;
}

static inline uint64_t vd_features(struct vd *d)
{
    vd_mw(d, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
    uint64_t f = vd_mr(d, VIRTIO_PCI_COMMON_DF, 4);
    vd_mw(d, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
    return f | vd_mr(d, VIRTIO_PCI_COMMON_DF, 4) << 32;
}

/* Modern init (3.1.1) with queue 0 at VD_RING; vector for the queue
 * (VIRTIO_NO_VECTOR without MSI-X). Returns the final status. */
static inline uint8_t vd_init_modern(struct vd *d, uint64_t want, uint16_t vector)
{
    d->legacy = false;
    vd_set_status(d, 0);
    vd_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
    vd_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint64_t f = vd_features(d) & want;
    vd_mw(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    vd_mw(d, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)f);
    vd_mw(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    vd_mw(d, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)(f >> 32));
    vd_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    if (!(vd_status(d) & VIRTIO_STATUS_FEATURES_OK))
        return vd_status(d);
    vd_mw(d, VIRTIO_PCI_COMMON_MSIX, 2, vector == VIRTIO_NO_VECTOR ? VIRTIO_NO_VECTOR : 0);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    d->qsize = (uint16_t)vd_mr(d, VIRTIO_PCI_COMMON_Q_SIZE, 2);
    d->desc = VD_RING;
    d->avail = VD_RING + 16ull * d->qsize;
    d->used = (d->avail + 6 + 2ull * d->qsize + 4095) & ~4095ull;
    vd_ring_clear(d);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_DESCLO, 8, d->desc);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)d->avail);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_AVAILHI, 4, 0);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_USEDLO, 8, d->used);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_MSIX, 2, vector);
    vd_mw(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    vd_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                         VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    return vd_status(d);
}

/* Legacy init (4.1.4.8): features in 32 bits, queue 0 by PFN. */
static inline uint8_t vd_init_legacy(struct vd *d, uint32_t want)
{
    d->legacy = true;
    vd_set_status(d, 0);
    vd_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint32_t f = (uint32_t)vd_ir(d, VIRTIO_PCI_LEG_HOST_FEATURES, 4) & want;
    vd_iw(d, VIRTIO_PCI_LEG_GUEST_FEATURES, 4, f);
    vd_iw(d, VIRTIO_PCI_LEG_QUEUE_SEL, 2, 0);
    d->qsize = (uint16_t)vd_ir(d, VIRTIO_PCI_LEG_QUEUE_NUM, 2);
    d->desc = VD_RING;
    d->avail = VD_RING + 16ull * d->qsize;
    d->used = (d->avail + 2 * (3ull + d->qsize) + 4095) & ~4095ull;
    vd_ring_clear(d);
    vd_iw(d, VIRTIO_PCI_LEG_QUEUE_PFN, 4, VD_RING / 4096);
    vd_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
    return vd_status(d);
}

static inline void vd_kick(struct vd *d)
{
    if (d->legacy)
        vd_iw(d, VIRTIO_PCI_LEG_QUEUE_NOTIFY, 2, 0);
    else
        vd_mw(d, VIRTIO_PCI_NOTIFY_OFF, 2, 0);
}

/* Put raw avail entry `head` (any value: hostile tests), no kick. */
static inline void vd_post_head_quiet(struct vd *d, uint16_t head)
{
    uint8_t *a = gmem_ptr(&d->f->mem, d->avail, 6 + 2ull * d->qsize);
    put16(a + 4 + 2 * (d->avail_idx % d->qsize), head);
    d->avail_idx++;
    put16(a + 2, d->avail_idx);
}

static inline void vd_post_head(struct vd *d, uint16_t head)
{
    vd_post_head_quiet(d, head);
    vd_kick(d);
}

/* A chain of n segments made available without a kick; returns its head. */
static inline uint16_t vd_submit_quiet(struct vd *d, const struct vd_seg *s, int n)
{
    uint16_t head = d->next_desc;
    uint8_t *desc = gmem_ptr(&d->f->mem, d->desc, 16ull * d->qsize);
    for (int i = 0; i < n; i++) {
        uint16_t idx = (uint16_t)((head + i) % d->qsize);
        uint8_t *e = desc + 16 * idx;
        put64(e, s[i].gpa);
        put32(e + 8, s[i].len);
        put16(e + 12, (uint16_t)((i + 1 < n ? 1 : 0) | (s[i].write ? 2 : 0)));
        put16(e + 14, (uint16_t)((idx + 1) % d->qsize));
    }
    d->next_desc = (uint16_t)((head + n) % d->qsize);
    vd_post_head_quiet(d, head);
    return head;
}

/* The same chain, then a kick. */
static inline uint16_t vd_submit(struct vd *d, const struct vd_seg *s, int n)
{
    uint16_t head = vd_submit_quiet(d, s, n);
    vd_kick(d);
    return head;
}

static inline uint16_t vd_used_idx(struct vd *d)
{
    uint8_t *u = gmem_ptr(&d->f->mem, d->used, 4);
    return le16(u + 2);
}

/* Wait for the device to return one more chain: true with its length,
 * false if it never comes (the device hung: a bug, not slowness; the
 * bound is far beyond any one request). */
static inline bool vd_wait(struct vd *d, uint32_t *len)
{
    for (long i = 0; i < 60000 && vd_used_idx(d) == d->used_seen; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    if (vd_used_idx(d) == d->used_seen)
        return false;
    uint8_t *u = gmem_ptr(&d->f->mem, d->used + 4 + 8ull * (d->used_seen % d->qsize), 8);
    if (len)
        *len = le32(u + 4);
    d->used_seen++;
    return true;
}

/* Wait until the device status shows bits (NEEDS_RESET from a worker). */
static inline bool vd_wait_status(struct vd *d, uint8_t bits)
{
    for (long i = 0; i < 60000 && (vd_status(d) & bits) != bits; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return (vd_status(d) & bits) == bits;
}

static inline int vd_nmsi(struct fake_env *f)
{
    pthread_mutex_lock(&f->lock);
    int n = f->nmsi;
    pthread_mutex_unlock(&f->lock);
    return n;
}

/* Wait until more than n MSIs were sent: a worker sends its interrupt
 * after the used ring or status it announces is already visible. */
static inline bool vd_wait_msi(struct fake_env *f, int n)
{
    for (long i = 0; i < 60000 && vd_nmsi(f) <= n; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return vd_nmsi(f) > n;
}

/* Wait until INTx line gsi is up (sent after the used ring, as above). */
static inline bool vd_wait_level(struct fake_env *f, int gsi)
{
    for (long i = 0; i < 60000 && !fake_env_level(f, gsi); i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return fake_env_level(f, gsi);
}

/* Enable MSI-X and program vector v to send (0xfee00000, data). */
static inline void vd_msix_setup(struct vd *d, unsigned nvec, uint32_t data_base)
{
    unsigned cap = vd_find_cap(d, PCI_CAP_ID_MSIX, -1);
    vd_cfg_w(d, cap + 2, 2, 0x8000);
    for (unsigned v = 0; v < nvec; v++) {
        uint64_t e = VIRTIO_PCI_MSIX_TABLE_OFF + 16ull * v;
        vd_mw(d, e, 4, 0xfee00000u);
        vd_mw(d, e + 4, 4, 0);
        vd_mw(d, e + 8, 4, data_base + v);
        vd_mw(d, e + 12, 4, 0);
    }
}

#endif

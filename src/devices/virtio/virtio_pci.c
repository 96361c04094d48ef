/*
 * The virtio PCI transport's registers (virtio 1.x, 4.1): the modern
 * BAR (common configuration, ISR, device configuration, notifications,
 * MSI-X table and PBA), the legacy I/O BAR of transitional devices, the
 * vendor capabilities that describe them, and the BARs' mapping as the
 * guest moves them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "devices/virtio/virtio_pci_priv.h"
#include "hyperkit.h"

#define LO32(v) ((uint32_t)(v))
#define HI32(v) ((uint32_t)((v) >> 32))

static struct vp_queue *selected(struct virtio_pci *vp)
{
    return vp->qsel < vp->info.nqueues ? &vp->q[vp->qsel] : NULL;
}

void vp_warn(struct virtio_pci *vp, const char *fmt, ...)
{
    /* Check first, so the counter stops near 0 instead of wrapping. */
    if (atomic_load(&vp->warnings_left) <= 0)
        return;
    int left = atomic_fetch_sub(&vp->warnings_left, 1);
    if (left <= 0)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    dev_log(vp->env, HK_LOG_WARN, "%s %02x.%x: %s%s", vp->info.name, vp->slot, vp->fn, msg,
            left == 1 ? " (further warnings from this device are not logged)" : "");
}

/* --- Device configuration -------------------------------------------------------- */

static uint64_t devcfg_read(struct virtio_pci *vp, uint64_t off, unsigned size)
{
    uint8_t buf[8] = {0};
    if (size > 8 || off >= vp->info.config_size || size > vp->info.config_size - off)
        return 0;
    vp->info.ops->config_read(vp->info.opaque, (unsigned)off, buf, size);
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)buf[i] << (8 * i);
    return v;
}

static void devcfg_write(struct virtio_pci *vp, uint64_t off, unsigned size, uint64_t v)
{
    uint8_t buf[8];
    if (!vp->info.ops->config_write || size > 8 || off >= vp->info.config_size ||
        size > vp->info.config_size - off)
        return;
    for (unsigned i = 0; i < size; i++)
        buf[i] = (uint8_t)(v >> (8 * i));
    vp->info.ops->config_write(vp->info.opaque, (unsigned)off, buf, size);
}

/* --- Status, features, reset -------------------------------------------------------- */

static void vp_reset(struct virtio_pci *vp)
{
    /* Before the queues stop (under their locks): device threads see it. */
    atomic_store(&vp->driver_ok, false);
    for (int i = 0; i < vp->info.nqueues; i++) {
        struct vp_queue *q = &vp->q[i];
        vp_queue_setup(vp, q, false);
        q->size = vp->info.queue_size;
        q->enabled = false;
        q->desc = q->avail = q->used = 0;
        q->pfn = 0;
    }
    if (vp->info.ops->reset)
        vp->info.ops->reset(vp->info.opaque);
    vp->status = 0;
    vp->drv_features = 0;
    vp->dfselect = vp->gfselect = 0;
    vp->qsel = 0;
    atomic_store(&vp->needs_reset, false);
    pthread_mutex_lock(&vp->irq_lock);
    vp->isr = 0;
    pci_set_intx(vp->func, false);
    vp->config_vector = VIRTIO_NO_VECTOR;
    for (int i = 0; i < vp->info.nqueues; i++)
        vp->q[i].vector = VIRTIO_NO_VECTOR;
    pthread_mutex_unlock(&vp->irq_lock);
}

static uint8_t status_read(struct virtio_pci *vp)
{
    return vp->status | (atomic_load(&vp->needs_reset) ? VIRTIO_STATUS_NEEDS_RESET : 0);
}

/* 2.1.2 / 3.1.1: FEATURES_OK only sticks for a subset of what we offer,
 * and a modern driver must accept VERSION_1. */
static void status_write(struct virtio_pci *vp, uint8_t v, bool legacy)
{
    if (v == 0) {
        vp_reset(vp);
        return;
    }
    uint8_t old = vp->status;
    v &= (uint8_t)~VIRTIO_STATUS_NEEDS_RESET;
    if (!legacy && (v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
        ((vp->drv_features & ~vp->dev_features) ||
         !(vp->drv_features & (1ull << VIRTIO_F_VERSION_1))))
        v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
    vp->status = v;
    if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
        if (vp->info.ops->activate)
            vp->info.ops->activate(vp->info.opaque, vp->drv_features);
        atomic_store(&vp->driver_ok, true);
        /* Buffers made available before DRIVER_OK wait for a kick. */
        for (int i = 0; i < vp->info.nqueues; i++)
            vp_queue_kick(vp, (unsigned)i);
    }
}

static bool features_locked(struct virtio_pci *vp)
{
    return vp->status & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* A vector the driver asks for: kept if it exists, else NO_VECTOR, which
 * the driver reads back to learn the allocation failed (4.1.5.1.2). */
static uint16_t vector_check(struct virtio_pci *vp, uint64_t v)
{
    return vp->use_msix && v < vp->msix.nvec ? (uint16_t)v : VIRTIO_NO_VECTOR;
}

static void set_vector(struct virtio_pci *vp, struct vp_queue *q, uint64_t v)
{
    pthread_mutex_lock(&vp->irq_lock);
    if (q)
        q->vector = vector_check(vp, v);
    else
        vp->config_vector = vector_check(vp, v);
    pthread_mutex_unlock(&vp->irq_lock);
}

static uint16_t get_vector(struct virtio_pci *vp, struct vp_queue *q)
{
    pthread_mutex_lock(&vp->irq_lock);
    uint16_t v = q ? q->vector : vp->config_vector;
    pthread_mutex_unlock(&vp->irq_lock);
    return v;
}

/* --- Common configuration (4.1.4.3) -------------------------------------------------- */

/* The natural size of the field at off, 0 if none starts there. */
static unsigned common_field_size(uint64_t off)
{
    switch (off) {
    case VIRTIO_PCI_COMMON_STATUS:
    case VIRTIO_PCI_COMMON_CFGGENERATION:
        return 1;
    case VIRTIO_PCI_COMMON_MSIX:
    case VIRTIO_PCI_COMMON_NUMQ:
    case VIRTIO_PCI_COMMON_Q_SELECT:
    case VIRTIO_PCI_COMMON_Q_SIZE:
    case VIRTIO_PCI_COMMON_Q_MSIX:
    case VIRTIO_PCI_COMMON_Q_ENABLE:
    case VIRTIO_PCI_COMMON_Q_NOFF:
        return 2;
    default:
        return off < VIRTIO_PCI_COMMON_SIZE && off % 4 == 0 ? 4 : 0;
    }
}

static uint32_t common_read32(struct virtio_pci *vp, uint64_t off)
{
    struct vp_queue *q = selected(vp);
    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT: return vp->dfselect;
    case VIRTIO_PCI_COMMON_DF:
        return vp->dfselect == 0 ? LO32(vp->dev_features)
               : vp->dfselect == 1 ? HI32(vp->dev_features) : 0;
    case VIRTIO_PCI_COMMON_GFSELECT: return vp->gfselect;
    case VIRTIO_PCI_COMMON_GF:
        return vp->gfselect == 0 ? LO32(vp->drv_features)
               : vp->gfselect == 1 ? HI32(vp->drv_features) : 0;
    case VIRTIO_PCI_COMMON_MSIX: return get_vector(vp, NULL);
    case VIRTIO_PCI_COMMON_NUMQ: return (uint32_t)vp->info.nqueues;
    case VIRTIO_PCI_COMMON_STATUS: return status_read(vp);
    case VIRTIO_PCI_COMMON_CFGGENERATION: return vp->generation;
    case VIRTIO_PCI_COMMON_Q_SELECT: return vp->qsel;
    case VIRTIO_PCI_COMMON_Q_SIZE: return q ? q->size : 0;
    case VIRTIO_PCI_COMMON_Q_MSIX: return q ? get_vector(vp, q) : VIRTIO_NO_VECTOR;
    case VIRTIO_PCI_COMMON_Q_ENABLE: return q ? q->enabled : 0;
    case VIRTIO_PCI_COMMON_Q_NOFF: return vp->qsel;
    case VIRTIO_PCI_COMMON_Q_DESCLO: return q ? LO32(q->desc) : 0;
    case VIRTIO_PCI_COMMON_Q_DESCHI: return q ? HI32(q->desc) : 0;
    case VIRTIO_PCI_COMMON_Q_AVAILLO: return q ? LO32(q->avail) : 0;
    case VIRTIO_PCI_COMMON_Q_AVAILHI: return q ? HI32(q->avail) : 0;
    case VIRTIO_PCI_COMMON_Q_USEDLO: return q ? LO32(q->used) : 0;
    case VIRTIO_PCI_COMMON_Q_USEDHI: return q ? HI32(q->used) : 0;
    default: return 0;
    }
}

static void set_half(uint64_t *v, bool high, uint32_t x)
{
    *v = high ? (*v & 0xffffffffull) | (uint64_t)x << 32 : (*v & ~0xffffffffull) | x;
}

static void queue_enable(struct virtio_pci *vp, struct vp_queue *q)
{
    if (q->enabled)
        return;
    if (vp_queue_setup(vp, q, true) == HK_OK)
        q->enabled = true;
}

static void common_write32(struct virtio_pci *vp, uint64_t off, uint32_t v)
{
    struct vp_queue *q = selected(vp);
    /* Queue registers are fixed while the queue runs (4.1.4.3.2). */
    bool qw = q && !q->enabled;
    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT: vp->dfselect = v; break;
    case VIRTIO_PCI_COMMON_GFSELECT: vp->gfselect = v; break;
    case VIRTIO_PCI_COMMON_GF:
        if (vp->gfselect < 2 && !features_locked(vp))
            set_half(&vp->drv_features, vp->gfselect == 1, v);
        break;
    case VIRTIO_PCI_COMMON_MSIX: set_vector(vp, NULL, v); break;
    case VIRTIO_PCI_COMMON_STATUS: status_write(vp, (uint8_t)v, false); break;
    case VIRTIO_PCI_COMMON_Q_SELECT: vp->qsel = (uint16_t)v; break;
    case VIRTIO_PCI_COMMON_Q_SIZE: if (qw) q->size = (uint16_t)v; break;
    case VIRTIO_PCI_COMMON_Q_MSIX: if (q) set_vector(vp, q, v); break;
    case VIRTIO_PCI_COMMON_Q_ENABLE: if (q && v == 1) queue_enable(vp, q); break;
    case VIRTIO_PCI_COMMON_Q_DESCLO: case VIRTIO_PCI_COMMON_Q_DESCHI:
        if (qw) set_half(&q->desc, off == VIRTIO_PCI_COMMON_Q_DESCHI, v);
        break;
    case VIRTIO_PCI_COMMON_Q_AVAILLO: case VIRTIO_PCI_COMMON_Q_AVAILHI:
        if (qw) set_half(&q->avail, off == VIRTIO_PCI_COMMON_Q_AVAILHI, v);
        break;
    case VIRTIO_PCI_COMMON_Q_USEDLO: case VIRTIO_PCI_COMMON_Q_USEDHI:
        if (qw) set_half(&q->used, off == VIRTIO_PCI_COMMON_Q_USEDHI, v);
        break;
    default: break;     /* read-only or reserved */
    }
}

/* Natural-size accesses, and 64-bit accesses to a 64-bit field (two
 * dwords); anything else reads 0 and is dropped (4.1.3.1). */
static bool common_access_ok(uint64_t off, unsigned size)
{
    unsigned n = common_field_size(off);
    if (size == n)
        return true;
    return size == 8 && off >= VIRTIO_PCI_COMMON_Q_DESCLO && off % 8 == 0 &&
           off < VIRTIO_PCI_COMMON_SIZE;
}

static uint64_t common_read(struct virtio_pci *vp, uint64_t off, unsigned size)
{
    if (!common_access_ok(off, size))
        return 0;
    uint64_t v = common_read32(vp, off);
    if (size == 8)
        v |= (uint64_t)common_read32(vp, off + 4) << 32;
    return v;
}

static void common_write(struct virtio_pci *vp, uint64_t off, unsigned size, uint64_t v)
{
    if (!common_access_ok(off, size))
        return;
    common_write32(vp, off, (uint32_t)v);
    if (size == 8)
        common_write32(vp, off + 4, (uint32_t)(v >> 32));
}

/* --- The modern BAR ------------------------------------------------------------------ */

static uint64_t modern_read(void *opaque, uint64_t off, unsigned size)
{
    struct virtio_pci *vp = opaque;
    uint64_t v = 0;
    if (off < VIRTIO_PCI_ISR_OFF) {
        pthread_mutex_lock(&vp->lock);
        v = common_read(vp, off, size);
        pthread_mutex_unlock(&vp->lock);
    } else if (off == VIRTIO_PCI_ISR_OFF) {
        v = vp_isr_read(vp);
    } else if (off >= VIRTIO_PCI_DEVICE_OFF && off < VIRTIO_PCI_NOTIFY_OFF) {
        pthread_mutex_lock(&vp->lock);
        v = devcfg_read(vp, off - VIRTIO_PCI_DEVICE_OFF, size);
        pthread_mutex_unlock(&vp->lock);
    } else if (vp->use_msix && off >= VIRTIO_PCI_MSIX_TABLE_OFF && off < VIRTIO_PCI_MSIX_PBA_OFF) {
        v = msix_table_read(&vp->msix, off - VIRTIO_PCI_MSIX_TABLE_OFF, size);
    } else if (vp->use_msix && off >= VIRTIO_PCI_MSIX_PBA_OFF) {
        v = msix_pba_read(&vp->msix, off - VIRTIO_PCI_MSIX_PBA_OFF, size);
    }
    return v;
}

static void modern_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
    struct virtio_pci *vp = opaque;
    if (off < VIRTIO_PCI_ISR_OFF) {
        pthread_mutex_lock(&vp->lock);
        common_write(vp, off, size, v);
        pthread_mutex_unlock(&vp->lock);
    } else if (off >= VIRTIO_PCI_DEVICE_OFF && off < VIRTIO_PCI_NOTIFY_OFF) {
        pthread_mutex_lock(&vp->lock);
        devcfg_write(vp, off - VIRTIO_PCI_DEVICE_OFF, size, v);
        pthread_mutex_unlock(&vp->lock);
    } else if (off >= VIRTIO_PCI_NOTIFY_OFF && off < VIRTIO_PCI_MSIX_TABLE_OFF) {
        /* queue_notify_off is the queue index: the address names the queue. */
        vp_queue_kick(vp, (unsigned)((off - VIRTIO_PCI_NOTIFY_OFF) / VIRTIO_PCI_NOTIFY_MULT));
    } else if (vp->use_msix && off >= VIRTIO_PCI_MSIX_TABLE_OFF && off < VIRTIO_PCI_MSIX_PBA_OFF) {
        msix_table_write(&vp->msix, off - VIRTIO_PCI_MSIX_TABLE_OFF, size, v);
    }
}

static const struct io_ops modern_ops = {.read = modern_read, .write = modern_write};

/* --- The legacy I/O BAR (4.1.4.8) ----------------------------------------------------- */

static unsigned legacy_cfg_off(struct virtio_pci *vp)
{
    return VIRTIO_PCI_LEG_CONFIG(vp->use_msix && msix_enabled(&vp->msix));
}

/* Legacy rings: descriptors at PFN * 4096, the available ring after them,
 * the used ring at the next 4096 boundary (2.7.2 with legacy alignment). */
static void legacy_pfn_write(struct virtio_pci *vp, struct vp_queue *q, uint32_t pfn)
{
    q->pfn = pfn;
    if (pfn == 0) {
        vp_queue_setup(vp, q, false);
        q->enabled = false;
        return;
    }
    if (q->enabled)
        return;
    uint64_t n = vp->info.queue_size;
    q->size = (uint16_t)n;
    q->desc = (uint64_t)pfn * VIRTIO_PCI_LEG_ALIGN;
    q->avail = q->desc + 16 * n;
    q->used = (q->avail + 2 * (3 + n) + VIRTIO_PCI_LEG_ALIGN - 1) & ~(uint64_t)(VIRTIO_PCI_LEG_ALIGN - 1);
    queue_enable(vp, q);
}

static uint64_t legacy_reg_read(struct virtio_pci *vp, uint64_t off, unsigned size)
{
    struct vp_queue *q = selected(vp);
    bool msix = vp->use_msix && msix_enabled(&vp->msix);
    switch (off | (uint64_t)size << 8) {
    case VIRTIO_PCI_LEG_HOST_FEATURES | 4 << 8: return LO32(vp->dev_features);
    case VIRTIO_PCI_LEG_GUEST_FEATURES | 4 << 8: return LO32(vp->drv_features);
    case VIRTIO_PCI_LEG_QUEUE_PFN | 4 << 8: return q ? q->pfn : 0;
    case VIRTIO_PCI_LEG_QUEUE_NUM | 2 << 8: return q ? vp->info.queue_size : 0;
    case VIRTIO_PCI_LEG_QUEUE_SEL | 2 << 8: return vp->qsel;
    case VIRTIO_PCI_LEG_STATUS | 1 << 8: return status_read(vp);
    case VIRTIO_PCI_LEG_ISR | 1 << 8: return vp_isr_read(vp);
    case VIRTIO_PCI_LEG_MSIX_CONFIG | 2 << 8: return msix ? get_vector(vp, NULL) : 0;
    case VIRTIO_PCI_LEG_MSIX_QUEUE | 2 << 8:
        return msix ? (q ? get_vector(vp, q) : VIRTIO_NO_VECTOR) : 0;
    default: return 0;
    }
}

static void legacy_reg_write(struct virtio_pci *vp, uint64_t off, unsigned size, uint64_t v)
{
    struct vp_queue *q = selected(vp);
    bool msix = vp->use_msix && msix_enabled(&vp->msix);
    switch (off | (uint64_t)size << 8) {
    case VIRTIO_PCI_LEG_GUEST_FEATURES | 4 << 8:
        if (!(vp->status & VIRTIO_STATUS_DRIVER_OK))
            vp->drv_features = (uint32_t)v & LO32(vp->dev_features);
        break;
    case VIRTIO_PCI_LEG_QUEUE_PFN | 4 << 8: if (q) legacy_pfn_write(vp, q, (uint32_t)v); break;
    case VIRTIO_PCI_LEG_QUEUE_SEL | 2 << 8: vp->qsel = (uint16_t)v; break;
    case VIRTIO_PCI_LEG_QUEUE_NOTIFY | 2 << 8: vp_queue_kick(vp, (unsigned)(v & 0xffff)); break;
    case VIRTIO_PCI_LEG_STATUS | 1 << 8: status_write(vp, (uint8_t)v, true); break;
    case VIRTIO_PCI_LEG_MSIX_CONFIG | 2 << 8: if (msix) set_vector(vp, NULL, v); break;
    case VIRTIO_PCI_LEG_MSIX_QUEUE | 2 << 8: if (msix && q) set_vector(vp, q, v); break;
    default: break;
    }
}

static uint64_t legacy_read(void *opaque, uint64_t off, unsigned size)
{
    struct virtio_pci *vp = opaque;
    unsigned cfg = legacy_cfg_off(vp);
    if (off == VIRTIO_PCI_LEG_ISR && size == 1)
        return vp_isr_read(vp);
    pthread_mutex_lock(&vp->lock);
    uint64_t v = off >= cfg ? devcfg_read(vp, off - cfg, size) : legacy_reg_read(vp, off, size);
    pthread_mutex_unlock(&vp->lock);
    return v;
}

static void legacy_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
    struct virtio_pci *vp = opaque;
    unsigned cfg = legacy_cfg_off(vp);
    if (off == VIRTIO_PCI_LEG_QUEUE_NOTIFY && size == 2) {
        vp_queue_kick(vp, (unsigned)(v & 0xffff));   /* without the register lock */
        return;
    }
    pthread_mutex_lock(&vp->lock);
    if (off >= cfg)
        devcfg_write(vp, off - cfg, size, v);
    else
        legacy_reg_write(vp, off, size, v);
    pthread_mutex_unlock(&vp->lock);
}

static const struct io_ops legacy_ops = {.read = legacy_read, .write = legacy_write};

/* --- PCI configuration: capabilities, BAR moves ---------------------------------------- */

/* The PCI configuration access capability (4.1.4.9): a window onto the
 * modern BAR through configuration cycles. */
static bool cfg_window(struct virtio_pci *vp, uint32_t *off, unsigned *len)
{
    unsigned c = (unsigned)vp->cfg_cap;
    unsigned bar = pci_get_cfg(vp->func, c + 4, 1);
    *off = pci_get_cfg(vp->func, c + 8, 4);
    *len = pci_get_cfg(vp->func, c + 12, 4);
    return bar == VIRTIO_PCI_MODERN_BAR && (*len == 1 || *len == 2 || *len == 4) &&
           *off % *len == 0 && *off < VIRTIO_PCI_MODERN_BAR_SIZE;
}

static bool vp_cfg_read(void *opaque, unsigned offset, unsigned size, uint32_t *value)
{
    struct virtio_pci *vp = opaque;
    unsigned data = (unsigned)vp->cfg_cap + 16;
    uint32_t off;
    unsigned len;
    if (vp->cfg_cap <= 0 || offset < data || offset >= data + 4)
        return false;
    uint32_t v = cfg_window(vp, &off, &len) ? (uint32_t)modern_read(vp, off, len) : 0;
    *value = v >> (8 * (offset - data));
    return true;
}

static void vp_cfg_written(void *opaque, unsigned offset, unsigned size, uint32_t value)
{
    struct virtio_pci *vp = opaque;
    if (vp->use_msix)
        msix_cfg_written(&vp->msix, offset, size);
    else
        msi_cfg_written(&vp->msi, offset, size);
    vp_intx_sync(vp);
    unsigned data = (unsigned)vp->cfg_cap + 16;
    uint32_t off;
    unsigned len;
    if (vp->cfg_cap > 0 && offset < data + 4 && data < offset + size && cfg_window(vp, &off, &len))
        modern_write(vp, off, len, pci_get_cfg(vp->func, data, len));
}

static void vp_bar_moved(void *opaque, int bar, uint64_t addr)
{
    struct virtio_pci *vp = opaque;
    bool io = bar == VIRTIO_PCI_LEGACY_BAR;
    if (!io && bar != VIRTIO_PCI_MODERN_BAR)
        return;
    struct iobus *bus = io ? vp->env->pio : vp->env->mmio;
    uint64_t len = io ? vp->legacy_bar_size : VIRTIO_PCI_MODERN_BAR_SIZE;
    int where = io ? VP_NOTIFY_LEGACY : VP_NOTIFY_MODERN;
    pthread_mutex_lock(&vp->map_lock);
    /* Notify writes leave the engine before the bus: none is lost between. */
    vp_notify_fds_unmap(vp, where);
    if (vp->bar_base[bar])
        iobus_unregister(bus, vp->bar_base[bar], vp);
    vp->bar_base[bar] = 0;
    if (addr) {
        int r = iobus_register(bus, addr, len, io ? &legacy_ops : &modern_ops, vp, vp->info.name);
        if (r == HK_OK)
            vp->bar_base[bar] = addr;
        else
            vp_warn(vp, "BAR %d at 0x%llx overlaps another device", bar, (unsigned long long)addr);
    }
    /* Only where the bus took the BAR: a refused place stays nobody's. */
    if (vp->bar_base[bar])
        vp_notify_fds_map(vp, where, vp->bar_base[bar]);
    pthread_mutex_unlock(&vp->map_lock);
}

static const struct pci_func_ops vp_pci_ops = {
    .cfg_read = vp_cfg_read, .cfg_written = vp_cfg_written, .bar_moved = vp_bar_moved};

/* A virtio vendor capability (4.1.4): type, BAR window, extra bytes after. */
static int add_vcap(struct virtio_pci *vp, uint8_t type, uint32_t off, uint32_t len, unsigned extra)
{
    unsigned clen = 16 + extra;
    int c = pci_add_cap(vp->func, PCI_CAP_ID_VNDR, clen);
    if (c < 0)
        return c;
    unsigned u = (unsigned)c;
    pci_set_cfg(vp->func, u + 2, 1, clen);
    pci_set_cfg(vp->func, u + 3, 1, type);
    pci_set_cfg(vp->func, u + 4, 1, type == VIRTIO_PCI_CAP_PCI_CFG ? 0 : VIRTIO_PCI_MODERN_BAR);
    pci_set_cfg(vp->func, u + 8, 4, off);
    pci_set_cfg(vp->func, u + 12, 4, len);
    return c;
}

static int add_caps(struct virtio_pci *vp)
{
    int nq = vp->info.nqueues, r;
    if ((r = add_vcap(vp, VIRTIO_PCI_CAP_COMMON, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_SIZE, 0)) < 0)
        return r;
    if ((r = add_vcap(vp, VIRTIO_PCI_CAP_NOTIFY, VIRTIO_PCI_NOTIFY_OFF,
                      (uint32_t)nq * VIRTIO_PCI_NOTIFY_MULT, 4)) < 0)
        return r;
    pci_set_cfg(vp->func, (unsigned)r + 16, 4, VIRTIO_PCI_NOTIFY_MULT);
    if ((r = add_vcap(vp, VIRTIO_PCI_CAP_ISR, VIRTIO_PCI_ISR_OFF, 1, 0)) < 0)
        return r;
    if (vp->info.config_size &&
        (r = add_vcap(vp, VIRTIO_PCI_CAP_DEVICE, VIRTIO_PCI_DEVICE_OFF, vp->info.config_size, 0)) < 0)
        return r;
    if ((r = add_vcap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 4)) < 0)
        return r;
    vp->cfg_cap = r;
    pci_set_wmask(vp->func, (unsigned)r + 4, 1, 0xff);
    pci_set_wmask(vp->func, (unsigned)r + 8, 4, 0xffffffffu);
    pci_set_wmask(vp->func, (unsigned)r + 12, 4, 0xffffffffu);
    pci_set_wmask(vp->func, (unsigned)r + 16, 4, 0xffffffffu);
    if (vp->use_msix)
        return msix_init(&vp->msix, vp->func, vp->env, (unsigned)nq + 1, VIRTIO_PCI_MODERN_BAR,
                         VIRTIO_PCI_MSIX_TABLE_OFF, VIRTIO_PCI_MSIX_PBA_OFF);
    return msi_init(&vp->msi, vp->func, vp->env);
}

static bool info_ok(const struct virtio_dev_info *in)
{
    uint16_t qs = in->queue_size;
    uint32_t all = in->nqueues >= 1 && in->nqueues <= VIRTIO_MAX_QUEUES
                       ? (uint32_t)((1ull << in->nqueues) - 1) : 0;
    bool handled = in->ops && (in->ops->handle || (in->device_driven_mask & all) == all);
    return handled && in->ops->features && in->ops->config_read &&
           !(in->device_driven_mask & ~all) &&
           in->nqueues >= 1 && in->nqueues <= VIRTIO_MAX_QUEUES && qs && !(qs & (qs - 1)) &&
           qs <= VIRTQ_MAX_SIZE && in->config_size <= 0x1000 - 24 &&
           (!in->legacy_id || in->config_size <= 256 - 24);
}

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t p = 32;
    while (p < n)
        p <<= 1;
    return p;
}

static int setup_func(struct virtio_pci *vp, const struct virtio_pci_params *p)
{
    const struct virtio_dev_info *in = &vp->info;
    uint16_t id = in->legacy_id ? in->legacy_id : VIRTIO_PCI_MODERN_ID(in->device_type);
    int r = pci_add_func(p->bus, p->slot, p->func, VIRTIO_PCI_VENDOR, id, in->pci_class,
                         &vp_pci_ops, vp, &vp->func);
    if (r)
        return r;
    /* Transitional devices have revision 0, modern-only ones 1 (4.1.2.1). */
    pci_set_cfg(vp->func, PCI_REVISION, 1, in->legacy_id ? 0 : 1);
    pci_set_cfg(vp->func, PCI_SUBSYS_VENDOR, 2, VIRTIO_PCI_VENDOR);
    pci_set_cfg(vp->func, PCI_SUBSYS_ID, 2, in->device_type);
    if (in->legacy_id) {
        vp->legacy_bar_size = pow2_at_least(24 + in->config_size);
        if ((r = pci_set_bar(vp->func, VIRTIO_PCI_LEGACY_BAR, PCI_BAR_IO, vp->legacy_bar_size,
                             false)) != 0)
            return r;
    }
    if ((r = pci_set_bar(vp->func, VIRTIO_PCI_MODERN_BAR, PCI_BAR_MEM64,
                         VIRTIO_PCI_MODERN_BAR_SIZE, false)) != 0)
        return r;
    if ((r = pci_set_irq_pin(vp->func, 1)) != 0)
        return r;
    return add_caps(vp);
}

int virtio_pci_create(struct dev_env *env, const struct virtio_pci_params *p,
                      const struct virtio_dev_info *info, struct virtio_pci **out)
{
    if (!env || !p || !info || !out || !info_ok(info))
        return HK_EINVAL;
    struct virtio_pci *vp = calloc(1, sizeof(*vp) + (size_t)info->nqueues * sizeof(vp->q[0]));
    if (!vp)
        return HK_ENOMEM;
    vp->env = env;
    vp->info = *info;
    vp->slot = p->slot;
    vp->fn = p->func;
    vp->use_msix = !env->virtio_msix_off;
    vp->dev_features = info->ops->features(info->opaque) | 1ull << VIRTIO_F_VERSION_1 |
                       1ull << VIRTIO_F_INDIRECT_DESC | 1ull << VIRTIO_F_EVENT_IDX;
    pthread_mutex_init(&vp->lock, NULL);
    pthread_mutex_init(&vp->map_lock, NULL);
    pthread_mutex_init(&vp->irq_lock, NULL);
    atomic_init(&vp->needs_reset, false);
    atomic_init(&vp->driver_ok, false);
    atomic_init(&vp->warnings_left, VP_WARNINGS);
    int r = vp_queues_start(vp);
    if (!r)
        r = setup_func(vp, p);
    if (r) {
        virtio_pci_destroy(vp);
        return r;
    }
    pthread_mutex_lock(&vp->lock);
    vp_reset(vp);
    pthread_mutex_unlock(&vp->lock);
    *out = vp;
    return HK_OK;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
    if (!vp)
        return;
    /* The engine lets go of the eventfds before the workers close them. */
    pthread_mutex_lock(&vp->map_lock);
    vp_notify_fds_unmap(vp, VP_NOTIFY_MODERN);
    vp_notify_fds_unmap(vp, VP_NOTIFY_LEGACY);
    pthread_mutex_unlock(&vp->map_lock);
    vp_queues_stop(vp);
    pthread_mutex_lock(&vp->map_lock);
    for (int b = 0; b < PCI_NBARS; b++)
        if (vp->bar_base[b])
            iobus_unregister(b == VIRTIO_PCI_LEGACY_BAR ? vp->env->pio : vp->env->mmio,
                             vp->bar_base[b], vp);
    pthread_mutex_unlock(&vp->map_lock);
    if (vp->use_msix)
        msix_fini(&vp->msix);
    else
        msi_fini(&vp->msi);
    /* Its hooks' opaque is vp: it must not outlive vp on the bus. */
    pci_remove_func(vp->func);
    pthread_mutex_destroy(&vp->lock);
    pthread_mutex_destroy(&vp->map_lock);
    pthread_mutex_destroy(&vp->irq_lock);
    free(vp);
}

void virtio_pci_config_changed(struct virtio_pci *vp)
{
    pthread_mutex_lock(&vp->lock);
    vp->generation++;
    pthread_mutex_unlock(&vp->lock);
    vp_interrupt(vp, 2, get_vector(vp, NULL));
}

uint64_t virtio_pci_features(struct virtio_pci *vp)
{
    pthread_mutex_lock(&vp->lock);
    uint64_t f = vp->drv_features;
    pthread_mutex_unlock(&vp->lock);
    return f;
}

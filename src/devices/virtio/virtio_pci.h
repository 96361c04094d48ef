/*
 * The virtio PCI transport (virtio 1.x, 4.1): a modern interface (vendor
 * capabilities for the common, notify, ISR and device configuration in a
 * 64-bit memory BAR, plus the PCI configuration access capability) and,
 * for devices that have a transitional ID, the legacy interface in I/O
 * BAR 0 (4.1.4.8). Interrupts: MSI-X (one vector per queue plus one for
 * configuration changes) falling back to INTx with the ISR status, or a
 * single MSI vector when MSI-X is off (hyperkit's -W).
 *
 * A device plugs in through struct virtio_dev_ops. Each queue gets a
 * worker thread: a kick from a vCPU only wakes it, and the device's
 * handle callback runs there, off the vCPU threads. A queue the guest
 * broke (HK_EGUEST) sets DEVICE_NEEDS_RESET and raises a configuration
 * change interrupt; the VM keeps running and the driver may reset.
 *
 * Device-driven queues (virtio_dev_info.device_driven_mask: a network
 * device's receive queue) are filled when the device has data, not when
 * the guest kicks: a kick there only calls ops->kick, and the device pops
 * and pushes from its own threads with virtio_pci_queue_pop/_push.
 */
#ifndef HK_DEVICES_VIRTIO_VIRTIO_PCI_H
#define HK_DEVICES_VIRTIO_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/devenv.h"
#include "devices/pci/pci.h"
#include "devices/virtio/virtqueue.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_MODERN_ID(type) (0x1040 + (type))
#define VIRTIO_MAX_QUEUES 16
#define VIRTIO_NO_VECTOR 0xffff

/* Device types (5). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_RNG 4
#define VIRTIO_ID_VSOCK 19

/* Device status (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

/* Transport feature bits (6). */
#define VIRTIO_F_VERSION_1 32

struct virtio_pci;

struct virtio_dev_ops {
    /* Device feature bits (the transport adds VERSION_1, indirect
     * descriptors and EVENT_IDX). */
    uint64_t (*features)(void *opaque);
    /* Device configuration space: off + len <= config_size, checked by
     * the transport. Writes to read-only fields are the device's to
     * ignore. */
    void (*config_read)(void *opaque, unsigned off, void *buf, unsigned len);
    void (*config_write)(void *opaque, unsigned off, const void *buf, unsigned len);
    /* The driver reset the device: queue workers are idle and the queues
     * stopped when this runs. May be NULL. */
    void (*reset)(void *opaque);
    /* Driver set DRIVER_OK with these negotiated features. May be NULL. */
    void (*activate)(void *opaque, uint64_t features);
    /* One chain from queue q, on q's worker: fill *written with the bytes
     * put in its writable part. 0, or HK_EGUEST if the chain is so broken
     * the queue must stop (a bad request the device can answer with a
     * status is not that). */
    int (*handle)(void *opaque, int q, struct virtq_chain *c, uint32_t *written);
    /* Device-driven queue q got a kick (the driver added buffers, or the
     * queue started): on q's worker, no transport lock held, so it may
     * pop and push itself or just wake the device's thread. It may race
     * with a reset: pops then return 0. May be NULL (NULL handle is then
     * allowed for queues that are all device-driven). */
    void (*kick)(void *opaque, int q);
};

struct virtio_dev_info {
    const char *name;               /* for logs: "virtio-blk" */
    uint16_t device_type;           /* VIRTIO_ID_* */
    uint16_t legacy_id;             /* transitional PCI device ID, 0: modern only */
    uint32_t pci_class;             /* class << 16 | subclass << 8 | prog-if */
    int nqueues;                    /* 1..VIRTIO_MAX_QUEUES */
    uint16_t queue_size;            /* maximum (and legacy) size, a power of two */
    unsigned config_size;           /* bytes of device configuration */
    uint32_t device_driven_mask;    /* bit q: queue q is device-driven (ops->kick) */
    const struct virtio_dev_ops *ops;
    void *opaque;
};

/* Where the function goes (-W, env->virtio_msix_off, chooses MSI). */
struct virtio_pci_params {
    struct pci_bus *bus;
    int slot, func;
};

int virtio_pci_create(struct dev_env *env, const struct virtio_pci_params *p,
                      const struct virtio_dev_info *info, struct virtio_pci **out);
/* Stop the workers, unmap the BARs, take the PCI function off its bus
 * (so nothing on the bus points at the freed device: creation failures
 * go through here too) and free. Before the bus is freed, with no vCPU
 * running. */
void virtio_pci_destroy(struct virtio_pci *vp);

/* A configuration-space change the driver must see (capacity...). Takes
 * the register lock: never from a handle callback (a reset holds that
 * lock while it waits for the worker). */
void virtio_pci_config_changed(struct virtio_pci *vp);

/* The negotiated features (0 before FEATURES_OK / legacy setup). */
uint64_t virtio_pci_features(struct virtio_pci *vp);

/* --- Device-driven queues ---------------------------------------------------------
 * Callable from any device thread (each takes the queue's lock, which
 * makes it exclusive with the queue's setup and the device reset; not
 * from inside ops->reset, which may run while a worker waits). Before
 * DRIVER_OK, after a reset, on a queue not enabled, or once the device
 * needs reset, they do nothing and report no buffers. A chain popped
 * before a reset or queue restart is stale after it: pushing it does
 * nothing, so a device thread racing a reset never hands an old head to
 * the new ring. One thread at a time should pop a given queue. */

/* A chain buffer big enough for any chain of this device's queues (free
 * with free()), NULL if out of memory. */
struct virtq_chain *virtio_pci_chain_new(struct virtio_pci *vp);

/* Take the next buffer of queue q: 1 with *c filled, 0 if none (or the
 * queue is not running), HK_EGUEST if the ring is broken (the device is
 * then put in NEEDS_RESET, as for a driven queue). */
int virtio_pci_queue_pop(struct virtio_pci *vp, int q, struct virtq_chain *c);

/* Give back cs[0..n), the n most recent pops of q, unused (a frame that
 * did not fit after all): the driver's buffers are popped again later.
 * Ignored unless they are exactly the pops since the last push/unpop of
 * this epoch. enable_kicks then counts them as arrived: a device waiting
 * for more buffers should hold its pops rather than unpop them. */
void virtio_pci_queue_unpop(struct virtio_pci *vp, int q, struct virtq_chain *const *cs, int n);

/* Return chains cs[0..n) with written[i] bytes each, published to the
 * driver at once (one used-index update: mergeable receive buffers of
 * one frame must appear together), then interrupt if the driver asked.
 * 0 (also when every chain is stale and nothing was pushed), HK_EGUEST
 * if the used ring is broken (NEEDS_RESET), HK_EINVAL for n out of
 * range. */
int virtio_pci_queue_push_n(struct virtio_pci *vp, int q, struct virtq_chain *const *cs,
                            const uint32_t *written, int n);
int virtio_pci_queue_push(struct virtio_pci *vp, int q, const struct virtq_chain *c,
                          uint32_t written);

/* Ask for kicks on q again (enable) or not: with enable, true if
 * buffers arrived meanwhile (pop again before waiting for ops->kick);
 * false also when the queue is not running. */
bool virtio_pci_queue_enable_kicks(struct virtio_pci *vp, int q, bool enable);

/* BAR layout, for tests and the firmware view. */
#define VIRTIO_PCI_LEGACY_BAR 0
#define VIRTIO_PCI_MODERN_BAR 4
#define VIRTIO_PCI_COMMON_OFF 0x0000
#define VIRTIO_PCI_ISR_OFF 0x1000
#define VIRTIO_PCI_DEVICE_OFF 0x2000
#define VIRTIO_PCI_NOTIFY_OFF 0x3000
#define VIRTIO_PCI_NOTIFY_MULT 4
#define VIRTIO_PCI_MSIX_TABLE_OFF 0x4000
#define VIRTIO_PCI_MSIX_PBA_OFF 0x5000
#define VIRTIO_PCI_MODERN_BAR_SIZE 0x8000

/* Common configuration offsets (4.1.4.3). */
#define VIRTIO_PCI_COMMON_DFSELECT 0
#define VIRTIO_PCI_COMMON_DF 4
#define VIRTIO_PCI_COMMON_GFSELECT 8
#define VIRTIO_PCI_COMMON_GF 12
#define VIRTIO_PCI_COMMON_MSIX 16
#define VIRTIO_PCI_COMMON_NUMQ 18
#define VIRTIO_PCI_COMMON_STATUS 20
#define VIRTIO_PCI_COMMON_CFGGENERATION 21
#define VIRTIO_PCI_COMMON_Q_SELECT 22
#define VIRTIO_PCI_COMMON_Q_SIZE 24
#define VIRTIO_PCI_COMMON_Q_MSIX 26
#define VIRTIO_PCI_COMMON_Q_ENABLE 28
#define VIRTIO_PCI_COMMON_Q_NOFF 30
#define VIRTIO_PCI_COMMON_Q_DESCLO 32
#define VIRTIO_PCI_COMMON_Q_DESCHI 36
#define VIRTIO_PCI_COMMON_Q_AVAILLO 40
#define VIRTIO_PCI_COMMON_Q_AVAILHI 44
#define VIRTIO_PCI_COMMON_Q_USEDLO 48
#define VIRTIO_PCI_COMMON_Q_USEDHI 52
#define VIRTIO_PCI_COMMON_SIZE 56

/* Legacy registers in I/O BAR 0 (4.1.4.8). */
#define VIRTIO_PCI_LEG_HOST_FEATURES 0
#define VIRTIO_PCI_LEG_GUEST_FEATURES 4
#define VIRTIO_PCI_LEG_QUEUE_PFN 8
#define VIRTIO_PCI_LEG_QUEUE_NUM 12
#define VIRTIO_PCI_LEG_QUEUE_SEL 14
#define VIRTIO_PCI_LEG_QUEUE_NOTIFY 16
#define VIRTIO_PCI_LEG_STATUS 18
#define VIRTIO_PCI_LEG_ISR 19
#define VIRTIO_PCI_LEG_MSIX_CONFIG 20   /* only while MSI-X is enabled */
#define VIRTIO_PCI_LEG_MSIX_QUEUE 22
#define VIRTIO_PCI_LEG_CONFIG(msix) ((msix) ? 24 : 20)
#define VIRTIO_PCI_LEG_ALIGN 4096

/* Vendor capability types (4.1.4). */
#define VIRTIO_PCI_CAP_COMMON 1
#define VIRTIO_PCI_CAP_NOTIFY 2
#define VIRTIO_PCI_CAP_ISR 3
#define VIRTIO_PCI_CAP_DEVICE 4
#define VIRTIO_PCI_CAP_PCI_CFG 5

#endif

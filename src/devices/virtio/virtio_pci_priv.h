/*
 * The transport's state, shared by its register code (virtio_pci.c) and
 * its queue workers and interrupts (virtio_pci_queue.c).
 *
 * Locks, always taken in this order: vp->lock (registers: status,
 * features, queue setup) -> q->qlock (the ring, held by the worker while
 * it processes) -> vp->irq_lock (ISR, vectors, INTx level). vp->map_lock
 * (the BARs' registrations) is taken alone.
 *
 * A kick is one write to the queue's eventfd, which its worker blocks
 * reading: from the VMM's bus handler, or, where the engine has
 * ioeventfds, straight from the guest's notify write with no vCPU exit.
 */
#ifndef HK_DEVICES_VIRTIO_VIRTIO_PCI_PRIV_H
#define HK_DEVICES_VIRTIO_VIRTIO_PCI_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "devices/pci/msix.h"
#include "devices/virtio/virtio_pci.h"

struct vp_queue {
    struct virtio_pci *vp;
    int index;
    /* Registers (vp->lock). */
    uint16_t size;
    bool enabled;
    uint64_t desc, avail, used;
    uint32_t pfn;                   /* legacy */
    /* irq_lock. */
    uint16_t vector;
    /* The ring (qlock). */
    pthread_mutex_t qlock;
    struct virtq vq;
    struct virtq_chain *chain;
    bool device_driven;
    uint32_t epoch;                 /* bumped at every setup: older pops are stale */
    uint32_t *head_epoch;           /* device-driven: epoch a head was popped in, 0: not */
    uint16_t recent;                /* device-driven: pops since the last push/unpop */
    /* The worker: kicks add to kick_fd (an eventfd); stop ends it. */
    int kick_fd;
    atomic_bool stop;
    pthread_t thread;
    bool thread_started;
    /* map_lock: the notify writes registered with the engine to signal
     * kick_fd, exactly as registered (VP_NOTIFY_*). */
    struct dev_ioeventfd notify[2];
    bool notify_on[2];
};

/* Where a queue's notify write lands: the modern BAR's notify region, or
 * the legacy BAR's shared QUEUE_NOTIFY port. */
enum { VP_NOTIFY_MODERN, VP_NOTIFY_LEGACY };

struct virtio_pci {
    struct dev_env *env;
    struct virtio_dev_info info;
    struct pci_func *func;
    int slot, fn;
    pthread_mutex_t lock;
    uint8_t status, generation;
    uint32_t dfselect, gfselect;
    uint64_t dev_features, drv_features;
    uint16_t qsel;
    pthread_mutex_t map_lock;       /* bar_base: the BARs' registrations */
    uint64_t bar_base[PCI_NBARS];   /* where each BAR is registered, 0: not */
    bool notify_fds_off;            /* map_lock: the engine has no ioeventfds */
    uint64_t legacy_bar_size;
    int cfg_cap;                    /* the PCI configuration access capability */
    bool use_msix;
    struct msix msix;
    struct msi msi;
    atomic_bool needs_reset;        /* a queue broke: stop every queue */
    atomic_bool driver_ok;          /* DRIVER_OK set and no reset since */
    atomic_int warnings_left;       /* vp_warn's budget */

    pthread_mutex_t irq_lock;
    uint8_t isr;
    uint16_t config_vector;

    struct vp_queue q[];
};

/* A warning about something the guest did, "name ss.f: " prefixed. The
 * guest can repeat it at will, so only the first VP_WARNINGS per device
 * are logged: a guest cannot flood the host's log. */
#define VP_WARNINGS 8
void vp_warn(struct virtio_pci *vp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* virtio_pci_queue.c */
int vp_queues_start(struct virtio_pci *vp);
void vp_queues_stop(struct virtio_pci *vp);
void vp_queue_kick(struct virtio_pci *vp, unsigned q);
/* Register (after the BAR went to base) or remove (before it leaves) the
 * queues' notify writes of that BAR with the engine (map_lock held). */
void vp_notify_fds_map(struct virtio_pci *vp, int where, uint64_t base);
void vp_notify_fds_unmap(struct virtio_pci *vp, int where);
/* Start (or with start false, stop) the ring of q from its registers
 * (vp->lock held); HK_EGUEST puts the device in NEEDS_RESET. */
int vp_queue_setup(struct virtio_pci *vp, struct vp_queue *q, bool start);
/* Raise an interrupt: isr_bit 1 for a queue, 2 for a configuration
 * change, with that source's MSI-X vector. */
void vp_interrupt(struct virtio_pci *vp, uint8_t isr_bit, uint16_t vector);
/* A queue or its setup broke: NEEDS_RESET and a configuration change. */
void vp_set_needs_reset(struct virtio_pci *vp, const char *why);
/* The guest switched MSI / MSI-X on or off: INTx follows. */
void vp_intx_sync(struct virtio_pci *vp);
/* ISR read: the value, cleared, INTx lowered (4.1.4.5). */
uint8_t vp_isr_read(struct virtio_pci *vp);

#endif

/*
 * Queue workers and interrupts of the virtio PCI transport. A kick only
 * signals the queue's eventfd, which wakes its worker (the engine may
 * signal it too: virtio_pci_notify.c); the worker pops chains,
 * hands them to the device, pushes them back and interrupts the driver
 * when it asked to be (virtq_should_notify).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/virtio_pci_priv.h"
#include "hyperkit.h"

/* INTx shows the ISR only while no message interrupt is enabled: a
 * function with MSI or MSI-X on must not assert INTx (PCI 3.0 6.8.1.3,
 * 6.8.2.3), else a line raised before the driver switched over stays up
 * for ever, storming every function that shares it (irq_lock held). */
static void intx_update(struct virtio_pci *vp)
{
    bool msg = vp->use_msix ? msix_enabled(&vp->msix) : msi_enabled(&vp->msi);
    pci_set_intx(vp->func, vp->isr && !msg);
}

void vp_intx_sync(struct virtio_pci *vp)
{
    pthread_mutex_lock(&vp->irq_lock);
    intx_update(vp);
    pthread_mutex_unlock(&vp->irq_lock);
}

uint8_t vp_isr_read(struct virtio_pci *vp)
{
    pthread_mutex_lock(&vp->irq_lock);
    uint8_t v = vp->isr;
    vp->isr = 0;
    pci_set_intx(vp->func, false);
    pthread_mutex_unlock(&vp->irq_lock);
    return v;
}

void vp_interrupt(struct virtio_pci *vp, uint8_t isr_bit, uint16_t vector)
{
    pthread_mutex_lock(&vp->irq_lock);
    if (vp->use_msix && msix_enabled(&vp->msix)) {
        /* With MSI-X the ISR is unused (4.1.4.5); no vector: no interrupt. */
        if (vector != VIRTIO_NO_VECTOR)
            msix_notify(&vp->msix, vector);
    } else {
        vp->isr |= isr_bit;
        if (!vp->use_msix)
            msi_notify(&vp->msi);
        intx_update(vp);
    }
    pthread_mutex_unlock(&vp->irq_lock);
}

static uint16_t config_vector(struct virtio_pci *vp)
{
    pthread_mutex_lock(&vp->irq_lock);
    uint16_t v = vp->config_vector;
    pthread_mutex_unlock(&vp->irq_lock);
    return v;
}

void vp_set_needs_reset(struct virtio_pci *vp, const char *why)
{
    if (atomic_exchange(&vp->needs_reset, true))
        return;
    vp_warn(vp, "%s: device needs reset", why);
    vp_interrupt(vp, 2, config_vector(vp));
}

static uint16_t queue_vector(struct vp_queue *q)
{
    pthread_mutex_lock(&q->vp->irq_lock);
    uint16_t v = q->vector;
    pthread_mutex_unlock(&q->vp->irq_lock);
    return v;
}

/* Pop, handle and push until the ring is empty (qlock held). Returns 0,
 * or HK_EGUEST with why set. */
static int drain(struct vp_queue *q, const char **why)
{
    struct virtio_pci *vp = q->vp;
    for (;;) {
        virtq_enable_kicks(&q->vq, false);
        int r;
        while ((r = virtq_pop(&q->vq, q->chain)) == 1) {
            uint32_t written = 0;
            if (vp->info.ops->handle(vp->info.opaque, q->index, q->chain, &written) < 0) {
                *why = "malformed request";
                return HK_EGUEST;
            }
            if (virtq_push_chain(&q->vq, q->chain, written) < 0) {
                *why = "used ring outside RAM";
                return HK_EGUEST;
            }
            if (virtq_should_notify(&q->vq))
                vp_interrupt(vp, 1, queue_vector(q));
            if (atomic_load(&vp->needs_reset))
                return HK_OK;
        }
        if (r < 0) {
            *why = "malformed ring";
            return HK_EGUEST;
        }
        /* Buffers that came in while kicks were off: go round again. */
        if (!virtq_enable_kicks(&q->vq, true))
            return HK_OK;
    }
}

/* Whether a device-driven queue may be used now (qlock held). */
static bool dd_running(struct vp_queue *q)
{
    return q->vq.ready && atomic_load(&q->vp->driver_ok) && !atomic_load(&q->vp->needs_reset);
}

static void run_queue(struct vp_queue *q)
{
    const char *why = NULL;
    if (q->device_driven) {
        pthread_mutex_lock(&q->qlock);
        bool run = dd_running(q);
        pthread_mutex_unlock(&q->qlock);
        /* No lock held: the device may pop and push from its kick. */
        if (run && q->vp->info.ops->kick)
            q->vp->info.ops->kick(q->vp->info.opaque, q->index);
        return;
    }
    pthread_mutex_lock(&q->qlock);
    int r = HK_OK;
    if (q->vq.ready && !atomic_load(&q->vp->needs_reset))
        r = drain(q, &why);
    /* Still under qlock: a reset (which takes every qlock before it
     * clears needs_reset) then comes wholly before or after this, so a
     * ring broken before a reset cannot flag the device after it. */
    if (r < 0)
        vp_set_needs_reset(q->vp, why);
    pthread_mutex_unlock(&q->qlock);
}

/* Blocks on the queue's eventfd: each read takes every kick since the
 * last one, so kicks that come while the queue runs make one more round. */
static void *worker(void *arg)
{
    struct vp_queue *q = arg;
    for (;;) {
        uint64_t n;
        ssize_t r = read(q->kick_fd, &n, sizeof(n));
        if (atomic_load(&q->stop))
            return NULL;
        if (r == (ssize_t)sizeof(n)) {
            run_queue(q);
        } else if (r < 0 && errno != EINTR) {
            /* Not on a valid blocking eventfd: the queue stops, the VM goes on. */
            vp_warn(q->vp, "queue %d: kick eventfd unreadable (errno %d)", q->index, errno);
            return NULL;
        }
    }
}

static void kick_fd_signal(struct vp_queue *q)
{
    uint64_t one = 1;
    /* Cannot fail short of 2^64 - 2 kicks not taken. */
    while (write(q->kick_fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

void vp_queue_kick(struct virtio_pci *vp, unsigned qi)
{
    if (qi >= (unsigned)vp->info.nqueues)
        return;
    kick_fd_signal(&vp->q[qi]);
}

int vp_queue_setup(struct virtio_pci *vp, struct vp_queue *q, bool start)
{
    pthread_mutex_lock(&q->qlock);
    int r = HK_OK;
    virtq_reset(&q->vq);
    /* Chains the device popped before now are stale (never 0: "not popped"). */
    if (++q->epoch == 0)
        q->epoch = 1;
    q->recent = 0;
    /* The chain buffer holds chains of at most the maximum size. */
    if (start && (q->size == 0 || q->size > vp->info.queue_size))
        r = HK_EGUEST;
    else if (start)
        r = virtq_start(&q->vq, vp->env->mem, q->size, q->desc, q->avail, q->used,
                        vp->drv_features);
    pthread_mutex_unlock(&q->qlock);
    if (r < 0) {
        vp_set_needs_reset(vp, "queue rings outside RAM or bad size");
        return HK_EGUEST;
    }
    /* Buffers may already be waiting (a driver that kicked before enable). */
    if (start)
        vp_queue_kick(vp, (unsigned)q->index);
    return HK_OK;
}

int vp_queues_start(struct virtio_pci *vp)
{
    /* First, so vp_queues_stop can tell which queues got that far. */
    for (int i = 0; i < vp->info.nqueues; i++)
        vp->q[i].kick_fd = -1;
    for (int i = 0; i < vp->info.nqueues; i++) {
        struct vp_queue *q = &vp->q[i];
        q->vp = vp;
        q->index = i;
        q->vq.size = 0;
        pthread_mutex_init(&q->qlock, NULL);
        atomic_init(&q->stop, false);
        if ((q->kick_fd = eventfd(0, EFD_CLOEXEC)) < 0)
            return errno == ENOMEM ? HK_ENOMEM : HK_EIO;
        /* A chain buffer for the largest ring the driver may choose. */
        struct virtq sized = {.size = vp->info.queue_size};
        q->chain = virtq_chain_new(&sized);
        if (!q->chain)
            return HK_ENOMEM;
        q->device_driven = vp->info.device_driven_mask >> i & 1;
        if (q->device_driven &&
            !(q->head_epoch = calloc(vp->info.queue_size, sizeof(*q->head_epoch))))
            return HK_ENOMEM;
        if (pthread_create(&q->thread, NULL, worker, q) != 0)
            return HK_ENOMEM;
        q->thread_started = true;
    }
    return HK_OK;
}

void vp_queues_stop(struct virtio_pci *vp)
{
    for (int i = 0; i < vp->info.nqueues; i++) {
        struct vp_queue *q = &vp->q[i];
        if (q->thread_started) {
            atomic_store(&q->stop, true);
            kick_fd_signal(q);
            pthread_join(q->thread, NULL);
            q->thread_started = false;
        }
        if (q->kick_fd >= 0)
            close(q->kick_fd);
        q->kick_fd = -1;
        free(q->chain);
        q->chain = NULL;
        free(q->head_epoch);
        q->head_epoch = NULL;
    }
}

/* --- Device-driven queues ------------------------------------------------------------ */

static struct vp_queue *dd_queue(struct virtio_pci *vp, int qi)
{
    if (!vp || qi < 0 || qi >= vp->info.nqueues || !vp->q[qi].device_driven)
        return NULL;
    return &vp->q[qi];
}

struct virtq_chain *virtio_pci_chain_new(struct virtio_pci *vp)
{
    struct virtq sized = {.size = vp->info.queue_size};
    return virtq_chain_new(&sized);
}

int virtio_pci_queue_pop(struct virtio_pci *vp, int qi, struct virtq_chain *c)
{
    struct vp_queue *q = dd_queue(vp, qi);
    if (!q || !c)
        return HK_EINVAL;
    pthread_mutex_lock(&q->qlock);
    int r = 0;
    if (dd_running(q)) {
        r = virtq_pop(&q->vq, c);
        if (r == 1) {
            q->head_epoch[c->head] = q->epoch;
            q->recent++;
        } else if (r == HK_EGUEST) {
            vp_set_needs_reset(vp, "malformed ring");
        }
    }
    pthread_mutex_unlock(&q->qlock);
    return r;
}

/* c was popped in this epoch and not pushed yet (qlock held). */
static bool in_flight(struct vp_queue *q, const struct virtq_chain *c)
{
    return c->head < q->vq.size && q->head_epoch[c->head] == q->epoch;
}

void virtio_pci_queue_unpop(struct virtio_pci *vp, int qi, struct virtq_chain *const *cs, int n)
{
    struct vp_queue *q = dd_queue(vp, qi);
    if (!q || !cs || n <= 0)
        return;
    pthread_mutex_lock(&q->qlock);
    bool ok = dd_running(q) && n <= q->recent;
    for (int i = 0; ok && i < n; i++)
        ok = in_flight(q, cs[i]);
    if (ok) {
        for (int i = 0; i < n; i++)
            q->head_epoch[cs[i]->head] = 0;
        q->vq.last_avail = (uint16_t)(q->vq.last_avail - n);
        q->recent = (uint16_t)(q->recent - n);
    }
    pthread_mutex_unlock(&q->qlock);
}

#define DD_BATCH 64

int virtio_pci_queue_push_n(struct virtio_pci *vp, int qi, struct virtq_chain *const *cs,
                            const uint32_t *written, int n)
{
    struct vp_queue *q = dd_queue(vp, qi);
    if (!q || n < 0 || n > DD_BATCH || (n && (!cs || !written)))
        return HK_EINVAL;
    struct virtq_chain *live[DD_BATCH];
    uint32_t wl[DD_BATCH];
    int m = 0, r = HK_OK;
    pthread_mutex_lock(&q->qlock);
    if (dd_running(q)) {
        /* Stale chains (popped before a reset) and repeats are dropped. */
        for (int i = 0; i < n; i++) {
            if (!in_flight(q, cs[i]))
                continue;
            q->head_epoch[cs[i]->head] = 0;
            live[m] = cs[i];
            wl[m++] = written[i];
        }
        q->recent = 0;
        r = virtq_push_chains(&q->vq, live, wl, m);
        if (r == HK_EGUEST)
            vp_set_needs_reset(vp, "used ring outside RAM");
        else if (m && virtq_should_notify(&q->vq))
            vp_interrupt(vp, 1, queue_vector(q));
    }
    pthread_mutex_unlock(&q->qlock);
    return r;
}

int virtio_pci_queue_push(struct virtio_pci *vp, int qi, const struct virtq_chain *c,
                          uint32_t written)
{
    struct virtq_chain *cs[1] = {(struct virtq_chain *)c};
    return virtio_pci_queue_push_n(vp, qi, cs, &written, 1);
}

bool virtio_pci_queue_enable_kicks(struct virtio_pci *vp, int qi, bool enable)
{
    struct vp_queue *q = dd_queue(vp, qi);
    if (!q)
        return false;
    pthread_mutex_lock(&q->qlock);
    bool more = dd_running(q) && virtq_enable_kicks(&q->vq, enable);
    pthread_mutex_unlock(&q->qlock);
    return more;
}
